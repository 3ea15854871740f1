import ArgumentParser
import FoundationEssentials
import Logging
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

@main
struct SecretSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-sync",
        abstract: "Sync AWS Secrets Manager secrets to files and environments, with IAM Roles Anywhere credentials.",
        version: SecretSyncVersion.description,
        subcommands: [
            OnceCommand.self, DaemonCommand.self, RunCommand.self, ValidateCommand.self, StatusCommand.self, CredentialProcessCommand.self,
        ]
    )

    /// The one funnel from errors to text and exit codes: 0 success, 1 run-time failure,
    /// 2 usage or configuration error, 3 (`status`) unknown. Nothing else in the program ends
    /// the process.
    static func main() {
        finish(with: runCommand())
    }

    /// Ends the process with `_exit`: all output went out with write(2) already, and `exit`'s
    /// handlers (OpenSSL's cleanup among them) must not run while a thread still holds a
    /// connection — a warm-up connection of a pass that failed early, say — which crashed it.
    static func finish(with status: Int32) -> Never {
        _exit(status)
    }

    /// Runs the command line; returns the exit status.
    static func runCommand() -> Int32 {
        // Before anything opens a file or starts a thread: stdio open, signals sane, no core
        // dumps (no core file may ever hold a secret or key).
        ProcessHardening.prepare()
        ProcessEnvironment.capture()
        // Set up while the process has one thread: it sets environment variables.
        TSSLog.prepare()
        do {
            var command = try parseAsRoot()
            if command is SecretSyncCommand {
                // No subcommand: a usage error, like a wrong one.
                Console.error(helpMessage() + "\n")
                return ExitStatus.usage
            }
            try command.run()
            return 0
        } catch let code as ExitCode {
            // `run --restart-on-change` ends with the command's own status, already reported.
            return code.rawValue
        } catch let error as CommandLocator.Failure {
            // The shell's conventions for a command that cannot be started: 127 not found, 126 not executable.
            Console.error("secret-sync: error: \(error.displayText)\n")
            return error.exitStatus
        } catch let error as StateUnknown {
            Console.error("secret-sync: error: \(error.displayText)\n")
            return error.exitStatus
        } catch let error as DiagnosticError {
            Console.error("secret-sync: error: \(error.displayText)\n")
            return error.isUsageError ? ExitStatus.usage : ExitStatus.runtimeFailure
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version.
                Console.out(fullMessage(for: error) + "\n")
                return 0
            }
            Console.error(fullMessage(for: error) + "\n")
            return code == .validationFailure ? ExitStatus.usage : code.rawValue
        }
    }
}

enum ExitStatus {
    static let runtimeFailure: Int32 = 1
    static let usage: Int32 = 2
}

/// `--log-format` and `--log-level`, shared by every command.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log line format on stderr: text, json or journal (default: journal under systemd, else text).")
    var logFormat: LogFormatArgument?

    @Option(help: "Least severe level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelArgument = .init(.notice)

    func makeLogger(label: String = "secret-sync", debug: Bool = false) -> Logger {
        // Under systemd, stderr is connected to journald and JOURNAL_STREAM says so.
        let underJournald = ProcessEnvironment.value("JOURNAL_STREAM").map { !$0.isEmpty } ?? false
        let format = logFormat?.value ?? (underJournald ? .journal : .text)
        let level = debug ? .debug : logLevel.value
        return Logger(label: label) { label in StderrLogHandler(label: label, format: format, level: level) }
    }
}

struct LogFormatArgument: ExpressibleByArgument {
    let value: LogFormat
    init(_ value: LogFormat) { self.value = value }
    init?(argument: String) {
        guard let format = LogFormat(rawValue: argument) else { return nil }
        value = format
    }
    static var allValueStrings: [String] { LogFormat.allCases.map(\.rawValue) }
}

struct LogLevelArgument: ExpressibleByArgument {
    let value: Logger.Level
    init(_ value: Logger.Level) { self.value = value }
    init?(argument: String) {
        guard let level = Logger.Level(rawValue: argument.lowercased()) else { return nil }
        value = level
    }
    static var allValueStrings: [String] { Logger.Level.allCases.map(\.rawValue) }
    var defaultValueDescription: String { value.rawValue }
}
