import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An X.509 certificate, owned as an OpenSSL `X509` object and freed with it.
package final class Certificate {
    /// The `X509*`. Never escapes this type except through ``withUnsafePointer(_:)``.
    private let pointer: OpaquePointer

    /// Parses one DER-encoded certificate.
    init?(der: Data) {
        let parsed: OpaquePointer? = der.withUnsafeBytes { raw in
            var cursor: UnsafePointer<UInt8>? = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return d2i_X509(nil, &cursor, raw.count)
        }
        guard let parsed else { return nil }
        pointer = parsed
    }

    // Safe: this object is the only owner of the X509 it parsed.
    deinit { X509_free(pointer) }

    func withUnsafePointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(pointer)
    }

    /// The certificate's DER encoding.
    package var der: Data {
        var buffer: UnsafeMutablePointer<UInt8>?
        let length = i2d_X509(pointer, &buffer)
        guard length > 0, let buffer else { return Data() }
        defer { copenssl_free(buffer) }
        return Data(bytes: buffer, count: Int(length))
    }

    /// The serial number as an unsigned decimal string, as Roles Anywhere's `Credential=` wants it.
    package var serialDecimal: String {
        guard let bignum = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pointer), nil) else { return "0" }
        defer { BN_free(bignum) }
        guard let text = BN_bn2dec(bignum) else { return "0" }
        defer { copenssl_free(text) }
        return String(cString: text)
    }

    /// The serial number in upper-case hexadecimal, as certificate tools print it.
    package var serialHex: String {
        guard let bignum = ASN1_INTEGER_to_BN(X509_get0_serialNumber(pointer), nil) else { return "0" }
        defer { BN_free(bignum) }
        guard let text = BN_bn2hex(bignum) else { return "0" }
        defer { copenssl_free(text) }
        return String(cString: text)
    }

    /// The subject in RFC 2253 form, e.g. `CN=client,O=Example`.
    package var subject: String { Self.name(X509_get_subject_name(pointer)) }
    package var issuer: String { Self.name(X509_get_issuer_name(pointer)) }

    package var notBefore: Date { Self.date(X509_get0_notBefore(pointer)) }
    package var notAfter: Date { Self.date(X509_get0_notAfter(pointer)) }

    /// True when `issuer` issued this certificate: names, key identifiers and the signature agree.
    package func isIssued(by issuer: Certificate) -> Bool {
        issuer.withUnsafePointer { issuerPointer in
            guard X509_check_issued(issuerPointer, pointer) == X509_V_OK, let key = X509_get0_pubkey(issuerPointer) else { return false }
            return X509_verify(pointer, key) == 1
        }
    }

    /// True for a CA certificate (basicConstraints CA:TRUE).
    package var isCertificateAuthority: Bool { X509_check_ca(pointer) >= 1 }

    /// True when this certificate's public key is the one `key` holds the private half of.
    func matches(_ key: PrivateKey) -> Bool {
        guard let publicKey = X509_get0_pubkey(pointer) else { return false }
        return key.withUnsafePointer { EVP_PKEY_eq(publicKey, $0) == 1 }
    }

    /// True when `signature` is this certificate's key's SHA-256 signature of `message`: how a key
    /// held by a device, whose key material cannot be compared, proves it belongs here.
    func verifiesSHA256(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard let publicKey = X509_get0_pubkey(pointer), let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, publicKey) == 1 else { return false }
        let verified = EVP_DigestVerify(context, signature, signature.count, message, message.count) == 1
        OpenSSLErrorQueue.clear()
        return verified
    }

    /// "RSA 2048" or "EC P-256": the kind of the certificate's public key, for messages.
    var publicKeyDescription: String {
        guard let publicKey = X509_get0_pubkey(pointer) else { return "unknown key" }
        return KeyKind(publicKey).description
    }

    private static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, copenssl_name_flags_rfc2253()) >= 0 else { return "" }
        var contents: UnsafeMutablePointer<CChar>?
        let length = copenssl_bio_mem_contents(bio, &contents)
        guard length > 0, let contents else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: contents, count: length), as: UTF8.self)
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        var parts = tm()
        guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: Double(timegm(&parts)))
    }
}

extension Certificate {
    /// Loads a certificate file: the first `CERTIFICATE` block of a PEM file, or a DER file.
    package static func load(path: String) throws -> Certificate {
        let data = try LocalFile.read(path, role: "certificate")
        if data.looksLikePEM {
            guard let blocks = PEMBlock.parseAll(String(decoding: data, as: UTF8.self)) else {
                throw CryptoError(
                    .unreadableCertificate, "could not parse certificate \(path): malformed PEM",
                    fix: "check the file is a PEM certificate (-----BEGIN CERTIFICATE-----) and was copied whole")
            }
            guard let block = blocks.first(where: { $0.label == "CERTIFICATE" }) else {
                let found = blocks.map(\.label).joined(separator: ", ")
                throw CryptoError(
                    .unreadableCertificate,
                    "could not parse certificate \(path): no CERTIFICATE block (found: \(found.isEmpty ? "none" : found))",
                    fix: "point the certificate setting at the client certificate, not at the key or the CA")
            }
            guard let certificate = Certificate(der: block.der) else {
                throw CryptoError(
                    .unreadableCertificate, "could not parse certificate \(path): the CERTIFICATE block is not valid X.509",
                    fix: "re-export the certificate from your CA")
            }
            return certificate
        }
        guard let certificate = Certificate(der: data) else {
            throw CryptoError(
                .unreadableCertificate, "could not parse certificate \(path): neither PEM nor DER X.509",
                fix: "give the client certificate as PEM (-----BEGIN CERTIFICATE-----) or DER")
        }
        return certificate
    }

    /// Loads a bundle of intermediate CA certificates: every PEM block must be a `CERTIFICATE`.
    package static func loadBundle(path: String) throws -> [Certificate] {
        let data = try LocalFile.read(path, role: "intermediates bundle")
        guard data.looksLikePEM, let blocks = PEMBlock.parseAll(String(decoding: data, as: UTF8.self)) else {
            throw CryptoError(
                .invalidChain, "could not parse intermediates bundle \(path): not a PEM file",
                fix: "give the intermediate CA certificates as concatenated PEM CERTIFICATE blocks")
        }
        var certificates = [Certificate]()
        for (index, block) in blocks.enumerated() {
            guard block.label == "CERTIFICATE" else {
                throw CryptoError(
                    .invalidChain,
                    "invalid certificate chain \(path): block \(index + 1) is \(block.label), not CERTIFICATE",
                    fix: "keep only the intermediate CA certificates in this file")
            }
            guard let certificate = Certificate(der: block.der) else {
                throw CryptoError(
                    .invalidChain, "invalid certificate chain \(path): block \(index + 1) is not valid X.509")
            }
            certificates.append(certificate)
        }
        if certificates.isEmpty {
            throw CryptoError(
                .invalidChain, "invalid certificate chain \(path): no CERTIFICATE block",
                fix: "list the intermediate CA certificates, or drop the intermediates setting")
        }
        return certificates
    }
}
