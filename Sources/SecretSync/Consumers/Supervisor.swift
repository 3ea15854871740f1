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
package final class Supervisor: @unchecked Sendable {
    // @unchecked Sendable: `pending` is only touched while `lock` is held; `route` is set once in
    // `init`; the rest is immutable. Only the signal queue shares the object with `run`.
    package struct Options: Sendable {
        package var interval: TimeInterval
        package var stopSignal: Int32
        package var stopTimeout: TimeInterval

        package init(interval: TimeInterval, stopSignal: Int32, stopTimeout: TimeInterval) {
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

    package init(command: [String], options: Options, logger: Logger, environment: @escaping @Sendable () throws -> [String: String]) {
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

    /// What a fetch on the worker thread brought: the environment, or why not.
    private var fetched: Result<[String: String], any Error>?

    /// Fetches on a thread of its own, so signals and CMD's exit are handled while it runs
    /// (retries and fallback regions can take minutes); the result wakes the loop.
    private func fetchInBackground() {
        Threads.detach { [self] in
            let result = Result { try environment() }
            lock.lock()
            fetched = result
            lock.unlock()
            wakeUp.signal()
        }
    }

    private func takeFetched() -> Result<[String: String], any Error>? {
        lock.lock()
        defer { lock.unlock() }
        let taken = fetched
        fetched = nil
        return taken
    }

    /// Runs CMD with `initial` until it exits; returns the exit status secret-sync should end with.
    package func run(initial: [String: String]) -> Int32 {
        var current = initial
        guard var child = start(current) else { return 127 }
        var nextCheck = Deadline.after(options.interval * Double.random(in: 0.9...1.1))
        var fetching = false
        var failures = 0
        var stopDeadline: Deadline?
        while true {
            let wait = stopDeadline == nil && !fetching ? max(0.01, min(nextCheck.remaining, 3600)) : 0.1
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
            if let result = takeFetched() {
                fetching = false
                guard stopDeadline == nil else { continue }
                switch result {
                case .success(let fresh):
                    failures = 0
                    nextCheck = .after(options.interval * Double.random(in: 0.9...1.1))
                    guard fresh != current else { continue }
                    logger.notice("a secret changed; restarting the command", metadata: ["pid": "\(child.pid)"])
                    if let signal = stop(child) { return 128 + signal }
                    current = fresh
                    guard let restarted = start(current) else { return 127 }
                    child = restarted
                case .failure(let error):
                    failures += 1
                    let delay = PassSchedule.delay(interval: options.interval, consecutiveFailures: failures)
                    logger.warning(
                        "cannot fetch the secrets; the command keeps running with the ones it has",
                        metadata: [
                            "error": "\(error.diagnosis.message)", "retry_in": "\(NumberText.fixed(delay, 1))s",
                        ])
                    nextCheck = .after(delay)
                }
            }
            if stopDeadline == nil, !fetching, nextCheck.hasPassed {
                fetching = true
                fetchInBackground()
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
    /// Returns the stop signal that arrived meanwhile, if one did (then the caller ends too, with
    /// 128 + it); other signals are passed on to the command while it stops.
    func stop(_ child: Child) -> Int32? {
        kill(-child.pid, options.stopSignal)
        let deadline = Deadline.after(options.stopTimeout)
        var killed = false
        var stopRequested: Int32?
        while true {
            if reap(child) != nil { return stopRequested }
            if deadline.hasPassed, !killed {
                logger.warning("the command did not stop in time; killing its process group", metadata: ["pid": "\(child.pid)"])
                kill(-child.pid, SIGKILL)
                killed = true
            }
            _ = wakeUp.wait(timeout: .now() + .milliseconds(100))
            for number in takePending() where number != SIGCHLD {
                if Self.stopping.contains(number) { stopRequested = stopRequested ?? number }
                kill(child.pid, number)
            }
        }
    }

    /// The child's wait status once it has exited; nil while it runs. A child the kernel reaped
    /// already (ECHILD) counts as exited, status unknown (reported as 1).
    func reap(_ child: Child) -> Int32? {
        var status: Int32 = 0
        let result = waitpid(child.pid, &status, WNOHANG)
        if result == child.pid { return status }
        if result < 0, errno == ECHILD {
            logger.error("the command's exit status was lost", metadata: ["pid": "\(child.pid)"])
            return 1 << 8
        }
        return nil
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
