import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An open directory, closed when the last reference goes.
package final class DirectoryHandle: @unchecked Sendable {
    // @unchecked Sendable: the descriptor is immutable and only used in syscalls.
    let fd: Int32
    /// The path it was reached by, for messages.
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    // Safe: this object owns the descriptor and nothing else closes it.
    deinit { close(fd) }
}

/// Walks a path from `/` one component at a time with `O_NOFOLLOW`, so no directory along the way
/// can be swapped for a symlink between a check and its use, and follows a symlink only where no
/// other user could have planted it: in a directory owned by root or by secret-sync's own user
/// that nobody else may write to (or that has the sticky bit, when the link is root's or ours).
/// `/var/run -> /run` passes; a link in a directory another user owns or may write does not.
///
/// The one way secret-sync reaches the files it writes and the local files it reads as root.
package struct PathWalker: Sendable {
    /// Mode of directories `open(_:creating:)` creates, whatever the umask.
    static let createdDirectoryMode: mode_t = 0o755

    /// When set, every directory on the way is judged by ``PathTrust`` (as a passage) and the
    /// walk refused for this use at the first one another user controls.
    let trust: PathTrust.Use?

    package init(judgingFor trust: PathTrust.Use? = nil) { self.trust = trust }

    /// The directory at `directory`, or nil when a component is missing and `creating` is false.
    /// `creating` makes missing components, mode 0755 exactly. `subject` names the file in errors.
    func open(_ directory: String, creating: Bool, for subject: String) throws -> DirectoryHandle? {
        var pending = directory.split(separator: "/").map(String.init)
        var current = DirectoryHandle(fd: Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), path: "")
        if current.fd < 0 { throw failure(subject, errno, "cannot open /") }
        try judge(current, for: subject)
        var hops = 0
        while !pending.isEmpty {
            let component = pending.removeFirst()
            if component == "." || component.isEmpty { continue }
            var next = openat(current.fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT {
                guard creating else { return nil }
                next = try makeDirectory(component, in: current, for: subject)
            }
            if next < 0, errno == ELOOP || errno == ENOTDIR {
                let target = try followableLink(component, in: current, for: subject, hops: hops)
                hops += 1
                pending = target.split(separator: "/").map(String.init) + pending
                if target.hasPrefix("/") { current = DirectoryHandle(fd: Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), path: "") }
                continue
            }
            if next < 0 { throw failure(subject, errno, "cannot open directory \(current.path)/\(component)") }
            current = DirectoryHandle(fd: next, path: component == ".." ? parent(of: current.path) : current.path + "/" + component)
            try judge(current, for: subject)
        }
        return current
    }

    private func judge(_ directory: DirectoryHandle, for subject: String) throws {
        guard let trust else { return }
        try PathTrust.judge(directory.fd, path: directory.path.isEmpty ? "/" : directory.path, as: .passage, for: trust, subject: subject)
    }

    /// Opens the regular file `name` in `directory` for reading, following a final symlink under
    /// the same rule as directories; never blocks on a FIFO or a device.
    func openFile(_ path: String) throws -> Int32 {
        var path = path
        for _ in 0..<40 {
            let (directoryPath, name) = Self.split(path)
            guard let directory = try open(directoryPath, creating: false, for: path) else {
                errno = ENOENT
                return -1
            }
            let fd = openat(directory.fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            if fd < 0, errno == ELOOP {
                let target = try followableLink(name, in: directory, for: path, hops: 0)
                path = target.hasPrefix("/") ? target : "\(directory.path)/\(target)"
                continue
            }
            if let trust, fd >= 0 {
                // The directory holding the file, and the file, may be written by nobody else.
                do {
                    try PathTrust.judge(directory.fd, path: directoryPath, as: .holder, for: trust, subject: path)
                    try PathTrust.judge(fd, path: path, as: .holder, for: trust, subject: path)
                } catch {
                    close(fd)
                    throw error
                }
            }
            return fd
        }
        errno = ELOOP
        return -1
    }

    /// Creates `component` (0755 whatever the umask) and opens it.
    private func makeDirectory(_ component: String, in parent: DirectoryHandle, for subject: String) throws -> Int32 {
        let made = mkdirat(parent.fd, component, Self.createdDirectoryMode) == 0
        if !made, errno != EEXIST {
            throw failure(subject, errno, "cannot create directory \(parent.path)/\(component)")
        }
        let fd = openat(parent.fd, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        // Only a directory this call made gets its mode corrected (the umask narrowed it); one
        // that someone else created meanwhile keeps theirs.
        var info = stat()
        if made, fd >= 0, fstat(fd, &info) == 0, info.st_mode & 0o7777 != Self.createdDirectoryMode {
            _ = fchmod(fd, Self.createdDirectoryMode)
        }
        return fd
    }

    /// The target of the symlink `name` in `directory`, if it may be followed; throws otherwise.
    private func followableLink(_ name: String, in directory: DirectoryHandle, for subject: String, hops: Int) throws -> String {
        let shown = "\(directory.path)/\(name)"
        var link = stat()
        guard fstatat(directory.fd, name, &link, AT_SYMLINK_NOFOLLOW) == 0, link.st_mode & S_IFMT == S_IFLNK else {
            throw failure(subject, ENOTDIR, "\(shown) is not a directory")
        }
        var holder = stat()
        fstat(directory.fd, &holder)
        if let reason = Self.untrustedReason(holder, linkOwner: link.st_uid) {
            throw FileWriteError(
                path: subject, errno: ELOOP,
                message:
                    "refusing \(subject): \(shown) is a symbolic link in a directory \(reason), who could point it anywhere",
                fix: "use the real path, or make \(directory.path.isEmpty ? "/" : directory.path) owned by root and writable only by it")
        }
        guard hops < 40 else { throw failure(subject, ELOOP, "too many symbolic links under \(shown)") }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlinkat(directory.fd, name, &buffer, buffer.count - 1)
        guard length > 0 else { throw failure(subject, errno, "cannot read the symbolic link \(shown)") }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Why a directory cannot be trusted to hold links (or files) for root, or nil when it can:
    /// it must belong to root or to us, and be writable by nobody else — unless it has the sticky
    /// bit and the link belongs to root or to us (`/tmp`).
    static func untrustedReason(_ directory: stat, linkOwner: uid_t? = nil) -> String? {
        guard let reason = PathTrust.distrust(directory, as: .passage) else {
            // A sticky directory writable by others holds only the links of their owners.
            guard PathTrust.otherWriters(directory) != nil, let linkOwner, !PathTrust.isTrustedOwner(linkOwner) else { return nil }
            return "with the sticky bit, where the link belongs to \(SystemAccounts.userName(linkOwner))"
        }
        return reason
    }

    /// Existing directories among `directories` and their parents that other users own or may
    /// write to, with the reason; they could replace or redirect the files secret-sync writes there.
    package static func untrustedDirectories(_ directories: [String]) -> [(directory: String, reason: String)] {
        var seen = Set<String>()
        var result = [(directory: String, reason: String)]()
        for destination in directories {
            var directory = destination
            var chain = [String]()
            while true {
                chain.append(directory)
                if directory == "/" { break }
                directory = split(directory).directory
            }
            for directory in chain.reversed() where seen.insert(directory).inserted {
                var info = stat()
                guard lstat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                if let reason = untrustedReason(info) { result.append((directory, reason)) }
            }
        }
        return result
    }

    /// `/a/b/c` → (`/a/b`, `c`); `/c` → (`/`, `c`).
    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    private func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    func failure(_ path: String, _ code: Int32, _ what: String) -> FileWriteError {
        FileWriteError.from(path, code, what)
    }
}
