import Dispatch
import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// When the next pass runs: every `interval` with ±10% jitter (so a fleet does not call AWS in
/// step); after a failed pass, exponential backoff from 5 s with jitter, capped at the interval.
package enum PassSchedule {
    package static func delay(
        interval: TimeInterval, consecutiveFailures: Int, random: (ClosedRange<Double>) -> Double = Double.random(in:)
    )
        -> TimeInterval
    {
        guard consecutiveFailures > 0 else { return interval * random(0.9...1.1) }
        let step = min(interval, 5 * pow(2, Double(min(consecutiveFailures, 30) - 1)))
        return min(interval, step * random(0.5...1.0))
    }
}

/// What the daemon loop waits for: a stop or reload request, or the time of the next pass.
/// The real source is ``DaemonSignals``; tests script one and step through the schedule.
package protocol DaemonEvents: AnyObject {
    /// Waits up to `seconds` (monotonic) for an event; nil when the time passed without one.
    func wait(seconds: TimeInterval) -> DaemonEvent?
    /// The stop signal, if one arrived; asked between secrets so a pass ends after the write in progress.
    var stopRequested: Int32? { get }
}

package enum DaemonEvent: Sendable, Equatable {
    case stop(Int32)
    case reload
}

/// Where the daemon reports its state (systemd's sd_notify, or a test's record).
package protocol StatusNotifier {
    func notify(_ state: String)
}

extension ServiceNotifier: StatusNotifier {}

/// One reconcile pass, as the daemon runs it (``Reconciler`` in production).
package protocol PassRunner {
    func pass(dryRun: Bool, shouldStop: () -> String?) throws -> PassReport
}

extension Reconciler: PassRunner {}

/// SIGTERM, SIGINT and SIGHUP turned into events the daemon loop can wait for.
package final class DaemonSignals: DaemonEvents, @unchecked Sendable {
    // @unchecked Sendable: the flags are only touched while `lock` is held.
    package typealias Event = DaemonEvent

    private let lock = Lock()
    private var stopSignal: Int32?
    private var reloadRequested = false
    /// Signalled on every event; waits on it are measured on the monotonic clock.
    private let events = DispatchSemaphore(value: 0)
    private var route: SignalRoute?

    package init() {
        route = SignalRoute([SIGTERM, SIGINT, SIGHUP], label: "secret-sync.signals") { [weak self] in self?.received($0) }
    }

    private func received(_ number: Int32) {
        lock.lock()
        if number == SIGHUP { reloadRequested = true } else { stopSignal = stopSignal ?? number }
        lock.unlock()
        events.signal()
    }

    /// The stop signal, if one arrived; asked between secrets so a pass ends after the write in progress.
    package var stopRequested: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return stopSignal
    }

    package func wait(seconds: TimeInterval) -> Event? { wait(until: .after(seconds)) }

    /// Waits until `deadline` (monotonic) or a signal; a stop wins over a reload.
    package func wait(until deadline: Deadline) -> Event? {
        while true {
            lock.lock()
            if let stopSignal {
                lock.unlock()
                return .stop(stopSignal)
            }
            if reloadRequested {
                reloadRequested = false
                lock.unlock()
                return .reload
            }
            lock.unlock()
            let remaining = deadline.remaining
            guard remaining > 0 else { return nil }
            _ = events.wait(timeout: .now() + .milliseconds(Int(min(remaining, 3600) * 1000)))
        }
    }
}

