import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Signals taken from their default action and delivered to a handler on a queue of their own
/// (the daemon's stop and reload, the supervisor's forwarding): nothing runs in signal context.
/// Routing lasts as long as this value.
final class SignalRoute: @unchecked Sendable {
    // @unchecked Sendable: `sources` is set once in `init` and never changed.
    private let sources: [any DispatchSourceSignal]

    init(_ numbers: [Int32], label: String, handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: label)
        sources = numbers.map { number in
            // Delivered through the dispatch source instead. SIGCHLD keeps its default action,
            // which ignores it too: SIG_IGN would make the kernel reap children itself, and a
            // child's exit status would be lost.
            if number != SIGCHLD { signal(number, SIG_IGN) }
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }
}
