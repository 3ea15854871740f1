import CCurl
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Settings for ``CurlHTTPClient``, normally read from the standard AWS environment.
package struct HTTPClientOptions: Sendable {
    /// A PEM bundle that replaces the system trust store (`AWS_CA_BUNDLE`).
    package var caBundle: String?
    package var connectTimeout: TimeInterval = 10
    package var totalTimeout: TimeInterval = 30
    /// Responses larger than this are refused rather than buffered.
    package var maxResponseBytes = 16 << 20
    package var userAgent = "secret-sync/\(SecretSyncVersion.current)"
    /// No request runs past this instant (`once --timeout`): each one's timeouts shrink to fit.
    package var deadline: Deadline?

    package init(caBundle: String? = nil) {
        self.caBundle = caBundle
    }

    /// `AWS_CA_BUNDLE` from `environment`. Proxies (`HTTPS_PROXY`, `NO_PROXY`) are read by libcurl itself.
    package static func fromEnvironment(_ environment: [String: String]) -> HTTPClientOptions {
        let bundle = environment["AWS_CA_BUNDLE"].flatMap { $0.isEmpty ? nil : $0 }
        return HTTPClientOptions(caBundle: bundle)
    }
}

/// HTTPS over libcurl. One easy handle is kept, so consecutive requests to the same host reuse
/// the connection (keep-alive) and the TLS session.
package final class CurlHTTPClient: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: the handle and error buffer are used only while `lock` is held.
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let options: HTTPClientOptions
    private let lock = Lock()
    private let curl: CurlLibrary

    package init(options: HTTPClientOptions) throws {
        // Loading runs curl_global_init, exactly once per process.
        let curl = try CurlLibrary.shared.get()
        guard let handle = curl.easyInit() else {
            throw HTTPError(kind: .other, url: "", curlCode: 0, message: "could not start libcurl", fix: nil)
        }
        if let bundle = options.caBundle {
            // Fail early and clearly rather than with curl's generic "problem with the CA cert".
            _ = try LocalFile.read(bundle, role: "CA bundle (AWS_CA_BUNDLE)")
        }
        self.curl = curl
        self.handle = handle
        self.options = options
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    // Safe: this object is the only owner of the easy handle and the error buffer.
    deinit {
        curl.easyCleanup(handle)
        errorBuffer.deallocate()
    }

    /// Accumulates one response; passed to libcurl's callbacks as their context pointer.
    private final class ResponseAccumulator {
        var headers = [(name: String, value: String)]()
        var body = Data()
        let limit: Int
        var overLimit = false
        init(limit: Int) { self.limit = limit }
    }

    package func send(_ request: HTTPRequest) throws -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }
        var totalTimeout = request.timeout ?? options.totalTimeout
        var connectTimeout = min(options.connectTimeout, totalTimeout)
        if let deadline = options.deadline {
            let remaining = deadline.remaining
            guard remaining > 0.05 else {
                throw HTTPError(
                    kind: .deadline, url: request.url, curlCode: 0,
                    message: "the deadline passed before the request to \(request.url) could start",
                    fix: "allow more time (--timeout), or check why the endpoint is slow")
            }
            totalTimeout = min(totalTimeout, remaining)
            connectTimeout = min(connectTimeout, remaining)
        }
        curl.easyReset(handle)
        errorBuffer[0] = 0
        let accumulator = ResponseAccumulator(limit: options.maxResponseBytes)
        let context = Unmanaged.passUnretained(accumulator).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl.freeList(headerList) }
        for (name, value) in request.headers {
            headerList = curl.append(headerList, "\(name): \(value)")
        }
        // Suppress headers curl would add by itself: `Expect: 100-continue` costs a round trip.
        headerList = curl.append(headerList, "Expect:")

        let code: CURLcode = request.body.withUnsafeBytes { body in
            curl.setString(handle, CURLOPT_URL, request.url)
            curl.setLong(handle, CURLOPT_NOSIGNAL, 1)
            curl.setPointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            curl.setString(handle, CURLOPT_PROTOCOLS_STR, "https,http")
            curl.setLong(handle, CURLOPT_FOLLOWLOCATION, 0)
            curl.setLong(handle, CURLOPT_SSLVERSION, ccurl_minimum_tls_version())
            curl.setLong(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
            curl.setLong(handle, CURLOPT_TIMEOUT_MS, Int(totalTimeout * 1000))
            curl.setString(handle, CURLOPT_USERAGENT, options.userAgent)
            if let bundle = options.caBundle {
                curl.setString(handle, CURLOPT_CAINFO, bundle)
                curl.setPointer(handle, CURLOPT_CAPATH, nil)
            }
            curl.setList(handle, CURLOPT_HTTPHEADER, headerList)
            if request.method == "GET" {
                curl.setLong(handle, CURLOPT_HTTPGET, 1)
            } else {
                curl.setLong(handle, CURLOPT_POST, 1)
                curl.setPointer(
                    handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress ?? UnsafeRawPointer(errorBuffer)))
                curl.setOffset(handle, CURLOPT_POSTFIELDSIZE_LARGE, body.count)
                if request.method != "POST" {
                    curl.setString(handle, CURLOPT_CUSTOMREQUEST, request.method)
                }
            }
            curl.setPointer(handle, CURLOPT_WRITEDATA, context)
            curl.setCallback(handle, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                let accumulator = Unmanaged<ResponseAccumulator>.fromOpaque(context!).takeUnretainedValue()
                let length = size * count
                if accumulator.body.count + length > accumulator.limit {
                    accumulator.overLimit = true
                    return 0  // makes libcurl stop with CURLE_WRITE_ERROR
                }
                if let data { accumulator.body.append(UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self), count: length) }
                return length
            }
            curl.setPointer(handle, CURLOPT_HEADERDATA, context)
            curl.setCallback(handle, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                let accumulator = Unmanaged<ResponseAccumulator>.fromOpaque(context!).takeUnretainedValue()
                let length = size * count
                guard let data else { return length }
                let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
                    .trimmed
                if line.hasPrefix("HTTP/") {
                    // A new status line (after a proxy's CONNECT answer, or 100 Continue): start over.
                    accumulator.headers.removeAll()
                } else if let colon = line.firstIndex(of: ":") {
                    accumulator.headers.append(
                        (
                            String(line[..<colon]).trimmedSpaces,
                            String(line[line.index(after: colon)...]).trimmedSpaces
                        ))
                }
                return length
            }
            return curl.perform(handle)
        }
        // Drop the references to this call's buffers so the reused handle never sees them again.
        curl.setList(handle, CURLOPT_HTTPHEADER, nil)

        if accumulator.overLimit {
            throw HTTPError(
                kind: .tooLarge, url: request.url, curlCode: Int(code.rawValue),
                message: "response from \(request.url) is larger than \(options.maxResponseBytes) bytes; refused",
                fix: "check the endpoint setting points at the AWS service")
        }
        guard code == CURLE_OK else {
            let proxyAnswer = curl.getLong(handle, CURLINFO_HTTP_CONNECTCODE)
            if proxyAnswer >= 300 { throw ProxySetting.refusal(status: proxyAnswer, url: request.url, curlCode: Int(code.rawValue)) }
            throw error(for: code, url: request.url)
        }
        let status = curl.getLong(handle, CURLINFO_RESPONSE_CODE)
        return HTTPResponse(status: status, headers: accumulator.headers, body: accumulator.body)
    }

    private func error(for code: CURLcode, url: String) -> HTTPError {
        let detail = String(cString: errorBuffer)
        let summary = curl.describe(code)
        let text = detail.isEmpty ? summary : detail
        let host = URLComponents(string: url)?.host ?? url
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST:
            return HTTPError(
                kind: .dns, url: url, curlCode: Int(code.rawValue), message: "cannot resolve \(host): \(text)",
                fix: "check DNS on this host and the endpoint/region settings; behind a proxy set HTTPS_PROXY")
        case CURLE_COULDNT_RESOLVE_PROXY, CURLE_PROXY:
            return HTTPError(
                kind: .proxy, url: url, curlCode: Int(code.rawValue), message: "cannot resolve the proxy: \(text)",
                fix: "check HTTPS_PROXY / NO_PROXY")
        case CURLE_COULDNT_CONNECT:
            return HTTPError(
                kind: .connect, url: url, curlCode: Int(code.rawValue), message: "cannot connect to \(host): \(text)",
                fix: "check the endpoint is reachable from this host (security groups, proxy, firewall)")
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(
                kind: .timeout, url: url, curlCode: Int(code.rawValue), message: "request to \(host) timed out: \(text)",
                fix: "check connectivity to \(host); a slow link may need a proxy closer to AWS")
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return HTTPError(
                kind: .tls, url: url, curlCode: Int(code.rawValue),
                message: "TLS with \(host) failed: \(text)",
                fix: "if a proxy or private endpoint uses its own CA, point AWS_CA_BUNDLE at that CA's PEM file")
        default:
            return HTTPError(
                kind: .other, url: url, curlCode: Int(code.rawValue), message: "request to \(host) failed: \(text)",
                fix: nil)
        }
    }
}
