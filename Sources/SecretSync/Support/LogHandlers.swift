import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Log line formats for stderr: `text` for people and journald, `json` for log shippers.
package enum LogFormat: String, CaseIterable, Sendable {
    case text
    case json
    /// Text with a `<N>` syslog priority prefix, which journald reads as the line's level.
    case journal
}

/// Writes one line per event to stderr. Never bootstrapped in tests: loggers are passed in.
package struct StderrLogHandler: LogHandler {
    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: LogFormat

    package init(label: String, format: LogFormat, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let level = event.level
        let message = event.message
        let explicit = event.metadata
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let explicit { merged.merge(explicit) { $1 } }
        let text: String
        switch format {
        case .text, .journal:
            let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quoteIfNeeded("\($0.value)"))" }
            text =
                (format == .journal ? "<\(Self.syslogPriority(level))>" : "")
                + ([Self.levelWord(level) + ":", message.description.escapingControlCharacters] + fields).joined(separator: " ")
        case .json:
            var members = [
                "\"time\":\(JSONText.quote(UTCTime.rfc3339(Date())))",
                "\"level\":\(JSONText.quote(level.rawValue))",
                "\"message\":\(JSONText.quote(message.description))",
            ]
            for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
                members.append("\(JSONText.quote(key)):\(JSONText.quote("\(value)"))")
            }
            text = "{" + members.joined(separator: ",") + "}"
        }
        Console.error(text + "\n")
    }

    static func levelWord(_ level: Logger.Level) -> String {
        switch level {
        case .trace: return "trace"
        case .debug: return "debug"
        case .info: return "info"
        case .notice: return "notice"
        case .warning: return "warning"
        case .error: return "error"
        case .critical: return "critical"
        }
    }

    /// sd-daemon(3) priorities: the `<N>` journald strips and keeps as the entry's PRIORITY.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }

    /// A value with spaces, quotes, `=` or control characters is written as a JSON string, so one
    /// event stays one line whatever the value (an AWS error message is network input).
    static func quoteIfNeeded(_ value: String) -> String {
        value.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.value < 0x20 || $0.value == 0x7f })
            ? JSONText.quote(value) : value
    }
}
