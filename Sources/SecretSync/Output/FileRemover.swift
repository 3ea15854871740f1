#if canImport(Glibc)
    import Glibc
#endif

/// Removes files secret-sync wrote and no longer writes (`prune: true`): only a regular file at
/// the recorded path, reached through ``PathWalker`` (no symlink planted on the way is followed),
/// never a symlink, directory or device that has taken its place; afterwards the directories
/// that held it are removed while they are empty, up to a bound.
package struct FileRemover: Sendable {
    package enum Outcome: Sendable, Equatable {
        case removed
        /// Nothing is there any more.
        case gone
        /// Something other than a regular file is there now; left alone.
        case refused(String)
    }

    let walker = PathWalker()

    package init() {}

    /// What `remove` would do, touching nothing.
    package func plan(_ path: String) throws -> Outcome {
        try inspect(path).outcome
    }

    /// Removes the file at `path`; then its directory and the ones above it while they are empty,
    /// stopping at `bound` (never removed itself).
    package func remove(_ path: String, emptyDirectoriesBelow bound: String?) throws -> Outcome {
        let (outcome, directory, name) = try inspect(path)
        guard outcome == .removed, let directory else { return outcome }
        if unlinkat(directory.fd, name, 0) != 0 {
            if errno == ENOENT { return .gone }
            throw FileWriteError.from(path, errno, "cannot remove \(path)")
        }
        _ = fsync(directory.fd)
        if let bound { removeEmptyDirectories(from: PathWalker.split(path).directory, below: bound) }
        return .removed
    }

    func inspect(_ path: String) throws -> (outcome: Outcome, directory: DirectoryHandle?, name: String) {
        let (directoryPath, name) = PathWalker.split(path)
        guard let directory = try walker.open(directoryPath, creating: false, for: path) else { return (.gone, nil, name) }
        var info = stat()
        guard fstatat(directory.fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return (.gone, directory, name) }
            throw FileWriteError.from(path, errno, "cannot inspect \(path)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            let what =
                info.st_mode & S_IFMT == S_IFLNK ? "a symlink" : info.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
            return (.refused("\(path) is \(what) now, not the file secret-sync wrote; left alone"), directory, name)
        }
        return (.removed, directory, name)
    }

    /// `directory` and its parents, while empty and strictly below `bound`.
    func removeEmptyDirectories(from directory: String, below bound: String) {
        var current = directory
        while current.hasPrefix(bound + "/") {
            let (parentPath, name) = PathWalker.split(current)
            guard let parent = try? walker.open(parentPath, creating: false, for: current), unlinkat(parent.fd, name, AT_REMOVEDIR) == 0
            else { return }
            _ = fsync(parent.fd)
            current = parentPath
        }
    }
}
