import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Access keys for SigV4 (HMAC) signing.
package struct AWSCredentials: Sendable, CustomStringConvertible {
    package let accessKeyId: String
    package let secretAccessKey: RedactedString
    package let sessionToken: RedactedString?
    /// When the credentials stop working; nil for long-lived keys.
    package let expiration: Date?
    /// The service's own expiration text, passed through unchanged by `credential-process`.
    package let expirationText: String?
    /// Where they came from, for the fix when AWS refuses them.
    package let source: CredentialSource

    package init(
        accessKeyId: String, secretAccessKey: RedactedString, sessionToken: RedactedString? = nil,
        expiration: Date? = nil, expirationText: String? = nil, source: CredentialSource = .rolesAnywhere
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.expirationText = expirationText
        self.source = source
    }

    package var description: String {
        "AWSCredentials(\(accessKeyId), expires \(expirationText ?? "never"))"
    }
}

/// Signature Version 4 with HMAC-SHA256, for ordinary AWS API calls.
package struct SigV4Signer: Sendable {
    package static let algorithm = "AWS4-HMAC-SHA256"

    package let credentials: AWSCredentials
    package let region: String
    package let service: String

    package init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    package struct Options: Sendable {
        /// Remove dot segments and duplicate slashes from the path (all services but S3).
        package var normalizePath = true
        /// Add `X-Amz-Content-Sha256` (S3 and a few others want it; Secrets Manager does not).
        package var addContentSHA256Header = false
        /// Add and sign `X-Amz-Security-Token` for session credentials.
        package var signSessionToken = true
        package init() {}
    }

    /// Adds `X-Amz-Date`, the session token and `Authorization` to `request`.
    @discardableResult
    package func sign(_ request: inout SignableRequest, at date: Date, options: Options = Options()) -> SigningResult {
        let amzDate = UTCTime.amzDate(date)
        request.setHeader("X-Amz-Date", amzDate)
        if options.addContentSHA256Header {
            request.setHeader("X-Amz-Content-Sha256", Digest.sha256Hex(request.body))
        }
        if options.signSessionToken, let token = credentials.sessionToken {
            request.setHeader("X-Amz-Security-Token", token.reveal())
        }
        let canonical = CanonicalRequest.build(request, normalizePath: options.normalizePath)
        let scope = CanonicalRequest.scope(amzDate: amzDate, region: region, service: service)
        let stringToSign = CanonicalRequest.stringToSign(
            algorithm: Self.algorithm, amzDate: amzDate, scope: scope, canonicalRequest: canonical.text)
        let key = signingKey(date: String(amzDate.prefix(8)))
        let signature = Digest.hmacSHA256(key: key, data: Array(stringToSign.utf8)).lowercaseHex
        return SigningResult.authorize(
            &request, algorithm: Self.algorithm, credential: credentials.accessKeyId, scope: scope, canonical: canonical,
            stringToSign: stringToSign, signature: signature)
    }

    func signingKey(date: String) -> [UInt8] {
        let secret = Array(("AWS4" + credentials.secretAccessKey.reveal()).utf8)
        let dateKey = Digest.hmacSHA256(key: secret, data: Array(date.utf8))
        let regionKey = Digest.hmacSHA256(key: dateKey, data: Array(region.utf8))
        let serviceKey = Digest.hmacSHA256(key: regionKey, data: Array(service.utf8))
        return Digest.hmacSHA256(key: serviceKey, data: Array("aws4_request".utf8))
    }
}
