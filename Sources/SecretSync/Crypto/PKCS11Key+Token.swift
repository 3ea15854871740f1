import CPKCS11
import FoundationEssentials

/// Finding the token and the key, logging in, and reading attributes: the steps ``PKCS11Key/open(_:defaultModule:)`` takes.
extension PKCS11Key {

    /// The text fields of CK_TOKEN_INFO, unpadded.
    struct TokenDescription {
        let label: String
        let manufacturer: String
        let model: String
        let serial: String
        let flags: CK_FLAGS

        init(_ info: CK_TOKEN_INFO) {
            var info = info
            label = withUnsafeBytes(of: &info.label) { PKCS11Error.padded($0) }
            manufacturer = withUnsafeBytes(of: &info.manufacturerID) { PKCS11Error.padded($0) }
            model = withUnsafeBytes(of: &info.model) { PKCS11Error.padded($0) }
            serial = withUnsafeBytes(of: &info.serialNumber) { PKCS11Error.padded($0) }
            flags = info.flags
        }
    }

    static func findToken(_ uri: PKCS11URI, module: PKCS11Module) throws -> (CK_SLOT_ID, TokenDescription) {
        let f = module.f
        var info = CK_INFO()
        if f.C_GetInfo(&info) == CKR_OK {
            let manufacturer = withUnsafeBytes(of: &info.manufacturerID) { PKCS11Error.padded($0) }
            let description = withUnsafeBytes(of: &info.libraryDescription) { PKCS11Error.padded($0) }
            if let wanted = uri.libraryManufacturer, wanted != manufacturer {
                throw HardwareKeyError(
                    .deviceAbsent,
                    "PKCS#11 module \(module.path) is made by '\(manufacturer)', not '\(wanted)' (library-manufacturer in the URI)",
                    fix: "correct library-manufacturer, or module-path")
            }
            if let wanted = uri.libraryDescription, wanted != description {
                throw HardwareKeyError(
                    .deviceAbsent, "PKCS#11 module \(module.path) is '\(description)', not '\(wanted)' (library-description in the URI)",
                    fix: "correct library-description, or module-path")
            }
        }
        var count = CK_ULONG(0)
        var rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), nil, &count)
        guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot list the slots of \(module.path)") }
        var slots = [CK_SLOT_ID](repeating: 0, count: try Self.size(count, atMost: 4096, of: "a slot list"))
        rv = f.C_GetSlotList(CK_BBOOL(CK_TRUE), &slots, &count)
        guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot list the slots of \(module.path)") }
        slots = Array(slots.prefix(try Self.size(count, atMost: slots.count, of: "a slot list")))

        var present = [(CK_SLOT_ID, TokenDescription)]()
        var matching = [(CK_SLOT_ID, TokenDescription)]()
        for slot in slots {
            var tokenInfo = CK_TOKEN_INFO()
            guard f.C_GetTokenInfo(slot, &tokenInfo) == CKR_OK else { continue }
            let token = TokenDescription(tokenInfo)
            // SoftHSM2 and others show an empty, uninitialised token in a spare slot.
            guard token.flags & CK_FLAGS(CKF_TOKEN_INITIALIZED) != 0 else { continue }
            present.append((slot, token))
            var slotInfo = CK_SLOT_INFO()
            _ = f.C_GetSlotInfo(slot, &slotInfo)
            let slotDescription = withUnsafeBytes(of: &slotInfo.slotDescription) { PKCS11Error.padded($0) }
            let slotManufacturer = withUnsafeBytes(of: &slotInfo.manufacturerID) { PKCS11Error.padded($0) }
            if let wanted = uri.token, wanted != token.label { continue }
            if let wanted = uri.manufacturer, wanted != token.manufacturer { continue }
            if let wanted = uri.serial, wanted != token.serial { continue }
            if let wanted = uri.model, wanted != token.model { continue }
            if let wanted = uri.slotID, wanted != UInt(slot) { continue }
            if let wanted = uri.slotDescription, wanted != slotDescription { continue }
            if let wanted = uri.slotManufacturer, wanted != slotManufacturer { continue }
            matching.append((slot, token))
        }
        let listing = present.map { "'\($0.1.label)' (serial \($0.1.serial), slot \($0.0))" }.joined(separator: ", ")
        if matching.isEmpty {
            if present.isEmpty {
                throw HardwareKeyError(
                    .deviceAbsent,
                    "no PKCS#11 token is present in \(module.path) (\(slots.count) slot\(slots.count == 1 ? "" : "s") with a token, none initialised)",
                    fix: "insert the token (or, for SoftHSM2, check SOFTHSM2_CONF and its tokendir: `softhsm2-util --show-slots`)")
            }
            throw HardwareKeyError(
                .deviceAbsent,
                "no PKCS#11 token in \(module.path) matches \(uri.text.split(separator: "?").first ?? "") — present: \(listing)",
                fix: "correct token= (or serial=, slot-id=) in the URI; `p11tool --list-tokens` shows each token's URI")
        }
        if matching.count > 1 {
            throw HardwareKeyError(
                .keyNotFound, "\(matching.count) PKCS#11 tokens match \(uri.text): \(listing)",
                fix: "add token= or serial= to the URI to pick one")
        }
        return matching[0]
    }

    /// Logs in once, unless the token needs no login. Never retries a refused PIN.
    static func login(
        session: CK_SESSION_HANDLE, token: TokenDescription, tokenName: String, uri: PKCS11URI, module: PKCS11Module, memoKey: String,
        userType: CK_USER_TYPE
    ) throws -> Bool {
        let contextSpecific = userType == CK_USER_TYPE(CKU_CONTEXT_SPECIFIC)
        guard contextSpecific || token.flags & CK_FLAGS(CKF_LOGIN_REQUIRED) != 0 else { return false }
        if token.flags & CK_FLAGS(CKF_USER_PIN_LOCKED) != 0 {
            throw HardwareKeyError(
                .lockedOut, "the user PIN of \(tokenName) is locked after too many wrong PINs; secret-sync did not try it",
                fix:
                    "unlock it with the security officer PIN (e.g. `pkcs11-tool --init-pin --login --login-type so`), then fix the PIN file"
            )
        }
        if token.flags & CK_FLAGS(CKF_USER_PIN_FINAL_TRY) != 0 {
            throw HardwareKeyError(
                .lockedOut, "\(tokenName) has one PIN attempt left before it locks; secret-sync will not spend it unattended",
                fix: "check the PIN file, then log in once by hand (e.g. `pkcs11-tool --login --test`) to reset the counter")
        }
        let f = module.f
        guard let pinSource = uri.pinSource else {
            if token.flags & CK_FLAGS(CKF_PROTECTED_AUTHENTICATION_PATH) != 0 {
                let rv = f.C_Login(session, userType, nil, 0)
                guard rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN else {
                    throw PKCS11Error.device(rv, "login through the PIN pad of \(tokenName) failed")
                }
                return true
            }
            throw HardwareKeyError(
                .misconfigured, "\(tokenName) needs a PIN and the PKCS#11 URI names no pin-source",
                fix: "put the PIN in a file readable only by secret-sync's user (chmod 0400) and add ?pin-source=file:/path to the URI")
        }
        try AuthorizationFailures.check(key: memoKey, authFile: pinSource)
        var pin = try SecretFile.read(pinSource, role: "PIN")
        defer { Wipe.bytes(&pin) }
        let rv = f.C_Login(session, userType, &pin, CK_ULONG(pin.count))
        switch rv {
        case CKR_OK, CKR_USER_ALREADY_LOGGED_IN:
            return !contextSpecific && rv == CKR_OK
        case CKR_PIN_INCORRECT:
            throw AuthorizationFailures.record(
                key: memoKey, authFile: pinSource, message: "\(tokenName) refused the PIN in \(pinSource) (CKR_PIN_INCORRECT)",
                fix:
                    "write the token's user PIN into \(pinSource) (one trailing newline is ignored); every wrong attempt brings the token closer to locking"
            )
        case CKR_PIN_LOCKED:
            throw HardwareKeyError(
                .lockedOut, "the user PIN of \(tokenName) is locked (CKR_PIN_LOCKED)",
                fix: "unlock it with the security officer PIN, then fix \(pinSource)")
        case CKR_PIN_LEN_RANGE, CKR_PIN_INVALID:
            throw AuthorizationFailures.record(
                key: memoKey, authFile: pinSource,
                message: "\(tokenName) rejects the PIN in \(pinSource) as malformed (\(PKCS11Error.name(rv)))",
                fix: "the file must hold only the PIN (one trailing newline is ignored)")
        default:
            throw PKCS11Error.device(rv, "login to \(tokenName) failed")
        }
    }

    static func findKey(_ uri: PKCS11URI, session: CK_SESSION_HANDLE, module: PKCS11Module, tokenName: String) throws -> CK_OBJECT_HANDLE {
        var matches = try findObjects(session: session, module: module, label: uri.object, id: uri.id)
        if matches.isEmpty {
            let all = try findObjects(session: session, module: module, label: nil, id: nil)
            let names = all.map { handle -> String in
                let label = (try? attributeBytes(CK_ATTRIBUTE_TYPE(CKA_LABEL), object: handle, session: session, module: module))
                    .map { String(decoding: $0, as: UTF8.self) }
                let id = try? attributeBytes(CK_ATTRIBUTE_TYPE(CKA_ID), object: handle, session: session, module: module)
                return "object=\(label ?? "?");id=\(id.map(NumberText.percentEncoded) ?? "?")"
            }
            throw HardwareKeyError(
                .keyNotFound,
                "\(tokenName) holds no private key with \(uri.objectDescription)"
                    + (names.isEmpty
                        ? " (it holds no private key visible after login)" : " (its private keys: \(names.joined(separator: ", ")))"),
                fix: "correct object= or id= in the URI; `p11tool --list-privkeys --login` shows each key's URI")
        }
        if matches.count > 1 {
            throw HardwareKeyError(
                .keyNotFound, "\(matches.count) private keys in \(tokenName) match \(uri.objectDescription)",
                fix: "add id= (or a more exact object=) to the URI to pick one")
        }
        return matches.removeFirst()
    }

    static func findObjects(session: CK_SESSION_HANDLE, module: PKCS11Module, label: String?, id: [UInt8]?) throws -> [CK_OBJECT_HANDLE] {
        let f = module.f
        var keyClass = CK_OBJECT_CLASS(CKO_PRIVATE_KEY)
        var labelBytes = label.map { Array($0.utf8) } ?? []
        var idBytes = id ?? []
        var found = [CK_OBJECT_HANDLE]()
        try withUnsafeMutableBytes(of: &keyClass) { classBuffer in
            try labelBytes.withUnsafeMutableBytes { labelBuffer in
                try idBytes.withUnsafeMutableBytes { idBuffer in
                    var template = [
                        CK_ATTRIBUTE(
                            type: CK_ATTRIBUTE_TYPE(CKA_CLASS), pValue: classBuffer.baseAddress!, ulValueLen: CK_ULONG(classBuffer.count))
                    ]
                    if label != nil {
                        template.append(
                            CK_ATTRIBUTE(
                                type: CK_ATTRIBUTE_TYPE(CKA_LABEL), pValue: labelBuffer.baseAddress!,
                                ulValueLen: CK_ULONG(labelBuffer.count)))
                    }
                    if id != nil {
                        template.append(
                            CK_ATTRIBUTE(
                                type: CK_ATTRIBUTE_TYPE(CKA_ID), pValue: idBuffer.baseAddress!, ulValueLen: CK_ULONG(idBuffer.count)))
                    }
                    var rv = f.C_FindObjectsInit(session, &template, CK_ULONG(template.count))
                    guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot search the token for keys") }
                    defer { _ = f.C_FindObjectsFinal(session) }
                    var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 16)
                    while true {
                        var count = CK_ULONG(0)
                        rv = f.C_FindObjects(session, &batch, CK_ULONG(batch.count), &count)
                        guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot search the token for keys") }
                        if count == 0 { break }
                        found.append(contentsOf: batch.prefix(try size(count, atMost: batch.count, of: "a search result")))
                        guard found.count <= 4096 else { break }  // a module that never ends its search
                    }
                }
            }
        }
        return found
    }

    static func mechanismList(slot: CK_SLOT_ID, module: PKCS11Module) throws -> Set<CK_MECHANISM_TYPE> {
        let f = module.f
        var count = CK_ULONG(0)
        var rv = f.C_GetMechanismList(slot, nil, &count)
        guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot list the token's mechanisms") }
        var list = [CK_MECHANISM_TYPE](repeating: 0, count: try size(count, atMost: 4096, of: "a mechanism list"))
        rv = f.C_GetMechanismList(slot, &list, &count)
        guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot list the token's mechanisms") }
        return Set(list.prefix(try size(count, atMost: list.count, of: "a mechanism list")))
    }

    /// A length the module reported, as an Int no larger than `limit`: a module is C code we do
    /// not control, and a size beyond what the buffer or the object can be is refused, not trusted.
    static func size(_ value: CK_ULONG, atMost limit: Int, of what: String) throws -> Int {
        guard let size = Int(exactly: value), size <= limit else {
            throw PKCS11Error.device(CK_RV(CKR_GENERAL_ERROR), "the module reported an impossible size for \(what) (\(value))")
        }
        return size
    }

    /// CK_UNAVAILABLE_INFORMATION, ((CK_ULONG) -1): a cast macro Swift does not import.
    static let unavailableInformation = CK_ULONG.max

    static func attributeBytes(
        _ type: CK_ATTRIBUTE_TYPE, object: CK_OBJECT_HANDLE, session: CK_SESSION_HANDLE, module: PKCS11Module
    ) throws -> [UInt8] {
        let f = module.f
        var attribute = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
        var rv = f.C_GetAttributeValue(session, object, &attribute, 1)
        guard rv == CKR_OK, attribute.ulValueLen != unavailableInformation else {
            throw PKCS11Error.device(
                rv == CKR_OK ? CKR_ATTRIBUTE_TYPE_INVALID : rv, "cannot read attribute 0x\(String(type, radix: 16)) of the key")
        }
        var value = [UInt8](repeating: 0, count: try size(attribute.ulValueLen, atMost: 65536, of: "an attribute"))
        try value.withUnsafeMutableBytes { buffer in
            attribute.pValue = buffer.baseAddress
            rv = f.C_GetAttributeValue(session, object, &attribute, 1)
            guard rv == CKR_OK else { throw PKCS11Error.device(rv, "cannot read attribute 0x\(String(type, radix: 16)) of the key") }
        }
        return Array(value.prefix(try size(attribute.ulValueLen, atMost: value.count, of: "an attribute")))
    }

    static func attributeULong(_ type: CK_ATTRIBUTE_TYPE, object: CK_OBJECT_HANDLE, session: CK_SESSION_HANDLE, module: PKCS11Module) throws
        -> CK_ULONG
    {
        let bytes = try attributeBytes(type, object: object, session: session, module: module)
        guard bytes.count == MemoryLayout<CK_ULONG>.size else {
            throw PKCS11Error.device(
                CKR_ATTRIBUTE_VALUE_INVALID, "attribute 0x\(String(type, radix: 16)) of the key has an unexpected size")
        }
        return bytes.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
    }

    static func attributeBool(_ type: CK_ATTRIBUTE_TYPE, object: CK_OBJECT_HANDLE, session: CK_SESSION_HANDLE, module: PKCS11Module) throws
        -> Bool
    {
        let bytes = try attributeBytes(type, object: object, session: session, module: module)
        return bytes.first.map { $0 != 0 } ?? false
    }
}
