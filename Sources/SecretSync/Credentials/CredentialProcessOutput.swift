/// The JSON that AWS SDKs and the AWS CLI read from a `credential_process` command.
public enum CredentialProcessOutput {
    /// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":…}`, members
    /// in the order `aws_signing_helper` prints them. This is the one place credentials are revealed.
    public static func json(_ credentials: AWSCredentials) -> String {
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
}
