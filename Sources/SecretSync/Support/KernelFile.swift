#if canImport(Glibc)
    import Glibc
#endif

/// Files the kernel makes (`/proc/net/tcp`, `/proc/PID/environ`): read whole, up to `limit`
/// bytes, without the trust judgement of ``LocalFile`` (nobody but the kernel writes them).
enum KernelFile {
    static func bytes(_ path: String, limit: Int = 16 << 20) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}
