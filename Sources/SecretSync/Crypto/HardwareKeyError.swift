import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A failure to reach or use a key held in a TPM or a PKCS#11 token.
package struct HardwareKeyError: DiagnosticError {
    package enum Code: Sendable {
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

    package let code: Code
    package let message: String
    package let fix: String?
    package var isUsageError: Bool { code == .misconfigured }
    package var errorCode: String? { "\(code)" }

    init(_ code: Code, _ message: String, fix: String?) {
        self.code = code
        self.message = message
        self.fix = fix
    }
}
