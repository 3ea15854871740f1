import Foundation

/// Partitions and their DNS suffixes, for building default endpoints.
public enum Partition {
    /// The partition a region belongs to: `aws-cn` for `cn-*`, `aws-us-gov` for `us-gov-*`, etc.
    public static func of(region: String) -> String {
        if region.hasPrefix("cn-") { return "aws-cn" }
        if region.hasPrefix("us-gov-") { return "aws-us-gov" }
        if region.hasPrefix("us-iso-") { return "aws-iso" }
        if region.hasPrefix("us-isob-") { return "aws-iso-b" }
        if region.hasPrefix("eusc-") { return "aws-eusc" }
        return "aws"
    }

    public static func dnsSuffix(region: String) -> String {
        switch of(region: region) {
        case "aws-cn": return "amazonaws.com.cn"
        case "aws-iso": return "c2s.ic.gov"
        case "aws-iso-b": return "sc2s.sgov.gov"
        case "aws-eusc": return "amazonaws.eu"
        default: return "amazonaws.com"
        }
    }
}

/// A service endpoint: the base URL requests go to and the `Host` header that is signed.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int?
    /// A base path from a custom endpoint URL, without a trailing slash ("" for none).
    public let basePath: String
    /// Where the endpoint came from, for error messages ("AWS_ENDPOINT_URL_ROLESANYWHERE", ...).
    public let source: String

    /// Parses `https://host[:port][/path]`.
    public init(url text: String, source: String) throws {
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
        self.host = host
        self.port = components.port
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.basePath = path.removingPercentEncoding ?? path
        self.source = source
    }

    /// The `Host` header value: the port is included only when it is not the scheme's default.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        guard let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) else { return bracketed }
        return "\(bracketed):\(port)"
    }

    /// The full URL for `path` (unencoded, starting with `/`) and an already-encoded query.
    public func url(path: String, encodedQuery: String) -> String {
        let encodedPath = CanonicalRequest.percentEncode(basePath + path, keepSlash: true)
        return "\(scheme)://\(hostHeader)\(encodedPath)" + (encodedQuery.isEmpty ? "" : "?\(encodedQuery)")
    }

    public var description: String { "\(scheme)://\(hostHeader)\(basePath)" }

    /// Resolves a service endpoint the way AWS SDKs do: an explicit URL, else the service's
    /// `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`, else `https://PREFIX.REGION.SUFFIX`.
    public static func resolve(
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
        return try Endpoint(
            url: "https://\(hostPrefix).\(region).\(Partition.dnsSuffix(region: region))",
            source: "the default for \(region)")
    }
}

public struct EndpointError: DiagnosticError {
    public let message: String
    public let fix: String?
    public var isUsageError: Bool { true }
}
