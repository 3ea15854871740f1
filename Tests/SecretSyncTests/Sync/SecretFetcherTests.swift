import Foundation
import Logging
import Testing

@testable import SecretSync

/// Answers Secrets Manager requests from a table of secrets, like the service would; records them.
final class FakeSecretsManager: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `requests` is only touched while `lock` is held.
    let values: [String: String]
    let allowBatch: Bool
    private let lock = NSLock()
    private(set) var requests: [(target: String, body: [String: Any])] = []

    init(values: [String: String], allowBatch: Bool = true) {
        self.values = values
        self.allowBatch = allowBatch
    }

    var targets: [String] {
        lock.lock()
        defer { lock.unlock() }
        return requests.map(\.target).sorted()
    }

    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let target = request.headers.first { $0.name == "X-Amz-Target" }?.value ?? ""
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]) ?? [:]
        lock.lock()
        requests.append((target, body))
        lock.unlock()
        func entry(_ id: String) -> [String: Any]? {
            values[id].map {
                ["ARN": "arn:aws:secretsmanager:us-west-2:1:secret:\(id)-AbCdEf", "Name": id, "VersionId": "v-\(id)", "SecretString": $0]
            }
        }
        func json(_ object: Any, status: Int = 200) -> HTTPResponse {
            HTTPResponse(status: status, headers: [], body: try! JSONSerialization.data(withJSONObject: object))
        }
        switch target {
        case "secretsmanager.BatchGetSecretValue":
            guard allowBatch else { return json(["__type": "AccessDeniedException", "Message": "not allowed"], status: 400) }
            let ids = body["SecretIdList"] as! [String]
            return json([
                "SecretValues": ids.compactMap(entry),
                "Errors": ids.filter { values[$0] == nil }.map {
                    ["SecretId": $0, "ErrorCode": "ResourceNotFoundException", "Message": "not found"]
                },
            ])
        default:
            let id = body["SecretId"] as! String
            return entry(id).map { json($0) } ?? json(["__type": "ResourceNotFoundException", "Message": "not found"], status: 400)
        }
    }
}

@Suite("Secret fetcher")
struct SecretFetcherTests {
    let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: SecretValue("s"))

    func specs(_ ids: [String], version: VersionSelector = .stage("AWSCURRENT"), region: String = "us-west-2") -> [SecretSpec] {
        ids.map {
            SecretSpec(
                id: $0, name: $0, version: version, region: region, files: [], env: [], onChange: [],
                location: SourceLocation(file: "m", line: 1, column: 1))
        }
    }

    func fetcher(_ transport: FakeSecretsManager) -> SecretFetcher {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return SecretFetcher(
            client: SecretsManagerClient(
                transport: transport, environment: [:], logger: logger, retry: RetryPolicy(maxAttempts: 4, sleep: { _ in })), logger: logger
        )
    }

    @Test func batchesTwentyAtATimeAndReportsMissingOnesAlone() throws {
        let ids = (0..<45).map { "s\($0)" }
        let transport = FakeSecretsManager(values: Dictionary(uniqueKeysWithValues: ids.dropLast().map { ($0, "v") }))
        let results = fetcher(transport).fetch(specs(ids), credentials: credentials)
        #expect(transport.targets == Array(repeating: "secretsmanager.BatchGetSecretValue", count: 3))
        #expect(try results["s0"]?.get().versionId == "v-s0")
        #expect(throws: SecretsManagerError.self) { try results["s44"]?.get() }
    }

    @Test func pinnedVersionsAndOtherRegionsAreNotMixedIntoBatches() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2", "c": "3", "d": "4"])
        let secrets = specs(["a", "b"]) + specs(["c"], version: .id(String(repeating: "0", count: 32))) + specs(["d"], region: "eu-west-1")
        let results = fetcher(transport).fetch(secrets, credentials: credentials)
        #expect(results.count == 4)
        #expect(
            transport.targets == ["secretsmanager.BatchGetSecretValue", "secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"])
    }

    @Test func aRefusedBatchFallsBackAndIsRemembered() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2"], allowBatch: false)
        let fetcher = fetcher(transport)
        let first = fetcher.fetch(specs(["a", "b"]), credentials: credentials)
        #expect(try first["b"]?.get().versionId == "v-b")
        #expect(
            transport.targets == ["secretsmanager.BatchGetSecretValue", "secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"])
        _ = fetcher.fetch(specs(["a", "b"]), credentials: credentials)
        #expect(transport.targets.filter { $0.hasSuffix("BatchGetSecretValue") }.count == 1)  // not asked again
    }

    @Test func oneSecretSharedByTwoEntriesIsFetchedOnce() throws {
        let transport = FakeSecretsManager(values: ["a": "1"])
        var secrets = specs(["a"])
        secrets.append(
            SecretSpec(
                id: "a", name: "a-again", version: .stage("AWSCURRENT"), region: "us-west-2", files: [], env: [], onChange: [],
                location: secrets[0].location))
        let results = fetcher(transport).fetch(secrets, credentials: credentials)
        #expect(transport.targets == ["secretsmanager.GetSecretValue"])
        #expect(try results["a-again"]?.get().versionId == "v-a")
    }
}
