import Foundation
import Logging
import Testing

@testable import SecretSync

/// Answers Secrets Manager requests from a table of secrets, like the service would; records them.
final class FakeSecretsManager: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `requests` is only touched while `lock` is held.
    let values: [String: String]
    /// Parameter Store: name → its versions' values (version N is at index N-1).
    let parameters: [String: [String]]
    let allowBatch: Bool
    /// GetParametersByPath answers every page with the same next-page token (a broken server).
    var repeatPageToken = false
    /// Answer every BatchGetSecretValue with ThrottlingException (the account's batch quota spent).
    var throttleBatch = false
    /// Regions whose requests (by their SigV4 scope) answer 503; every other region holds a
    /// replica of every secret, as `ReplicateSecretToRegions` makes.
    var downRegions: Set<String> = []
    /// Regions that answer ResourceNotFoundException for everything (no replica there).
    var emptyRegions: Set<String> = []
    private let lock = NSLock()
    private(set) var requests: [(target: String, body: [String: Any])] = []

    init(values: [String: String], parameters: [String: [String]] = [:], allowBatch: Bool = true) {
        self.values = values
        self.parameters = parameters
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
        let authorization = request.headers.first { $0.name == "Authorization" }?.value ?? ""
        let region = authorization.split(separator: "/").dropFirst(2).first.map(String.init) ?? "us-west-2"
        lock.lock()
        requests.append((target, body))
        lock.unlock()
        func json(_ object: Any, status: Int = 200) -> HTTPResponse {
            HTTPResponse(status: status, headers: [], body: try! JSONSerialization.data(withJSONObject: object))
        }
        if downRegions.contains(region) { return json(["__type": "ServiceUnavailable", "message": "down"], status: 503) }
        func entry(_ requested: String) -> [String: Any]? {
            guard !emptyRegions.contains(region) else { return nil }
            // An ARN asks for the secret of that ARN, which must be of this region.
            var id = requested
            if requested.hasPrefix("arn:") {
                let parts = requested.split(separator: ":", omittingEmptySubsequences: false)
                guard parts.count == 7, parts[3] == region else { return nil }
                id = String(parts[6].dropLast(7))
            }
            return values[id].map {
                [
                    "ARN": "arn:aws:secretsmanager:\(region):1:secret:\(id)-AbCdEf", "Name": id, "VersionId": "v-\(id)",
                    "VersionStages": ["AWSCURRENT"], "SecretString": $0,
                ]
            }
        }
        switch target {
        case "AmazonSSM.GetParameters":
            // As AWS does: the answer carries the name, and `Selector` when a version was asked for.
            var found = [[String: Any]]()
            var invalid = [String]()
            for requested in body["Names"] as! [String] {
                let parts = requested.split(separator: ":", maxSplits: 1).map(String.init)
                guard let versions = parameters[parts[0]] else {
                    invalid.append(requested)
                    continue
                }
                let number = parts.count == 2 ? Int(parts[1]) ?? 0 : versions.count
                guard (1...versions.count).contains(number) else {
                    invalid.append(requested)
                    continue
                }
                var answer: [String: Any] = [
                    "Name": parts[0], "Type": "SecureString", "Value": versions[number - 1], "Version": number,
                    "ARN": "arn:aws:ssm:us-west-2:1:parameter/\(parts[0].drop { $0 == "/" })",
                ]
                if parts.count == 2 { answer["Selector"] = ":" + parts[1] }
                found.append(answer)
            }
            return json(["Parameters": found, "InvalidParameters": invalid])
        case "AmazonSSM.GetParametersByPath":
            let path = body["Path"] as! String
            let prefix = path.hasSuffix("/") ? path : path + "/"
            let under = parameters.keys.filter { $0.hasPrefix(prefix) }.sorted()
            let start = Int(body["NextToken"] as? String ?? "0") ?? 0
            let page = under.dropFirst(start).prefix(body["MaxResults"] as? Int ?? 10)
            var answer: [String: Any] = [
                "Parameters": page.map { name in
                    ["Name": name, "Type": "String", "Value": parameters[name]!.last!, "Version": parameters[name]!.count] as [String: Any]
                }
            ]
            if start + page.count < under.count { answer["NextToken"] = repeatPageToken ? "1" : String(start + page.count) }
            return json(answer)
        case "secretsmanager.BatchGetSecretValue":
            guard allowBatch else { return json(["__type": "AccessDeniedException", "Message": "not allowed"], status: 400) }
            if throttleBatch { return json(["__type": "ThrottlingException", "Message": "Rate exceeded"], status: 400) }
            let ids = body["SecretIdList"] as! [String]
            return json([
                "SecretValues": ids.compactMap(entry),
                "Errors": ids.filter { entry($0) == nil }.map {
                    ["SecretId": $0, "ErrorCode": "ResourceNotFoundException", "Message": "not found"]
                },
            ])
        default:
            let id = body["SecretId"] as! String
            // Answered as AWS does: the version asked for, by ID or staging label.
            return entry(id).map { answer in
                var answer = answer
                if let versionId = body["VersionId"] as? String { answer["VersionId"] = versionId }
                if let stage = body["VersionStage"] as? String { answer["VersionStages"] = [stage] }
                return json(answer)
            } ?? json(["__type": "ResourceNotFoundException", "Message": "not found"], status: 400)
        }
    }
}

