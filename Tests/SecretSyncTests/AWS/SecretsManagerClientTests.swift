import Foundation
import Logging
import Testing

@testable import SecretSync

@Suite("Secrets Manager client")
struct SecretsManagerClientTests {
    let credentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: RedactedString("secret"), sessionToken: RedactedString("token"))

    func client(_ transport: ScriptedTransport, environment: [String: String] = [:]) -> SecretsManagerClient {
        SecretsManagerClient(
            transport: transport, environment: environment, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            retry: RetryPolicy(maxAttempts: 4, sleep: { _ in }))
    }

    func answer(_ json: String, status: Int = 200) -> Result<HTTPResponse, HTTPError> {
        .success(HTTPResponse(status: status, headers: [("x-amzn-RequestId", "r-1")], body: Data(json.utf8)))
    }

    @Test func getSecretValueRequestAndBinaryAnswer() throws {
        let transport = ScriptedTransport([
            answer(
                #"{"ARN":"arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:prod/db-AbCdEf","Name":"prod/db","VersionId":"v1","SecretBinary":"AAH/"}"#
            )
        ])
        let version = try client(transport).getSecretValue(
            secretId: "prod/db", version: .id("v1"), region: "cn-north-1", credentials: credentials)
        #expect(version.payload.kind == .binary)
        #expect(version.payload.bytes == [0, 1, 255])
        let request = try #require(transport.sent.first)
        #expect(request.url == "https://secretsmanager.cn-north-1.amazonaws.com.cn/")
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"SecretId":"prod/db","VersionId":"v1"}"#)
        let headers = Dictionary(request.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        #expect(headers["x-amz-target"] == "secretsmanager.GetSecretValue")
        #expect(headers["content-type"] == "application/x-amz-json-1.1")
        #expect(headers["x-amz-security-token"] == "token")
        #expect(
            headers["authorization"]?.contains(
                "/cn-north-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target,")
                == true)
    }

    @Test func throttlingIsRetriedWithBackoffThenSucceeds() throws {
        let transport = ScriptedTransport([
            answer(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#, status: 400),
            answer(#"{"__type":"InternalServiceError","message":"oops"}"#, status: 500),
            answer(
                #"{"ARN":"arn:aws:secretsmanager:us-west-2:111122223333:secret:n-AbCdEf","Name":"n","VersionId":"v","VersionStages":["AWSCURRENT"],"SecretString":"s"}"#
            ),
        ])
        let version = try client(transport).getSecretValue(
            secretId: "n", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        #expect(version.versionId == "v")
        #expect(transport.sent.count == 3)
    }

    @Test func retriesAreBounded() throws {
        let transport = ScriptedTransport(
            Array(repeating: answer(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#, status: 400), count: 4))
        let error = try #require(throws: AWSServiceError.self) {
            try client(transport).getSecretValue(
                secretId: "n", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        }
        #expect(transport.sent.count == 4)
        #expect(error.awsErrorCode == "ThrottlingException")
    }

    @Test(arguments: [
        ("ResourceNotFoundException", "check the id (name or ARN) and the region (us-west-2)"),
        ("AccessDeniedException", "allow secretsmanager:GetSecretValue"),
        ("DecryptionFailure", "kms:Decrypt"),
        ("InvalidRequestException", "scheduled for deletion"),
    ])
    func refusalsAreExplainedAndNotRetried(code: String, fix: String) throws {
        let transport = ScriptedTransport([answer(#"{"__type":"\#(code)","Message":"AWS says no"}"#, status: 400)])
        let error = try #require(throws: AWSServiceError.self) {
            try client(transport).getSecretValue(
                secretId: "prod/db", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        }
        #expect(transport.sent.count == 1)
        #expect(error.message == "Secrets Manager refused GetSecretValue for prod/db: \(code): AWS says no (HTTP 400, request ID r-1)")
        #expect(error.fix?.contains(fix) == true)
    }

    func version(_ arn: String, name: String, value: String) -> StoredValue {
        StoredValue(arn: arn, name: name, versionId: "v", payload: ValuePayload(kind: .string, bytes: Array(value.utf8)))
    }

    @Test func batchAnswersAreMatchedByARNAndNeverAmbiguouslyByName() {
        let own = version("arn:aws:secretsmanager:us-west-2:111122223333:secret:prod/db-AbCdEf", name: "prod/db", value: "own")
        let other = version("arn:aws:secretsmanager:us-west-2:222222222222:secret:prod/db-GhIjKl", name: "prod/db", value: "other")
        let elsewhere = version("arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-MnOpQr", name: "prod/db", value: "eu")
        // An ARN request matches its ARN, complete or partial, and nothing else.
        #expect(SecretsManagerClient.match(other.arn, among: [own, other], requested: [other.arn], region: "us-west-2")?.arn == other.arn)
        let partial = "arn:aws:secretsmanager:us-west-2:222222222222:secret:prod/db"
        #expect(SecretsManagerClient.match(partial, among: [own, other], requested: [partial], region: "us-west-2")?.arn == other.arn)
        // A name answered twice (two accounts) is ambiguous: asked again singly.
        #expect(SecretsManagerClient.match("prod/db", among: [own, other], requested: ["prod/db", other.arn], region: "us-west-2") == nil)
        // A name whose only answer is claimed by an ARN request of the batch is not trusted either.
        #expect(SecretsManagerClient.match("prod/db", among: [other], requested: ["prod/db", other.arn], region: "us-west-2") == nil)
        // Another region's secret of that name is not the answer.
        #expect(SecretsManagerClient.match("prod/db", among: [elsewhere], requested: ["prod/db"], region: "us-west-2") == nil)
        #expect(SecretsManagerClient.match("prod/db", among: [own], requested: ["prod/db", "x"], region: "us-west-2")?.arn == own.arn)
    }

    @Test func aSingleAnswerForAnotherSecretIsRefused() throws {
        let transport = ScriptedTransport([
            answer(
                #"{"ARN":"arn:aws:secretsmanager:us-west-2:111122223333:secret:other-AbCdEf","Name":"other","VersionId":"v","SecretString":"s"}"#
            )
        ])
        #expect(throws: AWSServiceError.self) {
            try client(transport).getSecretValue(
                secretId: "prod/db", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        }
    }

    @Test func anAnswerForAnotherVersionOfTheSecretIsRefused() throws {
        let arn = "arn:aws:secretsmanager:us-west-2:111122223333:secret:prod/db-AbCdEf"
        func attempt(_ version: SecretVersionSelector, answering: String) throws -> StoredValue {
            try client(ScriptedTransport([answer(#"{"ARN":"\#(arn)","Name":"prod/db",\#(answering),"SecretString":"s"}"#)]))
                .getSecretValue(secretId: "prod/db", version: version, region: "us-west-2", credentials: credentials)
        }
        let pinned = String(repeating: "1", count: 32)
        let error = try #require(throws: AWSServiceError.self) {
            try attempt(.id(pinned), answering: #""VersionId":"\#(String(repeating: "2", count: 32))","VersionStages":["AWSCURRENT"]"#)
        }
        #expect(error.message.contains("answered with another version"))
        #expect(throws: AWSServiceError.self) {
            try attempt(.stage("AWSPREVIOUS"), answering: #""VersionId":"v2","VersionStages":["AWSCURRENT"]"#)
        }
        #expect(throws: AWSServiceError.self) { try attempt(.stage("AWSCURRENT"), answering: #""VersionId":"v2""#) }
        #expect(try attempt(.id(pinned), answering: #""VersionId":"\#(pinned)","VersionStages":[]"#).versionId == pinned)
        #expect(try attempt(.stage("AWSPREVIOUS"), answering: #""VersionId":"v1","VersionStages":["AWSPREVIOUS"]"#).versionId == "v1")
    }

    @Test func secretValuesGoStraightFromTheAnswerIntoTheZeroingPayload() throws {
        let text = #"{"ARN":"a","SecretString":"q\"b\\n\u00e9\ud83d\ude00/x","Name":"n"}"#
        let parsed = try #require(JSONDocument.parse(Array(text.utf8), sensitive: ["SecretString"]))
        guard case .sensitive(let payload)? = parsed["SecretString"] else {
            Issue.record("SecretString was not kept as a payload")
            return
        }
        #expect(payload.bytes == Array("q\"b\\n\u{e9}\u{1F600}/x".utf8))
        #expect(parsed.text.contains("<redacted>") && !parsed.text.contains("q\\\"b"))
        #expect(parsed["Name"]?.string == "n")
        // Invalid UTF-8 is never replaced: that value is undecodable, and fails alone (its
        // batch mates parse); a raw control character is not JSON, and fails the answer.
        #expect(
            JSONDocument.parse([0x7B, 0x22, 0x53, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D], sensitive: ["S"])?["S"]
                == .undecodable("it is not valid UTF-8"))
        #expect(JSONDocument.parse(Array(#"{"S":"a"#.utf8) + [0x0A] + Array(#""}"#.utf8), sensitive: ["S"]) == nil)
    }

    @Test(
        arguments: [
            (#"{"S":"a\ud800b","N":"n"}"#, #"it holds a lone UTF-16 surrogate (\uD800)"#),
            (#"{"S":"\udc00","N":"n"}"#, #"it holds a lone UTF-16 surrogate (\uDC00)"#),
            (#"{"S":"\ud800\u0041","N":"n"}"#, #"it holds a lone UTF-16 surrogate (\uD800)"#),
            (#"{"S":"x\ud800","N":"n"}"#, #"it holds a lone UTF-16 surrogate (\uD800)"#),
        ])
    func aLoneSurrogateMakesItsValueUndecodableNotItsAnswer(text: String, problem: String) throws {
        let parsed = try #require(JSONDocument.parse(Array(text.utf8), sensitive: ["S"]))
        #expect(parsed["S"] == .undecodable(problem))
        #expect(parsed["N"]?.string == "n", "the rest of the answer is read")
        #expect(JSONDocument.parse(Array(#"{"S":"\ud800\uzzzz"}"#.utf8), sensitive: ["S"]) == nil, "a bad escape is not JSON")
    }

    @Test func anUndecodableSecretStringFailsThatSecretSayingWhy() {
        let object = JSONDocument.object([
            ("ARN", .string("arn:aws:secretsmanager:us-west-2:1:secret:bad-AbCdEf")), ("VersionId", .string("v1")),
            ("SecretString", .undecodable(#"it holds a lone UTF-16 surrogate (\uD800)"#)),
        ])
        let error = #expect(throws: AWSServiceError.self) { try SecretsManagerClient.secretVersion(object, secretId: "bad") }
        #expect(error?.message.contains("its SecretString is not text (it holds a lone UTF-16 surrogate") == true)
    }
}
