/// An Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
public struct ARN: Sendable, Equatable, CustomStringConvertible {
    public let partition: String
    public let service: String
    public let region: String
    public let account: String
    public let resource: String

    public init(partition: String, service: String, region: String, account: String, resource: String) {
        self.partition = partition
        self.service = service
        self.region = region
        self.account = account
        self.resource = resource
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", !parts[1].isEmpty, !parts[2].isEmpty, !parts[5].isEmpty else {
            return nil
        }
        partition = String(parts[1])
        service = String(parts[2])
        region = String(parts[3])
        account = String(parts[4])
        resource = String(parts[5])
    }

    public var description: String { "arn:\(partition):\(service):\(region):\(account):\(resource)" }

    /// The resource type before the first `/` or `:` (`trust-anchor`, `profile`, `role`, `secret`).
    public var resourceType: String { String(resource.split(maxSplits: 1, whereSeparator: { $0 == "/" || $0 == ":" }).first ?? "") }
}
