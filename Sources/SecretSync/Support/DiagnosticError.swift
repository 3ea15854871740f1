/// An error that a person can act on: what happened, why, and how to fix it.
///
/// Every error the library throws to the command line conforms; the executable prints
/// ``message`` and, when present, ``fix`` on its own line.
package protocol DiagnosticError: Error, CustomStringConvertible {
    /// What failed and why, naming the subject (a path, an ARN, a URL).
    var message: String { get }
    /// How to fix it, when there is a useful suggestion.
    var fix: String? { get }
    /// True when the input was wrong (a flag, a manifest value) rather than something at run
    /// time; the command line exits 2 for these and 1 for the rest.
    var isUsageError: Bool { get }
    /// The message and fix for a terminal or a log: control characters escaped, since messages
    /// carry text from the network (AWS error messages) and from secrets' names.
    var displayText: String { get }
    /// A stable, machine-readable code: AWS's error type, an errno name, a curl code, a
    /// PKCS#11 or TPM condition. Logged as the `code` field (`--log-format json`).
    var errorCode: String? { get }
    /// The error this one wraps, kept rather than flattened into text.
    var underlying: (any Error)? { get }
}

extension DiagnosticError {
    package var isUsageError: Bool { false }
    package var errorCode: String? { (underlying as? DiagnosticError)?.errorCode }
    package var underlying: (any Error)? { nil }

    package var description: String {
        if let fix { return "\(message)\nfix: \(fix)" }
        return message
    }

    package var displayText: String {
        message.escapingControlCharacters + (fix.map { "\nfix: " + $0.escapingControlCharacters } ?? "")
    }
}

extension Error {
    /// What to tell a person about this error: itself when it is a ``DiagnosticError``, else an
    /// ``UnexpectedError`` that keeps it. The one way any error becomes a message.
    package var diagnosis: any DiagnosticError {
        (self as? any DiagnosticError) ?? UnexpectedError(self)
    }
}

/// Wraps an error that did not come with a diagnosis (it should not happen; it must not be lost):
/// the error itself is kept as ``underlying``.
package struct UnexpectedError: DiagnosticError {
    package let message: String
    package var fix: String? { nil }
    package let underlying: (any Error)?
    package init(_ error: any Error) {
        message = "unexpected error: \(error)"
        underlying = error
    }
    package init(_ message: String) {
        self.message = "unexpected error: \(message)"
        underlying = nil
    }
}
