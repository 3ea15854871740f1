/// One secret's files: rendered from its value, then planned (dry run) or written together —
/// every file or none (``AtomicFileWriter/writeTogether(_:)``).
struct EntryFiles {
    let secret: ManifestEntry
    let writer: AtomicFileWriter

    /// The files' targets; throws a ``RenderError`` naming the file when one cannot be rendered.
    func targets(_ version: StoredValue) throws -> [FileTarget] {
        try secret.files.map { file in
            do {
                return FileTarget(
                    path: file.path, bytes: try Renderer.render(file.content, version.payload), mode: file.mode, uid: file.owner?.id,
                    gid: file.group?.id)
            } catch let error as DiagnosticError {
                throw RenderError(message: "secret \(secret.name), file \(file.path): \(error.message)", fix: error.fix)
            }
        }
    }

    /// What each file needs, without touching anything; the first file that could not be planned
    /// is the error.
    func plan(_ targets: [FileTarget]) -> (outcomes: [(path: String, outcome: WriteOutcome)], error: (any DiagnosticError)?) {
        var outcomes = [(path: String, outcome: WriteOutcome)]()
        var firstError: (any DiagnosticError)?
        for target in targets {
            do {
                outcomes.append((target.path, try writer.plan(target)))
            } catch let error as DiagnosticError {
                firstError = firstError ?? error
            } catch {
                firstError = firstError ?? UnexpectedError(error)
            }
        }
        return (outcomes, firstError)
    }

    func write(_ targets: [FileTarget]) throws -> [(path: String, outcome: WriteOutcome)] {
        let outcomes = try writer.writeTogether(targets)
        return zip(targets, outcomes).map { ($0.path, $1) }
    }
}
