/// `%XX` decoding, for URL paths and PKCS#11 URIs (Foundation's `removingPercentEncoding`, which
/// FoundationEssentials does not have).
enum PercentEncoding {
    /// The decoded bytes; nil when a `%` is not followed by two hex digits.
    static func decodeBytes<S: StringProtocol>(_ text: S) -> [UInt8]? {
        var bytes = [UInt8]()
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    /// The decoded text; nil for a malformed escape or bytes that are not UTF-8.
    static func decode(_ text: String) -> String? {
        decodeBytes(text).flatMap { String(validating: $0, as: UTF8.self) }
    }
}
