import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The kind of an asymmetric key, for choosing the Roles Anywhere algorithm and for messages.
package enum KeyKind: Equatable, Sendable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(curve: String)
    case other(name: String)

    /// The one check of what IAM Roles Anywhere can use, for key files and token keys alike.
    func checkSupported(label: String, fix: String) throws {
        switch self {
        case .rsa(let bits) where bits >= 2048: return
        case .ec(let curve) where ["P-256", "P-384", "P-521"].contains(curve): return
        default:
            throw CryptoError(
                .unsupportedKey,
                "unsupported algorithm: \(label) is \(self); IAM Roles Anywhere needs RSA (2048 bits or more) or EC (P-256, P-384 or P-521)",
                fix: fix, openSSLDetail: nil)
        }
    }

    init(_ key: OpaquePointer) {
        let bits = Int(EVP_PKEY_get_bits(key))
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_RSA: self = .rsa(bits: bits)
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            if EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 {
                self = .ec(curve: Self.curveName(name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }))
            } else {
                self = .ec(curve: "unknown curve")
            }
        default:
            let type = EVP_PKEY_get0_type_name(key).map { String(cString: $0) } ?? "unknown"
            self = .other(name: type)
        }
    }

    private static func curveName(_ openSSLName: String) -> String {
        switch openSSLName {
        case "prime256v1", "P-256": return "P-256"
        case "secp384r1", "P-384": return "P-384"
        case "secp521r1", "P-521": return "P-521"
        default: return openSSLName
        }
    }

    package var description: String {
        switch self {
        case .rsa(let bits): return "RSA \(bits)"
        case .ec(let curve): return "EC \(curve)"
        case .other(let name): return name
        }
    }
}

