import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The one judgement of whether secret-sync may rely on a file or directory: whoever owns or may
/// write it decides what secret-sync reads there, and so what it does as root. Made on opened
/// descriptors (`fstat`), never on names, so nothing can be swapped between the judgement and
/// the use.
///
/// Trusted owners are root and the user secret-sync runs as; a trusted group is root's (gid 0),
/// and the user's own when not root. A directory on the way to the path
/// may be writable by others only with the sticky bit (`/tmp`: nobody can rename or remove what
/// is not theirs there); the directory that holds the file, and the file itself, not at all —
/// as sshd's StrictModes.
package enum PathTrust {
    /// Where a path stands in the judgement.
    package enum Standing: Sendable {
        /// A directory above the one that holds what is used.
        case passage
        /// The directory that holds it, or the file itself.
        case holder
    }

    /// What a judged path is used for, for the refusal: its role and what its owner could do.
    package struct Use: Sendable {
        /// "state directory", "manifest", ...
        package let role: String
        /// What whoever controls it could do ("forge the state that decides ...").
        package let risk: String
        /// The fix when the path is refused, given the refused path.
        package let fix: @Sendable (String) -> String
        /// A refusal is a configuration error (exit 2), as for the manifest, rather than a
        /// run-time failure (exit 1), as for the state.
        package var isConfiguration = false

        /// The state directory and its files: they decide what prune removes and which hooks run.
        package static func state(_ role: String) -> Use {
            Use(
                role: role, risk: "forge the state that decides which files prune removes and which hooks run",
                fix: { path in
                    "chown root:root \(path) && chmod go-w \(path), or set state_dir: to a directory only root controls"
                })
        }
    }

    /// What root is configured by — the manifest, `template_file`s, PIN and auth files, AWS
    /// profile files: judged only when secret-sync runs as root (another user's own files are
    /// theirs to trust), then refused like sshd's StrictModes when another user owns or may write
    /// them or a directory above them. Nil when not running as root.
    package static func rootConfiguration(_ role: String, risk: String, isConfiguration: Bool = true) -> Use? {
        guard geteuid() == 0 else { return nil }
        return Use(
            role: role, risk: risk,
            fix: { path in "chown root:root \(path) && chmod go-w \(path), or keep the file where only root can change it" },
            isConfiguration: isConfiguration)
    }

    /// What root runs or loads as code — a PKCS#11 module, a hook's program, a profile's
    /// `credential_process`: judged like configuration, since whoever may change it runs their own
    /// code as root. Nil when not running as root.
    package static func rootCode(_ role: String) -> Use? {
        rootConfiguration(role, risk: "run their own code as root, inside secret-sync or as its child")
    }

    /// The refusal of the file at `path` for `use`, or nil when it is trusted or cannot be
    /// opened (whoever reads it reports that).
    package static func refusal(ofFile path: String, for use: Use) -> UntrustedPathError? {
        do {
            let fd = try PathWalker(judgingFor: use).openFile(path)
            if fd >= 0 { close(fd) }
            return nil
        } catch let refusal as UntrustedPathError {
            return refusal
        } catch {
            return nil
        }
    }

    static func isTrustedOwner(_ uid: uid_t) -> Bool { uid == 0 || uid == geteuid() }

    /// Group 0 is root's own, as logrotate holds (a checkout made with umask 002 is `root:root
    /// 0775`); so is our own group when not running as root.
    static func isTrustedGroup(_ gid: gid_t) -> Bool { gid == 0 || (geteuid() != 0 && gid == getegid()) }

    /// Who other than the trusted owners and groups may write `info`, or nil when nobody may.
    static func otherWriters(_ info: stat) -> String? {
        if info.st_mode & 0o002 != 0 { return "writable by other users" }
        if info.st_mode & 0o020 != 0, !isTrustedGroup(info.st_gid) {
            return "writable by the group \(SystemAccounts.groupName(info.st_gid))"
        }
        return nil
    }

    /// `nobody:nogroup 0644`, for refusals: the owner and mode an operator has to change.
    static func ownership(_ info: stat) -> String {
        "\(SystemAccounts.userName(info.st_uid)):\(SystemAccounts.groupName(info.st_gid)) \(String(info.st_mode & 0o7777, radix: 8).leftPadded(to: 4))"
    }

    /// Why `info` cannot be trusted where it stands, or nil when it can.
    package static func distrust(_ info: stat, as standing: Standing) -> String? {
        if !isTrustedOwner(info.st_uid) { return "owned by \(SystemAccounts.userName(info.st_uid))" }
        guard let writers = otherWriters(info) else { return nil }
        if standing == .passage, info.st_mode & S_IFMT == S_IFDIR, info.st_mode & S_ISVTX != 0 { return nil }
        return writers
    }

    /// Judges the open descriptor `fd`, reached as `path`; throws the refusal for `use` of `subject`.
    static func judge(_ fd: Int32, path: String, as standing: Standing, for use: Use, subject: String) throws {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw UntrustedPathError(
                use: use, subject: subject, path: path, reason: "cannot be examined (\(String(cString: strerror(errno))))")
        }
        if let reason = distrust(info, as: standing) {
            throw UntrustedPathError(use: use, subject: subject, path: path, reason: "\(reason) (\(ownership(info)))")
        }
    }
}

/// A path refused by ``PathTrust``: it, or a directory above it, is another user's to change.
package struct UntrustedPathError: DiagnosticError {
    package let use: PathTrust.Use
    /// What was to be used (the state directory, the manifest).
    package let subject: String
    /// The path judged: the subject itself or a directory above it.
    package let path: String
    package let reason: String

    package var message: String {
        if path == subject {
            return "\(use.role) \(subject) is \(reason), who could \(use.risk); refusing it"
        }
        return "\(use.role) \(subject) is below \(path), which is \(reason), who could \(use.risk); refusing it"
    }
    package var fix: String? { use.fix(path) }
    package var isUsageError: Bool { use.isConfiguration }
    package var errorCode: String? { "UntrustedPath" }
}
