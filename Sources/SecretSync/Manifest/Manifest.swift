import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The manifest, version 1: how to authenticate, and which secrets go to which files and variables.
/// Built only by ``ManifestParser``, which checks everything before anything is touched.
package struct Manifest: Sendable {
    package static let defaultPath = "/etc/secret-sync/manifest.yaml"
    package static let defaultStateDirectory = "/var/lib/secret-sync"
    /// What each duration setting accepts: checked before any conversion.
    package static let intervalRange: ClosedRange<TimeInterval> = 1...86400
    package static let hookTimeoutRange: ClosedRange<TimeInterval> = 1...3600
    /// Roles Anywhere's own limits (15 minutes to 12 hours).
    package static let sessionDurationRange: ClosedRange<TimeInterval> = 900...43200

    package enum Auth: Sendable {
        case rolesAnywhere(RolesAnywhereConfiguration)
        /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
        case environment
        /// A profile of the shared AWS config files (static keys or `credential_process`).
        case profile(String)
    }

    package let path: String
    package let auth: Auth
    package let region: String?
    package let stateDirectory: String
    package let interval: TimeInterval
    package let hookTimeout: TimeInterval
    /// Prometheus textfile-collector output written after each pass, if set.
    package let metricsFile: String?
    /// Remove the files secret-sync wrote for entries and values it no longer manages.
    package var prune = false
    /// Regions whose replicas are read, in order, when an entry's own region cannot be reached.
    package var fallbackRegions: [String] = []
    /// The daemon's local credentials endpoint for other programs (`credentials_endpoint:`).
    package var credentialsEndpoint: CredentialsEndpointSpec?
    /// The `secrets:` entries, then the `parameters:` entries.
    package let entries: [ManifestEntry]
}

/// Where in the manifest a thing was written, for messages.
package struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    package let file: String
    package let line: Int
    package let column: Int
    package var description: String { "\(file):\(line):\(column)" }
}

package struct FileSpec: Sendable {
    package let path: String
    package let content: FileContent
    /// Permission bits (no setuid, setgid or sticky).
    package let mode: UInt32
    /// nil: whoever secret-sync runs as.
    package let owner: Account?
    package let group: Account?
    package let location: SourceLocation
}

package enum EnvSpec: Sendable, Equatable {
    /// `name:` with an optional `key:` (the whole value when nil). `base64` encodes the value, the
    /// only way a binary secret can go into a variable.
    case variable(name: String, key: String?, base64: Bool = false)
    /// `prefix:`: every JSON field, upper-cased, after the prefix.
    case prefix(String)
}

/// A reload command: a string runs under `/bin/sh -c`; a list is executed as argv.
package enum HookCommand: Sendable, Hashable, CustomStringConvertible {
    case shell(String)
    case argv([String])

    package var description: String {
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
package struct CredentialsEndpointSpec: Sendable, Equatable {
    package static let defaultPath = "/credentials"
    package static let defaultTokenFile = "/run/secret-sync/credentials.token"

    /// A loopback address: `127.0.0.1` (any of 127.0.0.0/8) or `::1`.
    package let host: String
    package let port: UInt16
    package let path: String
    package let tokenFile: String
    /// The group that may read the token file (root when nil).
    package let group: Account?

    /// `http://127.0.0.1:9911/credentials`, as `AWS_CONTAINER_CREDENTIALS_FULL_URI` takes it.
    package var url: String { "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)" }
}
