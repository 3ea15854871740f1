import Logging

/// The files secret-sync wrote for entries that left the manifest, and for values a `path:` or
/// `select:` no longer holds: with `prune: true` they are removed (``FileRemover``), else listed
/// as a warning each pass and kept in the state until they are gone or pruned.
struct OrphanFiles {
    /// What an entry that succeeded leaves behind: the paths the state now records for it, and
    /// the files it wrote before and no longer writes. A `path:` or `select:` entry served by a
    /// fallback region leaves none — that region may hold fewer of its values (Parameter Store
    /// does not replicate; a secret may lack a replica) — and keeps recording them.
    static func left(by entry: ManifestEntry, wrote paths: [String], before: [String], servedByFallback: Bool)
        -> (recorded: [String], orphans: [SyncState.OrphanFile])
    {
        let writing = Set(paths)
        let left = before.filter { !writing.contains($0) }
        if entry.source.isCollection, servedByFallback { return (paths + left, []) }
        return (paths, left.map { SyncState.OrphanFile(path: $0, bound: entry.directory?.path) })
    }

    let prune: Bool
    let remover: FileRemover
    let logger: Logger

    /// Adds the files of entries no longer in the manifest to the state's orphans, drops those an
    /// entry writes again or that are gone, then removes (or plans to remove, or lists) the rest.
    /// Returns what was removed, or would be.
    ///
    /// Never removed, whatever the state says: a file the manifest names, and a file below the
    /// directory of a `path:`/`select:` entry that failed this pass (its values are unknown).
    /// Such a file stays recorded until an entry writes it again; the pass's "last good files
    /// were kept" stays true.
    func settle(_ state: inout SyncState, synced: [ManifestEntry], failed: Set<String>, dryRun: Bool)
        -> [(path: String, outcome: FileRemover.Outcome)]
    {
        let configured = Set(synced.map(\.name))
        var orphans = state.orphans ?? []
        for (name, entry) in state.secrets where !configured.contains(name) {
            // The directory of a path: or select: entry that left may go too, once empty.
            let bound = entry.directory.map { PathWalker.split($0).directory }
            orphans += entry.files.map { SyncState.OrphanFile(path: $0, bound: bound) }
        }
        let written = Set(state.secrets.filter { configured.contains($0.key) }.flatMap(\.value.files))
        var seen = Set<String>()
        orphans = orphans.filter { !written.contains($0.path) && seen.insert($0.path).inserted }

        let named = Set(synced.flatMap { $0.files.map(\.path) })
        let unknownDirectories = synced.filter { failed.contains($0.name) }.compactMap { $0.directory?.path }
        func stillWanted(_ path: String) -> Bool {
            named.contains(path) || unknownDirectories.contains { path.utf8.starts(with: ($0.hasSuffix("/") ? $0 : $0 + "/").utf8) }
        }

        var kept = [SyncState.OrphanFile]()
        var removals = [(path: String, outcome: FileRemover.Outcome)]()
        for orphan in orphans {
            if stillWanted(orphan.path) {
                kept.append(orphan)
                continue
            }
            do {
                let outcome =
                    prune && !dryRun ? try remover.remove(orphan.path, emptyDirectoriesBelow: orphan.bound) : try remover.plan(orphan.path)
                switch outcome {
                case .gone:
                    continue
                case .refused(let why):
                    logger.warning("not removed: \(why)")
                    continue
                case .removed where prune:
                    removals.append((orphan.path, .removed))
                    if !dryRun { logger.notice("removed \(orphan.path)", metadata: ["reason": "no longer in the manifest or selected"]) }
                    if dryRun { kept.append(orphan) }
                case .removed:
                    logger.warning(
                        "\(orphan.path) was written by secret-sync for an entry or value it no longer manages; left in place",
                        metadata: ["fix": "remove it, or set prune: true to have secret-sync remove such files"])
                    kept.append(orphan)
                }
            } catch {
                let message = error.diagnosis.message
                logger.warning("cannot remove \(orphan.path): \(message)", metadata: ["fix": "it is tried again on the next pass"])
                kept.append(orphan)
            }
        }
        if !dryRun { state.orphans = kept.isEmpty ? nil : kept }
        return removals
    }
}
