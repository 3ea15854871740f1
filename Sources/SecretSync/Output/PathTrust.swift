import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The one judgement of whether secret-sync may rely on a file or directory: whoever owns or may
/// write it decides what secret-sync reads there, and so what it does as root. Made on opened
/// descriptors (`fstat`), never on names, so nothing can be swapped between the judgement and
/// the use.
///
/// Trusted owners are root and the user secret-sync runs as. A directory on the way to the path
/// may be writable by others only with the sticky bit (`/tmp`: nobody can rename or remove what
/// is not theirs there); the directory that holds the file, and the file itself, not at all —
/// as sshd's StrictModes.
public enum PathTrust {
    /// Where a path stands in the judgement.
    public enum Standing: Sendable {
        /// A directory above the one that holds what is used.
        case passage
        /// The directory that holds it, or the file itself.
        case holder
    }

    /// What a judged path is used for, for the refusal: its role and what its owner could do.
    public struct Use: Sendable {
        /// "state directory", "manifest", ...
        public let role: String
        /// What whoever controls it could do ("forge the state that decides ...").
        public let risk: String
        /// The fix when the path is refused, given the refused path.
        public let fix: @Sendable (String) -> String

        /// The state directory and its files: they decide what prune removes and which hooks run.
        public static func state(_ role: String) -> Use {
            Use(
                role: role, risk: "forge the state that decides which files prune removes and which hooks run",
                fix: { path in
                    "chown root:root \(path) && chmod go-w \(path), or set state_dir: to a directory only root controls"
                })
        }
    }

    static func isTrustedOwner(_ uid: uid_t) -> Bool { uid == 0 || uid == geteuid() }

    /// Why `info` cannot be trusted where it stands, or nil when it can.
    public static func distrust(_ info: stat, as standing: Standing) -> String? {
        if !isTrustedOwner(info.st_uid) { return "owned by \(SystemAccounts.userName(info.st_uid))" }
        guard info.st_mode & 0o022 != 0 else { return nil }
        if standing == .passage, info.st_mode & S_IFMT == S_IFDIR, info.st_mode & S_ISVTX != 0 { return nil }
        return "writable by other users"
    }

    /// Judges the open descriptor `fd`, reached as `path`; throws the refusal for `use` of `subject`.
    static func judge(_ fd: Int32, path: String, as standing: Standing, for use: Use, subject: String) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw UntrustedPathError(use: use, subject: subject, path: path, reason: "cannot be examined (\(String(cString: strerror(errno))))")
        }
        if let reason = distrust(info, as: standing) {
            throw UntrustedPathError(use: use, subject: subject, path: path, reason: reason)
        }
    }
}

/// A path refused by ``PathTrust``: it, or a directory above it, is another user's to change.
public struct UntrustedPathError: DiagnosticError {
    public let use: PathTrust.Use
    /// What was to be used (the state directory, the manifest).
    public let subject: String
    /// The path judged: the subject itself or a directory above it.
    public let path: String
    public let reason: String

    public var message: String {
        if path == subject {
            return "\(use.role) \(subject) is \(reason), who could \(use.risk); refusing it"
        }
        return "\(use.role) \(subject) is below \(path), which is \(reason), who could \(use.risk); refusing it"
    }
    public var fix: String? { use.fix(path) }
    public var errorCode: String? { "UntrustedPath" }
}