/// `secret-sync daemon`: a pass every `interval`; SIGHUP reloads the manifest (an invalid one is
/// reported and the old one kept); SIGTERM/SIGINT stop after the secret being written.
///
/// Time and signals come through ``DaemonEvents`` and passes through ``PassRunner``, so the
/// schedule, backoff, reload and stop are unit-tested by stepping a scripted event source.
package struct Daemon {
    let manifestPath: String
    let load: (String) throws -> Manifest
    let makeRunner: (Manifest) throws -> any PassRunner
    let events: any DaemonEvents
    let notifier: any StatusNotifier
    let logger: Logger
    let random: (ClosedRange<Double>) -> Double

    package init(
        manifestPath: String, load: @escaping (String) throws -> Manifest, makeRunner: @escaping (Manifest) throws -> any PassRunner,
        events: any DaemonEvents, notifier: any StatusNotifier, logger: Logger,
        random: @escaping (ClosedRange<Double>) -> Double = Double.random(in:)
    ) {
        self.manifestPath = manifestPath
        self.load = load
        self.makeRunner = makeRunner
        self.events = events
        self.notifier = notifier
        self.logger = logger
        self.random = random
    }

    /// The STATUS= line for a pass.
    static func status(_ report: PassReport) -> String {
        if report.succeeded {
            return "in sync: \(report.secrets.count) secrets, \(report.filesWritten) files written, \(report.hooks.count) hooks run"
        }
        var status = "pass incomplete: \(report.failedSecrets.count) secrets and \(report.failedHooks.count) hooks failed"
        if report.stateError != nil { status += "; the state cannot be saved (kept in memory; see the log)" }
        return status + "; retrying with backoff"
    }

    /// Runs until a stop signal; returns normally then. Throws only if the first manifest is invalid.
    package func run(initial manifest: Manifest) throws {
        var manifest = manifest
        var runner = try makeRunner(manifest)
        var failures = 0
        var first = true
        logger.notice(
            "daemon started",
            metadata: ["manifest": "\(manifestPath)", "interval": "\(Int(manifest.interval))s", "secrets": "\(manifest.entries.count)"])
        while true {
            let succeeded = runPass(runner, first: first)
            failures = succeeded ? 0 : failures + 1
            first = false
            let delay = PassSchedule.delay(interval: manifest.interval, consecutiveFailures: failures, random: random)
            logger.debug("next pass", metadata: ["in": "\(NumberText.fixed(delay, 1))s"])
            let next = Deadline.after(delay)
            var event = events.wait(seconds: delay)
            while event == .reload {
                if let reloaded = reload() {
                    (manifest, runner) = reloaded
                    event = nil  // a reload runs a pass right away
                } else {
                    event = events.wait(seconds: max(0, next.remaining))
                }
            }
            if case .stop(let number) = event {
                notifier.notify("STOPPING=1")
                logger.notice("stopping", metadata: ["signal": "\(number)"])
                return
            }
            if events.stopRequested != nil {
                notifier.notify("STOPPING=1")
                return
            }
        }
    }

    /// One pass, its STATUS= line and log; true when it succeeded.
    func runPass(_ runner: any PassRunner, first: Bool) -> Bool {
        let status: String
        var succeeded = false
        do {
            let report = try runner.pass(dryRun: false) { events.stopRequested.map { "stopping on signal \($0)" } }
            succeeded = report.succeeded
            status = Self.status(report)
            if !report.succeeded { logger.warning("\(status)") } else { logger.info("\(status)") }
        } catch {
            status = "pass failed: \(error.diagnosis.message)"
            logger.error("\(status)")
        }
        notifier.notify((first ? "READY=1\n" : "") + "STATUS=\(status)")
        return succeeded
    }

    /// The manifest read again and its runner, or nil (reported) when it is invalid.
    func reload() -> (Manifest, any PassRunner)? {
        notifier.notify("RELOADING=1")
        do {
            let reloaded = try load(manifestPath)
            let runner = try makeRunner(reloaded)
            // The operator says the settings are fixed: a refused PIN may be tried again.
            AuthorizationFailures.forget()
            logger.notice("manifest reloaded", metadata: ["manifest": "\(manifestPath)", "secrets": "\(reloaded.entries.count)"])
            notifier.notify("READY=1\nSTATUS=manifest reloaded")
            return (reloaded, runner)
        } catch {
            let message = error.diagnosis.message
            logger.error("manifest reload failed; keeping the previous manifest: \(message)")
            notifier.notify("READY=1\nSTATUS=manifest reload failed; running the previous one")
            return nil
        }
    }
}
