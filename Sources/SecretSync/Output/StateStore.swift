import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Loads and saves ``SyncState`` atomically in `state_dir/state.json`.
package struct StateStore: Sendable {
    package let directory: String
    var path: String { directory + "/state.json" }

    package init(directory: String) { self.directory = directory }

    /// What `load` found.
    package struct Loaded {
        package let state: SyncState
        /// Why the saved state could not be used (unreadable, or damaged and kept aside), if so.
        package let problem: String?
    }

    /// The saved state; an empty one when there is none yet. A file that cannot be parsed is kept
    /// aside as `state.json.damaged-TIME` for inspection and reported, and the pass starts from an
    /// empty state (every secret's hooks run once) rather than failing forever. An unreadable one
    /// is reported and left where it is.
    ///
    /// Throws ``UntrustedPathError`` when another user owns or may write the state directory, a
    /// directory above it or the file: such a state is never believed, since it decides what
    /// prune removes and which hooks run.
    package func load(keepDamagedAside: Bool = true, now: Date = Date()) throws -> Loaded {
        let data: Data
        do {
            guard try openDirectory(creating: false) != nil else { return Loaded(state: SyncState(), problem: nil) }
            // Thousands of secrets make a state larger than the 1 MiB other local files are held to.
            data = try LocalFile.read(path, role: "state file", limit: 64 << 20, trust: .state("state file"))
        } catch let error as UntrustedPathError {
            throw error
        } catch let error as LocalFileError where error.errno == ENOENT {
            return Loaded(state: SyncState(), problem: nil)
        } catch let error as DiagnosticError {
            return Loaded(state: SyncState(), problem: "\(error.message); starting from an empty state")
        } catch {
            return Loaded(state: SyncState(), problem: "\(error); starting from an empty state")
        }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            return Loaded(state: try decoder.decode(SyncState.self, from: data), problem: nil)
        } catch {
            var problem = "state file \(path) is damaged (not the JSON secret-sync writes)"
            if keepDamagedAside {
                let aside = "\(path).damaged-\(UTCTime.amzDate(now))"
                problem += rename(path, aside) == 0 ? "; kept aside as \(aside)" : "; it could not be moved aside"
            }
            return Loaded(state: SyncState(), problem: problem + "; starting from an empty state, so every secret's hooks run once")
        }
    }

    package func save(_ state: SyncState) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(state) + Data("\n".utf8)
        _ = try ensureDirectory()
        try AtomicFileWriter().write(FileTarget(path: path, bytes: Array(data), mode: 0o600))
    }

    /// `state_dir`, opened through the safe walk and judged by ``PathTrust`` (it, and every
    /// directory above it); nil when it does not exist and `creating` is false. `creating` makes
    /// it (0700) and any missing parent (0755).
    @discardableResult
    func openDirectory(creating: Bool) throws -> DirectoryHandle? {
        let use = PathTrust.Use.state("state directory")
        let walker = PathWalker(judgingFor: use)
        let (parentPath, name) = PathWalker.split(directory)
        guard let parent = try walker.open(parentPath, creating: creating, for: directory) else { return nil }
        if creating, mkdirat(parent.fd, name, 0o700) != 0, errno != EEXIST {
            let code = errno
            throw FileWriteError(
                path: directory, errno: code, message: "cannot create state directory \(directory): \(String(cString: strerror(code)))",
                fix: "create it (mode 0700) or set state_dir: to a writable directory")
        }
        guard let handle = try walker.open(directory, creating: false, for: directory) else { return nil }
        try PathTrust.judge(handle.fd, path: directory, as: .holder, for: use, subject: directory)
        return handle
    }

    func ensureDirectory() throws -> DirectoryHandle {
        // Safe to unwrap: with `creating: true` the directory is made, or the call throws.
        try openDirectory(creating: true)!
    }
}

/// The state of the last pass when it could not be saved: a daemon goes on from it, so a disk
/// that refuses the state file does not make every pass run every hook again.
package final class StateMemory: @unchecked Sendable {
    // @unchecked Sendable: `unsaved` is only touched while `lock` is held.
    private let lock = Lock()
    private var unsaved: (directory: String, state: SyncState)?

    package init() {}

    /// The unsaved state of `directory`; a reload that moved `state_dir` starts from the file.
    func state(of directory: String) -> SyncState? {
        lock.lock()
        defer { lock.unlock() }
        return unsaved?.directory == directory ? unsaved?.state : nil
    }

    func remember(_ state: SyncState?, of directory: String) {
        lock.lock()
        unsaved = state.map { (directory, $0) }
        lock.unlock()
    }
}
