import COpenSSL
import CPKCS11
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// PKCS#11 return values in words.
enum PKCS11Error {
    static func device(_ rv: CK_RV, _ what: String) -> HardwareKeyError {
        switch rv {
        case CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_REMOVED, CKR_SLOT_ID_INVALID:
            return HardwareKeyError(.deviceAbsent, "\(what): the token was removed (\(name(rv)))", fix: "insert the token and try again")
        case CKR_DEVICE_MEMORY, CKR_HOST_MEMORY, CKR_SESSION_COUNT, CKR_FUNCTION_CANCELED:
            return HardwareKeyError(
                .deviceBusy, "\(what): the token is busy (\(name(rv)))", fix: "try again shortly; close other programs using the token")
        case CKR_KEY_FUNCTION_NOT_PERMITTED:
            return HardwareKeyError(
                .deviceError, "\(what): the key may not sign (\(name(rv)); CKA_SIGN is false)",
                fix: "use a key generated or imported with the sign usage")
        case CKR_USER_NOT_LOGGED_IN:
            return HardwareKeyError(
                .misconfigured, "\(what): the token wants a login first (\(name(rv)))", fix: "add ?pin-source=file:/path to the URI")
        default:
            return HardwareKeyError(.deviceError, "\(what) (\(name(rv)))", fix: nil)
        }
    }

    static let names: [CK_RV: String] = [
        CK_RV(CKR_OK): "CKR_OK", CK_RV(CKR_CANCEL): "CKR_CANCEL", CK_RV(CKR_HOST_MEMORY): "CKR_HOST_MEMORY",
        CK_RV(CKR_SLOT_ID_INVALID): "CKR_SLOT_ID_INVALID", CK_RV(CKR_GENERAL_ERROR): "CKR_GENERAL_ERROR",
        CK_RV(CKR_FUNCTION_FAILED): "CKR_FUNCTION_FAILED", CK_RV(CKR_ARGUMENTS_BAD): "CKR_ARGUMENTS_BAD",
        CK_RV(CKR_ATTRIBUTE_TYPE_INVALID): "CKR_ATTRIBUTE_TYPE_INVALID", CK_RV(CKR_ATTRIBUTE_VALUE_INVALID): "CKR_ATTRIBUTE_VALUE_INVALID",
        CK_RV(CKR_DEVICE_ERROR): "CKR_DEVICE_ERROR", CK_RV(CKR_DEVICE_MEMORY): "CKR_DEVICE_MEMORY",
        CK_RV(CKR_DEVICE_REMOVED): "CKR_DEVICE_REMOVED", CK_RV(CKR_FUNCTION_CANCELED): "CKR_FUNCTION_CANCELED",
        CK_RV(CKR_KEY_HANDLE_INVALID): "CKR_KEY_HANDLE_INVALID", CK_RV(CKR_KEY_TYPE_INCONSISTENT): "CKR_KEY_TYPE_INCONSISTENT",
        CK_RV(CKR_KEY_FUNCTION_NOT_PERMITTED): "CKR_KEY_FUNCTION_NOT_PERMITTED", CK_RV(CKR_MECHANISM_INVALID): "CKR_MECHANISM_INVALID",
        CK_RV(CKR_PIN_INCORRECT): "CKR_PIN_INCORRECT", CK_RV(CKR_PIN_INVALID): "CKR_PIN_INVALID",
        CK_RV(CKR_PIN_LEN_RANGE): "CKR_PIN_LEN_RANGE", CK_RV(CKR_PIN_EXPIRED): "CKR_PIN_EXPIRED", CK_RV(CKR_PIN_LOCKED): "CKR_PIN_LOCKED",
        CK_RV(CKR_SESSION_COUNT): "CKR_SESSION_COUNT", CK_RV(CKR_SESSION_HANDLE_INVALID): "CKR_SESSION_HANDLE_INVALID",
        CK_RV(CKR_TOKEN_NOT_PRESENT): "CKR_TOKEN_NOT_PRESENT", CK_RV(CKR_TOKEN_NOT_RECOGNIZED): "CKR_TOKEN_NOT_RECOGNIZED",
        CK_RV(CKR_USER_NOT_LOGGED_IN): "CKR_USER_NOT_LOGGED_IN", CK_RV(CKR_USER_PIN_NOT_INITIALIZED): "CKR_USER_PIN_NOT_INITIALIZED",
        CK_RV(CKR_CRYPTOKI_NOT_INITIALIZED): "CKR_CRYPTOKI_NOT_INITIALIZED",
        CK_RV(CKR_CRYPTOKI_ALREADY_INITIALIZED): "CKR_CRYPTOKI_ALREADY_INITIALIZED",
    ]

    static func name(_ rv: CK_RV) -> String { names[rv] ?? "CKR 0x\(String(rv, radix: 16))" }

    /// CK_*_INFO text fields are blank-padded UTF-8, not NUL-terminated.
    static func padded(_ bytes: UnsafeRawBufferPointer) -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\0" }
        return String(String(decoding: bytes, as: UTF8.self).drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
