/// A secret's value as Secrets Manager returned it: `SecretString` (UTF-8) or `SecretBinary`.
///
/// The bytes are reachable only inside the library; every textual form is redacted.
public struct SecretPayload: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Kind: String, Sendable {
        case string = "SecretString"
        case binary = "SecretBinary"
    }

    public let kind: Kind
    let bytes: [UInt8]

    public init(kind: Kind, bytes: [UInt8]) {
        self.kind = kind
        self.bytes = bytes
    }

    public var count: Int { bytes.count }
    public var description: String { "<redacted \(kind.rawValue), \(bytes.count) bytes>" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["kind": kind]) }

    /// The value parsed as a JSON object, or nil when it is not one.
    var jsonObject: JSONDocument? {
        guard kind == .string, let document = JSONDocument.parse(bytes), case .object = document else { return nil }
        return document
    }
}
