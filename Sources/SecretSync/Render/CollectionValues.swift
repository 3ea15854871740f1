/// The values of a `path:` or `select:` entry as one pass fetched them, each under the rest of its name. The
/// names come from AWS and choose file names and variable names, so they are checked here before
/// either is made: every level a plain name (no `.`, `..` or empty level), none longer than a
/// file name may be, no two values under one name.
struct CollectionValues {
    struct Item {
        /// The name after the entry's path: `flags/new-ui`.
        let relativeName: String
        let version: StoredValue
    }

    let entry: ManifestEntry
    /// Sorted by relative name.
    let items: [Item]

    init(entry: ManifestEntry, versions: [StoredValue]) throws {
        self.entry = entry
        var items = [Item]()
        var seen = Set<String>()
        for version in versions {
            guard let relative = entry.source.relativeName(of: version.name) else {
                throw RenderError(
                    message: "\(entry.name): \(version.name.escapingControlCharacters) is not under \(entry.source.id)",
                    fix: "check the AWS_ENDPOINT_URL_* variables point at AWS itself")
            }
            let levels = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard levels.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.count <= AtomicFileWriter.nameLimit }),
                !relative.contains("\0")
            else {
                throw RenderError(
                    message:
                        "\(entry.name): parameter \(version.name.escapingControlCharacters) cannot name a file (an empty, '.' or '..' level, or a level over \(AtomicFileWriter.nameLimit) bytes)",
                    fix: "rename the parameter; nothing of this entry was written")
            }
            guard seen.insert(relative).inserted else {
                throw RenderError(
                    message: "\(entry.name): two values are named \(relative.escapingControlCharacters)",
                    fix: "check the AWS_ENDPOINT_URL_* variables point at AWS itself")
            }
            items.append(Item(relativeName: relative, version: version))
        }
        self.items = items.sorted { $0.relativeName < $1.relativeName }
    }

    /// What the state records as the entry's version, and what a change of triggers its hooks:
    /// the number of values and a digest of their names and versions (never of their values).
    var versionId: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a, 64 bits
        for item in items {
            for byte in item.relativeName.utf8 + [0] + item.version.versionId.utf8 + [0] {
                hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
            }
        }
        let digest = String(hash, radix: 16)
        return "\(items.count) value\(items.count == 1 ? "" : "s"), \(String(repeating: "0", count: 16 - digest.count) + digest)"
    }

    /// One file per value in the directory (none without `directory:`).
    var targets: [FileTarget] {
        guard let directory = entry.directory else { return [] }
        return items.map { item in
            FileTarget(
                path: directory.path + "/" + item.relativeName, bytes: item.version.payload.bytes, mode: directory.mode,
                uid: directory.owner?.id, gid: directory.group?.id)
        }
    }

    /// `PREFIX` + the relative name upper-cased, every character but letters, digits and `_` made
    /// `_`: `FLAG_NEW_UI` for `new-ui` under prefix `FLAG_`.
    static func variableName(prefix: String, relativeName: String) -> String {
        prefix
            + String(
                ProtectedVariables.asciiUppercased(relativeName).unicodeScalars.map { scalar -> Character in
                    (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))) || scalar == "_"
                        ? Character(scalar) : "_"
                })
    }

    /// The variables of the entry's `prefix:` entries, one per value.
    func variables() throws -> [EntryVariable] {
        var variables = [EntryVariable]()
        var origin = [String: String]()
        for case .prefix(let prefix) in entry.env {
            for item in items {
                let name = Self.variableName(prefix: prefix, relativeName: item.relativeName)
                func refuse(_ message: String, _ fix: String) -> RenderError {
                    RenderError(message: "\(entry.name): \(item.version.name.escapingControlCharacters) \(message)", fix: fix)
                }
                guard item.relativeName.unicodeScalars.allSatisfy(\.isASCII) else {
                    throw refuse(
                        "is not a portable name (only ASCII letters, digits and punctuation make variables)",
                        "rename it, or write it to a file with directory:")
                }
                guard !ProtectedVariables.contains(name) else {
                    throw refuse("would set \(name), which \(ProtectedVariables.reason(for: name)); refused", "use another prefix")
                }
                if let other = origin[name] {
                    throw refuse("and \(other.escapingControlCharacters) both make \(name)", "rename one of them")
                }
                origin[name] = item.version.name
                guard let text = String(validating: item.version.payload.bytes, as: UTF8.self), !text.unicodeScalars.contains("\0") else {
                    throw refuse("is not text an environment variable can hold (not UTF-8, or a NUL)", "write it to a file with directory:")
                }
                variables.append(.init(name: name, value: text, explicit: false, entry: entry.name))
            }
        }
        return variables
    }
}
