import CYAML

/// Reads one YAML document into a ``YAMLNode`` tree through the system's libyaml (its event
/// parser), keeping each node's line and column. What a hostile manifest could do to a YAML
/// reader is refused with a clear error: aliases (no expansion at all), nesting deeper than
/// `maxDepth`, more than `maxNodes` nodes, duplicate keys in a mapping, and more than one document.
struct YAMLReader {
    static let maxDepth = 64
    static let maxNodes = 100_000

    /// The document's root, or nil for an empty text.
    static func read(_ text: String) throws -> YAMLNode? {
        let parser = YAMLParser(Array(text.utf8))
        var builder = Builder()
        while true {
            let event = try parser.next()
            defer { event.release() }
            if try builder.take(event) { break }
        }
        return builder.root
    }

    /// Turns the event stream into the tree.
    private struct Builder {
        enum Open {
            case mapping(YAMLMark, [YAMLNode])
            case sequence(YAMLMark, [YAMLNode])
        }
        var stack: [Open] = []
        var root: YAMLNode?
        var documents = 0
        var nodes = 0

        /// Adds one event; true at the end of the stream.
        mutating func take(_ event: YAMLParser.Event) throws -> Bool {
            let mark = event.mark
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw YAMLError(
                        kind: .multipleDocuments, message: "a second YAML document (after ---) in the manifest", mark: mark)
                }
            case YAML_ALIAS_EVENT:
                throw YAMLError(kind: .alias, message: "aliases (*name) are not allowed in a manifest", mark: mark)
            case YAML_SCALAR_EVENT:
                try add(.scalar(event.scalar), at: mark)
            case YAML_MAPPING_START_EVENT, YAML_SEQUENCE_START_EVENT:
                guard stack.count < YAMLReader.maxDepth else {
                    throw YAMLError(kind: .tooDeep, message: "nested deeper than \(YAMLReader.maxDepth) levels", mark: mark)
                }
                stack.append(event.type == YAML_MAPPING_START_EVENT ? .mapping(mark, []) : .sequence(mark, []))
            case YAML_MAPPING_END_EVENT, YAML_SEQUENCE_END_EVENT:
                guard let open = stack.popLast() else { return false }
                switch open {
                case .sequence(let start, let items):
                    try add(.sequence(items, start), at: start)
                case .mapping(let start, let items):
                    var pairs = [(key: YAMLNode, value: YAMLNode)]()
                    var seen = Set<String>()
                    var duplicates = [String]()
                    for index in stride(from: 0, to: items.count - 1, by: 2) {
                        if let key = items[index].scalar?.string, !seen.insert(key).inserted { duplicates.append(key) }
                        pairs.append((items[index], items[index + 1]))
                    }
                    if !duplicates.isEmpty {
                        throw YAMLError(
                            kind: .duplicateKeys,
                            message:
                                "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.joined(separator: ", ")) in the same mapping",
                            mark: start)
                    }
                    try add(.mapping(pairs, start), at: start)
                }
            default:
                break
            }
            return false
        }

        mutating func add(_ node: YAMLNode, at mark: YAMLMark) throws {
            nodes += 1
            guard nodes <= YAMLReader.maxNodes else {
                throw YAMLError(kind: .tooLarge, message: "more than \(YAMLReader.maxNodes) YAML nodes", mark: mark)
            }
            switch stack.popLast() {
            case .mapping(let start, var items)?:
                items.append(node)
                stack.append(.mapping(start, items))
            case .sequence(let start, var items)?:
                items.append(node)
                stack.append(.sequence(start, items))
            case nil:
                root = node
            }
        }
    }
}

/// The one owner of a libyaml parser and the input it reads; freed in `deinit`.
final class YAMLParser {
    private var parser = yaml_parser_t()
    private let input: UnsafeMutableBufferPointer<UInt8>

    init(_ bytes: [UInt8]) {
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        yaml_parser_initialize(&parser)
        yaml_parser_set_input_string(&parser, input.baseAddress, bytes.count)
    }

    // Safe: this object owns both the parser and the input buffer it points into.
    deinit {
        yaml_parser_delete(&parser)
        input.deallocate()
    }

    /// One event, owned by the caller until `release()`.
    final class Event {
        var raw = yaml_event_t()
        var type: yaml_event_type_t { raw.type }
        var mark: YAMLMark { YAMLMark(line: Int(raw.start_mark.line) + 1, column: Int(raw.start_mark.column) + 1) }

        var scalar: YAMLScalar {
            let data = raw.data.scalar
            let text = data.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(data.length)), as: UTF8.self) } ?? ""
            let style: YAMLScalar.Style
            switch data.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: style = .literal
            case YAML_FOLDED_SCALAR_STYLE: style = .folded
            default: style = .plain
            }
            return YAMLScalar(string: text, style: style, mark: mark)
        }

        func release() { yaml_event_delete(&raw) }
    }

    func next() throws -> Event {
        let event = Event()
        guard yaml_parser_parse(&parser, &event.raw) == 1 else { throw syntaxError() }
        return event
    }

    private func syntaxError() -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
        let mark = YAMLMark(line: Int(parser.problem_mark.line) + 1, column: Int(parser.problem_mark.column) + 1)
        var detail = ""
        if let context = parser.context.map({ String(cString: $0) }) {
            detail = "\(context) at \(Int(parser.context_mark.line) + 1):\(Int(parser.context_mark.column) + 1): "
        }
        return YAMLError(kind: .syntax, message: "YAML syntax: \(detail)\(problem)", mark: mark)
    }
}
