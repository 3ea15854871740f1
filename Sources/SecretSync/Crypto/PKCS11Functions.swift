import CPKCS11

/// The functions of a module's `CK_FUNCTION_LIST` that secret-sync calls, unwrapped once when
/// the module loads: a module missing one is refused then, and no call site force-unwraps.
struct PKCS11Functions: @unchecked Sendable {
    // @unchecked Sendable: C function pointers, immutable; the module was initialised with
    // CKF_OS_LOCKING_OK, so they may be called from any thread.
    let C_GetInfo: CK_C_GetInfo
    let C_GetSlotList: CK_C_GetSlotList
    let C_GetSlotInfo: CK_C_GetSlotInfo
    let C_GetTokenInfo: CK_C_GetTokenInfo
    let C_GetMechanismList: CK_C_GetMechanismList
    let C_OpenSession: CK_C_OpenSession
    let C_CloseSession: CK_C_CloseSession
    let C_Login: CK_C_Login
    let C_Logout: CK_C_Logout
    let C_FindObjectsInit: CK_C_FindObjectsInit
    let C_FindObjects: CK_C_FindObjects
    let C_FindObjectsFinal: CK_C_FindObjectsFinal
    let C_GetAttributeValue: CK_C_GetAttributeValue
    let C_SignInit: CK_C_SignInit
    let C_Sign: CK_C_Sign

    /// nil when the list lacks one of the functions.
    init?(_ list: CK_FUNCTION_LIST) {
        guard let cGetInfo = list.C_GetInfo,
            let cGetSlotList = list.C_GetSlotList,
            let cGetSlotInfo = list.C_GetSlotInfo,
            let cGetTokenInfo = list.C_GetTokenInfo,
            let cGetMechanismList = list.C_GetMechanismList,
            let cOpenSession = list.C_OpenSession,
            let cCloseSession = list.C_CloseSession,
            let cLogin = list.C_Login,
            let cLogout = list.C_Logout,
            let cFindObjectsInit = list.C_FindObjectsInit,
            let cFindObjects = list.C_FindObjects,
            let cFindObjectsFinal = list.C_FindObjectsFinal,
            let cGetAttributeValue = list.C_GetAttributeValue,
            let cSignInit = list.C_SignInit,
            let cSign = list.C_Sign
        else { return nil }
        self.C_GetInfo = cGetInfo
        self.C_GetSlotList = cGetSlotList
        self.C_GetSlotInfo = cGetSlotInfo
        self.C_GetTokenInfo = cGetTokenInfo
        self.C_GetMechanismList = cGetMechanismList
        self.C_OpenSession = cOpenSession
        self.C_CloseSession = cCloseSession
        self.C_Login = cLogin
        self.C_Logout = cLogout
        self.C_FindObjectsInit = cFindObjectsInit
        self.C_FindObjects = cFindObjects
        self.C_FindObjectsFinal = cFindObjectsFinal
        self.C_GetAttributeValue = cGetAttributeValue
        self.C_SignInit = cSignInit
        self.C_Sign = cSign
    }
}