@Suite("Secret fetcher")
struct EntryFetcherTests {
    let credentials = AWSCredentials(accessKeyId: "AKID", secretAccessKey: RedactedString("s"))

    func specs(
        _ ids: [String], region: String = "us-west-2",
        source: (String) -> ManifestEntry.Source = { .secret(id: $0, version: .current) }
    ) -> [ManifestEntry] {
        ids.map {
            ManifestEntry(
                name: $0, source: source($0), region: region, files: [], env: [], onChange: [],
                location: SourceLocation(file: "m", line: 1, column: 1))
        }
    }

    func parameterSpecs(_ ids: [String]) -> [ManifestEntry] {
        specs(ids) { .parameter(id: $0, version: .latest) }
    }

    func pathEntry(_ path: String) -> ManifestEntry {
        ManifestEntry(
            name: path, collection: .parameterPath(path), region: "us-west-2",
            directory: CollectionDirectory(path: "/d", mode: 0o600, owner: nil, group: nil), env: [], onChange: [],
            location: SourceLocation(file: "m", line: 1, column: 1))
    }

    func fetcher(_ transport: FakeSecretsManager) -> EntryFetcher {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return AWSContext(transport: transport, environment: [:], logger: logger, retry: RetryPolicy(maxAttempts: 4, sleep: { _ in }))
            .fetcher()
    }

    @Test func batchesTwentyAtATimeAndReportsMissingOnesAlone() throws {
        let ids = (0..<45).map { "s\($0)" }
        let transport = FakeSecretsManager(values: Dictionary(uniqueKeysWithValues: ids.dropLast().map { ($0, "v") }))
        let results = fetcher(transport).fetch(specs(ids), credentials: credentials)
        #expect(transport.targets == Array(repeating: "secretsmanager.BatchGetSecretValue", count: 3))
        #expect(try results["s0"]?.get().single?.versionId == "v-s0")
        #expect(throws: AWSServiceError.self) { try results["s44"]?.get() }
    }

