/// Everything wrong with a manifest, each problem at its file, line and column with a fix.
package struct ManifestError: DiagnosticError {
    package struct Problem: Sendable, CustomStringConvertible {
        package let location: SourceLocation
        package let message: String
        package let fix: String?
        package var description: String {
            "\(location): \(message.escapingControlCharacters)" + (fix.map { "\n  fix: \($0.escapingControlCharacters)" } ?? "")
        }
    }

    package let path: String
    package let problems: [Problem]

    package var message: String {
        let count = problems.count == 1 ? "1 problem" : "\(problems.count) problems"
        return "invalid manifest \(path) (\(count); nothing was changed)\n" + problems.map(\.description).joined(separator: "\n")
    }

    package var fix: String? { nil }
    package var isUsageError: Bool { true }
    /// One line per problem; each problem's own text is escaped.
    package var displayText: String { message }
}
