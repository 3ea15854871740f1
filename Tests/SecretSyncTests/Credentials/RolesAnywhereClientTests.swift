import Foundation
import Logging
import Testing

@testable import SecretSync

/// A transport that records requests and answers from a script, for driving the client without a network.
final class ScriptedTransport: HTTPTransport, @unchecked Sendable {
    // @unchecked Sendable: every access goes through `lock`.
    private let lock = NSLock()
    private var answers: [Result<HTTPResponse, HTTPError>]
    private(set) var requests: [HTTPRequest] = []

    init(_ answers: [Result<HTTPResponse, HTTPError>]) { self.answers = answers }

    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }
        requests.append(request)
        precondition(!answers.isEmpty, "ScriptedTransport: no answer left for \(request.url)")
        return try answers.removeFirst().get()
    }

    var sent: [HTTPRequest] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }
}

func createdResponse(expiration: String = "2026-01-02T04:04:05Z") -> HTTPResponse {
    let body = """
        {"credentialSet":[{"credentials":{"accessKeyId":"ASIATESTTESTTEST0000","secretAccessKey":"test-secret-key","sessionToken":"test-session-token","expiration":"\(expiration)"},"roleArn":"arn:aws:iam::111122223333:role/r"}],"subjectArn":"x"}
        """
    return HTTPResponse(status: 201, headers: [("Content-Type", "application/json")], body: Data(body.utf8))
}

