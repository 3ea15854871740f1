import FoundationEssentials
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Fetches the secrets and parameters a pass needs with as few calls and round trips as the APIs
/// allow: `BatchGetSecretValue` for up to 20 `AWSCURRENT` secrets of one region per call, the rest
/// (and everything, once a role turns out not to allow batches) by `GetSecretValue`; parameters by
/// `GetParameters`, 10 a call; all calls run in parallel with bounded concurrency over kept-alive
/// connections.
package final class EntryFetcher: @unchecked Sendable {
    // @unchecked Sendable: `batchDenied` is only touched while `lock` is held.
    let client: SecretsManagerClient
    let parameters: ParameterStoreClient
    /// Regions tried in order when an entry's own region cannot be reached (`fallback_regions:`).
    let fallbackRegions: [String]
    let concurrency: Int
    let logger: Logger
    private let lock = Lock()
    private var batchDenied: Bool

    /// One distinct thing to fetch; several manifest entries may share it.
    struct Key: Hashable {
        let source: ManifestEntry.Source
        let region: String
    }

    /// Parallel requests (and so kept-alive connections) at most; handles are made only when
    /// needed, and Secrets Manager allows thousands of requests a second.
    package static let defaultConcurrency = 16

    package init(
        secretsManager: SecretsManagerClient, parameterStore: ParameterStoreClient, concurrency: Int = EntryFetcher.defaultConcurrency,
        useBatch: Bool = true,
        fallbackRegions: [String] = [], logger: Logger
    ) {
        self.client = secretsManager
        self.fallbackRegions = fallbackRegions
        self.parameters = parameterStore
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

    /// How many calls `fetch` will make for these entries (of one service and region), batches permitting.
    func expectedCalls(_ entries: [ManifestEntry]) -> Int {
        let work = Work(Set(entries.map { Key($0) }), batchAllowed: batchAllowed)
        // A path: or select: entry takes one call at a time, page after page.
        return work.paths.count + work.selections.count + work.secrets.count + work.secretBatches(of: 20).count
            + Self.parameterCalls(work.parameters).count
    }

    /// Opens connections to the endpoints these entries (of one service and region) will use.
    func warmUp(_ entries: [ManifestEntry], service: AWSService, region: String) {
        for _ in 0..<min(concurrency, expectedCalls(entries)) {
            Threads.detach { [client, parameters] in
                switch service {
                case .secretsManager: client.warmUp(region: region)
                case .parameterStore: parameters.warmUp(region: region)
                }
            }
        }
    }

    /// Credentials from `provider`, then every secret. When AWS refuses the credentials
    /// themselves (a rotated or deleted key, a session revoked early), the cached ones are dropped
    /// and the refused secrets fetched once more with fresh credentials. Throws only when no
    /// credentials can be had.
    package func fetch(_ secrets: [ManifestEntry], using provider: any CredentialProvider) throws -> [String: Result<Fetched, any Error>] {
        var results = fetch(secrets, credentials: try provider.credentials())
        let refused = secrets.filter { secret in
            guard case .failure(let error as AWSServiceError) = results[secret.name] else { return false }
            return error.refusedCredentials
        }
        guard !refused.isEmpty else { return results }
        logger.notice(
            "AWS refused the credentials in use; getting fresh ones and trying once more", metadata: ["secrets": "\(refused.count)"])
        provider.invalidate()
        do {
            results.merge(fetch(refused, credentials: try provider.credentials())) { $1 }
        } catch {
            // The refused secrets fail with why fresh credentials could not be had; the rest stand.
            let failure = error.diagnosis
            for secret in refused { results[secret.name] = .failure(failure) }
        }
        return results
    }

    package func fetch(_ secrets: [ManifestEntry], credentials: AWSCredentials) -> [String: Result<Fetched, any Error>] {
        var keys = [Key]()
        var seen = Set<Key>()
        for secret in secrets {
            let key = Key(secret)
            if seen.insert(key).inserted { keys.append(key) }
        }
        let results = failOver(fetch(keys, credentials: credentials), credentials: credentials)
        var byName = [String: Result<Fetched, any Error>]()
        for secret in secrets {
            byName[secret.name] = results[Key(secret)]
        }
        return byName
    }

    /// Every key in its own region: the calls of one round, in parallel.
    func fetch(_ keys: [Key], credentials: AWSCredentials) -> [Key: Result<Fetched, any Error>] {
        // Phase 1: batches of AWSCURRENT secrets per region (if allowed), the other secrets singly,
        // parameters ten a call per region, collections page by page.
        enum Job {
            case batch(region: String, keys: [(key: Key, id: String)])
            case secret(Key, id: String, version: SecretVersionSelector)
            case parameters([(key: Key, request: ParameterStoreClient.Request)])
            case path(Key, String)
            case selection(Key, SecretSelection)
        }
        let work = Work(keys, batchAllowed: batchAllowed)
        let jobs =
            work.paths.map(Job.path) + work.selections.map(Job.selection) + Self.parameterCalls(work.parameters).map(Job.parameters)
            + work.secretBatches(of: 20).map(Job.batch) + work.secrets.map { Job.secret($0.key, id: $0.id, version: $0.version) }

        let outcomes = Parallel.map(jobs.count, width: concurrency) { [self, jobs] index -> [(Key, Result<Fetched, any Error>?)] in
            switch jobs[index] {
            case .secret(let key, let id, let version):
                return [(key, secret(id, version: version, region: key.region, credentials: credentials).map(Fetched.one))]
            case .parameters(let requests):
                return parameterCall(requests, credentials: credentials).map { ($0, $1?.map(Fetched.one)) }
            case .path(let key, let path):
                return [
                    (
                        key,
                        Result { .many(try parameters.getParametersByPath(path, region: key.region, credentials: credentials)) }.mapError(
                            \.diagnosis)
                    )
                ]
            case .selection(let key, let selection):
                return [
                    (
                        key,
                        Result { .many(try self.selection(selection, region: key.region, credentials: credentials)) }.mapError(\.diagnosis)
                    )
                ]
            case .batch(let region, let keys):
                do {
                    let answers = try client.batchGetSecretValue(secretIds: keys.map(\.id), region: region, credentials: credentials)
                    return keys.map { key, id in (key, answers[id].map { $0.map(Fetched.one).mapError { $0 as any Error } }) }
                } catch let error as AWSServiceError where ["AccessDeniedException", "AccessDenied"].contains(error.awsErrorCode ?? "") {
                    denyBatch()
                    return keys.map { ($0.key, nil) }  // asked again singly below
                } catch let error as AWSServiceError where error.throttled {
                    // The account's batch quota is spent (by the fleet): read these singly, this pass.
                    logger.notice(
                        "BatchGetSecretValue is throttled; reading its secrets with GetSecretValue",
                        metadata: ["secrets": "\(keys.count)", "region": "\(region)"])
                    return keys.map { ($0.key, nil) }
                } catch {
                    let failure = error.diagnosis
                    return keys.map { ($0.key, .failure(failure)) }
                }
            }
        }
        var results = [Key: Result<Fetched, any Error>]()
        var again = [Key]()
        for (key, result) in outcomes.flatMap({ $0 }) {
            if let result { results[key] = result } else { again.append(key) }
        }

        // Phase 2: whatever a batch could not answer (no permission, an id spelled differently),
        // each an AWSCURRENT secret, asked alone.
        let retried = Parallel.map(again.count, width: concurrency) { [self, again] index in
            guard case .secret(let id, let version) = again[index].source else { return Result<StoredValue, any Error>?.none }
            return secret(id, version: version, region: again[index].region, credentials: credentials)
        }
        for (key, result) in zip(again, retried) { results[key] = result.map { $0.map(Fetched.one) } }
        return results
    }

    /// One `GetParameters` call; a failure of the whole call fails each of its parameters. AWS
    /// refuses the whole call when the role may not read one of its parameters: then each is asked
    /// alone, so only those it may not read fail.
    func parameterCall(_ requests: [(key: Key, request: ParameterStoreClient.Request)], credentials: AWSCredentials) -> [(
        Key, Result<StoredValue, any Error>?
    )] {
        let region = requests[0].key.region
        do {
            let answers = try parameters.getParameters(requests.map(\.request), region: region, credentials: credentials)
            return requests.flatMap { item -> [(Key, Result<StoredValue, any Error>?)] in
                // Not provably answered among others (a same-named parameter of another account or
                // region): asked alone; alone, refused.
                if requests.count > 1, case .failure(let error)? = answers[item.request],
                    error.awsErrorCode == ParameterStoreClient.unmatchedAnswer
                {
                    return parameterCall([item], credentials: credentials)
                }
                return [(item.key, answers[item.request].map { $0.mapError { $0 as any Error } })]
            }
        } catch let error as AWSServiceError
            where requests.count > 1 && ["AccessDeniedException", "AccessDenied"].contains(error.awsErrorCode ?? "")
        {
            logger.notice(
                "the role may not read every parameter of a GetParameters call; asking for each alone",
                metadata: ["parameters": "\(requests.count)", "region": "\(region)"])
            return requests.flatMap { parameterCall([$0], credentials: credentials) }
        } catch {
            let failure = error.diagnosis
            return requests.map { ($0.key, .failure(failure)) }
        }
    }

    /// The secrets a `select:` matches: the values from `BatchGetSecretValue` with filters, kept
    /// when the name starts with the prefix exactly and, with tags, when `ListSecrets` (asked at
    /// the same time) shows every tag exactly.
    func selection(_ selection: SecretSelection, region: String, credentials: AWSCredentials) throws -> [StoredValue] {
        let (namePrefix, tags) = (selection.namePrefix, selection.tags)
        enum Answer: Sendable {
            case values([StoredValue])
            case tagged(Set<String>)
        }
        let answers = Parallel.map(tags.isEmpty ? 1 : 2, width: 2) { [client] index -> Result<Answer, any Error> in
            Result {
                index == 0
                    ? .values(try client.selectSecretValues(namePrefix: namePrefix, tags: tags, region: region, credentials: credentials))
                    : .tagged(try client.selectedByTags(namePrefix: namePrefix, tags: tags, region: region, credentials: credentials))
            }
        }
        var versions = [StoredValue]()
        var tagged: Set<String>?
        for answer in answers {
            switch try answer.get() {
            case .values(let values): versions = values
            case .tagged(let arns): tagged = arns
            }
        }
        return versions.filter { version in
            (namePrefix.map { version.name.hasPrefix($0) } ?? true) && (tagged?.contains(version.arn) ?? true)
        }
    }

    func secret(_ id: String, version: SecretVersionSelector, region: String, credentials: AWSCredentials) -> Result<StoredValue, any Error>
    {
        do {
            return .success(try client.getSecretValue(secretId: id, version: version, region: region, credentials: credentials))
        } catch {
            return .failure(error.diagnosis)
        }
    }
}

extension EntryFetcher.Key {
    init(_ entry: ManifestEntry) {
        self.init(source: entry.source, region: entry.region)
    }
}

/// What a fetch brought for one entry: one version, or every value a `path:` holds.
package enum Fetched: Sendable {
    case one(StoredValue)
    case many([StoredValue])

    /// The version of a single entry (nil for a collection).
    package var single: StoredValue? {
        if case .one(let version) = self { return version }
        return nil
    }
}
