/// One stored version of a secret or parameter, as AWS answered for it: its ARN, name and
/// version ID (a parameter's is its `Version` number), and its value.
package struct StoredValue: Sendable {
    package let arn: String
    package let name: String
    package let versionId: String
    package let payload: ValuePayload
    /// The fallback region that answered, when the entry's own region could not be reached.
    package var servedBy: String? = nil
}
