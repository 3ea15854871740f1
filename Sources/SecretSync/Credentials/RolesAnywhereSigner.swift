import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Signs a Roles Anywhere request with the certificate's private key (`AWS4-X509-*-SHA256`).
///
/// The canonical request and string to sign are SigV4's; the differences are the algorithm name,
/// the certificate's decimal serial in place of an access key, the `X-Amz-X509` headers, and an
/// RSA PKCS#1 v1.5 or DER ECDSA signature over SHA-256 (for every curve), sent as lower-case hex.
package struct RolesAnywhereSigner {
    package static let service = "rolesanywhere"

    package let certificate: Certificate
    package let intermediates: [Certificate]
    package let privateKey: any SigningKey

    package init(certificate: Certificate, intermediates: [Certificate], privateKey: any SigningKey) {
        self.certificate = certificate
        self.intermediates = intermediates
        self.privateKey = privateKey
    }

    /// `AWS4-X509-RSA-SHA256` or `AWS4-X509-ECDSA-SHA256` (also for P-384: the hash is always SHA-256).
    package var algorithm: String {
        if case .rsa = privateKey.kind { return "AWS4-X509-RSA-SHA256" }
        return "AWS4-X509-ECDSA-SHA256"
    }

    /// Signs `message`; for a key held by a device, also checks the signature against the
    /// certificate, since only a signature can show that such a key is the certificate's.
    func signProvingPossession(_ message: [UInt8]) throws -> [UInt8] {
        let signature = try privateKey.signSHA256(message)
        if privateKey.isHardware, !certificate.verifiesSHA256(signature, of: message) {
            throw CryptoError(
                .keyCertificateMismatch,
                "\(privateKey.label) (\(privateKey.kind)) does not match the certificate (\(certificate.publicKeyDescription), subject \(certificate.subject), serial \(certificate.serialHex)): its signature does not verify with the certificate's public key",
                fix:
                    "point private_key at the key the certificate was issued for, or have a certificate issued for this key (README, \"Keys in a TPM or a PKCS#11 token\", shows how to make its CSR)",
                openSSLDetail: nil)
        }
        return signature
    }

    /// Proves, without any request, that the key signs and belongs to the certificate.
    package func checkPossession() throws {
        _ = try signProvingPossession(Array("secret-sync key check".utf8))
    }

    /// Adds `X-Amz-Date`, `X-Amz-X509`, `X-Amz-X509-Chain` and `Authorization` to `request`.
    @discardableResult
    package func sign(_ request: inout SignableRequest, region: String, at date: Date) throws -> SigningResult {
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
        let signatureBytes = try signProvingPossession(Array(stringToSign.utf8))
        let signature = signatureBytes.lowercaseHex
        return SigningResult.authorize(
            &request, algorithm: algorithm, credential: certificate.serialDecimal, scope: scope, canonical: canonical,
            stringToSign: stringToSign, signature: signature)
    }
}
