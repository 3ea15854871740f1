import CLinux
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// How a child process ended.
package enum ProcessEnding: Sendable, Equatable {
    case exited(Int32)
    case signalled(Int32)
    case timedOut
    case couldNotStart(String)

    package var description: String {
        switch self {
        case .exited(let status): return "exit status \(status)"
        case .signalled(let signal): return "killed by signal \(signal)"
        case .timedOut: return "timed out (killed with its process group)"
        case .couldNotStart(let reason): return "could not start: \(reason)"
        }
    }
}

/// The one way secret-sync starts a child process that it waits for (hooks, `credential_process`):
/// `posix_spawn` in a process group of its own, stdin from /dev/null, an empty signal mask and
/// default dispositions, the core limit secret-sync inherited, none of secret-sync's own
/// descriptors; at the deadline the whole group gets SIGTERM, then SIGKILL two seconds later —
/// and so does every descendant that left the group, found by its ``LaunchMark``.
/// Captured output is read from both pipes together (a child that fills one pipe while we wait on
/// the other would deadlock) and kept up to a limit, the rest drained and dropped.
package enum ProcessLauncher {
    package enum Output: Sendable {
        /// The child's stdout and stderr both go to our stderr (stdout stays clean for plans).
        case toStandardError
        /// Captured, at most `limit` bytes of each.
        case capture(limit: Int)
    }

    package struct Outcome: Sendable {
        package let ending: ProcessEnding
        package let stdout: [UInt8]
        package let stderr: [UInt8]
    }

    static let killGrace = 2.0
    /// How long output is still read after the child exited.
    static let drainGrace = 0.1

    package static func run(_ arguments: [String], environment: [String: String], output: Output, deadline: Deadline) -> Outcome {
        let executable: String?
        switch judgedProgram(arguments.first, environment: environment) {
        case .success(let path): executable = path
        case .failure(let refusal):
            return Outcome(ending: .couldNotStart(refusal.message + "; fix: " + (refusal.fix ?? "")), stdout: [], stderr: [])
        }
        var pipes: [(read: Int32, write: Int32)] = []
        if case .capture = output {
            for _ in 0..<2 {
                var ends: [Int32] = [-1, -1]
                guard clinux_pipe_cloexec(&ends) == 0 else {
                    for pipe in pipes {
                        close(pipe.read)
                        close(pipe.write)
                    }
                    return Outcome(ending: .couldNotStart("cannot create a pipe: \(errnoText())"), stdout: [], stderr: [])
                }
                pipes.append((ends[0], ends[1]))
            }
        }
        let mark = LaunchMark()
        var marked = environment
        marked[LaunchMark.variable] = mark.value
        let started = spawn(arguments, executable: executable, environment: marked) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            if pipes.isEmpty {
                posix_spawn_file_actions_adddup2(&actions, 2, 1)
            } else {
                for (pipe, target) in zip(pipes, [Int32(1), 2]) { posix_spawn_file_actions_adddup2(&actions, pipe.write, target) }
            }
        }
        for pipe in pipes { close(pipe.write) }
        defer { for pipe in pipes { close(pipe.read) } }
        let pid: pid_t
        switch started {
        case .success(let started): pid = started
        case .failure(let reason): return Outcome(ending: .couldNotStart(reason.message), stdout: [], stderr: [])
        }
        let limit: Int
        if case .capture(let bytes) = output { limit = bytes } else { limit = 0 }
        return supervise(pid, mark: mark, pipes: pipes.map(\.read), limit: limit, deadline: deadline)
    }

    /// Starts a long-running child that keeps secret-sync's stdin, stdout and stderr (and the
    /// descriptors secret-sync itself was given, such as socket activation's): `run
    /// --restart-on-change`. Same group, mask, signal and core-limit rules as `run`; the caller
    /// waits for it.
    package static func start(_ arguments: [String], environment: [String: String]) -> Result<pid_t, LaunchFailure> {
        spawn(arguments, environment: environment) { _ in }
    }

    /// The file root will run for `program` (found in the environment's `PATH`), once judged:
    /// refused when another user owns or may change it or a directory above it. Nil (the name
    /// is left to `posix_spawnp`) when not running as root or when it cannot be found, which
    /// the launch then reports.
    static func judgedProgram(_ program: String?, environment: [String: String]) -> Result<String?, UntrustedPathError> {
        guard let program, let use = PathTrust.rootCode("program"),
            let path = try? CommandLocator.locate(program, path: environment["PATH"])
        else { return .success(nil) }
        if let refusal = PathTrust.refusal(ofFile: path, for: use) { return .failure(refusal) }
        return .success(path)
    }

    package struct LaunchFailure: Error, Sendable {
        package let message: String
    }

    /// `posix_spawnp` in a new process group, with an empty signal mask and default dispositions,
    /// the inherited core limit, and none of secret-sync's own descriptors.
    /// `executable`, when given, is the file to run (`arguments[0]` is then only the child's argv[0]).
    private static func spawn(
        _ arguments: [String], executable: String? = nil, environment: [String: String],
        files: (inout posix_spawn_file_actions_t) -> Void
    ) -> Result<pid_t, LaunchFailure> {
        guard let name = arguments.first else { return .failure(LaunchFailure(message: "no program given")) }
        let program = executable ?? name
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
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGWINCH] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid = pid_t()
        ProcessHardening.closeOwnDescriptorsOnExec()  // no HTTPS connection, TPM link or lock for the child
        let status = ProcessHardening.withInheritedCoreLimit { posix_spawnp(&pid, program, &actions, &attributes, argv, envp) }
        guard status == 0 else { return .failure(LaunchFailure(message: "\(program): \(String(cString: strerror(status)).lowercased())")) }
        return .success(pid)
    }

    /// How a wait status ended: exited with a status, or killed by a signal.
    package static func ending(of waitStatus: Int32) -> ProcessEnding {
        let signal = waitStatus & 0x7f
        return signal == 0 ? .exited((waitStatus >> 8) & 0xff) : .signalled(signal)
    }

    /// Reads the pipes and waits for `pid` until it exits, killing its group at the deadline —
    /// and every process that carries its `mark`: descendants that left the group (`setsid`),
    /// lost their parent or ignored SIGTERM die with it.
    private static func supervise(_ pid: pid_t, mark: LaunchMark, pipes: [Int32], limit: Int, deadline: Deadline) -> Outcome {
        var buffers = pipes.map { _ in [UInt8]() }
        var open = pipes.map { _ in true }
        var killedAt: Deadline?
        var waitStatus: Int32 = 0
        // Once the child is reaped, what its pipes still hold is read for a moment more; a
        // background grandchild that keeps them open (or keeps writing) is not waited for.
        var drainUntil: Deadline?
        while true {
            if drainUntil == nil {
                let result = waitpid(pid, &waitStatus, WNOHANG)
                if result == pid { drainUntil = .after(drainGrace) }
                if result < 0, errno != EINTR {
                    return Outcome(ending: .couldNotStart("lost track of the process: \(errnoText())"), stdout: [], stderr: [])
                }
            } else if let drainUntil, !open.contains(true) || drainUntil.hasPassed {
                break
            }
            if drainUntil == nil {
                if killedAt == nil, deadline.hasPassed {
                    kill(-pid, SIGTERM)
                    mark.signal(SIGTERM)
                    killedAt = .now()
                } else if let killedAt, -killedAt.remaining > killGrace {
                    kill(-pid, SIGKILL)
                    mark.signal(SIGKILL)
                }
            }
            _ = readAvailable(pipes, open: &open, into: &buffers, limit: limit, waitMilliseconds: 10)
        }
        // Timed out: what outlived the group (a descendant that ignored SIGTERM) goes now.
        if killedAt != nil { mark.signal(SIGKILL) }
        let stdout = buffers.first ?? []
        let stderr = buffers.count > 1 ? buffers[1] : []
        // Killed at the deadline: timed out. A child that exited by itself keeps its own status.
        if killedAt != nil { return Outcome(ending: .timedOut, stdout: stdout, stderr: stderr) }
        return Outcome(ending: ending(of: waitStatus), stdout: stdout, stderr: stderr)
    }

    /// Waits up to `waitMilliseconds` for data on the open pipes and reads it; beyond `limit`
    /// bytes a pipe's data is read and dropped. Returns true when something was read.
    private static func readAvailable(
        _ pipes: [Int32], open: inout [Bool], into buffers: inout [[UInt8]], limit: Int, waitMilliseconds: Int32
    ) -> Bool {
        guard open.contains(true) else {
            if waitMilliseconds > 0 { usleep(UInt32(waitMilliseconds) * 1000) }
            return false
        }
        var polls = pipes.enumerated().map { index, fd in pollfd(fd: open[index] ? fd : -1, events: Int16(POLLIN), revents: 0) }
        guard poll(&polls, nfds_t(polls.count), waitMilliseconds) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 16384)
        var readSomething = false
        for (index, entry) in polls.enumerated() where entry.revents != 0 && open[index] {
            let count = chunk.withUnsafeMutableBytes { read(pipes[index], $0.baseAddress, $0.count) }
            if count > 0 {
                readSomething = true
                let room = max(0, limit - buffers[index].count)
                buffers[index].append(contentsOf: chunk[0..<min(count, room)])
            } else if count == 0 || errno != EINTR {
                open[index] = false
            }
        }
        return readSomething
    }

    private static func errnoText() -> String { String(cString: strerror(errno)).lowercased() }
}
