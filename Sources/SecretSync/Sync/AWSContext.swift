import FoundationEssentials
import Logging

/// What every AWS call of a command shares: one transport, the environment (endpoints, proxies,
/// CA bundle), a logger, a clock, the retry policy and one call counter. It builds the credential
/// provider, the Roles Anywhere client and both service clients, so that `once`, `daemon`, `run`,
/// `credential-process` and the credentials endpoint are wired the same way, in one place.
package struct AWSContext: Sendable {
    package let transport: any HTTPTransport
    package let environment: [String: String]
    package let logger: Logger
    package let clock: @Sendable () -> Date
    /// For Secrets Manager and Parameter Store; Roles Anywhere makes one attempt fewer (its
    /// caller, a pass or a credential process, has its own deadline).
    package let retry: RetryPolicy
    /// Every HTTP request made, retries and `CreateSession` included.
    package let calls: AtomicCounter
    /// No request runs past it (`once --timeout`).
    package let deadline: Deadline?

    package init(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, clock: @escaping @Sendable () -> Date = { Date() },
        retry: RetryPolicy = RetryPolicy(maxAttempts: 4), calls: AtomicCounter = AtomicCounter(), deadline: Deadline? = nil
    ) {
        self.transport = transport
        self.environment = environment
        self.logger = logger
        self.clock = clock
        self.retry = retry
        self.calls = calls
        self.deadline = deadline
    }

    /// Over the real network: up to `connections` kept-alive libcurl handles, configured from
    /// the environment (proxies, `AWS_CA_BUNDLE`) and bounded by `deadline`.
    package static func live(
        environment: [String: String], logger: Logger, connections: Int = EntryFetcher.defaultConcurrency, deadline: Deadline? = nil,
        calls: AtomicCounter = AtomicCounter()
    ) throws -> AWSContext {
        var options = HTTPClientOptions.fromEnvironment(environment)
        options.deadline = deadline
        return AWSContext(
            transport: try HTTPClientPool(options: options, size: connections), environment: environment, logger: logger, calls: calls,
            deadline: deadline)
    }

    package var secretsManager: SecretsManagerClient {
        SecretsManagerClient(transport: transport, environment: environment, logger: logger, clock: clock, retry: retry, calls: calls)
    }

    package var parameterStore: ParameterStoreClient {
        ParameterStoreClient(transport: transport, environment: environment, logger: logger, clock: clock, retry: retry, calls: calls)
    }

    package func rolesAnywhere(_ configuration: RolesAnywhereConfiguration) -> RolesAnywhereClient {
        RolesAnywhereClient(
            configuration: configuration, transport: transport, environment: environment, logger: logger, clock: clock,
            retry: retry.attempts(retry.maxAttempts - 1),
            calls: calls)
    }

    /// The fetcher of a manifest's entries, over both services.
    package func fetcher(fallbackRegions: [String] = [], concurrency: Int = EntryFetcher.defaultConcurrency, useBatch: Bool = true)
        -> EntryFetcher
    {
        EntryFetcher(
            secretsManager: secretsManager, parameterStore: parameterStore, concurrency: concurrency, useBatch: useBatch,
            fallbackRegions: fallbackRegions, logger: logger)
    }

    /// The credential source `auth:` asks for, cached across calls until shortly before expiry.
    package func credentialProvider(for auth: Manifest.Auth) -> any CredentialProvider {
        switch auth {
        case .rolesAnywhere(let configuration):
            let client = rolesAnywhere(configuration)
            return CachingCredentialProvider(onRenewalFailure: reportRenewalFailure) { try client.createSession() }
        case .environment:
            return EnvironmentCredentialProvider(environment: environment)
        case .profile(let name):
            let provider = ProfileCredentialProvider(profile: name, environment: environment, deadline: deadline)
            return CachingCredentialProvider(onRenewalFailure: reportRenewalFailure) { try provider.credentials() }
        }
    }

    private var reportRenewalFailure: @Sendable (String, Date?) -> Void {
        { [logger] message, expiration in
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
    package static func live(
        manifest: Manifest, environment: [String: String], logger: Logger, deadline: Deadline? = nil, memory: StateMemory = StateMemory(),
        shared: SharedCredentials? = nil
    ) throws -> Reconciler {
        let aws = try AWSContext.live(environment: environment, logger: logger, deadline: deadline, calls: shared?.calls ?? AtomicCounter())
        shared?.adopt(manifest)
        return Reconciler(
            manifest: manifest, credentials: shared ?? aws.credentialProvider(for: manifest.auth), aws: aws, warmUpConnections: true,
            memory: memory)
    }
}
