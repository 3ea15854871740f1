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
            "secret-sync replaces itself with CMD (same PID: signals reach the application directly, and its exit status is the application's). Options go before --; everything after it is CMD and its arguments, passed unchanged. If any secret cannot be fetched, CMD is not started and the exit status is 1; a CMD that is not found exits 127, one that cannot be executed 126. The wrapper's own AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) are removed from CMD's environment unless --keep-aws-credentials. A prefix: entry never sets a variable that changes how programs are loaded or run (LD_*, PATH, BASH_ENV, ...); name such a variable explicitly with name: if the application needs it."
    )

    @OptionGroup var manifestOptions: ManifestOptions

    @Flag(help: "Start CMD from a minimal environment (PATH, HOME, LANG, TZ, USER, ...) plus the secrets.")
    var pristine = false

    @Flag(help: "Pass the wrapper's AWS_* credential variables on to CMD.")
    var keepAwsCredentials = false

    @OptionGroup var logging: LoggingOptions

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --, e.g. secret-sync run -- /usr/bin/myapp") }
    }

    func run() throws {
        let logger = logging.makeLogger()
        let parent = ProcessEnvironment.inherited
        let manifest = try manifestOptions.load()
        let transport = try HTTPClientPool(options: .fromEnvironment(parent), size: SecretFetcher.defaultConcurrency)
        let variables = try RunEnvironment(
            manifest: manifest, credentials: manifest.credentialProvider(transport: transport, environment: parent, logger: logger),
            secretsManager: SecretsManagerClient(transport: transport, environment: parent, logger: logger), logger: logger
        ).variables()
        let built = EnvironmentBuilder(parent: parent, pristine: pristine, keepAWSCredentials: keepAwsCredentials).build(variables)
        for name in built.overridden {
            logger.notice("overriding environment variable \(name) with the secret's value")
        }
        let executable = try CommandLocator.locate(command[0], path: built.environment["PATH"])
        logger.debug("exec", metadata: ["command": "\(executable)", "variables": "\(built.injected.joined(separator: " "))"])
        try Exec.replaceProcess(executable: executable, arguments: command, environment: built.environment)
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
