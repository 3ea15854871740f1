import Foundation
import Logging

extension Manifest {
    /// The credential source the manifest asks for, cached across calls until shortly before expiry.
    public func credentialProvider(transport: any HTTPTransport, environment: [String: String], logger: Logger) -> any CredentialProvider {
        switch auth {
        case .rolesAnywhere(let configuration):
            let client = RolesAnywhereClient(configuration: configuration, transport: transport, environment: environment, logger: logger)
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
    /// A reconciler over the real network, file system and processes.
    public static func live(manifest: Manifest, environment: [String: String], logger: Logger, deadline: Date? = nil) throws -> Reconciler {
        var options = HTTPClientOptions.fromEnvironment(environment)
        options.deadline = deadline
        let transport = try CurlHTTPClient(options: options)
        return Reconciler(
            manifest: manifest, credentials: manifest.credentialProvider(transport: transport, environment: environment, logger: logger),
            secretsManager: SecretsManagerClient(transport: transport, environment: environment, logger: logger), environment: environment,
            logger: logger)
    }
}
