#if canImport(Glibc)
    import Glibc
#endif

/// The address of a client of the credentials endpoint, and who it is.
struct PeerAddress: CustomStringConvertible {
    let host: String
    let port: UInt16
    /// The address as the kernel's socket tables print it: the raw bytes as 32-bit words in
    /// this machine's order (`0100007F` for 127.0.0.1 here).
    let tableAddress: String

    init(_ storage: sockaddr_storage) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var raw = [UInt8]()
        if storage.ss_family == sa_family_t(AF_INET6) {
            let address = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee } }
            var bytes = address.sin6_addr
            inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
            raw = withUnsafeBytes(of: &bytes) { Array($0) }
            port = UInt16(bigEndian: address.sin6_port)
        } else {
            let address = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee } }
            var bytes = address.sin_addr
            inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count))
            raw = withUnsafeBytes(of: &bytes) { Array($0) }
            port = UInt16(bigEndian: address.sin_port)
        }
        host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        tableAddress = Self.tableForm(raw)
    }

    var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// Raw address bytes as /proc/net/tcp prints them: each 4-byte word as a native integer in hex.
    static func tableForm(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: bytes.count, by: 4).map { start in
            let word = bytes[start..<min(start + 4, bytes.count)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            let digits = String(word, radix: 16, uppercase: true)
            return String(repeating: "0", count: 8 - digits.count) + digits
        }.joined()
    }

    /// The uid that owns the client's end of the connection: the row of `/proc/net/tcp` (or
    /// `tcp6`) whose local address and port are the client's and whose remote port is the
    /// endpoint's. A TCP socket has no SO_PEERCRED; the kernel's socket table says the same.
    func owner(listening spec: CredentialsEndpointSpec) -> UInt32? {
        let local = tableAddress + ":" + Self.hex(port)
        let remote = ":" + Self.hex(spec.port)
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = KernelFile.bytes(table).map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 7, fields[1] == local, fields[2].hasSuffix(remote) else { continue }
                return UInt32(fields[7])
            }
        }
        return nil
    }

    static func hex(_ port: UInt16) -> String {
        let digits = String(port, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}

extension CredentialsEndpoint {
    /// A listening TCP socket on the loopback `host` and `port`.
    static func listen(host: String, port: UInt16) throws -> Int32 {
        let ipv6 = host.contains(":")
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            throw CredentialsEndpointError(message: "cannot make a socket: \(String(cString: strerror(errno)))", fix: nil)
        }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            inet_pton(AF_INET6, host, &address.sin6_addr)
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            inet_pton(AF_INET, host, &address.sin_addr)
            bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard bound == 0, Glibc.listen(fd, 64) == 0 else {
            let code = errno
            close(fd)
            throw CredentialsEndpointError(
                message: "credentials_endpoint cannot listen on \(ipv6 ? "[\(host)]" : host):\(port): \(String(cString: strerror(code)))",
                fix: code == EADDRINUSE ? "another program uses that port; choose another in credentials_endpoint.listen" : nil)
        }
        return fd
    }
}

/// The credentials endpoint could not start.
package struct CredentialsEndpointError: DiagnosticError {
    package let message: String
    package let fix: String?
}
