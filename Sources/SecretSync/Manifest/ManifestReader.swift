import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Walks the YAML node tree. Scalars are read from their text as written, never through YAML's
/// own typing, so `0640`, `yes` or `1e3` cannot change meaning between YAML 1.1 and 1.2.
/// The manifest's sections are read by the extensions in ManifestReader+Auth and +Secrets.
struct ManifestReader {
    let path: String
    let accounts: any AccountDirectory
    let checkLocalFiles: Bool
    let resolveAccounts: Bool
    var problems: [ManifestError.Problem] = []
    /// The region of the Roles Anywhere setup, once it resolved: the last default for secrets.
    var rolesAnywhereRegion: String?

    init(path: String, accounts: any AccountDirectory, checkLocalFiles: Bool, resolveAccounts: Bool) {
        self.path = path
        self.accounts = accounts
        self.checkLocalFiles = checkLocalFiles
        self.resolveAccounts = resolveAccounts
    }

    // MARK: Problems

    func location(_ node: YAMLNode?) -> SourceLocation {
        SourceLocation(file: path, line: node?.mark.line ?? 1, column: node?.mark.column ?? 1)
    }

    mutating func report(_ node: YAMLNode?, _ keyPath: String, _ message: String, fix: String? = nil) {
        problems.append(.init(location: location(node), message: keyPath.isEmpty ? message : "\(keyPath): \(message)", fix: fix))
    }

    func problem(for error: YAMLError) -> ManifestError.Problem {
        let fix: String
        switch error.kind {
        case .syntax: fix = "check indentation and quoting around this place (tabs are not allowed for indentation)"
        case .duplicateKeys: fix = "keep each key once"
        case .alias: fix = "write the value out where it is needed; anchors and aliases are not supported"
        case .tooDeep, .tooLarge: fix = "a manifest is a few levels of keys and lists; check the file is the manifest"
        case .multipleDocuments: fix = "keep one document in the manifest file"
        }
        return .init(location: .init(file: path, line: error.mark.line, column: error.mark.column), message: error.message, fix: fix)
    }

    // MARK: Shapes

