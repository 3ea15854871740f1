/// Everything wrong with a manifest, each problem at its file, line and column with a fix.
public struct ManifestError: DiagnosticError {
    public struct Problem: Sendable, CustomStringConvertible {
        public let location: SourceLocation
        public let message: String
        public let fix: String?
        public var description: String {
            "\(location): \(message.escapingControlCharacters)" + (fix.map { "\n  fix: \($0.escapingControlCharacters)" } ?? "")
        }
    }

    public let path: String
    public let problems: [Problem]

    public var message: String {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return "invalid manifest \(path) (\(count); nothing was changed)\n" + problems.map(\.description).joined(separator: "\n")
    }

    public var fix: String? { nil }
    public var isUsageError: Bool { true }
    /// One line per problem; each problem's own text is escaped.
    public var displayText: String { message }
}
