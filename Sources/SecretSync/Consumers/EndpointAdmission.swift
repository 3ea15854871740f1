import FoundationEssentials

/// Who may hold one of the credentials endpoint's connections: at most `total` at once, and at
/// most `perUser` of one local user's (by the uid that owns the client's socket), so that one
/// user's idle or trickling connections cannot starve another user's token holders. A connection
/// whose owner cannot be found counts as one unknown user's.
final class EndpointAdmission: @unchecked Sendable {
    // @unchecked Sendable: `active` and `byUser` are only touched while `lock` is held.
    let total: Int
    let perUser: Int
    private let lock = Lock()
    private var active = 0
    private var byUser: [UInt32?: Int] = [:]

    init(total: Int, perUser: Int) {
        self.total = total
        self.perUser = perUser
    }

    /// Takes one of the `total` places; false when all are held.
    func enter() -> Bool {
        lock.withLock {
            guard active < total else { return false }
            active += 1
            return true
        }
    }

    func leave() { lock.withLock { active -= 1 } }

    /// Takes one of `user`'s places; false when the user holds `perUser` already.
    func enter(user: UInt32?) -> Bool {
        lock.withLock {
            let held = byUser[user, default: 0]
            guard held < perUser else { return false }
            byUser[user] = held + 1
            return true
        }
    }

    func leave(user: UInt32?) {
        lock.withLock {
            let held = byUser[user, default: 1] - 1
            byUser[user] = held > 0 ? held : nil
        }
    }
}

/// Refusals logged at most once per key (a user) every `interval`: a flood of connections must
/// not become a flood of log lines. Each logged line counts those left out since the last one.
final class RefusalThrottle: @unchecked Sendable {
    // @unchecked Sendable: `last` is only touched while `lock` is held.
    let interval: TimeInterval
    private let lock = Lock()
    private var last: [String: (logged: Date, suppressed: Int)] = [:]

    init(interval: TimeInterval) { self.interval = interval }

    /// Whether to log a refusal for `key` now; if so, how many were left out since the last line.
    func admit(_ key: String, now: Date) -> Int? {
        lock.withLock {
            if let previous = last[key], now.timeIntervalSince(previous.logged) < interval {
                last[key] = (previous.logged, previous.suppressed + 1)
                return nil
            }
            let suppressed = last[key]?.suppressed ?? 0
            last[key] = (now, 0)
            if last.count > 1024 { last = last.filter { now.timeIntervalSince($0.value.logged) < interval } }
            return suppressed
        }
    }
}
