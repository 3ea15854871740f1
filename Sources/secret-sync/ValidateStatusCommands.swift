import ArgumentParser
import Foundation
import SecretSync

/// `secret-sync validate`: the manifest and the local files it names, without the network.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifest, certificate, key and chain without network access, and show what would be fetched.",
        discussion:
            "Exit status: 0 valid; 1 a local file is unusable (key mismatch, expired certificate, broken chain); 2 the manifest is invalid."
    )

    @OptionGroup var manifestOptions: ManifestOptions

    func run() throws {
        let manifest = try manifestOptions.load()
        print("manifest \(manifest.path): valid (\(manifest.secrets.count) secrets)")
        let validation = Validation(manifest: manifest)
        let findings = validation.findings()
        for finding in findings {
            print("\(finding.severity.rawValue): \(finding.message)")
            if let fix = finding.fix { print("  fix: \(fix)") }
        }
        print("would fetch:")
        for line in validation.plan() { print("  \(line)") }
        if findings.contains(where: { $0.severity == .problem }) {
            throw ValidationProblems(count: findings.filter { $0.severity == .problem }.count)
        }
    }
}

struct ValidationProblems: DiagnosticError {
    let count: Int
    var message: String { "\(count) problem\(count == 1 ? "" : "s") found (see above)" }
    var fix: String? { nil }
}

/// `secret-sync status`: the state, for people and monitoring.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show each secret's version, last sync, last error and hooks owed, from the state file.",
        discussion:
            "Exit status: 0 all secrets synced recently; 1 something is failing, stale, never synced or owes a hook; 2 usage or manifest error."
    )

    @OptionGroup var manifestOptions: ManifestOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "Call a secret stale when its last success is older than this (default: 3 × interval, at least 15m).")
    var maxAge: String?

    func validate() throws {
        if let maxAge, DurationParser.parse(maxAge) == nil {
            throw ValidationError("--max-age '\(maxAge)' is not a duration: e.g. 15m or 1h")
        }
    }

    func run() throws {
        let manifest = try manifestOptions.load()
        let state = StateStore(directory: manifest.stateDirectory).load { problem in
            FileHandle.standardError.write(Data("secret-sync: warning: the state file is damaged: \(problem)\n".utf8))
        }
        let report = StatusReport(manifest: manifest, state: state, maxAge: maxAge.flatMap(DurationParser.parse))
        print(json ? try report.json() : report.text(), terminator: "")
        if !report.healthy { throw Unhealthy(report: report) }
    }
}

struct Unhealthy: DiagnosticError {
    let report: StatusReport
    var message: String {
        let bad = report.entries.filter { $0.health != "ok" }.map { "\($0.name) (\($0.health))" }
        return "not in sync: \(bad.joined(separator: ", "))"
    }
    var fix: String? { nil }
}
