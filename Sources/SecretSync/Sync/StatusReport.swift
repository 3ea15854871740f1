import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// `secret-sync status`: each secret's and parameter's state, judged for monitoring.
package struct StatusReport: Sendable {
    package struct Entry: Sendable, Codable {
        package let name: String
        /// `secret` or `parameter` in the document.
        package let service: AWSService
        /// The secret's or parameter's id as the manifest gives it.
        package let secretId: String
        package let versionId: String?
        package let lastSuccess: Date?
        package let lastAttempt: Date?
        package let lastError: String?
        package let pendingHooks: [String]
        package let lastHookError: String?
        /// The fallback region that served the last success (nil: the entry's own region).
        package let servedBy: String?
        package let health: Health

        enum CodingKeys: String, CodingKey {
            case name
            case service = "kind"
            case secretId, versionId, lastSuccess, lastAttempt, lastError, pendingHooks, lastHookError, servedBy, health
        }

        /// One shape for every entry: a field that does not apply is null, never missing.
        package func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(service, forKey: .service)
            try container.encode(secretId, forKey: .secretId)
            try container.encode(versionId, forKey: .versionId)
            try container.encode(lastSuccess, forKey: .lastSuccess)
            try container.encode(lastAttempt, forKey: .lastAttempt)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(pendingHooks, forKey: .pendingHooks)
            try container.encode(lastHookError, forKey: .lastHookError)
            try container.encode(servedBy, forKey: .servedBy)
            try container.encode(health, forKey: .health)
        }
    }

    /// The version of `status --json`'s document: raised when a field changes meaning or goes.
    package static let jsonFormatVersion = 1

    /// How one secret stands, for people and for monitoring.
    package enum Health: String, Sendable, Codable {
        case ok
        case failing
        case stale
        case neverSynced = "never-synced"
        case hookFailing = "hook-failing"
    }

    package let entries: [Entry]
    package let lastPass: SyncState.PassRecord?
    package let maxAge: TimeInterval

    package var healthy: Bool { entries.allSatisfy { $0.health == .ok } }

    package init(manifest: Manifest, state: SyncState, now: Date = Date(), maxAge: TimeInterval? = nil) {
        // Every pass records itself, so three missed intervals (at least 15 minutes) are stale.
        let maxAge = maxAge ?? max(3 * manifest.interval, 15 * 60)
        self.maxAge = maxAge
        lastPass = state.lastPass
        entries = manifest.entries.filter(\.writesFiles).map { secret in
            let saved = state.secrets[secret.name]
            let health: Health
            if saved?.lastError != nil {
                health = .failing
            } else if !(saved?.pendingHooks.isEmpty ?? true) {
                health = .hookFailing
            } else if let success = saved?.lastSuccess {
                health = now.timeIntervalSince(success) > maxAge ? .stale : .ok
            } else {
                health = .neverSynced
            }
            return Entry(
                name: secret.name, service: secret.source.service, secretId: secret.source.id, versionId: saved?.versionId,
                lastSuccess: saved?.lastSuccess,
                lastAttempt: saved?.lastAttempt, lastError: saved?.lastError, pendingHooks: saved?.pendingHooks.map(\.description) ?? [],
                lastHookError: saved?.lastHookError, servedBy: saved?.servedBy, health: health)
        }
    }

    package func text(now: Date = Date()) -> String {
        var lines = [String]()
        if let pass = lastPass {
            lines.append(
                "last pass: \(UTCTime.rfc3339(pass.finished)) (\(DurationText.describe(now.timeIntervalSince(pass.finished))) ago), \(pass.secrets) secrets, \(pass.failures) failed, \(pass.filesWritten) files written, \((pass.filesRemoved ?? 0) > 0 ? "\(pass.filesRemoved ?? 0) removed, " : "")\(pass.hooksRun) hooks, \(pass.apiCalls) API calls"
            )
        } else {
            lines.append("no pass has run yet")
        }
        for entry in entries {
            lines.append(
                "\(entry.name) [\(entry.health.rawValue)]: \(entry.service == .parameterStore ? "parameter " : "")\(entry.secretId)")
            lines.append("  version: \(entry.versionId ?? "none yet")")
            lines.append(
                "  last success: \(entry.lastSuccess.map { "\(UTCTime.rfc3339($0)) (\(DurationText.describe(now.timeIntervalSince($0))) ago)" } ?? "never")"
            )
            if let region = entry.servedBy {
                lines.append("  served by: \(region) (a fallback region; its own region could not be reached)")
            }
            if let error = entry.lastError { lines.append("  last error: \(error)") }
            if !entry.pendingHooks.isEmpty { lines.append("  hooks owed: \(entry.pendingHooks.joined(separator: "; "))") }
            if let error = entry.lastHookError { lines.append("  last hook error: \(error)") }
        }
        // One line each: text from the network (an error, a version ID) cannot start a line of its own.
        return lines.map(\.escapingControlCharacters).joined(separator: "\n") + "\n"
    }

    package func json() throws -> String {
        struct Document: Encodable {
            let formatVersion = StatusReport.jsonFormatVersion
            let healthy: Bool
            let maxAgeSeconds: Int
            let lastPass: SyncState.PassRecord?
            let secrets: [Entry]

            enum CodingKeys: String, CodingKey { case formatVersion, healthy, maxAgeSeconds, lastPass, secrets }

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(formatVersion, forKey: .formatVersion)
                try container.encode(healthy, forKey: .healthy)
                try container.encode(maxAgeSeconds, forKey: .maxAgeSeconds)
                try container.encode(lastPass, forKey: .lastPass)  // null before the first pass
                try container.encode(secrets, forKey: .secrets)
            }
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Document(healthy: healthy, maxAgeSeconds: Int(maxAge), lastPass: lastPass, secrets: entries))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
