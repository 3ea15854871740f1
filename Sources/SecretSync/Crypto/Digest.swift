import COpenSSL
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// SHA-256 and HMAC-SHA256 through OpenSSL's EVP interface.
package enum Digest {
    package static func sha256(_ data: some DataProtocol) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let bytes = Array(data)
        let ok = bytes.withUnsafeBytes { input in
            EVP_Digest(input.baseAddress, input.count, &output, &length, EVP_sha256(), nil)
        }
        // EVP_Digest with a fixed built-in algorithm fails only on allocation failure.
        precondition(ok == 1 && length == 32, "SHA-256 failed: \(OpenSSLErrorQueue.drain() ?? "unknown")")
        return output
    }

    package static func sha256Hex(_ data: some DataProtocol) -> String {
        sha256(data).lowercaseHex
    }

    package static func hmacSHA256(key: [UInt8], data: some DataProtocol) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length = 0
        let message = Array(data)
        let result = key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                EVP_Q_mac(
                    nil, "HMAC", nil, "SHA256", nil, keyBytes.baseAddress, keyBytes.count,
                    messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                    &output, output.count, &length)
            }
        }
        // As above: HMAC-SHA256 from the default provider fails only on allocation failure.
        precondition(result != nil && length == 32, "HMAC-SHA256 failed: \(OpenSSLErrorQueue.drain() ?? "unknown")")
        return output
    }
}
