import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

extension ManifestReader {
    // MARK: The manifest

    static let topKeys = [
        "version", "auth", "region", "state_dir", "interval", "hook_timeout", "metrics_file", "defaults", "secrets", "parameters", "prune",
        "fallback_regions", "credentials_endpoint",
    ]

    mutating func manifest(_ root: YAMLNode) -> Manifest? {
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

        var prune = false
        if let node = top["prune"]?.value, let value = string(node, "prune") {
            switch value {
            case "true": prune = true
            case "false": prune = false
            default: report(node, "prune", "'\(value.escapingControlCharacters)' is not true or false", fix: "prune: true or prune: false")
            }
        }
        let credentialsEndpoint = top["credentials_endpoint"].flatMap { self.credentialsEndpoint($0.value) }
        var fallbackRegions = [String]()
        if let node = top["fallback_regions"]?.value {
            fallbackRegions = list(node, "fallback_regions", of: "regions") { reader, item, path in
                guard let value = reader.string(item, path) else { return nil }
                reader.checkRegion(value, item, path)
                if value == region {
                    reader.report(item, path, "\(value) is the primary region", fix: "list only the other regions that hold replicas")
                }
                return value
            }
            if Set(fallbackRegions).count != fallbackRegions.count {
                report(node, "fallback_regions", "a region is listed twice", fix: "list each region once, in the order to try them")
            }
        }
        var entries = [ManifestEntry]()
        if top["secrets"] == nil, top["parameters"] == nil {
            report(
                root, "", "missing required key 'secrets'",
                fix: "list the secrets to sync under secrets: (or Parameter Store parameters under parameters:)")
        }
        for (key, service) in [("secrets", AWSService.secretsManager), ("parameters", .parameterStore)] {
            guard let node = top[key]?.value else { continue }
            if case .sequence(let sequence, _) = node, sequence.isEmpty {
                report(node, key, "the list is empty", fix: "list at least one \(service.noun), or remove \(key):")
            }
            entries += list(node, key, of: key) { reader, item, path in
                if case .mapping(let pairs, _) = item,
                    pairs.contains(where: { $0.key.scalar?.string == (service == .secretsManager ? "select" : "path") })
                {
                    return service == .secretsManager
                        ? reader.secretSelection(item, path, defaults: defaults, manifestRegion: region, auth: auth)
                        : reader.parameterPath(item, path, defaults: defaults, manifestRegion: region, auth: auth)
                }
                return reader.entry(item, path, service: service, defaults: defaults, manifestRegion: region, auth: auth)
            }
        }
        checkUniqueness(entries)
        guard problems.isEmpty, let auth else { return nil }
        var manifest = Manifest(
            path: path, auth: auth, region: region, stateDirectory: stateDirectory, interval: interval, hookTimeout: hookTimeout,
            metricsFile: metricsFile, entries: entries)
        manifest.prune = prune
        manifest.fallbackRegions = fallbackRegions
        manifest.credentialsEndpoint = credentialsEndpoint
        return manifest
    }

    struct FileDefaults {
        var mode: UInt32
        var owner: Account?
        var group: Account?
    }

    mutating func checkRegion(_ region: String, _ node: YAMLNode, _ keyPath: String, partition: String? = nil) {
        if let problem = Region.problem(region, partition: partition) { report(node, keyPath, problem.message, fix: problem.fix) }
    }
}
