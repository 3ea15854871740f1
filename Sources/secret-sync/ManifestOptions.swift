import ArgumentParser
import FoundationEssentials
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `-c/--config`, else `$SECRET_SYNC_CONFIG`, else /etc/secret-sync/manifest.yaml.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "Manifest file (default: $SECRET_SYNC_CONFIG, else /etc/secret-sync/manifest.yaml).")
    var config: String?

    var path: String {
        config ?? ProcessEnvironment.value("SECRET_SYNC_CONFIG").flatMap { $0.isEmpty ? nil : $0 } ?? Manifest.defaultPath
    }

    func load() throws -> Manifest {
        try ManifestParser().load(path: path)
    }

    /// For commands that only read the state (`status`): no check of local files or accounts.
    func loadForState() throws -> Manifest {
        try ManifestParser(checkLocalFiles: false, resolveAccounts: false).load(path: path)
    }
}

/// A pass that did not complete: exit 1, after the details were logged.
struct PassFailure: DiagnosticError {
    let report: PassReport
    var message: String {
        var parts = [String]()
        let failed = report.failedSecrets.map(\.name)
        if !failed.isEmpty {
            parts.append(
                "\(failed.count) of \(report.secrets.count) secret\(report.secrets.count == 1 ? "" : "s") failed (\(failed.joined(separator: ", ")))"
            )
        }
        let hooks = report.failedHooks.map { "'\($0.command)'" }
        if !hooks.isEmpty { parts.append("\(hooks.count) hook\(hooks.count == 1 ? "" : "s") failed (\(hooks.joined(separator: ", ")))") }
        if let stateError = report.stateError { parts.append(stateError.message) }
        return "pass incomplete: " + parts.joined(separator: "; ") + "; the last good files were kept"
    }
    var fix: String? { "see the errors above; failed secrets and hooks are tried again on the next pass" }
}
