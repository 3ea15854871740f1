import Foundation
import Yams

/// Reads and checks a manifest. Every problem found is reported at once, with its location and
/// a fix; nothing is returned unless the whole manifest is valid.
public struct ManifestParser {
    let accounts: any AccountDirectory
    /// Checks that files the manifest names (certificate, key, template files) exist. Off for
    /// checking examples on a machine that does not have them.
    var checkLocalFiles: Bool
    /// Looks users and groups up on this host. Off for `status`, which only reads the state: a
    /// name it cannot resolve is kept (with no usable id) instead of refused.
    var resolveAccounts: Bool

    public init(accounts: any AccountDirectory = SystemAccounts(), checkLocalFiles: Bool = true, resolveAccounts: Bool = true) {
        self.accounts = accounts
        self.checkLocalFiles = checkLocalFiles
        self.resolveAccounts = resolveAccounts
    }

    public func load(path: String) throws -> Manifest {
        let data = try LocalFile.read(path, role: "manifest")
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ManifestError(
                path: path,
                problems: [
                    .init(
                        location: .init(file: path, line: 1, column: 1), message: "the manifest is not UTF-8 text", fix: "save it as UTF-8")
                ])
        }
        return try parse(text, path: path)
    }

    public func parse(_ text: String, path: String) throws -> Manifest {
        var reader = Reader(path: path, accounts: accounts, checkLocalFiles: checkLocalFiles, resolveAccounts: resolveAccounts)
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, .basic)  // scalars are read as text: no regex-based typing (and no ICU)
        } catch let error as YamlError {
            throw ManifestError(path: path, problems: [reader.problem(for: error)])
        }
        guard let root else {
            throw ManifestError(
                path: path,
                problems: [
                    .init(
                        location: .init(file: path, line: 1, column: 1), message: "the manifest is empty",
                        fix: "start with `version: 1`; see examples/")
                ])
        }
        let manifest = reader.manifest(root)
        guard reader.problems.isEmpty, let manifest else {
            throw ManifestError(path: path, problems: reader.problems)
        }
        return manifest
    }
}

/// Walks the YAML node tree. Scalars are read from their text as written, never through YAML's
/// own typing, so `0640`, `yes` or `1e3` cannot change meaning between YAML 1.1 and 1.2.
private struct Reader {
    let path: String
    let accounts: any AccountDirectory
    let checkLocalFiles: Bool
    let resolveAccounts: Bool
    var problems: [ManifestError.Problem] = []

    init(path: String, accounts: any AccountDirectory, checkLocalFiles: Bool, resolveAccounts: Bool) {
        self.path = path
        self.accounts = accounts
        self.checkLocalFiles = checkLocalFiles
        self.resolveAccounts = resolveAccounts
    }

    // MARK: Problems

    func location(_ node: Node?) -> SourceLocation {
        let mark = node?.mark
        return SourceLocation(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    mutating func report(_ node: Node?, _ keyPath: String, _ message: String, fix: String? = nil) {
        problems.append(.init(location: location(node), message: keyPath.isEmpty ? message : "\(keyPath): \(message)", fix: fix))
    }

    func problem(for error: YamlError) -> ManifestError.Problem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\($0.text) at \($0.mark): " } ?? ""
            return .init(
                location: .init(file: path, line: mark.line, column: mark.column), message: "YAML syntax: \(detail)\(problem)",
                fix: "check indentation and quoting around this place (tabs are not allowed for indentation)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .init(
                location: .init(file: path, line: context.mark.line, column: context.mark.column),
                message: "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.joined(separator: ", ")) in the same mapping",
                fix: "keep each key once")
        default:
            return .init(location: .init(file: path, line: 1, column: 1), message: "YAML: \(error)", fix: nil)
        }
    }

    // MARK: Shapes

