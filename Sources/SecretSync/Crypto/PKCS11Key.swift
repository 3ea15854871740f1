import COpenSSL
import CPKCS11
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A private key in a PKCS#11 token, found by an RFC 7512 URI, with a logged-in session open
/// while this object lives. The token signs: RSA with `CKM_SHA256_RSA_PKCS` (or `CKM_RSA_PKCS`
/// over a DigestInfo), EC with `CKM_ECDSA` over a SHA-256 hash, its raw r‖s turned into DER.
///
/// The PIN is read from `pin-source`, used for exactly one `C_Login` and wiped; a refused PIN is
/// never retried until the file changes (``AuthorizationFailures``), and a token that reports its
/// PIN locked or on its final try is not logged into at all.
package final class PKCS11Key: SigningKey {
    package let kind: KeyKind
    package let label: String
    package var isHardware: Bool { true }

    private let module: PKCS11Module
    private let slot: CK_SLOT_ID
    /// The one owner of the session: it logs out and closes it when the key goes.
    private let owner: PKCS11Session
    private var session: CK_SESSION_HANDLE { owner.handle }
    private let object: CK_OBJECT_HANDLE
    private let mechanism: CK_MECHANISM_TYPE
    private let alwaysAuthenticate: Bool
    private let uri: PKCS11URI
    private let lock = Lock()

    private init(
        module: PKCS11Module, slot: CK_SLOT_ID, session: PKCS11Session, object: CK_OBJECT_HANDLE, kind: KeyKind, label: String,
        mechanism: CK_MECHANISM_TYPE, alwaysAuthenticate: Bool, uri: PKCS11URI
    ) {
        self.module = module
        self.slot = slot
        self.owner = session
        self.object = object
        self.kind = kind
        self.label = label
        self.mechanism = mechanism
        self.alwaysAuthenticate = alwaysAuthenticate
        self.uri = uri
    }

    /// Finds the token and the key and logs in. `defaultModule` stands in for a missing `module-path`.
    package static func open(_ uri: PKCS11URI, defaultModule: String? = nil) throws -> PKCS11Key {
        let memoKey = authorizationKey(uri)
        try AuthorizationFailures.check(key: memoKey, authFile: uri.pinSource)
        let module = try PKCS11Module.load(uri.modulePath ?? defaultModule)
        let f = module.f
        let (slot, token) = try findToken(uri, module: module)
        let tokenName = "token '\(token.label)' (slot \(slot) of \(module.path))"

        var session = CK_SESSION_HANDLE(0)
        let rv = f.C_OpenSession(slot, CK_FLAGS(CKF_SERIAL_SESSION), nil, nil, &session)
        guard rv == CKR_OK else {
            throw PKCS11Error.device(rv, "cannot open a session with \(tokenName)")
        }
        // From here on `owner` closes the session (after a logout) on every path out.
        let owner = PKCS11Session(module: module, handle: session)
        owner.loggedIn = try login(
            session: session, token: token, tokenName: tokenName, uri: uri, module: module, memoKey: memoKey,
            userType: CK_USER_TYPE(CKU_USER))

        let object = try findKey(uri, session: session, module: module, tokenName: tokenName)
        let keyType = try attributeULong(CK_ATTRIBUTE_TYPE(CKA_KEY_TYPE), object: object, session: session, module: module)
        let kind: KeyKind
        switch keyType {
        case CK_KEY_TYPE(CKK_RSA):
            let modulus = try attributeBytes(CK_ATTRIBUTE_TYPE(CKA_MODULUS), object: object, session: session, module: module)
            kind = .rsa(bits: (modulus.drop { $0 == 0 }.count) * 8)
        case CK_KEY_TYPE(CKK_EC):
            let parameters = try attributeBytes(CK_ATTRIBUTE_TYPE(CKA_EC_PARAMS), object: object, session: session, module: module)
            kind = .ec(curve: curveName(parameters))
        default:
            kind = .other(name: "PKCS#11 key type 0x\(String(keyType, radix: 16))")
        }
        let label = "PKCS#11 key \(uri.objectDescription) in \(tokenName)"
        try kind.checkSupported(label: label, fix: "generate an RSA 2048 or EC P-256 key in the token and issue the certificate for it")
        let mechanisms = try mechanismList(slot: slot, module: module)
        let mechanism: CK_MECHANISM_TYPE
        if case .rsa = kind {
            if mechanisms.contains(CK_MECHANISM_TYPE(CKM_SHA256_RSA_PKCS)) {
                mechanism = CK_MECHANISM_TYPE(CKM_SHA256_RSA_PKCS)
            } else if mechanisms.contains(CK_MECHANISM_TYPE(CKM_RSA_PKCS)) {
                mechanism = CK_MECHANISM_TYPE(CKM_RSA_PKCS)
            } else {
                throw HardwareKeyError(
                    .deviceError, "\(tokenName) offers neither CKM_SHA256_RSA_PKCS nor CKM_RSA_PKCS for RSA signatures",
                    fix: "IAM Roles Anywhere needs RSA PKCS#1 v1.5 signatures; use an EC key, or a token that signs RSA PKCS#1 v1.5")
            }
        } else {
            guard mechanisms.contains(CK_MECHANISM_TYPE(CKM_ECDSA)) else {
                throw HardwareKeyError(
                    .deviceError, "\(tokenName) does not offer CKM_ECDSA", fix: "use an RSA key, or a token that offers raw ECDSA")
            }
            mechanism = CK_MECHANISM_TYPE(CKM_ECDSA)
        }
        let always =
            (try? attributeBool(CK_ATTRIBUTE_TYPE(CKA_ALWAYS_AUTHENTICATE), object: object, session: session, module: module)) ?? false
        return PKCS11Key(
            module: module, slot: slot, session: owner, object: object, kind: kind, label: label, mechanism: mechanism,
            alwaysAuthenticate: always, uri: uri)
    }

    package func signSHA256(_ message: [UInt8]) throws -> [UInt8] {
        try lock.withLock {
            let f = module.f
            let digest = Digest.sha256(message)
            var input: [UInt8]
            switch mechanism {
            case CK_MECHANISM_TYPE(CKM_SHA256_RSA_PKCS): input = message
            case CK_MECHANISM_TYPE(CKM_RSA_PKCS): input = Self.sha256DigestInfoPrefix + digest
            default: input = digest
            }
            var mechanismValue = CK_MECHANISM(mechanism: mechanism, pParameter: nil, ulParameterLen: 0)
            var rv = f.C_SignInit(session, &mechanismValue, object)
            guard rv == CKR_OK else { throw PKCS11Error.device(rv, "the token refused to start signing with \(label)") }
            if alwaysAuthenticate {
                // The key asks for the PIN again for every signature (CKA_ALWAYS_AUTHENTICATE).
                var token = CK_TOKEN_INFO()
                _ = f.C_GetTokenInfo(slot, &token)
                _ = try Self.login(
                    session: session, token: TokenDescription(token), tokenName: label, uri: uri, module: module,
                    memoKey: Self.authorizationKey(uri), userType: CK_USER_TYPE(CKU_CONTEXT_SPECIFIC))
            }
            var length = CK_ULONG(0)
            rv = f.C_Sign(session, &input, CK_ULONG(input.count), nil, &length)
            guard rv == CKR_OK else { throw PKCS11Error.device(rv, "the token could not sign with \(label)") }
            var signature = [UInt8](repeating: 0, count: try Self.size(length, atMost: 1024, of: "a signature"))
            rv = f.C_Sign(session, &input, CK_ULONG(input.count), &signature, &length)
            guard rv == CKR_OK else { throw PKCS11Error.device(rv, "the token could not sign with \(label)") }
            signature = Array(signature.prefix(try Self.size(length, atMost: signature.count, of: "a signature")))
            if case .ec = kind { return try Self.derECDSA(signature, label: label) }
            return signature
        }
    }

    /// Names this key's PIN in ``AuthorizationFailures``.
    static func authorizationKey(_ uri: PKCS11URI) -> String { "pkcs11 " + uri.text }

    /// DigestInfo for SHA-256 (RFC 8017 §9.2), prepended to the hash for raw `CKM_RSA_PKCS`.
    static let sha256DigestInfoPrefix: [UInt8] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ]

    static func derECDSA(_ raw: [UInt8], label: String) throws -> [UInt8] {
        var der: UnsafeMutablePointer<UInt8>?
        let length = copenssl_ecdsa_raw_to_der(raw, raw.count, &der)
        guard length > 0, let der else {
            throw CryptoError(.signingFailed, "the token's ECDSA signature with \(label) is malformed (\(raw.count) bytes)")
        }
        defer { copenssl_free(der) }
        return Array(UnsafeBufferPointer(start: der, count: Int(length)))
    }

    static func curveName(_ parameters: [UInt8]) -> String {
        switch parameters {
        case [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]: return "P-256"
        case [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]: return "P-384"
        case [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]: return "P-521"
        default: return "curve with parameters \(parameters.lowercaseHex)"
        }
    }
}
