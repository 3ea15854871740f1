import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Sent only to open a connection ahead of time; requests to the same host wait (briefly) for it.
    public var isWarmUp: Bool
    /// Overrides the client's total timeout for this request.
    public var timeout: TimeInterval?

    public init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8], isWarmUp: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.isWarmUp = isWarmUp
        self.timeout = isWarmUp ? 5 : nil
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data

    public init(status: Int, headers: [(name: String, value: String)], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.last { $0.name.lowercased() == key }?.value
    }
}

/// Sends HTTP requests. The real one is ``CurlHTTPClient``; tests may substitute their own.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) throws -> HTTPResponse
}

/// A transport-level failure: DNS, connect, TLS, timeout.
public struct HTTPError: DiagnosticError {
    public enum Kind: Sendable {
        case dns, connect, tls, timeout, proxy, tooLarge, other
        /// The run's overall deadline (`once --timeout`) passed.
        case deadline
    }

    public let kind: Kind
    public let url: String
    /// libcurl's `CURLcode`, when the failure came from libcurl.
    public let curlCode: Int
    public let message: String
    public let fix: String?
    public var errorCode: String? { curlCode > 0 ? "curl-\(curlCode)" : "\(kind)" }

    /// Connection-level failures that a later attempt may not meet.
    public var isRetryable: Bool {
        switch kind {
        case .connect, .timeout, .other: return true
        case .dns, .tls, .proxy, .tooLarge, .deadline: return false
        }
    }
}
