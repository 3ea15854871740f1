import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Prometheus text-format metrics for node_exporter's textfile collector: no listening port.
/// Written atomically (mode 0644) after each pass, from the state, so it never holds a value.
package enum MetricsFile {
    package static func render(_ state: SyncState, manifest: Manifest) -> String {
        var out = ""
        func metric(_ name: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in samples { out += "\(name)\(labels) \(format(value))\n" }
        }
        if let pass = state.lastPass {
            metric("secret_sync_last_pass_timestamp_seconds", "When the last pass finished.", [("", pass.finished.timeIntervalSince1970)])
            metric(
                "secret_sync_last_pass_duration_seconds", "How long the last pass took.",
                [("", pass.finished.timeIntervalSince(pass.started))])
            metric("secret_sync_last_pass_failures", "Secrets that failed in the last pass.", [("", Double(pass.failures))])
            metric("secret_sync_last_pass_files_written", "Files written by the last pass.", [("", Double(pass.filesWritten))])
            metric(
                "secret_sync_last_pass_files_removed", "Files removed by the last pass (prune: true).",
                [("", Double(pass.filesRemoved ?? 0))])
            metric("secret_sync_last_pass_hooks_run", "Hooks run by the last pass.", [("", Double(pass.hooksRun))])
            metric("secret_sync_last_pass_api_calls", "AWS API calls made by the last pass.", [("", Double(pass.apiCalls))])
        }
        let names = manifest.entries.filter(\.writesFiles).map(\.name)
        metric(
            "secret_sync_secret_last_success_timestamp_seconds", "When each secret was last synced completely (0: never).",
            names.map { (label($0), state.secrets[$0]?.lastSuccess?.timeIntervalSince1970 ?? 0) })
        metric(
            "secret_sync_secret_failing", "1 when the secret's last attempt failed.",
            names.map { (label($0), state.secrets[$0]?.lastError == nil ? 0 : 1) })
        metric(
            "secret_sync_secret_served_by_fallback", "1 when a fallback region served the secret's last success.",
            names.map { (label($0), state.secrets[$0]?.servedBy == nil ? 0 : 1) })
        metric(
            "secret_sync_secret_hooks_pending", "Hooks of the secret that failed and are owed.",
            names.map { (label($0), Double(state.secrets[$0]?.pendingHooks.count ?? 0)) })
        return out
    }

    static func label(_ secret: String) -> String {
        let escaped = secret.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n")
        return "{secret=\"\(escaped)\"}"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : NumberText.fixed(value, 3)
    }

    package static func write(_ state: SyncState, manifest: Manifest, to path: String) throws {
        try AtomicFileWriter().write(FileTarget(path: path, bytes: Array(render(state, manifest: manifest).utf8), mode: 0o644))
    }
}
