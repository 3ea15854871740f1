import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// One reconcile pass: fetch every secret that has files, render, write what differs, run the
/// hooks of what changed, and record it all in the state. One failing secret never stops the others.
package struct Reconciler: Sendable {
    let manifest: Manifest
    let credentials: any CredentialProvider
    let fetcher: EntryFetcher
    /// Open Secrets Manager connections while CreateSession is in flight (needs a pooled transport).
    let warmUpConnections: Bool
    /// Every AWS API call made (CreateSession and Secrets Manager), for the pass's count.
    let apiCalls: AtomicCounter
    let writer: AtomicFileWriter
    let hooks: any CommandRunner
    let environment: [String: String]
    let logger: Logger
    let clock: @Sendable () -> Date
    /// The state of a pass that could not be saved, for the next pass of the same process.
    let memory: StateMemory
    /// No hook runs past this (`once --timeout`).
    let deadline: Deadline?

    /// Passes over `aws` (its environment is also the hooks', its clock and deadline the
    /// pass's), with `credentials` for every call.
    package init(
        manifest: Manifest, credentials: any CredentialProvider, aws: AWSContext, writer: AtomicFileWriter = AtomicFileWriter(),
        hooks: any CommandRunner = ProcessHookRunner(), warmUpConnections: Bool = false, memory: StateMemory = StateMemory()
    ) {
        self.manifest = manifest
        self.credentials = credentials
        self.fetcher = aws.fetcher(fallbackRegions: manifest.fallbackRegions)
        self.warmUpConnections = warmUpConnections
        self.apiCalls = aws.calls
        self.writer = writer
        self.hooks = hooks
        self.environment = aws.environment
        self.logger = aws.logger
        self.clock = aws.clock
        self.memory = memory
        self.deadline = aws.deadline
    }

    /// One pass: the pipeline, each step named below. `shouldStop` is asked while waiting for the
    /// lock, before each secret and before each hook: when it gives a reason, the secrets not yet
    /// started are left as they are and reported, and hooks are kept owed for the next pass.
    /// A secret's files are never left half-written.
    package func pass(dryRun: Bool, shouldStop: () -> String? = { nil }) throws -> PassReport {
        let lock = dryRun ? nil : try takeLock(shouldStop: shouldStop)
        defer { withExtendedLifetime(lock) {} }
        var state = try loadState(dryRun: dryRun)
        let started = clock()
        let synced = manifest.entries.filter(\.writesFiles)
        warnAboutDestinations(synced)

        let callsBefore = apiCalls.current
        let fetched = fetchAll(synced, shouldStop: shouldStop)
        var report = PassReport()
        var changed = Set<String>()
        for secret in synced {
            let (result, wrote) = sync(secret, fetched: fetched, state: &state, started: started, dryRun: dryRun, shouldStop: shouldStop)
            report.secrets.append(result)
            if wrote { changed.insert(secret.name) }
        }
        report.apiCalls = apiCalls.current - callsBefore
        report.removals = OrphanFiles(prune: manifest.prune, remover: FileRemover(), logger: logger)
            .settle(&state, synced: synced, failed: Set(report.failedSecrets.map(\.name)), dryRun: dryRun)

        let succeeded = Set(report.secrets.filter { $0.error == nil }.map(\.name))
        let owed = state.secrets.mapValues(\.pendingHooks)
        let runs = HookScheduler.schedule(synced, succeeded: succeeded, changed: changed, owed: owed)
        report.hooks = runHooks(runs, state: &state, dryRun: dryRun, shouldStop: shouldStop)

        guard !dryRun else { return report }
        report.stateError = record(&state, synced: synced, report: report, started: started)
        return report
    }

    // MARK: The steps

    func takeLock(shouldStop: () -> String?) throws -> StateLock {
        try StateLock(
            directory: manifest.stateDirectory,
            waiting: {
                logger.notice("another secret-sync run holds the lock; waiting", metadata: ["lock": "\(manifest.stateDirectory)/lock"])
            }, shouldStop: shouldStop)
    }

    /// The state of the last pass: what this process could not save, else the file. A state
    /// another user controls stops the pass (``PathTrust``).
    func loadState(dryRun: Bool) throws -> SyncState {
        if let unsaved = memory.state(of: manifest.stateDirectory) { return unsaved }
        let loaded = try StateStore(directory: manifest.stateDirectory).load(keepDamagedAside: !dryRun)
        if let problem = loaded.problem { logger.error("\(problem)") }
        return loaded.state
    }

    func warnAboutDestinations(_ secrets: [ManifestEntry]) {
        for (directory, reason) in PathWalker.untrustedDirectories(secrets.flatMap(\.destinationDirectories)) {
            logger.warning(
                "destination directory \(directory) is \(reason), who could replace or redirect its files",
                metadata: ["fix": "chown root \(directory) && chmod go-w \(directory), or choose a directory only root controls"])
        }
    }

    /// Credentials, then every secret and parameter at once (batched, in parallel). When a
    /// CreateSession is due, the Secrets Manager and Parameter Store connections are opened meanwhile, so their handshakes cost no round trips.
    func fetchAll(_ secrets: [ManifestEntry], shouldStop: () -> String?) -> Result<[String: Result<Fetched, any Error>], any Error> {
        if credentials.needsRefresh, warmUpConnections {
            for group in Dictionary(grouping: secrets, by: { [$0.source.service.rawValue, $0.region] }).values {
                fetcher.warmUp(group, service: group[0].source.service, region: group[0].region)
            }
        }
        do {
            if shouldStop() != nil { return .success([:]) }
            return .success(try fetcher.fetch(secrets, using: credentials))
        } catch {
            return .failure(error.diagnosis)
        }
    }

    /// Runs the scheduled hooks, each with the hook timeout (cut to the pass's deadline), and
    /// records in the state which ones are still owed.
    func runHooks(_ runs: [HookScheduler.Run], state: inout SyncState, dryRun: Bool, shouldStop: () -> String?) -> [PassReport.HookRun] {
        var results = [PassReport.HookRun]()
        var hookEnvironment = environment.filter { !EnvironmentBuilder.awsCredentialVariables.contains($0.key) }
        for run in runs {
            guard !dryRun else {
                results.append(.init(command: run.command, secrets: run.secrets, result: nil))
                continue
            }
            let result: HookResult
            if let reason = shouldStop() {
                logger.warning("hook postponed: \(reason)", metadata: ["command": "\(run.command)"])
                result = HookResult(ending: .couldNotStart("postponed: \(reason)"))
            } else {
                hookEnvironment["SECRET_SYNC_CHANGED"] = run.secrets.joined(separator: " ")
                let timeout = min(manifest.hookTimeout, deadline.map { max(0, $0.remaining) } ?? manifest.hookTimeout)
                result = hooks.run(run.command, environment: hookEnvironment, timeout: timeout)
                if result.succeeded {
                    logger.notice("ran hook", metadata: ["command": "\(run.command)", "secrets": "\(run.secrets.joined(separator: " "))"])
                } else {
                    logger.error(
                        "hook failed: \(result.description); it will run again on the next pass",
                        metadata: ["command": "\(run.command)", "secrets": "\(run.secrets.joined(separator: " "))"])
                }
            }
            results.append(.init(command: run.command, secrets: run.secrets, result: result))
            for name in run.secrets {
                guard var entry = state.secrets[name] else { continue }
                entry.pendingHooks.removeAll { $0 == run.command }
                if !result.succeeded {
                    entry.pendingHooks.append(run.command)
                    entry.lastHookError = "\(run.command): \(result.description)"
                } else if entry.pendingHooks.isEmpty {
                    entry.lastHookError = nil
                }
                state.secrets[name] = entry
            }
        }
        return results
    }

    /// Forgets what left the manifest, records the pass, and saves the state (and metrics) —
    /// after every pass, idle or not: freshness (`status`, the metrics' last-pass time) follows
    /// passes, not changes. When the disk refuses the state, it is kept in memory for the next
    /// pass and the error is returned.
    func record(_ state: inout SyncState, synced: [ManifestEntry], report: PassReport, started: Date)
        -> (any DiagnosticError)?
    {
        let configured = Dictionary(uniqueKeysWithValues: synced.map { ($0.name, Set($0.onChange)) })
        state.secrets = state.secrets.filter { configured[$0.key] != nil }
        for (name, hooks) in configured { state.secrets[name]?.pendingHooks.removeAll { !hooks.contains($0) } }
        state.lastPass = .init(
            started: started, finished: clock(), secrets: synced.count, failures: report.failedSecrets.count,
            filesWritten: report.filesWritten, hooksRun: report.hooks.count, apiCalls: report.apiCalls,
            filesRemoved: report.removals.filter { $0.outcome == .removed }.count)
        logger.info("API calls this pass", metadata: ["calls": "\(report.apiCalls)"])
        do {
            try StateStore(directory: manifest.stateDirectory).save(state)
            memory.remember(nil, of: manifest.stateDirectory)
        } catch {
            memory.remember(state, of: manifest.stateDirectory)
            let notSaved = StateNotSaved(cause: error.diagnosis)
            var fields: Logger.Metadata = notSaved.fix.map { ["fix": "\($0)"] } ?? [:]
            if let code = notSaved.errorCode { fields["code"] = "\(code)" }
            logger.error("\(notSaved.message)", metadata: fields)
            return notSaved
        }
        if let metricsFile = manifest.metricsFile {
            do {
                try MetricsFile.write(state, manifest: manifest, to: metricsFile)
            } catch {
                logger.warning("cannot write the metrics file", metadata: ["path": "\(metricsFile)", "error": "\(error)"])
            }
        }
        return nil
    }

    // MARK: Helpers

    /// Error text kept in the state is cut: it can come from the network, and a state file that
    /// outgrew what is read back would be "damaged" on every pass.
    static func shortened(_ text: String, limit: Int = 1000) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    /// A failed secret's log fields: its name, the error's stable code and the fix.
    static func metadata(secret: String, error: any DiagnosticError) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["secret": "\(secret)"]
        if let code = error.errorCode { metadata["code"] = "\(code)" }
        if let fix = error.fix { metadata["fix"] = "\(fix)" }
        return metadata
    }
}
