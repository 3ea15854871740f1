import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A profile of the shared AWS files: static keys, or a `credential_process` (run without a shell,
/// through ``ProcessLauncher`` with a deadline, its Version 1 JSON read as the AWS SDKs read it).
package struct ProfileCredentialProvider: CredentialProvider {
    let profile: String
    let environment: [String: String]
    /// No `credential_process` runs past this (`once --timeout`); each run gets at most `processTimeout`.
    let deadline: Deadline?
    static let processTimeout: TimeInterval = 60
    /// Output kept from a `credential_process` (its JSON is a few KiB).
    static let outputLimit = 64 << 10

    package init(profile: String, environment: [String: String], deadline: Deadline? = nil) {
        self.profile = profile
        self.environment = environment
        self.deadline = deadline
    }

    /// Root's files come from root's home, not from a `$HOME` a `sudo` may have kept from the caller.
    var home: String {
        if geteuid() == 0 { return SystemAccounts.homeDirectory(0) ?? "/root" }
        return environment["HOME"] ?? SystemAccounts.homeDirectory(geteuid()) ?? "/"
    }
    var configPath: String { environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config" }
    var credentialsPath: String { environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials" }

    package func credentials() throws -> AWSCredentials {
        let credentialsFile = try readShared(credentialsPath, role: "AWS credentials file")
        let configFile = try readShared(configPath, role: "AWS config file")
        if let section = credentialsFile?.sections[profile], let credentials = staticKeys(section) { return credentials }
        let configSection = configFile?.sections[profile == "default" ? "default" : "profile \(profile)"]
        if let command = configSection?["credential_process"] { return try runProcess(command) }
        if let configSection, let credentials = staticKeys(configSection) { return credentials }
        throw CredentialSourceError(
            message: "AWS profile '\(profile)' has no credentials in \(credentialsPath) or \(configPath)",
            fix: "add aws_access_key_id/aws_secret_access_key or credential_process to the profile, or set AWS_CONFIG_FILE")
    }

    /// The file's sections, or nil when it does not exist. As root, a file that another user owns
    /// or may write is refused: its `credential_process` would run as root.
    func readShared(_ path: String, role: String) throws -> INIFile? {
        let data: Data
        do {
            // As root, judged by PathTrust on the descriptors read (its credential_process would run as root).
            data = try LocalFile.read(
                path, role: role,
                trust: PathTrust.rootConfiguration(
                    role, risk: "make secret-sync run any credential_process as root", isConfiguration: false))
        } catch let error as LocalFileError where error.errno == ENOENT {
            return nil
        }
        return INIFile(String(decoding: data, as: UTF8.self))
    }

    func staticKeys(_ section: [String: String]) -> AWSCredentials? {
        guard let accessKey = section["aws_access_key_id"], let secretKey = section["aws_secret_access_key"] else { return nil }
        return AWSCredentials(
            accessKeyId: accessKey, secretAccessKey: RedactedString(secretKey),
            sessionToken: section["aws_session_token"].map(RedactedString.init), source: .profile(profile))
    }

    func runProcess(_ command: String) throws -> AWSCredentials {
        let arguments = ShellWords.split(command)
        guard let program = arguments.first else {
            throw CredentialSourceError(message: "credential_process of profile '\(profile)' is empty", fix: "give the command to run")
        }
        let allowed = min(Self.processTimeout, max(0, deadline?.remaining ?? Self.processTimeout))
        let outcome = ProcessLauncher.run(
            arguments, environment: environment, output: .capture(limit: Self.outputLimit), deadline: .after(allowed))
        let stderr = String(decoding: outcome.stderr.prefix(2000), as: UTF8.self).trimmed
        switch outcome.ending {
        case .exited(0): break
        case .timedOut:
            throw CredentialSourceError(
                message:
                    "credential_process '\(program)' of profile '\(profile)' timed out after \(DurationText.describe(allowed))"
                    + (allowed < Self.processTimeout ? " (the --timeout was reached)" : ""),
                fix: "run it by hand to see why it hangs; it was killed with its process group")
        case .couldNotStart(let reason):
            throw CredentialSourceError(
                message: "cannot run credential_process of profile '\(profile)': \(reason)", fix: "check the path in the profile")
        default:
            throw CredentialSourceError(
                message: "credential_process of profile '\(profile)' ended with \(outcome.ending.description): \(stderr)", fix: nil)
        }
        return try CredentialProcessOutput.parse(outcome.stdout, profile: profile)
    }
}
