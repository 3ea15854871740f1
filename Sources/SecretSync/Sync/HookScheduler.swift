/// Which hooks a pass runs, and for which secrets: once per distinct command, in manifest order,
/// for secrets that changed this pass (and succeeded) or that still owe the hook from a failed run.
/// Pure, so it is unit-tested without processes.
package enum HookScheduler {
    package struct Run: Equatable, Sendable {
        package let command: HookCommand
        package let secrets: [String]
    }

    package static func schedule(
        _ secrets: [ManifestEntry], succeeded: Set<String>, changed: Set<String>, owed: [String: [HookCommand]]
    ) -> [Run] {
        var order = [HookCommand]()
        var triggeredBy = [HookCommand: [String]]()
        for secret in secrets {
            let owedHere = Set(owed[secret.name] ?? [])
            let due = succeeded.contains(secret.name) && changed.contains(secret.name)
            for hook in secret.onChange where due || owedHere.contains(hook) {
                if triggeredBy[hook] == nil { order.append(hook) }
                triggeredBy[hook, default: []].append(secret.name)
            }
        }
        // Safe: every hook in `order` was entered in `triggeredBy`.
        return order.map { Run(command: $0, secrets: triggeredBy[$0]!) }
    }
}
