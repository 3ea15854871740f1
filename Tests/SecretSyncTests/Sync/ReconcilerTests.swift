import Foundation
import Logging
import Testing

@testable import SecretSync

/// One pass driven through the reconciler's seams: a scripted transport for Secrets Manager,
/// fixed credentials, a recording command runner and a fixed clock; files and state in a
/// temporary directory.
@Suite("Reconciler")
struct ReconcilerTests {
    struct FixedCredentials: CredentialProvider {
        func credentials() throws -> AWSCredentials {
            AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: RedactedString("secret"))
        }
    }

    final class RecordingRunner: CommandRunner, @unchecked Sendable {
        var runs: [(command: HookCommand, changed: String?)] = []
        var ending: ProcessEnding = .exited(0)
        func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult {
            runs.append((command, environment["SECRET_SYNC_CHANGED"]))
            return HookResult(ending: ending)
        }
    }

    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reconciler-\(UUID().uuidString)").path

    func manifest() throws -> Manifest {
        try parse(
            validHeader
                + "region: us-west-2\nstate_dir: \(directory)/state\nsecrets:\n  - id: app/db\n    name: db\n    files:\n      - path: \(directory)/out/db\n    on_change:\n      - reload\n"
        )
    }

    func answer(version: String, value: String) -> Result<HTTPResponse, HTTPError> {
        let body =
            #"{"ARN":"arn:aws:secretsmanager:us-west-2:111122223333:secret:app/db-AbCdEf","Name":"app/db","VersionId":"\#(version)","VersionStages":["AWSCURRENT"],"SecretString":"\#(value)"}"#
        return .success(HTTPResponse(status: 200, headers: [], body: Data(body.utf8)))
    }

    func reconciler(_ transport: ScriptedTransport, _ runner: RecordingRunner) throws -> Reconciler {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let aws = AWSContext(
            transport: transport, environment: [:], logger: logger, clock: { Date(timeIntervalSince1970: 1_800_000_000) },
            retry: RetryPolicy(maxAttempts: 1, sleep: { _ in }))
        return Reconciler(manifest: try manifest(), credentials: FixedCredentials(), aws: aws, hooks: runner)
    }

    @Test func aNewVersionIsWrittenAndItsHookRunsOnceThenNothingChanges() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = ScriptedTransport([answer(version: "v1", value: "one"), answer(version: "v1", value: "one")])
        let runner = RecordingRunner()
        let first = try reconciler(transport, runner).pass(dryRun: false)
        #expect(first.succeeded && first.filesWritten == 1)
        #expect(try String(contentsOfFile: "\(directory)/out/db", encoding: .utf8) == "one")
        #expect(runner.runs.map(\.command) == [.shell("reload")] && runner.runs.first?.changed == "db")

        let second = try reconciler(transport, runner).pass(dryRun: false)
        #expect(second.succeeded && second.filesWritten == 0 && second.hooks.isEmpty)
        #expect(runner.runs.count == 1)
    }

    @Test func aFailedHookIsOwedAndRunsOnTheNextPassWithoutAChange() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let transport = ScriptedTransport([answer(version: "v1", value: "one"), answer(version: "v1", value: "one")])
        let runner = RecordingRunner()
        runner.ending = .exited(1)
        let first = try reconciler(transport, runner).pass(dryRun: false)
        #expect(!first.succeeded && first.failedHooks.count == 1)
        runner.ending = .exited(0)
        let second = try reconciler(transport, runner).pass(dryRun: false)
        #expect(second.succeeded && second.filesWritten == 0 && second.hooks.count == 1)
        #expect(runner.runs.count == 2)
    }

    @Test func aDryRunTouchesNothing() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let runner = RecordingRunner()
        let report = try reconciler(ScriptedTransport([answer(version: "v1", value: "one")]), runner).pass(dryRun: true)
        #expect(report.secrets.first?.files.map(\.outcome) == [.created])
        #expect(report.hooks.map(\.command) == [.shell("reload")] && report.hooks.first?.result == nil)
        #expect(runner.runs.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory))
    }
}
