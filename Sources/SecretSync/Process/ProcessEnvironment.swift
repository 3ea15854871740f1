#if canImport(Glibc)
    import Glibc
#endif

/// The environment secret-sync was started with, captured before it sets anything of its own
/// (the TSS library's log settings): what hooks, `run`'s application and the AWS settings see.
/// Written once in `main` before any thread starts, read-only afterwards.
package enum ProcessEnvironment {
    nonisolated(unsafe) private static var captured: [String: String]?

    /// Takes the snapshot; call in `main` before anything changes the environment.
    package static func capture() { captured = current() }

    package static var inherited: [String: String] { captured ?? current() }

    /// One variable of the process's environment as it is now (`getenv`).
    package static func value(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// The process's environment as it is now, read from `environ`. An entry without `=` is
    /// skipped; of a name given twice the first counts, as for `getenv`.
    package static func current() -> [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals])
                if variables[name] == nil { variables[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return variables
    }
}
