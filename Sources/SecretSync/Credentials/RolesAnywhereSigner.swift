import Foundation

/// Signs a Roles Anywhere request with the certificate's private key (`AWS4-X509-*-SHA256`).
///
/// The canonical request and string to sign are SigV4's; the differences are the algorithm name,
/// the certificate's decimal serial in place of an access key, the `X-Amz-X509` headers, and an
/// RSA PKCS#1 v1.5 or DER ECDSA signature over SHA-256 (for every curve), sent as lower-case hex.
public struct RolesAnywhereSigner {
    public static let service = "rolesanywhere"

    public let certificate: Certificate
    public let intermediates: [Certificate]
    public let privateKey: PrivateKey

    public init(certificate: Certificate, intermediates: [Certificate], privateKey: PrivateKey) {
        self.certificate = certificate
        self.intermediates = intermediates
        self.privateKey = privateKey
    }

    /// `AWS4-X509-RSA-SHA256` or `AWS4-X509-ECDSA-SHA256` (also for P-384: the hash is always SHA-256).
    public var algorithm: String {
        if case .rsa = privateKey.kind { return "AWS4-X509-RSA-SHA256" }
        return "AWS4-X509-ECDSA-SHA256"
    }

    /// Adds `X-Amz-Date`, `X-Amz-X509`, `X-Amz-X509-Chain` and `Authorization` to `request`.
    @discardableResult
    public func sign(_ request: inout SignableRequest, region: String, at date: Date) throws -> SigningResult {
        let amzDate = UTCTime.amzDate(date)
        request.setHeader("X-Amz-Date", amzDate)
        request.setHeader("X-Amz-X509", certificate.der.base64EncodedString())
        if !intermediates.isEmpty {
            request.setHeader("X-Amz-X509-Chain", intermediates.map { $0.der.base64EncodedString() }.joined(separator: ","))
        }
        let canonical = CanonicalRequest.build(request)
        let scope = CanonicalRequest.scope(amzDate: amzDate, region: region, service: Self.service)
        let stringToSign = CanonicalRequest.stringToSign(
            algorithm: algorithm, amzDate: amzDate, scope: scope, canonicalRequest: canonical.text)
        let signature = try privateKey.signSHA256(Array(stringToSign.utf8)).lowercaseHex
        let authorization =
            "\(algorithm) Credential=\(certificate.serialDecimal)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        request.setHeader("Authorization", authorization)
        return SigningResult(
            canonicalRequest: canonical.text, stringToSign: stringToSign, signature: signature,
            authorization: authorization)
    }
}
