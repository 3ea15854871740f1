import Foundation
import Logging
import Testing

@testable import SecretSync

/// The daemon loop driven by a scripted event source: each `wait` is a step of the schedule,
/// answered at once, so no test sleeps.
@Suite("Daemon loop")
struct DaemonTests {
    final class ScriptedEvents: DaemonEvents {
        var script: [DaemonEvent?]
        var waits: [TimeInterval] = []
        var stopRequested: Int32?
        init(_ script: [DaemonEvent?]) { self.script = script }

        func wait(seconds: TimeInterval) -> DaemonEvent? {
            waits.append(seconds)
            // An exhausted script stops the daemon, so a wrong loop cannot run forever.
            return script.isEmpty ? .stop(SIGTERM) : script.removeFirst()
        }
    }

    final class Notes: StatusNotifier {
        var sent: [String] = []
        func notify(_ state: String) { sent.append(state) }
    }

    final class ScriptedRunner: PassRunner {
        var outcomes: [Bool]
        var passes = 0
        var stopReasons: [String?] = []
        let events: ScriptedEvents?
        init(_ outcomes: [Bool], events: ScriptedEvents? = nil) {
            self.outcomes = outcomes
            self.events = events
        }

        func pass(dryRun: Bool, shouldStop: () -> String?) throws -> PassReport {
            passes += 1
            stopReasons.append(shouldStop())
            var report = PassReport()
            let failed = !(outcomes.isEmpty ? true : outcomes.removeFirst())
            if failed {
                report.secrets = [.init(name: "a", versionId: nil, files: [], error: UnexpectedError("injected"))]
            }
            return report
        }
    }

    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func manifest(interval: Int = 300) throws -> Manifest {
        try parse(validHeader + "region: us-west-2\ninterval: \(interval)s\n" + oneFile)
    }

    func daemon(
        _ events: ScriptedEvents, _ notes: Notes, runner: @escaping (Manifest) throws -> any PassRunner,
        load: @escaping (String) throws -> Manifest
    )
        -> Daemon
    {
        Daemon(
            manifestPath: "/m.yaml", load: load, makeRunner: runner, events: events, notifier: notes, logger: logger,
            random: { $0.upperBound })
    }

    @Test func passesComeEveryIntervalAndReadyFollowsTheFirst() throws {
        let events = ScriptedEvents([nil, nil, .stop(SIGTERM)])
        let notes = Notes()
        let runner = ScriptedRunner([true, true, true])
        try daemon(events, notes, runner: { _ in runner }, load: { _ in try manifest() }).run(initial: try manifest())
        #expect(runner.passes == 3)
        #expect(events.waits == [330, 330, 330])
        #expect(notes.sent.first == "READY=1\nSTATUS=in sync: 0 secrets, 0 files written, 0 hooks run")
        #expect(notes.sent.dropFirst().first == "STATUS=in sync: 0 secrets, 0 files written, 0 hooks run")
        #expect(notes.sent.last == "STOPPING=1")
    }

    @Test func failuresBackOffAndASuccessResetsTheSchedule() throws {
        let events = ScriptedEvents([nil, nil, nil, nil, .stop(SIGTERM)])
        let runner = ScriptedRunner([false, false, false, true, false])
        try daemon(events, Notes(), runner: { _ in runner }, load: { _ in try manifest() }).run(initial: try manifest())
        #expect(events.waits == [5, 10, 20, 330, 5])
    }

    @Test func backoffIsCappedAtTheInterval() throws {
        let events = ScriptedEvents(Array(repeating: nil, count: 6) + [.stop(SIGINT)])
        let runner = ScriptedRunner(Array(repeating: false, count: 7))
        try daemon(events, Notes(), runner: { _ in runner }, load: { _ in try manifest(interval: 30) }).run(
            initial: try manifest(interval: 30))
        #expect(events.waits == [5, 10, 20, 30, 30, 30, 30])
    }

    @Test func aReloadRunsAPassAtOnceWithTheNewManifest() throws {
        let events = ScriptedEvents([.reload, .stop(SIGTERM)])
        let notes = Notes()
        var made = [TimeInterval]()
        let runner = ScriptedRunner([true, true])
        try daemon(
            events, notes,
            runner: { manifest in
                made.append(manifest.interval)
                return runner
            }, load: { _ in try manifest(interval: 60) }
        ).run(initial: try manifest())
        #expect(made == [300, 60])
        #expect(runner.passes == 2)
        #expect(events.waits == [330, 66])
        #expect(notes.sent.contains("RELOADING=1"))
        #expect(notes.sent.contains("READY=1\nSTATUS=manifest reloaded"))
    }

    @Test func anInvalidReloadKeepsTheRunningManifestAndItsSchedule() throws {
        let events = ScriptedEvents([.reload, nil, .stop(SIGTERM)])
        let notes = Notes()
        let runner = ScriptedRunner([true, true])
        struct Broken: Error {}
        try daemon(events, notes, runner: { _ in runner }, load: { _ in throw Broken() }).run(initial: try manifest())
        // After the failed reload it waits out what was left of the interval, then passes again.
        #expect(runner.passes == 2)
        #expect(events.waits.count == 3 && events.waits[0] == 330 && events.waits[1] <= 330 && events.waits[2] == 330)
        #expect(notes.sent.contains("READY=1\nSTATUS=manifest reload failed; running the previous one"))
    }

    @Test func aStopDuringAPassEndsItAndTheDaemon() throws {
        let events = ScriptedEvents([])
        events.stopRequested = SIGTERM
        let notes = Notes()
        let runner = ScriptedRunner([true])
        try daemon(events, notes, runner: { _ in runner }, load: { _ in try manifest() }).run(initial: try manifest())
        #expect(runner.stopReasons == ["stopping on signal 15"])
        #expect(notes.sent.last == "STOPPING=1")
    }
}
