import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The Secrets Manager JSON 1.1 API over SigV4, for the calls secret-sync makes.
package struct SecretsManagerClient: Sendable {
    let service: AWSJSONService
    /// Every HTTP request made to Secrets Manager, retries included.
    package var calls: AtomicCounter { service.calls }

    package init(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        retry: RetryPolicy = RetryPolicy(maxAttempts: 4),
        calls: AtomicCounter = AtomicCounter()
    ) {
        service = AWSJSONService(
            descriptor: .secretsManager, transport: transport, environment: environment, logger: logger, clock: clock,
            retry: retry, calls: calls)
    }

    package func endpoint(region: String) throws -> Endpoint { try service.endpoint(region: region) }

    /// `GetSecretValue` for `secretId` at `version`, retrying throttling and server faults with
    /// jittered exponential backoff (``RetryPolicy``).
    package func getSecretValue(
        secretId: String, version: SecretVersionSelector, region: String, credentials: AWSCredentials
    ) throws -> StoredValue {
        var body: [(key: String, value: JSONDocument)] = [("SecretId", .string(secretId))]
        switch version {
        case .stage(let stage): body.append(("VersionStage", .string(stage)))
        case .id(let id): body.append(("VersionId", .string(id)))
        }
        let response = try service.call("GetSecretValue", body: .object(body), subject: secretId, region: region, credentials: credentials)
        guard let object = Self.parseAnswer(response), case .object = object else {
            throw service.malformed("GetSecretValue", subject: secretId)
        }
        let value = try Self.secretVersion(object, secretId: secretId)
        guard Self.answers(secretId, region: region, with: value) else {
            throw Self.unmatched(secretId, "another secret (\(value.arn))")
        }
        guard Self.isVersion(version, in: object) else {
            throw Self.unmatched(secretId, "another version (\(value.versionId), not \(version.description))")
        }
        return value
    }

    /// True when `version` can be the answer to a request for `id` in `region`: an ARN request
    /// (complete, or partial without the 6-character suffix) only by that ARN; a name request only
    /// by a secret of that name in that region.
    static func answers(_ id: String, region: String, with version: StoredValue) -> Bool {
        AnswerMatcher(namesByARN: namesByARN, region: region, requested: [id]).fits(id, .init(arn: version.arn, name: version.name))
    }

    /// True when `answer` is the version `selector` asks for: that version ID, or a version whose
    /// `VersionStages` hold the staging label (AWS lists them in every answer).
    static func isVersion(_ selector: SecretVersionSelector, in answer: JSONDocument) -> Bool {
        switch selector {
        case .id(let id): return answer["VersionId"]?.string == id
        case .stage(let stage): return answer["VersionStages"]?.array?.contains { $0.string == stage } ?? false
        }
    }

    static func unmatched(_ secretId: String, _ what: String) -> AWSServiceError {
        AWSServiceError(
            subject: secretId, awsErrorCode: nil, message: "GetSecretValue for \(secretId) answered with \(what); refused",
            fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager itself", retryable: false)
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

    /// The answer's JSON, with the secret values as zeroing payloads.
    static func parseAnswer(_ response: consuming HTTPResponse) -> JSONDocument? {
        AWSJSONService.parseAnswer(response, sensitive: valueMembers)
    }

    /// One `SecretValues` entry (or a GetSecretValue answer) as a ``StoredValue``.
    static func secretVersion(_ object: JSONDocument, secretId: String) throws -> StoredValue {
        guard let arn = object["ARN"]?.string, let versionId = object["VersionId"]?.string else {
            throw AWSServiceError(
                subject: secretId, awsErrorCode: nil, message: "unexpected GetSecretValue answer for \(secretId): not the documented JSON",
                fix: "check AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL point at Secrets Manager", retryable: false)
        }
        let payload: ValuePayload
        if case .undecodable(let problem)? = object["SecretString"] {
            throw AWSServiceError(
                subject: secretId, awsErrorCode: nil,
                message: "secret \(secretId) version \(versionId) cannot be written: its SecretString is not text (\(problem)); refused",
                fix: "put the value again as valid UTF-8 text (or as SecretBinary)", retryable: false)
        } else if case .sensitive(let value)? = object["SecretString"] {
            payload = value
        } else if case .sensitive(let encoded)? = object["SecretBinary"], let decoded = Self.base64Decoded(encoded.bytes) {
            payload = ValuePayload(kind: .binary, bytes: decoded)
        } else if let string = object["SecretString"]?.string {
            payload = ValuePayload(kind: .string, bytes: Array(string.utf8))
        } else if let binary = object["SecretBinary"]?.string, let bytes = Data(base64Encoded: binary) {
            payload = ValuePayload(kind: .binary, bytes: Array(bytes))
        } else {
            throw AWSServiceError(
                subject: secretId, awsErrorCode: nil,
                message: "secret \(secretId) version \(versionId) has neither SecretString nor SecretBinary",
                fix: "put a value in the secret", retryable: false)
        }
        try CollectionBounds.checkSize(
            payload, of: secretId, limit: CollectionBounds.secretValueBytes, service: "Secrets Manager", operation: "GetSecretValue",
            endpointVariable: "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        return StoredValue(arn: arn, name: object["Name"]?.string ?? secretId, versionId: versionId, payload: payload)
    }

    /// `BatchGetSecretValue` for up to 20 ids (always their `AWSCURRENT` version); throttling
    /// is thrown at once, not retried (the batch quota is 100 calls a second per account, and
    /// `GetSecretValue` has 100 times that). Per-secret
    /// failures come back in the result; a failure of the whole call is thrown.
    package func batchGetSecretValue(secretIds: [String], region: String, credentials: AWSCredentials) throws -> [String: Result<
        StoredValue, AWSServiceError
    >] {
        precondition((1...20).contains(secretIds.count))
        let label = "\(secretIds.count) secrets"
        let response = try service.call(
            "BatchGetSecretValue", body: .object([("SecretIdList", .array(secretIds.map(JSONDocument.string)))]), subject: label,
            region: region, credentials: credentials, retryingThrottling: false)
        guard let object = Self.parseAnswer(response), case .object = object else {
            throw service.malformed("BatchGetSecretValue", subject: label)
        }
        // Only AWSCURRENT answers what a batch asks; another version of the secret is asked again singly.
        let answered = (object["SecretValues"]?.array ?? []).filter { Self.isVersion(.current, in: $0) }.compactMap {
            try? Self.secretVersion($0, secretId: $0["Name"]?.string ?? "")
        }
        var errors = [String: AWSServiceError]()
        for entry in object["Errors"]?.array ?? [] {
            guard let id = entry["SecretId"]?.string else { continue }
            let code = entry["ErrorCode"]?.string ?? "Error"
            let message = entry["Message"]?.string ?? "(no message)"
            errors[id] = AWSServiceError(
                subject: id, awsErrorCode: code, message: "Secrets Manager refused BatchGetSecretValue for \(id): \(code): \(message)",
                fix: service.descriptor.fix(
                    code: code, region: region, retryable: AWSErrorBody.isRetryable(code: code, status: 400), source: credentials.source),
                retryable: false)
        }
        var results = [String: Result<StoredValue, AWSServiceError>]()
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

    /// Secrets Manager's filters for a selection: `name` and, per tag, `tag-key` and `tag-value`.
    /// Each is a prefix match, and keys and values match separately, so ``selectedByTags`` checks
    /// tags exactly.
    static func filters(namePrefix: String?, tags: [SecretTag]) -> JSONDocument {
        var filters = [JSONDocument]()
        func filter(_ key: String, _ values: [String]) {
            filters.append(.object([("Key", .string(key)), ("Values", .array(values.map(JSONDocument.string)))]))
        }
        if let namePrefix { filter("name", [namePrefix]) }
        for tag in tags {
            filter("tag-key", [tag.key])
            if !tag.value.isEmpty { filter("tag-value", [tag.value]) }
        }
        return .array(filters)
    }

    /// `BatchGetSecretValue` takes at most this many results a page (with `Filters`).
    static let selectionPageSize = 20

    /// `BatchGetSecretValue` with `Filters`, page by page (20 a page): the `AWSCURRENT` value of
    /// every secret the filters match. A matched secret that could not be read fails the call.
    package func selectSecretValues(namePrefix: String?, tags: [SecretTag], region: String, credentials: AWSCredentials) throws
        -> [StoredValue]
    {
        let label =
            "the secrets selected by "
            + ([namePrefix.map { "name_prefix \($0)" }] + tags.map { "tag \($0.key)" }).compactMap { $0 }.joined(separator: ", ")
        var versions = [StoredValue]()
        var bounds = CollectionBounds(
            service: "Secrets Manager", operation: "BatchGetSecretValue", subject: label, pageSize: Self.selectionPageSize,
            endpointVariable: "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        try service.paged(
            "BatchGetSecretValue", subject: label, region: region, credentials: credentials, sensitive: Self.valueMembers,
            body: { token in
                var members: [(key: String, value: JSONDocument)] = [
                    ("Filters", Self.filters(namePrefix: namePrefix, tags: tags)), ("MaxResults", .number(String(Self.selectionPageSize))),
                ]
                if let token { members.append(("NextToken", .string(token))) }
                return .object(members)
            },
            page: { answer in
                if let error = answer["Errors"]?.array?.first {
                    let id = error["SecretId"]?.string ?? "a selected secret"
                    let code = error["ErrorCode"]?.string ?? "Error"
                    throw AWSServiceError(
                        subject: id, awsErrorCode: code,
                        message: "Secrets Manager could not read \(id) of \(label): \(code): \(error["Message"]?.string ?? "(no message)")",
                        fix: service.descriptor.fix(code: code, region: region, retryable: false, source: credentials.source),
                        retryable: false)
                }
                let values = answer["SecretValues"]?.array ?? []
                try bounds.check(pageOf: values.count)
                for value in values {
                    let version = try Self.secretVersion(value, secretId: value["Name"]?.string ?? label)
                    guard Self.isVersion(.current, in: value) else {
                        throw Self.unmatched(version.name, "a version that is not AWSCURRENT (\(version.versionId)) in \(label)")
                    }
                    try bounds.take(version)
                    versions.append(version)
                }
            })
        return versions
    }

    /// `ListSecrets` with the same filters, page by page (100 a page): the ARNs of the secrets that
    /// carry every one of `tags` exactly (the filters match prefixes, and keys and values apart).
    package func selectedByTags(namePrefix: String?, tags: [SecretTag], region: String, credentials: AWSCredentials) throws -> Set<String> {
        var arns = Set<String>()
        try service.paged(
            "ListSecrets", subject: "the secrets tagged " + tags.map { "\($0.key)=\($0.value)" }.joined(separator: ", "), region: region,
            credentials: credentials, sensitive: [],
            body: { token in
                var members: [(key: String, value: JSONDocument)] = [
                    ("Filters", Self.filters(namePrefix: namePrefix, tags: tags)), ("MaxResults", .number("100")),
                ]
                if let token { members.append(("NextToken", .string(token))) }
                return .object(members)
            },
            page: { answer in
                for secret in answer["SecretList"]?.array ?? [] {
                    guard let arn = secret["ARN"]?.string else { continue }
                    let carried = Set(
                        (secret["Tags"]?.array ?? []).compactMap { tag -> SecretTag? in
                            guard let key = tag["Key"]?.string else { return nil }
                            return SecretTag(key: key, value: tag["Value"]?.string ?? "")
                        })
                    if tags.allSatisfy({ carried.contains($0) }) { arns.insert(arn) }
                }
            })
        return arns
    }

    /// The one answer of a batch that is `id`'s, or nil when there is none or it is not certain
    /// (``AnswerMatcher``).
    static func match(_ id: String, among answered: [StoredValue], requested: [String], region: String) -> StoredValue? {
        let matcher = AnswerMatcher(namesByARN: namesByARN, region: region, requested: requested)
        return matcher.match(id, among: answered.map { .init(arn: $0.arn, name: $0.name) }).map { answered[$0] }
    }

    /// A full ARN, or a partial one (without the 6-character suffix Secrets Manager adds).
    @Sendable static func namesByARN(_ id: String, _ arn: String) -> Bool {
        AnswerMatcher.sameName(arn, id) || (arn.utf8.starts(with: (id + "-").utf8) && arn.utf8.count == id.utf8.count + 7)
    }

    /// Opens a connection to the region's endpoint ahead of time (see ``AWSJSONService/warmUp(region:)``).
    package func warmUp(region: String) { service.warmUp(region: region) }

    /// What to do about an AWS error code, whether it came as an HTTP answer or a batch entry.
    static func fix(code: String, region: String, retryable: Bool, source: CredentialSource) -> String? {
        AWSJSONService.Descriptor.secretsManager.fix(code: code, region: region, retryable: retryable, source: source)
    }

    /// Secrets Manager's own advice for an error code (nil: the generic advice applies).
    @Sendable static func advice(code: String, region: String) -> String? {
        switch code {
        case "ResourceNotFoundException":
            return "check the id (name or ARN) and the region (\(region)); a secret in another account must be named by its full ARN"
        case "AccessDeniedException", "AccessDenied":
            return
                "allow secretsmanager:GetSecretValue on this secret in the role's policy (and kms:Decrypt if it uses a customer-managed key; a select: entry also needs secretsmanager:ListSecrets and secretsmanager:BatchGetSecretValue)"
        case "DecryptionFailure":
            return "the role needs kms:Decrypt on the secret's KMS key, and the key must be enabled"
        case "InvalidRequestException":
            return
                "the secret may be scheduled for deletion; restore it (aws secretsmanager restore-secret) or point the manifest elsewhere"
        case "InvalidParameterException":
            return "check version_stage / version_id name a version the secret has"
        default:
            return nil
        }
    }
}
