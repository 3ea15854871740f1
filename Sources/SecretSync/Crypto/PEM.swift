import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// One `-----BEGIN LABEL-----` … `-----END LABEL-----` block of a PEM file.
struct PEMBlock {
    let label: String
    /// RFC 1421 headers such as `Proc-Type: 4,ENCRYPTED` (legacy encrypted keys).
    let headers: [String: String]
    let der: Data
    /// The block's text, exactly as found, for handing to OpenSSL's PEM readers.
    let text: String

    /// Every block in `text`, in order. Text between blocks (comments, `Bag Attributes`) is ignored.
    /// Returns nil when a block is malformed (no END line, bad base64).
    static func parseAll(_ text: String) -> [PEMBlock]? {
        var blocks = [PEMBlock]()
        var current: (label: String, lines: [String], raw: [String])?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.trimmedSpaces
            if var block = current {
                block.raw.append(String(rawLine))
                if line == "-----END \(block.label)-----" {
                    guard let parsed = finish(label: block.label, lines: block.lines, raw: block.raw) else { return nil }
                    blocks.append(parsed)
                    current = nil
                } else if line.hasPrefix("-----") {
                    return nil
                } else {
                    block.lines.append(line)
                    current = block
                }
            } else if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                let label = String(line.dropFirst(11).dropLast(5))
                current = (label, [], [String(rawLine)])
            }
        }
        return current == nil ? blocks : nil
    }

    private static func finish(label: String, lines: [String], raw: [String]) -> PEMBlock? {
        var headers = [String: String]()
        var body = lines[...]
        if let separator = lines.firstIndex(of: ""), lines[..<separator].allSatisfy({ $0.contains(":") }),
            separator > 0
        {
            for header in lines[..<separator] {
                let parts = header.split(separator: ":", maxSplits: 1)
                headers[String(parts[0])] = parts.count > 1 ? parts[1].trimmedSpaces : ""
            }
            body = lines[(separator + 1)...]
        }
        guard let der = Data(base64Encoded: body.joined(), options: .ignoreUnknownCharacters), !der.isEmpty else {
            return nil
        }
        return PEMBlock(label: label, headers: headers, der: der, text: raw.joined(separator: "\n") + "\n")
    }
}

extension Data {
    /// True when the bytes look like PEM text rather than DER.
    var looksLikePEM: Bool {
        let marker = Array("-----BEGIN ".utf8)
        return Array(prefix(4096 + marker.count)).firstRange(of: marker) != nil
    }
}
