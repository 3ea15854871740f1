import CLinux
import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `credentials_endpoint:`: serves the daemon's role credentials to local programs the way the
/// AWS SDKs' container credentials provider asks for them (`AWS_CONTAINER_CREDENTIALS_FULL_URI`,
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`). Loopback only; a `GET` of the one path with the
/// token in `Authorization`, nothing else; a fresh random token at each start, in a file only
/// root and the named group may read. Credentials come from the daemon's own provider, renewed
/// before they expire; when they cannot be renewed the answer is an error, never expired ones.
/// No credential or token is ever logged; each request's line says who asked (the peer's uid,
/// found when the connection is accepted) and what was answered. Each local user may hold only
/// a share of the connections (``EndpointAdmission``), so no user can lock out another.
package final class CredentialsEndpoint: @unchecked Sendable {
    // @unchecked Sendable: `listener` and `stopped` are only touched while `lock` is held.
    let spec: CredentialsEndpointSpec
    let credentials: any CredentialProvider
    let logger: Logger
    let clock: @Sendable () -> Date
    private let token: [UInt8]
    private var listener: Int32 = -1
    private let lock = Lock()
    private var stopped = false
    let admission = EndpointAdmission(total: CredentialsEndpoint.connectionLimit, perUser: CredentialsEndpoint.perUserLimit)
    let refusals = RefusalThrottle(interval: CredentialsEndpoint.refusalLogInterval)

    /// Connections held at once; more are answered 503 at once.
    static let connectionLimit = 64
    /// Connections one local user may hold at once; more are answered 503 at once.
    static let perUserLimit = 8
    /// Refusals are logged at most once per user this often, counting those left out.
    static let refusalLogInterval: TimeInterval = 10
    /// A client that sends its request slower than this is dropped.
    static let readTimeout: TimeInterval = 5
    /// What static keys (which name no expiry) are served with, so SDKs ask again.
    static let staticCredentialsLifetime: TimeInterval = 15 * 60

    package init(
        spec: CredentialsEndpointSpec, credentials: any CredentialProvider, logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.spec = spec
        self.credentials = credentials
        self.logger = logger
        self.clock = clock
        var random = SystemRandomNumberGenerator()
        token = Array(
            (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }.map { String($0, radix: 16) }
                .map { $0.count == 1 ? "0" + $0 : $0 }.joined().utf8)
    }

    /// Listens, then writes the token file; serving runs on its own threads until `stop`.
    package func start() throws {
        let listener = try Self.listen(host: spec.host, port: spec.port)
        do {
            try AtomicFileWriter().write(FileTarget(path: spec.tokenFile, bytes: token, mode: 0o640, uid: nil, gid: spec.group?.id))
        } catch {
            close(listener)
            throw error
        }
        lock.lock()
        self.listener = listener
        lock.unlock()
        logger.notice(
            "credentials endpoint listening",
            metadata: ["url": "\(spec.url)", "token_file": "\(spec.tokenFile)", "group": "\(spec.group?.name ?? "root")"])
        Threads.detach { [self] in
            while true {
                var address = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let connection = withUnsafeMutablePointer(to: &address) { clinux_accept_cloexec(listener, $0, &length) }
                if connection < 0 {
                    let code = errno
                    if code == EBADF || code == EINVAL { return }  // closed by stop()
                    if code != EINTR, code != ECONNABORTED {
                        // Out of descriptors (EMFILE) or memory: wait instead of spinning.
                        logger.warning("credentials endpoint cannot accept: \(String(cString: strerror(code)))")
                        usleep(100_000)
                    }
                    continue
                }
                admit(connection, peer: PeerAddress(address))
            }
        }
    }

    /// Starts now if it can; else reports why and tries again every `retry` seconds on a thread
    /// of its own, so the daemon goes on syncing files when the port is taken (by an earlier
    /// daemon still stopping, or by another program: a port below 1024 keeps other users off it).
    package func startRetrying(every retry: TimeInterval = 30) {
        @Sendable func attempt() -> Bool {
            do {
                try start()
                return true
            } catch {
                let failure = (error as? DiagnosticError)
                var metadata: Logger.Metadata = ["retry_in": "\(Int(retry))s"]
                if let fix = failure?.fix { metadata["fix"] = "\(fix)" }
                logger.error("credentials endpoint not started: \(failure?.message ?? "\(error)")", metadata: metadata)
                return false
            }
        }
        guard !attempt() else { return }
        Threads.detach { [self] in
            while true {
                usleep(UInt32(retry * 1_000_000))
                lock.lock()
                let stopped = self.stopped
                lock.unlock()
                if stopped || attempt() { return }
            }
        }
    }

    /// Stops listening and removes the token file (the token dies with the process anyway).
    package func stop() {
        lock.lock()
        stopped = true
        let listening = listener
        listener = -1
        lock.unlock()
        if listening >= 0 {
            shutdown(listening, Int32(SHUT_RDWR))
            close(listening)
        }
        _ = try? FileRemover().remove(spec.tokenFile, emptyDirectoriesBelow: nil)
    }

    func admit(_ connection: Int32, peer: PeerAddress) {
        guard admission.enter() else {
            // Answered on the accepting thread: kept cheap (no uid lookup, a short send timeout).
            refuseBusy(connection, peer: peer, uid: nil, because: "\(Self.connectionLimit) connections at once")
            close(connection)
            return
        }
        Threads.detach { [self] in
            defer {
                close(connection)
                admission.leave()
            }
            let uid = peer.owner(listening: spec)
            guard admission.enter(user: uid) else {
                return refuseBusy(connection, peer: peer, uid: uid, because: "\(Self.perUserLimit) connections of this user at once")
            }
            defer { admission.leave(user: uid) }
            serve(connection, peer: peer, uid: uid)
        }
    }

    /// 503 Busy, without reading the request (the caller closes the connection).
    func refuseBusy(_ connection: Int32, peer: PeerAddress, uid: UInt32?, because reason: String) {
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        send(connection, status: 503, body: Array(#"{"Code":"Busy","Message":"too many connections at once; try again"}"#.utf8))
        log(peer: peer, uid: uid, status: 503, request: nil, detail: reason)
    }

    func serve(_ connection: Int32, peer: PeerAddress, uid: UInt32?) {
        var timeout = timeval(tv_sec: Int(Self.readTimeout), tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let request = read(connection) else {
            return respond(connection, peer: peer, uid: uid, status: 400, code: "BadRequest", message: "not an HTTP/1.1 request")
        }
        guard request.path == spec.path else {
            return respond(
                connection, peer: peer, uid: uid, status: 404, code: "NotFound", message: "nothing is served here", request: request)
        }
        guard request.method == "GET" else {
            return respond(connection, peer: peer, uid: uid, status: 405, code: "MethodNotAllowed", message: "only GET", request: request)
        }
        guard let authorization = request.headers["authorization"] else {
            return respond(
                connection, peer: peer, uid: uid, status: 401, code: "Unauthorized",
                message: "the Authorization header must carry the token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)", request: request)
        }
        guard constantTimeEqual(Array(authorization.utf8), token) else {
            return respond(connection, peer: peer, uid: uid, status: 403, code: "Forbidden", message: "wrong token", request: request)
        }
        let served: AWSCredentials
        do {
            served = try credentials.credentials()
        } catch {
            let message = error.diagnosis.message
            return respond(
                connection, peer: peer, uid: uid, status: 503, code: "CredentialsUnavailable",
                message: "cannot renew the credentials: \(message)",
                request: request)
        }
        let now = clock()
        if let expiration = served.expiration, expiration <= now {
            return respond(
                connection, peer: peer, uid: uid, status: 503, code: "CredentialsUnavailable",
                message: "the credentials expired and cannot be renewed",
                request: request)
        }
        let expiration = served.expiration ?? now.addingTimeInterval(Self.staticCredentialsLifetime)
        var members: [(key: String, value: JSONDocument)] = [
            ("AccessKeyId", .string(served.accessKeyId)), ("SecretAccessKey", .string(served.secretAccessKey.reveal())),
        ]
        if let token = served.sessionToken { members.append(("Token", .string(token.reveal()))) }
        members.append(("Expiration", .string(UTCTime.rfc3339(expiration))))
        var body = Array(JSONDocument.object(members).text.utf8)
        defer { Wipe.bytes(&body) }
        send(connection, status: 200, body: body)
        log(peer: peer, uid: uid, status: 200, request: request, detail: "credentials until \(UTCTime.rfc3339(expiration))")
    }

    /// The request head, read until its blank line, within the size limit and one deadline for
    /// the whole head: a client that trickles a byte at a time cannot hold a slot longer.
    func read(_ connection: Int32) -> EndpointRequest? {
        var received = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = Deadline.after(Self.readTimeout)
        while received.count < EndpointRequest.limit {
            var ready = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(0, deadline.remaining) * 1000)
            guard remaining > 0, poll(&ready, 1, remaining) > 0 else { return nil }
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            received += chunk[..<count]
            if EndpointRequest.headEnd(received) != nil { return EndpointRequest.parse(received) }
        }
        return nil
    }

    func respond(
        _ connection: Int32, peer: PeerAddress, uid: UInt32?, status: Int, code: String, message: String,
        request: EndpointRequest? = nil
    ) {
        send(
            connection, status: status,
            body: Array(JSONDocument.object([("Code", .string(code)), ("Message", .string(message))]).text.utf8))
        log(peer: peer, uid: uid, status: status, request: request, detail: message)
    }

    func send(_ connection: Int32, status: Int, body: [UInt8]) {
        let reasons = [200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"]
        let head =
            "HTTP/1.1 \(status) \(reasons[status] ?? "Service Unavailable")\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
        var bytes = Array(head.utf8) + body
        defer { Wipe.bytes(&bytes) }
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// One line per answer; refusals at most once per user and status every `refusalLogInterval`,
    /// counting those left out, so that a flood of connections is not a flood of lines.
    func log(peer: PeerAddress, uid: UInt32?, status: Int, request: EndpointRequest?, detail: String) {
        var metadata: Logger.Metadata = ["peer": "\(peer)", "status": "\(status)"]
        if let uid { metadata["uid"] = "\(uid) (\(SystemAccounts.userName(uid)))" }
        if let request { metadata["request"] = "\(request.method.escapingControlCharacters) \(request.path.escapingControlCharacters)" }
        guard status != 200 else { return logger.info("credentials served: \(detail)", metadata: metadata) }
        guard let suppressed = refusals.admit("\(uid.map(String.init) ?? "unknown") \(status)", now: clock()) else { return }
        if suppressed > 0 { metadata["refused_before"] = "\(suppressed) since the last line" }
        logger.warning("credentials refused: \(detail)", metadata: metadata)
    }
}
