/// An Amazon Resource Name: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
package struct ARN: Sendable, Equatable, CustomStringConvertible {
    package let partition: String
    package let service: String
    package let region: String
    package let account: String
    package let resource: String

    package init(partition: String, service: String, region: String, account: String, resource: String) {
        self.partition = partition
        self.service = service
        self.region = region
        self.account = account
        self.resource = resource
    }

    package init?(_ text: String) {
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

    package var description: String { "arn:\(partition):\(service):\(region):\(account):\(resource)" }

    /// The resource type before the first `/` or `:` (`trust-anchor`, `profile`, `role`, `secret`).
    package var resourceType: String { String(resource.split(maxSplits: 1, whereSeparator: { $0 == "/" || $0 == ":" }).first ?? "") }
}