    /// The mapping's entries by key; unknown keys are reported with the closest known one.
    mutating func entries(_ node: Node, _ keyPath: String, allowed: [String]) -> [String: (key: Node, value: Node)]? {
        guard case .mapping(let mapping) = node else {
            report(node, keyPath, "expected a mapping of keys (\(allowed.joined(separator: ", "))), found \(kind(node))")
            return nil
        }
        var result = [String: (key: Node, value: Node)]()
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                report(key, keyPath, "keys must be plain words")
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                let suggestion = closest(name, in: allowed).map { "did you mean '\($0)'? " } ?? ""
                report(
                    key, join(keyPath, name), "unknown key",
                    fix: "\(suggestion)known keys here: \(allowed.joined(separator: ", "))")
                continue
            }
            result[name] = (key, value)
        }
        return result
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string.isEmpty ? "an empty value" : "'\(scalar.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    func join(_ keyPath: String, _ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

    mutating func string(_ node: Node, _ keyPath: String, allowEmpty: Bool = false) -> String? {
        guard case .scalar(let scalar) = node else {
            report(node, keyPath, "expected a text value, found \(kind(node))")
            return nil
        }
        if scalar.style == .plain, scalar.string == "~" || scalar.string == "null" || (scalar.string.isEmpty && !allowEmpty) {
            report(node, keyPath, "a value is required here")
            return nil
        }
        return scalar.string
    }

    mutating func required(
        _ entries: [String: (key: Node, value: Node)], _ key: String, _ keyPath: String, parent: Node, fix: String? = nil
    ) -> Node? {
        guard let entry = entries[key] else {
            report(parent, keyPath, "missing required key '\(key)'", fix: fix)
            return nil
        }
        return entry.value
    }

    mutating func absolutePath(_ node: Node, _ keyPath: String) -> String? {
        guard let value = string(node, keyPath) else { return nil }
        guard value.hasPrefix("/") else {
            report(
                node, keyPath, "'\(value)' is a relative path",
                fix: "use an absolute path, e.g. /etc/myapp/\((value as NSString).lastPathComponent)")
            return nil
        }
        let components = value.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard !components.contains(".."), !components.contains("."), !value.hasSuffix("/"), !value.contains("//") else {
            report(node, keyPath, "'\(value)' is not a normalised path", fix: "write it without '.', '..', '//' or a trailing '/'")
            return nil
        }
        guard !value.contains("\0") else {
            report(node, keyPath, "the path contains a NUL character")
            return nil
        }
        if let long = components.first(where: { $0.utf8.count > AtomicFileWriter.nameLimit }) {
            report(
                node, keyPath, "a file name is \(long.utf8.count) bytes long; at most \(AtomicFileWriter.nameLimit) are allowed",
                fix: "shorten it")
            return nil
        }
        guard value.utf8.count < Int(PATH_MAX) else {
            report(node, keyPath, "the path is \(value.utf8.count) bytes long; at most \(Int(PATH_MAX) - 1) are allowed", fix: "shorten it")
            return nil
        }
        return value
    }

    mutating func bool(_ node: Node, _ keyPath: String) -> Bool? {
        guard let value = string(node, keyPath) else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        default:
            report(node, keyPath, "'\(value)' is not true or false", fix: "write true or false")
            return nil
        }
    }

    /// `30s`, `5m`, `1h`, `1h30m`, `2d`, within `range`. A bare number is refused (its unit would
    /// be a guess), and so is `ms`: no manifest setting wants one, and `5ms` for `5m` is a typo.
    mutating func duration(_ node: Node, _ keyPath: String, within range: ClosedRange<TimeInterval>) -> TimeInterval? {
        guard let value = string(node, keyPath) else { return nil }
        switch DurationParser.parse(value, within: range, milliseconds: false) {
        case .valid(let seconds):
            return seconds
        case .malformed:
            report(
                node, keyPath, "'\(value)' is not a duration",
                fix: "write a number with a unit: 30s, 5m, 1h, 1h30m (a bare number has no unit)")
        case .outOfRange:
            report(node, keyPath, "'\(value)' is out of range", fix: "write a duration from \(DurationParser.describe(range))")
        }
        return nil
    }

    /// File modes are read from the text as written, as octal: `"0640"`, `0640` and `640` all mean
    /// rw-r-----. This sidesteps YAML 1.1 (octal) versus YAML 1.2 (decimal) for a bare `0640`.
    mutating func mode(_ node: Node, _ keyPath: String) -> UInt32? {
        guard let value = string(node, keyPath) else { return nil }
        let fix = "write 3 or 4 octal digits, quoted for clarity: mode: \"0640\""
        guard (3...4).contains(value.count), value.allSatisfy({ ("0"..."7").contains($0) }), let mode = UInt32(value, radix: 8) else {
            report(node, keyPath, "'\(value)' is not an octal file mode", fix: fix)
            return nil
        }
        guard mode & ~0o777 == 0 else {
            report(node, keyPath, "'\(value)' sets setuid, setgid or sticky bits, which a secret file never needs", fix: fix)
            return nil
        }
        guard mode & 0o600 != 0 || mode & 0o060 != 0 || mode & 0o006 != 0 else {
            report(
                node, keyPath, "'\(value)' lets nobody read the file", fix: "give its owner or group read access, e.g. \"0600\" or \"0640\""
            )
            return nil
        }
        return mode
    }

    mutating func account(_ node: Node, _ keyPath: String, group: Bool) -> Account? {
        guard let value = string(node, keyPath) else { return nil }
        // 4294967295 is (uid_t)-1, which chown(2) reads as "leave unchanged"; larger ones do not fit.
        if !value.isEmpty, value.allSatisfy({ $0.isASCII && $0.isNumber }), UInt64(value).map({ $0 >= UInt64(UInt32.max) }) ?? true {
            report(
                node, keyPath, "'\(value)' cannot own a file: ids go up to 4294967294",
                fix: "name the \(group ? "group" : "user") or give its numeric id")
            return nil
        }
        if let account = group ? accounts.group(value) : accounts.user(value) { return account }
        if !resolveAccounts { return Account(name: value, id: UInt32.max) }
        report(
            node, keyPath, "unknown \(group ? "group" : "user") '\(value)' on this host",
            fix: group
                ? "create it first (groupadd --system \(value)), or name an existing group"
                : "create it first (useradd --system \(value)), or name an existing user")
        return nil
    }

    // MARK: The manifest

    static let topKeys = ["version", "auth", "region", "state_dir", "interval", "hook_timeout", "metrics_file", "defaults", "secrets"]

    mutating func manifest(_ root: Node) -> Manifest? {
        guard let top = entries(root, "", allowed: Self.topKeys) else { return nil }
        if let version = required(top, "version", "", parent: root, fix: "add `version: 1` at the top") {
            if let value = string(version, "version"), value != "1" {
                report(version, "version", "version '\(value)' is not supported by this secret-sync", fix: "use version: 1")
            }
        }
        let auth = required(top, "auth", "", parent: root, fix: "add an auth: section (roles_anywhere, environment or profile)")
            .flatMap { self.auth($0) }
        let region = top["region"].flatMap { string($0.value, "region") }
        if let region, let node = top["region"]?.value { checkRegion(region, node, "region") }
        var stateDirectory = Manifest.defaultStateDirectory
        if let node = top["state_dir"]?.value, let value = absolutePath(node, "state_dir") { stateDirectory = value }
        let interval = top["interval"].flatMap { duration($0.value, "interval", within: Manifest.intervalRange) } ?? 300
        let hookTimeout = top["hook_timeout"].flatMap { duration($0.value, "hook_timeout", within: Manifest.hookTimeoutRange) } ?? 30
        let metricsFile = top["metrics_file"].flatMap { absolutePath($0.value, "metrics_file") }

        var defaults = FileDefaults(mode: 0o600, owner: nil, group: nil)
        if let node = top["defaults"]?.value, let fields = entries(node, "defaults", allowed: ["mode", "owner", "group"]) {
            if let value = fields["mode"] { defaults.mode = mode(value.value, "defaults.mode") ?? defaults.mode }
            if let value = fields["owner"] { defaults.owner = account(value.value, "defaults.owner", group: false) }
            if let value = fields["group"] { defaults.group = account(value.value, "defaults.group", group: true) }
        }

        var secrets = [SecretSpec]()
        if let node = required(top, "secrets", "", parent: root, fix: "list the secrets to sync under secrets:") {
            if case .sequence(let sequence) = node {
                if sequence.isEmpty { report(node, "secrets", "the list is empty", fix: "list at least one secret") }
                for (index, item) in sequence.enumerated() {
                    if let secret = secret(item, "secrets[\(index)]", defaults: defaults, manifestRegion: region, auth: auth) {
                        secrets.append(secret)
                    }
                }
            } else {
                report(node, "secrets", "expected a list of secrets, found \(kind(node))")
            }
        }
        checkUniqueness(secrets)
        guard problems.isEmpty, let auth else { return nil }
        return Manifest(
            path: path, auth: auth, region: region, stateDirectory: stateDirectory, interval: interval, hookTimeout: hookTimeout,
            metricsFile: metricsFile, secrets: secrets)
    }

    struct FileDefaults {
        var mode: UInt32
        var owner: Account?
        var group: Account?
    }

    mutating func checkRegion(_ region: String, _ node: Node, _ keyPath: String, partition: String? = nil) {
        if let problem = Region.problem(region, partition: partition) { report(node, keyPath, problem.message, fix: problem.fix) }
    }

    // MARK: auth

    mutating func auth(_ node: Node) -> Manifest.Auth? {
        guard let fields = entries(node, "auth", allowed: ["roles_anywhere", "environment", "profile"]) else { return nil }
        guard fields.count == 1, let (key, entry) = fields.first else {
            report(
                node, "auth", fields.isEmpty ? "no credential source given" : "give exactly one of roles_anywhere, environment, profile",
                fix: "use roles_anywhere: for the cross-partition setup")
            return nil
        }
        switch key {
        case "environment":
            guard let enabled = bool(entry.value, "auth.environment") else { return nil }
            if !enabled {
                report(entry.value, "auth.environment", "false is not a credential source", fix: "use environment: true, or another source")
            }
            return enabled ? .environment : nil
        case "profile":
            return string(entry.value, "auth.profile").map(Manifest.Auth.profile)
        default:
            return rolesAnywhere(entry.value)
        }
    }

    mutating func rolesAnywhere(_ node: Node) -> Manifest.Auth? {
        let keyPath = "auth.roles_anywhere"
        let keys = [
            "certificate", "private_key", "tpm_auth_file", "intermediates", "trust_anchor_arn", "profile_arn", "role_arn",
            "session_duration", "region",
        ]
        guard let fields = entries(node, keyPath, allowed: keys) else { return nil }
        if let value = fields["certificate"]?.value.scalar?.string, value.lowercased().hasPrefix("pkcs11:") {
            report(
                fields["certificate"]!.value, join(keyPath, "certificate"), "the certificate must be a file, not a PKCS#11 URI",
                fix: "export it from the token once, e.g. `p11tool --export '\(value)' > /etc/ira/client.crt`, and name that file")
            return nil
        }
        let certificate = localFile(fields, "certificate", keyPath, parent: node, role: "certificate", required: true)
        let privateKey = keySource(fields, keyPath, parent: node)
        let tpmAuthFile = localFile(fields, "tpm_auth_file", keyPath, parent: node, role: "TPM auth value file", required: false)
        if tpmAuthFile != nil, case .pkcs11 = privateKey, let node = fields["tpm_auth_file"]?.value {
            report(
                node, join(keyPath, "tpm_auth_file"), "tpm_auth_file applies to TPM keys, but private_key is a PKCS#11 URI",
                fix: "remove tpm_auth_file; a token's PIN is named by pin-source=file:/path in the URI")
        }
        let intermediates = localFile(fields, "intermediates", keyPath, parent: node, role: "intermediates bundle", required: false)
        let trustAnchor = required(fields, "trust_anchor_arn", keyPath, parent: node).flatMap {
            string($0, join(keyPath, "trust_anchor_arn"))
        }
        let profile = required(fields, "profile_arn", keyPath, parent: node).flatMap { string($0, join(keyPath, "profile_arn")) }
        let role = required(fields, "role_arn", keyPath, parent: node).flatMap { string($0, join(keyPath, "role_arn")) }
        var duration = 3600
        if let value = fields["session_duration"]?.value,
            let seconds = self.duration(value, join(keyPath, "session_duration"), within: Manifest.sessionDurationRange)
        {
            duration = Int(seconds)
        }
        let region = fields["region"].flatMap { string($0.value, join(keyPath, "region")) }
        guard let certificate, let privateKey, let trustAnchor, let profile, let role else { return nil }
        let configuration = RolesAnywhereConfiguration(
            certificatePath: certificate, privateKey: privateKey, tpmAuthFile: tpmAuthFile, intermediatesPath: intermediates,
            trustAnchorArn: trustAnchor,
            profileArn: profile, roleArn: role, sessionDuration: duration, region: region)
        do {
            _ = try configuration.resolve()
        } catch let error as RolesAnywhereError {
            let culprit = error.field ?? "trust_anchor_arn"
            report(fields[culprit]?.value ?? node, join(keyPath, culprit), error.message, fix: error.fix)
            return nil
        } catch {
            report(node, keyPath, "\(error)")
            return nil
        }
        return .rolesAnywhere(configuration)
    }

    /// `private_key:`: a key file (or TSS2 PEM TPM key file), `handle:0x…` or a `pkcs11:` URI.
    mutating func keySource(_ fields: [String: (key: Node, value: Node)], _ keyPath: String, parent: Node) -> KeySource? {
        guard let valueNode = required(fields, "private_key", keyPath, parent: parent),
            let text = string(valueNode, join(keyPath, "private_key"))
        else { return nil }
        let lowered = text.lowercased()
        guard lowered.hasPrefix("pkcs11:") || lowered.hasPrefix("handle:") else {
            return localFile(fields, "private_key", keyPath, parent: parent, role: "private key", required: true).map(KeySource.file)
        }
        do {
            let source = try KeySource.parse(text)
            if case .pkcs11(let uri) = source, checkLocalFiles {
                if let module = uri.modulePath, !FileManager.default.fileExists(atPath: module) {
                    report(
                        valueNode, join(keyPath, "private_key"), "PKCS#11 module \(module) (module-path) does not exist",
                        fix: "install the token's module (SoftHSM2: apt install softhsm2) or correct module-path")
                }
                if let pin = uri.pinSource, !FileManager.default.fileExists(atPath: pin) {
                    report(
                        valueNode, join(keyPath, "private_key"), "PIN file \(pin) (pin-source) does not exist",
                        fix: "write the token's PIN there (readable only by secret-sync's user), or correct pin-source")
                }
            }
            return source
        } catch let error as KeySourceError {
            report(valueNode, join(keyPath, "private_key"), error.message, fix: error.fix)
            return nil
        } catch {
            report(valueNode, join(keyPath, "private_key"), "\(error)")
            return nil
        }
    }

    mutating func localFile(
        _ fields: [String: (key: Node, value: Node)], _ key: String, _ keyPath: String, parent: Node, role: String,
        required isRequired: Bool
    ) -> String? {
        let valueNode = isRequired ? required(fields, key, keyPath, parent: parent) : fields[key]?.value
        guard let valueNode, let value = absolutePath(valueNode, join(keyPath, key)) else { return nil }
        if checkLocalFiles, !FileManager.default.fileExists(atPath: value) {
            report(valueNode, join(keyPath, key), "\(role) \(value) does not exist", fix: "install the \(role) there, or correct the path")
        }
        return value
    }

    // MARK: secrets

    static let secretKeys = ["id", "name", "version_stage", "version_id", "region", "files", "env", "on_change"]

    mutating func secret(_ node: Node, _ keyPath: String, defaults: FileDefaults, manifestRegion: String?, auth: Manifest.Auth?)
        -> SecretSpec?
    {
        guard let fields = entries(node, keyPath, allowed: Self.secretKeys) else { return nil }
        guard let idNode = required(fields, "id", keyPath, parent: node, fix: "give the secret's name or ARN as id:"),
            let id = string(idNode, join(keyPath, "id"))
        else { return nil }
        var name = id
        if let value = fields["name"]?.value, let given = string(value, join(keyPath, "name")) {
            if given.contains(where: { $0.isWhitespace || $0.isNewline }) {
                report(value, join(keyPath, "name"), "'\(given)' contains white space", fix: "use letters, digits and - _ / .")
            }
            name = given
        }
        var version = VersionSelector.stage("AWSCURRENT")
        switch (fields["version_stage"], fields["version_id"]) {
        case (.some(let stage), .some):
            report(stage.key, join(keyPath, "version_stage"), "version_stage and version_id are both given", fix: "keep one of them")
        case (.some(let stage), nil):
            if let value = string(stage.value, join(keyPath, "version_stage")) { version = .stage(value) }
        case (nil, .some(let versionID)):
            if let value = string(versionID.value, join(keyPath, "version_id")) {
                if !(32...64).contains(value.count) {
                    report(versionID.value, join(keyPath, "version_id"), "'\(value)' is not a version ID (32 to 64 characters)")
                }
                version = .id(value)
            }
        case (nil, nil): break
        }

        // Region: the ARN's, else the secret's, else the manifest's, else the trust anchor's.
        var region: String?
        if id.hasPrefix("arn:") {
            if let arn = ARN(id), arn.service == "secretsmanager", arn.resourceType == "secret", !arn.region.isEmpty {
                checkRegion(arn.region, idNode, join(keyPath, "id"), partition: arn.partition)
                region = arn.region
            } else {
                report(
                    idNode, join(keyPath, "id"), "'\(id)' is not a Secrets Manager secret ARN",
                    fix: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")
            }
        }
        if region == nil, let value = fields["region"]?.value, let given = string(value, join(keyPath, "region")) {
            checkRegion(given, value, join(keyPath, "region"))
            region = given
        }
        region = region ?? manifestRegion
        if region == nil, case .rolesAnywhere(let configuration) = auth { region = try? configuration.resolve().region }
        if region == nil, auth != nil {
            report(
                idNode, join(keyPath, "id"), "no region for this secret",
                fix: "set region: at the top of the manifest (or on the secret); the instance's own region is never assumed")
        }

        var files = [FileSpec]()
        if let node = fields["files"]?.value {
            if case .sequence(let sequence) = node {
                for (index, item) in sequence.enumerated() {
                    if let file = file(item, join(keyPath, "files[\(index)]"), defaults: defaults) { files.append(file) }
                }
            } else {
                report(node, join(keyPath, "files"), "expected a list of files, found \(kind(node))")
            }
        }
        var env = [EnvSpec]()
        if let node = fields["env"]?.value {
            if case .sequence(let sequence) = node {
                for (index, item) in sequence.enumerated() {
                    if let entry = envEntry(item, join(keyPath, "env[\(index)]")) { env.append(entry) }
                }
            } else {
                report(node, join(keyPath, "env"), "expected a list, found \(kind(node))")
            }
        }
        if fields["files"] == nil, fields["env"] == nil {
            report(node, keyPath, "secret '\(name)' has neither files: nor env:", fix: "say where the secret goes")
        }
        var hooks = [HookCommand]()
        if let node = fields["on_change"]?.value {
            if case .sequence(let sequence) = node {
                for (index, item) in sequence.enumerated() {
                    if let hook = hook(item, join(keyPath, "on_change[\(index)]")) { hooks.append(hook) }
                }
            } else {
                report(node, join(keyPath, "on_change"), "expected a list of commands, found \(kind(node))")
            }
            if fields["files"] == nil {
                report(
                    node, join(keyPath, "on_change"), "hooks run when files change, and this secret writes no file",
                    fix: "remove on_change:")
            }
        }
        return SecretSpec(
            id: id, name: name, version: version, region: region ?? "", files: files, env: env, onChange: hooks, location: location(node))
    }

    mutating func file(_ node: Node, _ keyPath: String, defaults: FileDefaults) -> FileSpec? {
        let keys = ["path", "key", "format", "template", "template_file", "mode", "owner", "group"]
        guard let fields = entries(node, keyPath, allowed: keys) else { return nil }
        let filePath = required(fields, "path", keyPath, parent: node).flatMap { absolutePath($0, join(keyPath, "path")) }
        let key = fields["key"].flatMap { string($0.value, join(keyPath, "key")) }
        var format = "raw"
        if let value = fields["format"]?.value, let given = string(value, join(keyPath, "format")) {
            if ["raw", "json", "dotenv"].contains(given) {
                format = given
            } else {
                report(value, join(keyPath, "format"), "unknown format '\(given)'", fix: "use raw, json or dotenv (or template:)")
            }
        }
        var content: FileContent?
        let templateKeys = ["template", "template_file"].filter { fields[$0] != nil }
        if templateKeys.count == 2 {
            // Safe: two template keys means both are present.
            report(
                fields["template_file"]!.key, join(keyPath, "template_file"), "template and template_file are both given", fix: "keep one")
        } else if let templateKey = templateKeys.first {
            for conflicting in ["key", "format"] where fields[conflicting] != nil {
                // Safe: the loop only visits keys that are present.
                report(
                    fields[conflicting]!.key, join(keyPath, conflicting), "\(conflicting) cannot be combined with \(templateKey)",
                    fix: "a template names its fields itself: {{field}}")
            }
            if templateKey == "template", let value = fields["template"]?.value, let source = string(value, join(keyPath, "template")) {
                do {
                    content = .template(.inline(try Template(parsing: source)))
                } catch {
                    report(value, join(keyPath, "template"), error.message, fix: "write placeholders as {{field}}")
                }
            } else if let value = fields["template_file"]?.value, let templatePath = absolutePath(value, join(keyPath, "template_file")) {
                if checkLocalFiles, !FileManager.default.fileExists(atPath: templatePath) {
                    report(value, join(keyPath, "template_file"), "template file \(templatePath) does not exist")
                }
                content = .template(.file(templatePath))
            }
        } else if let key {
            if format != "raw" {
                // Safe: format is only other than raw when the format key was given.
                report(
                    fields["format"]!.key, join(keyPath, "format"), "key: writes one field, which cannot also be format: \(format)",
                    fix: "drop format:, or drop key:")
            }
            content = .raw(key: key)
        } else {
            content = format == "json" ? .json : format == "dotenv" ? .dotenv : .raw(key: nil)
        }
        let fileMode = fields["mode"].flatMap { self.mode($0.value, join(keyPath, "mode")) } ?? defaults.mode
        let owner = fields["owner"].map { account($0.value, join(keyPath, "owner"), group: false) } ?? defaults.owner
        let group = fields["group"].map { account($0.value, join(keyPath, "group"), group: true) } ?? defaults.group
        guard let filePath, let content else { return nil }
        return FileSpec(
            path: filePath, content: content, mode: fileMode, owner: owner, group: group, location: location(fields["path"]?.value))
    }

    mutating func envEntry(_ node: Node, _ keyPath: String) -> EnvSpec? {
        guard let fields = entries(node, keyPath, allowed: ["name", "key", "prefix", "encoding"]) else { return nil }
        var base64 = false
        if let encoding = fields["encoding"], let value = string(encoding.value, join(keyPath, "encoding")) {
            if value == "base64" {
                base64 = true
            } else {
                report(
                    encoding.value, join(keyPath, "encoding"), "unknown encoding '\(value)'",
                    fix: "the only encoding is base64 (for binary secrets)")
            }
        }
        switch (fields["name"], fields["prefix"]) {
        case (.some(let name), nil):
            guard let value = string(name.value, join(keyPath, "name")) else { return nil }
            guard Renderer.isValidEnvironmentName(value) else {
                report(
                    name.value, join(keyPath, "name"), "'\(value)' is not a valid environment variable name",
                    fix: "use letters, digits and _, not starting with a digit")
                return nil
            }
            return .variable(name: value, key: fields["key"].flatMap { string($0.value, join(keyPath, "key")) }, base64: base64)
        case (nil, .some(let prefix)):
            if let key = fields["key"] {
                report(key.key, join(keyPath, "key"), "prefix: takes every field; key: does not apply", fix: "drop key:")
            }
            if let encoding = fields["encoding"] {
                report(encoding.key, join(keyPath, "encoding"), "prefix: takes the fields of a JSON secret as text", fix: "drop encoding:")
            }
            guard let value = string(prefix.value, join(keyPath, "prefix"), allowEmpty: true) else { return nil }
            guard !value.isEmpty else {
                report(
                    prefix.value, join(keyPath, "prefix"),
                    "an empty prefix would let the secret's field names choose any variable (PATH, LD_PRELOAD...)",
                    fix: "give a prefix such as DB_, or map fields one by one with name: and key:")
                return nil
            }
            guard Renderer.isValidEnvironmentName(value) else {
                report(
                    prefix.value, join(keyPath, "prefix"), "'\(value)' cannot start an environment variable name",
                    fix: "use letters, digits and _, e.g. DB_")
                return nil
            }
            return .prefix(value)
        case (.some, .some):
            report(node, keyPath, "name and prefix are both given", fix: "one variable (name:) or every field (prefix:)")
        case (nil, nil):
            report(node, keyPath, "needs name: (one variable) or prefix: (every field)")
        }
        return nil
    }

    mutating func hook(_ node: Node, _ keyPath: String) -> HookCommand? {
        switch node {
        case .scalar:
            guard let command = string(node, keyPath) else { return nil }
            return .shell(command)
        case .sequence(let sequence):
            var arguments = [String]()
            for (index, item) in sequence.enumerated() {
                if let argument = string(item, "\(keyPath)[\(index)]", allowEmpty: true) { arguments.append(argument) }
            }
            guard arguments.count == sequence.count else { return nil }
            guard let first = arguments.first, !first.isEmpty else {
                report(node, keyPath, "an empty command", fix: "give the program and its arguments, e.g. [/usr/bin/pkill, -HUP, myworker]")
                return nil
            }
            return .argv(arguments)
        case .mapping:
            report(
                node, keyPath, "expected a command (text, or a list of arguments), found a mapping",
                fix: "a command containing ': ' must be quoted in YAML, e.g. - 'echo \"note: done\"'")
            return nil
        default:
            report(node, keyPath, "expected a command (text, or a list of arguments), found \(kind(node))")
            return nil
        }
    }

    mutating func checkUniqueness(_ secrets: [SecretSpec]) {
        var names = [String: SourceLocation]()
        var paths = [String: SourceLocation]()
        var variables = [String: SourceLocation]()
        for secret in secrets {
            if let earlier = names[secret.name] {
                problems.append(
                    .init(
                        location: secret.location, message: "secret name '\(secret.name)' is used twice (first at line \(earlier.line))",
                        fix: "give one of them a distinct name:"))
            }
            names[secret.name] = names[secret.name] ?? secret.location
            for file in secret.files {
                if let earlier = paths[file.path] {
                    problems.append(
                        .init(
                            location: file.location, message: "file \(file.path) is written twice (first at line \(earlier.line))",
                            fix: "each file has one source; use a template to combine fields"))
                }
                paths[file.path] = paths[file.path] ?? file.location
            }
            for case .variable(let name, _, _) in secret.env {
                if let earlier = variables[name] {
                    problems.append(
                        .init(
                            location: secret.location, message: "environment variable \(name) is set twice (first at line \(earlier.line))",
                            fix: "rename one of them"))
                }
                variables[name] = variables[name] ?? secret.location
            }
        }
    }

    func closest(_ word: String, in candidates: [String]) -> String? {
        Suggestion.closest(to: word, among: candidates)
    }
}
