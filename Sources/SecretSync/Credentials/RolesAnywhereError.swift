/// A failure to get credentials from IAM Roles Anywhere.
package struct RolesAnywhereError: DiagnosticError {
    package enum Code: Sendable {
        case invalidConfiguration
        /// The service (or a stand-in) refused the request.
        case serviceError
        /// The answer could not be understood.
        case malformedResponse
    }

    package let code: Code
    package let message: String
    package let fix: String?
    /// AWS's own error code, e.g. `AccessDeniedException`, when the service answered.
    package let awsErrorCode: String?
    /// For configuration errors: the manifest key at fault (`trust_anchor_arn`, `region`, ...).
    package let field: String?

    package var isUsageError: Bool { code == .invalidConfiguration }
    package var errorCode: String? { awsErrorCode ?? "\(code)" }

    init(_ code: Code, _ message: String, fix: String? = nil, awsErrorCode: String? = nil, field: String? = nil) {
        self.code = code
        self.message = message
        self.fix = fix
        self.awsErrorCode = awsErrorCode
        self.field = field
    }
}
