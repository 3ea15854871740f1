import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A request as SigV4 sees it: what will be sent, before the `Authorization` header is added.
package struct SignableRequest: Sendable {
    package var method: String
    /// The path as it goes on the wire, before percent-encoding (e.g. `/sessions`).
    package var path: String
    /// Query parameters, not yet encoded. The URL is built from the canonical form, so what is
    /// signed is exactly what is sent.
    package var query: [(name: String, value: String)]
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]

    package init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    package mutating func setHeader(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// The SigV4 canonical request and string to sign, shared by the HMAC signer (ordinary AWS calls)
/// and the X.509 signer (Roles Anywhere `CreateSession`).
package enum CanonicalRequest {
    /// Headers a proxy or the HTTP stack may add or change; signing them would break signatures.
    static let unsignedHeaders: Set<String> = [
        "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "connection",
    ]

    /// RFC 3986 percent-encoding with AWS's unreserved set; `/` is kept when `keepSlash`.
    package static func percentEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepSlash:
                out.append("/")
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// The canonical URI: dot segments removed and slashes collapsed when `normalize`
    /// (every service but S3), then percent-encoded.
    package static func canonicalURI(_ path: String, normalize: Bool = true) -> String {
        guard !path.isEmpty else { return "/" }
        guard normalize else { return percentEncode(path, keepSlash: true) }
        var segments = [Substring]()
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch segment {
            case ".": continue
            case "..": if !segments.isEmpty { segments.removeLast() }
            default: segments.append(segment)
            }
        }
        var normalized = "/" + segments.joined(separator: "/")
        let lastSegment = path.split(separator: "/", omittingEmptySubsequences: false).last
        if path.hasSuffix("/") || lastSegment == "." || lastSegment == ".." {
            if !normalized.hasSuffix("/") { normalized += "/" }
        }
        return percentEncode(normalized, keepSlash: true)
    }

    /// Encoded `name=value` pairs sorted by name, then value, joined by `&`.
    package static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { (percentEncode($0.name), percentEncode($0.value)) }
        let sorted = encoded.sorted { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
            a.name == b.name ? a.value < b.value : a.name < b.name
        }
        return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
    }

    /// Canonical header lines and the signed-header list. Names are lower-cased and sorted,
    /// values trimmed with inner whitespace runs folded, repeated headers joined with `,`.
    package static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (lines: String, signed: String) {
        var merged = [String: [String]]()
        for (name, value) in headers {
            let key = name.lowercased()
            guard !unsignedHeaders.contains(key) else { continue }
            merged[key, default: []].append(foldWhitespace(value))
        }
        let names = merged.keys.sorted()
        // Safe: `names` are the keys of `merged`.
        let lines = names.map { "\($0):\(merged[$0]!.joined(separator: ","))\n" }.joined()
        return (lines, names.joined(separator: ";"))
    }

    static func foldWhitespace(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
            .joined(separator: " ")
    }

    /// The canonical request text and its signed-header list.
    package static func build(_ request: SignableRequest, normalizePath: Bool = true) -> (text: String, signedHeaders: String) {
        let headers = canonicalHeaders(request.headers)
        let text = [
            request.method.uppercased(),
            canonicalURI(request.path, normalize: normalizePath),
            canonicalQuery(request.query),
            headers.lines,
            headers.signed,
            Digest.sha256Hex(request.body),
        ].joined(separator: "\n")
        return (text, headers.signed)
    }

    /// `ALGORITHM \n date \n scope \n hex(sha256(canonical request))`.
    package static func stringToSign(algorithm: String, amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, Digest.sha256Hex(Array(canonicalRequest.utf8))].joined(separator: "\n")
    }

    package static func scope(amzDate: String, region: String, service: String) -> String {
        "\(amzDate.prefix(8))/\(region)/\(service)/aws4_request"
    }
}

/// What a signer produced; kept for tests and debug logging (it holds no secret).
package struct SigningResult: Sendable {
    package let canonicalRequest: String
    package let stringToSign: String
    package let signature: String
    package let authorization: String

    /// Sets `Authorization` on `request` from a signature over `stringToSign`; the one assembly of
    /// the header for HMAC (SigV4) and X.509 (Roles Anywhere) signing alike.
    static func authorize(
        _ request: inout SignableRequest, algorithm: String, credential: String, scope: String,
        canonical: (text: String, signedHeaders: String),
        stringToSign: String, signature: String
    ) -> SigningResult {
        let authorization =
            "\(algorithm) Credential=\(credential)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        request.setHeader("Authorization", authorization)
        return SigningResult(
            canonicalRequest: canonical.text, stringToSign: stringToSign, signature: signature, authorization: authorization)
    }
}
