import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Finds a command the way a POSIX shell does: a name with a `/` is used as given, anything else
/// is searched in `PATH`. Errors carry the shell's conventional exit statuses (127, 126).
package enum CommandLocator {
    package struct Failure: DiagnosticError {
        package let message: String
        package let fix: String?
        /// 127: not found; 126: found but not executable.
        package let exitStatus: Int32

        package init(message: String, fix: String?, exitStatus: Int32) {
            self.message = message
            self.fix = fix
            self.exitStatus = exitStatus
        }
    }

    package static func locate(_ command: String, path: String?) throws -> String {
        if command.contains("/") {
            try check(command, as: command)
            return command
        }
        let directories = (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":", omittingEmptySubsequences: false)
        var notExecutable: String?
        for directory in directories {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + command
            var info = stat()
            guard stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            if access(candidate, X_OK) == 0 { return candidate }
            notExecutable = notExecutable ?? candidate
        }
        if let notExecutable {
            throw Failure(message: "\(command): \(notExecutable) is not executable", fix: "chmod +x \(notExecutable)", exitStatus: 126)
        }
        throw Failure(
            message: "\(command): command not found in PATH (\(path ?? "unset"))", fix: "give the full path, or fix PATH", exitStatus: 127)
    }

    static func check(_ path: String, as command: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw Failure(message: "\(command): no such file", fix: "check the path", exitStatus: 127)
        }
        guard info.st_mode & S_IFMT == S_IFREG, access(path, X_OK) == 0 else {
            throw Failure(message: "\(command): not an executable file", fix: "chmod +x \(path), or name the program", exitStatus: 126)
        }
    }
}
