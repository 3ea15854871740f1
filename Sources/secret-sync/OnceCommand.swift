import ArgumentParser
import FoundationEssentials
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync once`: one reconcile pass.
struct OnceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "once",
        abstract: "Fetch every secret, write what changed, run hooks; then exit.",
        discussion:
            "Exit status: 0 everything in sync; 1 something failed at run time (every other secret was still applied, and the last good files were kept); 2 the manifest is invalid or cannot be read (nothing was touched)."
    )

    /// What `--timeout` accepts.
    static let timeoutRange: ClosedRange<TimeInterval> = 1...86400

    @OptionGroup var manifestOptions: ManifestOptions

    @Flag(help: "Show what would change on stdout; write nothing, run no hook.")
    var dryRun = false

    @Option(
        help:
            "Give up after this long (e.g. 30s, 2m; at most 1d): waiting for the lock, fetching and hooks included. The last good files are kept and the exit status is 1."
    )
    var timeout: String?

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let timeout { _ = try DurationOption.parse(timeout, flag: "--timeout", within: Self.timeoutRange) }
    }

    func run() throws {
        let logger = logging.makeLogger()
        let manifest = try manifestOptions.load()
        let deadline = try timeout.map { Deadline.after(try DurationOption.parse($0, flag: "--timeout", within: Self.timeoutRange)) }
        let reconciler = try Reconciler.live(
            manifest: manifest, environment: ProcessEnvironment.inherited, logger: logger, deadline: deadline)
        let report = try reconciler.pass(dryRun: dryRun) {
            guard let deadline, deadline.hasPassed, let timeout else { return nil }
            return "the --timeout of \(timeout) was reached"
        }
        if dryRun { Console.out(Plan.pass(report, manifest: manifest)) }
        logger.notice(
            dryRun ? "dry run complete; nothing was changed" : "pass complete",
            metadata: [
                "secrets": "\(report.secrets.count)", "failed": "\(report.failedSecrets.count)",
                "files_written": "\(dryRun ? 0 : report.filesWritten)", "hooks_run": "\(dryRun ? 0 : report.hooks.count)",
                "files_removed": "\(dryRun ? 0 : report.removals.filter { $0.outcome == .removed }.count)",
            ])
        if !report.succeeded { throw PassFailure(report: report) }
    }
}

/// A duration given as a flag, range-checked before it is converted.
enum DurationOption {
    static func parse(_ text: String, flag: String, within range: ClosedRange<TimeInterval>) throws -> TimeInterval {
        switch DurationParser.parse(text, within: range) {
        case .valid(let seconds): return seconds
        case .malformed:
            throw ValidationError("\(flag) '\(text)' is not a duration: write a number with a unit, e.g. 30s or 2m")
        case .outOfRange:
            throw ValidationError("\(flag) '\(text)' is out of range: write a duration from \(DurationParser.describe(range))")
        }
    }
}
