import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Durations as the manifest and flags write them: `30s`, `5m`, `1h`, `1h30m`, `2d`.
package enum DurationParser {
    /// A duration as written, and whether it can be used.
    package enum Parsed: Equatable, Sendable {
        case valid(TimeInterval)
        /// Not a duration at all (a bare number, an unknown unit).
        case malformed
        /// A duration outside the range that the setting allows.
        case outOfRange
    }

    /// The largest duration anything here accepts (every setting has its own, smaller range).
    static let ceiling: TimeInterval = 366 * 86400

    /// nil for anything else, including a bare number (its unit would be a guess). `ms` is allowed.
    package static func parse(_ text: String) -> TimeInterval? {
        if case .valid(let seconds) = parse(text, within: 0.001...ceiling) { return seconds }
        return nil
    }

    /// `text` read and range-checked before any conversion, so no number written in a manifest
    /// or a flag can overflow what uses it. `ms` only where `milliseconds` allows it.
    package static func parse(_ text: String, within range: ClosedRange<TimeInterval>, milliseconds: Bool = true) -> Parsed {
        var units: [String: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if milliseconds { units["ms"] = 0.001 }
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return .malformed }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty else { return .malformed }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            guard let scale = units[String(unit)] else { return .malformed }
            rest = rest.dropFirst(unit.count)
            // Long digit strings are out of range, not converted (Double would round them).
            guard digits.count <= 12, let amount = Double(digits) else { return .outOfRange }
            total += amount * scale
        }
        guard total > 0 else { return .malformed }
        return range.contains(total) ? .valid(total) : .outOfRange
    }

    /// `1s to 1d`, for messages.
    package static func describe(_ range: ClosedRange<TimeInterval>) -> String {
        "\(DurationText.describe(range.lowerBound)) to \(DurationText.describe(range.upperBound))"
    }
}

/// Human-readable durations for messages, rounded to the precision shown: `2h`, `1h 5m`, `3d 4h`, `45s`.
enum DurationText {
    static func describe(_ interval: TimeInterval) -> String {
        let total = abs(interval)
        func pair(_ unit: Double, _ big: String, _ small: String, _ per: Int) -> String {
            let count = Int((total / unit).rounded())
            let (major, minor) = (count / per, count % per)
            return minor == 0 ? "\(major)\(big)" : "\(major)\(big) \(minor)\(small)"
        }
        if total >= 86400 { return pair(3600, "d", "h", 24) }
        if total >= 3600 { return pair(60, "h", "m", 60) }
        if total >= 60 { return pair(1, "m", "s", 60) }
        return "\(Int(total.rounded()))s"
    }
}
