import FoundationEssentials
import Logging

extension Reconciler {
    // MARK: The per-entry step of a pass

    /// One secret: its fetch result rendered and written (or planned); its state entry updated.
    /// Returns the result and whether the secret counts as changed for its hooks.
    func sync(
        _ secret: ManifestEntry, fetched: Result<[String: Result<Fetched, any Error>], any Error>, state: inout SyncState,
        started: Date, dryRun: Bool, shouldStop: () -> String?
    ) -> (PassReport.SecretResult, Bool) {
        // Stopping (deadline, SIGTERM) skips the writes still to come, and leaves the secret's
        // state as it was; a fetch that failed is reported as the failure it was.
        if let reason = shouldStop(), case .success(let results) = fetched,
            (try? results[secret.name]?.get()) != nil || results[secret.name] == nil
        {
            let notDone = NotDone(secret: secret.name, reason: reason)
            logger.warning("\(notDone.message)", metadata: ["secret": "\(secret.name)"])
            return (.init(name: secret.name, versionId: nil, files: [], error: notDone), false)
        }
        var entry = state.secrets[secret.name] ?? .init(secretId: secret.source.id)
        entry.secretId = secret.source.id
        entry.lastAttempt = started
        defer { state.secrets[secret.name] = entry }
        let failure = { (error: any DiagnosticError, version: String?, files: [(path: String, outcome: WriteOutcome)]) in
            entry.lastError = Self.shortened(error.message)
            self.logger.error("\(error.message)", metadata: Self.metadata(secret: secret.name, error: error))
            return (PassReport.SecretResult(name: secret.name, versionId: version, files: files, error: error), false)
        }
        let values: EntryValues
        let targets: [FileTarget]
        let files = EntryFiles(writer: writer)
        do {
            guard let result = try fetched.get()[secret.name] else { throw NotDone(secret: secret.name, reason: "it was not fetched") }
            values = try EntryValues(secret, fetched: try result.get())
            targets = try values.files()
        } catch {
            return failure(error.diagnosis, nil, [])
        }
        let version = (id: values.versionId, arn: values.arn, servedBy: values.servedBy)
        let outcomes: [(path: String, outcome: WriteOutcome)]
        do {
            if dryRun {
                let plan = files.plan(targets)
                if let error = plan.error { return failure(error, version.id, plan.outcomes) }
                outcomes = plan.outcomes
            } else {
                outcomes = try files.write(targets)
            }
        } catch {
            return failure(error.diagnosis, version.id, [])
        }
        for (path, outcome) in outcomes where outcome.wrote && !dryRun {
            logger.notice(
                "\(outcome.rawValue) \(path)", metadata: ["secret": "\(secret.name)", "version": "\(version.id)"])
        }
        let (paths, orphans) = OrphanFiles.left(
            by: secret, wrote: targets.map(\.path), before: entry.files, servedByFallback: version.servedBy != nil)
        if !orphans.isEmpty { state.orphans = (state.orphans ?? []) + orphans }
        entry.directory = secret.directory?.path
        entry.servedBy = version.servedBy
        let changed = entry.versionId != version.id || outcomes.contains { $0.outcome.wrote }
        entry.arn = version.arn
        entry.files = paths
        entry.versionId = version.id
        entry.lastSuccess = started
        entry.lastError = nil
        return (.init(name: secret.name, versionId: version.id, files: outcomes, error: nil), changed)
    }
}
