import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The JSON that AWS SDKs and the AWS CLI read from a `credential_process` command.
package enum CredentialProcessOutput {
    /// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":…}`, members
    /// in the order `aws_signing_helper` prints them. This is the one place credentials are revealed.
    package static func json(_ credentials: AWSCredentials) -> String {
        var members = [
            "\"Version\":1",
            "\"AccessKeyId\":\(JSONText.quote(credentials.accessKeyId))",
            "\"SecretAccessKey\":\(JSONText.quote(credentials.secretAccessKey.reveal()))",
        ]
        if let token = credentials.sessionToken {
            members.append("\"SessionToken\":\(JSONText.quote(token.reveal()))")
        }
        if let expiration = credentials.expirationText ?? credentials.expiration.map(UTCTime.rfc3339) {
            members.append("\"Expiration\":\(JSONText.quote(expiration))")
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    /// Reads a `credential_process`'s Version 1 JSON as the AWS SDKs do. `Expiration` may be any
    /// timestamp form the SDKs accept (``UTCTime/parseAWSTimestamp(_:)``); anything else, or
    /// credentials already expired, is an error naming the field — never "valid forever".
    static func parse(_ output: [UInt8], profile: String, now: Date = Date()) throws -> AWSCredentials {
        func failure(_ message: String, _ fix: String) -> CredentialSourceError {
            CredentialSourceError(message: "credential_process of profile '\(profile)': \(message)", fix: fix)
        }
        guard let object = JSONDocument.parse(output), object["Version"]?.integer == 1, let accessKey = object["AccessKeyId"]?.string,
            let secretKey = object["SecretAccessKey"]?.string
        else {
            throw failure("did not print Version 1 JSON with AccessKeyId and SecretAccessKey", "check the command by running it by hand")
        }
        let timestampFix = "print Expiration as an RFC 3339 time, e.g. 2026-01-02T03:04:05Z"
        var expiration: Date?
        var expirationText: String?
        if let value = object["Expiration"], value != .null {
            guard let text = value.string else { throw failure("Expiration must be a text timestamp", timestampFix) }
            guard let parsed = UTCTime.parseAWSTimestamp(text) else {
                throw failure("Expiration '\(text.prefix(64))' is not a timestamp", timestampFix)
            }
            guard parsed > now else {
                throw failure(
                    "returned credentials that expired at \(UTCTime.rfc3339(parsed))",
                    "check the command's clock and its source of credentials")
            }
            expiration = parsed
            expirationText = text
        }
        return AWSCredentials(
            accessKeyId: accessKey, secretAccessKey: RedactedString(secretKey),
            sessionToken: object["SessionToken"]?.string.map(RedactedString.init), expiration: expiration,
            expirationText: expirationText, source: .profile(profile))
    }
}
