import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

extension ManifestReader {
    // MARK: secrets and parameters

    static let secretKeys = ["id", "name", "version_stage", "version_id", "region", "files", "env", "on_change"]
    static let parameterKeys = ["id", "name", "version", "label", "region", "files", "env", "on_change"]

    /// One entry of `secrets:` or `parameters:` by `id:`.
    mutating func entry(
        _ node: YAMLNode, _ keyPath: String, service: AWSService, defaults: FileDefaults, manifestRegion: String?, auth: Manifest.Auth?
    ) -> ManifestEntry? {
        let noun = service.noun
        guard let fields = entries(node, keyPath, allowed: service == .secretsManager ? Self.secretKeys : Self.parameterKeys) else {
            return nil
        }
        let idFix =
            service == .secretsManager
            ? "give the secret's name or ARN as id:" : "give the parameter's name or ARN as id:, or a path as path:"
        guard let idNode = required(fields, "id", keyPath, parent: node, fix: idFix),
            let id = string(idNode, join(keyPath, "id"))
        else { return nil }
        var name = id
        if let value = fields["name"]?.value, let given = string(value, join(keyPath, "name")) {
            if given.contains(where: { $0.isWhitespace || $0.isNewline }) {
                report(value, join(keyPath, "name"), "'\(given)' contains white space", fix: "use letters, digits and - _ / .")
            }
            name = given
        }
        let source: ManifestEntry.Source
        let arnRegion: String?
        switch service {
        case .secretsManager:
            source = .secret(id: id, version: secretVersion(fields, keyPath))
            arnRegion = secretARNRegion(id, idNode, keyPath)
        case .parameterStore:
            source = .parameter(id: id, version: parameterVersion(fields, keyPath))
            arnRegion = parameterARNRegion(id, idNode, keyPath)
        }

        // Region: the ARN's, else the entry's, else the manifest's, else the trust anchor's.
        var region = arnRegion
        if region == nil, let value = fields["region"]?.value, let given = string(value, join(keyPath, "region")) {
            checkRegion(given, value, join(keyPath, "region"))
            region = given
        }
        region = region ?? manifestRegion
        region = region ?? rolesAnywhereRegion
        if region == nil, auth != nil {
            report(
                idNode, join(keyPath, "id"), "no region for this \(noun)",
                fix: "set region: at the top of the manifest (or on the \(noun)); the instance's own region is never assumed")
        }

        let files =
            fields["files"].map {
                list($0.value, join(keyPath, "files"), of: "files") { reader, item, path in reader.file(item, path, defaults: defaults) }
            } ?? []
        let env = fields["env"].map { list($0.value, join(keyPath, "env"), of: nil) { $0.envEntry($1, $2) } } ?? []
        if fields["files"] == nil, fields["env"] == nil {
            report(node, keyPath, "\(noun) '\(name)' has neither files: nor env:", fix: "say where the \(noun) goes")
        }
        var hooks = [HookCommand]()
        if let node = fields["on_change"]?.value {
            hooks = list(node, join(keyPath, "on_change"), of: "commands") { $0.hook($1, $2) }
            if fields["files"] == nil {
                report(
                    node, join(keyPath, "on_change"), "hooks run when files change, and this \(noun) writes no file",
                    fix: "remove on_change:")
            }
        }
        return ManifestEntry(
            name: name, source: source, region: region ?? "", files: files, env: env, onChange: hooks, location: location(node))
    }

    /// `version_stage:` or `version_id:` of a secret (`AWSCURRENT` when neither).
    mutating func secretVersion(_ fields: [String: (key: YAMLNode, value: YAMLNode)], _ keyPath: String) -> SecretVersionSelector {
        var version = SecretVersionSelector.current
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
        return version
    }

    /// The region of a secret named by ARN (nil for a name); a malformed ARN is reported.
    mutating func secretARNRegion(_ id: String, _ idNode: YAMLNode, _ keyPath: String) -> String? {
        guard id.hasPrefix("arn:") else { return nil }
        guard let arn = ARN(id), arn.service == "secretsmanager", arn.resourceType == "secret", !arn.region.isEmpty else {
            report(
                idNode, join(keyPath, "id"), "'\(id)' is not a Secrets Manager secret ARN",
                fix: "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME")
            return nil
        }
        checkRegion(arn.region, idNode, join(keyPath, "id"), partition: arn.partition)
        return arn.region
    }

    mutating func file(_ node: YAMLNode, _ keyPath: String, defaults: FileDefaults) -> FileSpec? {
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
                } else {
                    judge(templatePath, value, join(keyPath, "template_file"), use: Template.fileTrust)
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

    mutating func envEntry(_ node: YAMLNode, _ keyPath: String) -> EnvSpec? {
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

    mutating func hook(_ node: YAMLNode, _ keyPath: String) -> HookCommand? {
        switch node {
        case .scalar:
            guard let command = string(node, keyPath) else { return nil }
            return .shell(command)
        case .sequence(let sequence, _):
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
        }
    }

    mutating func checkUniqueness(_ secrets: [ManifestEntry]) {
        var names = [String: SourceLocation]()
        var paths = [String: SourceLocation]()
        var variables = [String: SourceLocation]()
        for secret in secrets {
            once(
                secret.name, in: &names, at: secret.location, "\(secret.source.service.noun) name '\(secret.name)' is used twice",
                fix: "give one of them a distinct name:")
            for file in secret.files {
                once(
                    file.path, in: &paths, at: file.location, "file \(file.path) is written twice",
                    fix: "each file has one source; use a template to combine fields")
            }
            for case .variable(let name, _, _) in secret.env {
                once(name, in: &variables, at: secret.location, "environment variable \(name) is set twice", fix: "rename one of them")
            }
        }
        // A directory: of a path entry takes whatever names its parameters have: nothing else may
        // write inside it, and no two such directories may overlap.
        for owner in secrets {
            guard let directory = owner.directory?.path else { continue }
            for other in secrets {
                for file in other.files where file.path.hasPrefix(directory + "/") {
                    problems.append(
                        .init(
                            location: file.location,
                            message: "file \(file.path) is inside directory \(directory) of \(owner.name) (line \(owner.location.line))",
                            fix: "a parameter named like it would take its place; write it elsewhere"))
                }
                guard other.name != owner.name, let inner = other.directory?.path else { continue }
                if inner.hasPrefix(directory + "/") || (inner == directory && other.location.line > owner.location.line) {
                    problems.append(
                        .init(
                            location: other.location,
                            message:
                                "directory \(inner) of \(other.name) is inside directory \(directory) of \(owner.name) (line \(owner.location.line))",
                            fix: "give each path entry a directory of its own"))
                }
            }
        }
    }

    /// Records where `value` first appears; a second appearance is a problem naming the first line.
    mutating func once(
        _ value: String, in seen: inout [String: SourceLocation], at location: SourceLocation, _ message: String, fix: String
    ) {
        if let earlier = seen[value] {
            problems.append(.init(location: location, message: "\(message) (first at line \(earlier.line))", fix: fix))
        } else {
            seen[value] = location
        }
    }
}
