import FoundationEssentials

/// What one `path:` or `select:` entry may bring back, so that a stand-in endpoint (or a path
/// grown by mistake) cannot grow memory without end: the API's documented limits for a page and
/// a value, and secret-sync's own for an entry. Every paged collection counts its answers here.
struct CollectionBounds {
    /// Values one entry may hold: 100 pages of Parameter Store, 50 of Secrets Manager.
    static let maxValues = 1000
    /// Bytes of values one entry may hold.
    static let maxBytes = 32 << 20
    /// Secrets Manager: a `SecretString` or `SecretBinary` holds at most 65,536 bytes.
    static let secretValueBytes = 65_536
    /// Parameter Store: an advanced parameter's value holds at most 8 KB.
    static let parameterValueBytes = 8192

    /// The service's name ("Parameter Store"), the operation and what is collected, for errors.
    let service: String
    let operation: String
    let subject: String
    /// The `MaxResults` asked for each page.
    let pageSize: Int
    /// The variable that points at the service, for the fix.
    let endpointVariable: String
    private(set) var values = 0
    private(set) var bytes = 0

    init(service: String, operation: String, subject: String, pageSize: Int, endpointVariable: String) {
        self.service = service
        self.operation = operation
        self.subject = subject
        self.pageSize = pageSize
        self.endpointVariable = endpointVariable
    }

    /// A page of `count` answers: at most the `MaxResults` asked.
    func check(pageOf count: Int) throws(AWSServiceError) {
        guard count <= pageSize else {
            throw notTheService(
                "\(operation) for \(subject) answered \(count) values in one page, more than the \(pageSize) asked (MaxResults)")
        }
    }

    /// Counts `version` into the entry: refused beyond the entry's bounds.
    mutating func take(_ version: StoredValue) throws(AWSServiceError) {
        values += 1
        bytes += version.payload.count
        guard values <= Self.maxValues else {
            throw tooMuch("more than \(Self.maxValues) values")
        }
        guard bytes <= Self.maxBytes else {
            throw tooMuch("more than \(Self.maxBytes >> 20) MiB of values")
        }
    }

    /// Every value a service answers, one or in a collection, goes through this: no larger than
    /// the service can hold (`limit` bytes), or the answer is not the service's.
    static func checkSize(
        _ payload: ValuePayload, of name: String, limit: Int, service: String, operation: String, endpointVariable: String
    ) throws(AWSServiceError) {
        guard payload.count <= limit else {
            throw AWSServiceError(
                subject: name, awsErrorCode: nil,
                message:
                    "\(operation) answered \(name.escapingControlCharacters) with \(payload.count) bytes, more than \(service)'s \(limit); refused",
                fix: "check \(endpointVariable) / AWS_ENDPOINT_URL point at \(service) itself", retryable: false)
        }
    }

    private func notTheService(_ message: String) -> AWSServiceError {
        AWSServiceError(
            subject: subject, awsErrorCode: nil, message: "\(message); refused",
            fix: "check \(endpointVariable) / AWS_ENDPOINT_URL point at \(service) itself", retryable: false)
    }

    private func tooMuch(_ what: String) -> AWSServiceError {
        AWSServiceError(
            subject: subject, awsErrorCode: nil,
            message: "\(subject) holds \(what), secret-sync's bound for one entry; refused, nothing of it is written",
            fix: "split the entry into narrower ones (a deeper path:, a longer name_prefix, a tag)", retryable: false)
    }
}
