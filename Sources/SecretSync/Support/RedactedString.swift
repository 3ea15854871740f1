/// A secret string whose textual forms never reveal it.
///
/// Interpolating a `RedactedString` into a log line or an error message prints `<redacted>`; the
/// value itself is only reachable through ``reveal()``, so every place that uses it is easy to find.
public struct RedactedString: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    public init(_ value: String) {
        self.value = value
    }

    /// The secret itself. Call it only where the value must leave the process on purpose.
    public func reveal() -> String { value }

    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}
