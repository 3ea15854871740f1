/// A place in a YAML text, 1-based, as editors count.
public struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public var description: String { "\(line):\(column)" }
}

/// A YAML scalar as written: its text and how it was quoted. No type is ever guessed from it.
public struct YAMLScalar: Sendable {
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    public let string: String
    public let style: Style
    public let mark: YAMLMark
}

/// The node tree of one YAML document, with the mark where each node starts. Aliases are never
/// part of it: the reader refuses them.
public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)
    case sequence([YAMLNode], YAMLMark)

    public var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): return scalar.mark
        case .mapping(_, let mark), .sequence(_, let mark): return mark
        }
    }

    public var scalar: YAMLScalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }
}

/// Why a text is not a manifest-shaped YAML document.
public struct YAMLError: Error, Sendable {
    public enum Kind: Sendable { case syntax, duplicateKeys, alias, tooDeep, tooLarge, multipleDocuments }
    public let kind: Kind
    public let message: String
    public let mark: YAMLMark
}
