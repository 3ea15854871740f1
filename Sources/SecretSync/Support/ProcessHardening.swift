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

    /// True when the process can no longer dump core (for tests and `validate`).
    public static var coreDumpsDisabled: Bool {
        var limit = rlimit()
        _ = getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        return limit.rlim_cur == 0 && clinux_get_dumpable() == 0
    }
}
