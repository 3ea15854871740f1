import COpenSSL

/// An error loading or using a certificate or private key.
package struct CryptoError: DiagnosticError {
    package enum Code: Sendable {
        case unreadableCertificate
        case unreadablePrivateKey
        case encryptedPrivateKey
        case unsupportedKey
        case keyCertificateMismatch
        case certificateNotYetValid
        case certificateExpired
        case invalidChain
        case signingFailed
        case digestFailed
    }

    package let code: Code
    package let message: String
    package let fix: String?
    /// The OpenSSL error queue at the time of failure, if it said anything.
    package let openSSLDetail: String?
    package var errorCode: String? { "\(code)" }

    init(_ code: Code, _ message: String, fix: String? = nil, openSSLDetail: String? = OpenSSLErrorQueue.drain()) {
        self.code = code
        self.openSSLDetail = openSSLDetail
        if let openSSLDetail, !openSSLDetail.isEmpty {
            self.message = "\(message) (OpenSSL: \(openSSLDetail))"
        } else {
            self.message = message
        }
        self.fix = fix
    }
}

/// OpenSSL reports errors through a thread-local queue; this turns it into one line of text.
enum OpenSSLErrorQueue {
    static func drain() -> String? {
        var lines = [String]()
        var buffer = [CChar](repeating: 0, count: 256)
        while true {
            var data: UnsafePointer<CChar>?
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            ERR_error_string_n(code, &buffer, buffer.count)
            var line = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            // Providers put the useful part here, e.g. tpm2-openssl's decoded TPM return code.
            if let data, flags & ERR_TXT_STRING != 0, data.pointee != 0 { line += " (\(String(cString: data)))" }
            lines.append(line)
        }
        return lines.isEmpty ? nil : lines.joined(separator: "; ")
    }

    static func clear() { ERR_clear_error() }
}
