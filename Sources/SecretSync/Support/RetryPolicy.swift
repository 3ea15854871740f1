import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The one way AWS calls are retried: at most `maxAttempts` attempts, with a jittered exponential
/// pause between them (a random delay between half and all of `base × 2^(attempt-1)`, capped).
/// The pause and the randomness are injected, so tests run without sleeping.
package struct RetryPolicy: Sendable {
    package let maxAttempts: Int
    let base: TimeInterval
    let cap: TimeInterval
    let sleep: @Sendable (TimeInterval) -> Void
    let random: @Sendable (ClosedRange<Double>) -> Double

    package init(
        maxAttempts: Int, base: TimeInterval = 0.2, cap: TimeInterval = 5,
        sleep: @escaping @Sendable (TimeInterval) -> Void = { Threads.sleep($0) },
        random: @escaping @Sendable (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.base = base
        self.cap = cap
        self.sleep = sleep
        self.random = random
    }

    /// The same policy with `attempts` attempts at most.
    package func attempts(_ attempts: Int) -> RetryPolicy {
        RetryPolicy(maxAttempts: attempts, base: base, cap: cap, sleep: sleep, random: random)
    }

    /// The pause after failed attempt `attempt` (1-based).
    package func delay(after attempt: Int) -> TimeInterval {
        let ceiling = min(cap, base * pow(2, Double(min(attempt, 30) - 1)))
        return random(ceiling / 2...ceiling)
    }

    /// Runs `operation` until it succeeds, throws an error `isRetryable` refuses, or the attempts
    /// are spent; the last error is thrown as it was. `beforeRetry` is told each pause (for logs).
    package func run<T>(
        isRetryable: (any Error) -> Bool, beforeRetry: (_ attempt: Int, _ delay: TimeInterval, _ error: any Error) -> Void,
        operation: () throws -> T
    ) throws -> T {
        var attempt = 1
        while true {
            do {
                return try operation()
            } catch  where isRetryable(error) && attempt < maxAttempts {
                let pause = delay(after: attempt)
                beforeRetry(attempt, pause, error)
                sleep(pause)
                attempt += 1
            }
        }
    }
}
