import Foundation
import Logging

extension Manifest {
    /// The credential source the manifest asks for, cached across calls until shortly before expiry.
    public func credentialProvider(
        transport: any HTTPTransport, environment: [String: String], logger: Logger, calls: AtomicCounter = AtomicCounter()
    ) -> any CredentialProvider {
        switch auth {
        case .rolesAnywhere(let configuration):
            let client = RolesAnywhereClient(
                configuration: configuration, transport: transport, environment: environment, logger: logger, calls: calls)
            return CachingCredentialProvider { try client.createSession() }
        case .environment:
            return EnvironmentCredentialProvider(environment: environment)
        case .profile(let name):
            let provider = ProfileCredentialProvider(profile: name, environment: environment)
            return CachingCredentialProvider { try provider.credentials() }
        }
    }
}

extension Reconciler {
    /// Parallel requests (and so kept-alive connections) at most; handles are made only when
    /// needed, and Secrets Manager allows thousands of requests a second.
    public static let concurrency = 16

    /// A reconciler over the real network, file system and processes.
    public static func live(manifest: Manifest, environment: [String: String], logger: Logger, deadline: Date? = nil) throws -> Reconciler {
        var options = HTTPClientOptions.fromEnvironment(environment)
        options.deadline = deadline
        let transport = try HTTPClientPool(options: options, size: Self.concurrency)
        let calls = AtomicCounter()
        let secretsManager = SecretsManagerClient(transport: transport, environment: environment, logger: logger, calls: calls)
        return Reconciler(
            manifest: manifest,
            credentials: manifest.credentialProvider(transport: transport, environment: environment, logger: logger, calls: calls),
            secretsManager: secretsManager, environment: environment, logger: logger,
            fetcher: SecretFetcher(client: secretsManager, concurrency: Self.concurrency, logger: logger), apiCalls: calls,
            warmUpConnections: true)
    }
}
