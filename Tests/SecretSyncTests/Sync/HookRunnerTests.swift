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
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let started = ContinuousClock.now
        // The background child records its PID; it must die with the group at the timeout.
        let result = ProcessHookRunner().run(
            .shell("sh -c 'echo $$ > \(pidFile); exec sleep 30' & sleep 30"), environment: ["PATH": "/usr/bin:/bin"], timeout: 0.5)
        #expect(result.ending == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(10))
        let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        // Dead means gone, or a zombie waiting for init to reap it: wait for that event, bounded.
        let deadline = ContinuousClock.now + .seconds(5)
        func alive() -> Bool {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
            return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
        }
        while alive(), ContinuousClock.now < deadline { usleep(10_000) }
        #expect(!alive(), "the hook's background child survived the group kill")
    }

    @Test func aChildThatExitsKeepsItsStatusWhileAGrandchildHoldsItsOutput() {
        // The grandchild keeps stdout open and writing; the child's own exit status is what counts.
        let started = ContinuousClock.now
        let outcome = ProcessLauncher.run(
            ["/bin/sh", "-c", "(while :; do echo x; sleep 0.01; done) & echo done; exit 3"], environment: ["PATH": "/usr/bin:/bin"],
            output: .capture(limit: 1024), deadline: .after(20))
        #expect(outcome.ending == .exited(3))
        #expect(String(decoding: outcome.stdout, as: UTF8.self).contains("done"))
        #expect(ContinuousClock.now - started < .seconds(5))
        // The loop dies of SIGPIPE on its next write, now that nobody reads the pipe.
    }
}
