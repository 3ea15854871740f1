import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The manifest, version 1: how to authenticate, and which secrets go to which files and variables.
/// Built only by ``ManifestParser``, which checks everything before anything is touched.
public struct Manifest: Sendable {
    public static let defaultPath = "/etc/secret-sync/manifest.yaml"
    public static let defaultStateDirectory = "/var/lib/secret-sync"
    /// What each duration setting accepts: checked before any conversion.
    public static let intervalRange: ClosedRange<TimeInterval> = 1...86400
    public static let hookTimeoutRange: ClosedRange<TimeInterval> = 1...3600
    /// Roles Anywhere's own limits (15 minutes to 12 hours).
    public static let sessionDurationRange: ClosedRange<TimeInterval> = 900...43200

    public enum Auth: Sendable {
        case rolesAnywhere(RolesAnywhereConfiguration)
        /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
        case environment
        /// A profile of the shared AWS config files (static keys or `credential_process`).
        case profile(String)
    }

    public let path: String
    public let auth: Auth
    public let region: String?
    public let stateDirectory: String
    public let interval: TimeInterval
    public let hookTimeout: TimeInterval
    /// Prometheus textfile-collector output written after each pass, if set.
    public let metricsFile: String?
    /// Remove the files secret-sync wrote for entries and values it no longer manages.
    public var prune = false
    /// Regions whose replicas are read, in order, when an entry's own region cannot be reached.
    public var fallbackRegions: [String] = []
    /// The daemon's local credentials endpoint for other programs (`credentials_endpoint:`).
    public var credentialsEndpoint: CredentialsEndpointSpec?
    /// The `secrets:` entries, then the `parameters:` entries.
    public let entries: [SecretSpec]
}

/// Where in the manifest a thing was written, for messages.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public var description: String { "\(file):\(line):\(column)" }
}

/// Which version of a secret or parameter an entry reads.
public enum VersionSelector: Sendable, Hashable {
    /// A secret's staging label (`version_stage:`, `AWSCURRENT` by default).
    case stage(String)
    /// A secret's version ID (`version_id:`).
    case id(String)
    /// A parameter's latest version (no `version:` or `label:`).
    case latest
    /// A parameter's version number (`version:`).
    case number(Int)
    /// A parameter's label (`label:`).
    case label(String)

    /// How it reads in plans and messages: `AWSCURRENT`, `version 3`, `label prod`, `latest`.
    public var description: String {
        switch self {
        case .stage(let stage): return stage
        case .id(let id): return "version \(id)"
        case .latest: return "latest"
        case .number(let number): return "version \(number)"
        case .label(let label): return "label \(label)"
        }
    }
}

/// Where an entry's value is kept.
public enum EntryKind: String, Sendable, Hashable {
    /// AWS Secrets Manager (`secrets:`).
    case secret
    /// AWS Systems Manager Parameter Store (`parameters:`).
    case parameter
}

/// One entry of `secrets:` or `parameters:`: what to read, and where it goes.
public struct SecretSpec: Sendable {
    public let kind: EntryKind
    /// Secret or parameter name, or full ARN, as given to the service.
    public let id: String
    /// Local name: unique among all entries, used in state, logs and `SECRET_SYNC_CHANGED`.
    public let name: String
    public let version: VersionSelector
    /// The region the secret is read from (ARN, else `region:`, else the manifest's, else the trust anchor's).
    public let region: String
    public let files: [FileSpec]
    public let env: [EnvSpec]
    public let onChange: [HookCommand]
    public let location: SourceLocation
    /// Set when the entry stands for many values (`path:` of parameters); `id` is then the path.
    public var collection: CollectionSpec? = nil

    /// True when a pass writes files for this entry.
    public var writesFiles: Bool { !files.isEmpty || collection?.directory != nil }

    /// The directories this entry's files go to (a collection's files may also go below its
    /// directory, in subdirectories made as they are needed).
    public var destinationDirectories: [String] {
        files.map { PathWalker.split($0.path).directory } + (collection?.directory.map { [$0] } ?? [])
    }
}

/// An entry that stands for many values — every parameter under a path, or every secret a
/// selection matches: one file per value in `directory`, one variable per value after an `env:`
/// `prefix:`.
public struct CollectionSpec: Sendable {
    public enum Source: Sendable, Hashable {
        /// Every parameter under the path, recursively (`GetParametersByPath`).
        case parameterPath(String)
        /// Every secret whose name starts with the prefix and that carries every one of the tags
        /// (`BatchGetSecretValue` with `Filters`).
        case secretSelection(namePrefix: String?, tags: [SecretTag])
    }

    public let source: Source
    /// Each value is written to this directory under the rest of its name; deeper levels are
    /// subdirectories.
    public let directory: String?
    /// Mode, owner and group of every file (and the entry's `defaults` when not given).
    public let mode: UInt32
    public let owner: Account?
    public let group: Account?

    /// The part of `name` after the path, or nil when `name` is not under it.
    public func relativeName(of name: String) -> String? {
        switch source {
        case .parameterPath(let path):
            let prefix = path.hasSuffix("/") ? path : path + "/"
            guard name.hasPrefix(prefix), name.utf8.count > prefix.utf8.count else { return nil }
            return String(name.dropFirst(prefix.count))
        case .secretSelection(let namePrefix?, _):
            guard name.hasPrefix(namePrefix), name.utf8.count > namePrefix.utf8.count else { return nil }
            return String(name.dropFirst(namePrefix.count))
        case .secretSelection(nil, _):
            return name
        }
    }
}

/// A tag a selected secret must carry, key and value exactly.
public struct SecretTag: Sendable, Hashable {
    public let key: String
    public let value: String
}

public struct FileSpec: Sendable {
    public let path: String
    public let content: FileContent
    /// Permission bits (no setuid, setgid or sticky).
    public let mode: UInt32
    /// nil: whoever secret-sync runs as.
    public let owner: Account?
    public let group: Account?
    public let location: SourceLocation
}

public enum EnvSpec: Sendable, Equatable {
    /// `name:` with an optional `key:` (the whole value when nil). `base64` encodes the value, the
    /// only way a binary secret can go into a variable.
    case variable(name: String, key: String?, base64: Bool = false)
    /// `prefix:`: every JSON field, upper-cased, after the prefix.
    case prefix(String)
}

/// A reload command: a string runs under `/bin/sh -c`; a list is executed as argv.
public enum HookCommand: Sendable, Hashable, CustomStringConvertible {
    case shell(String)
    case argv([String])

    public var description: String {
        switch self {
        case .shell(let command): return command
        case .argv(let arguments): return arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        }
    }

    var arguments: [String] {
        switch self {
        case .shell(let command): return ["/bin/sh", "-c", command]
        case .argv(let arguments): return arguments
        }
    }
}

/// `credentials_endpoint:`: the role's credentials served to local programs through the AWS SDKs'
/// container credentials provider, by `secret-sync daemon`.
public struct CredentialsEndpointSpec: Sendable, Equatable {
    public static let defaultPath = "/credentials"
    public static let defaultTokenFile = "/run/secret-sync/credentials.token"

    /// A loopback address: `127.0.0.1` (any of 127.0.0.0/8) or `::1`.
    public let host: String
    public let port: UInt16
    public let path: String
    public let tokenFile: String
    /// The group that may read the token file (root when nil).
    public let group: Account?

    /// `http://127.0.0.1:9911/credentials`, as `AWS_CONTAINER_CREDENTIALS_FULL_URI` takes it.
    public var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}
