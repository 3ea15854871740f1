import Foundation
import Logging

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

    public var failedSecrets: [SecretResult] { secrets.filter { $0.error != nil } }
    public var failedHooks: [HookRun] { hooks.filter { $0.result.map { !$0.succeeded } ?? false } }
    public var succeeded: Bool { failedSecrets.isEmpty && failedHooks.isEmpty }
    public var filesWritten: Int { secrets.reduce(0) { $0 + $1.files.filter { $0.outcome.wrote }.count } }
}

/// One reconcile pass: fetch every secret that has files, render, write what differs, run the
/// hooks of what changed, and record it all in the state. One failing secret never stops the others.
public struct Reconciler: Sendable {
    let manifest: Manifest
    let credentials: any CredentialProvider
    let secretsManager: SecretsManagerClient
    let fetcher: SecretFetcher
    /// Open Secrets Manager connections while CreateSession is in flight (needs a pooled transport).
    let warmUpConnections: Bool
    /// Every AWS API call made (CreateSession and Secrets Manager), for the pass's count.
    let apiCalls: AtomicCounter
    let writer: AtomicFileWriter
    let hooks: any CommandRunner
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(
        manifest: Manifest, credentials: any CredentialProvider, secretsManager: SecretsManagerClient,
        writer: AtomicFileWriter = AtomicFileWriter(),
        hooks: any CommandRunner = ProcessHookRunner(), environment: [String: String], logger: Logger,
        clock: @escaping @Sendable () -> Date = { Date() }, fetcher: SecretFetcher? = nil, apiCalls: AtomicCounter? = nil,
        warmUpConnections: Bool = false
    ) {
        self.manifest = manifest
        self.credentials = credentials
        self.secretsManager = secretsManager
        self.fetcher = fetcher ?? SecretFetcher(client: secretsManager, logger: logger)
        self.warmUpConnections = warmUpConnections
        self.apiCalls = apiCalls ?? secretsManager.calls
        self.writer = writer
        self.hooks = hooks
        self.environment = environment
        self.logger = logger
        self.clock = clock
    }

