import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Where the certificate's private key lives, as written in `private_key:` or `--private-key`.
///
/// - a path: a PEM or DER key file, or a TSS2 PEM file (`-----BEGIN TSS2 PRIVATE KEY-----`),
///   which is a key wrapped by a TPM and usable only through that TPM;
/// - `pkcs11:…`: a key in a PKCS#11 token (RFC 7512 URI);
/// - `handle:0x81000001`: a key persisted in the TPM at that handle.
package enum KeySource: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case pkcs11(PKCS11URI)
    case tpmHandle(UInt32)

    /// Reads the setting. Paths are taken as given; the manifest checks they are absolute.
    package static func parse(_ text: String) throws -> KeySource {
        if text.lowercased().hasPrefix("pkcs11:") { return .pkcs11(try PKCS11URI.parse(text)) }
        if text.lowercased().hasPrefix("handle:") { return .tpmHandle(try parseHandle(text)) }
        return .file(text)
    }

    /// Persistent handles live in 0x81000000–0x81FFFFFF (TPM 2.0 Part 2, §7.4).
    static let persistentHandles: ClosedRange<UInt32> = 0x8100_0000...0x81FF_FFFF

    static func parseHandle(_ text: String) throws -> UInt32 {
        let body = text.dropFirst("handle:".count)
        let digits = body.lowercased().hasPrefix("0x") ? body.dropFirst(2) : body[...]
        guard !digits.isEmpty, digits.count <= 8, let value = UInt32(digits, radix: 16) else {
            throw KeySourceError(
                "'\(text)' is not a TPM handle",
                fix: "write the persistent handle in hexadecimal, e.g. handle:0x81000001 (`tpm2_getcap handles-persistent` lists them)")
        }
        guard persistentHandles.contains(value) else {
            throw KeySourceError(
                "'\(text)' is not a persistent TPM handle (they run from 0x81000000 to 0x81FFFFFF)",
                fix:
                    "persist the key with `tpm2_evictcontrol -C o -c KEY.ctx 0x81000001` and name that handle, or give the key's TSS2 PEM file instead"
            )
        }
        return value
    }

    /// True for a key that must be held by a device rather than read from a file, as far as the
    /// text tells (a TSS2 PEM file is only recognised when it is read).
    package var isHardware: Bool {
        if case .file = self { return false }
        return true
    }

    /// The path of a file key, for checks that only apply to files.
    package var filePath: String? {
        if case .file(let path) = self { return path }
        return nil
    }

    package var description: String {
        switch self {
        case .file(let path): return path
        case .pkcs11(let uri): return uri.description
        case .tpmHandle(let handle): return TPMKeyLoader.describe(handle: handle)
        }
    }
}

/// A `private_key:` / `--private-key` value that cannot name a key.
package struct KeySourceError: DiagnosticError {
    package let message: String
    package let fix: String?
    package var isUsageError: Bool { true }

    init(_ message: String, fix: String?) {
        self.message = message
        self.fix = fix
    }
}
