import Foundation
import Testing

@testable import SecretSync

@Suite("Endpoints, ARNs and AWS errors")
struct EndpointAndErrorTests {
    @Test(arguments: [
        ("us-west-2", "https://rolesanywhere.us-west-2.amazonaws.com"),
        ("cn-north-1", "https://rolesanywhere.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", "https://rolesanywhere.cn-northwest-1.amazonaws.com.cn"),
        ("us-gov-west-1", "https://rolesanywhere.us-gov-west-1.amazonaws.com"),
    ])
    func defaultEndpointFollowsThePartition(region: String, expected: String) throws {
        let endpoint = try Endpoint.resolve(
            explicit: nil, serviceEnvironmentName: "ROLESANYWHERE", hostPrefix: "rolesanywhere", region: region, environment: [:])
        #expect(endpoint.description == expected)
    }

    @Test func precedenceOfOverrides() throws {
        func resolve(_ explicit: String?, _ environment: [String: String]) throws -> String {
            try Endpoint.resolve(
                explicit: explicit, serviceEnvironmentName: "ROLESANYWHERE", hostPrefix: "rolesanywhere",
                region: "us-west-2", environment: environment
            ).description
        }
        let both = ["AWS_ENDPOINT_URL": "https://generic:1", "AWS_ENDPOINT_URL_ROLESANYWHERE": "https://specific:2"]
        #expect(try resolve(nil, both) == "https://specific:2")
        #expect(try resolve(nil, ["AWS_ENDPOINT_URL": "https://generic:1"]) == "https://generic:1")
        #expect(try resolve("https://explicit", both) == "https://explicit")
        #expect(
            try resolve(nil, both.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 })
                == "https://rolesanywhere.us-west-2.amazonaws.com")
        #expect(throws: EndpointError.self) { try resolve("rolesanywhere.us-west-2.amazonaws.com", [:]) }
    }

    @Test func hostHeaderKeepsOnlyNonDefaultPorts() throws {
        #expect(try Endpoint(url: "https://h:443", source: "t").hostHeader == "h")
        // An IPv6 literal: bracketed once in the Host header and the URL, never twice.
        let literal = try Endpoint(url: "http://[::1]:9911", source: "t")
        #expect(literal.host == "::1" && literal.hostHeader == "[::1]:9911" && literal.description == "http://[::1]:9911")
        #expect(try Endpoint(url: "https://h:4566", source: "t").hostHeader == "h:4566")
        #expect(try Endpoint(url: "http://h:80/", source: "t").hostHeader == "h")
    }

    @Test func configurationChecksItsARNs() throws {
        var configuration = RolesAnywhereConfiguration(
            certificatePath: "c", privateKey: .file("k"),
            trustAnchorArn: "arn:aws-cn:rolesanywhere:cn-north-1:1:trust-anchor/a",
            profileArn: "arn:aws-cn:rolesanywhere:cn-north-1:1:profile/b", roleArn: "arn:aws-cn:iam::1:role/c")
        #expect(try configuration.resolve().region == "cn-north-1")
        configuration.region = "cn-northwest-1"
        #expect(try configuration.resolve().region == "cn-northwest-1")
        configuration.profileArn = "arn:aws:rolesanywhere:cn-north-1:1:profile/b"
        let error = try #require(throws: RolesAnywhereError.self) { try configuration.resolve() }
        #expect(error.isUsageError)
    }

    @Test func errorShapes() {
        let json = HTTPResponse(
            status: 400, headers: [],
            body: Data(
                #"{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#
                    .utf8))
        #expect(
            AWSErrorBody.parse(json)
                == AWSErrorBody(
                    code: "ResourceNotFoundException", message: "Secrets Manager can't find the specified secret.", status: 400,
                    requestId: nil))
        let xml = HTTPResponse(
            status: 403, headers: [("x-amzn-RequestId", "r")],
            body: Data(
                "<ErrorResponse><Error><Code>AccessDeniedException</Code><Message>User is not authorized</Message></Error></ErrorResponse>"
                    .utf8))
        #expect(
            AWSErrorBody.parse(xml)
                == AWSErrorBody(code: "AccessDeniedException", message: "User is not authorized", status: 403, requestId: "r"))
        let header = HTTPResponse(
            status: 400, headers: [("X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/")],
            body: Data(#"{"message":"bad"}"#.utf8))
        #expect(AWSErrorBody.parse(header).code == "ValidationException")
        #expect(AWSErrorBody.parse(HTTPResponse(status: 502, headers: [], body: Data())).isRetryable)
    }

    @Test func timeFormats() {
        let date = UTCTime.parseRFC3339("2026-11-29T01:02:03.5+01:00")
        #expect(date == UTCTime.parseRFC3339("2026-11-29T00:02:03.5Z"))
        #expect(UTCTime.amzDate(UTCTime.parseRFC3339("2026-11-29T01:02:03Z")!) == "20261129T010203Z")
        #expect(UTCTime.parseHTTPDate("Sun, 29 Nov 2026 01:02:03 GMT") == UTCTime.parseRFC3339("2026-11-29T01:02:03Z"))
        #expect(UTCTime.parseRFC3339("2026-11-29 01:02:03") == nil)
        #expect(DurationText.describe(7199.6) == "2h")
        #expect(DurationText.describe(-90) == "1m 30s")
    }
}
