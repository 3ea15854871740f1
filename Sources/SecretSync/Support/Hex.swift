import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, as AWS signatures and payload hashes are written.
    var lowercaseHex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
