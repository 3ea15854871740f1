import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The proxy libcurl takes from the environment for a URL, found the way libcurl finds it
/// (`https_proxy`, `HTTPS_PROXY`, then `all_proxy`, `ALL_PROXY`; `http_proxy` only in lower
/// case), so that an error can name it. Credentials in the proxy URL are never shown.
enum ProxySetting {
    /// The variable that set the proxy for `url`, and the proxy without its user and password.
    static func forURL(_ url: String, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) -> (
        variable: String, proxy: String
    )? {
        let https = url.lowercased().hasPrefix("https:")
        let names = (https ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy"]) + ["all_proxy", "ALL_PROXY"]
        for name in names {
            if let value = environment(name), !value.isEmpty { return (name, withoutCredentials(value)) }
        }
        return nil
    }

    /// `http://user:secret@proxy:3128` → `http://proxy:3128`.
    static func withoutCredentials(_ proxy: String) -> String {
        guard let at = proxy.lastIndex(of: "@") else { return proxy }
        let scheme = proxy.firstRange(of: "://").map { String(proxy[..<$0.upperBound]) } ?? ""
        return scheme + proxy[proxy.index(after: at)...]
    }

    /// The proxy answered the `CONNECT` for `url` with `status`: a decision of the proxy's rules,
    /// not a fault in the network, so it is not retried.
    static func refusal(status: Int, url: String, curlCode: Int) -> HTTPError {
        let components = URLComponents(string: url)
        let host = components?.host ?? url
        let port = components?.port ?? 443
        let proxy = forURL(url).map { "the proxy \($0.proxy) (\($0.variable))" } ?? "the proxy"
        return HTTPError(
            kind: .proxy, url: url, curlCode: curlCode, message: "\(proxy) refused to tunnel to \(host) (HTTP \(status))",
            fix: "allow \(host):\(port) in the proxy's rules, or list \(host) in NO_PROXY to reach it directly")
    }
}
