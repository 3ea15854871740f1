import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The plans secret-sync prints — names, paths, owners, modes, versions and commands, never a
/// value: what the manifest would fetch (`validate`, offline) and what a pass would do
/// (`once --dry-run`). One description of a file serves both.
package enum Plan {
    /// "3 secrets", "3 secrets, 2 parameters", "1 parameter": what a manifest holds.
    package static func count(_ manifest: Manifest) -> String {
        let parameters = manifest.entries.filter { $0.source.service == .parameterStore }.count
        let secrets = manifest.entries.count - parameters
        var parts = [secrets == 1 ? "1 secret" : "\(secrets) secrets"]
        if parameters > 0 { parts.append(parameters == 1 ? "1 parameter" : "\(parameters) parameters") }
        if secrets == 0 { parts.removeFirst() }
        return parts.joined(separator: ", ")
    }

    /// What a pass and `run` would fetch, and where it goes.
    package static func manifest(_ manifest: Manifest) -> [String] {
        var lines = [String]()
        if !manifest.fallbackRegions.isEmpty {
            lines.append(
                "fallback regions: \(manifest.fallbackRegions.joined(separator: ", ")) (replicas, when an entry's region cannot be reached)"
            )
        }
        for secret in manifest.entries {
            switch secret.source {
            case .parameterPath(let path):
                lines.append("parameters \(secret.name): every parameter under \(path) (region \(secret.region))")
            case .secretSelection(let selection):
                lines.append("secrets \(secret.name): every secret with \(selection) (AWSCURRENT, region \(secret.region))")
            case .secret(let id, let version as CustomStringConvertible), .parameter(let id, let version as CustomStringConvertible):
                lines.append("\(secret.source.service.noun) \(secret.name): \(id) (\(version), region \(secret.region))")
            }
            if let directory = secret.directory {
                let owner = directory.owner?.name ?? SystemAccounts.userName(geteuid())
                let group = directory.group?.name ?? SystemAccounts.groupName(getegid())
                lines.append(
                    "  directory \(directory.path) (one file each, \(owner):\(group) \(String(directory.mode, radix: 8).leftPadded(to: 4)))"
                )
            }
            for file in secret.files {
                lines.append("  file \(file.path) (\(format(file.content)), \(ownership(file)))")
            }
            for entry in secret.env {
                switch entry {
                case .variable(let name, let key, let base64):
                    lines.append("  env \(name)\(key.map { " (key \($0))" } ?? "")\(base64 ? " base64" : "")")
                case .prefix(let prefix):
                    lines.append("  env \(prefix)* (\(secret.source.isCollection ? "one per value" : "every field"))")
                }
            }
            for hook in secret.onChange { lines.append("  on change: \(hook)") }
        }
        return lines
    }

    /// What a dry-run pass found: per secret its version and each file's verb; the hooks it would run.
    package static func pass(_ report: PassReport, manifest: Manifest) -> String {
        var lines = [String]()
        for result in report.secrets {
            let spec = manifest.entries.first { $0.name == result.name }
            lines.append(
                "\(spec?.source.service.noun ?? "secret") \(result.name) (\(spec?.source.id ?? result.name)\(result.versionId.map { ", version \($0)" } ?? "")):"
            )
            if let error = result.error {
                lines.append("  error: \(error.message.escapingControlCharacters)")
            }
            for (path, outcome) in result.files {
                let owner = spec?.files.first { $0.path == path }.map(ownership) ?? ""
                lines.append("  \(verb(outcome)) \(path) (\(owner))")
            }
        }
        for hook in report.hooks {
            lines.append("would run: \(hook.command)  (for \(hook.secrets.joined(separator: ", ")))")
        }
        for removal in report.removals where removal.outcome == .removed {
            lines.append("would remove \(removal.path) (prune: true; secret-sync wrote it and no longer manages it)")
        }
        if report.secrets.allSatisfy({ $0.error == nil && $0.files.allSatisfy { !$0.outcome.wrote } }) && report.hooks.isEmpty
            && report.removals.isEmpty
        {
            lines.append("everything is in sync")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `myapp:myapp 0640`; an owner or group left to whoever runs secret-sync is named as that user.
    static func ownership(_ file: FileSpec) -> String {
        let owner = file.owner?.name ?? SystemAccounts.userName(geteuid())
        let group = file.group?.name ?? SystemAccounts.groupName(getegid())
        return "\(owner):\(group) \(String(file.mode, radix: 8).leftPadded(to: 4))"
    }

    static func format(_ content: FileContent) -> String {
        switch content {
        case .raw(nil): return "raw"
        case .raw(let key?): return "key \(key)"
        case .json: return "json"
        case .dotenv: return "dotenv"
        case .template(.inline): return "template"
        case .template(.file(let path)): return "template \(path)"
        }
    }

    static func verb(_ outcome: WriteOutcome) -> String {
        switch outcome {
        case .unchanged: return "unchanged"
        case .created: return "would create"
        case .updated: return "would update"
        case .repaired: return "would repair"
        }
    }
}
