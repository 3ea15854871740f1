/// One stored version of a secret or parameter, as AWS answered for it: its ARN, name and
/// version ID (a parameter's is its `Version` number), and its value.
public struct StoredValue: Sendable {
    public let arn: String
    public let name: String
    public let versionId: String
    public let payload: ValuePayload
    /// The fallback region that answered, when the entry's own region could not be reached.
    public var servedBy: String? = nil
}
