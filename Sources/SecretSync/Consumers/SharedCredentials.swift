import Logging

/// The daemon's credentials, shared by its passes and its credentials endpoint: one
/// `CreateSession` per lifetime serves both. A reload that changes `auth:` makes a new provider;
/// one that does not keeps the session.
package final class SharedCredentials: CredentialProvider, @unchecked Sendable {
    // @unchecked Sendable: `current` and `key` are only touched while `lock` is held.
    private let lock = Lock()
    private var current: (any CredentialProvider)?
    private var key: String?
    private let aws: AWSContext
    /// Every AWS call the daemon makes, `CreateSession` included, for each pass's count.
    package var calls: AtomicCounter { aws.calls }

    /// Providers are made over `aws`, and count their calls in its counter.
    package init(aws: AWSContext) {
        self.aws = aws
    }

    /// Over the real network, on a small connection pool of its own.
    package static func live(environment: [String: String], logger: Logger) throws -> SharedCredentials {
        SharedCredentials(aws: try AWSContext.live(environment: environment, logger: logger, connections: 4))
    }

    /// Uses `manifest`'s credential source from now on (the same provider while `auth:` is unchanged).
    package func adopt(_ manifest: Manifest) {
        let described = "\(manifest.auth)"
        lock.lock()
        defer { lock.unlock() }
        if key != described || current == nil {
            current = aws.credentialProvider(for: manifest.auth)
            key = described
        }
    }

    private var provider: (any CredentialProvider)? {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    package func credentials() throws -> AWSCredentials {
        guard let provider else {
            throw CredentialSourceError(message: "no credential source yet", fix: "wait for the daemon's first pass")
        }
        return try provider.credentials()
    }

    package var needsRefresh: Bool { provider?.needsRefresh ?? true }

    package func invalidate() { provider?.invalidate() }
}
