import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The secrets `secret-sync run` injects: those of the manifest that have `env:` entries, and
/// only those. Fails closed: any secret that cannot be fetched or turned into variables fails it all.
package struct RunEnvironment: Sendable {
    let manifest: Manifest
    /// One source of credentials for the first fetch and every later one (`--restart-on-change`).
    let credentials: any CredentialProvider
    let fetcher: EntryFetcher
    let logger: Logger

    package init(manifest: Manifest, aws: AWSContext) {
        self.manifest = manifest
        self.credentials = aws.credentialProvider(for: manifest.auth)
        self.fetcher = aws.fetcher(fallbackRegions: manifest.fallbackRegions)
        self.logger = aws.logger
    }

    package struct Failure: DiagnosticError {
        package let errors: [any DiagnosticError]
        package var message: String {
            "not starting the command: " + errors.map(\.message).joined(separator: "; ")
        }
        package var fix: String? { errors.compactMap(\.fix).first }
    }

    package func variables() throws -> [(name: String, value: String)] {
        let wanted = manifest.entries.filter { !$0.env.isEmpty }
        guard !wanted.isEmpty else {
            throw Failure(errors: [
                RenderError(
                    message: "no secret in \(manifest.path) has env: entries", fix: "add env: entries to the secrets the command needs")
            ])
        }
        var variables = [EntryVariable]()
        var errors = [any DiagnosticError]()
        let fetched: [String: Result<Fetched, any Error>]
        do {
            fetched = try fetcher.fetch(wanted, using: credentials)
        } catch {
            throw Failure(errors: [error.diagnosis])
        }
        for secret in wanted {
            do {
                guard let result = fetched[secret.name] else { throw UnexpectedError("secret \(secret.name) was not fetched") }
                let values = try EntryValues(secret, fetched: try result.get())
                variables += try values.variables()
                logger.debug("fetched", metadata: ["secret": "\(secret.name)", "version": "\(values.versionId)"])
            } catch {
                errors.append(error.diagnosis)
            }
        }
        guard errors.isEmpty else { throw Failure(errors: errors) }
        do {
            return try EnvironmentBuilder.merge(variables)
        } catch {
            throw Failure(errors: [error.diagnosis])
        }
    }
}
