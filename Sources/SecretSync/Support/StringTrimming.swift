/// The few string operations the library needs that the standard library lacks, written here so
/// that FoundationEssentials is enough (Foundation's `CharacterSet` trimming is not part of it).
extension StringProtocol {
    /// Without leading and trailing white space (spaces, tabs, newlines).
    public var trimmed: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }

    /// Without leading and trailing spaces and tabs (line breaks kept).
    public var trimmedSpaces: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(self.drop(while: blank).reversed().drop(while: blank).reversed())
    }
}
