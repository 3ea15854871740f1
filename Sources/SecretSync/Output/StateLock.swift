import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive lock on `state_dir/lock`, so a timer firing during a boot-time `once` waits for it.
package final class StateLock {
    private let fd: Int32
    static let pollInterval: useconds_t = 50_000

    /// Takes the lock, waiting for another run to finish; `waiting` is called once if it must
    /// wait. While waiting, `shouldStop` is asked every 50 ms: when it gives a reason (a deadline,
    /// SIGTERM), the wait ends with an error naming it.
    package init(directory: String, waiting: () -> Void, shouldStop: () -> String? = { nil }) throws {
        let stateDirectory = try StateStore(directory: directory).ensureDirectory()
        let path = directory + "/lock"
        let fd = openat(stateDirectory.fd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw FileWriteError(
                path: path, errno: code, message: "cannot open lock file \(path): \(String(cString: strerror(code)))",
                fix: "run as a user that can write \(directory), or set state_dir:")
        }
        do {
            try PathTrust.judge(fd, path: path, as: .holder, for: .state("lock file"), subject: path)
        } catch {
            close(fd)
            throw error
        }
        var announced = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let code = errno
                close(fd)
                throw FileWriteError(path: path, errno: code, message: "cannot lock \(path): \(String(cString: strerror(code)))", fix: nil)
            }
            if !announced {
                waiting()
                announced = true
            }
            if let reason = shouldStop() {
                close(fd)
                throw FileWriteError(
                    path: path, errno: EWOULDBLOCK,
                    message: "another secret-sync run holds the lock \(path); gave up waiting: \(reason)",
                    fix: "see which process holds it (`fuser \(path)`); nothing was changed")
            }
            usleep(Self.pollInterval)
        }
        self.fd = fd
    }

    // Safe: this object owns the descriptor; closing it releases the lock.
    deinit { close(fd) }
}