/// A private key held as an OpenSSL `EVP_PKEY` and freed with it.
///
/// Loaded from PEM (PKCS#1 `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`) or DER;
/// or, for a TPM key, from the tpm2-openssl provider in a library context of its own
/// (``TPMKeyLoader``), which then also signs.
package final class PrivateKey: SigningKey {
    /// The `EVP_PKEY*`, lent out only inside ``withUnsafePointer(_:)``.
    private let pointer: OpaquePointer
    package let kind: KeyKind
    package let label: String
    /// The library context and providers a provider key belongs to; released after the key.
    private let providers: OpenSSLProviders?
    /// Explains a failed signature in the device's terms (a refused TPM auth value…).
    private let explainSigningFailure: ((String?) -> any Error)?

    init(
        pointer: OpaquePointer, label: String, providers: OpenSSLProviders? = nil,
        explainSigningFailure: ((String?) -> any Error)? = nil
    ) {
        self.pointer = pointer
        self.kind = KeyKind(pointer)
        self.label = label
        self.providers = providers
        self.explainSigningFailure = explainSigningFailure
    }

    // Safe: this object is the only owner of the EVP_PKEY it loaded. The key is freed before
    // `providers` (a stored property, released after deinit), as a provider key must be.
    deinit { EVP_PKEY_free(pointer) }

    package var isHardware: Bool { providers != nil }

    func withUnsafePointer<T>(_ body: (OpaquePointer) throws -> T) rethrows -> T {
        try body(pointer)
    }

    /// Signs `message` with SHA-256: RSA PKCS#1 v1.5, or ECDSA with a DER `SEQUENCE{r,s}`.
    package func signSHA256(_ message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else {
            throw CryptoError(.signingFailed, "could not allocate a signing context")
        }
        defer { EVP_MD_CTX_free(context) }
        OpenSSLErrorQueue.clear()
        func failure(_ what: String) -> any Error {
            let detail = OpenSSLErrorQueue.drain()
            if let explainSigningFailure { return explainSigningFailure(detail) }
            return CryptoError(.signingFailed, "\(what) with the \(kind) \(label)", openSSLDetail: detail)
        }
        // A provider key signs in its provider ("provider=tpm2"): with the default provider also
        // loaded, OpenSSL could otherwise pick a signer that cannot reach the key.
        guard EVP_DigestSignInit_ex(context, nil, "SHA256", providers?.context, providers?.signingProperties, pointer, nil) == 1 else {
            throw failure("could not start signing")
        }
        var length = 0
        guard EVP_DigestSign(context, nil, &length, message, message.count) == 1 else {
            throw failure("could not size the signature")
        }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(context, &signature, &length, message, message.count) == 1 else {
            throw failure("signing failed")
        }
        return Array(signature.prefix(length))
    }

    /// Loads a private key file. Encrypted keys are refused with an explanation rather than
    /// prompting, since secret-sync runs unattended.
    package static func load(path: String) throws -> PrivateKey {
        var data = try LocalFile.read(path, role: "private key")
        defer { data.resetBytes(in: 0..<data.count) }
        return try parse(data, path: path)
    }

    /// Parses the contents of key file `path` (named in errors); the caller wipes `data`.
    static func parse(_ data: Data, path: String) throws -> PrivateKey {
        OpenSSLErrorQueue.clear()
        if data.looksLikePEM {
            guard let blocks = PEMBlock.parseAll(String(decoding: data, as: UTF8.self)) else {
                throw CryptoError(
                    .unreadablePrivateKey, "unable to parse private key \(path): malformed PEM",
                    fix: "check the file was copied whole (-----BEGIN … PRIVATE KEY----- to -----END …-----)")
            }
            if blocks.contains(where: { $0.label == "ENCRYPTED PRIVATE KEY" || $0.headers["Proc-Type"]?.contains("ENCRYPTED") == true }) {
                throw CryptoError(
                    .encryptedPrivateKey, "private key \(path) is encrypted with a passphrase",
                    fix: "secret-sync runs unattended and needs an unencrypted key file readable only by its user: "
                        + "`openssl pkey -in \(path) -out NEW.key` (then chmod 0600 NEW.key), or keep the key in a TPM or PKCS#11 token",
                    openSSLDetail: nil)
            }
            let keyLabels: Set = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]
            guard let block = blocks.first(where: { keyLabels.contains($0.label) }) else {
                let found = blocks.map(\.label).joined(separator: ", ")
                throw CryptoError(
                    .unreadablePrivateKey,
                    "unable to parse private key \(path): no PRIVATE KEY block (found: \(found.isEmpty ? "none" : found))",
                    fix: "point the private key setting at the key that belongs to the certificate",
                    openSSLDetail: nil)
            }
            let loaded: OpaquePointer? = block.text.withCString { text in
                guard let bio = BIO_new_mem_buf(text, -1) else { return nil }
                defer { BIO_free(bio) }
                return copenssl_read_private_key(bio, nil)
            }
            guard let loaded else {
                throw CryptoError(
                    .unreadablePrivateKey, "unable to parse private key \(path): the \(block.label) block is not a valid key")
            }
            return try PrivateKey(pointer: loaded, label: "private key \(path)").checkedSupported()
        }
        let loaded: OpaquePointer? = data.withUnsafeBytes { raw in
            var cursor: UnsafePointer<UInt8>? = raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
            return d2i_AutoPrivateKey(nil, &cursor, raw.count)
        }
        guard let loaded else {
            throw CryptoError(
                .unreadablePrivateKey, "unable to parse private key \(path): neither PEM nor DER",
                fix: "give the key as PEM (PKCS#1, PKCS#8 or SEC1) or DER")
        }
        return try PrivateKey(pointer: loaded, label: "private key \(path)").checkedSupported()
    }

    /// Roles Anywhere signs with RSA or ECDSA over SHA-256; anything else is refused up front.
    func checkedSupported() throws -> PrivateKey {
        try kind.checkSupported(
            label: label,
            fix: "issue the client certificate for a supported key, e.g. `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`")
        return self
    }
}
