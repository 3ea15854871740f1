import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// systemd's readiness protocol (sd_notify) without libsystemd: one datagram per message to the
/// Unix socket named by `$NOTIFY_SOCKET` (a leading `@` is an abstract socket). A no-op without it.
package struct ServiceNotifier: Sendable {
    let socketPath: String?

    package init(environment: [String: String]) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
    }

    package var isActive: Bool { socketPath != nil }

    /// Sends e.g. `READY=1\nSTATUS=…`. Failures are ignored, as sd_notify's callers do.
    package func notify(_ state: String) {
        guard let socketPath else { return }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count)
        let message = Array(state.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                sendto(fd, message, message.count, Int32(MSG_NOSIGNAL), address, length)
            }
        }
    }
}
