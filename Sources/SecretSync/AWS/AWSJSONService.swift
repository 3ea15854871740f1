import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A failed call to an AWS service (Secrets Manager, Parameter Store): AWS's code and message
/// and what to do about it, or the transport failure when there was no answer.
package struct AWSServiceError: DiagnosticError {
    /// What was asked for: a secret or parameter id, or "20 secrets".
    package let subject: String
    /// AWS's error code (`ResourceNotFoundException`, `ParameterNotFound`, ...), or nil for
    /// transport failures and answers that were not the documented JSON.
    package let awsErrorCode: String?
    package let message: String
    package let fix: String?
    let retryable: Bool
    /// The transport failure, when there was no answer.
    var cause: HTTPError? = nil
    package var errorCode: String? { awsErrorCode ?? cause?.errorCode }
    package var underlying: (any Error)? { cause }

    /// Codes that mean AWS did not accept the credentials themselves (rotated, deleted, expired):
    /// cached credentials are dropped and fresh ones tried once.
    static let refusedCredentialCodes: Set<String> = [
        "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId",
    ]

    var refusedCredentials: Bool { Self.refusedCredentialCodes.contains(awsErrorCode ?? "") }
    /// True when the account's quota for the call, not a fault, stopped it.
    var throttled: Bool { AWSErrorBody.throttlingCodes.contains(awsErrorCode ?? "") }
}

