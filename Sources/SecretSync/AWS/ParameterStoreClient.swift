import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// AWS Systems Manager Parameter Store, for the calls secret-sync makes: `GetParameters`, ten
/// names a call, always decrypted. A parameter's value arrives as a ``StoredValue`` whose
/// version ID is the parameter's `Version` number.
package struct ParameterStoreClient: Sendable {
    let service: AWSJSONService

    /// `GetParameters` takes at most this many names.
    package static let namesPerCall = 10

    package init(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        retry: RetryPolicy = RetryPolicy(maxAttempts: 4), calls: AtomicCounter = AtomicCounter()
    ) {
        service = AWSJSONService(
            descriptor: .parameterStore, transport: transport, environment: environment, logger: logger, clock: clock, retry: retry,
            calls: calls)
    }

    /// What one entry asks for: a name or ARN and which version.
    package struct Request: Hashable, Sendable {
        package let id: String
        package let version: ParameterVersionSelector

        /// The text `GetParameters` takes: `name`, `name:3` or `name:label`.
        var wireName: String {
            switch version {
            case .number(let number): return "\(id):\(number)"
            case .label(let label): return "\(id):\(label)"
            case .latest: return id
            }
        }
    }

    /// `GetParameters` for up to ten requests of one region, no two for the same parameter (an
    /// answer names its parameter, not always the version asked for). Per-parameter failures come
    /// back in the result; a failure of the whole call is thrown.
    package func getParameters(_ requests: [Request], region: String, credentials: AWSCredentials) throws -> [Request: Result<
        StoredValue, AWSServiceError
    >] {
        precondition((1...Self.namesPerCall).contains(requests.count))
        precondition(Set(requests.map(\.id)).count == requests.count, "one request per parameter and call")
        let label = requests.count == 1 ? requests[0].id : "\(requests.count) parameters"
        let body = JSONDocument.object([
            ("Names", .array(requests.map { .string($0.wireName) })), ("WithDecryption", .bool(true)),
        ])
        let response = try service.call("GetParameters", body: body, subject: label, region: region, credentials: credentials)
        guard let object = AWSJSONService.parseAnswer(response, sensitive: ["Value"]), case .object = object,
            let parameters = object["Parameters"]?.array
        else {
            throw service.malformed("GetParameters", subject: label)
        }
        let invalid = Set((object["InvalidParameters"]?.array ?? []).compactMap(\.string))
        var results = [Request: Result<StoredValue, AWSServiceError>]()
        let matcher = AnswerMatcher(namesByARN: AnswerMatcher.sameName, region: region, requested: requests.map(\.id))
        let answered = parameters.map { AnswerMatcher.Answer(arn: $0["ARN"]?.string, name: $0["Name"]?.string) }
        for request in requests {
            if invalid.contains(request.wireName) || invalid.contains(request.id) {
                results[request] = .failure(notFound(request, region: region))
            } else if let index = matcher.match(request.id, among: answered, accepting: { Self.answers(request, with: parameters[$0]) }) {
                let answer = parameters[index]
                do {
                    results[request] = .success(try version(of: answer, for: request))
                } catch {
                    results[request] = .failure(error)
                }
            } else {
                results[request] = .failure(
                    AWSServiceError(
                        subject: request.id, awsErrorCode: Self.unmatchedAnswer,
                        message:
                            "GetParameters did not answer for \(request.id) (\(request.version.description)) with exactly one parameter of its name in \(region); refused",
                        fix: "check AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL point at Parameter Store itself", retryable: false))
            }
        }
        return results
    }

    /// The code of a request no answer of its call provably answers (``AnswerMatcher``): asked
    /// again alone, then refused.
    static let unmatchedAnswer = "UnmatchedAnswer"

    /// True when `answer` could be `request`'s: its ARN for an ARN, else its name (as written), and
    /// where the answer says which version or label it is, that one. Whether it is certainly
    /// `request`'s among the call's answers is ``AnswerMatcher``'s to say.
    static func answers(_ request: Request, with answer: JSONDocument) -> Bool {
        let named = AnswerMatcher.isARN(request.id) ? answer["ARN"]?.string : answer["Name"]?.string
        guard let named, AnswerMatcher.sameName(named, request.id) else { return false }
        if let selector = answer["Selector"]?.string, !selector.isEmpty {
            switch request.version {
            case .number(let number): return selector == ":\(number)"
            case .label(let label): return selector == ":\(label)"
            case .latest: return false
            }
        }
        if case .number(let number) = request.version { return answer["Version"]?.integer == number }
        return true
    }

    func version(of answer: JSONDocument, for request: Request, operation: String = "GetParameters") throws(AWSServiceError)
        -> StoredValue
    {
        if case .undecodable(let problem)? = answer["Value"] {
            throw AWSServiceError(
                subject: request.id, awsErrorCode: nil,
                message: "parameter \(request.id) cannot be written: its value is not text (\(problem)); refused",
                fix: "put the parameter again as valid UTF-8 text", retryable: false)
        }
        guard let version = answer["Version"]?.integer, case .sensitive(let value)? = answer["Value"] else {
            throw service.malformed(operation, subject: request.id)
        }
        let name = answer["Name"]?.string ?? request.id
        try CollectionBounds.checkSize(
            value, of: name, limit: CollectionBounds.parameterValueBytes, service: "Parameter Store", operation: operation,
            endpointVariable: "AWS_ENDPOINT_URL_SSM")
        return StoredValue(arn: answer["ARN"]?.string ?? name, name: name, versionId: String(version), payload: value)
    }

    func notFound(_ request: Request, region: String) -> AWSServiceError {
        let what = request.version == .latest ? "" : " at \(request.version.description)"
        return AWSServiceError(
            subject: request.id, awsErrorCode: "ParameterNotFound",
            message: "Parameter Store has no parameter \(request.id)\(what) in \(region)",
            fix: Self.advice(code: "ParameterNotFound", region: region), retryable: false)
    }

    /// Parameter Store's own advice for an error code (nil: the generic advice applies).
    @Sendable static func advice(code: String, region: String) -> String? {
        switch code {
        case "ParameterNotFound", "ParameterVersionNotFound", "ParameterVersionLabelNotFound":
            return
                "check the name (with its leading /), the version or label and the region (\(region)); a parameter shared from another account must be named by its full ARN"
        case "AccessDeniedException", "AccessDenied":
            return
                "allow ssm:GetParameters on this parameter in the role's policy (and kms:Decrypt if a SecureString uses a customer-managed key)"
        case "InvalidKeyId", "KMSAccessDenied", "KMSDisabled":
            return "the role needs kms:Decrypt on the parameter's KMS key, and the key must be enabled"
        default:
            return nil
        }
    }

    /// `GetParametersByPath` takes at most this many results a page.
    package static let pageSize = 10

    /// Every parameter under `path`, recursively and decrypted, page by page; each answer must lie
    /// under the path.
    package func getParametersByPath(_ path: String, region: String, credentials: AWSCredentials) throws -> [StoredValue] {
        let prefix = path.hasSuffix("/") ? path : path + "/"
        var versions = [StoredValue]()
        var bounds = CollectionBounds(
            service: "Parameter Store", operation: "GetParametersByPath", subject: "the parameters under \(path)", pageSize: Self.pageSize,
            endpointVariable: "AWS_ENDPOINT_URL_SSM")
        try service.paged(
            "GetParametersByPath", subject: path, region: region, credentials: credentials, sensitive: ["Value"],
            body: { token in
                var members: [(key: String, value: JSONDocument)] = [
                    ("Path", .string(path)), ("Recursive", .bool(true)), ("WithDecryption", .bool(true)),
                    ("MaxResults", .number(String(Self.pageSize))),
                ]
                if let token { members.append(("NextToken", .string(token))) }
                return .object(members)
            },
            page: { answer in
                guard let parameters = answer["Parameters"]?.array else { throw service.malformed("GetParametersByPath", subject: path) }
                try bounds.check(pageOf: parameters.count)
                for parameter in parameters {
                    let request = Request(id: parameter["Name"]?.string ?? "", version: .latest)
                    guard request.id.hasPrefix(prefix) else {
                        throw AWSServiceError(
                            subject: path, awsErrorCode: nil,
                            message:
                                "GetParametersByPath for \(path) answered with a parameter outside it (\(request.id.escapingControlCharacters)); refused",
                            fix: "check AWS_ENDPOINT_URL_SSM / AWS_ENDPOINT_URL point at Parameter Store itself", retryable: false)
                    }
                    let value = try version(of: parameter, for: request, operation: "GetParametersByPath")
                    try bounds.take(value)
                    versions.append(value)
                }
            })
        return versions
    }

    /// Opens a connection to the region's endpoint ahead of time.
    package func warmUp(region: String) { service.warmUp(region: region) }
}
