import CLinux
import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Opens TPM 2.0 keys through the tpm2-openssl provider: a TSS2 PEM key file
/// (`-----BEGIN TSS2 PRIVATE KEY-----`, made by `openssl genpkey -provider tpm2` or
/// `tpm2_encodeobject`) or a persistent handle.
///
/// The TPM is reached through `TPM2OPENSSL_TCTI` when set (e.g. `device:/dev/tpmrm0`,
/// `swtpm:host=127.0.0.1,port=2321`), else through the TSS library's default order
/// (`/dev/tpmrm0`, then `/dev/tpm0`, …).
package enum TPMKeyLoader {
    package enum Location: Sendable, Equatable {
        case file(String)
        case handle(UInt32)
    }

    static func describe(handle: UInt32) -> String { "handle:0x" + String(handle, radix: 16) }

    /// The TSS2 PEM block of a key file's contents, when it is a TPM key.
    static func tss2Block(in data: Data) -> PEMBlock? {
        guard data.looksLikePEM, String(decoding: data.prefix(4096), as: UTF8.self).contains("-----BEGIN TSS2 PRIVATE KEY-----") else {
            return nil
        }
        return PEMBlock.parseAll(String(decoding: data, as: UTF8.self))?.first { $0.label == "TSS2 PRIVATE KEY" }
    }

    /// Whether a TSS2 PEM key says it has an auth value: its `emptyAuth [0] EXPLICIT BOOLEAN`
    /// (TPM 2.0 Key File format) absent or FALSE. Nil when the block cannot be read that far.
    static func tss2KeyNeedsAuth(_ block: PEMBlock) -> Bool? {
        let der = [UInt8](block.der)
        // SEQUENCE { type OBJECT IDENTIFIER, emptyAuth [0] EXPLICIT BOOLEAN OPTIONAL, parent INTEGER, … }
        func length(at index: Int) -> (value: Int, next: Int)? {
            guard index < der.count else { return nil }
            let first = Int(der[index])
            if first < 0x80 { return (first, index + 1) }
            let count = first & 0x7F
            guard count > 0, count <= 3, index + count < der.count else { return nil }
            let value = der[(index + 1)...(index + count)].reduce(0) { $0 << 8 | Int($1) }
            return (value, index + 1 + count)
        }
        guard der.first == 0x30, let sequence = length(at: 1), sequence.next < der.count, der[sequence.next] == 0x06,
            let oid = length(at: sequence.next + 1)
        else { return nil }
        let afterOID = oid.next + oid.value
        guard afterOID < der.count else { return nil }
        guard der[afterOID] == 0xA0 else { return true }  // no emptyAuth: the key has an auth value
        guard let wrapper = length(at: afterOID + 1), wrapper.next + 2 < der.count, der[wrapper.next] == 0x01, der[wrapper.next + 1] == 0x01
        else { return nil }
        return der[wrapper.next + 2] == 0
    }

    static func label(_ location: Location) -> String {
        switch location {
        case .file(let path): return "TPM key \(path)"
        case .handle(let handle): return "TPM key \(describe(handle: handle))"
        }
    }

    package static func load(_ location: Location, authFile: String?, environment: [String: String]) throws -> PrivateKey {
        let label = label(location)
        let memoKey = "tpm " + label
        try AuthorizationFailures.check(key: memoKey, authFile: authFile)
        var auth: [UInt8]? = try authFile.map { try SecretFile.read($0, role: "TPM key auth value") }
        defer {
            if auth != nil {
                Wipe.bytes(&auth!)
            }
        }
        let log = TSSLog.shared
        let mark = log.mark()
        func detail() -> String? {
            let parts = [OpenSSLErrorQueue.drain(), log.errors(since: mark)].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: "; ")
        }

        let providers = try OpenSSLProviders(signingProperties: "provider=tpm2")
        OpenSSLErrorQueue.clear()
        guard providers.load("default"), providers.load("tpm2") else {
            throw providerFailure(detail: detail(), environment: environment, label: label)
        }

        let uri: String
        switch location {
        case .file(let path): uri = path
        // `?pass` makes the provider ask for the handle's auth value; without it, it uses none.
        case .handle(let handle): uri = describe(handle: handle) + (auth != nil ? "?pass" : "")
        }
        let loaded: OpaquePointer?
        if let authBytes = auth {
            var terminated = authBytes + [0]
            defer { Wipe.bytes(&terminated) }
            loaded = terminated.withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { passphrase in
                    copenssl_store_load_private_key(uri, providers.context, "?provider=tpm2", passphrase)
                }
            }
        } else {
            loaded = copenssl_store_load_private_key(uri, providers.context, "?provider=tpm2", nil)
        }
        guard let loaded else {
            throw loadFailure(detail: detail(), location: location, label: label, hasAuth: auth != nil)
        }
        let key = PrivateKey(
            pointer: loaded, label: label, providers: providers,
            explainSigningFailure: { openSSLDetail in
                let parts = [openSSLDetail, log.errors(since: mark)].compactMap { $0 }
                return signingFailure(
                    detail: parts.isEmpty ? nil : parts.joined(separator: "; "), label: label, memoKey: memoKey, authFile: authFile)
            })
        return try key.checkedSupported()
    }

    /// Why the provider would not load: tpm2-openssl missing, or no TPM behind the TCTI.
    static func providerFailure(detail: String?, environment: [String: String], label: String) -> HardwareKeyError {
        let text = detail ?? ""
        let modulePath = providerModulePath(environment: environment)
        if let modulePath, !FileManager.default.fileExists(atPath: modulePath) {
            return HardwareKeyError(
                .moduleUnavailable, "cannot use \(label): OpenSSL's tpm2 provider is not installed (\(modulePath) is missing)",
                fix: "install it (Debian/Ubuntu: apt install tpm2-openssl)")
        }
        let tcti = environment["TPM2OPENSSL_TCTI"]
        var message = "cannot use \(label): no TPM answered"
        var fix: String
        if let tcti {
            message += " at TPM2OPENSSL_TCTI=\(tcti)"
            fix =
                "check that the TPM (or swtpm) named by TPM2OPENSSL_TCTI is running and reachable, or unset TPM2OPENSSL_TCTI to use /dev/tpmrm0"
        } else {
            let devices = ["/dev/tpmrm0", "/dev/tpm0"]
            let present = devices.filter { FileManager.default.fileExists(atPath: $0) }
            if present.isEmpty {
                message += ": this machine has no TPM device (/dev/tpmrm0 and /dev/tpm0 are absent)"
                fix =
                    "enable the instance's TPM (EC2: NitroTPM, an AMI registered with --tpm-support v2.0 on a supported instance type), or keep the key in a file or a PKCS#11 token"
            } else if let denied = present.first(where: { access($0, R_OK | W_OK) != 0 }) {
                message += ": \(denied) is not accessible to \(LocalFile.currentUserDescription())"
                fix = "run secret-sync as a member of the device's group (usually tss: `usermod -aG tss USER`), or as root"
            } else {
                message += " on \(present.joined(separator: " or "))"
                fix =
                    "/dev/tpm0 admits one process at a time: use /dev/tpmrm0 (the kernel's resource manager) with TPM2OPENSSL_TCTI=device:/dev/tpmrm0, and check that no other program holds the TPM"
            }
        }
        if !text.isEmpty { message += " (OpenSSL: \(text))" }
        return HardwareKeyError(.deviceAbsent, message, fix: fix)
    }

    /// The path OpenSSL loads the tpm2 provider from, when it can be told.
    static func providerModulePath(environment: [String: String]) -> String? {
        if let directory = environment["OPENSSL_MODULES"], !directory.isEmpty {
            return directory + "/tpm2.so"
        }
        guard let directory = OPENSSL_info(OPENSSL_INFO_MODULES_DIR) else { return nil }
        return String(cString: directory) + "/tpm2.so"
    }

    static func loadFailure(detail: String?, location: Location, label: String, hasAuth: Bool) -> HardwareKeyError {
        let text = detail ?? ""
        let codes = responseCodes(text)
        if let busy = busyFailure(codes, text, label: label) { return busy }
        if codes.contains(0x921) { return lockout(text, label: label) }
        switch location {
        case .handle(let handle):
            if codes.contains(0x08B) || text.contains("handle is not correct") {
                return HardwareKeyError(
                    .keyNotFound, "no key is persisted in the TPM at \(describe(handle: handle))" + suffix(text),
                    fix:
                        "`tpm2_getcap handles-persistent` lists the persistent handles; persist a key with `tpm2_evictcontrol -C o -c KEY.ctx \(describe(handle: handle).dropFirst("handle:".count))`"
                )
            }
        case .file(let path):
            if codes.contains(0x09F) || text.contains("integrity") {
                return HardwareKeyError(
                    .keyNotFound, "TPM key \(path) was not made by this TPM (its blob fails the TPM's integrity check)" + suffix(text),
                    fix: "a TSS2 PEM key only works on the TPM that created it: create or import the key on this machine's TPM")
            }
        }
        return HardwareKeyError(
            .deviceError, "cannot load \(label)" + suffix(text),
            fix: "check the key with `openssl pkey -provider tpm2 -provider default -in KEY -noout` (for a handle: -in handle:0x…)")
    }

    static func signingFailure(detail: String?, label: String, memoKey: String, authFile: String?) -> any Error {
        let text = detail ?? ""
        let codes = responseCodes(text)
        if codes.contains(0x08E) || codes.contains(0x0A2) || text.contains("authorization HMAC check failed") {
            return AuthorizationFailures.record(
                key: memoKey, authFile: authFile,
                message: "the TPM refused the auth value for \(label)" + (authFile.map { " from \($0)" } ?? " (none was given)"),
                fix: authFile == nil
                    ? "the key has an auth value: put it in a file readable only by secret-sync's user and name it with tpm_auth_file: (--tpm-key-password-file)"
                    : "put the key's auth value in \(authFile!) (one trailing newline is ignored); each refusal counts toward the TPM's dictionary-attack lockout"
            )
        }
        if codes.contains(0x921) { return lockout(text, label: label) }
        if let busy = busyFailure(codes, text, label: label) { return busy }
        return HardwareKeyError(.deviceError, "the TPM could not sign with \(label)" + suffix(text), fix: nil)
    }

    static func lockout(_ text: String, label: String) -> HardwareKeyError {
        HardwareKeyError(
            .lockedOut, "the TPM is in dictionary-attack lockout and refuses \(label) (TPM_RC_LOCKOUT)" + suffix(text),
            fix:
                "fix the auth value first, then wait for the lockout to expire (`tpm2_getcap properties-variable` shows TPM2_PT_LOCKOUT_RECOVERY) or clear it with `tpm2_dictionarylockout -c` and the lockout auth"
        )
    }

    static func busyFailure(_ codes: Set<UInt32>, _ text: String, label: String) -> HardwareKeyError? {
        if codes.contains(0x902) || codes.contains(0x903) {
            let what = codes.contains(0x902) ? "object" : "session"
            return HardwareKeyError(
                .deviceBusy,
                "the TPM is busy: it has no free \(what) slot for \(label) (TPM_RC_\(what.uppercased())_MEMORY)" + suffix(text),
                fix:
                    "another program left \(what)s loaded in a TPM without a resource manager: use /dev/tpmrm0 (TPM2OPENSSL_TCTI=device:/dev/tpmrm0), or free them with `tpm2_flushcontext \(what == "object" ? "-t" : "-l")`"
            )
        }
        if !codes.isDisjoint(with: [0x922, 0x908, 0x90A]) || text.contains("Device or resource busy") {
            return HardwareKeyError(.deviceBusy, "the TPM is busy and could not serve \(label)" + suffix(text), fix: "try again shortly")
        }
        return nil
    }

    /// TPM response codes named in the OpenSSL and TSS text ("ErrorCode (0x0000098e)", tpm2-openssl's
    /// "2446 tpm:…"), reduced to their base codes: for format-one codes the parameter, handle or
    /// session number is dropped (0x98e, session 1's TPM_RC_AUTH_FAIL, becomes 0x08e).
    static func responseCodes(_ text: String) -> Set<UInt32> {
        var codes = Set<UInt32>()
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "0", index + 1 < scalars.count, scalars[index + 1] == "x" {
                var end = index + 2
                while end < scalars.count, scalars[end].properties.isASCIIHexDigit { end += 1 }
                if let value = UInt32(String(String.UnicodeScalarView(scalars[(index + 2)..<end])), radix: 16), end - index > 2 {
                    codes.insert(value)
                }
                index = end
                continue
            }
            index += 1
        }
        for match in text.split(whereSeparator: { $0 == "(" || $0 == ";" }) {
            let words = match.split(separator: " ")
            if words.count >= 2, words[1].hasPrefix("tpm:"), let value = UInt32(words[0]) { codes.insert(value) }
        }
        return Set(
            codes.filter { $0 != 0 && $0 < 0x1000 }.map { code -> UInt32 in
                code & 0x80 != 0 ? code & 0xBF : code
            })
    }

    private static func suffix(_ text: String) -> String { text.isEmpty ? "" : " (OpenSSL: \(text))" }
}
