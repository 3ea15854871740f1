import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Remembers refused PINs and TPM auth values, so that no retry — by the CreateSession retry loop,
/// the daemon's next pass or its backoff — spends another of the device's few attempts on a secret
/// already known to be wrong. A key is tried again once its PIN or auth file changes (or after a
/// restart or a SIGHUP reload).
package enum AuthorizationFailures {
    struct Entry {
        let fileIdentity: String
        let error: HardwareKeyError
    }

    // nonisolated(unsafe) is safe: `entries` is only read or written while `lock` is held.
    nonisolated(unsafe) private static var entries: [String: Entry] = [:]
    private static let lock = Lock()

    /// Identifies the file's content without reading it: device, inode, size and change times.
    static func identity(of path: String?) -> String {
        guard let path else { return "no auth file" }
        var info = stat()
        guard stat(path, &info) == 0 else { return "unreadable \(errno)" }
        return
            "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    /// Throws the earlier refusal if `key` was refused with the file as it still is.
    static func check(key: String, authFile: String?) throws {
        let current = identity(of: authFile)
        let entry = lock.withLock { entries[key] }
        guard let entry, entry.fileIdentity == current else { return }
        throw entry.error
    }

    /// Records a refusal and returns the error to throw, which says it will not be retried.
    static func record(key: String, authFile: String?, message: String, fix: String) -> HardwareKeyError {
        let when = UTCTime.rfc3339(Date())
        let what = authFile.map { "until \($0) changes" } ?? "until the key's settings change"
        let error = HardwareKeyError(
            .authorizationFailed,
            "\(message) (at \(when); not tried again \(what) or secret-sync is restarted, so as not to lock the device)", fix: fix)
        let fileIdentity = identity(of: authFile)
        lock.withLock { entries[key] = Entry(fileIdentity: fileIdentity, error: error) }
        return error
    }

    /// Forgets every refusal (on a SIGHUP reload: the operator says the settings are fixed).
    package static func forget() { lock.withLock { entries.removeAll() } }
}
