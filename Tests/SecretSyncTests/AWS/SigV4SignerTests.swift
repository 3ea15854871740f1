import Foundation
import Testing

@testable import SecretSync

@Suite("SigV4 for Secrets Manager and Roles Anywhere canonical form")
struct SigV4SignerTests {
    /// The worked GetSecretValue example of shared/AWS-PROTOCOL.md §5.2 (checked there with botocore).
    @Test func getSecretValueWorkedExample() throws {
        let credentials = AWSCredentials(
            accessKeyId: "ASIAEXAMPLEEXAMPLE00",
            secretAccessKey: RedactedString("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            sessionToken: RedactedString("EXAMPLE-SESSION-TOKEN"))
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "secretsmanager")
        var request = SignableRequest(
            method: "POST", path: "/",
            headers: [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Host", "secretsmanager.us-east-1.amazonaws.com"),
                ("X-Amz-Target", "secretsmanager.GetSecretValue"),
            ],
            body: Array(#"{"SecretId":"prod/db"}"#.utf8))
        let date = try #require(UTCTime.parseRFC3339("2025-01-02T03:04:05Z"))
        let result = signer.sign(&request, at: date)
        #expect(Digest.sha256Hex(Array(result.canonicalRequest.utf8)) == "1b0e8e5f023277d99b87c8d1cf143d9cf5192c5d58539cedd4b2334c6026cdbf")
        #expect(signer.signingKey(date: "20250102").lowercaseHex == "f21e9eb2ed9fc33e404e453a8267b938b2cedf2386babd3912b9983f5bedcf44")
        #expect(result.signature == "9ddca8b0e582156d32df37ba2babafd10d585a1ffc59b1226c79e130260c6ace")
        #expect(
            request.header("Authorization")
                == "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE00/20250102/us-east-1/secretsmanager/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature=9ddca8b0e582156d32df37ba2babafd10d585a1ffc59b1226c79e130260c6ace"
        )
        #expect(request.header("X-Amz-Security-Token") == "EXAMPLE-SESSION-TOKEN")
    }

    /// The CreateSession canonical request of shared/AWS-PROTOCOL.md §1.6 (ARNs in the query).
    @Test func createSessionCanonicalRequest() {
        let request = SignableRequest(
            method: "POST", path: "/sessions",
            query: [
                ("profileArn", "arn:aws:rolesanywhere:us-east-1:111122223333:profile/00000000-0000-4000-8000-000000000001"),
                ("roleArn", "arn:aws:iam::111122223333:role/app-reader"),
                ("trustAnchorArn", "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/00000000-0000-4000-8000-000000000002"),
            ],
            headers: [
                ("Content-Type", "application/json"),
                ("Host", "rolesanywhere.us-east-1.amazonaws.com"),
                ("X-Amz-Date", "20250102T030405Z"),
                ("X-Amz-X509", "MIIBEXAMPLECERTDATA=="),
                ("X-Amz-X509-Chain", "MIIBEXAMPLEINTERMEDIATE1==,MIIBEXAMPLEINTERMEDIATE2=="),
            ],
            body: Array(#"{"durationSeconds":3600}"#.utf8))
        let canonical = CanonicalRequest.build(request)
        #expect(canonical.signedHeaders == "content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain")
        #expect(Digest.sha256Hex(Array(canonical.text.utf8)) == "04adbb39380cb9e213a19fb88ab813de0c63732c43926e7958074719d98d6043")
        let stringToSign = CanonicalRequest.stringToSign(
            algorithm: "AWS4-X509-ECDSA-SHA256", amzDate: "20250102T030405Z",
            scope: CanonicalRequest.scope(amzDate: "20250102T030405Z", region: "us-east-1", service: "rolesanywhere"),
            canonicalRequest: canonical.text)
        #expect(Digest.sha256Hex(Array(stringToSign.utf8)) == "399a760f78ce4d29a46d2f6ab93f079e49dbb2ffdf0238bf0f9f1519ec8a4698")
    }

    @Test func unsignedHeadersAreLeftOut() {
        let headers = CanonicalRequest.canonicalHeaders([
            ("Host", "h"), ("User-Agent", "x"), ("X-Amzn-Trace-Id", "t"), ("Authorization", "a"), ("X-Amz-Date", "d"),
        ])
        #expect(headers.signed == "host;x-amz-date")
    }

    @Test func percentEncoding() {
        #expect(CanonicalRequest.percentEncode("arn:aws:iam::1:role/a b+c~") == "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b%2Bc~")
        #expect(CanonicalRequest.percentEncode("/a b/ሴ", keepSlash: true) == "/a%20b/%E1%88%B4")
    }
}
