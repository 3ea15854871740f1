import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Partitions and their DNS suffixes, for building default endpoints.
package enum Partition {
    /// The partition a region belongs to: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, etc.
    package static func of(region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        if region.hasPrefix("us-iso-") { return "aws-iso" }
        if region.hasPrefix("us-isob-") { return "aws-iso-b" }
        if region.hasPrefix("eusc-") { return "aws-eusc" }
        return "aws"
    }

    package static func dnsSuffix(region: String) -> String {
        switch of(region: region) {
        case "aws-cn": return "amazonaws.com.cn"
        case "aws-iso": return "c2s.ic.gov"
        case "aws-iso-b": return "sc2s.sgov.gov"
        case "aws-eusc": return "amazonaws.eu"
        default: return "amazonaws.com"
        }
    }
}

/// AWS region names, checked wherever one comes from (an ARN, `region:`, a flag) before it
/// builds a host name: `evil.example/x` in an ARN must not send signed requests elsewhere.
package enum Region {
    /// `us-west-2`, `cn-north-1`, `us-gov-west-1`, `us-isob-east-1`, `eusc-de-east-1`.
    package static func isValid(_ region: String) -> Bool {
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard region.utf8.count <= 32, parts.count >= 3, let last = parts.last, (1...2).contains(last.count),
            last.allSatisfy({ $0.isASCII && $0.isNumber }), (2...4).contains(parts[0].count)
        else { return false }
        return parts.dropLast().allSatisfy { !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isLowercase && $0.isLetter } }
    }

    /// What is wrong with `region` (and with it beside an ARN's `partition`), or nil.
    package static func problem(_ region: String, partition: String? = nil) -> (message: String, fix: String)? {
        guard isValid(region) else {
            return ("'\(region.escapingControlCharacters)' is not an AWS region name", "e.g. us-west-2 or cn-north-1")
        }
        if let partition, partition != Partition.of(region: region) {
            return (
                "region \(region) belongs to partition \(Partition.of(region: region)), not \(partition)",
                "check the ARN: arn:\(Partition.of(region: region)):... for \(region)"
            )
        }
        return nil
    }
}

/// A service endpoint: the base URL requests go to and the `Host` header that is signed.
package struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    package let scheme: String
    package let host: String
    package let port: Int?
    /// A base path from a custom endpoint URL, without a trailing slash ("" for none).
    package let basePath: String
    /// Where the endpoint came from, for error messages ("AWS_ENDPOINT_URL_ROLESANYWHERE", ...).
    package let source: String

    /// Parses `https://host[:port][/path]`.
    package init(url text: String, source: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else {
            throw EndpointError(
                message: "invalid endpoint URL '\(text)' (from \(source)): expected https://HOST[:PORT][/PATH]",
                fix: "give a full URL with its scheme, e.g. https://rolesanywhere.us-west-2.amazonaws.com")
        }
        guard components.query == nil, components.fragment == nil, components.user == nil else {
            throw EndpointError(
                message: "invalid endpoint URL '\(text)' (from \(source)): query, fragment and user info are not allowed",
                fix: "give only scheme, host, port and an optional base path")
        }
        self.scheme = scheme
        // An IPv6 literal comes with its brackets (`[::1]`); `host` holds the address itself, and
        // `hostHeader` brackets it again where a URL or a Host header needs them.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = PercentEncoding.decode(path) ?? path
        self.source = source
    }

    /// The `Host` header value: the port is included only when it is not the scheme's default.
    package var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) else { return bracketed }
        return "\(bracketed):\(port)"
    }

    /// The full URL for `path` (unencoded, starting with `/`) and an already-encoded query.
    package func url(path: String, encodedQuery: String) -> String {
        let encodedPath = CanonicalRequest.percentEncode(basePath + path, keepSlash: true)
        return "\(scheme)://\(hostHeader)\(encodedPath)" + (encodedQuery.isEmpty ? "" : "?\(encodedQuery)")
    }

    package var description: String { "\(scheme)://\(hostHeader)\(basePath)" }

    /// Resolves a service endpoint the way AWS SDKs do: an explicit URL, else the service's
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else `https://PREFIX.REGION.SUFFIX`.
    package static func resolve(
        explicit: String?, serviceEnvironmentName: String, hostPrefix: String, region: String,
        environment: [String: String]
    ) throws -> Endpoint {
        if let explicit, !explicit.isEmpty { return try Endpoint(url: explicit, source: "--endpoint") }
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        if !ignore {
            let specific = "AWS_ENDPOINT_URL_\(serviceEnvironmentName)"
            if let value = environment[specific], !value.isEmpty { return try Endpoint(url: value, source: specific) }
            if let value = environment["AWS_ENDPOINT_URL"], !value.isEmpty {
                return try Endpoint(url: value, source: "AWS_ENDPOINT_URL")
            }
        }
        if let problem = Region.problem(region) { throw EndpointError(message: problem.message, fix: problem.fix) }
        return try Endpoint(
            url: "https://\(hostPrefix).\(region).\(Partition.dnsSuffix(region: region))",
            source: "the default for \(region)")
    }
}

package struct EndpointError: DiagnosticError {
    package let message: String
    package let fix: String?
    package var isUsageError: Bool { true }
}
