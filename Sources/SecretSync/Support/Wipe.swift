import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Overwrites secrets in memory before they are released.
enum Wipe {
    static func bytes(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            explicit_bzero(base, buffer.count)
        }
    }
}

/// Reads a PIN or auth value file: one trailing newline (`echo 1234 > pin`) is not part of it.
enum SecretFile {
    static func trust(_ role: String) -> PathTrust.Use? {
        PathTrust.rootConfiguration(role, risk: "replace it and so decide how secret-sync unlocks its key")
    }

    static func read(_ path: String, role: String) throws -> [UInt8] {
        // As root, a PIN or auth file another user could write would give them the key's use
        // with a value of their choosing, or lock the token: judged like the manifest.
        var data = try LocalFile.read(path, role: role, trust: trust(role))
        defer { data.resetBytes(in: 0..<data.count) }
        var bytes = [UInt8](data)
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        if bytes.isEmpty {
            throw HardwareKeyError(
                .misconfigured, "\(role) \(path) is empty", fix: "write the \(role) into the file (one trailing newline is ignored)")
        }
        if bytes.contains(0) {
            throw HardwareKeyError(
                .misconfigured, "\(role) \(path) contains a NUL byte", fix: "the file must hold the \(role) as text, nothing else")
        }
        return bytes
    }
}
