import CLinux
import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The TSS library's own error log, kept in memory so its details reach our messages.
///
/// tpm2-tss logs to stderr by default, and some failures (a TPM out of object memory while a
/// TSS2 PEM key's parent is created) reach OpenSSL only as "unsupported". Unless the operator set
/// TSS2_LOG or TSS2_LOGFILE, errors go to an anonymous in-memory file (memfd) instead, read back
/// after a failure.
package final class TSSLog: @unchecked Sendable {
    // @unchecked Sendable: `descriptor` is set once in init; reads use pread, which keeps no offset.
    static let shared = TSSLog()

    /// Makes the log now. It sets environment variables, which is only safe while no other thread
    /// may read the environment: `main` calls this first thing. (Later first use still works.)
    package static func prepare() { _ = shared }

    private let descriptor: Int32?
    static let name = "secret-sync-tss2-log"

    private init() {
        guard ProcessEnvironment.value("TSS2_LOG") == nil, ProcessEnvironment.value("TSS2_LOGFILE") == nil else {
            descriptor = nil
            return
        }
        let fd = clinux_memfd_create(Self.name)
        guard fd >= 0 else {
            setenv("TSS2_LOG", "all+NONE", 1)  // no memfd: at least keep stderr clean
            descriptor = nil
            return
        }
        descriptor = fd
        setenv("TSS2_LOGFILE", "/proc/self/fd/\(fd)", 1)
        setenv("TSS2_LOG", "all+ERROR", 1)
    }

    /// The log's current end.
    func mark() -> Int {
        guard let descriptor else { return 0 }
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : 0
    }

    /// The distinct TSS error lines written since `mark`, shortened to what they say.
    func errors(since mark: Int) -> String? {
        guard let descriptor else { return nil }
        let end = self.mark()
        guard end > mark else { return nil }
        var buffer = [UInt8](repeating: 0, count: min(end - mark, 64 * 1024))
        let count = pread(descriptor, &buffer, buffer.count, off_t(mark))
        guard count > 0 else { return nil }
        var seen = Set<String>()
        let lines = String(decoding: buffer.prefix(count), as: UTF8.self).split(separator: "\n").compactMap { line -> String? in
            // "ERROR:esys:src/tss2-esys/api/Esys_Load.c:112:Esys_Load() Esys Finish ErrorCode (0x00000902) "
            let text = line.split(separator: ":", maxSplits: 4).last.map { $0.trimmedSpaces } ?? ""
            guard !text.isEmpty, seen.insert(text).inserted else { return nil }
            return text
        }
        return lines.isEmpty ? nil : "TSS: " + lines.suffix(3).joined(separator: "; ")
    }
}
