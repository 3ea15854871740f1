import Foundation
import Testing

@testable import SecretSync

/// Numbers, times and names from manifests, flags and the network are checked before use.
@Suite("Input checks")
struct InputCheckTests {
    @Test func durationsAreRangeCheckedBeforeConversion() {
        #expect(DurationParser.parse("5m", within: 1...86400) == .valid(300))
        #expect(DurationParser.parse("1h30m", within: 1...86400) == .valid(5400))
        #expect(DurationParser.parse("2d", within: 1...86400) == .outOfRange)
        #expect(DurationParser.parse("10000000000000000000s", within: 1...86400) == .outOfRange)
        #expect(DurationParser.parse("99999999999999999999999999999h", within: 1...86400) == .outOfRange)
        #expect(DurationParser.parse("5ms", within: 1...86400, milliseconds: false) == .malformed)
        #expect(DurationParser.parse("500ms", within: 0.1...10) == .valid(0.5))
        #expect(DurationParser.parse("30", within: 1...86400) == .malformed)
        #expect(DurationParser.parse("0s", within: 1...86400) == .malformed)
        #expect(DurationParser.parse("", within: 1...86400) == .malformed)
    }

    @Test(arguments: [
        "2026-01-02T03:04:05Z", "2026-01-02t03:04:05z", "2026-01-02 03:04:05+00:00", "2026-01-02T03:04:05+0000",
        "2026-01-02T03:04:05", "2026-01-02T03:04:05.000Z", "2026-01-02T05:04:05+02:00", "2026-01-02T01:04:05-02",
        "  2026-01-02T03:04:05Z ",
    ])
    func credentialProcessTimestampsInEveryAcceptedForm(text: String) throws {
        let date = try #require(UTCTime.parseAWSTimestamp(text))
        #expect(UTCTime.rfc3339(date) == "2026-01-02T03:04:05Z")
    }

    @Test(arguments: ["next tuesday", "2026-13-02T03:04:05Z", "2026-01-02T25:04:05Z", "2026-01-02T03:04:05+99:00", "2026-01-02", "12345"])
    func timestampsThatAreNotAreRefused(text: String) {
        #expect(UTCTime.parseAWSTimestamp(text) == nil)
    }

    @Test func strictRFC3339WantsAZone() {
        #expect(UTCTime.parseRFC3339("2026-01-02T03:04:05Z") != nil)
        #expect(UTCTime.parseRFC3339("2026-01-02T03:04:05") == nil)
        #expect(UTCTime.parseRFC3339("2026-01-02 03:04:05Z") == nil)
    }

    @Test func hostileHTTPDatesAreRefusedNotTrapped() {
        #expect(UTCTime.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") != nil)
        #expect(UTCTime.parseHTTPDate("Sun, 06 Nov -2147483648 00:00:00 GMT") == nil)
        #expect(UTCTime.parseHTTPDate("Sun, 99999999999 Nov 1994 00:00:00 GMT") == nil)
        #expect(UTCTime.parseHTTPDate("Sun, 06 Nov 1994 99:00:00 GMT") == nil)
    }

    @Test func credentialProcessOutputNeverMeansForever() throws {
        func parse(_ expiration: String) throws -> AWSCredentials {
            try CredentialProcessOutput.parse(
                Array(#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S","Expiration":\#(expiration)}"#.utf8), profile: "p",
                now: Date(timeIntervalSince1970: 1_700_000_000))
        }
        #expect(try parse(#""2030-01-01 00:00:00+00:00""#).expiration == UTCTime.parseRFC3339("2030-01-01T00:00:00Z"))
        #expect(throws: CredentialSourceError.self) { try parse(#""next tuesday""#) }
        #expect(throws: CredentialSourceError.self) { try parse("12345") }
        #expect(throws: CredentialSourceError.self) { try parse(#""2020-01-01T00:00:00Z""#) }
        #expect(try parse("null").expiration == nil)
    }

    @Test(arguments: ["us-west-2", "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-isob-east-1", "eusc-de-east-1", "ap-southeast-5"])
    func regionsThatAre(region: String) {
        #expect(Region.isValid(region))
    }

    @Test(arguments: [
        "evil.example/x", "us-west-2.evil.example", "us-west", "US-WEST-2", "us-west-2a", "", "a-b-1", "us--west-2", "us-west-123",
    ])
    func regionsThatAreNot(region: String) {
        #expect(!Region.isValid(region))
    }

    @Test func aRegionMustBelongToItsARNsPartition() {
        #expect(Region.problem("cn-north-1", partition: "aws-cn") == nil)
        #expect(Region.problem("cn-north-1", partition: "aws")?.message == "region cn-north-1 belongs to partition aws-cn, not aws")
        #expect(throws: EndpointError.self) {
            try Endpoint.resolve(explicit: nil, serviceEnvironmentName: "X", hostPrefix: "x", region: "evil.example/x", environment: [:])
        }
    }