    /// Variables never passed to hooks: the credentials `auth: environment` reads.
    static let withheldVariables: Set<String> = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]

    /// Existing parent directories of `paths` that users other than their owner may write to
    /// (group- or world-writable without the sticky bit).
    public static func writableByOthers(_ paths: [String]) -> [String] {
        let directories = Set(paths.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
        return directories.sorted().filter { directory in
            var info = stat()
            guard stat(directory, &info) == 0 else { return false }
            return info.st_mode & 0o022 != 0 && info.st_mode & S_ISVTX == 0
        }
    }

    /// How often an idle pass still records itself in the state (and the metrics file).
    public static let stateHeartbeat: TimeInterval = 10 * 60

    /// True when two states differ only in pass and attempt times: an idle pass.
    static func onlyTimesDiffer(_ a: SyncState, _ b: SyncState) -> Bool {
        func normalised(_ state: SyncState) -> SyncState {
            var copy = state
            copy.lastPass = nil
            for name in copy.secrets.keys {
                copy.secrets[name]?.lastAttempt = nil
                copy.secrets[name]?.lastSuccess = nil
            }
            return copy
        }
        return a.lastPass?.failures == 0 && b.lastPass?.failures == 0 && b.lastPass?.filesWritten == 0 && b.lastPass?.hooksRun == 0
            && normalised(a) == normalised(b)
    }

    static func metadata(secret: String, fix: String?) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["secret": "\(secret)"]
        if let fix { metadata["fix"] = "\(fix)" }
        return metadata
    }

    /// A secret left untouched because the pass had to stop (deadline, SIGTERM).
    public struct NotDone: DiagnosticError {
        public let secret: String
        public let reason: String
        public var message: String { "secret \(secret) was not synced: \(reason)" }
        public var fix: String? { "its last good files were kept; the next pass will sync it" }
    }

    /// One pass. `shouldStop` is asked before each secret and before the hooks: when it gives a
    /// reason, the secrets not yet started are left as they are and reported, and hooks are kept
    /// owed for the next pass. A secret's files are never left half-written.
    public func pass(dryRun: Bool, shouldStop: () -> String? = { nil }) throws -> PassReport {
        let lock =
            dryRun
            ? nil
            : try StateLock(directory: manifest.stateDirectory) {
                logger.notice("another secret-sync run holds the lock; waiting", metadata: ["lock": "\(manifest.stateDirectory)/lock"])
            }
        defer { withExtendedLifetime(lock) {} }

        let store = StateStore(directory: manifest.stateDirectory)
        let loaded = store.load { problem in
            logger.warning(
                "state file is damaged; starting from an empty state", metadata: ["path": "\(store.path)", "error": "\(problem)"])
        }
        var state = loaded
        let started = clock()
        var report = PassReport()
        let synced = manifest.secrets.filter { !$0.files.isEmpty }

        let callsBefore = apiCalls.current
        for directory in Self.writableByOthers(synced.flatMap { $0.files.map(\.path) }) {
            logger.warning(
                "destination directory \(directory) is writable by other users, who could replace or redirect its files",
                metadata: ["fix": "chmod go-w \(directory) (or give it the sticky bit)"])
        }

        // Credentials; when a CreateSession is due, the Secrets Manager connections are opened
        // meanwhile, so their TCP and TLS handshakes cost no extra round trips.
        if credentials.needsRefresh, warmUpConnections {
            for (region, secrets) in Dictionary(grouping: synced, by: \.region) {
                let connections = min(fetcher.concurrency, fetcher.expectedCalls(secrets))
                for _ in 0..<connections {
                    Thread.detachNewThread { [secretsManager] in secretsManager.warmUp(region: region) }
                }
            }
        }
        let credentialResult: Result<AWSCredentials, any Error>
        do {
            credentialResult = .success(try credentials.credentials())
        } catch {
            credentialResult = .failure((error as? DiagnosticError) ?? UnexpectedError(error))
        }

        // Every secret is fetched first, in parallel and batched; then written secret by secret.
        var fetched = [String: Result<SecretVersion, any Error>]()
        if case .success(let current) = credentialResult, shouldStop() == nil {
            fetched = fetcher.fetch(synced, credentials: current)
        }

        var changed = [String: Bool]()
        for secret in synced {
            // Stopping (deadline, SIGTERM) skips the writes still to come; a fetch that failed is
            // reported as the failure it was.
            let fetchFailed: Bool
            if case .failure = fetched[secret.name] { fetchFailed = true } else { fetchFailed = false }
            if let reason = shouldStop(), !fetchFailed, case .success = credentialResult {
                let notDone = NotDone(secret: secret.name, reason: reason)
                logger.warning("\(notDone.message)", metadata: ["secret": "\(secret.name)"])
                report.secrets.append(.init(name: secret.name, versionId: nil, files: [], error: notDone))
                continue
            }
            var previous = state.secrets[secret.name] ?? .init(secretId: secret.id)
            previous.secretId = secret.id
            previous.lastAttempt = started
            do {
                if case .failure(let error) = credentialResult { throw error }
                guard let result = fetched[secret.name] else {
                    throw NotDone(secret: secret.name, reason: "it was not fetched")
                }
                let version = try result.get()
                let targets = try secret.files.map { file in
                    do {
                        return FileTarget(
                            path: file.path, bytes: try Renderer.render(file.content, version.payload), mode: file.mode,
                            uid: file.owner?.id,
                            gid: file.group?.id)
                    } catch let error as DiagnosticError {
                        throw RenderError(message: "secret \(secret.name), file \(file.path): \(error.message)", fix: error.fix)
                    }
                }
                var outcomes = [(path: String, outcome: WriteOutcome)]()
                var writeError: (any DiagnosticError)?
                for target in targets {
                    do {
                        let outcome = dryRun ? try writer.plan(target) : try writer.write(target)
                        outcomes.append((target.path, outcome))
                        if outcome.wrote, !dryRun {
                            logger.notice(
                                "\(outcome.rawValue) \(target.path)",
                                metadata: [
                                    "secret": "\(secret.name)", "version": "\(version.versionId)",
                                    "mode": "\(String(target.mode, radix: 8))",
                                ])
                        }
                    } catch let error as DiagnosticError {
                        writeError = writeError ?? error
                        logger.error("\(error.message)", metadata: Self.metadata(secret: secret.name, fix: error.fix))
                    }
                }
                let versionChanged = previous.versionId != version.versionId
                changed[secret.name] = versionChanged || outcomes.contains { $0.outcome.wrote }
                previous.arn = version.arn
                previous.files = secret.files.map(\.path)
                if let writeError {
                    previous.lastError = writeError.message
                    report.secrets.append(.init(name: secret.name, versionId: version.versionId, files: outcomes, error: writeError))
                } else {
                    previous.versionId = version.versionId
                    previous.lastSuccess = started
                    previous.lastError = nil
                    report.secrets.append(.init(name: secret.name, versionId: version.versionId, files: outcomes, error: nil))
                }
            } catch {
                let error = (error as? DiagnosticError) ?? UnexpectedError(error)
                previous.lastError = error.message
                logger.error("\(error.message)", metadata: Self.metadata(secret: secret.name, fix: error.fix))
                report.secrets.append(.init(name: secret.name, versionId: nil, files: [], error: error))
            }
            state.secrets[secret.name] = previous
        }

        report.apiCalls = apiCalls.current - callsBefore

        // Hooks after all writes: once per distinct command, for secrets that changed or still owe it.
        var order = [HookCommand]()
        var triggeredBy = [HookCommand: [String]]()
        for secret in synced {
            let succeeded = report.secrets.first { $0.name == secret.name }?.error == nil
            let owed = Set(state.secrets[secret.name]?.pendingHooks ?? [])
            for hook in secret.onChange where (succeeded && changed[secret.name] == true) || owed.contains(hook) {
                if triggeredBy[hook] == nil { order.append(hook) }
                triggeredBy[hook, default: []].append(secret.name)
            }
        }
        var hookEnvironment = environment.filter { !Self.withheldVariables.contains($0.key) }
        for hook in order {
            let names = triggeredBy[hook]!  // safe: every hook in `order` was entered in `triggeredBy`
            guard !dryRun else {
                report.hooks.append(.init(command: hook, secrets: names, result: nil))
                continue
            }
            if let reason = shouldStop() {
                // Owed, not lost: it runs on the next pass.
                logger.warning("hook postponed: \(reason)", metadata: ["command": "\(hook)"])
                for name in names where state.secrets[name]?.pendingHooks.contains(hook) == false {
                    state.secrets[name]?.pendingHooks.append(hook)
                }
                report.hooks.append(
                    .init(command: hook, secrets: names, result: HookResult(ending: .couldNotStart("postponed: \(reason)"))))
                continue
            }
            hookEnvironment["SECRET_SYNC_CHANGED"] = names.joined(separator: " ")
            let result = hooks.run(hook, environment: hookEnvironment, timeout: manifest.hookTimeout)
            report.hooks.append(.init(command: hook, secrets: names, result: result))
            if result.succeeded {
                logger.notice("ran hook", metadata: ["command": "\(hook)", "secrets": "\(names.joined(separator: " "))"])
            } else {
                logger.error(
                    "hook failed: \(result.description); it will run again on the next pass",
                    metadata: ["command": "\(hook)", "secrets": "\(names.joined(separator: " "))"])
            }
            for name in names {
                var entry = state.secrets[name]!  // safe: the fetch loop made an entry for every synced secret
                entry.pendingHooks.removeAll { $0 == hook }
                if !result.succeeded {
                    entry.pendingHooks.append(hook)
                    entry.lastHookError = "\(hook): \(result.description)"
                } else if entry.pendingHooks.isEmpty {
                    entry.lastHookError = nil
                }
                state.secrets[name] = entry
            }
        }

        guard !dryRun else { return report }
        // Forget secrets that left the manifest, and hooks that are no longer configured.
        let configured = Dictionary(uniqueKeysWithValues: synced.map { ($0.name, Set($0.onChange)) })
        state.secrets = state.secrets.filter { configured[$0.key] != nil }
        for (name, hooks) in configured { state.secrets[name]?.pendingHooks.removeAll { !hooks.contains($0) } }
        state.lastPass = .init(
            started: started, finished: clock(), secrets: synced.count, failures: report.failedSecrets.count,
            filesWritten: report.filesWritten, hooksRun: report.hooks.count, apiCalls: report.apiCalls)
        logger.info("API calls this pass", metadata: ["calls": "\(report.apiCalls)"])
        // An idle pass (nothing changed, nothing failed) writes nothing to disk, but for a heartbeat
        // every `stateHeartbeat` so that `status` and the metrics can tell a live sync from a dead one.
        if Self.onlyTimesDiffer(loaded, state), let previous = loaded.lastPass,
            clock().timeIntervalSince(previous.finished) < Self.stateHeartbeat
        {
            return report
        }
        try store.save(state)
        if let metricsFile = manifest.metricsFile {
            do {
                try MetricsFile.write(state, manifest: manifest, to: metricsFile)
            } catch {
                logger.warning("cannot write the metrics file", metadata: ["path": "\(metricsFile)", "error": "\(error)"])
            }
        }
        return report
    }
}
