import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    /// Sent only to open a connection ahead of time; requests to the same host wait (briefly) for it.
    package var isWarmUp: Bool
    /// Overrides the client's total timeout for this request.
    package var timeout: TimeInterval?

    package init(method: String, url: String, headers: [(name: String, value: String)], body: [UInt8], isWarmUp: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.isWarmUp = isWarmUp
        self.timeout = isWarmUp ? 5 : nil
    }
}

package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: Data

    package init(status: Int, headers: [(name: String, value: String)], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.last { $0.name.lowercased() == key }?.value
    }
}

/// Sends HTTP requests. The real one is ``CurlHTTPClient``; tests may substitute their own.
package protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequest) throws -> HTTPResponse
}

/// A transport-level failure: DNS, connect, TLS, timeout.
package struct HTTPError: DiagnosticError {
    package enum Kind: Sendable {
        case dns, connect, tls, timeout, proxy, tooLarge, other
        /// The run's overall deadline (`once --timeout`) passed.
        case deadline
    }

    package let kind: Kind
    package let url: String
    /// libcurl's `CURLcode`, when the failure came from libcurl.
    package let curlCode: Int
    package let message: String
    package let fix: String?
    package var errorCode: String? { curlCode > 0 ? "curl-\(curlCode)" : "\(kind)" }

    /// Connection-level failures that a later attempt may not meet.
    package var isRetryable: Bool {
        switch kind {
        case .connect, .timeout, .other: return true
        case .dns, .tls, .proxy, .tooLarge, .deadline: return false
        }
    }
}
