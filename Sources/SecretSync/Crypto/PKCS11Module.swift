import COpenSSL
import CPKCS11
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A loaded PKCS#11 module. Each module is opened and initialised once per process and kept: a
/// module cannot be safely finalised while another part of the process might use it, and loading
/// it again per signature would only cost time.
final class PKCS11Module: @unchecked Sendable {
    // @unchecked Sendable: the function list is immutable and the module is initialised with
    // CKF_OS_LOCKING_OK, so its functions may be called from any thread.
    let path: String
    /// The functions secret-sync calls, unwrapped once at load.
    let f: PKCS11Functions

    /// p11-kit's proxy, which reaches every module registered with p11-kit (Debian registers
    /// SoftHSM2 and OpenSC, for example), as RFC 7512 consumers do when no module is named.
    static let defaultModule = "p11-kit-proxy.so"

    // nonisolated(unsafe) is safe: `loaded` is only read or written while `lock` is held.
    nonisolated(unsafe) private static var loaded: [String: PKCS11Module] = [:]
    private static let lock = Lock()

    private init(path: String, functions: PKCS11Functions) {
        self.path = path
        self.f = functions
    }

    static func load(_ path: String?) throws -> PKCS11Module {
        let path = path ?? defaultModule
        return try lock.withLock {
            if let module = loaded[path] { return module }
            let module = try open(path)
            loaded[path] = module
            return module
        }
    }

    private static func open(_ path: String) throws -> PKCS11Module {
        if path.hasPrefix("/"), !FileManager.default.fileExists(atPath: path) {
            throw HardwareKeyError(
                .moduleUnavailable, "PKCS#11 module \(path) not found",
                fix:
                    "install the token's PKCS#11 module (SoftHSM2: apt install softhsm2; smart cards: opensc-pkcs11) or correct module-path in the URI"
            )
        }
        // A name without a `/` is found by the dynamic loader in the system's library directories.
        if path.contains("/"), let use = PathTrust.rootCode("PKCS#11 module"), let refusal = PathTrust.refusal(ofFile: path, for: use) {
            throw refusal
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            if path == defaultModule {
                throw HardwareKeyError(
                    .moduleUnavailable, "the PKCS#11 URI names no module-path and p11-kit's proxy module cannot be loaded (\(reason))",
                    fix:
                        "install p11-kit-modules, or name the token's module with module-path=/path/to/module.so in the URI (--pkcs11-lib for credential-process)"
                )
            }
            throw HardwareKeyError(
                .moduleUnavailable, "cannot load PKCS#11 module \(path): \(reason)",
                fix:
                    "check that \(path) is a PKCS#11 module built for this machine (\(machineArchitecture())) and that the libraries it needs are installed"
            )
        }
        guard cpkcs11_has_function_list(handle) != 0 else {
            dlclose(handle)
            throw HardwareKeyError(
                .moduleUnavailable, "\(path) is not a PKCS#11 module (it has no C_GetFunctionList)",
                fix: "module-path must name the token vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so")
        }
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        var rv = cpkcs11_get_function_list(handle, &list)
        guard rv == CKR_OK, let list else {
            throw HardwareKeyError(
                .moduleUnavailable, "PKCS#11 module \(path) failed C_GetFunctionList: \(PKCS11Error.name(rv))", fix: nil)
        }
        guard let initialize = list.pointee.C_Initialize, let functions = PKCS11Functions(list.pointee) else {
            throw HardwareKeyError(
                .moduleUnavailable, "PKCS#11 module \(path) lacks functions a signing client needs (its function list is incomplete)",
                fix: "use the token vendor's full PKCS#11 module")
        }
        var arguments = CK_C_INITIALIZE_ARGS()
        arguments.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        rv = withUnsafeMutablePointer(to: &arguments) { initialize(UnsafeMutableRawPointer($0)) }
        guard rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            throw HardwareKeyError(
                .moduleUnavailable, "PKCS#11 module \(path) failed to initialise: \(PKCS11Error.name(rv))",
                fix: path.contains("softhsm")
                    ? "check SOFTHSM2_CONF (or /etc/softhsm/softhsm2.conf) and that its tokendir is readable by \(LocalFile.currentUserDescription())"
                    : "check the module's own configuration and that \(LocalFile.currentUserDescription()) may use the device")
        }
        return PKCS11Module(path: path, functions: functions)
    }

    private static func machineArchitecture() -> String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
