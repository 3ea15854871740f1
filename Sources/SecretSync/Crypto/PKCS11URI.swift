import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A PKCS#11 URI (RFC 7512) naming a private key in a token, e.g.
/// `pkcs11:token=ira;object=client-key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/ira/pin`.
///
/// Path attributes select the token (library, slot, token) and the object; query attributes say
/// which module to load and where the PIN is. A PIN written into the URI (`pin-value`) is refused:
/// the manifest and the command line are not places for secrets.
package struct PKCS11URI: Sendable, Equatable, CustomStringConvertible {
    /// Token selection: CK_TOKEN_INFO fields.
    package var token: String?
    package var manufacturer: String?
    package var serial: String?
    package var model: String?
    /// Slot selection: CK_SLOT_INFO fields and the slot ID.
    package var slotDescription: String?
    package var slotManufacturer: String?
    package var slotID: UInt?
    /// Module selection: CK_INFO fields.
    package var libraryManufacturer: String?
    package var libraryDescription: String?
    /// Object selection: CKA_LABEL, CKA_ID and the class (only `private` names a signing key).
    package var object: String?
    package var id: [UInt8]?
    package var type: String?
    /// The module to load; p11-kit's proxy when absent.
    package var modulePath: String?
    /// A file holding the PIN (`pin-source=file:/path` or `pin-source=/path`).
    package var pinSource: String?
    /// The text as written (it holds no PIN, so it can appear in messages).
    package let text: String

    static let pathAttributes: Set = [
        "token", "manufacturer", "serial", "model", "slot-description", "slot-manufacturer", "slot-id",
        "library-manufacturer", "library-description", "library-version", "object", "id", "type",
    ]
    static let queryAttributes: Set = ["module-path", "module-name", "pin-source", "pin-value"]

    package var description: String { text }

    /// The object part, for messages: `object=client-key;id=%01`.
    package var objectDescription: String {
        var parts = [String]()
        if let object { parts.append("object=\(object)") }
        if let id { parts.append("id=\(NumberText.percentEncoded(id))") }
        return parts.joined(separator: ";")
    }

    package static func parse(_ text: String) throws -> PKCS11URI {
        func invalid(_ what: String, fix: String? = nil) -> KeySourceError {
            KeySourceError(
                "invalid PKCS#11 URI '\(redacted(text))': \(what)",
                fix: fix
                    ?? "write it as pkcs11:token=LABEL;object=KEY-LABEL;type=private?module-path=/path/to/module.so&pin-source=file:/path/to/pin (RFC 7512; `p11tool --list-privkeys --login` prints the URIs of a token's keys)"
            )
        }
        guard text.lowercased().hasPrefix("pkcs11:") else { throw invalid("it must start with pkcs11:") }
        var uri = PKCS11URI(text: redacted(text))
        let body = text.dropFirst("pkcs11:".count)
        let pathPart: Substring
        let queryPart: Substring?
        if let mark = body.firstIndex(of: "?") {
            pathPart = body[..<mark]
            queryPart = body[body.index(after: mark)...]
        } else {
            pathPart = body
            queryPart = nil
        }
        if body.contains("#") { throw invalid("a fragment (#…) has no meaning here") }

        var seen = Set<String>()
        func attributes(_ part: Substring, separator: Character, allowed: Set<String>, where place: String) throws -> [(String, Substring)]
        {
            guard !part.isEmpty else { return [] }
            return try part.split(separator: separator, omittingEmptySubsequences: false).map { item in
                guard let equals = item.firstIndex(of: "=") else {
                    throw invalid("'\(item)' is not an attribute=value pair")
                }
                let name = item[..<equals].lowercased()
                let value = item[item.index(after: equals)...]
                if !allowed.contains(name) {
                    if name.hasPrefix("x-") { return (name, value) }
                    let elsewhere = allowed == pathAttributes ? queryAttributes : pathAttributes
                    if elsewhere.contains(name) {
                        throw invalid(
                            "'\(name)' belongs in the \(allowed == pathAttributes ? "query (after ?, joined with &)" : "path (before ?, joined with ;)"), not the \(place)"
                        )
                    }
                    let known = (pathAttributes.union(queryAttributes)).sorted()
                    let suggestion = Suggestion.closest(to: name, among: known).map { "; did you mean '\($0)'?" } ?? ""
                    throw invalid("unknown attribute '\(name)' in the \(place)\(suggestion)")
                }
                guard seen.insert(name).inserted else { throw invalid("'\(name)' is given twice") }
                return (name, value)
            }
        }

        for (name, raw) in try attributes(pathPart, separator: ";", allowed: pathAttributes, where: "path") {
            let bytes = try percentDecode(raw, invalid)
            let string = String(decoding: bytes, as: UTF8.self)
            switch name {
            case "token": uri.token = string
            case "manufacturer": uri.manufacturer = string
            case "serial": uri.serial = string
            case "model": uri.model = string
            case "slot-description": uri.slotDescription = string
            case "slot-manufacturer": uri.slotManufacturer = string
            case "slot-id":
                guard let value = UInt(string) else { throw invalid("slot-id '\(string)' is not a decimal number") }
                uri.slotID = value
            case "library-manufacturer": uri.libraryManufacturer = string
            case "library-description": uri.libraryDescription = string
            case "object":
                guard !string.isEmpty else { throw invalid("object is empty") }
                uri.object = string
            case "id":
                guard !bytes.isEmpty else { throw invalid("id is empty") }
                uri.id = bytes
            case "type":
                guard string == "private" else {
                    throw invalid(
                        "type=\(string) does not name a private key",
                        fix: "use type=private (or leave type out): the key that signs must be the certificate's private key")
                }
                uri.type = string
            default: break  // library-version and x- attributes select nothing we need
            }
        }
        if let queryPart {
            for (name, raw) in try attributes(queryPart, separator: "&", allowed: queryAttributes, where: "query") {
                // A PIN is refused before it is decoded: no message may echo any part of it.
                let string = name == "pin-value" ? "" : String(decoding: try percentDecode(raw, invalid), as: UTF8.self)
                switch name {
                case "module-path":
                    guard string.hasPrefix("/") else {
                        throw invalid(
                            "module-path '\(string)' is not an absolute path",
                            fix: "give the module's full path, e.g. module-path=/usr/lib/softhsm/libsofthsm2.so")
                    }
                    uri.modulePath = string
                case "module-name":
                    throw invalid(
                        "module-name is not supported",
                        fix:
                            "give the module's full path with module-path=, or leave both out to use p11-kit's proxy, which reaches every module registered with p11-kit"
                    )
                case "pin-value":
                    throw invalid(
                        "the PIN is written into the URI (pin-value)",
                        fix:
                            "put the PIN in a file only secret-sync's user can read (chmod 0400) and name it with pin-source=file:/etc/secret-sync/token.pin"
                    )
                case "pin-source":
                    let path = string.hasPrefix("file:") ? String(string.dropFirst("file:".count)) : string
                    guard path.hasPrefix("/") else {
                        throw invalid(
                            "pin-source '\(string)' is not an absolute file path",
                            fix: "write pin-source=file:/absolute/path (the file holds the PIN; one trailing newline is ignored)")
                    }
                    uri.pinSource = path
                default: break
                }
            }
        }
        if uri.object == nil, uri.id == nil {
            throw invalid(
                "it names no key: give object= (the key's label) or id=",
                fix: "add object=LABEL or id=%01 to the path; `p11tool --list-privkeys --login URI-OF-TOKEN` lists the keys")
        }
        return uri
    }

    /// The text with every `pin-value` replaced, so that an error about the URI never repeats a PIN.
    static func redacted(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let marker = Array("pin-value=".utf8)
        var result = [UInt8]()
        var index = 0
        while index < bytes.count {
            let window = bytes[index..<min(bytes.count, index + marker.count)].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
            guard window == marker else {
                result.append(bytes[index])
                index += 1
                continue
            }
            result += bytes[index..<index + marker.count] + Array("REDACTED".utf8)
            index += marker.count
            while index < bytes.count, bytes[index] != UInt8(ascii: "&"), bytes[index] != UInt8(ascii: ";") { index += 1 }
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func percentDecode(_ text: Substring, _ invalid: (String, String?) -> KeySourceError) throws -> [UInt8] {
        guard let bytes = PercentEncoding.decodeBytes(text) else {
            throw invalid("'\(text)' has a % not followed by two hex digits", nil)
        }
        return bytes
    }

    private init(text: String) { self.text = text }
}
