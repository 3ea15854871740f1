extension ManifestReader {
    // MARK: entries that stand for many values: parameters by path:, secrets by select:

    static let collectionKeys = ["name", "region", "directory", "mode", "owner", "group", "env", "on_change"]

    /// A `parameters:` entry with `path:`: every parameter below it.
    mutating func parameterPath(
        _ node: YAMLNode, _ keyPath: String, defaults: FileDefaults, manifestRegion: String?, auth: Manifest.Auth?
    ) -> ManifestEntry? {
        guard let fields = entries(node, keyPath, allowed: ["path"] + Self.collectionKeys) else { return nil }
        guard let pathNode = fields["path"]?.value, let path = string(pathNode, join(keyPath, "path")) else { return nil }
        if !path.hasPrefix("/") {
            report(
                pathNode, join(keyPath, "path"), "'\(path.escapingControlCharacters)' is not a parameter path",
                fix: "a path starts with /: /prod/myapp/")
        } else if path != "/" {
            checkParameterName(path.hasSuffix("/") ? String(path.dropLast()) : path, pathNode, join(keyPath, "path"))
        }
        return collection(
            node, keyPath, fields, source: .parameterPath(path), defaultName: path,
            what: "parameters under '\(path)'", defaults: defaults, manifestRegion: manifestRegion, auth: auth)
    }

    /// A `secrets:` entry with `select:`: every secret whose name starts with `name_prefix` and
    /// that carries every one of `tags`.
    mutating func secretSelection(
        _ node: YAMLNode, _ keyPath: String, defaults: FileDefaults, manifestRegion: String?, auth: Manifest.Auth?
    ) -> ManifestEntry? {
        guard let fields = entries(node, keyPath, allowed: ["select"] + Self.collectionKeys),
            let selectNode = fields["select"]?.value,
            let select = entries(selectNode, join(keyPath, "select"), allowed: ["name_prefix", "tags"])
        else { return nil }
        let prefixPath = join(join(keyPath, "select"), "name_prefix")
        let namePrefix = select["name_prefix"].flatMap { string($0.value, prefixPath) }
        if let namePrefix, let node = select["name_prefix"]?.value { checkFilterValue(namePrefix, node, prefixPath) }
        var tags = [SecretTag]()
        let tagsPath = join(join(keyPath, "select"), "tags")
        if let tagsNode = select["tags"]?.value {
            if case .mapping(let pairs, _) = tagsNode, !pairs.isEmpty {
                for (keyNode, valueNode) in pairs {
                    guard let key = string(keyNode, tagsPath), let value = string(valueNode, join(tagsPath, key), allowEmpty: true) else {
                        continue
                    }
                    checkFilterValue(key, keyNode, tagsPath)
                    if !value.isEmpty { checkFilterValue(value, valueNode, join(tagsPath, key)) }
                    tags.append(SecretTag(key: key, value: value))
                }
            } else {
                report(tagsNode, tagsPath, "expected a mapping of tag keys to values, e.g. {team: payments}")
            }
        }
        if namePrefix == nil, select["tags"] == nil {
            report(selectNode, join(keyPath, "select"), "select: names nothing to match", fix: "give name_prefix:, tags: or both")
        }
        let selection = SecretSelection(namePrefix: namePrefix, tags: tags)
        if namePrefix == nil, fields["name"] == nil {
            report(
                node, keyPath, "a selection by tags alone needs a name:", fix: "add name: (used in the state, logs and SECRET_SYNC_CHANGED)"
            )
        }
        return collection(
            node, keyPath, fields, source: .secretSelection(selection), defaultName: namePrefix ?? "selection",
            what: "secrets selected by \(selection)", defaults: defaults,
            manifestRegion: manifestRegion, auth: auth)
    }

    /// Secrets Manager's filters read a leading `!` as "not": a value must mean itself.
    mutating func checkFilterValue(_ value: String, _ node: YAMLNode, _ keyPath: String) {
        if value.hasPrefix("!") {
            report(
                node, keyPath, "'\(value.escapingControlCharacters)' starts with '!', which Secrets Manager's filters read as \"not\"",
                fix: "select by what secrets have, not by what they lack")
        } else if value.isEmpty || value.utf8.count > 512 {
            report(node, keyPath, "a filter value must be 1 to 512 characters")
        }
    }

    /// What every collection entry shares: its name, region, where its values go and its hooks.
    mutating func collection(
        _ node: YAMLNode, _ keyPath: String, _ fields: [String: (key: YAMLNode, value: YAMLNode)],
        source: ManifestEntry.Source, defaultName: String, what: String, defaults: FileDefaults, manifestRegion: String?,
        auth: Manifest.Auth?
    ) -> ManifestEntry {
        var name = defaultName
        if let value = fields["name"]?.value, let given = string(value, join(keyPath, "name")) {
            if given.contains(where: { $0.isWhitespace || $0.isNewline }) {
                report(value, join(keyPath, "name"), "'\(given)' contains white space", fix: "use letters, digits and - _ / .")
            }
            name = given
        }
        var region = fields["region"].flatMap { field in
            string(field.value, join(keyPath, "region")).map { given in
                checkRegion(given, field.value, join(keyPath, "region"))
                return given
            }
        }
        region = region ?? manifestRegion ?? rolesAnywhereRegion
        if region == nil, auth != nil {
            report(
                node, keyPath, "no region for the \(what)",
                fix: "set region: at the top of the manifest (or on the entry); the instance's own region is never assumed")
        }
        let directory = fields["directory"].flatMap { absolutePath($0.value, join(keyPath, "directory")) }
        let fileMode = fields["mode"].flatMap { self.mode($0.value, join(keyPath, "mode")) } ?? defaults.mode
        let owner = fields["owner"].map { account($0.value, join(keyPath, "owner"), group: false) } ?? defaults.owner
        let group = fields["group"].map { account($0.value, join(keyPath, "group"), group: true) } ?? defaults.group
        for key in ["mode", "owner", "group"] where directory == nil && fields[key] != nil {
            // Safe: the loop only visits keys that are present.
            report(
                fields[key]!.key, join(keyPath, key), "\(key) applies to the files of directory:, and there is none",
                fix: "add directory: or drop \(key):")
        }
        let env = fields["env"].map { list($0.value, join(keyPath, "env"), of: nil) { $0.envEntry($1, $2) } } ?? []
        for case .variable(let variable, _, _) in env {
            report(
                fields["env"]?.value, join(keyPath, "env"), "name: \(variable) cannot stand for every one of the \(what)",
                fix: "use prefix: (each variable is the prefix and the rest of the name, upper-cased)")
        }
        if directory == nil, env.isEmpty {
            report(node, keyPath, "\(what) have neither directory: nor env:", fix: "say where they go")
        }
        var hooks = [HookCommand]()
        if let node = fields["on_change"]?.value {
            hooks = list(node, join(keyPath, "on_change"), of: "commands") { $0.hook($1, $2) }
            if directory == nil {
                report(
                    node, join(keyPath, "on_change"), "hooks run when files change, and the \(what) write no file", fix: "remove on_change:"
                )
            }
        }
        return ManifestEntry(
            name: name, collection: source, region: region ?? "",
            directory: directory.map { CollectionDirectory(path: $0, mode: fileMode, owner: owner, group: group) }, env: env,
            onChange: hooks, location: location(node))
    }
}
