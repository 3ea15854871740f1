import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a destination file should be.
public struct FileTarget: Sendable {
    public let path: String
    public let bytes: [UInt8]
    public let mode: UInt32
    /// nil: leave as whoever writes the file.
    public let uid: UInt32?
    public let gid: UInt32?

    public init(path: String, bytes: [UInt8], mode: UInt32, uid: UInt32? = nil, gid: UInt32? = nil) {
        self.path = path
        self.bytes = bytes
        self.mode = mode
        self.uid = uid
        self.gid = gid
    }
}

public enum WriteOutcome: String, Sendable, Codable {
    /// Content, owner, group and mode already matched: nothing was written.
    case unchanged
    case created
    /// The content changed.
    case updated
    /// Same content, but owner, group or mode had drifted.
    case repaired

    public var wrote: Bool { self != .unchanged }
}

public struct FileWriteError: DiagnosticError {
    public let path: String
    public let errno: Int32
    public let message: String
    public let fix: String?
}

/// Replaces files atomically: readers see the old content or the new, never a mix or an empty file.
///
/// The new content goes to a temporary file in the destination's directory, created 0600 with
/// `O_EXCL | O_NOFOLLOW`; it is written, fsynced, given its owner, group and mode, renamed over the
/// destination, and the directory is fsynced. Everything is done relative to the directory's
/// descriptor, which is reached component by component without following symlinks that other
/// users could have planted. A symlink at the destination is refused, never followed. On any
/// failure the old file stays and the temporary file is removed.
public struct AtomicFileWriter: Sendable {
    static let temporaryMarker = ".secret-sync-tmp-"

    public init() {}

