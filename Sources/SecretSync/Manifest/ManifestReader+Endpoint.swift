#if canImport(Glibc)
    import Glibc
#endif

extension ManifestReader {
    // MARK: credentials_endpoint

    mutating func credentialsEndpoint(_ node: YAMLNode) -> CredentialsEndpointSpec? {
        let keyPath = "credentials_endpoint"
        guard let fields = entries(node, keyPath, allowed: ["listen", "path", "token_file", "group"]),
            let listenNode = required(fields, "listen", keyPath, parent: node, fix: "listen: 127.0.0.1:9911"),
            let listen = string(listenNode, join(keyPath, "listen"))
        else { return nil }
        guard let (host, port) = Self.loopbackAddress(listen) else {
            report(
                listenNode, join(keyPath, "listen"), "'\(listen.escapingControlCharacters)' is not a loopback address and port",
                fix: "listen on 127.0.0.1:PORT or [::1]:PORT; other programs on this host only, never the network")
            return nil
        }
        var path = CredentialsEndpointSpec.defaultPath
        if let value = fields["path"]?.value, let given = string(value, join(keyPath, "path")) {
            let allowed = given.utf8.allSatisfy { $0.isASCIIAlphanumeric || "/-_.".utf8.contains($0) }
            if given.hasPrefix("/"), allowed, given.utf8.count <= 256 {
                path = given
            } else {
                report(value, join(keyPath, "path"), "'\(given.escapingControlCharacters)' is not a URL path", fix: "e.g. /credentials")
            }
        }
        var tokenFile = CredentialsEndpointSpec.defaultTokenFile
        if let value = fields["token_file"]?.value, let given = absolutePath(value, join(keyPath, "token_file")) { tokenFile = given }
        let group = fields["group"].flatMap { account($0.value, join(keyPath, "group"), group: true) }
        return CredentialsEndpointSpec(host: host, port: port, path: path, tokenFile: tokenFile, group: group)
    }

    /// `127.0.0.1:9911` (any of 127.0.0.0/8) or `[::1]:9911`; nil for anything else, `localhost`
    /// and `0.0.0.0` included (a name can resolve elsewhere; an unspecified address listens on the network).
    static func loopbackAddress(_ text: String) -> (host: String, port: UInt16)? {
        let host: String
        let portText: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard host == "::1" else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
            var address = in_addr()
            guard inet_pton(AF_INET, host, &address) == 1, UInt32(bigEndian: address.s_addr) >> 24 == 127 else { return nil }
        }
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText), port > 0 else { return nil }
        return (host, port)
    }
}
