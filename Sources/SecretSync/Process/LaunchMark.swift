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
        value = (0..<16).map { _ in String(UInt8.random(in: 0...255, using: &random), radix: 16).leftPadded(to: 2) }.joined()
    }

    /// `VARIABLE=value`, as it stands in an environment block.
    var entry: String { "\(Self.variable)=\(value)" }

    /// The processes, other than secret-sync itself, whose environment holds this mark.
    func processes() -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        let needle = Array(entry.utf8) + [0]
        let own = getpid()
        var found = [pid_t]()
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name), pid != own, Self.environment(of: pid, holds: needle) else { continue }
            found.append(pid)
        }
        return found
    }

    /// Sends `signal` to every marked process; returns how many there were.
    @discardableResult
    func signal(_ signal: Int32) -> Int {
        let marked = processes()
        for pid in marked { kill(pid, signal) }
        return marked.count
    }

    /// Whether `/proc/PID/environ` holds `needle` as a whole entry (it starts the block or
    /// follows a NUL).
    static func environment(of pid: pid_t, holds needle: [UInt8]) -> Bool {
        let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var block = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while block.count < 4 << 20 {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { break }
            block += chunk[..<count]
        }
        return holds(block, needle)
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