func errorResponse(_ status: Int, _ type: String, _ message: String, date: String? = nil) -> HTTPResponse {
    var headers = [("X-Amzn-ErrorType", type), ("x-amzn-RequestId", "req-1")]
    if let date { headers.append(("Date", date)) }
    return HTTPResponse(status: status, headers: headers, body: Data(#"{"message":"\#(message)"}"#.utf8))
}

@Suite("Roles Anywhere client")
struct RolesAnywhereClientTests {
    let pki = TestPKI.shared
    /// A fixed instant inside the test certificates' validity, in whole seconds.
    static let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))

    static func httpDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: date)
    }

    func configuration(_ name: String = "ec-p384-sec1", chained: Bool = false) -> RolesAnywhereConfiguration {
        RolesAnywhereConfiguration(
            certificatePath: pki.path("clients/\(chained ? "chained" : "direct")/\(name).crt"),
            privateKey: .file(pki.path("clients/\(name).key")),
            intermediatesPath: chained ? pki.path("clients/chain.pem") : nil,
            trustAnchorArn: "arn:aws:rolesanywhere:eu-central-1:111122223333:trust-anchor/ta",
            profileArn: "arn:aws:rolesanywhere:eu-central-1:111122223333:profile/p",
            roleArn: "arn:aws:iam::111122223333:role/r")
    }

    func client(_ configuration: RolesAnywhereConfiguration, _ transport: ScriptedTransport, environment: [String: String] = [:])
        -> RolesAnywhereClient
    {
        RolesAnywhereClient(
            configuration: configuration, transport: transport, environment: environment,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, clock: { Self.now })
    }

    @Test func requestCarriesWhatAWSExpects() throws {
        let transport = ScriptedTransport([.success(createdResponse())])
        let configuration = configuration(chained: true)
        let credentials = try client(configuration, transport).createSession()
        #expect(credentials.accessKeyId == "ASIATESTTESTTEST0000")
        #expect(credentials.secretAccessKey.reveal() == "test-secret-key")
        #expect(credentials.expiration == UTCTime.parseRFC3339("2026-01-02T04:04:05Z"))

        let request = try #require(transport.sent.first)
        #expect(request.method == "POST")
        #expect(
            request.url
                == "https://rolesanywhere.eu-central-1.amazonaws.com/sessions?profileArn=arn%3Aaws%3Arolesanywhere%3Aeu-central-1%3A111122223333%3Aprofile%2Fp&roleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fr&trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aeu-central-1%3A111122223333%3Atrust-anchor%2Fta"
        )
        #expect(String(decoding: request.body, as: UTF8.self) == #"{"durationSeconds":3600}"#)
        let headers = Dictionary(request.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
        let certificate = try Certificate.load(path: configuration.certificatePath)
        let intermediate = try Certificate.load(path: pki.path("clients/chain.pem"))
        #expect(headers["content-type"] == "application/json")
        #expect(headers["host"] == "rolesanywhere.eu-central-1.amazonaws.com")
        #expect(headers["x-amz-date"] == UTCTime.amzDate(Self.now))
        #expect(headers["x-amz-x509"] == certificate.der.base64EncodedString())
        #expect(headers["x-amz-x509-chain"] == intermediate.der.base64EncodedString())
        let authorization = try #require(headers["authorization"])
        #expect(
            authorization.hasPrefix(
                "AWS4-X509-ECDSA-SHA256 Credential=\(certificate.serialDecimal)/\(UTCTime.amzDate(Self.now).prefix(8))/eu-central-1/rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain, Signature="
            ))
        let signature = String(authorization.split(separator: "=").last!)
        #expect(signature.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(signature.hasPrefix("30"))  // a DER SEQUENCE, not raw r‖s
    }

    @Test func rsaKeysUseTheRSAAlgorithm() throws {
        let transport = ScriptedTransport([.success(createdResponse())])
        _ = try client(configuration("rsa2048-pkcs1"), transport).createSession()
        let authorization = try #require(transport.sent.first?.headers.first { $0.name == "Authorization" }?.value)
        #expect(authorization.hasPrefix("AWS4-X509-RSA-SHA256 Credential="))
        #expect(!transport.sent[0].headers.contains { $0.name == "X-Amz-X509-Chain" })
    }

    @Test func renewedCertificateIsReadOnTheNextCall() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = configuration()
        configuration.certificatePath = directory.appendingPathComponent("client.crt").path
        let keyPath = directory.appendingPathComponent("client.key").path
        configuration.privateKey = .file(keyPath)
        let transport = ScriptedTransport([.success(createdResponse()), .success(createdResponse())])
        let client = client(configuration, transport)
        for name in ["ec-p256-sec1", "rsa2048-pkcs8"] {
            try? FileManager.default.removeItem(atPath: configuration.certificatePath)
            try? FileManager.default.removeItem(atPath: keyPath)
            try FileManager.default.copyItem(atPath: pki.path("clients/direct/\(name).crt"), toPath: configuration.certificatePath)
            try FileManager.default.copyItem(atPath: pki.path("clients/\(name).key"), toPath: keyPath)
            _ = try client.createSession()
        }
        let certificates = transport.sent.map { $0.headers.first { $0.name == "X-Amz-X509" }?.value }
        #expect(certificates.count == 2)
        #expect(certificates[0] != certificates[1])
    }

    @Test func serverFaultsAreRetriedAndRefusalsAreNot() throws {
        let retried = ScriptedTransport([.success(errorResponse(500, "InternalServerException", "boom")), .success(createdResponse())])
        _ = try client(configuration(), retried).createSession()
        #expect(retried.sent.count == 2)

        let refused = ScriptedTransport([.success(errorResponse(403, "AccessDeniedException", "Untrusted signing certificate"))])
        let error = try #require(throws: RolesAnywhereError.self) { try client(configuration(), refused).createSession() }
        #expect(refused.sent.count == 1)
        #expect(error.awsErrorCode == "AccessDeniedException")
        #expect(
            error.message
                == "IAM Roles Anywhere refused CreateSession: AccessDeniedException: Untrusted signing certificate (HTTP 403, request ID req-1)"
        )
        #expect(error.fix?.contains("intermediates") == true)

        let exhausted = ScriptedTransport(Array(repeating: .success(errorResponse(503, "ServiceUnavailable", "later")), count: 3))
        #expect(throws: RolesAnywhereError.self) { try client(configuration(), exhausted).createSession() }
        #expect(exhausted.sent.count == 3)
    }

    @Test func clockSkewIsMeasuredFromTheDateHeader() throws {
        let transport = ScriptedTransport([
            .success(
                errorResponse(403, "AccessDeniedException", "Signature expired", date: Self.httpDate(Self.now.addingTimeInterval(9000))))
        ])
        let error = try #require(throws: RolesAnywhereError.self) { try client(configuration(), transport).createSession() }
        #expect(error.message.hasSuffix("; this host's clock is 2h 30m behind the server's"))
    }

    @Test func malformedAnswersAreReported() throws {
        let empty = HTTPResponse(status: 201, headers: [], body: Data(#"{"credentialSet":[]}"#.utf8))
        let error = try #require(throws: RolesAnywhereError.self) {
            try client(configuration(), ScriptedTransport([.success(empty)])).createSession()
        }
        #expect(error.message.contains("unable to obtain temporary security credentials from CreateSession"))
        let html = HTTPResponse(status: 200, headers: [], body: Data("<html>proxy login</html>".utf8))
        #expect(throws: RolesAnywhereError.self) { try client(configuration(), ScriptedTransport([.success(html)])).createSession() }
    }

    @Test func customEndpointBasePathIsSentAndSigned() throws {
        var configuration = configuration()
        configuration.endpoint = "https://proxy.internal:8443/ra/"
        let transport = ScriptedTransport([.success(createdResponse())])
        _ = try client(configuration, transport).createSession()
        let request = try #require(transport.sent.first)
        #expect(request.url.hasPrefix("https://proxy.internal:8443/ra/sessions?"))
        #expect(request.headers.contains { $0.name == "Host" && $0.value == "proxy.internal:8443" })
    }

    @Test func credentialsNeverShowInTheirDescription() throws {
        let transport = ScriptedTransport([.success(createdResponse())])
        let credentials = try client(configuration(), transport).createSession()
        let text = "\(credentials) \(credentials.secretAccessKey) \(String(reflecting: credentials.sessionToken))"
        #expect(!text.contains("test-secret-key"))
        #expect(!text.contains("test-session-token"))
        #expect(
            CredentialProcessOutput.json(credentials)
                == #"{"Version":1,"AccessKeyId":"ASIATESTTESTTEST0000","SecretAccessKey":"test-secret-key","SessionToken":"test-session-token","Expiration":"2026-01-02T04:04:05Z"}"#
        )
    }
}
