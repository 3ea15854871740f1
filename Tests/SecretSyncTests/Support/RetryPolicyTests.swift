import Foundation
import Testing

@testable import SecretSync

@Suite("Retry policy")
struct RetryPolicyTests {
    struct Flaky: Error { let retryable: Bool }

    final class Recorder: @unchecked Sendable {
        var pauses: [TimeInterval] = []
        var attempts = 0
    }

    @Test func pausesDoubleWithJitterUpToTheCap() {
        let low = RetryPolicy(maxAttempts: 9, random: { $0.lowerBound })
        let high = RetryPolicy(maxAttempts: 9, random: { $0.upperBound })
        #expect((1...7).map(high.delay(after:)) == [0.2, 0.4, 0.8, 1.6, 3.2, 5, 5])
        #expect((1...3).map(low.delay(after:)) == [0.1, 0.2, 0.4])
        #expect(high.delay(after: 10_000) == 5)
    }

    @Test func retriesWhatMayBeRetriedThenGivesTheLastError() throws {
        let recorder = Recorder()
        let policy = RetryPolicy(maxAttempts: 3, sleep: { recorder.pauses.append($0) }, random: { $0.upperBound })
        #expect(throws: Flaky.self) {
            try policy.run(
                isRetryable: { ($0 as? Flaky)?.retryable ?? false }, beforeRetry: { _, _, _ in },
                operation: { () throws -> Int in
                    recorder.attempts += 1
                    throw Flaky(retryable: true)
                })
        }
        #expect(recorder.attempts == 3)
        #expect(recorder.pauses == [0.2, 0.4])
    }

    @Test func aRefusalIsNotRetriedAndSuccessStops() throws {
        let recorder = Recorder()
        let policy = RetryPolicy(maxAttempts: 5, sleep: { recorder.pauses.append($0) })
        #expect(throws: Flaky.self) {
            try policy.run(
                isRetryable: { ($0 as? Flaky)?.retryable ?? false }, beforeRetry: { _, _, _ in },
                operation: { () throws -> Int in
                    recorder.attempts += 1
                    throw Flaky(retryable: false)
                })
        }
        #expect(recorder.attempts == 1)
        let value = try policy.run(
            isRetryable: { _ in true }, beforeRetry: { _, _, _ in },
            operation: { () throws -> Int in
                recorder.attempts += 1
                if recorder.attempts < 3 { throw Flaky(retryable: true) }
                return 42
            })
        #expect(value == 42 && recorder.pauses.count == 1)
    }
}
