import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

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
    /// The transport failure, when there was no answer.
    var cause: HTTPError? = nil
    public var errorCode: String? { awsErrorCode ?? cause?.errorCode }
    public var underlying: (any Error)? { cause }
}

/// The Secrets Manager JSON 1.1 API over SigV4, for the calls secret-sync makes.
public struct SecretsManagerClient: Sendable {
    let transport: any HTTPTransport
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Throttling, server faults and connection failures are retried under this policy.
    let retry: RetryPolicy
    /// Every HTTP request made to Secrets Manager, retries included.
    public let calls: AtomicCounter

    public init(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        retry: RetryPolicy = RetryPolicy(maxAttempts: 4),
        calls: AtomicCounter = AtomicCounter()
    ) {
        self.calls = calls
        self.transport = transport
        self.environment = environment
        self.logger = logger
        self.clock = clock
        self.retry = retry
    }

    public func endpoint(region: String) throws -> Endpoint {
        try Endpoint.resolve(
            explicit: nil, serviceEnvironmentName: "SECRETS_MANAGER", hostPrefix: "secretsmanager", region: region, environment: environment
        )
    }

    /// `GetSecretValue` for `secretId` at `version`, retrying throttling and server faults with
    /// jittered exponential backoff (``RetryPolicy``).
    public func getSecretValue(
        secretId: String, version: VersionSelector, region: String, credentials: AWSCredentials
    ) throws -> SecretVersion {
        var body: [(key: String, value: JSONDocument)] = [("SecretId", .string(secretId))]
        switch version {
        case .stage(let stage): body.append(("VersionStage", .string(stage)))
        case .id(let id): body.append(("VersionId", .string(id)))
        }
        let response = try call("GetSecretValue", body: .object(body), secretId: secretId, region: region, credentials: credentials)
        guard let object = Self.parseAnswer(response), case .object = object else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil, message: "unexpected GetSecretValue answer for \(secretId): not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        let version = try Self.secretVersion(object, secretId: secretId)
        guard Self.answers(secretId, region: region, with: version) else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil,
                message: "GetSecretValue for \(secretId) answered with another secret (\(version.arn)); refused",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager itself", retryable: false)
        }
        return version
    }

    /// True when `version` can be the answer to a request for `id` in `region`: an ARN request
    /// (complete, or partial without the 6-character suffix) only by that ARN; a name request only
    /// by a secret of that name in that region.
    static func answers(_ id: String, region: String, with version: SecretVersion) -> Bool {
        if id.hasPrefix("arn:") {
            return version.arn == id || (version.arn.hasPrefix(id + "-") && version.arn.utf8.count == id.utf8.count + 7)
        }
        return version.name == id && ARN(version.arn)?.region == region
    }

    /// A `SecretBinary`'s base64 text decoded; the intermediate copies are overwritten.
    static func base64Decoded(_ text: [UInt8]) -> [UInt8]? {
        var encoded = Data(text)
        defer { encoded.resetBytes(in: 0..<encoded.count) }
        guard var decoded = Data(base64Encoded: encoded) else { return nil }
        defer { decoded.resetBytes(in: 0..<decoded.count) }
        return Array(decoded)
    }

    /// Members that hold a secret's value: parsed straight into zeroing payloads.
    static let valueMembers: Set<String> = ["SecretString", "SecretBinary"]

    /// The answer's JSON, with the secret values as ``JSONDocument/sensitive(_:)`` payloads; the
    /// answer's bytes (and the copy parsed) are overwritten once read.
    static func parseAnswer(_ response: consuming HTTPResponse) -> JSONDocument? {
        var answer = response
        var input = Array(answer.body)
        defer {
            Wipe.bytes(&input)
            answer.body.resetBytes(in: 0..<answer.body.count)
        }
        return JSONDocument.parse(input, sensitive: valueMembers)
    }

    /// One `SecretValues` entry (or a GetSecretValue answer) as a ``SecretVersion``.
    static func secretVersion(_ object: JSONDocument, secretId: String) throws -> SecretVersion {
        guard let arn = object["ARN"]?.string, let versionId = object["VersionId"]?.string else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil, message: "unexpected GetSecretValue answer for \(secretId): not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        let payload: SecretPayload
        if case .sensitive(let value)? = object["SecretString"] {
            payload = value
        } else if case .sensitive(let encoded)? = object["SecretBinary"], let decoded = Self.base64Decoded(encoded.bytes) {
            payload = SecretPayload(kind: .binary, bytes: decoded)
        } else if let string = object["SecretString"]?.string {
            payload = SecretPayload(kind: .string, bytes: Array(string.utf8))
        } else if let binary = object["SecretBinary"]?.string, let bytes = Data(base64Encoded: binary) {
            payload = SecretPayload(kind: .binary, bytes: Array(bytes))
        } else {
            throw SecretsManagerError(
                secretId: secretId, awsErrorCode: nil,
                message: "secret \(secretId) version \(versionId) has neither SecretString nor SecretBinary",
                fix: "put a value in the secret", retryable: false)
        }
        return SecretVersion(arn: arn, name: object["Name"]?.string ?? secretId, versionId: versionId, payload: payload)
    }

    /// `BatchGetSecretValue` for up to 20 ids (always their `AWSCURRENT` version). Per-secret
    /// failures come back in the result; a failure of the whole call is thrown.
    public func batchGetSecretValue(secretIds: [String], region: String, credentials: AWSCredentials) throws -> [String: Result<
        SecretVersion, SecretsManagerError
    >] {
        precondition((1...20).contains(secretIds.count))
        let label = "\(secretIds.count) secrets"
        let response = try call(
            "BatchGetSecretValue", body: .object([("SecretIdList", .array(secretIds.map(JSONDocument.string)))]), secretId: label,
            region: region, credentials: credentials)
        guard let object = Self.parseAnswer(response), case .object = object else {
            throw SecretsManagerError(
                secretId: label, awsErrorCode: nil, message: "unexpected BatchGetSecretValue answer: not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        let answered = (object["SecretValues"]?.array ?? []).compactMap {
            try? Self.secretVersion($0, secretId: $0["Name"]?.string ?? "")
        }
        var errors = [String: SecretsManagerError]()
        for entry in object["Errors"]?.array ?? [] {
            guard let id = entry["SecretId"]?.string else { continue }
            let code = entry["ErrorCode"]?.string ?? "Error"
            let message = entry["Message"]?.string ?? "(no message)"
            errors[id] = SecretsManagerError(
                secretId: id, awsErrorCode: code, message: "Secrets Manager refused BatchGetSecretValue for \(id): \(code): \(message)",
                fix: Self.fix(
                    code: code, region: region, retryable: AWSErrorBody.isRetryable(code: code, status: 400), source: credentials.source),
                retryable: false)
        }
        var results = [String: Result<SecretVersion, SecretsManagerError>]()
        for id in secretIds {
            if let version = Self.match(id, among: answered, requested: secretIds, region: region) {
                results[id] = .success(version)
            } else if let error = errors[id] {
                results[id] = .failure(error)
            }
            // Neither: not answered, answered ambiguously, or spelled differently; asked again singly.
        }
        return results
    }

    /// The one answer of a batch that is `id`'s, or nil when there is none or it is not certain.
    /// Answers carry names, and two accounts can each have a secret of one name: an ARN request
    /// matches only by ARN, and a name request only a same-named secret of the region that no ARN
    /// request of the batch claims, and only when exactly one such secret answered.
    static func match(_ id: String, among answered: [SecretVersion], requested: [String], region: String) -> SecretVersion? {
        let candidates = answered.filter { answers(id, region: region, with: $0) }
        guard let candidate = candidates.first, Set(candidates.map(\.arn)).count == 1 else { return nil }
        if !id.hasPrefix("arn:") {
            let sameName = Set(answered.filter { $0.name == id }.map(\.arn))
            let claimedByARN = requested.contains { $0.hasPrefix("arn:") && answers($0, region: region, with: candidate) }
            guard sameName.count == 1, !claimedByARN else { return nil }
        }
        return candidate
    }

    /// Opens a connection to the region's endpoint ahead of time (an unsigned GET, not an API
    /// call), so the TCP and TLS handshakes overlap with `CreateSession`.
    public func warmUp(region: String) {
        guard let endpoint = try? endpoint(region: region) else { return }
        _ = try? transport.send(
            HTTPRequest(method: "GET", url: endpoint.url(path: "/", encodedQuery: ""), headers: [], body: [], isWarmUp: true))
    }

    func call(_ operation: String, body: JSONDocument, secretId: String, region: String, credentials: AWSCredentials) throws
        -> HTTPResponse
    {
        let endpoint = try endpoint(region: region)
        let bodyData = Array(body.text.utf8)
        return try retry.run(
            isRetryable: { ($0 as? SecretsManagerError)?.retryable ?? false },
            beforeRetry: { attempt, delay, error in
                logger.warning(
                    "\(operation) failed, retrying",
                    metadata: [
                        "secret_id": "\(secretId)", "attempt": "\(attempt)", "delay": "\(NumberText.fixed(delay, 2))s",
                        "error": "\((error as? SecretsManagerError)?.awsErrorCode ?? "transport")",
                    ])
            },
            operation: {
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
                let response: HTTPResponse
                do {
                    response = try transport.send(
                        HTTPRequest(
                            method: "POST", url: endpoint.url(path: "/", encodedQuery: ""), headers: request.headers, body: request.body))
                } catch let error as HTTPError {
                    throw SecretsManagerError(
                        secretId: secretId, awsErrorCode: nil,
                        message: "cannot reach Secrets Manager at \(endpoint) (from \(endpoint.source)) for \(secretId): \(error.message)",
                        fix: error.fix, retryable: error.isRetryable, cause: error)
                }
                guard (200...299).contains(response.status) else {
                    throw Self.error(response, secretId: secretId, region: region, operation: operation, source: credentials.source)
                }
                return response
            })
    }

    static func error(
        _ response: HTTPResponse, secretId: String, region: String, operation: String = "GetSecretValue",
        source: CredentialSource = .rolesAnywhere
    ) -> SecretsManagerError {
        let body = AWSErrorBody.parse(response)
        let fix = Self.fix(code: body.code, region: region, retryable: body.isRetryable, source: source)
        var message = "Secrets Manager refused \(operation) for \(secretId): \(body.code): \(body.message) (HTTP \(body.status)"
        if let requestId = body.requestId { message += ", request ID \(requestId)" }
        message += ")"
        return SecretsManagerError(secretId: secretId, awsErrorCode: body.code, message: message, fix: fix, retryable: body.isRetryable)
    }

    /// Codes that mean AWS did not accept the credentials themselves (rotated, deleted, expired):
    /// cached credentials are dropped and fresh ones tried once.
    static let refusedCredentialCodes: Set<String> = [
        "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId",
    ]

    /// What to do about an AWS error code, whether it came as an HTTP answer or a batch entry.
    static func fix(code: String, region: String, retryable: Bool, source: CredentialSource = .rolesAnywhere) -> String? {
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
        case _ where refusedCredentialCodes.contains(code):
            return source.refusedFix
        case _ where retryable:
            return "Secrets Manager is throttling or failing; it was retried, and the next pass will try again"
        default:
            return nil
        }
    }
}
