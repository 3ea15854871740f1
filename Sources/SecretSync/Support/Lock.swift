#if canImport(Glibc)
    import Glibc
#endif

/// A mutex with a condition variable, the one lock primitive of the library (pthreads, so the
/// library needs nothing of Foundation's threading). `wait` releases the lock while it waits.
package final class Lock: @unchecked Sendable {
    // @unchecked Sendable: the pthread objects are what makes the callers' state safe to share.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)  // timed waits follow the monotonic clock
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    // Safe: this object owns both pthread objects, and nothing can wait on them once it is gone.
    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }

    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// With the lock held: waits for `broadcast`, or until `seconds` pass when given.
    func wait(seconds: Double? = nil) {
        guard let seconds else {
            pthread_cond_wait(condition, mutex)
            return
        }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + max(0, seconds)
        var until = timespec(tv_sec: Int(total), tv_nsec: Int((total - total.rounded(.down)) * 1e9))
        pthread_cond_timedwait(condition, mutex, &until)
    }

    /// Wakes every waiter.
    func broadcast() { pthread_cond_broadcast(condition) }
}

/// Threads for work that waits on the network (not the CPU): detached pthreads running a closure.
package enum Threads {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    package static func detach(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { argument in
                // Safe: the box was retained for exactly this thread, which releases it.
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        if started == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<Box>.fromOpaque(box).release()
            body()  // no thread could be made: do the work here
        }
    }

    /// Sleeps this thread for `seconds`.
    package static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        var interval = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&interval, &remaining) != 0, errno == EINTR { interval = remaining }
    }
}

/// Fixed-point and zero-padded number text without `String(format:)`.
enum NumberText {
    /// `value` with `digits` decimals: `fixed(1.234, 2)` is `"1.23"`.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "+Inf" : "-Inf") }
        // Beyond 2^53 a Double has no fraction to show (and Int64 would overflow past 9.2e18).
        guard abs(value) < 9_007_199_254_740_992 else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled - Double(whole) * scale)
        let sign = value < 0 && scaled != 0 ? "-" : ""
        guard digits > 0 else { return "\(sign)\(whole)" }
        return "\(sign)\(whole)." + String(fraction).leftPadded(to: digits)
    }

    /// `padded(7, 2)` is `"07"`.
    static func padded(_ value: Int, _ width: Int) -> String { String(value).leftPadded(to: width) }

    /// `%XX` percent-encoding of each byte, lower-case hex.
    static func percentEncoded(_ bytes: [UInt8]) -> String {
        bytes.map { "%" + String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
