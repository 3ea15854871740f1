import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a hook ended.
public struct HookResult: Sendable, Equatable {
    public enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case couldNotStart(String)
    }

    public let ending: Ending
    public var succeeded: Bool { ending == .exited(0) }

    public var description: String {
        switch ending {
        case .exited(let status): return "exit status \(status)"
        case .signalled(let signal): return "killed by signal \(signal)"
        case .timedOut: return "timed out (killed with its process group)"
        case .couldNotStart(let reason): return "could not start: \(reason)"
        }
    }
}

/// Runs reload hooks. Side effects sit behind this protocol so the reconciler can be driven in tests.
public protocol CommandRunner: Sendable {
    func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult
}

/// Runs a hook in its own process group with stdin from /dev/null and its output on our stderr
/// (stdout stays clean for `--dry-run` plans); at the timeout the whole group gets SIGTERM, then
/// SIGKILL two seconds later.
public struct ProcessHookRunner: CommandRunner {
    public init() {}

    public func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)

        let arguments = command.arguments
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        ProcessHardening.closeOwnDescriptorsOnExec()  // no HTTPS connection or TPM link for the hook
        let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard status == 0 else {
            return HookResult(ending: .couldNotStart("\(arguments[0]): \(String(cString: strerror(status)).lowercased())"))
        }

        let deadline = Date().addingTimeInterval(timeout)
        var waitStatus: Int32 = 0
        var killedAt: Date?
        while true {
            let result = waitpid(pid, &waitStatus, WNOHANG)
            if result == pid { break }
            if result < 0, errno != EINTR {
                return HookResult(ending: .couldNotStart("lost track of the hook: \(String(cString: strerror(errno)))"))
            }
            let now = Date()
            if killedAt == nil, now >= deadline {
                kill(-pid, SIGTERM)
                killedAt = now
            } else if let killedAt, now.timeIntervalSince(killedAt) > 2 {
                kill(-pid, SIGKILL)
            }
            usleep(10_000)
        }
        if killedAt != nil {
            kill(-pid, SIGKILL)  // anything of the group still running
            return HookResult(ending: .timedOut)
        }
        let signal = waitStatus & 0x7f
        if signal == 0 { return HookResult(ending: .exited((waitStatus >> 8) & 0xff)) }
        return HookResult(ending: .signalled(signal))
    }
}
