import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

extension Manifest {
    /// The credential source the manifest asks for, cached across calls until shortly before expiry.
    public func credentialProvider(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, calls: AtomicCounter = AtomicCounter(),
        deadline: Deadline? = nil
    ) -> any CredentialProvider {
        switch auth {
        case .rolesAnywhere(let configuration):
            let client = RolesAnywhereClient(
                configuration: configuration, transport: transport, environment: environment, logger: logger, calls: calls)
            return CachingCredentialProvider(onRenewalFailure: Self.reportRenewalFailure(logger)) { try client.createSession() }
        case .environment:
            return EnvironmentCredentialProvider(environment: environment)
        case .profile(let name):
            let provider = ProfileCredentialProvider(profile: name, environment: environment, deadline: deadline)
            return CachingCredentialProvider(onRenewalFailure: Self.reportRenewalFailure(logger)) { try provider.credentials() }
        }
    }

    static func reportRenewalFailure(_ logger: Logger) -> @Sendable (String, Date?) -> Void {
        { message, expiration in
            logger.warning(
                "cannot renew the credentials; the current ones serve until they expire",
                metadata: ["error": "\(message)", "expires": "\(expiration.map(UTCTime.rfc3339) ?? "never")"])
        }
    }
}

extension Reconciler {
    /// A reconciler over the real network, file system and processes.
    /// `shared` (the daemon's) keeps one credential session across passes, reloads and the
    /// credentials endpoint.
    public static func live(
        manifest: Manifest, environment: [String: String], logger: Logger, deadline: Deadline? = nil, memory: StateMemory = StateMemory(),
        shared: SharedCredentials? = nil
    ) throws -> Reconciler {
        var options = HTTPClientOptions.fromEnvironment(environment)
        options.deadline = deadline
        let transport = try HTTPClientPool(options: options, size: EntryFetcher.defaultConcurrency)
        let calls = shared?.calls ?? AtomicCounter()
        let secretsManager = SecretsManagerClient(transport: transport, environment: environment, logger: logger, calls: calls)
        shared?.adopt(manifest)
        return Reconciler(
            manifest: manifest,
            credentials: shared
                ?? manifest.credentialProvider(
                    transport: transport, environment: environment, logger: logger, calls: calls, deadline: deadline),
            secretsManager: secretsManager, environment: environment, logger: logger,
            fetcher: EntryFetcher(
                client: secretsManager, concurrency: EntryFetcher.defaultConcurrency, fallbackRegions: manifest.fallbackRegions,
                logger: logger),
            apiCalls: calls,
            warmUpConnections: true, memory: memory, deadline: deadline)
    }
}
