/// One entry's files, planned (dry run) or written together — every file or none
/// (``AtomicFileWriter/writeTogether(_:)``).
struct EntryFiles {
    let writer: AtomicFileWriter

    /// What each file needs, without touching anything; the first file that could not be planned
    /// is the error.
    func plan(_ targets: [FileTarget]) -> (outcomes: [(path: String, outcome: WriteOutcome)], error: (any DiagnosticError)?) {
        var outcomes = [(path: String, outcome: WriteOutcome)]()
        var firstError: (any DiagnosticError)?
        for target in targets {
            do {
                outcomes.append((target.path, try writer.plan(target)))
            } catch {
                firstError = firstError ?? error.diagnosis
            }
        }
        return (outcomes, firstError)
    }

    func write(_ targets: [FileTarget]) throws -> [(path: String, outcome: WriteOutcome)] {
        let outcomes = try writer.writeTogether(targets)
        return zip(targets, outcomes).map { ($0.path, $1) }
    }
}
