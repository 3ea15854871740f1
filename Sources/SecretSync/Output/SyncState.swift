import Foundation

/// What secret-sync remembers between passes, in `state_dir/state.json` (mode 0600).
///
/// Version IDs, times, errors and hooks still owed — never a secret value, and no hash of one
/// either (a hash of a short password could be brute-forced by whoever reads the file).
public struct SyncState: Codable, Sendable, Equatable {
    public var format = 1
    public var secrets: [String: SecretState] = [:]
    public var lastPass: PassRecord?

    public init() {}

    public struct SecretState: Codable, Sendable, Equatable {
        public var secretId: String
        public var arn: String?
        /// The version whose files were last written completely.
        public var versionId: String?
        public var lastSuccess: Date?
        public var lastAttempt: Date?
        public var lastError: String?
        public var files: [String] = []
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

/// Loads and saves ``SyncState`` atomically.
public struct StateStore: Sendable {
    public let directory: String
    var path: String { directory + "/state.json" }

    public init(directory: String) { self.directory = directory }

    /// The saved state; an empty one when there is none yet. A damaged file is reported through
    /// `damaged` and treated as empty, so the next pass rewrites it rather than failing forever.
    public func load(damaged: (String) -> Void = { _ in }) -> SyncState {
        guard FileManager.default.fileExists(atPath: path) else { return SyncState() }
        do {
            let data = try LocalFile.read(path, role: "state file")
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return try decoder.decode(SyncState.self, from: data)
        } catch {
            damaged("\(error)")
            return SyncState()
        }
    }

    public func save(_ state: SyncState) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(state) + Data("\n".utf8)
        try ensureDirectory()
        try AtomicFileWriter().write(FileTarget(path: path, bytes: Array(data), mode: 0o600))
    }

    func ensureDirectory() throws {
        if mkdir(directory, 0o700) != 0, errno != EEXIST {
            let code = errno
            throw FileWriteError(
                path: directory, errno: code, message: "cannot create state directory \(directory): \(String(cString: strerror(code)))",
                fix: "create it (mode 0700) or set state_dir: to a writable directory")
        }
    }
}

/// An exclusive lock on `state_dir/lock`, so a timer firing during a boot-time `once` waits for it.
public final class StateLock {
    private let fd: Int32

    /// Takes the lock, waiting for another run to finish; `waiting` is called once if it must wait.
    public init(directory: String, waiting: () -> Void) throws {
        try StateStore(directory: directory).ensureDirectory()
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw FileWriteError(
                path: path, errno: code, message: "cannot open lock file \(path): \(String(cString: strerror(code)))",
                fix: "run as a user that can write \(directory), or set state_dir:")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            waiting()
            while flock(fd, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    close(fd)
                    throw FileWriteError(path: path, errno: errno, message: "cannot lock \(path)", fix: nil)
                }
            }
        }
        self.fd = fd
    }

    // Safe: this object owns the descriptor; closing it releases the lock.
    deinit { close(fd) }
}
