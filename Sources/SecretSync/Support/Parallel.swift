import Dispatch
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `count` jobs on up to `width` threads and returns their results in order.
///
/// The jobs wait on the network, not the CPU, so these are plain threads: a dispatch
/// `concurrentPerform` would run no more of them at once than there are cores.
enum Parallel {
    static func map<T: Sendable>(_ count: Int, width: Int, _ job: @escaping @Sendable (Int) -> T) -> [T] {
        guard count > 0 else { return [] }
        let results = ParallelResults<T>(count)
        let counter = AtomicCounter()
        let group = DispatchGroup()
        for _ in 0..<min(width, count) {
            group.enter()
            Threads.detach {
                defer { group.leave() }
                while true {
                    let index = counter.next()
                    guard index < count else { return }
                    let value = job(index)
                    results.lock.lock()
                    results.values[index] = value
                    results.lock.unlock()
                }
            }
        }
        group.wait()
        return results.values.map { $0! }  // safe: group.wait() returns after every index was filled
    }
}

/// Result slots for ``Parallel/map(_:width:_:)``.
final class ParallelResults<T>: @unchecked Sendable {
    // @unchecked Sendable: each slot is written by exactly one job, under the lock.
    var values: [T?]
    let lock = Lock()
    init(_ count: Int) { values = Array(repeating: nil, count: count) }
}
