/// How one file's bytes are made from a secret.
package enum FileContent: Sendable, Equatable {
    /// The whole value byte for byte, or one field of a JSON secret.
    case raw(key: String?)
    /// The JSON object, checked, written as received.
    case json
    /// `NAME="value"` lines for every field, readable by a POSIX shell and systemd's `EnvironmentFile=`.
    case dotenv
    /// A `{{field}}` template, inline or read from a file at render time.
    case template(TemplateSource)
}

package enum TemplateSource: Sendable, Equatable {
    case inline(Template)
    case file(String)
}

/// A secret could not be turned into a file's content. Never carries a value.
package struct RenderError: DiagnosticError {
    package let message: String
    package let fix: String?
}

/// Pure functions from a value to file bytes.
enum Renderer {
    static func render(_ content: FileContent, _ value: ParsedValue) throws -> [UInt8] {
        switch content {
        case .raw(nil):
            return value.payload.bytes
        case .raw(let key?):
            return Array(try field(key, of: try object(value, for: "key: \(key)")).fieldText.utf8)
        case .json:
            _ = try object(value, for: "format: json")
            return value.payload.bytes
        case .dotenv:
            return Array(try dotenv(try object(value, for: "format: dotenv")).utf8)
        case .template(.inline(let template)):
            return Array(try fill(template, try object(value, for: "a template")).utf8)
        case .template(.file(let path)):
            let source = try LocalFile.read(path, role: "template file", trust: Template.fileTrust)
            guard let text = String(validating: source, as: UTF8.self) else {
                throw RenderError(message: "template file \(path) is not UTF-8 text", fix: "save the template as UTF-8")
            }
            let template: Template
            do {
                template = try Template(parsing: text)
            } catch {
                throw RenderError(message: "template file \(path): \(error.message)", fix: "write placeholders as {{field}}")
            }
            return Array(try fill(template, try object(value, for: "template_file \(path)")).utf8)
        }
    }

    static func object(_ value: ParsedValue, for use: String) throws -> JSONDocument {
        guard case .string = value.payload.kind else {
            throw RenderError(
                message: "\(use) needs a JSON SecretString, but the secret is binary (SecretBinary)",
                fix: "write the whole value (no key, format: raw), or store the secret as a JSON SecretString")
        }
        guard let object = value.object else {
            throw RenderError(
                message: "\(use) needs the secret to be a JSON object, and it is not",
                fix: "store the secret as a JSON object (key/value pairs in the console), or write the whole value with format: raw")
        }
        return object
    }

    static func field(_ name: String, of object: JSONDocument) throws -> JSONDocument {
        guard let value = object[name] else {
            throw RenderError(
                message: "field '\(name)' is missing from the secret (fields present: \(fieldNames(object)))",
                fix: "add the field to the secret, or correct the name in the manifest")
        }
        return value
    }

    static func fieldNames(_ object: JSONDocument) -> String {
        guard case .object(let members) = object, !members.isEmpty else { return "none" }
        return members.map(\.key).joined(separator: ", ")
    }

    static func fill(_ template: Template, _ object: JSONDocument) throws -> String {
        var out = ""
        for segment in template.segments {
            switch segment {
            case .text(let text): out += text
            case .field(let name): out += try field(name, of: object).fieldText
            }
        }
        return out
    }

    /// Environment variable names as POSIX shells and systemd accept them.
    package static func isValidEnvironmentName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    /// Double-quoted values with `\`, `"`, `$` and `` ` `` escaped: the four characters that both
    /// `sh` (inside double quotes) and systemd's `EnvironmentFile=` parser treat specially.
    static func dotenv(_ object: JSONDocument) throws -> String {
        guard case .object(let members) = object else { return "" }
        var lines = ""
        for (name, value) in members {
            guard isValidEnvironmentName(name) else {
                throw RenderError(
                    message: "field '\(name)' is not a valid environment variable name for format: dotenv",
                    fix: "rename the field to letters, digits and underscores (not starting with a digit), or use a template")
            }
            guard !ProtectedVariables.contains(name) else {
                throw RenderError(
                    message: "field '\(name)' would set \(name), which \(ProtectedVariables.reason(for: name)); refused for format: dotenv",
                    fix: "rename the field, or write the file with a template that names each variable")
            }
            let text = value.fieldText
            guard !text.unicodeScalars.contains("\0") else {
                throw RenderError(
                    message: "field '\(name)' contains a NUL character, which no environment variable can hold",
                    fix: "write this secret with format: raw or a template")
            }
            var quoted = "\""
            for character in text.unicodeScalars {
                switch character {
                case "\\", "\"", "$", "`": quoted += "\\" + String(character)
                default: quoted.unicodeScalars.append(character)
                }
            }
            lines += "\(name)=\(quoted)\"\n"
        }
        return lines
    }
}
