import CLinux
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The environment secret-sync was started with, captured before it sets anything of its own
/// (the TSS library's log settings): what hooks, `run`'s application and the AWS settings see.
/// Written once in `main` before any thread starts, read-only afterwards.
public enum ProcessEnvironment {
    nonisolated(unsafe) private static var captured: [String: String]?

    /// Takes the snapshot; call in `main` before anything changes the environment.
    public static func capture() { captured = ProcessInfo.processInfo.environment }

    public static var inherited: [String: String] { captured ?? ProcessInfo.processInfo.environment }
}
