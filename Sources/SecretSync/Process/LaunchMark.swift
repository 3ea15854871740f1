import CLinux
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A mark in the environment of each child secret-sync waits for (`SECRET_SYNC_LAUNCH=<random>`),
/// inherited by everything the child starts: at a timeout, descendants that left the child's
/// process group (`setsid`), lost their parent (reparented to init) or ignore SIGTERM are found
/// by it in `/proc/PID/environ` and killed with the group. Only root and the process's owner can
/// read that file, and the mark is random per launch, so nobody can have another process killed
/// by copying it. (`SECRET_SYNC_*` is a protected family: no secret can set it.)
struct LaunchMark: Sendable {
    static let variable = "SECRET_SYNC_LAUNCH"

    let value: String

    init() {
        var random = SystemRandomNumberGenerator()
        value = (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) }.lowercaseHex
    }

    /// `VARIABLE=value`, as it stands in an environment block.
    var entry: String { "\(Self.variable)=\(value)" }

    /// The processes, other than secret-sync itself, whose environment holds this mark.
    func processes() -> [pid_t] {
        candidates().filter { Self.environment(of: $0, holds: needle) }
    }

    /// Sends `signal` to every marked process. Each is pinned by a pidfd before its mark is
    /// read, and signalled through it: a marked process that exits and whose pid is reused
    /// meanwhile is never confused with the newcomer (which carries no mark).
    func signal(_ signal: Int32) {
        for pid in candidates() {
            let pinned = clinux_pidfd_open(pid)
            defer { if pinned >= 0 { close(pinned) } }
            guard Self.environment(of: pid, holds: needle) else { continue }
            if pinned >= 0 {
                _ = clinux_pidfd_send_signal(pinned, signal)
            } else if errno == ENOSYS {
                kill(pid, signal)  // a kernel before 5.3: no pidfds
            }
        }
    }

    private var needle: [UInt8] { Array(entry.utf8) + [0] }

    /// Every pid in /proc but our own.
    private func candidates() -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        let own = getpid()
        var pids = [pid_t]()
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let pid = pid_t(name), pid != own { pids.append(pid) }
        }
        return pids
    }

    /// Whether `/proc/PID/environ` holds `needle` as a whole entry.
    static func environment(of pid: pid_t, holds needle: [UInt8]) -> Bool {
        KernelFile.bytes("/proc/\(pid)/environ", limit: 4 << 20).map { holds($0, needle) } ?? false
    }

    /// Whether the environment block (NUL-separated entries) holds `needle` (an entry and its
    /// NUL) as a whole entry.
    static func holds(_ block: [UInt8], _ needle: [UInt8]) -> Bool {
        var block = block
        block.append(0)
        var start = 0
        for index in block.indices where block[index] == 0 {
            if index - start + 1 == needle.count, block[start...index].elementsEqual(needle) { return true }
            start = index + 1
        }
        return false
    }
}
