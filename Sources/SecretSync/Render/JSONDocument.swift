/// A JSON value that keeps each number's original text, so that a field written on its own
/// (`key: port`) is exactly what the secret holds (`5432`, `1.50`, `1e3`), never a reformatting.
package indirect enum JSONDocument: Equatable, Sendable {
    case object([(key: String, value: JSONDocument)])
    case array([JSONDocument])
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    /// A string member named in `parse(_:sensitive:)`, decoded straight from the input bytes into
    /// a zeroing payload, never into a Swift `String`. It prints as `"<redacted>"`.
    case sensitive(ValuePayload)
    /// A string member named in `parse(_:sensitive:)` that is well-formed JSON but not Unicode
    /// (a lone UTF-16 surrogate, invalid UTF-8), with why: one such value fails alone, never the
    /// answer it came in with its batch mates. Its content is not kept.
    case undecodable(String)

    package static func == (lhs: JSONDocument, rhs: JSONDocument) -> Bool {
        if case .sensitive(let a) = lhs, case .sensitive(let b) = rhs { return a.bytes == b.bytes }
        return lhs.text == rhs.text
    }

    /// The text of a string value; nil for anything else.
    package var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The elements of an array; nil for anything else.
    package var array: [JSONDocument]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// A number written as a whole number that fits an Int; nil for anything else.
    package var integer: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }

    /// The value of `key` in an object, the key compared as written (byte for byte: `cafe\u{301}`
    /// is not `caf\u{e9}`, though Swift's `==` calls them equal). A parsed object holds each key
    /// once (the last value of a duplicate, as jq and Python read it).
    package subscript(key: String) -> JSONDocument? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    /// Compact JSON text; object members keep their order.
    package var text: String {
        switch self {
        case .object(let members):
            return "{" + members.map { JSONText.quote($0.key) + ":" + $0.value.text }.joined(separator: ",") + "}"
        case .array(let elements): return "[" + elements.map(\.text).joined(separator: ",") + "]"
        case .string(let value): return JSONText.quote(value)
        case .number(let raw): return raw
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .sensitive: return "\"<redacted>\""
        case .undecodable: return "\"<undecodable>\""
        }
    }

    /// The value as a field is written on its own: a string's characters, anything else its JSON text.
    package var fieldText: String {
        if case .string(let value) = self { return value }
        return text
    }

    /// Parses JSON text (RFC 8259). Returns nil for anything that is not exactly one JSON value.
    /// String members whose key is in `sensitive` become ``sensitive(_:)`` payloads.
    package static func parse(_ bytes: [UInt8], sensitive: Set<String> = []) -> JSONDocument? {
        var parser = Parser(bytes: bytes, sensitive: sensitive)
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipWhitespace()
        return parser.index == bytes.count ? value : nil
    }

    private struct Parser {
        let bytes: [UInt8]
        let sensitive: Set<String>
        var index = 0
        static let maxDepth = 64

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) -> JSONDocument? {
            guard depth < Self.maxDepth else { return nil }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""): return string().map(JSONDocument.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default: return number()
            }
        }

        mutating func literal(_ word: String, _ result: JSONDocument) -> JSONDocument? {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<index + utf8.count]) == utf8 else { return nil }
            index += utf8.count
            return result
        }

        mutating func object(depth: Int) -> JSONDocument? {
            index += 1
            var members = [(key: String, value: JSONDocument)]()
            // A duplicate key keeps its first place and takes its last value, as jq and Python do,
            // so that every reader of the object (key:, dotenv, templates, env) sees one value.
            var positions = [[UInt8]: Int]()
            func add(_ key: String, _ value: JSONDocument) {
                let bytes = Array(key.utf8)
                if let position = positions[bytes] {
                    members[position].value = value
                } else {
                    positions[bytes] = members.count
                    members.append((key, value))
                }
            }
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
                index += 1
                skipWhitespace()
                if sensitive.contains(key), index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                    guard var scanned = scanString() else { return nil }
                    if let problem = scanned.problem {
                        Wipe.bytes(&scanned.bytes)
                        add(key, .undecodable(problem))
                    } else {
                        add(key, .sensitive(ValuePayload(kind: .string, bytes: scanned.bytes)))
                    }
                } else {
                    guard let value = value(depth: depth + 1) else { return nil }
                    add(key, value)
                }
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "}") else { return nil }
                index += 1
                return .object(members)
            }
        }

        mutating func array(depth: Int) -> JSONDocument? {
            index += 1
            var elements = [JSONDocument]()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            while true {
                guard let element = value(depth: depth + 1) else { return nil }
                elements.append(element)
                skipWhitespace()
                guard index < bytes.count else { return nil }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                guard bytes[index] == UInt8(ascii: "]") else { return nil }
                index += 1
                return .array(elements)
            }
        }

        mutating func number() -> JSONDocument? {
            let start = index
            func digits() -> Int {
                let from = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
                return index - from
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
            let integerStart = index
            let integerDigits = digits()
            guard integerDigits > 0 else { return nil }
            if integerDigits > 1, bytes[integerStart] == 0x30 { return nil }  // no leading zeros
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { return nil }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { return nil }
            }
            return .number(String(decoding: bytes[start..<index], as: UTF8.self))
        }

        mutating func string() -> String? {
            stringBytes().map { String(decoding: $0, as: UTF8.self) }
        }

        /// A JSON string's content as UTF-8 bytes, escapes decoded, without making a `String` on
        /// the way (so a secret's text can go straight into a zeroing payload). Invalid UTF-8 and
        /// unescaped control characters are refused, never replaced: a secret must not be altered.
        mutating func stringBytes() -> [UInt8]? {
            guard let scanned = scanString(), scanned.problem == nil else { return nil }
            return scanned.bytes
        }

        /// A scanned string: its bytes, and why they are not Unicode (nil when they are).
        struct Scanned {
            var bytes: [UInt8]
            var problem: String?
        }

        /// Scans a string to its closing quote. Nil when it is not JSON (a bad escape, a raw
        /// control character, no end); a string that is JSON but not Unicode says why instead.
        mutating func scanString() -> Scanned? {
            index += 1
            var out = [UInt8]()
            var problem: String?
            // Room for the rest of the input at once: growing by reallocation would leave partial
            // copies of a secret behind in freed memory.
            out.reserveCapacity(bytes.count - index)
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    if problem == nil, !Self.isUTF8(out) { problem = "it is not valid UTF-8" }
                    return Scanned(bytes: out, problem: problem)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { return nil }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(code) {
                            let mark = index
                            if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") {
                                index += 2
                                if let low = hex4(), (0xDC00...0xDFFF).contains(low) {
                                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                                } else {
                                    index = mark  // the next escape is read on its own
                                }
                            }
                        }
                        guard let scalar = Unicode.Scalar(code) else {
                            problem = problem ?? "it holds a lone UTF-16 surrogate (\\u\(String(code, radix: 16, uppercase: true)))"
                            continue
                        }
                        UTF8.encode(scalar) { out.append($0) }
                    default: return nil
                    }
                case 0x00..<0x20: return nil  // control characters must be escaped
                default:
                    out.append(byte)
                    index += 1
                }
            }
            return nil
        }

        /// UTF-8 validity, checked without building a `String`.
        static func isUTF8(_ bytes: [UInt8]) -> Bool {
            var iterator = bytes.makeIterator()
            var parser = Unicode.UTF8.ForwardParser()
            while true {
                switch parser.parseScalar(from: &iterator) {
                case .valid: continue
                case .emptyInput: return true
                case .error: return false
                }
            }
        }

        mutating func hex4() -> UInt32? {
            let isHex: (UInt8) -> Bool = { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
            guard index + 4 <= bytes.count, bytes[index..<index + 4].allSatisfy(isHex),
                let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
            else { return nil }
            index += 4
            return value
        }
    }
}
