import ArgumentParser
import FoundationEssentials
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync validate`: the manifest and the local files it names, without the network.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check the manifest, certificate, key and chain without network access, and show what would be fetched.",
        discussion:
            "The report (what would be fetched) goes to stdout; warnings and problems go to stderr. Exit status: 0 valid; 1 a local file is unusable (key mismatch, expired certificate, broken chain); 2 the manifest is invalid or cannot be read."
    )

    @OptionGroup var manifestOptions: ManifestOptions

    func run() throws {
        let manifest = try manifestOptions.load()
        Console.out("manifest \(manifest.path): valid (\(Plan.count(manifest)))\n")
        let validation = Validation(manifest: manifest)
        let findings = validation.findings()
        for finding in findings {
            let text = "\(finding.severity.rawValue): \(finding.message)\n" + (finding.fix.map { "  fix: \($0)\n" } ?? "")
            if finding.severity == .ok { Console.out(text) } else { Console.error(text) }
        }
        Console.out("would fetch:\n" + Plan.manifest(manifest).map { "  \($0)\n" }.joined())
        let problems = findings.filter { $0.severity == .problem }.count
        if problems > 0 { throw ValidationProblems(count: problems) }
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
            "Needs only a manifest that parses and the state: it works while the certificate, a key or a user named in the manifest is missing. Exit status: 0 all secrets synced recently; 1 something is failing, stale, never synced or owes a hook; 2 usage or manifest error; 3 unknown: the state could not be read or is not to be trusted."
    )

    static let maxAgeRange: ClosedRange<TimeInterval> = 1...(366 * 86400)

    @OptionGroup var manifestOptions: ManifestOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: "Call a secret stale when its last success is older than this (default: 3 × interval, at least 15m; at most 366d).")
    var maxAge: String?

    func validate() throws {
        if let maxAge { _ = try DurationOption.parse(maxAge, flag: "--max-age", within: Self.maxAgeRange) }
    }

    /// Exit status when the state cannot be read or believed: in sync or not is unknown.
    static let unknown: Int32 = 3

    func run() throws {
        let manifest = try manifestOptions.loadForState()
        let loaded: StateStore.Loaded
        do {
            loaded = try StateStore(directory: manifest.stateDirectory).load(keepDamagedAside: false)
        } catch let error as DiagnosticError {
            throw StateUnknown(cause: error.message, fix: error.fix)
        }
        // Unreadable or damaged: "never synced" would be a lie; whether anything is in sync is unknown.
        if let problem = loaded.problem {
            throw StateUnknown(cause: problem.replacing("; starting from an empty state", with: ""), fix: nil)
        }
        let maxAge = try maxAge.map { try DurationOption.parse($0, flag: "--max-age", within: Self.maxAgeRange) }
        let report = StatusReport(manifest: manifest, state: loaded.state, maxAge: maxAge)
        Console.out(json ? try report.json() : report.text())
        if !report.healthy { throw Unhealthy(report: report) }
    }
}

/// `status` could not read the state, or would not believe it: exit 3, not "never synced".
struct StateUnknown: DiagnosticError {
    let cause: String
    let fix: String?
    var message: String { "whether anything is in sync is unknown: \(cause)" }
    var exitStatus: Int32 { StatusCommand.unknown }
}

struct Unhealthy: DiagnosticError {
    let report: StatusReport
    var message: String {
        let bad = report.entries.filter { $0.health != .ok }.map { "\($0.name) (\($0.health.rawValue))" }
        return "not in sync: \(bad.joined(separator: ", "))"
    }
    var fix: String? { nil }
}