    /// The mapping's entries by key; unknown keys are reported with the closest known one.
    mutating func entries(_ node: YAMLNode, _ keyPath: String, allowed: [String]) -> [String: (key: YAMLNode, value: YAMLNode)]? {
        guard case .mapping(let mapping, _) = node else {
            report(node, keyPath, "expected a mapping of keys (\(allowed.joined(separator: ", "))), found \(kind(node))")
            return nil
        }
        var result = [String: (key: YAMLNode, value: YAMLNode)]()
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(key, keyPath, "keys must be plain words")
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                let suggestion = closest(name, in: allowed).map { "did you mean '\($0)'? " } ?? ""
                report(
                    key, join(keyPath, name), "unknown key",
                    fix: "\(suggestion)known keys here: \(allowed.joined(separator: ", "))")
                continue
            }
            result[name] = (key, value)
        }
        return result
    }

    /// The items of a list, each read by `read` with its key path (`files[0]`, ...); anything but
    /// a list is reported as `expected a list of WHAT`.
    mutating func list<T>(
        _ node: YAMLNode, _ keyPath: String, of what: String?, _ read: (inout ManifestReader, YAMLNode, String) -> T?
    ) -> [T] {
        guard case .sequence(let sequence, _) = node else {
            report(node, keyPath, "expected a list\(what.map { " of \($0)" } ?? ""), found \(kind(node))")
            return []
        }
        var items = [T]()
        for (index, item) in sequence.enumerated() {
            if let value = read(&self, item, "\(keyPath)[\(index)]") { items.append(value) }
        }
        return items
    }

    func kind(_ node: YAMLNode) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "an empty value" : "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    func join(_ keyPath: String, _ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

    mutating func string(_ node: YAMLNode, _ keyPath: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, keyPath, "expected a text value, found \(kind(node))")
            return nil
        }
        if scalar.style == .plain, scalar.string == "~" || scalar.string == "null" || (scalar.string.isEmpty && !allowEmpty) {
            report(node, keyPath, "a value is required here")
            return nil
        }
        return scalar.string
    }

    mutating func required(
        _ entries: [String: (key: YAMLNode, value: YAMLNode)], _ key: String, _ keyPath: String, parent: YAMLNode, fix: String? = nil
    ) -> YAMLNode? {
        guard let entry = entries[key] else {
            report(parent, keyPath, "missing required key '\(key)'", fix: fix)
            return nil
        }
        return entry.value
    }

    mutating func absolutePath(_ node: YAMLNode, _ keyPath: String) -> String? {
        guard let value = string(node, keyPath) else { return nil }
        guard value.hasPrefix("/") else {
            report(
                node, keyPath, "'\(value)' is a relative path",
                fix: "use an absolute path, e.g. /etc/myapp/\(PathWalker.split(value).name)")
            return nil
        }
        let components = value.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !components.contains(".."), !components.contains("."), !value.hasSuffix("/"), !value.contains("//") else {
            report(node, keyPath, "'\(value)' is not a normalised path", fix: "write it without '.', '..', '//' or a trailing '/'")
            return nil
        }
        guard !value.contains("\0") else {
            report(node, keyPath, "the path contains a NUL character")
            return nil
        }
        if let long = components.first(where: { $0.utf8.count > AtomicFileWriter.nameLimit }) {
            report(
                node, keyPath, "a file name is \(long.utf8.count) bytes long; at most \(AtomicFileWriter.nameLimit) are allowed",
                fix: "shorten it")
            return nil
        }
        guard value.utf8.count < Int(PATH_MAX) else {
            report(node, keyPath, "the path is \(value.utf8.count) bytes long; at most \(Int(PATH_MAX) - 1) are allowed", fix: "shorten it")
            return nil
        }
        return value
    }

    mutating func bool(_ node: YAMLNode, _ keyPath: String) -> Bool? {
        guard let value = string(node, keyPath) else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        default:
            report(node, keyPath, "'\(value)' is not true or false", fix: "write true or false")
            return nil
        }
    }

    /// `30s`, `5m`, `1h`, `1h30m`, `2d`, within `range`. A bare number is refused (its unit would
    /// be a guess), and so is `ms`: no manifest setting wants one, and `5ms` for `5m` is a typo.
    mutating func duration(_ node: YAMLNode, _ keyPath: String, within range: ClosedRange<TimeInterval>) -> TimeInterval? {
        guard let value = string(node, keyPath) else { return nil }
        switch DurationParser.parse(value, within: range, milliseconds: false) {
        case .valid(let seconds):
            return seconds
        case .malformed:
            report(
                node, keyPath, "'\(value)' is not a duration",
                fix: "write a number with a unit: 30s, 5m, 1h, 1h30m (a bare number has no unit)")
        case .outOfRange:
            report(node, keyPath, "'\(value)' is out of range", fix: "write a duration from \(DurationParser.describe(range))")
        }
        return nil
    }

    /// File modes are read from the text as written, as octal: `"0640"`, `0640` and `640` all mean
    /// rw-r-----. This sidesteps YAML 1.1 (octal) versus YAML 1.2 (decimal) for a bare `0640`.
    mutating func mode(_ node: YAMLNode, _ keyPath: String) -> UInt32? {
        guard let value = string(node, keyPath) else { return nil }
        let fix = "write 3 or 4 octal digits, quoted for clarity: mode: \"0640\""
        guard (3...4).contains(value.count), value.allSatisfy({ ("0"..."7").contains($0) }), let mode = UInt32(value, radix: 8) else {
            report(node, keyPath, "'\(value)' is not an octal file mode", fix: fix)
            return nil
        }
        guard mode & ~0o777 == 0 else {
            report(node, keyPath, "'\(value)' sets setuid, setgid or sticky bits, which a secret file never needs", fix: fix)
            return nil
        }
        guard mode & 0o444 != 0 else {
            report(
                node, keyPath, "'\(value)' lets nobody read the file", fix: "give its owner or group read access, e.g. \"0600\" or \"0640\""
            )
            return nil
        }
        return mode
    }

    mutating func account(_ node: YAMLNode, _ keyPath: String, group: Bool) -> Account? {
        guard let value = string(node, keyPath) else { return nil }
        // 4294967295 is (uid_t)-1, which chown(2) reads as "leave unchanged"; larger ones do not fit.
        if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }), UInt64(value).map({ $0 >= UInt64(UInt32.max) }) ?? true {
            report(
                node, keyPath, "'\(value)' cannot own a file: ids go up to 4294967294",
                fix: "name the \(group ? "group" : "user") or give its numeric id")
            return nil
        }
        if let account = group ? accounts.group(value) : accounts.user(value) { return account }
        if !resolveAccounts { return Account(name: value, id: UInt32.max) }
        report(
            node, keyPath, "unknown \(group ? "group" : "user") '\(value)' on this host",
            fix: group
                ? "create it first (groupadd --system \(value)), or name an existing group"
                : "create it first (useradd --system \(value)), or name an existing user")
        return nil
    }

    func closest(_ word: String, in candidates: [String]) -> String? {
        Suggestion.closest(to: word, among: candidates)
    }
}
