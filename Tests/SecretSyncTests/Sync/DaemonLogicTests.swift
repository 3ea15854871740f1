import Foundation
import Logging
import Testing

@testable import SecretSync

@Suite("Daemon schedule, status and metrics")
struct DaemonLogicTests {
    @Test func passesComeEveryIntervalWithJitter() {
        #expect(PassSchedule.delay(interval: 300, consecutiveFailures: 0) { $0.lowerBound } == 270)
        #expect(PassSchedule.delay(interval: 300, consecutiveFailures: 0) { $0.upperBound } == 330)
    }

    @Test func failuresBackOffExponentiallyUpToTheInterval() {
        let highest = { (failures: Int) in PassSchedule.delay(interval: 300, consecutiveFailures: failures) { $0.upperBound } }
        #expect([1, 2, 3, 4, 5, 6, 7].map(highest) == [5, 10, 20, 40, 80, 160, 300])
        #expect(highest(1000) == 300)
        #expect(PassSchedule.delay(interval: 300, consecutiveFailures: 3) { $0.lowerBound } == 10)
        #expect(PassSchedule.delay(interval: 2, consecutiveFailures: 5) { $0.upperBound } == 2)
    }

    func manifest(interval: TimeInterval = 300) throws -> Manifest {
        try parse(
            validHeader
                + "interval: \(Int(interval))s\nsecrets:\n  - id: a\n    files:\n      - path: /x\n  - id: b\n    files:\n      - path: /y\n"
        )
    }

    @Test func statusJudgesEachSecret() throws {
        let now = Date()
        var state = SyncState()
        state.secrets["a"] = .init(secretId: "a", versionId: "v", lastSuccess: now.addingTimeInterval(-60))
        let fresh = StatusReport(manifest: try manifest(), state: state, now: now)
        #expect(fresh.entries.map(\.health.rawValue) == ["ok", "never-synced"])
        #expect(!fresh.healthy)
        state.secrets["b"] = .init(secretId: "b", versionId: "w", lastSuccess: now.addingTimeInterval(-3600))
        #expect(StatusReport(manifest: try manifest(), state: state, now: now).entries.map(\.health.rawValue) == ["ok", "stale"])
        state.secrets["b"]?.lastSuccess = now
        state.secrets["b"]?.pendingHooks = [.shell("reload")]
        #expect(StatusReport(manifest: try manifest(), state: state, now: now).entries.map(\.health.rawValue) == ["ok", "hook-failing"])
        state.secrets["b"]?.pendingHooks = []
        state.secrets["b"]?.lastError = "boom"
        #expect(StatusReport(manifest: try manifest(), state: state, now: now).entries.map(\.health.rawValue) == ["ok", "failing"])
        state.secrets["b"]?.lastError = nil
        #expect(StatusReport(manifest: try manifest(), state: state, now: now).healthy)
    }

    @Test func statusTextCannotBeForgedByAnErrorFromTheNetwork() throws {
        var state = SyncState()
        state.secrets["a"] = .init(secretId: "a", versionId: "v", lastSuccess: Date())
        state.secrets["b"] = .init(secretId: "b", versionId: "w\rx", lastSuccess: Date())
        state.secrets["b"]?.lastError = "denied\nforged [ok]: prod/db"
        let text = StatusReport(manifest: try manifest(), state: state, now: Date()).text()
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("forged") })
        #expect(text.contains(#"last error: denied\nforged [ok]: prod/db"#) && text.contains(#"version: w\rx"#))
    }

    @Test func metricsAreValidTextFormat() throws {
        var state = SyncState()
        state.secrets["a"] = .init(secretId: "a", versionId: "v", lastSuccess: Date(timeIntervalSince1970: 1_700_000_000))
        state.secrets["b"] = .init(secretId: "b", lastError: "x", pendingHooks: [.shell("h")])
        state.lastPass = .init(
            started: Date(timeIntervalSince1970: 1_700_000_000), finished: Date(timeIntervalSince1970: 1_700_000_001.5), secrets: 2,
            failures: 1,
            filesWritten: 1, hooksRun: 0, apiCalls: 2)
        let text = MetricsFile.render(state, manifest: try manifest())
        #expect(text.contains("secret_sync_last_pass_duration_seconds 1.500\n"))
        #expect(text.contains("secret_sync_secret_last_success_timestamp_seconds{secret=\"a\"} 1700000000\n"))
        #expect(text.contains("secret_sync_secret_failing{secret=\"b\"} 1\n"))
        #expect(text.contains("secret_sync_secret_hooks_pending{secret=\"b\"} 1\n"))
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.wholeMatch(of: /[a-z_]+(\{secret="[^"]*"\})? -?[0-9.]+/) != nil, "\(line)")
        }
        #expect(MetricsFile.label("a\"b\\c") == #"{secret="a\"b\\c"}"#)
    }

    @Test func journaldPrioritiesFollowSdDaemon() {
        #expect(StderrLogHandler.syslogPriority(.error) == 3)
        #expect(StderrLogHandler.syslogPriority(.notice) == 5)
        #expect(StderrLogHandler.syslogPriority(.debug) == 7)
    }
}