/// One AWS service spoken in the JSON 1.1 protocol over SigV4: the endpoint, the signed POST, the
/// retries and the mapping of failures to ``AWSServiceError``. The one way secret-sync calls it.
package struct AWSJSONService: Sendable {
    /// What distinguishes one service from another on the wire and in messages.
    package struct Descriptor: Sendable {
        /// For messages: "Secrets Manager".
        let displayName: String
        /// SigV4's service name and the endpoint's host prefix.
        let signingName: String
        /// `X-Amz-Target` is this, a dot, and the operation.
        let targetPrefix: String
        /// `AWS_ENDPOINT_URL_<this>` overrides the endpoint.
        let endpointVariable: String
        /// The service's own advice for an AWS error code in a region (nil: the generic advice).
        let advice: @Sendable (_ code: String, _ region: String) -> String?

        static let secretsManager = Descriptor(
            displayName: "Secrets Manager", signingName: "secretsmanager", targetPrefix: "secretsmanager",
            endpointVariable: "SECRETS_MANAGER", advice: SecretsManagerClient.advice)

        static let parameterStore = Descriptor(
            displayName: "Parameter Store", signingName: "ssm", targetPrefix: "AmazonSSM", endpointVariable: "SSM",
            advice: ParameterStoreClient.advice)

        /// What to do about an AWS error code, whether it came as an HTTP answer or a batch entry.
        func fix(code: String, region: String, retryable: Bool, source: CredentialSource) -> String? {
            if AWSServiceError.refusedCredentialCodes.contains(code) { return source.refusedFix }
            if let advice = advice(code, region) { return advice }
            return retryable ? "\(displayName) is throttling or failing; it was retried, and the next pass will try again" : nil
        }
    }

    let descriptor: Descriptor
    let transport: any HTTPTransport
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date
    /// Throttling, server faults and connection failures are retried under this policy.
    let retry: RetryPolicy
    /// Every HTTP request made, retries included (shared by all services of a pass).
    let calls: AtomicCounter

    package func endpoint(region: String) throws -> Endpoint {
        try Endpoint.resolve(
            explicit: nil, serviceEnvironmentName: descriptor.endpointVariable, hostPrefix: descriptor.signingName, region: region,
            environment: environment)
    }

    /// Opens a connection to the region's endpoint ahead of time (an unsigned GET, not an API
    /// call), so the TCP and TLS handshakes overlap with `CreateSession`.
    func warmUp(region: String) {
        guard let endpoint = try? endpoint(region: region) else { return }
        _ = try? transport.send(
            HTTPRequest(method: "GET", url: endpoint.url(path: "/", encodedQuery: ""), headers: [], body: [], isWarmUp: true))
    }

    /// `operation` with `body`, signed, retried while retrying can help; a non-2xx answer is
    /// thrown as an ``AWSServiceError`` naming `subject`. With `retryingThrottling` false, a
    /// throttled call is thrown at once, for a caller that has a cheaper way to ask.
    func call(
        _ operation: String, body: JSONDocument, subject: String, region: String, credentials: AWSCredentials,
        retryingThrottling: Bool = true
    ) throws -> HTTPResponse {
        let endpoint = try endpoint(region: region)
        let bodyData = Array(body.text.utf8)
        return try retry.run(
            isRetryable: { error in
                guard let error = error as? AWSServiceError else { return false }
                return error.retryable && (retryingThrottling || !error.throttled)
            },
            beforeRetry: { attempt, delay, error in
                logger.warning(
                    "\(operation) failed, retrying",
                    metadata: [
                        "subject": "\(subject)", "attempt": "\(attempt)", "delay": "\(NumberText.fixed(delay, 2))s",
                        "error": "\((error as? AWSServiceError)?.awsErrorCode ?? "transport")",
                    ])
            },
            operation: {
                calls.add(1)
                var request = SignableRequest(
                    method: "POST", path: endpoint.basePath + "/",
                    headers: [
                        ("Content-Type", "application/x-amz-json-1.1"),
                        ("Host", endpoint.hostHeader),
                        ("X-Amz-Target", "\(descriptor.targetPrefix).\(operation)"),
                    ],
                    body: Array(bodyData))
                SigV4Signer(credentials: credentials, region: region, service: descriptor.signingName).sign(&request, at: clock())
                let response: HTTPResponse
                do {
                    response = try transport.send(
                        HTTPRequest(
                            method: "POST", url: endpoint.url(path: "/", encodedQuery: ""), headers: request.headers, body: request.body))
                } catch let error as HTTPError {
                    throw AWSServiceError(
                        subject: subject, awsErrorCode: nil,
                        message:
                            "cannot reach \(descriptor.displayName) at \(endpoint) (from \(endpoint.source)) for \(subject): \(error.message)",
                        fix: error.fix, retryable: error.isRetryable, cause: error)
                }
                guard (200...299).contains(response.status) else {
                    throw self.error(response, subject: subject, region: region, operation: operation, source: credentials.source)
                }
                return response
            })
    }

    /// More pages than this means a server that never stops answering.
    static let pageLimit = 10_000

    /// `operation` page after page until the answer has no `NextToken`: `body` makes each request
    /// from the token (nil for the first), `page` takes each answer (parsed with the `sensitive`
    /// members as zeroing payloads). A token seen before, or more than ``pageLimit`` pages, ends
    /// in an error rather than a loop.
    func paged(
        _ operation: String, subject: String, region: String, credentials: AWSCredentials, sensitive: Set<String>,
        body: (_ token: String?) -> JSONDocument, page: (JSONDocument) throws -> Void
    ) throws {
        var token: String?
        var seen = Set<String>()
        for _ in 0..<Self.pageLimit {
            let response = try call(operation, body: body(token), subject: subject, region: region, credentials: credentials)
            guard let answer = Self.parseAnswer(response, sensitive: sensitive), case .object = answer else {
                throw malformed(operation, subject: subject)
            }
            try page(answer)
            guard let next = answer["NextToken"]?.string, !next.isEmpty else { return }
            guard seen.insert(next).inserted else {
                throw AWSServiceError(
                    subject: subject, awsErrorCode: nil, message: "\(operation) for \(subject) repeated a page token; refused",
                    fix:
                        "check AWS_ENDPOINT_URL_\(descriptor.endpointVariable) / AWS_ENDPOINT_URL point at \(descriptor.displayName) itself",
                    retryable: false)
            }
            token = next
        }
        throw AWSServiceError(
            subject: subject, awsErrorCode: nil,
            message: "\(operation) for \(subject) went on for more than \(Self.pageLimit) pages; refused",
            fix: "select fewer values", retryable: false)
    }

    func error(_ response: HTTPResponse, subject: String, region: String, operation: String, source: CredentialSource) -> AWSServiceError {
        let body = AWSErrorBody.parse(response)
        var message = "\(descriptor.displayName) refused \(operation) for \(subject): \(body.code): \(body.message) (HTTP \(body.status)"
        if let requestId = body.requestId { message += ", request ID \(requestId)" }
        message += ")"
        return AWSServiceError(
            subject: subject, awsErrorCode: body.code, message: message,
            fix: descriptor.fix(code: body.code, region: region, retryable: body.isRetryable, source: source),
            retryable: body.isRetryable)
    }

    /// An answer that is not the documented JSON: refused, with where to look.
    func malformed(_ operation: String, subject: String) -> AWSServiceError {
        AWSServiceError(
            subject: subject, awsErrorCode: nil, message: "unexpected \(operation) answer for \(subject): not the documented JSON",
            fix: "check AWS_ENDPOINT_URL_\(descriptor.endpointVariable) / AWS_ENDPOINT_URL point at \(descriptor.displayName)",
            retryable: false)
    }

    /// The answer's JSON, with the members named in `sensitive` parsed straight into zeroing
    /// payloads (``JSONDocument/sensitive(_:)``); the answer's bytes (and the copy parsed) are
    /// overwritten once read.
    static func parseAnswer(_ response: consuming HTTPResponse, sensitive: Set<String>) -> JSONDocument? {
        var answer = response
        var input = Array(answer.body)
        defer {
            Wipe.bytes(&input)
            answer.body.resetBytes(in: 0..<answer.body.count)
        }
        return JSONDocument.parse(input, sensitive: sensitive)
    }
}
