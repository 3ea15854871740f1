import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A thread-safe counter.
public final class AtomicCounter: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched while `lock` is held.
    private var value = 0
    private let lock = Lock()

    public init() {}

    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        defer { value += 1 }
        return value
    }

    public var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }

    public func add(_ amount: Int) {
        lock.lock()
        value += amount
        lock.unlock()
    }
}
