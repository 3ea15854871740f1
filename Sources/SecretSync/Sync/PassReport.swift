/// What one pass did, for the command line and for tests.
public struct PassReport: Sendable {
    public struct SecretResult: Sendable {
        public let name: String
        public let versionId: String?
        public let files: [(path: String, outcome: WriteOutcome)]
        public let error: (any DiagnosticError)?
    }

    public struct HookRun: Sendable {
        public let command: HookCommand
        public let secrets: [String]
        /// nil in a dry run.
        public let result: HookResult?
    }

    public var secrets: [SecretResult] = []
    public var hooks: [HookRun] = []
    public var apiCalls = 0
    /// Files secret-sync wrote and no longer manages: removed (or, in a dry run, that would be)
    /// with `prune: true`.
    public var removals: [(path: String, outcome: FileRemover.Outcome)] = []
    /// Why the state could not be saved, if it could not: hooks may then run again after a restart.
    public var stateError: (any DiagnosticError)?

    public var failedSecrets: [SecretResult] { secrets.filter { $0.error != nil } }
    public var failedHooks: [HookRun] { hooks.filter { $0.result.map { !$0.succeeded } ?? false } }
    public var succeeded: Bool { failedSecrets.isEmpty && failedHooks.isEmpty && stateError == nil }
    public var filesWritten: Int { secrets.reduce(0) { $0 + $1.files.filter { $0.outcome.wrote }.count } }
}

/// A secret left untouched because the pass had to stop (deadline, SIGTERM).
public struct NotDone: DiagnosticError {
    public let secret: String
    public let reason: String
    public var message: String { "secret \(secret) was not synced: \(reason)" }
    public var fix: String? { "its last good files were kept; the next pass will sync it" }
}

/// The state could not be saved after a pass.
public struct StateNotSaved: DiagnosticError {
    public let cause: any DiagnosticError
    public var message: String {
        "cannot save the state: \(cause.message); hooks may run again on the next run (a daemon remembers in memory meanwhile)"
    }
    public var fix: String? { cause.fix ?? "make state_dir writable (free space, a writable file system), or set state_dir:" }
    public var underlying: (any Error)? { cause }
}
