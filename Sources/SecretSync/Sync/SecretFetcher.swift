import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Fetches the secrets a pass needs with as few calls and round trips as the API allows:
/// `BatchGetSecretValue` for up to 20 `AWSCURRENT` secrets of one region per call, the rest (and
/// everything, once a role turns out not to allow batches) by `GetSecretValue`; all calls run in
/// parallel with bounded concurrency over kept-alive connections.
public final class SecretFetcher: @unchecked Sendable {
    // @unchecked Sendable: `batchDenied` is only touched while `lock` is held.
    let client: SecretsManagerClient
    let concurrency: Int
    let logger: Logger
    private let lock = Lock()
    private var batchDenied: Bool

    /// One distinct thing to fetch; several manifest entries may share it.
    struct Key: Hashable {
        let id: String
        let version: VersionSelector
        let region: String
    }

    /// Parallel requests (and so kept-alive connections) at most; handles are made only when
    /// needed, and Secrets Manager allows thousands of requests a second.
    public static let defaultConcurrency = 16

    public init(client: SecretsManagerClient, concurrency: Int = SecretFetcher.defaultConcurrency, useBatch: Bool = true, logger: Logger) {
        self.client = client
        self.concurrency = concurrency
        self.logger = logger
        self.batchDenied = !useBatch
    }

    var batchAllowed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !batchDenied
    }

    func denyBatch() {
        lock.lock()
        let first = !batchDenied
        batchDenied = true
        lock.unlock()
        if first { logger.notice("BatchGetSecretValue is not allowed for this role; fetching secrets one by one from now on") }
    }

    /// How many calls `fetch` will make for these secrets (of one region), batches permitting.
    func expectedCalls(_ secrets: [SecretSpec]) -> Int {
        let distinct = Set(secrets.map { Key(id: $0.id, version: $0.version, region: $0.region) })
        let current = distinct.filter { $0.version == .stage("AWSCURRENT") }.count
        let batched = batchAllowed && current > 1 ? (current + 19) / 20 : current
        return batched + distinct.count - current
    }

    /// Credentials from `provider`, then every secret. When AWS refuses the credentials
    /// themselves (a rotated or deleted key, a session revoked early), the cached ones are dropped
    /// and the refused secrets fetched once more with fresh credentials. Throws only when no
    /// credentials can be had.
    public func fetch(_ secrets: [SecretSpec], using provider: any CredentialProvider) throws -> [String: Result<SecretVersion, any Error>]
    {
        var results = fetch(secrets, credentials: try provider.credentials())
        let refused = secrets.filter { secret in
            guard case .failure(let error as SecretsManagerError) = results[secret.name] else { return false }
            return SecretsManagerClient.refusedCredentialCodes.contains(error.awsErrorCode ?? "")
        }
        guard !refused.isEmpty else { return results }
        logger.notice(
            "AWS refused the credentials in use; getting fresh ones and trying once more", metadata: ["secrets": "\(refused.count)"])
        provider.invalidate()
        do {
            results.merge(fetch(refused, credentials: try provider.credentials())) { $1 }
        } catch {
            // The refused secrets fail with why fresh credentials could not be had; the rest stand.
            let failure = (error as? DiagnosticError) ?? UnexpectedError(error)
            for secret in refused { results[secret.name] = .failure(failure) }
        }
        return results
    }

    public func fetch(_ secrets: [SecretSpec], credentials: AWSCredentials) -> [String: Result<SecretVersion, any Error>] {
        var keys = [Key]()
        var seen = Set<Key>()
        for secret in secrets {
            let key = Key(id: secret.id, version: secret.version, region: secret.region)
            if seen.insert(key).inserted { keys.append(key) }
        }
        var results = [Key: Result<SecretVersion, any Error>]()

        // Phase 1: batches of AWSCURRENT secrets per region (if allowed), and the rest singly.
        enum Job {
            case batch(region: String, keys: [Key])
            case single(Key)
        }
        var jobs = [Job]()
        let batchable = batchAllowed ? keys.filter { $0.version == .stage("AWSCURRENT") } : []
        for (region, group) in Dictionary(grouping: batchable, by: \.region).sorted(by: { $0.key < $1.key }) {
            if group.count == 1 {
                jobs.append(.single(group[0]))  // a batch of one costs the same and needs more permissions
                continue
            }
            for start in stride(from: 0, to: group.count, by: 20) {
                jobs.append(.batch(region: region, keys: Array(group[start..<min(start + 20, group.count)])))
            }
        }
        let scheduled = Set(
            jobs.flatMap { job -> [Key] in
                switch job {
                case .batch(_, let keys): return keys
                case .single(let key): return [key]
                }
            })
        jobs += keys.filter { !scheduled.contains($0) }.map(Job.single)

        let outcomes = Parallel.map(jobs.count, width: concurrency) { [self, jobs] index -> [(Key, Result<SecretVersion, any Error>?)] in
            switch jobs[index] {
            case .single(let key):
                return [(key, single(key, credentials: credentials))]
            case .batch(let region, let keys):
                do {
                    let answers = try client.batchGetSecretValue(secretIds: keys.map(\.id), region: region, credentials: credentials)
                    return keys.map { key in (key, answers[key.id].map { $0.mapError { $0 as any Error } }) }
                } catch let error as SecretsManagerError where ["AccessDeniedException", "AccessDenied"].contains(error.awsErrorCode ?? "")
                {
                    denyBatch()
                    return keys.map { ($0, nil) }  // asked again singly below
                } catch {
                    let failure = (error as? DiagnosticError) ?? UnexpectedError(error)
                    return keys.map { ($0, .failure(failure)) }
                }
            }
        }
        var again = [Key]()
        for (key, result) in outcomes.flatMap({ $0 }) {
            if let result { results[key] = result } else { again.append(key) }
        }

        // Phase 2: whatever a batch could not answer (no permission, an id spelled differently).
        let retried = Parallel.map(again.count, width: concurrency) { [self, again] index in single(again[index], credentials: credentials)
        }
        for (key, result) in zip(again, retried) { results[key] = result }

        var byName = [String: Result<SecretVersion, any Error>]()
        for secret in secrets {
            byName[secret.name] = results[Key(id: secret.id, version: secret.version, region: secret.region)]
        }
        return byName
    }

    func single(_ key: Key, credentials: AWSCredentials) -> Result<SecretVersion, any Error> {
        do {
            return .success(try client.getSecretValue(secretId: key.id, version: key.version, region: key.region, credentials: credentials))
        } catch {
            return .failure((error as? DiagnosticError) ?? UnexpectedError(error))
        }
    }
}
