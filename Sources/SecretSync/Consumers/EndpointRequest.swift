/// One HTTP/1.1 request head as the credentials endpoint reads it: the request line and the
/// headers, nothing more (a GET has no body). Anything else — no `\r\n\r\n` within the limit, a
/// malformed line, a header without a colon — is refused as a whole.
struct EndpointRequest: Equatable {
    let method: String
    /// The path without its query.
    let path: String
    /// Names lower-cased; a repeated name keeps its first value.
    let headers: [String: String]

    /// The most a request head may take.
    static let limit = 16 * 1024

    /// The end of the head in `bytes` (the index after `\r\n\r\n`), if it is there.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index - 3] == 13 && bytes[index - 2] == 10 && bytes[index - 1] == 13 && bytes[index] == 10 {
            return index + 1
        }
        return nil
    }

    static func parse(_ bytes: [UInt8]) -> EndpointRequest? {
        guard let end = headEnd(bytes), let text = String(validating: bytes[..<end], as: UTF8.self) else { return nil }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast(2)
        guard let requestLine = lines.popFirst() else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2] == "HTTP/1.1" || parts[2] == "HTTP/1.0", parts[1].hasPrefix("/"),
            parts[0].allSatisfy({ $0.isASCII && $0.isUppercase })
        else { return nil }
        var headers = [String: String]()
        for line in lines {
            guard let colon = line.firstIndex(of: ":"), !line[..<colon].isEmpty, !line[..<colon].contains(" ") else { return nil }
            let name = line[..<colon].lowercased()
            if headers[name] == nil { headers[name] = String(line[line.index(after: colon)...]).trimmedSpaces }
        }
        let target = parts[1]
        let path = target.firstIndex(of: "?").map { String(target[..<$0]) } ?? String(target)
        return EndpointRequest(method: String(parts[0]), path: path, headers: headers)
    }
}

/// Compares two byte strings in time that depends only on their lengths, so a caller cannot learn
/// a token byte by byte from how fast a wrong one is refused.
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    var difference = UInt8(a.count == b.count ? 0 : 1)
    for index in 0..<max(a.count, b.count) {
        difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
    }
    return difference == 0
}
