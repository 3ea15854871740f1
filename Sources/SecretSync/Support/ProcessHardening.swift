import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide protections for a program that holds secrets in memory.
public enum ProcessHardening {
    /// No core dumps (RLIMIT_CORE 0) and not dumpable (PR_SET_DUMPABLE 0, which also keeps other
    /// processes of the same user from ptrace-attaching or reading /proc/PID/mem). Hooks and the
    /// `run` command start from a fresh image, so this does not leak into them.
    public static func disableCoreDumps() {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        _ = clinux_set_dumpable(0)
    }

    /// The descriptors open when the process started: what systemd or the shell handed over
    /// (stdio, socket-activation sockets…). Only these may reach a hook or the `run` application.
    nonisolated(unsafe) private static var inherited: Set<Int32> = [0, 1, 2]

    /// Records the inherited descriptors; call first thing in `main`.
    public static func recordInheritedDescriptors() {
        inherited = openDescriptors().union([0, 1, 2])
    }

    /// Marks close-on-exec every descriptor this process opened itself — kept-alive HTTPS
    /// connections, a TPM connection, the TSS log — so that no child inherits them, while the
    /// inherited ones (e.g. LISTEN_FDS sockets for `run`) pass through.
    public static func closeOwnDescriptorsOnExec() {
        for fd in openDescriptors() where !inherited.contains(fd) {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0, flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    static func openDescriptors() -> Set<Int32> {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return [] }
        return Set(entries.compactMap { Int32($0) }.filter { fcntl($0, F_GETFD) >= 0 })
    }

    /// True when the process can no longer dump core (for tests and `validate`).
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        return limit.rlim_cur == 0 && clinux_get_dumpable() == 0
    }
}

/// The environment secret-sync was started with, captured before it sets anything of its own
/// (the TSS library's log settings): what hooks, `run`'s application and the AWS settings see.
public enum ProcessEnvironment {
    nonisolated(unsafe) private static var captured: [String: String]?

    /// Takes the snapshot; call in `main` before anything changes the environment.
    public static func capture() { captured = ProcessInfo.processInfo.environment }

    public static var inherited: [String: String] { captured ?? ProcessInfo.processInfo.environment }
}
