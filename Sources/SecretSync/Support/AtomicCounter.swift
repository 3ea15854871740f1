import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A thread-safe counter.
package final class AtomicCounter: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched while `lock` is held.
    private var value = 0
    private let lock = Lock()

    package init() {}

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        defer { value += 1 }
        return value
    }

    package var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    package func add(_ amount: Int) {
        lock.lock()
        value += amount
        lock.unlock()
    }
}