    @Test(arguments: [
        "LD_PRELOAD", "ld_library_path", "PATH", "BASH_ENV", "https_proxy", "MALLOC_ARENA_MAX", "NOTIFY_SOCKET", "AWS_REGION",
        "AWS_CA_BUNDLE", "aws_endpoint_url_sts", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "SSLKEYLOGFILE", "GRPC_PROXY", "no_proxy",
        "PYTHONSAFEPATH", "JAVA_TOOL_OPTIONS", "MAVEN_OPTS", "SECRET_SYNC_CHANGED", "XDG_CONFIG_HOME", "WATCHDOG_USEC",
        "LUA_INIT", "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "COMPLUS_ENABLEEVENTPIPE", "PHPRC", "PHP_INI_SCAN_DIR", "GOFLAGS",
        "PKCS11_MODULE_PATH", "ZDOTDIR", "KUBECONFIG",
    ])
    func protectedVariables(name: String) {
        #expect(ProtectedVariables.contains(name))
    }

    @Test(arguments: [
        "DB_PASSWORD", "APP_PATH", "LANG", "PATHS", "APP_AWS_KEY", "PROXY_HOST", "DB_CERT", "GOOGLE_API_KEY", "PHP_APP_KEY", "USER",
    ])
    func ordinaryVariables(name: String) {
        #expect(!ProtectedVariables.contains(name))
    }

    @Test func protectedNamesAreUpperCasedAsASCIIOnly() {
        #expect(ProtectedVariables.asciiUppercased("straße") == "STRAßE")
        // U+017F (long s) upper-cases to S in Unicode; a variable name is ASCII, so it stays.
        #expect(!ProtectedVariables.contains("pyth\u{17F}n"))
        #expect(ProtectedVariables.reason(for: "AWS_ENDPOINT_URL").contains("AWS_*"))
    }

    @Test func logLinesCannotBeForged() {
        #expect("denied\nnotice: forged\r\u{1b}[2J".escapingControlCharacters == #"denied\nnotice: forged\r\u001b[2J"#)
        #expect("plain text".escapingControlCharacters == "plain text")
    }

    @Test func temporaryNamesFitNAMEMAX() {
        for length in [1, 200, 221, 222, 255] {
            let name = String(repeating: "é", count: length / 2) + String(repeating: "n", count: length % 2)
            #expect((AtomicFileWriter.temporaryPrefix(for: name) + "0123456789abcdef").utf8.count <= 255)
        }
    }

    @Test func longNamesThatShareABeginningGetDistinctTemporaryPrefixes() {
        let common = String(repeating: "n", count: 230)
        let a = AtomicFileWriter.temporaryPrefix(for: common + "-a")
        let b = AtomicFileWriter.temporaryPrefix(for: common + "-b")
        #expect(a != b && !a.hasPrefix(b) && !b.hasPrefix(a))
        #expect(AtomicFileWriter.temporaryPrefix(for: "db") == ".db.secret-sync-tmp-")
    }

    @Test func numberTextFormatsLikePrintf() {
        #expect(NumberText.fixed(0.005, 3) == "0.005")
        #expect(NumberText.fixed(-0.4, 1) == "-0.4")
        #expect(NumberText.fixed(1.5, 0) == "2")
        #expect(NumberText.fixed(1e19, 3) == "1e+19")
        #expect(NumberText.padded(7, 2) == "07")
    }
}
