import Dispatch
import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync run --restart-on-change`: secret-sync stays CMD's parent. It forwards the usual
/// signals to CMD and exits with CMD's status (128 + the signal when a signal ended it) when CMD
/// exits — no restart loop of its own: systemd's `Restart=` is that. Every interval (±10 %) it
/// builds CMD's environment again from fresh secrets; when it differs, CMD is stopped (the stop
/// signal to its process group, SIGKILL after the timeout) and started again with the new one. A
/// fetch that fails leaves CMD running on the environment it has and is tried again with backoff:
/// a broken network never takes the application down.
public final class Supervisor: @unchecked Sendable {
    // @unchecked Sendable: `pending` is only touched while `lock` is held; `route` is set once in
    // `init`; the rest is immutable. Only the signal queue shares the object with `run`.
    public struct Options: Sendable {
        public var interval: TimeInterval
        public var stopSignal: Int32
        public var stopTimeout: TimeInterval

        public init(interval: TimeInterval, stopSignal: Int32, stopTimeout: TimeInterval) {
            self.interval = interval
            self.stopSignal = stopSignal
            self.stopTimeout = stopTimeout
        }
    }

    /// Forwarded to CMD; the first three also mean secret-sync is stopping.
    static let forwarded: [Int32] = [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH]
    static let stopping: Set<Int32> = [SIGTERM, SIGINT, SIGQUIT]

    let command: [String]
    let options: Options
    /// CMD's environment, built from freshly fetched secrets; throws when a fetch fails.
    let environment: @Sendable () throws -> [String: String]
    let logger: Logger

    private let lock = Lock()
    private var pending: [Int32] = []
    private let wakeUp = DispatchSemaphore(value: 0)
    private var route: SignalRoute?

    public init(command: [String], options: Options, logger: Logger, environment: @escaping @Sendable () throws -> [String: String]) {
        self.command = command
        self.options = options
        self.logger = logger
        self.environment = environment
        route = SignalRoute(Self.forwarded + [SIGCHLD], label: "secret-sync.supervisor") { [weak self] in self?.received($0) }
    }

    private func received(_ number: Int32) {
        lock.lock()
        pending.append(number)
        lock.unlock()
        wakeUp.signal()
    }

    private func takePending() -> [Int32] {
        lock.lock()
        defer { lock.unlock() }
        let taken = pending
        pending = []
        return taken
    }

    /// The running child.
    struct Child {
        let pid: pid_t
    }

    /// Runs CMD with `initial` until it exits; returns the exit status secret-sync should end with.
    public func run(initial: [String: String]) -> Int32 {
        var current = initial
        guard var child = start(current) else { return 127 }
        var nextCheck = Deadline.after(options.interval * Double.random(in: 0.9...1.1))
        var failures = 0
        var stopDeadline: Deadline?
        while true {
            let wait = stopDeadline == nil ? max(0.01, min(nextCheck.remaining, 3600)) : 0.1
            _ = wakeUp.wait(timeout: .now() + .milliseconds(Int(wait * 1000)))
            for number in takePending() where number != SIGCHLD {
                kill(child.pid, number)
                if Self.stopping.contains(number), stopDeadline == nil {
                    logger.notice("stopping: signal \(number) passed on to the command", metadata: ["pid": "\(child.pid)"])
                    stopDeadline = .after(options.stopTimeout)
                }
            }
            if let status = reap(child) { return Self.exitStatus(status, logger: logger) }
            if let deadline = stopDeadline, deadline.hasPassed {
                logger.warning("the command did not stop in time; killing its process group", metadata: ["pid": "\(child.pid)"])
                kill(-child.pid, SIGKILL)
                stopDeadline = .after(3600)
            }
            guard stopDeadline == nil, nextCheck.hasPassed else { continue }
            do {
                let fresh = try environment()
                failures = 0
                nextCheck = .after(options.interval * Double.random(in: 0.9...1.1))
                guard fresh != current else { continue }
                logger.notice("a secret changed; restarting the command", metadata: ["pid": "\(child.pid)"])
                guard stop(child) else { return 128 + SIGTERM }
                current = fresh
                guard let restarted = start(current) else { return 127 }
                child = restarted
            } catch {
                failures += 1
                let delay = PassSchedule.delay(interval: options.interval, consecutiveFailures: failures)
                logger.warning(
                    "cannot fetch the secrets; the command keeps running with the ones it has",
                    metadata: [
                        "error": "\((error as? DiagnosticError)?.message ?? "\(error)")", "retry_in": "\(NumberText.fixed(delay, 1))s",
                    ])
                nextCheck = .after(delay)
            }
        }
    }

    func start(_ environment: [String: String]) -> Child? {
        switch ProcessLauncher.start(Self.launchArguments(command, environment: environment), environment: environment) {
        case .success(let pid):
            logger.info("started the command", metadata: ["pid": "\(pid)", "command": "\(command[0])"])
            return Child(pid: pid)
        case .failure(let failure):
            logger.error("cannot start the command: \(failure.message)")
            return nil
        }
    }

    /// Socket activation names the process its descriptors are for (`LISTEN_PID`): CMD's, which is
    /// not known before it starts, so a shell sets it to its own PID and becomes CMD (same PID).
    /// The descriptors themselves are inherited: secret-sync never marks what it was given.
    static func launchArguments(_ command: [String], environment: [String: String]) -> [String] {
        guard environment["LISTEN_FDS"] != nil else { return command }
        return ["/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$0\" \"$@\""] + command
    }

    /// Stops `child` for a restart: the stop signal to its group, SIGKILL after the timeout.
    /// False when a stop request arrived meanwhile (then the caller ends too).
    func stop(_ child: Child) -> Bool {
        kill(-child.pid, options.stopSignal)
        let deadline = Deadline.after(options.stopTimeout)
        var killed = false
        var stopRequested = false
        while true {
            if reap(child) != nil { return !stopRequested }
            if deadline.hasPassed, !killed {
                logger.warning("the command did not stop in time; killing its process group", metadata: ["pid": "\(child.pid)"])
                kill(-child.pid, SIGKILL)
                killed = true
            }
            _ = wakeUp.wait(timeout: .now() + .milliseconds(100))
            for number in takePending() where number != SIGCHLD && Self.stopping.contains(number) { stopRequested = true }
        }
    }

    /// The child's wait status once it has exited; nil while it runs.
    func reap(_ child: Child) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(child.pid, &status, WNOHANG)
        return result == child.pid ? status : nil
    }

    static func exitStatus(_ waitStatus: Int32, logger: Logger) -> Int32 {
        switch ProcessLauncher.ending(of: waitStatus) {
        case .exited(let status):
            logger.info("the command exited", metadata: ["status": "\(status)"])
            return status
        case .signalled(let number):
            logger.info("the command was ended by a signal", metadata: ["signal": "\(number)"])
            return 128 + number
        default:
            return 1
        }
    }
}
