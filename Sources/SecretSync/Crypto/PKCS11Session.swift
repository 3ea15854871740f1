import COpenSSL
import CPKCS11
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A session with a token: its one owner, which logs out (when logged in) and closes it when the
/// last reference goes — whether the key was built or its lookup failed half-way.
final class PKCS11Session {
    let module: PKCS11Module
    let handle: CK_SESSION_HANDLE
    var loggedIn = false

    init(module: PKCS11Module, handle: CK_SESSION_HANDLE) {
        self.module = module
        self.handle = handle
    }

    // Safe: the handle belongs to this object alone, and nothing else closes it.
    deinit {
        if loggedIn { _ = module.f.C_Logout(handle) }
        _ = module.f.C_CloseSession(handle)
    }
}
