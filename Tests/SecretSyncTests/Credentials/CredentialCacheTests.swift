import Foundation
import Testing

@testable import SecretSync

@Suite("Credential cache")
struct CredentialCacheTests {
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }

    final class ManualClock: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 1_700_000_000)
    }

    func keys(_ n: Int, expiring: Date? = nil) -> AWSCredentials {
        AWSCredentials(accessKeyId: "AKID\(n)", secretAccessKey: RedactedString("s"), expiration: expiring)
    }

    @Test func credentialsWithoutExpiryAreReadAgainAfterTheirMaximumAge() throws {
        let clock = ManualClock()
        let counter = Counter()
        let cache = CachingCredentialProvider(maxAgeWithoutExpiry: 900, clock: { clock.now }, source: { self.keys(counter.next()) })
        #expect(try cache.credentials().accessKeyId == "AKID1")
        clock.now += 899
        #expect(try cache.credentials().accessKeyId == "AKID1")
        clock.now += 2
        #expect(cache.needsRefresh)
        #expect(try cache.credentials().accessKeyId == "AKID2")
    }

    @Test func aFailedRenewalServesTheStillValidCredentialsUntilShortlyBeforeTheyExpire() throws {
        struct Down: Error {}
        final class Source: @unchecked Sendable {
            var failing = false
            var calls = 0
        }
        let clock = ManualClock()
        let source = Source()
        let expiry = clock.now.addingTimeInterval(3600)
        let reported = Counter()
        let cache = CachingCredentialProvider(
            clock: { clock.now }, onRenewalFailure: { _, _ in _ = reported.next() },
            source: {
                source.calls += 1
                if source.failing { throw Down() }
                return self.keys(source.calls, expiring: expiry)
            })
        #expect(try cache.credentials().accessKeyId == "AKID1")
        source.failing = true
        clock.now += 3000  // 10 minutes left: due for renewal, which fails
        #expect(try cache.credentials().accessKeyId == "AKID1")
        #expect(source.calls == 2 && reported.next() == 2)
        clock.now += 10  // within the backoff: not asked again
        #expect(try cache.credentials().accessKeyId == "AKID1")
        #expect(source.calls == 2)
        clock.now += 560  // 30 s left: too close to hand out
        #expect(throws: Down.self) { try cache.credentials() }
        source.failing = false
        #expect(try cache.credentials().accessKeyId == "AKID4")
    }

    @Test func refusedCredentialsAreDroppedAtOnce() throws {
        let counter = Counter()
        let cache = CachingCredentialProvider { self.keys(counter.next(), expiring: Date().addingTimeInterval(3600)) }
        #expect(try cache.credentials().accessKeyId == "AKID1")
        #expect(try cache.credentials().accessKeyId == "AKID1")
        cache.invalidate()
        #expect(try cache.credentials().accessKeyId == "AKID2")
    }

    @Test func theFixNamesTheSourceInUse() {
        #expect(
            SecretsManagerClient.fix(code: "UnrecognizedClientException", region: "us-west-2", retryable: false, source: .profile("app"))?
                .contains("AWS profile 'app'") == true)
        #expect(
            SecretsManagerClient.fix(code: "ExpiredToken", region: "us-west-2", retryable: false, source: .environment)?
                .contains("AWS_ACCESS_KEY_ID") == true)
        #expect(
            SecretsManagerClient.fix(code: "InvalidClientTokenId", region: "us-west-2", retryable: false, source: .rolesAnywhere)?
                .contains("Roles Anywhere") == true)
    }
}
