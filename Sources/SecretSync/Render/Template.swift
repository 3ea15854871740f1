/// A file template: text with `{{field}}` placeholders for fields of a JSON secret.
///
/// There is deliberately nothing else: no conditionals, no escaping rules, no functions. A field
/// that is missing is an error, never an empty string.
package struct Template: Sendable, Equatable {
    /// As root, a `template_file` must be root's: it decides what is written into secret files.
    static var fileTrust: PathTrust.Use? {
        PathTrust.rootConfiguration("template file", risk: "choose what secret-sync writes, and where a secret's values go")
    }

    package enum Segment: Sendable, Equatable {
        case text(String)
        case field(String)
    }

    package let segments: [Segment]

    package var fields: [String] {
        segments.compactMap { if case .field(let name) = $0 { return name } else { return nil } }
    }

    /// Parses `source`; the error names the offending placeholder's offset.
    package init(parsing source: String) throws(TemplateSyntaxError) {
        var segments = [Segment]()
        var rest = Substring(source)
        while let open = rest.firstRange(of: "{{") {
            if open.lowerBound > rest.startIndex { segments.append(.text(String(rest[..<open.lowerBound]))) }
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw TemplateSyntaxError(
                    message: "'{{' at offset \(source.distance(from: source.startIndex, to: open.lowerBound)) has no closing '}}'")
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmedSpaces
            guard !name.isEmpty, !name.contains("{"), !name.contains("\n") else {
                throw TemplateSyntaxError(message: "'{{\(rest[open.upperBound..<close.lowerBound])}}' is not a field name")
            }
            segments.append(.field(name))
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { segments.append(.text(String(rest))) }
        self.segments = segments
    }
}

package struct TemplateSyntaxError: Error, Sendable {
    package let message: String
}
