import Logging

/// The daemon's credentials, shared by its passes and its credentials endpoint: one
/// `CreateSession` per lifetime serves both. A reload that changes `auth:` makes a new provider;
/// one that does not keeps the session.
public final class SharedCredentials: CredentialProvider, @unchecked Sendable {
    // @unchecked Sendable: `current` and `key` are only touched while `lock` is held.
    private let lock = Lock()
    private var current: (any CredentialProvider)?
    private var key: String?
    private let make: @Sendable (Manifest, AtomicCounter) -> any CredentialProvider
    /// Every AWS call the daemon makes, `CreateSession` included, for each pass's count.
    public let calls = AtomicCounter()

    /// `make` builds the provider a manifest asks for, counting its calls in the counter given.
    public init(make: @escaping @Sendable (Manifest, AtomicCounter) -> any CredentialProvider) {
        self.make = make
    }

    /// Over the real network, on a small connection pool of its own.
    public static func live(environment: [String: String], logger: Logger) throws -> SharedCredentials {
        let transport = try HTTPClientPool(options: .fromEnvironment(environment), size: 4)
        return SharedCredentials { manifest, calls in
            manifest.credentialProvider(transport: transport, environment: environment, logger: logger, calls: calls)
        }
    }

    /// Uses `manifest`'s credential source from now on (the same provider while `auth:` is unchanged).
    public func adopt(_ manifest: Manifest) {
        let described = "\(manifest.auth)"
        lock.lock()
        defer { lock.unlock() }
        if key != described || current == nil {
            current = make(manifest, calls)
            key = described
        }
    }

    private var provider: (any CredentialProvider)? {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    public func credentials() throws -> AWSCredentials {
        guard let provider else {
            throw CredentialSourceError(message: "no credential source yet", fix: "wait for the daemon's first pass")
        }
        return try provider.credentials()
    }

    public var needsRefresh: Bool { provider?.needsRefresh ?? true }

    public func invalidate() { provider?.invalidate() }
}
