import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A secret's value as Secrets Manager returned it: `SecretString` (UTF-8) or `SecretBinary`.
///
/// The bytes are reachable only inside the library; every textual form is redacted.
package struct ValuePayload: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package enum Kind: String, Sendable {
        case string = "SecretString"
        case binary = "SecretBinary"
    }

    package let kind: Kind
    private let storage: ZeroingBytes
    var bytes: [UInt8] { storage.bytes }

    package init(kind: Kind, bytes: [UInt8]) {
        self.kind = kind
        self.storage = ZeroingBytes(bytes)
    }

    package var count: Int { bytes.count }
    package var description: String { "<redacted \(kind.rawValue), \(bytes.count) bytes>" }
    package var debugDescription: String { description }
    package var customMirror: Mirror { Mirror(self, children: ["kind": kind]) }
}

/// Holds a secret's bytes and overwrites them with zeros when the last copy of the payload goes.
///
/// As far as Swift allows: the `String` a JSON parser made on the way in, and copies a renderer
/// makes, are freed without being cleared; core dumps are disabled for that reason too.
final class ZeroingBytes: @unchecked Sendable {
    // @unchecked Sendable: `bytes` is never mutated after init, except by deinit, which runs once no one can read it.
    private(set) var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    // Safe: nothing else can reach `bytes` once the last reference is gone.
    deinit {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            explicit_bzero(base, buffer.count)  // unlike memset, never optimised away
        }
    }
}
