import Testing

@testable import SecretSync

@Suite("Collection bounds")
struct CollectionBoundsTests {
    func value(_ size: Int, _ n: Int = 0) -> StoredValue {
        StoredValue(
            arn: "arn:aws:ssm:us-west-2:1:parameter/p/\(n)", name: "/p/\(n)", versionId: "1",
            payload: ValuePayload(kind: .string, bytes: Array(repeating: 0x78, count: size)))
    }

    func bounds() -> CollectionBounds {
        CollectionBounds(
            service: "Parameter Store", operation: "GetParametersByPath", subject: "the parameters under /p", pageSize: 10,
            endpointVariable: "AWS_ENDPOINT_URL_SSM")
    }

    @Test func aPageIsAtMostWhatWasAsked() throws {
        try bounds().check(pageOf: 10)
        #expect(throws: AWSServiceError.self) { try bounds().check(pageOf: 11) }
    }

    @Test func anEntryHoldsAtMostItsCountOfValues() throws {
        var bounds = bounds()
        for n in 0..<CollectionBounds.maxValues { try bounds.take(value(1, n)) }
        let error = #expect(throws: AWSServiceError.self) { try bounds.take(value(1)) }
        #expect(error?.message.contains("holds more than 1000 values") == true)
    }

    @Test func anEntryHoldsAtMostItsBytes() throws {
        var bounds = bounds()
        for n in 0..<(CollectionBounds.maxBytes / CollectionBounds.secretValueBytes) {
            try bounds.take(value(CollectionBounds.secretValueBytes, n))
        }
        let error = #expect(throws: AWSServiceError.self) { try bounds.take(value(1)) }
        #expect(error?.message.contains("more than 32 MiB of values") == true)
    }

    @Test func aValueIsAtMostWhatTheServiceHolds() throws {
        let check = { (size: Int) throws(AWSServiceError) in
            try CollectionBounds.checkSize(
                ValuePayload(kind: .string, bytes: Array(repeating: 0, count: size)), of: "s", limit: CollectionBounds.secretValueBytes,
                service: "Secrets Manager", operation: "GetSecretValue", endpointVariable: "AWS_ENDPOINT_URL_SECRETS_MANAGER")
        }
        try check(65_536)
        let error = #expect(throws: AWSServiceError.self) { try check(65_537) }
        #expect(error?.message == "GetSecretValue answered s with 65537 bytes, more than Secrets Manager's 65536; refused")
    }
}
