import Foundation

/// UTC time formats used on the wire. Built on `gmtime_r`/`timegm`, which are thread-safe and
/// independent of the process locale, unlike a shared `DateFormatter`.
enum UTCTime {
    /// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` form.
    static func amzDate(_ date: Date) -> String {
        let t = brokenDown(date)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, whole seconds).
    static func rfc3339(_ date: Date) -> String {
        let t = brokenDown(date)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    /// Parses RFC 3339 / ISO 8601 UTC timestamps such as `2026-01-02T03:04:05Z`, with optional
    /// fractional seconds and a numeric offset.
    static func parseRFC3339(_ text: String) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[from..<from + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard scalars.count >= 20,
            let year = number(0, 4), scalars[4] == 45, let month = number(5, 2), scalars[7] == 45,
            let day = number(8, 2), scalars[10] == 84 || scalars[10] == 116,
            let hour = number(11, 2), scalars[13] == 58, let minute = number(14, 2), scalars[16] == 58,
            let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == 46 {
            index += 1
            var scale = 0.1
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        guard index < scalars.count else { return nil }
        switch scalars[index] {
        case 90, 122: index += 1  // Z
        case 43, 45:  // + or -
            guard let oh = number(index + 1, 2), scalars.count > index + 5, scalars[index + 3] == 58,
                let om = number(index + 4, 2)
            else { return nil }
            offset = (oh * 3600 + om * 60) * (scalars[index] == 43 ? 1 : -1)
            index += 6
        default: return nil
        }
        guard index == scalars.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }

    /// Parses an HTTP `Date` header in IMF-fixdate form, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func parseHTTPDate(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count == 6, fields[5] == "GMT", let day = Int32(fields[1]),
            let month = months.firstIndex(of: String(fields[2])), let year = Int32(fields[3])
        else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { Int32($0) }
        guard clock.count == 3 else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = Int32(month)
        parts.tm_mday = day
        parts.tm_hour = clock[0]
        parts.tm_min = clock[1]
        parts.tm_sec = clock[2]
        return Date(timeIntervalSince1970: Double(timegm(&parts)))
    }

    private struct Fields { var year, month, day, hour, minute, second: Int32 }

    private static func brokenDown(_ date: Date) -> Fields {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return Fields(
            year: parts.tm_year + 1900, month: parts.tm_mon + 1, day: parts.tm_mday,
            hour: parts.tm_hour, minute: parts.tm_min, second: parts.tm_sec)
    }
}

/// Durations as the manifest and flags write them: `30s`, `5m`, `1h`, `1h30m`, `2d`.
public enum DurationParser {
    /// nil for anything else, including a bare number (its unit would be a guess). `ms` is allowed.
    public static func parse(_ text: String) -> TimeInterval? {
        let units: [String: Double] = ["ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400]
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let amount = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            guard let scale = units[String(unit)] else { return nil }
            total += amount * scale
            rest = rest.dropFirst(unit.count)
        }
        return total > 0 ? total : nil
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
