/// A failure to get credentials from IAM Roles Anywhere.
public struct RolesAnywhereError: DiagnosticError {
    public enum Code: Sendable {
        case invalidConfiguration
        /// The service (or a stand-in) refused the request.
        case serviceError
        /// The answer could not be understood.
        case malformedResponse
    }

    public let code: Code
    public let message: String
    public let fix: String?
    /// AWS's own error code, e.g. `AccessDeniedException`, when the service answered.
    public let awsErrorCode: String?
    /// For configuration errors: the manifest key at fault (`trust_anchor_arn`, `region`, ...).
    public let field: String?

    public var isUsageError: Bool { code == .invalidConfiguration }
    public var errorCode: String? { awsErrorCode ?? "\(code)" }

    init(_ code: Code, _ message: String, fix: String? = nil, awsErrorCode: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.awsErrorCode = awsErrorCode
        self.field = field
    }
}
