import CLinux
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide protections for a program that runs as root and holds secrets in memory, and
/// that must not trust the process state it was started in (closed stdio, ignored or blocked
/// signals, core limits).
///
/// The statics below are written once, by `prepare()` on the main thread before any other
/// thread exists, and only read afterwards: that is why `nonisolated(unsafe)` is safe here.
package enum ProcessHardening {
    /// Call first thing in `main`, before anything opens a file or starts a thread.
    package static func prepare() {
        ensureStandardDescriptors()
        resetSignals()
        disableCoreDumps()
        inherited = openDescriptors().union([0, 1, 2])
    }

    /// Descriptors 0, 1 and 2 are opened on /dev/null if they were closed at start, so that
    /// no file of ours (the lock, a log memfd, a socket) takes their numbers and receives log
    /// lines, or reaches a hook as its output.
    static func ensureStandardDescriptors() {
        for fd in Int32(0)...2 where fcntl(fd, F_GETFD) < 0 {
            // open(2) returns the lowest free number, which is `fd` here.
            let opened = open("/dev/null", O_RDWR)
            if opened >= 0, opened != fd {
                dup2(opened, fd)
                close(opened)
            }
        }
    }

    /// No signal blocked; SIGCHLD at its default (an inherited "ignore" makes the kernel reap
    /// hooks before `waitpid` can see them); SIGPIPE ignored, so a log reader that goes away turns
    /// into EPIPE on a write, which the writers drop, instead of killing the pass. Children get
    /// SIGPIPE's default back (`restoreForChild`, posix_spawn's SETSIGDEF).
    static func resetSignals() {
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        signal(SIGCHLD, SIG_DFL)
        signal(SIGPIPE, SIG_IGN)
    }

    /// The core-file limit secret-sync was started with, given back to hooks and `run`'s command.
    nonisolated(unsafe) private static var inheritedCoreLimit = rlimit(rlim_cur: 0, rlim_max: 0)

    /// No core dumps: the soft RLIMIT_CORE is 0 (the hard limit is left alone, so children can
    /// be given back what we inherited) and the process is not dumpable (PR_SET_DUMPABLE 0, which
    /// also keeps other processes of the same user from ptrace or /proc/PID/mem). execve resets
    /// "dumpable" for the new program; the limit is restored by `restoreForChild`.
    static func disableCoreDumps() {
        _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &inheritedCoreLimit)
        var limit = rlimit(rlim_cur: 0, rlim_max: inheritedCoreLimit.rlim_max)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        _ = clinux_set_dumpable(0)
    }

    /// Just before `execve` replaces this process (`run`): the inherited core limit and SIGPIPE's
    /// default disposition (an ignored signal stays ignored across exec).
    package static func restoreForExec() {
        var limit = inheritedCoreLimit
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        signal(SIGPIPE, SIG_DFL)
    }

    private static let spawnLock = Lock()

    /// Runs `spawn` with the inherited core limit in force, so the child starts with it;
    /// this process stays undumpable meanwhile (PR_SET_DUMPABLE is what protects it).
    static func withInheritedCoreLimit<T>(_ spawn: () -> T) -> T {
        spawnLock.lock()
        defer { spawnLock.unlock() }
        var inheritedLimit = inheritedCoreLimit
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &inheritedLimit)
        defer {
            var off = rlimit(rlim_cur: 0, rlim_max: inheritedCoreLimit.rlim_max)
            _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &off)
        }
        return spawn()
    }

    /// The descriptors open when the process started: what systemd or the shell handed over
    /// (stdio, socket-activation sockets…). Only these may reach a hook or the `run` application.
    nonisolated(unsafe) private static var inherited: Set<Int32> = [0, 1, 2]

    /// Marks close-on-exec every descriptor this process opened itself — kept-alive HTTPS
    /// connections, a TPM connection, the TSS log, the state lock — so that no child inherits
    /// them, while the inherited ones (e.g. LISTEN_FDS sockets for `run`) pass through.
    package static func closeOwnDescriptorsOnExec() {
        for fd in openDescriptors() where !inherited.contains(fd) {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    static func openDescriptors() -> Set<Int32> {
        guard let directory = opendir("/proc/self/fd") else { return [] }
        defer { closedir(directory) }
        let own = dirfd(directory)
        var result = Set<Int32>()
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if let fd = Int32(name), fd != own, fcntl(fd, F_GETFD) >= 0 { result.insert(fd) }
        }
        return result
    }

    /// True when the process can no longer dump core (for `validate`).
    package static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        return limit.rlim_cur == 0 && clinux_get_dumpable() == 0
    }
}
