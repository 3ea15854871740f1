import Foundation
import Logging

/// One version of a secret as `GetSecretValue` returned it.
public struct SecretVersion: Sendable {
    public let arn: String
    public let name: String
    public let versionId: String
    public let payload: SecretPayload
}

/// A failed Secrets Manager call, with AWS's code and message and what to do about it.
public struct SecretsManagerError: DiagnosticError {
    public let secretId: String
    /// AWS's error code (`ResourceNotFoundException`, ...), or nil for transport failures.
    public let awsErrorCode: String?
    public let message: String
    public let fix: String?
    let retryable: Bool
}

/// The Secrets Manager JSON 1.1 API over SigV4, for the calls secret-sync makes.
public struct SecretsManagerClient: Sendable {
    let transport: any HTTPTransport
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date
    let maxAttempts: Int
    let sleep: @Sendable (TimeInterval) -> Void
    /// Every HTTP request made to Secrets Manager, retries included.
    public let calls: AtomicCounter

    public init(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        maxAttempts: Int = 4, sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
        calls: AtomicCounter = AtomicCounter()
    ) {
        self.calls = calls
        self.transport = transport
        self.environment = environment
        self.logger = logger
        self.clock = clock
        self.maxAttempts = maxAttempts
        self.sleep = sleep
    }

    public func endpoint(region: String) throws -> Endpoint {
        try Endpoint.resolve(
            explicit: nil, serviceEnvironmentName: "SECRETS_MANAGER", hostPrefix: "secretsmanager", region: region, environment: environment
        )
    }

    /// `GetSecretValue` for `secretId` at `version`, retrying throttling and server faults with
    /// jittered exponential backoff, at most `maxAttempts` times.
    public func getSecretValue(
        secretId: String, version: VersionSelector, region: String, credentials: AWSCredentials
    ) throws -> SecretVersion {
        var body: [String: Any] = ["SecretId": secretId]
        switch version {
        case .stage(let stage): body["VersionStage"] = stage
        case .id(let id): body["VersionId"] = id
        }
        let response = try call("GetSecretValue", body: body, secretId: secretId, region: region, credentials: credentials)
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil, message: "unexpected GetSecretValue answer for \(secretId): not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        return try Self.secretVersion(object, secretId: secretId)
    }

