/// A secret string whose textual forms never reveal it.
///
/// Interpolating a `RedactedString` into a log line or an error message prints `<redacted>`; the
/// value itself is only reachable through ``reveal()``, so every place that uses it is easy to find.
package struct RedactedString: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    package init(_ value: String) {
        self.value = value
    }

    /// The secret itself. Call it only where the value must leave the process on purpose.
    package func reveal() -> String { value }

    package var isEmpty: Bool { value.isEmpty }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}
