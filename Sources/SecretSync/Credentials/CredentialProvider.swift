import Foundation
import Logging

/// Where AWS credentials come from for Secrets Manager calls.
public protocol CredentialProvider: Sendable {
    func credentials() throws -> AWSCredentials
    /// True when the next `credentials()` will go to the network (nothing cached, or about to expire).
    var needsRefresh: Bool { get }
}

extension CredentialProvider {
    public var needsRefresh: Bool { false }
}

/// An error getting credentials from the environment or a profile.
public struct CredentialSourceError: DiagnosticError {
    public let message: String
    public let fix: String?
}

/// Reuses credentials until shortly before they expire, so a pass (and a daemon's next passes)
/// costs one `CreateSession` per credential lifetime.
public final class CachingCredentialProvider: CredentialProvider, @unchecked Sendable {
    // @unchecked Sendable: `cached` is only touched while `lock` is held.
    private let source: @Sendable () throws -> AWSCredentials
    private let clock: @Sendable () -> Date
    private let lock = NSLock()
    private var cached: AWSCredentials?
    /// Refresh this long before expiry (SDKs use 10–15 minutes; credentials last about an hour).
    let refreshMargin: TimeInterval

    public init(
        refreshMargin: TimeInterval = 10 * 60, clock: @escaping @Sendable () -> Date = { Date() },
        source: @escaping @Sendable () throws -> AWSCredentials
    ) {
        self.source = source
        self.clock = clock
        self.refreshMargin = refreshMargin
    }

    public var needsRefresh: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !isFresh(cached)
    }

    private func isFresh(_ credentials: AWSCredentials?) -> Bool {
        guard let credentials else { return false }
        return credentials.expiration.map { $0.timeIntervalSince(clock()) > refreshMargin } ?? true
    }

    public func credentials() throws -> AWSCredentials {
        lock.lock()
        defer { lock.unlock() }
        if let cached, isFresh(cached) { return cached }
        let fresh = try source()
        cached = fresh
        return fresh
    }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
public struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    public func credentials() throws -> AWSCredentials {
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], !accessKey.isEmpty,
            let secretKey = environment["AWS_SECRET_ACCESS_KEY"], !secretKey.isEmpty
        else {
            throw CredentialSourceError(
                message: "auth: environment: true, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
                fix: "set them in the service's environment (e.g. an EnvironmentFile= readable only by root), or use roles_anywhere")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : SecretValue($0) }
        return AWSCredentials(accessKeyId: accessKey, secretAccessKey: SecretValue(secretKey), sessionToken: token)
    }
}

/// A profile of the shared AWS files: static keys, or a `credential_process` (run without a shell,
/// its Version 1 JSON read as the AWS SDKs read it).
public struct ProfileCredentialProvider: CredentialProvider {
    let profile: String
    let environment: [String: String]

    public init(profile: String, environment: [String: String]) {
        self.profile = profile
        self.environment = environment
    }

    var home: String { environment["HOME"] ?? NSHomeDirectory() }
    var configPath: String { environment["AWS_CONFIG_FILE"] ?? "\(home)/.aws/config" }
    var credentialsPath: String { environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials" }

    public func credentials() throws -> AWSCredentials {
        let credentialsFile = (try? LocalFile.read(credentialsPath, role: "AWS credentials file")).map {
            INIFile(String(decoding: $0, as: UTF8.self))
        }
        let configFile = (try? LocalFile.read(configPath, role: "AWS config file")).map { INIFile(String(decoding: $0, as: UTF8.self)) }
        if let section = credentialsFile?.sections[profile], let credentials = Self.staticKeys(section) { return credentials }
        let configSection = configFile?.sections[profile == "default" ? "default" : "profile \(profile)"]
        if let command = configSection?["credential_process"] { return try runProcess(command) }
        if let configSection, let credentials = Self.staticKeys(configSection) { return credentials }
        throw CredentialSourceError(
            message: "AWS profile '\(profile)' has no credentials in \(credentialsPath) or \(configPath)",
            fix: "add aws_access_key_id/aws_secret_access_key or credential_process to the profile, or set AWS_CONFIG_FILE")
    }

    static func staticKeys(_ section: [String: String]) -> AWSCredentials? {
        guard let accessKey = section["aws_access_key_id"], let secretKey = section["aws_secret_access_key"] else { return nil }
        return AWSCredentials(
            accessKeyId: accessKey, secretAccessKey: SecretValue(secretKey),
            sessionToken: section["aws_session_token"].map(SecretValue.init))
    }

    func runProcess(_ command: String) throws -> AWSCredentials {
        let arguments = ShellWords.split(command)
        guard let program = arguments.first else {
            throw CredentialSourceError(message: "credential_process of profile '\(profile)' is empty", fix: "give the command to run")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program.hasPrefix("/") ? program : "/usr/bin/env")
        process.arguments = program.hasPrefix("/") ? Array(arguments.dropFirst()) : arguments
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do {
            try process.run()
        } catch {
            throw CredentialSourceError(
                message: "cannot run credential_process '\(program)' of profile '\(profile)': \(error)", fix: "check the path")
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let detail = String(decoding: stderr.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw CredentialSourceError(
                message: "credential_process of profile '\(profile)' exited with \(process.terminationStatus): \(detail)", fix: nil)
        }
        guard let object = try? JSONSerialization.jsonObject(with: stdout) as? [String: Any],
            object["Version"] as? Int == 1, let accessKey = object["AccessKeyId"] as? String,
            let secretKey = object["SecretAccessKey"] as? String
        else {
            throw CredentialSourceError(
                message: "credential_process of profile '\(profile)' did not print Version 1 JSON with AccessKeyId and SecretAccessKey",
                fix: "check the command by running it by hand")
        }
        let expirationText = object["Expiration"] as? String
        return AWSCredentials(
            accessKeyId: accessKey, secretAccessKey: SecretValue(secretKey),
            sessionToken: (object["SessionToken"] as? String).map(SecretValue.init),
            expiration: expirationText.flatMap(UTCTime.parseRFC3339), expirationText: expirationText)
    }
}

/// The INI dialect of the AWS shared files: `[section]`, `key = value`, `#` and `;` comments.
struct INIFile {
    var sections: [String: [String: String]] = [:]

    init(_ text: String) {
        var current: String?
        var lastKey: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current else { continue }
            if raw.first == " " || raw.first == "\t", let lastKey {
                // A continuation line (nested values such as s3 settings): append.
                sections[current]?[lastKey, default: ""] += " " + line
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            sections[current]?[key] = parts[1].trimmingCharacters(in: .whitespaces)
            lastKey = key
        }
    }
}

/// POSIX-shell-like word splitting (quotes and backslashes), for `credential_process` lines,
/// which the AWS SDKs also run without a shell.
enum ShellWords {
    static func split(_ text: String) -> [String] {
        var words = [String]()
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for character in text {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if character == "\\", quote != "'" {
                escaped = true
                inWord = true
                continue
            }
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
                continue
            }
            if character == "'" || character == "\"" {
                quote = character
                inWord = true
            } else if character.isWhitespace {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
