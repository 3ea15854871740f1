import Foundation

/// A private key that can sign a Roles Anywhere request, wherever it lives.
///
/// File keys and TPM keys are OpenSSL keys (``PrivateKey``; TPM keys through the tpm2-openssl
/// provider); PKCS#11 keys are signed with by the token itself (``PKCS11Key``). Either way the
/// answer is an RSA PKCS#1 v1.5 signature, or a DER `SEQUENCE{r,s}` for ECDSA, over SHA-256.
public protocol SigningKey: AnyObject {
    var kind: KeyKind { get }
    /// Names the key in messages: "private key /etc/ira/client.key", "TPM key handle 0x81000001"…
    var label: String { get }
    /// True when the key is held by a device, so possession is proven by signing rather than by
    /// comparing key material with the certificate.
    var isHardware: Bool { get }
    func signSHA256(_ message: [UInt8]) throws -> [UInt8]
}

/// Opens the key a ``KeySource`` names.
public enum SigningKeyLoader {
    /// - Parameters:
    ///   - tpmAuthFile: file holding the TPM key's auth value (`tpm_auth_file:`), if it has one.
    ///   - pkcs11Module: module for a PKCS#11 URI without `module-path` (`--pkcs11-lib`).
    public static func load(
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

/// A failure to reach or use a key held in a TPM or a PKCS#11 token.
public struct HardwareKeyError: DiagnosticError {
    public enum Code: Sendable {
        /// Settings that contradict each other (an auth file for a file key…).
        case misconfigured
        /// The PKCS#11 module or the tpm2-openssl provider could not be loaded.
        case moduleUnavailable
        /// No token matched, or no TPM answered.
        case deviceAbsent
        /// The device is there but cannot serve now (TPM out of object slots, retry codes).
        case deviceBusy
        /// The key was not found, or more than one matched.
        case keyNotFound
        /// The PIN or auth value was refused; it is not tried again until it changes.
        case authorizationFailed
        /// The device refuses authorizations (PIN locked, TPM in dictionary-attack lockout).
        case lockedOut
        /// Anything else the device reported.
        case deviceError
    }

    public let code: Code
    public let message: String
    public let fix: String?
    public var isUsageError: Bool { code == .misconfigured }

    init(_ code: Code, _ message: String, fix: String?) {
        self.code = code
        self.message = message
        self.fix = fix
    }
}

/// Remembers refused PINs and TPM auth values, so that no retry — by the CreateSession retry loop,
/// the daemon's next pass or its backoff — spends another of the device's few attempts on a secret
/// already known to be wrong. A key is tried again once its PIN or auth file changes (or after a
/// restart or a SIGHUP reload).
public enum AuthorizationFailures {
    struct Entry {
        let fileIdentity: String
        let error: HardwareKeyError
    }

    nonisolated(unsafe) private static var entries: [String: Entry] = [:]
    private static let lock = NSLock()

    /// Identifies the file's content without reading it: device, inode, size and change times.
    static func identity(of path: String?) -> String {
        guard let path else { return "no auth file" }
        var info = stat()
        guard stat(path, &info) == 0 else { return "unreadable \(errno)" }
        return
            "\(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec).\(info.st_ctim.tv_nsec)"
    }

    /// Throws the earlier refusal if `key` was refused with the file as it still is.
    static func check(key: String, authFile: String?) throws {
        let current = identity(of: authFile)
        let entry = lock.withLock { entries[key] }
        guard let entry, entry.fileIdentity == current else { return }
        throw entry.error
    }

    /// Records a refusal and returns the error to throw, which says it will not be retried.
    static func record(key: String, authFile: String?, message: String, fix: String) -> HardwareKeyError {
        let when = UTCTime.rfc3339(Date())
        let what = authFile.map { "until \($0) changes" } ?? "until the key's settings change"
        let error = HardwareKeyError(
            .authorizationFailed,
            "\(message) (at \(when); not tried again \(what) or secret-sync is restarted, so as not to lock the device)", fix: fix)
        let fileIdentity = identity(of: authFile)
        lock.withLock { entries[key] = Entry(fileIdentity: fileIdentity, error: error) }
        return error
    }

    /// Forgets every refusal (on a SIGHUP reload: the operator says the settings are fixed).
    public static func forget() { lock.withLock { entries.removeAll() } }
}

/// Overwrites secrets in memory before they are released.
enum Wipe {
    static func bytes(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            explicit_bzero(base, buffer.count)
        }
    }
}

/// Reads a PIN or auth value file: one trailing newline (`echo 1234 > pin`) is not part of it.
enum SecretFile {
    static func read(_ path: String, role: String) throws -> [UInt8] {
        var data = try LocalFile.read(path, role: role)
        defer { data.resetBytes(in: 0..<data.count) }
        var bytes = [UInt8](data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.isEmpty {
            throw HardwareKeyError(
                .misconfigured, "\(role) \(path) is empty", fix: "write the \(role) into the file (one trailing newline is ignored)")
        }
        if bytes.contains(0) {
            throw HardwareKeyError(
                .misconfigured, "\(role) \(path) contains a NUL byte", fix: "the file must hold the \(role) as text, nothing else")
        }
        return bytes
    }
}
