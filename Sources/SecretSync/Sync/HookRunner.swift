import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// How a hook ended.
public struct HookResult: Sendable, Equatable {
    public typealias Ending = ProcessEnding

    public let ending: Ending
    public var succeeded: Bool { ending == .exited(0) }
    public var description: String { ending.description }

    public init(ending: Ending) { self.ending = ending }
}

/// Runs reload hooks. Side effects sit behind this protocol so the reconciler can be driven in tests.
public protocol CommandRunner: Sendable {
    func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult
}

/// Runs a hook through ``ProcessLauncher``: its own process group, stdin from /dev/null, its
/// output on our stderr (stdout stays clean for `--dry-run` plans); at the timeout the whole
/// group gets SIGTERM, then SIGKILL.
public struct ProcessHookRunner: CommandRunner {
    public init() {}

    public func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult {
        let outcome = ProcessLauncher.run(command.arguments, environment: environment, output: .toStandardError, deadline: .after(timeout))
        return HookResult(ending: outcome.ending)
    }
}