    /// What `write` would do, without touching anything.
    public func plan(_ target: FileTarget) throws -> WriteOutcome {
        let (directory, name) = split(target.path)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return .created }
            throw failure(target.path, errno, "cannot open directory \(directory)")
        }
        defer { close(fd) }
        return try compare(target, directory: fd, name: name)
    }

    @discardableResult
    public func write(_ target: FileTarget) throws -> WriteOutcome {
        let (directory, name) = split(target.path)
        let fd = try openDirectory(directory, for: target.path)
        defer { close(fd) }
        let outcome = try compare(target, directory: fd, name: name)
        guard outcome.wrote else { return .unchanged }
        removeStaleTemporaries(directory: fd, name: name)

        let temporary = ".\(name)\(Self.temporaryMarker)\(randomSuffix())"
        let file = openat(fd, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if file < 0 { throw failure(target.path, errno, "cannot create a temporary file in \(directory)") }
        var renamed = false
        defer { if !renamed { unlinkat(fd, temporary, 0) } }
        do {
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
                            "cannot give \(target.path) owner \(target.uid.map(String.init) ?? "-") group \(target.gid.map(String.init) ?? "-"): \(describe(code))",
                        fix: code == EPERM
                            ? "setting another owner needs root (or CAP_CHOWN); run secret-sync as root, or drop owner:/group:" : nil)
                }
            }
            guard fchmod(file, mode_t(target.mode)) == 0 else { throw failure(target.path, errno, "cannot set the mode of \(target.path)") }
        }
        guard renameat(fd, temporary, fd, name) == 0 else {
            throw failure(target.path, errno, "cannot move the new \(target.path) into place")
        }
        renamed = true
        guard fsync(fd) == 0 else { throw failure(target.path, errno, "cannot flush directory \(directory) to disk") }
        return outcome
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
        let content = try readExisting(directory: fd, name: name, size: Int(info.st_size), path: target.path)
        if content != target.bytes { return .updated }
        let metadataMatches =
            info.st_mode & 0o7777 == mode_t(target.mode) && target.uid.map { info.st_uid == uid_t($0) } ?? true
            && target.gid.map { info.st_gid == gid_t($0) } ?? true
        return metadataMatches ? .unchanged : .repaired
    }

    func readExisting(directory fd: Int32, name: String, size: Int, path: String) throws -> [UInt8]? {
        let file = openat(fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        if file < 0 { throw failure(path, errno, "cannot read the current \(path)") }
        defer { close(file) }
        var content = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, errno, "cannot read the current \(path)")
            }
            if count == 0 { break }
            content.append(contentsOf: buffer[0..<count])
            if content.count > max(size, 0) + (1 << 20) { break }  // it grew under us: it differs
        }
        return content
    }

    /// Opens the destination directory, creating missing parents (mode 0755), one component at a
    /// time with `O_NOFOLLOW`, so that no directory along the way can be swapped for a symlink
    /// between our checks. A symlink is followed only where other users could not have planted it:
    /// in a directory that is not writable by its group or others (or has the sticky bit and the
    /// link belongs to root or to us). `/var/run -> /run` passes; a link in a shared directory does not.
    func openDirectory(_ directory: String, for path: String) throws -> Int32 {
        var pending = directory.split(separator: "/").map(String.init)
        var current = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if current < 0 { throw failure(path, errno, "cannot open /") }
        var walked = ""
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT {
                if mkdirat(current, component, 0o755) != 0, errno != EEXIST {
                    let code = errno
                    close(current)
                    throw failure(path, code, "cannot create directory \(walked)/\(component)")
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0, errno == ELOOP || errno == ENOTDIR {
                var link = stat()
                guard fstatat(current, component, &link, AT_SYMLINK_NOFOLLOW) == 0, link.st_mode & S_IFMT == S_IFLNK else {
                    let code = errno
                    close(current)
                    throw failure(path, code == 0 ? ENOTDIR : code, "\(walked)/\(component) is not a directory")
                }
                var parent = stat()
                fstat(current, &parent)
                let sharedParent = parent.st_mode & 0o022 != 0
                let stickyAndTrusted = parent.st_mode & S_ISVTX != 0 && (link.st_uid == 0 || link.st_uid == geteuid())
                guard !sharedParent || stickyAndTrusted, hops < 40 else {
                    close(current)
                    throw FileWriteError(
                        path: path, errno: ELOOP,
                        message:
                            "refusing to write \(path): \(walked)/\(component) is a symbolic link in a directory other users can write, which could redirect the file anywhere",
                        fix: "use the real path, or make \(walked.isEmpty ? "/" : walked) writable only by its owner")
                }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlinkat(current, component, &buffer, buffer.count - 1)
                guard length > 0 else {
                    let code = errno
                    close(current)
                    throw failure(path, code, "cannot read the symbolic link \(walked)/\(component)")
                }
                let target = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                hops += 1
                pending = target.split(separator: "/").map(String.init) + pending
                if target.hasPrefix("/") {
                    close(current)
                    current = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                    walked = ""
                }
                continue
            }
            if next < 0 {
                let code = errno
                close(current)
                throw failure(path, code, "cannot open directory \(walked)/\(component)")
            }
            if component == ".." {
                walked = (walked as NSString).deletingLastPathComponent
                walked = walked == "/" ? "" : walked
            } else {
                walked += "/" + component
            }
            close(current)
            current = next
        }
        return current
    }

    /// Temporary files of ours left by a run that was killed before it could rename them.
    func removeStaleTemporaries(directory fd: Int32, name: String) {
        let duplicate = dup(fd)
        guard duplicate >= 0, let stream = fdopendir(duplicate) else { return }
        defer { closedir(stream) }
        let prefix = ".\(name)\(Self.temporaryMarker)"
        var stale = [String]()
        while let entry = readdir(stream) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if entryName.hasPrefix(prefix) { stale.append(entryName) }
        }
        for entryName in stale { unlinkat(fd, entryName, 0) }
    }

    func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure(path, errno, "cannot write \(path)")
            }
            offset += count
        }
    }

    func split(_ path: String) -> (directory: String, name: String) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        return (directory.isEmpty ? "/" : directory, url.lastPathComponent)
    }

    func randomSuffix() -> String {
        (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16).leftPadded(to: 2) }.joined()
    }

    func describe(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }

    func failure(_ path: String, _ code: Int32, _ what: String) -> FileWriteError {
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
