import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Builds the environment `secret-sync run` hands to its command: the parent's (or a minimal
/// allowlist with `pristine`), without the wrapper's own AWS credentials, plus the secrets.
public struct EnvironmentBuilder: Sendable {
    /// What `--pristine` keeps from the parent.
    public static let pristineAllowlist: Set<String> = [
        "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "USER", "LOGNAME", "SHELL", "TERM", "TMPDIR",
        "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "INVOCATION_ID", "JOURNAL_STREAM",
    ]

    /// The wrapper's credentials for `auth: environment`: never passed to hooks, and to `run`'s
    /// command only when asked.
    public static let awsCredentialVariables: Set<String> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]

    public let parent: [String: String]
    public let pristine: Bool
    public let keepAWSCredentials: Bool

    public init(parent: [String: String], pristine: Bool, keepAWSCredentials: Bool) {
        self.parent = parent
        self.pristine = pristine
        self.keepAWSCredentials = keepAWSCredentials
    }

    public struct Result: Sendable {
        public let environment: [String: String]
        /// Names (never values) of parent variables a secret replaced.
        public let overridden: [String]
        public let injected: [String]
    }

    /// One injected variable; `explicit` for `name:` entries, which win over `prefix:` ones.
    public struct Variable: Sendable, Equatable {
        public let name: String
        public let value: String
        public let explicit: Bool
        public let secret: String
    }

    /// The variables of one secret's `env:` entries; throws for anything that cannot be a variable.
    public static func variables(for secret: ManifestEntry, payload: ValuePayload) throws -> [Variable] {
        var variables = [(name: String, value: String, explicit: Bool)]()
        func failure(_ message: String, _ fix: String) -> RenderError {
            RenderError(message: "secret \(secret.name): \(message)", fix: fix)
        }
        for entry in secret.env {
            switch entry {
            case .variable(let name, nil, let base64):
                if base64 {
                    variables.append((name, Data(payload.bytes).base64EncodedString(), true))
                    continue
                }
                guard case .string = payload.kind else {
                    throw failure(
                        "\(name): the secret is binary (SecretBinary), which an environment variable cannot hold as it is",
                        "add `encoding: base64` to this env entry, and decode it in the application")
                }
                guard let text = String(validating: payload.bytes, as: UTF8.self) else {
                    throw failure("\(name): the value is not valid UTF-8", "add `encoding: base64` to this env entry")
                }
                variables.append((name, text, true))
            case .variable(let name, let key?, let base64):
                let field: JSONDocument
                do {
                    field = try Renderer.field(key, of: try Renderer.object(payload, for: "env \(name) (key: \(key))"))
                } catch let error as RenderError {
                    throw failure(error.message, error.fix ?? "")
                }
                let text = field.fieldText
                variables.append((name, base64 ? Data(text.utf8).base64EncodedString() : text, true))
            case .prefix(let prefix):
                let object: JSONDocument
                do {
                    object = try Renderer.object(payload, for: "env prefix \(prefix)")
                } catch let error as RenderError {
                    throw failure(error.message, error.fix ?? "")
                }
                guard case .object(let members) = object else { continue }
                for (field, value) in members {
                    // ASCII letters only: `straße` must be refused, not become STRASSE.
                    let name = prefix + ProtectedVariables.asciiUppercased(field)
                    guard Renderer.isValidEnvironmentName(name) else {
                        throw failure(
                            "field '\(field)' would make '\(name)', which is not a valid environment variable name",
                            "rename the field to letters, digits and underscores, or map it with name: and key:")
                    }
                    guard !ProtectedVariables.contains(name) else {
                        throw failure(
                            "field '\(field)' would set \(name) through prefix \(prefix), which \(ProtectedVariables.reason(for: name)); refused",
                            "rename the field; if the application needs \(name), set it explicitly with name: \(name) and key: \(field)")
                    }
                    variables.append((name, value.fieldText, false))
                }
            }
        }
        for (name, value, _) in variables where value.unicodeScalars.contains("\0") {
            throw failure(
                "\(name): the value contains a NUL character, which no environment variable can hold",
                "use encoding: base64, or write it to a file")
        }
        return variables.map { Variable(name: $0.name, value: $0.value, explicit: $0.explicit, secret: secret.name) }
    }

    /// Merges every secret's variables: a `name:` entry wins over a `prefix:` one of the same name;
    /// two `prefix:` entries that make one name with different values are refused (fail closed).
    public static func merge(_ variables: [Variable]) throws -> [(name: String, value: String)] {
        var chosen = [String: Variable]()
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
                        "\(variable.name) would be set by the prefix: entries of both \(existing.secret) and \(variable.secret), with different values",
                    fix: "use distinct prefixes, or set \(variable.name) explicitly with name: and key:")
            }
        }
        // Safe: `order` holds exactly the names put in `chosen`.
        return order.map { (name: $0, value: chosen[$0]!.value) }
    }

    public func build(_ secrets: [(name: String, value: String)]) -> Result {
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
