import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The INI dialect of the AWS shared files: `[section]`, `key = value`, `#` and `;` comments.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    init(_ text: String) {
        var current: String?
        var lastKey: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmedSpaces
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current else { continue }
            if raw.first == " " || raw.first == "\t", let lastKey {
                // A continuation line (nested values such as s3 settings): append.
                sections[current]?[lastKey, default: ""] += " " + line
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmedSpaces
            sections[current]?[key] = parts[1].trimmedSpaces
            lastKey = key
        }
    }
}
