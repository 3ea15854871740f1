import Foundation
import Testing

@testable import SecretSync

@Suite("Certificates and private keys")
struct CertificateAndKeyTests {
    let pki = TestPKI.shared

    @Test("every key encoding loads and matches its certificate", arguments: TestPKI.keyNames)
    func keyLoadsAndMatches(_ name: String) throws {
        let key = try PrivateKey.load(path: pki.path("clients/\(name).key"))
        let certificate = try Certificate.load(path: pki.path("clients/direct/\(name).crt"))
        let der = try Certificate.load(path: pki.path("clients/direct/\(name).der"))
        #expect(certificate.matches(key))
        #expect(der.der == certificate.der)
        let expected: KeyKind =
            switch name {
            case "rsa4096-pkcs8": .rsa(bits: 4096)
            case _ where name.hasPrefix("rsa"): .rsa(bits: 2048)
            case _ where name.hasPrefix("ec-p256"): .ec(curve: "P-256")
            default: .ec(curve: "P-384")
            }
        #expect(key.kind == expected)
    }

    @Test func serialIsDecimalAndAgreesWithOpenSSL() throws {
        let path = pki.path("clients/direct/ec-p256-sec1.crt")
        let certificate = try Certificate.load(path: path)
        let hex = try openssl("x509", "-in", path, "-noout", "-serial")
            .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
        #expect(certificate.serialHex == hex)
        // Convert the hex serial to decimal independently, digit by digit.
        var digits = [0]
        for character in hex {
            var carry = Int(String(character), radix: 16)!
            for index in digits.indices.reversed() {
                let value = digits[index] * 16 + carry
                digits[index] = value % 10
                carry = value / 10
            }
            while carry > 0 {
                digits.insert(carry % 10, at: 0)
                carry /= 10
            }
        }
        #expect(certificate.serialDecimal == digits.map(String.init).joined())
        #expect(certificate.serialDecimal.count > 30)  // rand_serial: a 128-bit-class number
    }

    @Test func signaturesVerifyWithOpenSSL() throws {
        for name in ["rsa2048-pkcs1", "ec-p384-sec1"] {
            let key = try PrivateKey.load(path: pki.path("clients/\(name).key"))
            let message = Array("AWS4-X509 string to sign\n".utf8)
            let signature = try key.signSHA256(message)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try Data(message).write(to: directory.appendingPathComponent("message"))
            try Data(signature).write(to: directory.appendingPathComponent("signature"))
            _ = try openssl(
                "pkey", "-in", pki.path("clients/\(name).key"), "-pubout", "-out", directory.appendingPathComponent("public.pem").path)
            let verdict = try openssl(
                "dgst", "-sha256", "-verify", directory.appendingPathComponent("public.pem").path,
                "-signature", directory.appendingPathComponent("signature").path, directory.appendingPathComponent("message").path)
            #expect(verdict.contains("Verified OK"), "\(name): \(verdict)")
        }
    }

    @Test func mismatchedKeyIsDetected() throws {
        let key = try PrivateKey.load(path: pki.path("clients/rsa2048-pkcs8.key"))
        let certificate = try Certificate.load(path: pki.path("clients/direct/rsa2048-pkcs1.crt"))
        #expect(!certificate.matches(key))
    }

    @Test func encryptedKeyIsRefusedWithoutPrompting() throws {
        let error = try #require(throws: CryptoError.self) { try PrivateKey.load(path: pki.path("broken/encrypted.key")) }
        #expect(error.code == .encryptedPrivateKey)
    }

    @Test func ed25519IsUnsupported() throws {
        let error = try #require(throws: CryptoError.self) { try PrivateKey.load(path: pki.path("broken/ed25519.key")) }
        #expect(error.code == .unsupportedKey)
        #expect(error.message.contains("is ED25519"))
    }

    @Test func validityWindow() throws {
        let expired = try Certificate.load(path: pki.path("broken/expired.crt"))
        #expect(expired.notAfter == UTCTime.parseRFC3339("2021-01-01T00:00:00Z"))
        #expect(expired.notBefore == UTCTime.parseRFC3339("2020-01-01T00:00:00Z"))
        let error = try #require(throws: CryptoError.self) {
            try RolesAnywhereClient.checkValidity(expired, path: "expired.crt", now: Date())
        }
        #expect(error.code == .certificateExpired)
        try RolesAnywhereClient.checkValidity(expired, path: "expired.crt", now: UTCTime.parseRFC3339("2020-06-01T00:00:00Z")!)
    }

    @Test func bundleLoadsEveryCertificateAndRefusesOtherBlocks() throws {
        let chain = try Certificate.loadBundle(path: pki.path("clients/chain.pem"))
        #expect(chain.count == 1)
        #expect(chain[0].subject.contains("CN=Test Intermediate CA"))
        let error = try #require(throws: CryptoError.self) { try Certificate.loadBundle(path: pki.path("clients/ec-p256-pkcs8.key")) }
        #expect(error.code == .invalidChain)
    }

    @Test func pemParserKeepsBlocksAndHeaders() throws {
        let text = """
            Bag Attributes: ignored
            -----BEGIN RSA PRIVATE KEY-----
            Proc-Type: 4,ENCRYPTED
            DEK-Info: AES-128-CBC,00

            AAEC
            -----END RSA PRIVATE KEY-----
            -----BEGIN CERTIFICATE-----
            AAEC
            -----END CERTIFICATE-----
            """
        let blocks = try #require(PEMBlock.parseAll(text))
        #expect(blocks.map(\.label) == ["RSA PRIVATE KEY", "CERTIFICATE"])
        #expect(blocks[0].headers["Proc-Type"] == "4,ENCRYPTED")
        #expect(blocks[1].der == Data([0, 1, 2]))
        #expect(PEMBlock.parseAll("-----BEGIN CERTIFICATE-----\nAAEC\n") == nil)
    }
}
