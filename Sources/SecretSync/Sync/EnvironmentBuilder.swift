import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Builds the environment `secret-sync run` hands to its command: the parent's (or a minimal
/// allowlist with `pristine`), without the wrapper's own AWS credentials, plus the secrets.
package struct EnvironmentBuilder: Sendable {
    /// What `--pristine` keeps from the parent.
    package static let pristineAllowlist: Set<String> = [
        "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR",
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "INVOCATION_ID", "JOURNAL_STREAM",
    ]

    /// The wrapper's credentials for `auth: environment`: never passed to hooks, and to `run`'s
    /// command only when asked.
    package static let awsCredentialVariables: Set<String> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]

    package let parent: [String: String]
    package let pristine: Bool
    package let keepAWSCredentials: Bool

    package init(parent: [String: String], pristine: Bool, keepAWSCredentials: Bool) {
        self.parent = parent
        self.pristine = pristine
        self.keepAWSCredentials = keepAWSCredentials
    }

    package struct Result: Sendable {
        package let environment: [String: String]
        /// Names (never values) of parent variables a secret replaced.
        package let overridden: [String]
        package let injected: [String]
    }

    /// Merges every secret's variables: a `name:` entry wins over a `prefix:` one of the same name;
    /// two `prefix:` entries that make one name with different values are refused (fail closed).
    static func merge(_ variables: [EntryVariable]) throws -> [(name: String, value: String)] {
        var chosen = [String: EntryVariable]()
        var order = [String]()
        for variable in variables {
            guard let existing = chosen[variable.name] else {
                chosen[variable.name] = variable
                order.append(variable.name)
                continue
            }
            if variable.explicit { chosen[variable.name] = variable }
            if !variable.explicit, !existing.explicit, existing.value != variable.value {
                throw RenderError(
                    message:
                        "\(variable.name) would be set by the prefix: entries of both \(existing.entry) and \(variable.entry), with different values",
                    fix: "use distinct prefixes, or set \(variable.name) explicitly with name: and key:")
            }
        }
        // Safe: `order` holds exactly the names put in `chosen`.
        return order.map { (name: $0, value: chosen[$0]!.value) }
    }

    package func build(_ secrets: [(name: String, value: String)]) -> Result {
        var environment = parent.filter { pristine ? Self.pristineAllowlist.contains($0.key) : true }
        if !keepAWSCredentials {
            for name in Self.awsCredentialVariables { environment.removeValue(forKey: name) }
        }
        var overridden = [String]()
        for (name, value) in secrets {
            if environment[name] != nil { overridden.append(name) }
            environment[name] = value
        }
        return Result(environment: environment, overridden: overridden, injected: secrets.map(\.name))
    }
}
