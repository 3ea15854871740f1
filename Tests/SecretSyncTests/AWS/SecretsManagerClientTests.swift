import Foundation
import Logging
import Testing

@testable import SecretSync

@Suite("Secrets Manager client")
struct SecretsManagerClientTests {
    let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: SecretValue("secret"), sessionToken: SecretValue("token"))

    func client(_ transport: ScriptedTransport, environment: [String: String] = [:]) -> SecretsManagerClient {
        SecretsManagerClient(
            transport: transport, environment: environment, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            sleep: { _ in })
    }

    func answer(_ json: String, status: Int = 200) -> Result<HTTPResponse, HTTPError> {
        .success(HTTPResponse(status: status, headers: [("x-amzn-RequestId", "r-1")], body: Data(json.utf8)))
    }

    @Test func getSecretValueRequestAndBinaryAnswer() throws {
        let transport = ScriptedTransport([answer(#"{"ARN":"arn:x","Name":"prod/db","VersionId":"v1","SecretBinary":"AAH/"}"#)])
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
            answer(#"{"ARN":"a","Name":"n","VersionId":"v","SecretString":"s"}"#),
        ])
        let version = try client(transport).getSecretValue(
            secretId: "n", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        #expect(version.versionId == "v")
        #expect(transport.sent.count == 3)
    }

    @Test func retriesAreBounded() throws {
        let transport = ScriptedTransport(
            Array(repeating: answer(#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#, status: 400), count: 4))
        let error = try #require(throws: SecretsManagerError.self) {
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
        let error = try #require(throws: SecretsManagerError.self) {
            try client(transport).getSecretValue(
                secretId: "prod/db", version: .stage("AWSCURRENT"), region: "us-west-2", credentials: credentials)
        }
        #expect(transport.sent.count == 1)
        #expect(error.message == "Secrets Manager refused GetSecretValue for prod/db: \(code): AWS says no (HTTP 400, request ID r-1)")
        #expect(error.fix?.contains(fix) == true)
    }
}
