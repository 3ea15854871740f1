import Foundation
import Testing

@testable import SecretSync

@Suite("Hook runner")
struct HookRunnerTests {
    @Test func exitStatusesAndEnvironment() throws {
        let runner = ProcessHookRunner()
        #expect(runner.run(.shell("test \"$SECRET_SYNC_CHANGED\" = db"), environment: ["SECRET_SYNC_CHANGED": "db"], timeout: 5).succeeded)
        #expect(runner.run(.argv(["false"]), environment: ["PATH": "/usr/bin:/bin"], timeout: 5).ending == .exited(1))
        #expect(runner.run(.shell("exit 3"), environment: [:], timeout: 5).ending == .exited(3))
        if case .couldNotStart = runner.run(.argv(["/nonexistent/hook"]), environment: [:], timeout: 5).ending {
        } else {
            Issue.record("a missing program must be reported as not started")
        }
    }

    @Test func aTimeoutKillsTheWholeProcessGroup() throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)").path
        let started = Date()
        // The background child would create the marker after 3 s if it survived the group kill.
        let result = ProcessHookRunner().run(
            .shell("(sleep 3; touch \(marker)) & sleep 30"), environment: ["PATH": "/usr/bin:/bin"], timeout: 0.5)
        #expect(result.ending == .timedOut)
        #expect(Date().timeIntervalSince(started) < 10)
        Thread.sleep(forTimeInterval: 3.5)
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
