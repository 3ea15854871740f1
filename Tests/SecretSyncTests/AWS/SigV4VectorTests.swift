import Foundation
import Testing

@testable import SecretSync

/// One case of the AWS SigV4 test suite (see Fixtures/sigv4/SOURCE.md).
struct SigV4Vector: CustomTestStringConvertible, Sendable {
    let name: String
    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/sigv4")

    static var all: [SigV4Vector] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasSuffix(".md") }.sorted().map(SigV4Vector.init)
    }

    func file(_ name: String) throws -> String {
        try String(contentsOf: Self.directory.appendingPathComponent(self.name).appendingPathComponent(name), encoding: .utf8)
    }

    struct Context: Decodable {
        struct Credentials: Decodable {
            let access_key_id: String
            let secret_access_key: String
            let token: String?
        }
        let credentials: Credentials
        let normalize: Bool
        let region: String
        let service: String
        let sign_body: Bool
        let timestamp: String
        let omit_session_token: Bool?
    }

    /// Parses `request.txt`: request line, headers (with folded continuation lines), body.
    func request() throws -> SignableRequest {
        let text = try file("request.txt")
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        let method = String(requestLine[0])
        // The target may itself contain spaces (get-space-*): everything between method and version.
        let target = requestLine[1..<(requestLine.count - 1)].joined(separator: " ")
        var headers = [(name: String, value: String)]()
        var bodyLines = [String]()
        var inBody = false
        for line in lines {
            if inBody {
                bodyLines.append(line)
            } else if line.isEmpty {
                inBody = true
            } else if line.first == " " || line.first == "\t", !headers.isEmpty {
                headers[headers.count - 1].value += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        let pathAndQuery = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query = [(name: String, value: String)]()
        if pathAndQuery.count == 2 {
            for pair in pathAndQuery[1].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
                let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
                query.append((name, value))
            }
        }
        return SignableRequest(
            method: method, path: String(pathAndQuery[0]), query: query, headers: headers,
            body: Array(bodyLines.joined(separator: "\n").utf8))
    }
}

@Suite("SigV4 test suite")
struct SigV4VectorTests {
    @Test("the suite is present", .tags(.vectors))
    func suiteIsPresent() {
        // A missing fixture folder must fail, not silently run zero cases.
        #expect(SigV4Vector.all.count == 38)
    }

    @Test("signs like the published vector", .tags(.vectors), arguments: SigV4Vector.all)
    func vector(_ vector: SigV4Vector) throws {
        let context = try JSONDecoder().decode(SigV4Vector.Context.self, from: Data(try vector.file("context.json").utf8))
        let credentials = AWSCredentials(
            accessKeyId: context.credentials.access_key_id,
            secretAccessKey: RedactedString(context.credentials.secret_access_key),
            sessionToken: context.credentials.token.map(RedactedString.init))
        let signer = SigV4Signer(credentials: credentials, region: context.region, service: context.service)
        var options = SigV4Signer.Options()
        options.normalizePath = context.normalize
        options.addContentSHA256Header = context.sign_body
        options.signSessionToken = !(context.omit_session_token ?? false)
        let date = try #require(UTCTime.parseRFC3339(context.timestamp))

        var request = try vector.request()
        let result = signer.sign(&request, at: date, options: options)

        #expect(result.canonicalRequest == (try vector.file("header-canonical-request.txt")))
        #expect(result.stringToSign == (try vector.file("header-string-to-sign.txt")))
        #expect(result.signature == (try vector.file("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

extension Tag {
    @Tag static var vectors: Self
}
