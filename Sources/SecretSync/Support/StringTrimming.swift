/// The few string operations the library needs that the standard library lacks, written here so
/// that FoundationEssentials is enough (Foundation's `CharacterSet` trimming is not part of it).
extension StringProtocol {
    /// Without leading and trailing white space (spaces, tabs, newlines).
    package var trimmed: String { trimming { $0.isWhitespace } }

    /// Without leading and trailing spaces and tabs (line breaks kept).
    package var trimmedSpaces: String { trimming { $0 == " " || $0 == "\t" } }

    /// One slice between the first and the last character that is not `blank`; nothing is copied
    /// character by character (PEM bundles trim every line, on every start).
    private func trimming(_ blank: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
