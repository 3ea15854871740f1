import ArgumentParser
import Foundation
import Logging
import SecretSync

@main
struct SecretSyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-sync",
        abstract: "Sync AWS Secrets Manager secrets to files and environments, with IAM Roles Anywhere credentials.",
        version: SecretSyncVersion.current,
        subcommands: [
            OnceCommand.self, DaemonCommand.self, RunCommand.self, ValidateCommand.self, StatusCommand.self, CredentialProcessCommand.self,
        ]
    )

    /// The one funnel from errors to text and exit codes: 0 success, 1 run-time failure,
    /// 2 usage or configuration error. Nothing else in the program calls exit().
    static func main() {
        // Before any secret or key is read: no core file may ever hold one.
        ProcessHardening.disableCoreDumps()
        ProcessHardening.recordInheritedDescriptors()
        ProcessEnvironment.capture()
        // Set up while the process has one thread: it sets environment variables.
        TSSLog.prepare()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CommandLocator.Failure {
            // The shell's conventions for a command that cannot be started: 127 not found, 126 not executable.
            FileHandle.standardError.write(Data(("secret-sync: error: \(error)\n").utf8))
            Foundation.exit(error.exitStatus)
        } catch let error as DiagnosticError {
            FileHandle.standardError.write(Data(("secret-sync: error: \(error)\n").utf8))
            Foundation.exit(error.isUsageError ? ExitStatus.usage : ExitStatus.runtimeFailure)
        } catch let error as UsageError {
            FileHandle.standardError.write(Data(("secret-sync: error: \(error)\n").utf8))
            Foundation.exit(ExitStatus.usage)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version.
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(code == .validationFailure ? ExitStatus.usage : code.rawValue)
        }
    }
}

enum ExitStatus {
    static let runtimeFailure: Int32 = 1
    static let usage: Int32 = 2
}

/// A usage error found after parsing (a flag that is refused on purpose, a bad value).
struct UsageError: Error, CustomStringConvertible {
    let message: String
    let fix: String?
    var description: String { fix.map { "\(message)\nfix: \($0)" } ?? message }
}

/// `--log-format` and `--log-level`, shared by every command.
struct LoggingOptions: ParsableArguments {
    @Option(help: "Log line format on stderr: text, json or journal (default: journal under systemd, else text).")
    var logFormat: LogFormatArgument?

    @Option(help: "Least severe level logged: trace, debug, info, notice, warning, error, critical.")
    var logLevel: LogLevelArgument = .init(.notice)

    func makeLogger(label: String = "secret-sync", debug: Bool = false) -> Logger {
        // Under systemd, stderr is connected to journald and JOURNAL_STREAM says so.
        let underJournald = ProcessInfo.processInfo.environment["JOURNAL_STREAM"].map { !$0.isEmpty } ?? false
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
