import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// What a destination file should be.
package struct FileTarget: Sendable {
    package let path: String
    package let bytes: [UInt8]
    package let mode: UInt32
    /// nil: leave as whoever writes the file.
    package let uid: UInt32?
    package let gid: UInt32?

    package init(path: String, bytes: [UInt8], mode: UInt32, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.path = path
        self.bytes = bytes
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}

package enum WriteOutcome: String, Sendable, Codable {
    /// Content, owner, group and mode already matched: nothing was written.
    case unchanged
    case created
    /// The content changed.
    case updated
    /// Same content, but owner, group or mode had drifted.
    case repaired

    package var wrote: Bool { self != .unchanged }
}

package struct FileWriteError: DiagnosticError {
    package let path: String
    package let errno: Int32
    package let message: String
    package let fix: String?
    package var errorCode: String? { ErrnoName.of(errno) }
}

/// Replaces files atomically: readers see the old content or the new, never a mix or an empty file.
///
/// The new content goes to a temporary file in the destination's directory, created 0600 with
/// `O_EXCL | O_NOFOLLOW`; it is written, fsynced, given its owner, group and mode (it is
/// "staged"), then renamed over the destination, and the directory is fsynced ("committed").
/// Everything is done relative to the directory's descriptor, reached by ``PathWalker``, which
/// follows no symlink another user could have planted. A symlink at the destination is refused,
/// never followed. On any failure the old file stays and the temporary file is removed.
/// ``writeTogether(_:)`` stages every file of a set before committing any.
package struct AtomicFileWriter: Sendable {
    static let temporaryMarker = ".secret-sync-tmp-"
    /// Longest file name a file system takes (NAME_MAX); the manifest refuses longer ones.
    package static let nameLimit = 255
    let walker = PathWalker()

    package init() {}

    /// What `write` would do, without touching anything (and without following what the write
    /// would refuse to follow).
    package func plan(_ target: FileTarget) throws -> WriteOutcome {
        let (directory, name) = PathWalker.split(target.path)
        guard let handle = try walker.open(directory, creating: false, for: target.path) else { return .created }
        return try compare(target, directory: handle.fd, name: name)
    }

    @discardableResult
    package func write(_ target: FileTarget) throws -> WriteOutcome {
        let outcomes = try writeTogether([target])
        return outcomes[0]
    }

    /// Writes every target or none: each changed file is staged first; only when all are staged
    /// are they renamed into place. (A rename itself failing midway — an I/O error — is the one
    /// case that can leave the set mixed; it is reported.) Returns each target's outcome.
    package func writeTogether(_ targets: [FileTarget]) throws -> [WriteOutcome] {
        var staged = [StagedFile]()
        var outcomes = [WriteOutcome]()
        for target in targets {
            let (directory, name) = PathWalker.split(target.path)
            // Safe to unwrap: with `creating: true` the walk returns a directory or throws.
            let handle = try walker.open(directory, creating: true, for: target.path)!
            let outcome = try compare(target, directory: handle.fd, name: name)
            outcomes.append(outcome)
            if outcome.wrote { staged.append(try stage(target, in: handle, name: name)) }
        }
        for file in staged { try file.commit() }
        return outcomes
    }

    /// Writes the temporary file completely, with its final owner, group and mode.
    func stage(_ target: FileTarget, in directory: DirectoryHandle, name: String) throws -> StagedFile {
        let temporaryPrefix = Self.temporaryPrefix(for: name)
        removeStaleTemporaries(directory: directory.fd, prefix: temporaryPrefix)
        let temporary = temporaryPrefix + randomSuffix()
        let file = openat(directory.fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if file < 0 { throw failure(target.path, errno, "cannot create a temporary file in \(directory.path)") }
        let staged = StagedFile(directory: directory, temporary: temporary, name: name, path: target.path)
        defer { close(file) }
        try writeAll(file, target.bytes, path: target.path)
        guard fsync(file) == 0 else { throw failure(target.path, errno, "cannot flush \(target.path) to disk") }
        if target.uid != nil || target.gid != nil {
            let uid = target.uid.map { uid_t($0) } ?? uid_t.max
            let gid = target.gid.map { gid_t($0) } ?? gid_t.max
            guard fchown(file, uid, gid) == 0 else {
                let code = errno
                throw FileWriteError(
                    path: target.path, errno: code,
                    message:
                        "cannot give \(target.path) owner \(target.uid.map(String.init) ?? "-") group \(target.gid.map(String.init) ?? "-"): \(FileWriteError.describe(code))",
                    fix: code == EPERM
                        ? "setting another owner needs root (or CAP_CHOWN); run secret-sync as root, or drop owner:/group:" : nil)
            }
        }
        guard fchmod(file, mode_t(target.mode)) == 0 else { throw failure(target.path, errno, "cannot set the mode of \(target.path)") }
        return staged
    }

    /// A temporary file ready to be renamed into place; removed unless committed.
    final class StagedFile {
        let directory: DirectoryHandle
        let temporary: String
        let name: String
        let path: String
        private var committed = false

        init(directory: DirectoryHandle, temporary: String, name: String, path: String) {
            self.directory = directory
            self.temporary = temporary
            self.name = name
            self.path = path
        }

        func commit() throws {
            guard renameat(directory.fd, temporary, directory.fd, name) == 0 else {
                throw FileWriteError.from(path, errno, "cannot move the new \(path) into place")
            }
            committed = true
            guard fsync(directory.fd) == 0 else {
                throw FileWriteError.from(path, errno, "cannot flush directory \(directory.path) to disk")
            }
        }

        // Safe: only this object knows the temporary name; a staged file never committed is removed.
        deinit { if !committed { unlinkat(directory.fd, temporary, 0) } }
    }

    /// Compares the destination with the target; throws for a symlink or a non-file there.
    func compare(_ target: FileTarget, directory fd: Int32, name: String) throws -> WriteOutcome {
        var info = stat()
        guard fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return .created }
            throw failure(target.path, errno, "cannot inspect \(target.path)")
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK:
            throw FileWriteError(
                path: target.path, errno: ELOOP,
                message: "refusing to write \(target.path): it is a symbolic link, which secret-sync never follows",
                fix: "remove the link (its target is untouched) or point the manifest at the real file")
        default:
            throw FileWriteError(
                path: target.path, errno: EEXIST, message: "refusing to write \(target.path): it exists and is not a regular file",
                fix: "remove it or choose another path")
        }
        // A size that differs is a change: the content is not read (the file's owner could have
        // made it huge or sparse to stall the pass).
        guard info.st_size == target.bytes.count,
            try readExisting(directory: fd, name: name, limit: target.bytes.count, path: target.path) == target.bytes
        else { return .updated }
        let metadataMatches =
            info.st_mode & 0o7777 == mode_t(target.mode) && target.uid.map { info.st_uid == uid_t($0) } ?? true
            && target.gid.map { info.st_gid == gid_t($0) } ?? true
        return metadataMatches ? .unchanged : .repaired
    }

    /// At most `limit + 1` bytes of the current file (one more tells that it grew).
    func readExisting(directory fd: Int32, name: String, limit: Int, path: String) throws -> [UInt8] {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if file < 0 { throw failure(path, errno, "cannot read the current \(path)") }
        defer { close(file) }
        var content = [UInt8](repeating: 0, count: limit + 1)
        var filled = 0
        while filled < content.count {
            let count = content.withUnsafeMutableBytes { read(file, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, errno, "cannot read the current \(path)")
            }
            if count == 0 { break }
            filled += count
        }
        defer { Wipe.bytes(&content) }  // the current file holds a secret too
        return Array(content[0..<filled])
    }

    /// `.NAME.secret-sync-tmp-`; a NAME too long for the temporary name with its 16-digit suffix
    /// to stay within NAME_MAX is cut (at a character boundary) and followed by a hash of the whole
    /// name, so two long names that share a beginning never share a prefix.
    static func temporaryPrefix(for name: String) -> String {
        let room = nameLimit - 1 - temporaryMarker.utf8.count - 16
        guard name.utf8.count > room else { return ".\(name)\(temporaryMarker)" }
        let hash = String(Digest.sha256(Array(name.utf8)).lowercaseHex.prefix(16))
        var kept = ""
        for character in name where kept.utf8.count + character.utf8.count <= room - 17 { kept.append(character) }
        return ".\(kept)-\(hash)\(temporaryMarker)"
    }

    /// Temporary files of ours left by a run that was killed before it could rename them.
    func removeStaleTemporaries(directory fd: Int32, prefix: String) {
        let duplicate = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard duplicate >= 0 else { return }
        guard let stream = fdopendir(duplicate) else {
            close(duplicate)
            return
        }
        defer { closedir(stream) }
        var stale = [String]()
        while let entry = readdir(stream) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if entryName.hasPrefix(prefix) { stale.append(entryName) }
        }
        for entryName in stale { unlinkat(fd, entryName, 0) }
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            // Safe: the loop only runs for a non-empty array, whose base address exists.
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, errno, "cannot write \(path)")
            }
            offset += count
        }
    }

    func randomSuffix() -> String {
        (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16).leftPadded(to: 2) }.joined()
    }

    func failure(_ path: String, _ code: Int32, _ what: String) -> FileWriteError {
        FileWriteError.from(path, code, what)
    }
}

extension FileWriteError {
    static func describe(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }

    /// An errno failure with the usual fixes.
    static func from(_ path: String, _ code: Int32, _ what: String) -> FileWriteError {
        let fix: String?
        switch code {
        case EACCES, EPERM: fix = "run secret-sync as a user allowed to write there (usually root)"
        case ENOSPC, EDQUOT: fix = "free space on that file system; the previous file was kept"
        case EROFS: fix = "the file system is read-only; choose a writable path"
        default: fix = nil
        }
        return FileWriteError(path: path, errno: code, message: "\(what): \(describe(code))", fix: fix)
    }
}