    @Test func pinnedVersionsAndOtherRegionsAreNotMixedIntoBatches() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2", "c": "3", "d": "4"])
        let secrets =
            specs(["a", "b"]) + specs(["c"]) { .secret(id: $0, version: .id(String(repeating: "0", count: 32))) }
            + specs(["d"], region: "eu-west-1")
        let results = fetcher(transport).fetch(secrets, credentials: credentials)
        #expect(results.count == 4)
        #expect(
            transport.targets == ["secretsmanager.BatchGetSecretValue", "secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"])
    }

    @Test func aRefusedBatchFallsBackAndIsRemembered() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2"], allowBatch: false)
        let fetcher = fetcher(transport)
        let first = fetcher.fetch(specs(["a", "b"]), credentials: credentials)
        #expect(try first["b"]?.get().single?.versionId == "v-b")
        #expect(
            transport.targets == ["secretsmanager.BatchGetSecretValue", "secretsmanager.GetSecretValue", "secretsmanager.GetSecretValue"])
        _ = fetcher.fetch(specs(["a", "b"]), credentials: credentials)
        #expect(transport.targets.filter { $0.hasSuffix("BatchGetSecretValue") }.count == 1)  // not asked again
    }

    @Test func aThrottledBatchIsNotRetriedButReadSinglyInTheSamePass() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2", "c": "3"])
        transport.throttleBatch = true
        let fetcher = fetcher(transport)
        let results = fetcher.fetch(specs(["a", "b", "c"]), credentials: credentials)
        #expect(transport.targets.filter { $0.hasSuffix("BatchGetSecretValue") }.count == 1)
        #expect(transport.targets.filter { $0.hasSuffix(".GetSecretValue") }.count == 3)
        for id in ["a", "b", "c"] { #expect(try results[id]?.get().single?.versionId == "v-\(id)") }
        // Throttling is not a refusal: the next pass tries a batch again.
        transport.throttleBatch = false
        _ = fetcher.fetch(specs(["a", "b", "c"]), credentials: credentials)
        #expect(transport.targets.filter { $0.hasSuffix("BatchGetSecretValue") }.count == 2)
    }

    @Test func oneSecretSharedByTwoEntriesIsFetchedOnce() throws {
        let transport = FakeSecretsManager(values: ["a": "1"])
        var secrets = specs(["a"])
        secrets.append(
            ManifestEntry(
                name: "a-again", source: .secret(id: "a", version: .current), region: "us-west-2", files: [], env: [], onChange: [],
                location: secrets[0].location))
        let results = fetcher(transport).fetch(secrets, credentials: credentials)
        #expect(transport.targets == ["secretsmanager.GetSecretValue"])
        #expect(try results["a-again"]?.get().single?.versionId == "v-a")
    }

    // MARK: Parameter Store

    @Test func parametersAreFetchedTenACallAlongsideSecrets() throws {
        let names = (1...25).map { "/app/p\($0)" }
        let transport = FakeSecretsManager(
            values: ["s1": "x", "s2": "y"], parameters: Dictionary(uniqueKeysWithValues: names.map { ($0, ["old-\($0)", "new-\($0)"]) }))
        let entries = specs(["s1", "s2"]) + parameterSpecs(names)
        let fetcher = fetcher(transport)
        #expect(fetcher.expectedCalls(parameterSpecs(names)) == 3)
        let results = fetcher.fetch(entries, credentials: credentials)
        #expect(
            transport.targets == [
                "AmazonSSM.GetParameters", "AmazonSSM.GetParameters", "AmazonSSM.GetParameters", "secretsmanager.BatchGetSecretValue",
            ])
        for name in names {
            let version = try #require(try results[name]?.get().single)
            #expect(version.versionId == "2")
            #expect(String(decoding: version.payload.bytes, as: UTF8.self) == "new-\(name)")
        }
        #expect(try results["s2"]?.get().single?.versionId == "v-s2")
    }

    @Test func twoVersionsOfOneParameterGoInSeparateCalls() throws {
        let transport = FakeSecretsManager(values: [:], parameters: ["/db": ["one", "two", "three"]])
        let entries = [
            ManifestEntry(
                name: "latest", source: .parameter(id: "/db", version: .latest), region: "us-west-2", files: [], env: [], onChange: [],
                location: SourceLocation(file: "m", line: 1, column: 1)),
            ManifestEntry(
                name: "first", source: .parameter(id: "/db", version: .number(1)), region: "us-west-2", files: [], env: [], onChange: [],
                location: SourceLocation(file: "m", line: 2, column: 1)),
        ]
        let results = fetcher(transport).fetch(entries, credentials: credentials)
        #expect(transport.targets == ["AmazonSSM.GetParameters", "AmazonSSM.GetParameters"])
        #expect(try String(decoding: #require(results["latest"]!.get().single).payload.bytes, as: UTF8.self) == "three")
        #expect(try String(decoding: #require(results["first"]!.get().single).payload.bytes, as: UTF8.self) == "one")
        #expect(try results["first"]!.get().single?.versionId == "1")
    }

    @Test func aMissingParameterFailsAloneWithWhatToCheck() throws {
        let transport = FakeSecretsManager(values: [:], parameters: ["/here": ["v"]])
        let results = fetcher(transport).fetch(parameterSpecs(["/here", "/gone"]), credentials: credentials)
        #expect(try results["/here"]?.get().single?.versionId == "1")
        let error = try #require(throws: AWSServiceError.self) { try results["/gone"]?.get() }
        #expect(error.awsErrorCode == "ParameterNotFound")
        #expect(error.message.contains("/gone") && error.fix?.contains("leading /") == true)
    }

    @Test func anAnswerForAnotherParameterOrVersionIsRefused() {
        let request = ParameterStoreClient.Request(id: "/a", version: .number(2))
        let wrongName = JSONDocument.object([("Name", .string("/b")), ("Version", .number("2"))])
        let wrongVersion = JSONDocument.object([("Name", .string("/a")), ("Version", .number("3"))])
        let wrongSelector = JSONDocument.object([("Name", .string("/a")), ("Version", .number("2")), ("Selector", .string(":prod"))])
        let right = JSONDocument.object([("Name", .string("/a")), ("Version", .number("2")), ("Selector", .string(":2"))])
        #expect(!ParameterStoreClient.answers(request, with: wrongName))
        #expect(!ParameterStoreClient.answers(request, with: wrongVersion))
        #expect(!ParameterStoreClient.answers(request, with: wrongSelector))
        #expect(ParameterStoreClient.answers(request, with: right))
        let byARN = ParameterStoreClient.Request(id: "arn:aws:ssm:us-west-2:1:parameter/a", version: .latest)
        #expect(!ParameterStoreClient.answers(byARN, with: right))
        #expect(
            ParameterStoreClient.answers(
                byARN, with: .object([("Name", .string("/a")), ("ARN", .string("arn:aws:ssm:us-west-2:1:parameter/a"))])))
    }

    @Test func parameterCallsNeverHoldOneParameterTwice() {
        let requests =
            (0..<12).map { ParameterStoreClient.Request(id: "/p", version: .number($0 + 1)) }
            + (0..<9).map { ParameterStoreClient.Request(id: "/q\($0)", version: .latest) }
        let keys = requests.map { (key: EntryFetcher.Key(source: .parameter(id: $0.id, version: $0.version), region: "r"), request: $0) }
        let calls = EntryFetcher.parameterCalls(keys)
        #expect(calls.allSatisfy { $0.count <= 10 && Set($0.map(\.request.id)).count == $0.count })
        #expect(calls.flatMap { $0 }.count == keys.count)
        #expect(calls.count == 12)
    }

    @Test func aPathIsReadPageByPage() throws {
        let names = (1...23).map { "/app/p\($0)" } + ["/other/x"]
        let transport = FakeSecretsManager(values: [:], parameters: Dictionary(uniqueKeysWithValues: names.map { ($0, ["v"]) }))
        let entry = pathEntry("/app")
        let results = fetcher(transport).fetch([entry], credentials: credentials)
        guard case .many(let versions) = try #require(try results["/app"]?.get()) else {
            Issue.record("a path entry must bring many values")
            return
        }
        #expect(versions.count == 23 && !versions.contains { $0.name == "/other/x" })
        #expect(transport.targets == Array(repeating: "AmazonSSM.GetParametersByPath", count: 3))
    }

    @Test func aServerThatRepeatsItsPageTokenIsRefused() throws {
        let transport = FakeSecretsManager(
            values: [:], parameters: Dictionary(uniqueKeysWithValues: (1...30).map { ("/app/p\($0)", ["v"]) }))
        transport.repeatPageToken = true
        let entry = pathEntry("/app")
        let results = fetcher(transport).fetch([entry], credentials: credentials)
        let error = try #require(throws: AWSServiceError.self) { try results["/app"]?.get() }
        #expect(error.message.contains("repeated a page token"))
    }

    // MARK: Region failover

    func failoverFetcher(_ transport: FakeSecretsManager, fallbacks: [String]) -> EntryFetcher {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        return AWSContext(transport: transport, environment: [:], logger: logger, retry: RetryPolicy(maxAttempts: 2, sleep: { _ in }))
            .fetcher(fallbackRegions: fallbacks)
    }

    @Test func aRegionThatIsDownIsReadFromTheReplicasInOrder() throws {
        let transport = FakeSecretsManager(values: ["a": "1", "b": "2"])
        transport.downRegions = ["us-west-2", "eu-west-1"]
        let entries = specs(["a", "b", "arn:aws:secretsmanager:us-west-2:1:secret:a-AbCdEf"])
        let results = failoverFetcher(transport, fallbacks: ["eu-west-1", "us-east-1"]).fetch(entries, credentials: credentials)
        for name in ["a", "b", "arn:aws:secretsmanager:us-west-2:1:secret:a-AbCdEf"] {
            let version = try #require(try results[name]?.get().single)
            #expect(version.servedBy == "us-east-1")
            #expect(version.arn.contains(":us-east-1:"))
        }
    }

    @Test func anAnswerWithAMeaningIsNeverFailedOver() throws {
        let transport = FakeSecretsManager(values: ["a": "1"])
        let results = failoverFetcher(transport, fallbacks: ["us-east-1"]).fetch(specs(["a", "missing"]), credentials: credentials)
        let error = try #require(throws: AWSServiceError.self) { try results["missing"]?.get() }
        #expect(error.awsErrorCode == "ResourceNotFoundException")
        // One batch in the secrets' own region, and nothing asked of the fallback region.
        #expect(transport.targets == ["secretsmanager.BatchGetSecretValue"])
    }

    @Test func whenNoReplicaHasItTheOwnRegionsFailureStands() throws {
        let transport = FakeSecretsManager(values: ["a": "1"])
        transport.downRegions = ["us-west-2"]
        transport.emptyRegions = ["us-east-1"]
        let results = failoverFetcher(transport, fallbacks: ["us-east-1"]).fetch(specs(["a"]), credentials: credentials)
        let error = try #require(throws: AWSServiceError.self) { try results["a"]?.get() }
        #expect(error.awsErrorCode == "ServiceUnavailable")
    }

    @Test func regionOutagesAreTransportFailuresAndServerFaultsOnly() {
        func failure(_ code: String?, retryable: Bool, kind: HTTPError.Kind? = nil) -> AWSServiceError {
            AWSServiceError(
                subject: "s", awsErrorCode: code, message: "m", fix: nil, retryable: retryable,
                cause: kind.map { HTTPError(kind: $0, url: "u", curlCode: 0, message: "m", fix: nil) })
        }
        #expect(EntryFetcher.regionUnavailable(failure(nil, retryable: true, kind: .connect)))
        #expect(EntryFetcher.regionUnavailable(failure(nil, retryable: false, kind: .dns)))
        #expect(EntryFetcher.regionUnavailable(failure("ServiceUnavailable", retryable: true)))
        #expect(EntryFetcher.regionUnavailable(failure("ThrottlingException", retryable: true)))
        #expect(!EntryFetcher.regionUnavailable(failure(nil, retryable: false, kind: .deadline)))
        #expect(!EntryFetcher.regionUnavailable(failure(nil, retryable: false, kind: .tls)))
        // libcurl failing to load has no curl code: not an outage.
        #expect(!EntryFetcher.regionUnavailable(failure(nil, retryable: false, kind: .other)))
        for code in ["AccessDeniedException", "ResourceNotFoundException", "DecryptionFailure", "ParameterNotFound"] {
            #expect(!EntryFetcher.regionUnavailable(failure(code, retryable: false)))
        }
    }
}
