/// `%XX` decoding of URL paths (Foundation's `removingPercentEncoding`, which FoundationEssentials
/// does not have).
enum PercentEncoding {
    /// nil when a `%` is not followed by two hex digits or the bytes are not UTF-8.
    static func decode(_ text: String) -> String? {
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
        return String(validating: bytes, as: UTF8.self)
    }
}
