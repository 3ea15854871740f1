import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// What secret-sync remembers between passes, in `state_dir/state.json` (mode 0600).
///
/// Version IDs, times, errors and hooks still owed — never a secret value, and no hash of one
/// either (a hash of a short password could be brute-forced by whoever reads the file).
package struct SyncState: Codable, Sendable, Equatable {
    package var format = 1
    package var secrets: [String: SecretState] = [:]
    package var lastPass: PassRecord?
    /// Files secret-sync wrote for entries or values it no longer manages, not yet removed
    /// (`prune: true` removes them; without it they are listed each pass).
    package var orphans: [OrphanFile]?

    package init() {}

    /// A file secret-sync wrote and no longer writes.
    package struct OrphanFile: Codable, Sendable, Equatable, Hashable {
        package var path: String
        /// Emptied directories are removed up to, not including, this one (nil: none are).
        package var bound: String?
    }

    package struct SecretState: Codable, Sendable, Equatable {
        package var secretId: String
        package var arn: String?
        /// The version whose files were last written completely.
        package var versionId: String?
        package var lastSuccess: Date?
        package var lastAttempt: Date?
        package var lastError: String?
        package var files: [String] = []
        /// The `directory:` of a `path:` or `select:` entry.
        package var directory: String?
        /// The fallback region that served the last success (nil: the entry's own region).
        package var servedBy: String?
        /// Hooks that failed or timed out and run again on the next pass.
        package var pendingHooks: [HookCommand] = []
        package var lastHookError: String?

        package init(
            secretId: String, arn: String? = nil, versionId: String? = nil, lastSuccess: Date? = nil, lastAttempt: Date? = nil,
            lastError: String? = nil, files: [String] = [], pendingHooks: [HookCommand] = [], lastHookError: String? = nil
        ) {
            self.secretId = secretId
            self.arn = arn
            self.versionId = versionId
            self.lastSuccess = lastSuccess
            self.lastAttempt = lastAttempt
            self.lastError = lastError
            self.files = files
            self.pendingHooks = pendingHooks
            self.lastHookError = lastHookError
        }
    }

    package struct PassRecord: Codable, Sendable, Equatable {
        package var started: Date
        package var finished: Date
        package var secrets: Int
        package var failures: Int
        package var filesWritten: Int
        package var hooksRun: Int
        package var apiCalls: Int
        /// Files removed by `prune: true` (nil in states from before it existed).
        package var filesRemoved: Int?

        enum CodingKeys: String, CodingKey {
            case started, finished, secrets, failures, filesWritten, hooksRun, apiCalls, filesRemoved
        }

        /// Every field, null where unknown: `status --json` has one shape.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(started, forKey: .started)
            try container.encode(finished, forKey: .finished)
            try container.encode(secrets, forKey: .secrets)
            try container.encode(failures, forKey: .failures)
            try container.encode(filesWritten, forKey: .filesWritten)
            try container.encode(hooksRun, forKey: .hooksRun)
            try container.encode(apiCalls, forKey: .apiCalls)
            try container.encode(filesRemoved, forKey: .filesRemoved)
        }
    }
}

extension HookCommand: Codable {
    enum CodingKeys: String, CodingKey { case shell, argv }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let shell = try container.decodeIfPresent(String.self, forKey: .shell) {
            self = .shell(shell)
        } else {
            self = .argv(try container.decode([String].self, forKey: .argv))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shell(let command): try container.encode(command, forKey: .shell)
        case .argv(let arguments): try container.encode(arguments, forKey: .argv)
        }
    }
}
