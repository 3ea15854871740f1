import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// An error reading one of the local files secret-sync depends on (certificate, key, chain).
package struct LocalFileError: DiagnosticError {
    /// What the file is for, e.g. "private key".
    package let role: String
    package let path: String
    package let errno: Int32
    package let message: String
    package let fix: String?
    /// A manifest that cannot be read is a configuration error (exit 2), like an invalid one.
    package var isUsageError: Bool { role == "manifest" }
    package var errorCode: String? { ErrnoName.of(errno) }
}

/// Reads small local files with errors that name the file, its owner and mode, and who we run as.
package enum LocalFile {
    /// The largest file read whole (certificates, keys, chains and manifests are far smaller).
    package static let sizeLimit = 1 << 20

    /// Reads `path` completely. `role` names the file in errors ("certificate", "private key").
    ///
    /// The path is reached by ``PathWalker``, so a symlink is followed only where no other user
    /// could have planted it (a template or key swapped for a link to /etc/shadow is refused),
    /// and only a regular file is read (a FIFO would block the pass forever).
    ///
    /// With `trust`, the file and every directory above it are judged by ``PathTrust`` on the
    /// descriptors opened, and an ``UntrustedPathError`` thrown for one another user controls.
    package static func read(_ path: String, role: String, limit: Int = sizeLimit, trust: PathTrust.Use? = nil) throws -> Data {
        try readWithOwner(path, role: role, limit: limit, trust: trust).data
    }

    /// ``read(_:role:limit:)``, with the owner and mode of the very file that was read (from the
    /// descriptor, not the name, so a swap between reading and checking cannot fool a caller).
    package static func readWithOwner(_ path: String, role: String, limit: Int = sizeLimit, trust: PathTrust.Use? = nil) throws -> (
        data: Data, owner: uid_t, mode: mode_t
    ) {
        let absolute = path.hasPrefix("/") ? path : currentDirectory() + "/" + path
        let fd: Int32
        do {
            fd = try PathWalker(judgingFor: trust).openFile(absolute)
        } catch let refused as FileWriteError {
            throw LocalFileError(
                role: role, path: path, errno: refused.errno,
                message: "cannot read \(role) \(path): " + refused.message.replacing("refusing \(absolute): ", with: ""),
                fix: refused.fix)
        }
        if fd < 0 { throw error(role: role, path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw LocalFileError(
                role: role, path: path, errno: EISDIR,
                message: "cannot read \(role) \(path): it is a directory",
                fix: "give the path of the \(role) file itself")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw LocalFileError(
                role: role, path: path, errno: EINVAL,
                message: "cannot read \(role) \(path): it is not a regular file", fix: "give the path of the \(role) file itself")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16384)
        // Keys, PINs and auth values pass through here: leave no copy behind in the scratch buffer.
        defer { Wipe.bytes(&buffer) }
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw error(role: role, path: path, errno: errno)
            }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
            if data.count > limit {
                throw LocalFileError(
                    role: role, path: path, errno: EFBIG,
                    message: "cannot read \(role) \(path): larger than \(limit) bytes",
                    fix: "check that the path names the \(role) and not some other file")
            }
        }
        return (data, info.st_uid, info.st_mode)
    }

    static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func error(role: String, path: String, errno code: Int32) -> LocalFileError {
        let reason = String(cString: strerror(code)).lowercased()
        switch code {
        case EACCES, EPERM:
            let owner = ownerDescription(of: path)
            let user = currentUserDescription()
            return LocalFileError(
                role: role, path: path, errno: code,
                message: "cannot read \(role) \(path): permission denied (\(owner); secret-sync runs as \(user))",
                fix: "run secret-sync as a user that can read it, or let this user read it: "
                    + "e.g. `chgrp GROUP \(path) && chmod 0640 \(path)` with this user in GROUP; "
                    + "every directory above it must be searchable (x) too")
        case ENOENT:
            return LocalFileError(
                role: role, path: path, errno: code,
                message: "cannot read \(role) \(path): no such file",
                fix: "check the path; relative paths are taken from the current directory")
        case ENOTDIR:
            return LocalFileError(
                role: role, path: path, errno: code,
                message: "cannot read \(role) \(path): a component of the path is not a directory",
                fix: "check the path")
        default:
            return LocalFileError(
                role: role, path: path, errno: code,
                message: "cannot read \(role) \(path): \(reason)", fix: nil)
        }
    }

    /// `owner root:root, mode 0600`, or what could be learnt when even `stat` fails.
    static func ownerDescription(of path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let parent = path.contains("/") ? PathWalker.split(path).directory : ""
            return "its directory \(parent.isEmpty ? "." : parent) cannot be searched"
        }
        let mode = String(info.st_mode & 0o7777, radix: 8).leftPadded(to: 4)
        return "file is \(SystemAccounts.userName(info.st_uid)):\(SystemAccounts.groupName(info.st_gid)) mode \(mode)"
    }

    static func currentUserDescription() -> String {
        let uid = geteuid()
        let gid = getegid()
        return "\(SystemAccounts.userName(uid)) (uid \(uid), gid \(gid))"
    }
}
