/// What one pass did, for the command line and for tests.
package struct PassReport: Sendable {
    package struct SecretResult: Sendable {
        package let name: String
        package let versionId: String?
        package let files: [(path: String, outcome: WriteOutcome)]
        package let error: (any DiagnosticError)?
    }

    package struct HookRun: Sendable {
        package let command: HookCommand
        package let secrets: [String]
        /// nil in a dry run.
        package let result: HookResult?
    }

    package var secrets: [SecretResult] = []
    package var hooks: [HookRun] = []
    package var apiCalls = 0
    /// Files secret-sync wrote and no longer manages: removed (or, in a dry run, that would be)
    /// with `prune: true`.
    package var removals: [(path: String, outcome: FileRemover.Outcome)] = []
    /// Why the state could not be saved, if it could not: hooks may then run again after a restart.
    package var stateError: (any DiagnosticError)?

    package var failedSecrets: [SecretResult] { secrets.filter { $0.error != nil } }
    package var failedHooks: [HookRun] { hooks.filter { $0.result.map { !$0.succeeded } ?? false } }
    package var succeeded: Bool { failedSecrets.isEmpty && failedHooks.isEmpty && stateError == nil }
    package var filesWritten: Int { secrets.reduce(0) { $0 + $1.files.filter { $0.outcome.wrote }.count } }
}

/// A secret left untouched because the pass had to stop (deadline, SIGTERM).
package struct NotDone: DiagnosticError {
    package let secret: String
    package let reason: String
    package var message: String { "secret \(secret) was not synced: \(reason)" }
    package var fix: String? { "its last good files were kept; the next pass will sync it" }
}

/// The state could not be saved after a pass.
package struct StateNotSaved: DiagnosticError {
    package let cause: any DiagnosticError
    package var message: String {
        "cannot save the state: \(cause.message); hooks may run again on the next run (a daemon remembers in memory meanwhile)"
    }
    package var fix: String? { cause.fix ?? "make state_dir writable (free space, a writable file system), or set state_dir:" }
    package var underlying: (any Error)? { cause }
}
