import ArgumentParser
import FoundationEssentials
import Logging
import SecretSync

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync run -- CMD [ARG...]`: fetch the secrets with `env:` entries, then become CMD.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Fetch the secrets that have env: entries, then exec CMD with them in its environment.",
        usage: "secret-sync run [<options>] -- <command> [<argument> ...]",
        discussion:
            "secret-sync replaces itself with CMD (same PID: signals reach the application directly, and its exit status is the application's). With --restart-on-change it stays CMD's parent instead: it forwards TERM, INT, QUIT, HUP, USR1, USR2 and WINCH, exits with CMD's status (128 + the signal when a signal ended it) when CMD exits, fetches the env: secrets again every --interval (default 5m, ±10 %), and when they changed stops CMD with --stop-signal (default TERM; SIGKILL after --stop-timeout, default 10s) and starts it again; a failed fetch keeps CMD running and is retried with backoff. Under systemd set NotifyAccess=all if CMD sends sd_notify messages; socket-activation descriptors reach CMD with LISTEN_PID set to its PID. Options go before --; everything after it is CMD and its arguments, passed unchanged. If any secret cannot be fetched, CMD is not started and the exit status is 1; a CMD that is not found exits 127, one that cannot be executed 126. The wrapper's own AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) are removed from CMD's environment unless --keep-aws-credentials. A prefix: entry never sets a variable that changes how programs are loaded or run (LD_*, PATH, BASH_ENV, ...); name such a variable explicitly with name: if the application needs it."
    )

    @OptionGroup var manifestOptions: ManifestOptions

    @Flag(help: "Start CMD from a minimal environment (PATH, HOME, LANG, TZ, USER, ...) plus the secrets.")
    var pristine = false

    @Flag(help: "Pass the wrapper's AWS_* credential variables on to CMD.")
    var keepAwsCredentials = false

    @Flag(help: "Stay CMD's parent: forward signals, fetch the env: secrets again every interval, and restart CMD when they changed.")
    var restartOnChange = false

    @Option(help: ArgumentHelp("With --restart-on-change: how often the secrets are fetched again (±10 %).", valueName: "duration"))
    var interval: String?

    @Option(
        help: ArgumentHelp(
            "With --restart-on-change: the signal that stops CMD for a restart (TERM, INT, QUIT, HUP, USR1, USR2).", valueName: "signal"))
    var stopSignal: String?

    @Option(help: ArgumentHelp("With --restart-on-change: how long CMD may take to stop before SIGKILL.", valueName: "duration"))
    var stopTimeout: String?

    @OptionGroup var logging: LoggingOptions

    static let intervalRange: ClosedRange<TimeInterval> = 1...86400
    static let stopTimeoutRange: ClosedRange<TimeInterval> = 1...3600
    static let stopSignals: [String: Int32] = [
        "TERM": SIGTERM, "INT": SIGINT, "QUIT": SIGQUIT, "HUP": SIGHUP, "USR1": SIGUSR1, "USR2": SIGUSR2,
    ]

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --, e.g. secret-sync run -- /usr/bin/myapp") }
        if !restartOnChange,
            let flag = [("--interval", interval), ("--stop-signal", stopSignal), ("--stop-timeout", stopTimeout)]
                .first(where: { $0.1 != nil })?.0
        {
            throw ValidationError("\(flag) applies only with --restart-on-change")
        }
        _ = try supervisorOptions()
    }

    /// The --restart-on-change settings, range-checked.
    func supervisorOptions() throws -> Supervisor.Options {
        let every = try interval.map { try DurationOption.parse($0, flag: "--interval", within: Self.intervalRange) } ?? 300
        let timeout = try stopTimeout.map { try DurationOption.parse($0, flag: "--stop-timeout", within: Self.stopTimeoutRange) } ?? 10
        var signal = SIGTERM
        if let name = stopSignal {
            let key = name.uppercased().hasPrefix("SIG") ? String(name.uppercased().dropFirst(3)) : name.uppercased()
            guard let number = Self.stopSignals[key] else {
                throw ValidationError("--stop-signal '\(name)' is not one of TERM, INT, QUIT, HUP, USR1, USR2")
            }
            signal = number
        }
        return Supervisor.Options(interval: every, stopSignal: signal, stopTimeout: timeout)
    }

    func run() throws {
        let logger = logging.makeLogger()
        let parent = ProcessEnvironment.inherited
        let manifest = try manifestOptions.load()
        let secrets = RunEnvironment(manifest: manifest, aws: try AWSContext.live(environment: parent, logger: logger))
        let builder = EnvironmentBuilder(parent: parent, pristine: pristine, keepAWSCredentials: keepAwsCredentials)
        let built = builder.build(try secrets.variables())
        for name in built.overridden {
            logger.notice("overriding environment variable \(name) with the secret's value")
        }
        let executable = try CommandLocator.locate(command[0], path: built.environment["PATH"])
        logger.debug("exec", metadata: ["command": "\(executable)", "variables": "\(built.injected.joined(separator: " "))"])
        guard restartOnChange else {
            try Exec.replaceProcess(executable: executable, arguments: command, environment: built.environment)
        }
        let supervisor = Supervisor(command: [executable] + command.dropFirst(), options: try supervisorOptions(), logger: logger) {
            builder.build(try secrets.variables()).environment
        }
        throw ExitCode(supervisor.run(initial: built.environment))
    }
}

/// `execve(2)`: the only way `run` leaves no process between systemd and the application.
enum Exec {
    static func replaceProcess(executable: String, arguments: [String], environment: [String: String]) throws -> Never {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        ProcessHardening.closeOwnDescriptorsOnExec()
        ProcessHardening.restoreForExec()
        execve(executable, argv, envp)
        // Only reached when execve failed; the strings are abandoned to the exit that follows.
        let code = errno
        throw CommandLocator.Failure(
            message: "\(arguments[0]): cannot execute \(executable): \(String(cString: strerror(code)).lowercased())",
            fix: code == ENOEXEC ? "add a #! line to the script" : nil, exitStatus: code == ENOENT ? 127 : 126)
    }
}
