/// A place in a YAML text, 1-based, as editors count.
package struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    package let line: Int
    package let column: Int
    package var description: String { "\(line):\(column)" }
}

/// A YAML scalar as written: its text and how it was quoted. No type is ever guessed from it.
package struct YAMLScalar: Sendable {
    package enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }
    package let string: String
    package let style: Style
    package let mark: YAMLMark
}

/// The node tree of one YAML document, with the mark where each node starts. Aliases are never
/// part of it: the reader refuses them.
package indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case mapping([(key: YAMLNode, value: YAMLNode)], YAMLMark)
    case sequence([YAMLNode], YAMLMark)

    package var mark: YAMLMark {
        switch self {
        case .scalar(let scalar): return scalar.mark
        case .mapping(_, let mark), .sequence(_, let mark): return mark
        }
    }

    package var scalar: YAMLScalar? {
        if case .scalar(let scalar) = self { return scalar }
        return nil
    }
}

/// Why a text is not a manifest-shaped YAML document.
package struct YAMLError: Error, Sendable {
    package enum Kind: Sendable { case syntax, duplicateKeys, alias, tooDeep, tooLarge, multipleDocuments }
    package let kind: Kind
    package let message: String
    package let mark: YAMLMark
}
