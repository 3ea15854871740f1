/// One entry of `secrets:` or `parameters:`: what it reads (its ``Source``), in which region, and
/// where the values go.
package struct ManifestEntry: Sendable {
    /// What an entry reads. Each case carries exactly what its service needs, so a parameter's
    /// version can never be asked of Secrets Manager, nor a single secret fetched as many values.
    package enum Source: Sendable, Hashable {
        /// A secret by name or ARN, at a staging label or version ID (`secrets:` with `id:`).
        case secret(id: String, version: SecretVersionSelector)
        /// Every secret a selection matches (`secrets:` with `select:`).
        case secretSelection(SecretSelection)
        /// A parameter by name or ARN, at its latest version, a version number or a label
        /// (`parameters:` with `id:`).
        case parameter(id: String, version: ParameterVersionSelector)
        /// Every parameter under a path, recursively (`parameters:` with `path:`).
        case parameterPath(String)
    }

    /// Local name: unique among all entries, used in state, logs and `SECRET_SYNC_CHANGED`.
    package let name: String
    package let source: Source
    /// The region the entry is read from (ARN, else `region:`, else the manifest's, else the trust anchor's).
    package let region: String
    /// The files rendered from an entry of one value (never set for a collection).
    package let files: [FileSpec]
    /// Where a collection writes its values, one file each (never set for an entry of one value).
    package let directory: CollectionDirectory?
    package let env: [EnvSpec]
    package let onChange: [HookCommand]
    package let location: SourceLocation

    /// An entry of one value (a secret or parameter by id), with the files rendered from it.
    init(
        name: String, source: Source, region: String, files: [FileSpec], env: [EnvSpec], onChange: [HookCommand],
        location: SourceLocation
    ) {
        self.init(
            name: name, source: source, region: region, files: files, directory: nil, env: env, onChange: onChange, location: location)
    }

    /// A collection (`select:` or `path:`), with its values' directory if it writes them.
    init(
        name: String, collection source: Source, region: String, directory: CollectionDirectory?, env: [EnvSpec],
        onChange: [HookCommand], location: SourceLocation
    ) {
        self.init(
            name: name, source: source, region: region, files: [], directory: directory, env: env, onChange: onChange, location: location)
    }

    private init(
        name: String, source: Source, region: String, files: [FileSpec], directory: CollectionDirectory?, env: [EnvSpec],
        onChange: [HookCommand], location: SourceLocation
    ) {
        self.name = name
        self.source = source
        self.region = region
        self.files = files
        self.directory = directory
        self.env = env
        self.onChange = onChange
        self.location = location
    }

    /// True when a pass writes files for this entry.
    package var writesFiles: Bool { !files.isEmpty || directory != nil }

    /// The directories this entry's files go to (a collection's files may also go below its
    /// directory, in subdirectories made as they are needed).
    package var destinationDirectories: [String] {
        files.map { PathWalker.split($0.path).directory } + (directory.map { [$0.path] } ?? [])
    }
}

extension ManifestEntry.Source {
    /// The AWS service that holds what the source reads.
    package var service: AWSService {
        switch self {
        case .secret, .secretSelection: return .secretsManager
        case .parameter, .parameterPath: return .parameterStore
        }
    }

    /// True for a source of many values (`select:`, `path:`).
    package var isCollection: Bool {
        switch self {
        case .secret, .parameter: return false
        case .secretSelection, .parameterPath: return true
        }
    }

    /// What the source names, as plans, the state and status show it: the id, the path, or the
    /// selection (`name_prefix=app/ tag team=payments`).
    package var id: String {
        switch self {
        case .secret(let id, _), .parameter(let id, _): return id
        case .parameterPath(let path): return path
        case .secretSelection(let selection): return selection.description
        }
    }

    /// The part of a value's `name` after a collection's path or prefix, or nil when `name` is not
    /// under it (or the source is of one value).
    package func relativeName(of name: String) -> String? {
        switch self {
        case .parameterPath(let path):
            let prefix = path.hasSuffix("/") ? path : path + "/"
            guard name.hasPrefix(prefix), name.utf8.count > prefix.utf8.count else { return nil }
            return String(name.dropFirst(prefix.count))
        case .secretSelection(let selection):
            guard let namePrefix = selection.namePrefix else { return name }
            guard name.hasPrefix(namePrefix), name.utf8.count > namePrefix.utf8.count else { return nil }
            return String(name.dropFirst(namePrefix.count))
        case .secret, .parameter:
            return nil
        }
    }
}

/// The service an entry is read from; its raw value is the noun plans, messages and
/// `status --json` (`kind`) use.
package enum AWSService: String, Sendable, Hashable, Codable {
    /// AWS Secrets Manager (`secrets:`).
    case secretsManager = "secret"
    /// AWS Systems Manager Parameter Store (`parameters:`).
    case parameterStore = "parameter"

    package var noun: String { rawValue }
}

/// Which version of a secret an entry reads.
package enum SecretVersionSelector: Sendable, Hashable, CustomStringConvertible {
    /// A staging label (`version_stage:`, `AWSCURRENT` by default).
    case stage(String)
    /// A version ID (`version_id:`).
    case id(String)

    package static let current = SecretVersionSelector.stage("AWSCURRENT")

    /// How it reads in plans and messages: `AWSCURRENT`, `version 0f1e…`.
    package var description: String {
        switch self {
        case .stage(let stage): return stage
        case .id(let id): return "version \(id)"
        }
    }
}

/// Which version of a parameter an entry reads.
package enum ParameterVersionSelector: Sendable, Hashable, CustomStringConvertible {
    /// The latest version (no `version:` or `label:`).
    case latest
    /// A version number (`version:`).
    case number(Int)
    /// A label (`label:`).
    case label(String)

    /// How it reads in plans and messages: `latest`, `version 3`, `label prod`.
    package var description: String {
        switch self {
        case .latest: return "latest"
        case .number(let number): return "version \(number)"
        case .label(let label): return "label \(label)"
        }
    }
}

/// The secrets a `select:` matches: every secret whose name starts with the prefix and that
/// carries every one of the tags (`BatchGetSecretValue` with `Filters`).
package struct SecretSelection: Sendable, Hashable, CustomStringConvertible {
    package let namePrefix: String?
    /// Sorted by key, then value.
    package let tags: [SecretTag]

    package init(namePrefix: String?, tags: [SecretTag]) {
        self.namePrefix = namePrefix
        self.tags = tags.sorted { ($0.key, $0.value) < ($1.key, $1.value) }
    }

    /// `name_prefix=app/ tag team=payments`.
    package var description: String {
        ([namePrefix.map { "name_prefix=\($0)" }] + tags.map { "tag \($0.key)=\($0.value)" }).compactMap { $0 }.joined(separator: " ")
    }
}

/// A tag a selected secret must carry, key and value exactly.
package struct SecretTag: Sendable, Hashable {
    package let key: String
    package let value: String
}

/// The directory a collection writes its values to, one file each under the rest of its name;
/// deeper levels are subdirectories. Every file gets the same mode, owner and group.
package struct CollectionDirectory: Sendable {
    package let path: String
    package let mode: UInt32
    package let owner: Account?
    package let group: Account?
}
