import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// UTC time formats used on the wire. Built on `gmtime_r`/`timegm`, which are thread-safe and
/// independent of the process locale, unlike a shared `DateFormatter`.
enum UTCTime {
    /// `YYYYMMDDTHHMMSSZ`, the `X-Amz-Date` form.
    static func amzDate(_ date: Date) -> String {
        let t = brokenDown(date)
        return "\(pad(t.year, 4))\(pad(t.month))\(pad(t.day))T\(pad(t.hour))\(pad(t.minute))\(pad(t.second))Z"
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339, whole seconds).
    static func rfc3339(_ date: Date) -> String {
        let t = brokenDown(date)
        return "\(pad(t.year, 4))-\(pad(t.month))-\(pad(t.day))T\(pad(t.hour)):\(pad(t.minute)):\(pad(t.second))Z"
    }

    /// Parses RFC 3339 timestamps such as `2026-01-02T03:04:05Z`, with optional fractional
    /// seconds and a numeric offset: what AWS services send.
    static func parseRFC3339(_ text: String) -> Date? { parse(text, lenient: false) }

    /// Parses the timestamp forms the AWS SDKs accept from a `credential_process`: RFC 3339 and
    /// ISO 8601 with `T`, `t` or a space between date and time, `Z`, `±HH:MM`, `±HHMM` or `±HH`,
    /// and no zone at all (read as UTC, as botocore does).
    static func parseAWSTimestamp(_ text: String) -> Date? {
        parse(text.trimmedSpaces, lenient: true)
    }

    private static func parse(_ text: String, lenient: Bool) -> Date? {
        let scalars = Array(text.utf8)
        func number(_ from: Int, _ count: Int, _ range: ClosedRange<Int>) -> Int? {
            guard from >= 0, from + count <= scalars.count else { return nil }
            var value = 0
            for byte in scalars[from..<from + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return range.contains(value) ? value : nil
        }
        let separators: [UInt8] = lenient ? [84, 116, 32] : [84, 116]  // T, t (and a space)
        guard scalars.count >= 19,
            let year = number(0, 4, 1...9999), scalars[4] == 45, let month = number(5, 2, 1...12), scalars[7] == 45,
            let day = number(8, 2, 1...31), separators.contains(scalars[10]),
            let hour = number(11, 2, 0...23), scalars[13] == 58, let minute = number(14, 2, 0...59), scalars[16] == 58,
            let second = number(17, 2, 0...60)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < scalars.count, scalars[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                fraction += Double(scalars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if index == scalars.count {
            guard lenient else { return nil }  // no zone: UTC, for the lenient form only
        } else {
            switch scalars[index] {
            case 90, 122: index += 1  // Z or z
            case 43, 45:  // + or -
                let sign = scalars[index] == 43 ? 1 : -1
                guard let hours = number(index + 1, 2, 0...23) else { return nil }
                index += 3
                var minutes = 0
                if index < scalars.count {
                    if scalars[index] == 58 { index += 1 } else if !lenient { return nil }
                    guard let value = number(index, 2, 0...59) else { return nil }
                    minutes = value
                    index += 2
                } else if !lenient {
                    return nil
                }
                offset = (hours * 3600 + minutes * 60) * sign
            default: return nil
            }
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
    /// Every field is range-checked: the header is network input.
    static func parseHTTPDate(_ text: String) -> Date? {
        let fields = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard fields.count == 6, fields[5] == "GMT", fields[1].count <= 2, fields[3].count == 4,
            let day = Int(fields[1]), (1...31).contains(day),
            let month = months.firstIndex(of: String(fields[2])), let year = Int(fields[3]), (1970...9999).contains(year)
        else { return nil }
        let clock = fields[4].split(separator: ":").compactMap { $0.count == 2 ? Int($0) : nil }
        guard clock.count == 3, (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2]) else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(clock[0])
        parts.tm_min = Int32(clock[1])
        parts.tm_sec = Int32(clock[2])
        return Date(timeIntervalSince1970: Double(timegm(&parts)))
    }

    private static func pad(_ value: Int32, _ width: Int = 2) -> String { NumberText.padded(Int(value), width) }

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
