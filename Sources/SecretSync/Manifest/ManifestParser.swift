import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Reads and checks a manifest. Every problem found is reported at once, with its location and
/// a fix; nothing is returned unless the whole manifest is valid.
package struct ManifestParser {
    let accounts: any AccountDirectory
    /// Checks that files the manifest names (certificate, key, template files) exist. Off for
    /// checking examples on a machine that does not have them.
    var checkLocalFiles: Bool
    /// Looks users and groups up on this host. Off for `status`, which only reads the state: a
    /// name it cannot resolve is kept (with no usable id) instead of refused.
    var resolveAccounts: Bool

    package init(accounts: any AccountDirectory = SystemAccounts(), checkLocalFiles: Bool = true, resolveAccounts: Bool = true) {
        self.accounts = accounts
        self.checkLocalFiles = checkLocalFiles
        self.resolveAccounts = resolveAccounts
    }

    /// As root, the manifest must be root's: it says which files are written and which hooks run.
    static var trust: PathTrust.Use? {
        PathTrust.rootConfiguration("manifest", risk: "choose which files secret-sync writes and which hooks it runs as root")
    }

    package func load(path: String) throws -> Manifest {
        let data = try LocalFile.read(path, role: "manifest", trust: Self.trust)
        guard let text = String(validating: data, as: UTF8.self) else {
            throw ManifestError(
                path: path,
                problems: [
                    .init(
                        location: .init(file: path, line: 1, column: 1), message: "the manifest is not UTF-8 text", fix: "save it as UTF-8")
                ])
        }
        return try parse(text, path: path)
    }

    package func parse(_ text: String, path: String) throws -> Manifest {
        var reader = ManifestReader(path: path, accounts: accounts, checkLocalFiles: checkLocalFiles, resolveAccounts: resolveAccounts)
        let root: YAMLNode?
        do {
            root = try YAMLReader.read(text)  // scalars are kept as text: no type is guessed from them
        } catch let error as YAMLError {
            throw ManifestError(path: path, problems: [reader.problem(for: error)])
        }
        guard let root else {
            throw ManifestError(
                path: path,
                problems: [
                    .init(
                        location: .init(file: path, line: 1, column: 1), message: "the manifest is empty",
                        fix: "start with `version: 1`; see examples/")
                ])
        }
        let manifest = reader.manifest(root)
        guard reader.problems.isEmpty, let manifest else {
            throw ManifestError(path: path, problems: reader.problems)
        }
        return manifest
    }
}
