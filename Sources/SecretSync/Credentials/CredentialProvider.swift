import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Where AWS credentials come from for Secrets Manager calls.
package protocol CredentialProvider: Sendable {
    func credentials() throws -> AWSCredentials
    /// True when the next `credentials()` will go to the network (nothing cached, or about to expire).
    var needsRefresh: Bool { get }
    /// Forgets cached credentials that AWS refused (rotated, deleted, expired early), so the next
    /// `credentials()` gets fresh ones.
    func invalidate()
}

extension CredentialProvider {
    package var needsRefresh: Bool { false }
    package func invalidate() {}
}

/// Which kind of source credentials came from: the fix for refused credentials depends on it.
package enum CredentialSource: Sendable, Equatable {
    case rolesAnywhere
    case environment
    case profile(String)

    /// What to check when AWS refuses these credentials.
    package var refusedFix: String {
        switch self {
        case .rolesAnywhere:
            return
                "the credentials were refused: check the system clock and the Roles Anywhere setup (secret-sync credential-process shows the details)"
        case .environment:
            return
                "the credentials were refused: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN in secret-sync's environment (rotated or expired?) and the system clock"
        case .profile(let name):
            return
                "the credentials were refused: check AWS profile '\(name)' (a rotated or deleted access key, expired credentials from its credential_process) and the system clock; the profile is read again on the next pass"
        }
    }
}

/// An error getting credentials from the environment or a profile.
package struct CredentialSourceError: DiagnosticError {
    package let message: String
    package let fix: String?
}

/// Reuses credentials until shortly before they expire, so a pass (and a daemon's next passes)
/// costs one `CreateSession` per credential lifetime. Credentials without an expiry are kept at
/// most `maxAgeWithoutExpiry`; refused ones are dropped by `invalidate()`.
package final class CachingCredentialProvider: CredentialProvider, @unchecked Sendable {
    // @unchecked Sendable: `cached` and `fetchedAt` are only touched while `lock` is held.
    private let source: @Sendable () throws -> AWSCredentials
    private let clock: @Sendable () -> Date
    private let lock = Lock()
    private var cached: AWSCredentials?
    private var fetchedAt = Date.distantPast
    private var renewalFailedAt: Date?
    /// Told when a renewal failed and the cached credentials (valid until the date given) serve on.
    let onRenewalFailure: (@Sendable (String, Date?) -> Void)?
    /// Refresh this long before expiry (SDKs use 10–15 minutes; credentials last about an hour).
    let refreshMargin: TimeInterval
    /// Credentials that name no expiry (static keys) are read again after this long.
    let maxAgeWithoutExpiry: TimeInterval

    package init(
        refreshMargin: TimeInterval = 10 * 60, maxAgeWithoutExpiry: TimeInterval = 15 * 60,
        clock: @escaping @Sendable () -> Date = { Date() },
        onRenewalFailure: (@Sendable (String, Date?) -> Void)? = nil,
        source: @escaping @Sendable () throws -> AWSCredentials
    ) {
        self.source = source
        self.onRenewalFailure = onRenewalFailure
        self.clock = clock
        self.refreshMargin = refreshMargin
        self.maxAgeWithoutExpiry = maxAgeWithoutExpiry
    }

    package var needsRefresh: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !isFresh(cached)
    }

    private func isFresh(_ credentials: AWSCredentials?) -> Bool {
        guard let credentials else { return false }
        let now = clock()
        if let expiration = credentials.expiration { return expiration.timeIntervalSince(now) > refreshMargin }
        return now.timeIntervalSince(fetchedAt) < maxAgeWithoutExpiry
    }

    /// When a renewal failed, the next attempt waits this long (meanwhile the cached credentials
    /// serve, while they are valid).
    static let renewalBackoff: TimeInterval = 30
    /// Credentials this close to expiry are not handed out when they cannot be renewed.
    static let lastUsableMargin: TimeInterval = 60

    package func credentials() throws -> AWSCredentials {
        lock.lock()
        defer { lock.unlock() }
        if let cached, isFresh(cached) { return cached }
        let now = clock()
        if let cached, isUsable(cached, at: now), let failedAt = renewalFailedAt, now.timeIntervalSince(failedAt) < Self.renewalBackoff {
            return cached
        }
        do {
            let fresh = try source()
            cached = fresh
            fetchedAt = clock()
            renewalFailedAt = nil
            return fresh
        } catch {
            renewalFailedAt = now
            // Renewal failed: credentials that are still good serve until shortly before they
            // expire (and the failure is reported); then the error is the answer.
            guard let cached, isUsable(cached, at: now) else { throw error }
            onRenewalFailure?(error.diagnosis.message, cached.expiration)
            return cached
        }
    }

    private func isUsable(_ credentials: AWSCredentials, at now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return true }
        return expiration.timeIntervalSince(now) > Self.lastUsableMargin
    }

    package func invalidate() {
        lock.lock()
        cached = nil
        renewalFailedAt = nil
        lock.unlock()
    }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and optionally `AWS_SESSION_TOKEN`.
package struct EnvironmentCredentialProvider: CredentialProvider {
    let environment: [String: String]

    package init(environment: [String: String]) { self.environment = environment }

    package func credentials() throws -> AWSCredentials {
        guard let accessKey = environment["AWS_ACCESS_KEY_ID"], !accessKey.isEmpty,
            let secretKey = environment["AWS_SECRET_ACCESS_KEY"], !secretKey.isEmpty
        else {
            throw CredentialSourceError(
                message: "auth: environment: true, but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set",
                fix: "set them in the service's environment (e.g. an EnvironmentFile= readable only by root), or use roles_anywhere")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : RedactedString($0) }
        return AWSCredentials(accessKeyId: accessKey, secretAccessKey: RedactedString(secretKey), sessionToken: token, source: .environment)
    }
}
