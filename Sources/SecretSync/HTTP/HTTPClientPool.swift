import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Several ``CurlHTTPClient``s, so that requests can run in parallel, each over a kept-alive
/// connection. A request goes to an idle client that last talked to the same host, when there is
/// one, so warmed connections (TCP + TLS) are reused rather than opened again.
package final class HTTPClientPool: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: `clients`, `idle` and `lastHost` are only touched while `condition` is locked.
    private var clients: [CurlHTTPClient?]
    private let options: HTTPClientOptions
    private var idle: [Int]
    private var lastHost: [String?]
    private var warming = Set<Int>()
    private let condition = Lock()

    package let size: Int
    /// How long a request waits for a connection being warmed before opening its own.
    static let warmUpPatience: TimeInterval = 1

    package init(options: HTTPClientOptions, size: Int) throws {
        precondition(size >= 1)
        // Handles are made when first needed: a pass over two secrets never pays for eight.
        clients = [try CurlHTTPClient(options: options)] + Array(repeating: nil, count: size - 1)
        self.options = options
        idle = Array(0..<size)
        lastHost = Array(repeating: nil, count: size)
        self.size = size
    }

    package func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let host = URLComponents(string: request.url).map { "\($0.host ?? ""):\($0.port ?? 0)" }
        let (index, client) = try checkOut(host: host, warmUp: request.isWarmUp)
        defer { checkIn(index) }
        return try client.send(request)
    }

    private func checkOut(host: String?, warmUp: Bool) throws -> (Int, CurlHTTPClient) {
        condition.lock()
        defer { condition.unlock() }
        // Wait for a free handle; a real request also waits for a handle still warming a connection
        // to its host, rather than paying for another TCP and TLS handshake.
        let patience = Deadline.after(Self.warmUpPatience)
        while idle.isEmpty
            || (!warmUp && !idle.contains { lastHost[$0] == host } && warming.contains { lastHost[$0] == host } && !patience.hasPassed)
        {
            if idle.isEmpty { condition.wait() } else { condition.wait(seconds: patience.remaining) }
        }
        // Prefer a handle already connected to this host, then one already made, then a new one.
        let position =
            idle.firstIndex { lastHost[$0] == host } ?? idle.firstIndex { clients[$0] != nil && lastHost[$0] == nil }
            ?? idle.firstIndex { clients[$0] != nil } ?? 0
        let index = idle[position]
        if clients[index] == nil { clients[index] = try CurlHTTPClient(options: options) }
        idle.remove(at: position)
        lastHost[index] = host
        if warmUp { warming.insert(index) }
        return (index, clients[index]!)  // safe: made just above when it was nil
    }

    private func checkIn(_ index: Int) {
        condition.lock()
        idle.append(index)
        warming.remove(index)
        condition.broadcast()
        condition.unlock()
    }
}
