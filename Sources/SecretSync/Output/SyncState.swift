import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// What secret-sync remembers between passes, in `state_dir/state.json` (mode 0600).
///
/// Version IDs, times, errors and hooks still owed — never a secret value, and no hash of one
/// either (a hash of a short password could be brute-forced by whoever reads the file).
public struct SyncState: Codable, Sendable, Equatable {
    public var format = 1
    public var secrets: [String: SecretState] = [:]
    public var lastPass: PassRecord?
    /// Files secret-sync wrote for entries or values it no longer manages, not yet removed
    /// (`prune: true` removes them; without it they are listed each pass).
    public var orphans: [OrphanFile]?

    public init() {}

    /// A file secret-sync wrote and no longer writes.
    public struct OrphanFile: Codable, Sendable, Equatable, Hashable {
        public var path: String
        /// Emptied directories are removed up to, not including, this one (nil: none are).
        public var bound: String?
    }

    public struct SecretState: Codable, Sendable, Equatable {
        public var secretId: String
        public var arn: String?
        /// The version whose files were last written completely.
        public var versionId: String?
        public var lastSuccess: Date?
        public var lastAttempt: Date?
        public var lastError: String?
        public var files: [String] = []
        /// The `directory:` of a `path:` or `select:` entry.
        public var directory: String?
        /// The fallback region that served the last success (nil: the entry's own region).
        public var servedBy: String?
        /// Hooks that failed or timed out and run again on the next pass.
        public var pendingHooks: [HookCommand] = []
        public var lastHookError: String?

        public init(
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

    public struct PassRecord: Codable, Sendable, Equatable {
        public var started: Date
        public var finished: Date
        public var secrets: Int
        public var failures: Int
        public var filesWritten: Int
        public var hooksRun: Int
        public var apiCalls: Int
        /// Files removed by `prune: true` (nil in states from before it existed).
        public var filesRemoved: Int?

        enum CodingKeys: String, CodingKey {
            case started, finished, secrets, failures, filesWritten, hooksRun, apiCalls, filesRemoved
        }

        /// Every field, null where unknown: `status --json` has one shape.
        public func encode(to encoder: any Encoder) throws {
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

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let shell = try container.decodeIfPresent(String.self, forKey: .shell) {
            self = .shell(shell)
        } else {
            self = .argv(try container.decode([String].self, forKey: .argv))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .shell(let command): try container.encode(command, forKey: .shell)
        case .argv(let arguments): try container.encode(arguments, forKey: .argv)
        }
    }
}
