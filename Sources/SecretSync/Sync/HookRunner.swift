import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// How a hook ended.
package struct HookResult: Sendable, Equatable {
    package typealias Ending = ProcessEnding

    package let ending: Ending
    package var succeeded: Bool { ending == .exited(0) }
    package var description: String { ending.description }

    package init(ending: Ending) { self.ending = ending }
}

/// Runs reload hooks. Side effects sit behind this protocol so the reconciler can be driven in tests.
package protocol CommandRunner: Sendable {
    func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult
}

/// Runs a hook through ``ProcessLauncher``: its own process group, stdin from /dev/null, its
/// output on our stderr (stdout stays clean for `--dry-run` plans); at the timeout the whole
/// group gets SIGTERM, then SIGKILL.
package struct ProcessHookRunner: CommandRunner {
    package init() {}

    package func run(_ command: HookCommand, environment: [String: String], timeout: TimeInterval) -> HookResult {
        let outcome = ProcessLauncher.run(command.arguments, environment: environment, output: .toStandardError, deadline: .after(timeout))
        return HookResult(ending: outcome.ending)
    }
}
