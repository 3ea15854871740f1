import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A private key that can sign a Roles Anywhere request, wherever it lives.
///
/// File keys and TPM keys are OpenSSL keys (``PrivateKey``; TPM keys through the tpm2-openssl
/// provider); PKCS#11 keys are signed with by the token itself (``PKCS11Key``). Either way the
/// answer is an RSA PKCS#1 v1.5 signature, or a DER `SEQUENCE{r,s}` for ECDSA, over SHA-256.
package protocol SigningKey: AnyObject {
    var kind: KeyKind { get }
    /// Names the key in messages: "private key /etc/ira/client.key", "TPM key handle 0x81000001"…
    var label: String { get }
    /// True when the key is held by a device, so possession is proven by signing rather than by
    /// comparing key material with the certificate.
    var isHardware: Bool { get }
    func signSHA256(_ message: [UInt8]) throws -> [UInt8]
}

/// Opens the key a ``KeySource`` names.
package enum SigningKeyLoader {
    /// - Parameters:
    ///   - tpmAuthFile: file holding the TPM key's auth value (`tpm_auth_file:`), if it has one.
    ///   - pkcs11Module: module for a PKCS#11 URI without `module-path` (`--pkcs11-lib`).
    package static func load(
        _ source: KeySource, tpmAuthFile: String? = nil, pkcs11Module: String? = nil, environment: [String: String]
    ) throws -> any SigningKey {
        switch source {
        case .file(let path):
            // Read once: the contents say whether this is a key file or a TPM key (TSS2 PEM).
            var data = try LocalFile.read(path, role: "private key")
            defer { data.resetBytes(in: 0..<data.count) }
            if let tss2 = TPMKeyLoader.tss2Block(in: data) {
                if tpmAuthFile == nil, TPMKeyLoader.tss2KeyNeedsAuth(tss2) == true {
                    // Caught before the TPM is touched: an attempt without it would count toward lockout.
                    throw HardwareKeyError(
                        .misconfigured, "TPM key \(path) has an auth value (its emptyAuth is false) and none was given",
                        fix:
                            "put the key's auth value in a file readable only by secret-sync's user and name it with tpm_auth_file: (--tpm-key-password-file)"
                    )
                }
                return try TPMKeyLoader.load(.file(path), authFile: tpmAuthFile, environment: environment)
            }
            if let tpmAuthFile {
                throw HardwareKeyError(
                    .misconfigured, "tpm_auth_file \(tpmAuthFile) is set, but private key \(path) is a key file, not a TPM key",
                    fix:
                        "remove tpm_auth_file (or --tpm-key-password-file), or point the private key at the TSS2 PEM file or handle:0x… of the TPM key"
                )
            }
            return try PrivateKey.parse(data, path: path)
        case .tpmHandle(let handle):
            return try TPMKeyLoader.load(.handle(handle), authFile: tpmAuthFile, environment: environment)
        case .pkcs11(let uri):
            if let tpmAuthFile {
                throw HardwareKeyError(
                    .misconfigured, "tpm_auth_file \(tpmAuthFile) is set, but the private key is in a PKCS#11 token",
                    fix: "remove tpm_auth_file; a token's PIN is named by pin-source=file:/path in the PKCS#11 URI")
            }
            return try PKCS11Key.open(uri, defaultModule: pkcs11Module)
        }
    }
}
