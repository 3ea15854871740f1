/// A point in time on the monotonic clock: `once --timeout`, hook timeouts and the daemon's
/// schedule are measured with it, so a step of the wall clock (NTP, an operator's `date -s`)
/// neither stretches nor cuts them.
package struct Deadline: Sendable, Comparable {
    let instant: ContinuousClock.Instant

    package static func now() -> Deadline { Deadline(instant: .now) }

    /// `seconds` from now. Durations are range-checked where they are read (at most 30 days).
    package static func after(_ seconds: Double) -> Deadline {
        Deadline(instant: .now.advanced(by: .milliseconds(Int64((max(0, seconds) * 1000).rounded()))))
    }

    /// Seconds left (negative once passed).
    package var remaining: Double {
        let components = (instant - .now).components
        return Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    package var hasPassed: Bool { remaining <= 0 }

    package static func < (a: Deadline, b: Deadline) -> Bool { a.instant < b.instant }
}
