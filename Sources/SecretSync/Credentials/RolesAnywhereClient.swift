import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Gets temporary credentials from IAM Roles Anywhere `CreateSession`.
///
/// The certificate, chain and key are read afresh on every call, so a certificate renewed on
/// disk is used without a restart. Nothing is taken from the host's own AWS identity.
package struct RolesAnywhereClient: Sendable {
    package private(set) var configuration: RolesAnywhereConfiguration
    let transport: any HTTPTransport
    let environment: [String: String]
    let clock: @Sendable () -> Date
    let logger: Logger
    /// Throttling, server faults and connection failures are retried under this policy.
    let retry: RetryPolicy
    /// Every CreateSession request made, retries included.
    let calls: AtomicCounter

    /// Clock differences beyond this are reported; SigV4 requests are rejected beyond 5 to 15 minutes.
    static let skewWarningThreshold: TimeInterval = 60

    package init(
        configuration: RolesAnywhereConfiguration, transport: any HTTPTransport, environment: [String: String],
        logger: Logger, clock: @escaping @Sendable () -> Date = { Date() }, retry: RetryPolicy = RetryPolicy(maxAttempts: 3),
        calls: AtomicCounter = AtomicCounter()
    ) {
        self.calls = calls
        self.configuration = configuration
        self.transport = transport
        self.environment = environment
        self.logger = logger
        self.clock = clock
        self.retry = retry
    }

    /// Loads the certificate, chain and key and checks them against each other and the clock.
    package func loadSigner(at now: Date) throws -> RolesAnywhereSigner {
        try Self.loadSigner(configuration, at: now)
    }

    package static func loadSigner(_ configuration: RolesAnywhereConfiguration, at now: Date) throws -> RolesAnywhereSigner {
        let certificate = try Certificate.load(path: configuration.certificatePath)
        let intermediates = try configuration.intermediatesPath.map { try Certificate.loadBundle(path: $0) } ?? []
        // A certificate that cannot be used should not cost a token login or a TPM operation.
        if configuration.privateKey.isHardware { try checkValidity(certificate, path: configuration.certificatePath, now: now) }
        let key = try SigningKeyLoader.load(
            configuration.privateKey, tpmAuthFile: configuration.tpmAuthFile, pkcs11Module: configuration.pkcs11Module,
            environment: ProcessEnvironment.inherited)
        if let fileKey = key as? PrivateKey, !fileKey.isHardware, !certificate.matches(fileKey) {
            throw CryptoError(
                .keyCertificateMismatch,
                "private key \(configuration.privateKey) (\(key.kind)) does not match certificate \(configuration.certificatePath) (\(certificate.publicKeyDescription), subject \(certificate.subject))",
                fix:
                    "use the key the certificate was issued for; compare `openssl x509 -noout -pubkey -in CERT` with `openssl pkey -pubout -in KEY`",
                openSSLDetail: nil)
        }
        try checkValidity(certificate, path: configuration.certificatePath, now: now)
        return RolesAnywhereSigner(certificate: certificate, intermediates: intermediates, privateKey: key)
    }

    static func checkValidity(_ certificate: Certificate, path: String, now: Date) throws {
        let clockNote = "this host's clock reads \(UTCTime.rfc3339(now))"
        if now < certificate.notBefore {
            throw CryptoError(
                .certificateNotYetValid,
                "certificate \(path) is not yet valid: valid from \(UTCTime.rfc3339(certificate.notBefore)), in \(DurationText.describe(certificate.notBefore.timeIntervalSince(now))) (\(clockNote))",
                fix: "wait until it is valid, or if the clock is wrong, fix it (timedatectl, chrony)",
                openSSLDetail: nil)
        }
        if now > certificate.notAfter {
            throw CryptoError(
                .certificateExpired,
                "certificate \(path) expired on \(UTCTime.rfc3339(certificate.notAfter)), \(DurationText.describe(now.timeIntervalSince(certificate.notAfter))) ago (\(clockNote))",
                fix:
                    "renew the certificate (serial \(certificate.serialHex), subject \(certificate.subject)) with your CA and replace the file; no restart is needed",
                openSSLDetail: nil)
        }
    }

    /// Calls `CreateSession` and returns the first credential set. When the trust anchor's region
    /// cannot be reached (no connection, a timeout, 5xx or throttling after the retries), the
    /// `fallbacks` are tried in order; an answer that means something (access denied, an untrusted
    /// certificate) is never failed over.
    package func createSession() throws -> AWSCredentials {
        do {
            return try createSessionInRegion()
        } catch let unreachable as RegionUnreachable {
            var last = unreachable.underlying
            for fallback in configuration.fallbacks {
                var alternative = self
                alternative.configuration = configuration.using(fallback)
                let region = ARN(fallback.trustAnchorArn)?.region ?? "?"
                logger.warning(
                    "CreateSession could not be reached in \(unreachable.region); trying the fallback trust anchor in \(region)",
                    metadata: ["error": "\(last.message)"])
                do {
                    let credentials = try alternative.createSessionInRegion()
                    logger.notice("credentials from the fallback region", metadata: ["region": "\(region)"])
                    return credentials
                } catch let next as RegionUnreachable {
                    last = next.underlying
                }
            }
            throw last
        }
    }

    /// A region's `CreateSession` failed in a way its outage explains, after the retries.
    struct RegionUnreachable: Error {
        let underlying: any DiagnosticError
        let region: String
    }

    func createSessionInRegion() throws -> AWSCredentials {
        let resolved = try configuration.resolve()
        let endpoint = try Endpoint.resolve(
            explicit: configuration.endpoint, serviceEnvironmentName: "ROLESANYWHERE", hostPrefix: "rolesanywhere",
            region: resolved.region, environment: environment)

        do {
            return try retry.run(
                isRetryable: { $0 is RetryableFailure },
                beforeRetry: { attempt, delay, error in
                    logger.warning(
                        "CreateSession failed, retrying",
                        metadata: [
                            "attempt": "\(attempt)", "delay": "\(NumberText.fixed(delay, 2))s",
                            "error": "\((error as? RetryableFailure)?.underlying.message ?? "\(error)")",
                        ])
                }, operation: { try createSessionOnce(resolved: resolved, endpoint: endpoint) })
        } catch let error as RetryableFailure {
            // Connections, timeouts, resets, 5xx and throttling that outlasted the retries.
            throw RegionUnreachable(underlying: error.underlying, region: resolved.region)
        }
    }

    /// Wraps an error that is worth another attempt.
    struct RetryableFailure: Error {
        let underlying: any DiagnosticError
    }

    private func createSessionOnce(resolved: RolesAnywhereConfiguration.Resolved, endpoint: Endpoint) throws -> AWSCredentials {
        let now = clock()
        let signer = try loadSigner(at: now)

        var members: [(key: String, value: JSONDocument)] = [("durationSeconds", .number("\(configuration.sessionDuration)"))]
        if let name = configuration.roleSessionName { members.append(("roleSessionName", .string(name))) }
        let body = Array(JSONDocument.object(members).text.utf8)

        var request = SignableRequest(
            method: "POST", path: endpoint.basePath + "/sessions",
            query: [
                ("profileArn", configuration.profileArn),
                ("roleArn", configuration.roleArn),
                ("trustAnchorArn", configuration.trustAnchorArn),
            ],
            headers: [("Content-Type", "application/json"), ("Host", endpoint.hostHeader)],
            body: Array(body))
        try signer.sign(&request, region: resolved.region, at: now)

        let url = endpoint.url(path: "/sessions", encodedQuery: CanonicalRequest.canonicalQuery(request.query))
        logger.debug(
            "CreateSession",
            metadata: [
                "endpoint": "\(endpoint)", "endpoint_source": "\(endpoint.source)", "region": "\(resolved.region)",
                "certificate_serial": "\(signer.certificate.serialDecimal)", "algorithm": "\(signer.algorithm)",
                "key": "\(signer.privateKey.label)",
            ])
        let response: HTTPResponse
        calls.add(1)
        do {
            response = try transport.send(HTTPRequest(method: "POST", url: url, headers: request.headers, body: request.body))
        } catch let error as HTTPError {
            let wrapped = RolesAnywhereError(
                .serviceError, "cannot reach IAM Roles Anywhere at \(endpoint) (from \(endpoint.source)): \(error.message)",
                fix: error.fix)
            if error.isRetryable { throw RetryableFailure(underlying: wrapped) }
            // A region's host name that does not resolve is worth a fallback region, not a retry.
            if case .dns = error.kind { throw RegionUnreachable(underlying: wrapped, region: resolved.region) }
            throw wrapped
        }

        let skew = Self.clockSkew(response: response, localTime: now)
        if let skew, abs(skew) > Self.skewWarningThreshold {
            logger.warning("local clock differs from IAM Roles Anywhere's", metadata: ["skew": "\(Self.describeSkew(skew))"])
        }
        guard (200...299).contains(response.status) else {
            let error = Self.serviceError(response: response, skew: skew, signer: signer, configuration: configuration)
            if AWSErrorBody.parse(response).isRetryable { throw RetryableFailure(underlying: error) }
            throw error
        }
        return try Self.parseCredentials(response.body, endpoint: endpoint)
    }

    /// Server time minus local time, from the response's `Date` header.
    static func clockSkew(response: HTTPResponse, localTime: Date) -> TimeInterval? {
        guard let header = response.header("Date"), let serverTime = UTCTime.parseHTTPDate(header) else { return nil }
        return serverTime.timeIntervalSince(localTime)
    }

    static func describeSkew(_ skew: TimeInterval) -> String {
        "this host's clock is \(DurationText.describe(skew)) \(skew > 0 ? "behind" : "ahead of") the server's"
    }

    static func serviceError(
        response: HTTPResponse, skew: TimeInterval?, signer: RolesAnywhereSigner, configuration: RolesAnywhereConfiguration
    ) -> RolesAnywhereError {
        let body = AWSErrorBody.parse(response)
        var message = "IAM Roles Anywhere refused CreateSession: \(body.code): \(body.message) (HTTP \(body.status)"
        if let requestId = body.requestId { message += ", request ID \(requestId)" }
        message += ")"
        let lower = body.message.lowercased()
        var fix: String?
        if let skew, abs(skew) > 5 * 60 {
            message += "; \(describeSkew(skew))"
            fix =
                "fix the clock (e.g. `timedatectl set-ntp true`, or check chrony/systemd-timesyncd); signatures are only accepted within a few minutes of the server's time"
        } else if lower.contains("untrusted") || lower.contains("trust anchor") && body.code == "AccessDeniedException" {
            fix =
                "the certificate (issuer \(signer.certificate.issuer)) must chain to the trust anchor's CA: "
                + (signer.intermediates.isEmpty
                    ? "if it was issued by an intermediate CA, give the intermediates bundle (intermediates: / --intermediates)"
                    : "check that the intermediates bundle holds every CA between the certificate and the trust anchor")
                + ", and that \(configuration.trustAnchorArn) is the trust anchor registered for that CA"
        } else if lower.contains("signature") {
            fix =
                "check that the private key belongs to the certificate, that the region (\((try? configuration.resolve().region) ?? "?")) matches the trust anchor, and that no proxy rewrites the request"
        } else if body.code == "AccessDeniedException" {
            fix =
                "check that the role's trust policy allows rolesanywhere.amazonaws.com (sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity), that the profile lists the role, and that the trust anchor and profile are enabled"
        } else if body.code == "ResourceNotFoundException" {
            fix = "check the trust anchor, profile and role ARNs, and that they are in the region the request went to"
        } else if body.code == "ValidationException" {
            fix = "check the session duration (the profile and the role's maximum may be lower than asked) and the role session name"
        }
        return RolesAnywhereError(.serviceError, message, fix: fix, awsErrorCode: body.code)
    }

    static func parseCredentials(_ body: Data, endpoint: Endpoint) throws -> AWSCredentials {
        func malformed(_ what: String) -> RolesAnywhereError {
            RolesAnywhereError(
                .malformedResponse, "unexpected CreateSession answer from \(endpoint): \(what)",
                fix: "check the endpoint setting points at IAM Roles Anywhere")
        }
        guard let object = JSONDocument.parse(Array(body)), case .object = object else {
            throw malformed("not a JSON object")
        }
        guard let first = object["credentialSet"]?.array?.first, let credentials = first["credentials"], case .object = credentials
        else {
            throw malformed("unable to obtain temporary security credentials from CreateSession (no credentialSet)")
        }
        guard let accessKeyId = credentials["accessKeyId"]?.string, !accessKeyId.isEmpty,
            let secretAccessKey = credentials["secretAccessKey"]?.string, !secretAccessKey.isEmpty,
            let sessionToken = credentials["sessionToken"]?.string, !sessionToken.isEmpty
        else {
            throw malformed("the credential set lacks accessKeyId, secretAccessKey or sessionToken")
        }
        let expirationText = credentials["expiration"]?.string
        let expiration = expirationText.flatMap(UTCTime.parseRFC3339)
        if expirationText != nil, expiration == nil {
            throw malformed("expiration '\(expirationText!)' is not an RFC 3339 time")
        }
        return AWSCredentials(
            accessKeyId: accessKeyId, secretAccessKey: RedactedString(secretAccessKey),
            sessionToken: RedactedString(sessionToken), expiration: expiration, expirationText: expirationText)
    }
}