    /// One `SecretValues` entry (or a GetSecretValue answer) as a ``SecretVersion``.
    static func secretVersion(_ object: [String: Any], secretId: String) throws -> SecretVersion {
        guard let arn = object["ARN"] as? String, let versionId = object["VersionId"] as? String else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil, message: "unexpected GetSecretValue answer for \(secretId): not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        let payload: SecretPayload
        if let string = object["SecretString"] as? String {
            payload = SecretPayload(kind: .string, bytes: Array(string.utf8))
        } else if let binary = object["SecretBinary"] as? String, let bytes = Data(base64Encoded: binary) {
            payload = SecretPayload(kind: .binary, bytes: Array(bytes))
        } else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil,
                message: "secret \(secretId) version \(versionId) has neither SecretString nor SecretBinary",
                fix: "put a value in the secret", retryable: false)
        }
        return SecretVersion(arn: arn, name: object["Name"] as? String ?? secretId, versionId: versionId, payload: payload)
    }

    /// `BatchGetSecretValue` for up to 20 ids (always their `AWSCURRENT` version). Per-secret
    /// failures come back in the result; a failure of the whole call is thrown.
    public func batchGetSecretValue(secretIds: [String], region: String, credentials: AWSCredentials) throws -> [String: Result<
        SecretVersion, SecretsManagerError
    >] {
        precondition((1...20).contains(secretIds.count))
        let label = "\(secretIds.count) secrets"
        let response = try call(
            "BatchGetSecretValue", body: ["SecretIdList": secretIds], secretId: label, region: region, credentials: credentials)
        guard let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] else {
            throw SecretsManagerError(
                secretId: label, awsErrorCode: nil, message: "unexpected BatchGetSecretValue answer: not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        var byKey = [String: SecretVersion]()
        for entry in object["SecretValues"] as? [[String: Any]] ?? [] {
            guard let version = try? Self.secretVersion(entry, secretId: entry["Name"] as? String ?? "") else { continue }
            byKey[version.name] = version
            byKey[version.arn] = version
        }
        var errors = [String: SecretsManagerError]()
        for entry in object["Errors"] as? [[String: Any]] ?? [] {
            guard let id = entry["SecretId"] as? String else { continue }
            let code = entry["ErrorCode"] as? String ?? "Error"
            let message = entry["Message"] as? String ?? "(no message)"
            errors[id] = SecretsManagerError(
                secretId: id, awsErrorCode: code, message: "Secrets Manager refused BatchGetSecretValue for \(id): \(code): \(message)",
                fix: Self.fix(code: code, region: region, retryable: AWSErrorBody.isRetryable(code: code, status: 400)),
                retryable: false)
        }
        var results = [String: Result<SecretVersion, SecretsManagerError>]()
        for id in secretIds {
            if let version = byKey[id] {
                results[id] = .success(version)
            } else if let error = errors[id] {
                results[id] = .failure(error)
            }
            // Neither: a partial ARN or an id the answer spelled differently; the caller asks again singly.
        }
        return results
    }

    /// Opens a connection to the region's endpoint ahead of time (an unsigned GET, not an API
    /// call), so the TCP and TLS handshakes overlap with `CreateSession`.
    public func warmUp(region: String) {
        guard let endpoint = try? endpoint(region: region) else { return }
        _ = try? transport.send(
            HTTPRequest(method: "GET", url: endpoint.url(path: "/", encodedQuery: ""), headers: [], body: [], isWarmUp: true))
    }

    func call(_ operation: String, body: [String: Any], secretId: String, region: String, credentials: AWSCredentials) throws
        -> HTTPResponse
    {
        let endpoint = try endpoint(region: region)
        let bodyData = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        var attempt = 1
        while true {
            calls.add(1)
            var request = SignableRequest(
                method: "POST", path: endpoint.basePath + "/",
                headers: [
                    ("Content-Type", "application/x-amz-json-1.1"),
                    ("Host", endpoint.hostHeader),
                    ("X-Amz-Target", "secretsmanager.\(operation)"),
                ],
                body: Array(bodyData))
            SigV4Signer(credentials: credentials, region: region, service: "secretsmanager").sign(&request, at: clock())
            let outcome: Result<HTTPResponse, SecretsManagerError>
            do {
                let response = try transport.send(
                    HTTPRequest(
                        method: "POST", url: endpoint.url(path: "/", encodedQuery: ""), headers: request.headers, body: request.body))
                outcome =
                    (200...299).contains(response.status)
                    ? .success(response) : .failure(Self.error(response, secretId: secretId, region: region, operation: operation))
            } catch let error as HTTPError {
                outcome = .failure(
                    SecretsManagerError(
                        secretId: secretId, awsErrorCode: nil,
                        message: "cannot reach Secrets Manager at \(endpoint) (from \(endpoint.source)) for \(secretId): \(error.message)",
                        fix: error.fix, retryable: error.isRetryable))
            }
            switch outcome {
            case .success(let response): return response
            case .failure(let error) where error.retryable && attempt < maxAttempts:
                let delay = Backoff.delay(attempt: attempt)
                logger.warning(
                    "\(operation) failed, retrying",
                    metadata: [
                        "secret_id": "\(secretId)", "attempt": "\(attempt)", "delay": "\(String(format: "%.2f", delay))s",
                        "error": "\(error.awsErrorCode ?? "transport")",
                    ])
                sleep(delay)
                attempt += 1
            case .failure(let error): throw error
            }
        }
    }

    static func error(_ response: HTTPResponse, secretId: String, region: String, operation: String = "GetSecretValue")
        -> SecretsManagerError
    {
        let body = AWSErrorBody.parse(response)
        let fix = Self.fix(code: body.code, region: region, retryable: body.isRetryable)
        var message = "Secrets Manager refused \(operation) for \(secretId): \(body.code): \(body.message) (HTTP \(body.status)"
        if let requestId = body.requestId { message += ", request ID \(requestId)" }
        message += ")"
        return SecretsManagerError(secretId: secretId, awsErrorCode: body.code, message: message, fix: fix, retryable: body.isRetryable)
    }

    /// What to do about an AWS error code, whether it came as an HTTP answer or a batch entry.
    static func fix(code: String, region: String, retryable: Bool) -> String? {
        switch code {
        case "ResourceNotFoundException":
            return "check the id (name or ARN) and the region (\(region)); a secret in another account must be named by its full ARN"
        case "AccessDeniedException", "AccessDenied":
            return
                "allow secretsmanager:GetSecretValue on this secret in the role's policy (and kms:Decrypt if it uses a customer-managed key)"
        case "DecryptionFailure":
            return "the role needs kms:Decrypt on the secret's KMS key, and the key must be enabled"
        case "InvalidRequestException":
            return
                "the secret may be scheduled for deletion; restore it (aws secretsmanager restore-secret) or point the manifest elsewhere"
        case "InvalidParameterException":
            return "check version_stage / version_id name a version the secret has"
        case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId":
            return
                "the credentials were refused: check the system clock and the Roles Anywhere setup (secret-sync credential-process shows the details)"
        case _ where retryable:
            return "Secrets Manager is throttling or failing; it was retried, and the next pass will try again"
        default:
            return nil
        }
    }
}
