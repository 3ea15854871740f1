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
public final class SecretFetcher: @unchecked Sendable {
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
        let kind: EntryKind
        /// Set for an entry that stands for many values (`path:`).
        var collection: CollectionSpec.Source? = nil
        let id: String
        let version: VersionSelector
        let region: String
    }

    /// Parallel requests (and so kept-alive connections) at most; handles are made only when
    /// needed, and Secrets Manager allows thousands of requests a second.
    public static let defaultConcurrency = 16

    public init(
        client: SecretsManagerClient, concurrency: Int = SecretFetcher.defaultConcurrency, useBatch: Bool = true,
        fallbackRegions: [String] = [], logger: Logger
    ) {
        self.client = client
        self.fallbackRegions = fallbackRegions
        self.parameters = ParameterStoreClient(alongside: client)
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

    /// How many calls `fetch` will make for these entries (of one kind and region), batches permitting.
    func expectedCalls(_ secrets: [SecretSpec]) -> Int {
        let distinct = Set(secrets.map { Key($0) })
        // A path: or select: entry takes one call at a time, page after page.
        let collections = distinct.filter { $0.collection != nil }.count
        let single = distinct.filter { $0.collection == nil }
        let parameters = single.filter { $0.kind == .parameter }
        let current = single.filter { $0.kind == .secret && $0.version == .stage("AWSCURRENT") }.count
        let batched = batchAllowed && current > 1 ? (current + 19) / 20 : current
        let others = single.count - current - parameters.count
        return collections + batched + others + Self.parameterCalls(Array(parameters)).count
    }

    /// Opens connections to the endpoints these entries (of one kind and region) will use.
    func warmUp(_ entries: [SecretSpec], kind: EntryKind, region: String) {
        for _ in 0..<min(concurrency, expectedCalls(entries)) {
            Threads.detach { [client, parameters] in
                if kind == .secret { client.warmUp(region: region) } else { parameters.warmUp(region: region) }
            }
        }
    }

    /// Parameter keys of one region, in calls of at most ten with no parameter twice in a call.
    static func parameterCalls(_ keys: [Key]) -> [[Key]] {
        var calls = [[Key]]()
        for key in keys.sorted(by: { ($0.id, $0.version.description) < ($1.id, $1.version.description) }) {
            if let index = calls.firstIndex(where: { call in
                call.count < ParameterStoreClient.namesPerCall && !call.contains { $0.id == key.id }
            }) {
                calls[index].append(key)
            } else {
                calls.append([key])
            }
        }
        return calls
    }

    /// Credentials from `provider`, then every secret. When AWS refuses the credentials
    /// themselves (a rotated or deleted key, a session revoked early), the cached ones are dropped
    /// and the refused secrets fetched once more with fresh credentials. Throws only when no
    /// credentials can be had.
    public func fetch(_ secrets: [SecretSpec], using provider: any CredentialProvider) throws -> [String: Result<Fetched, any Error>] {
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
            let failure = (error as? DiagnosticError) ?? UnexpectedError(error)
            for secret in refused { results[secret.name] = .failure(failure) }
        }
        return results
    }

    public func fetch(_ secrets: [SecretSpec], credentials: AWSCredentials) -> [String: Result<Fetched, any Error>] {
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
        var results = [Key: Result<Fetched, any Error>]()

        // Phase 1: batches of AWSCURRENT secrets per region (if allowed), and the rest singly;
        // parameters ten a call per region.
        enum Job {
            case batch(region: String, keys: [Key])
            case single(Key)
            case parameters(region: String, keys: [Key])
            case collection(Key)
        }
        var jobs = keys.filter { $0.collection != nil }.map(Job.collection)
        let parameterKeys = keys.filter { $0.kind == .parameter && $0.collection == nil }
        for (region, group) in Dictionary(grouping: parameterKeys, by: \.region).sorted(by: { $0.key < $1.key }) {
            jobs += Self.parameterCalls(group).map { Job.parameters(region: region, keys: $0) }
        }
        let batchable = batchAllowed ? keys.filter { $0.kind == .secret && $0.collection == nil && $0.version == .stage("AWSCURRENT") } : []
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
                case .batch(_, let keys), .parameters(_, let keys): return keys
                case .single(let key), .collection(let key): return [key]
                }
            })
        jobs += keys.filter { !scheduled.contains($0) }.map(Job.single)

        let outcomes = Parallel.map(jobs.count, width: concurrency) { [self, jobs] index -> [(Key, Result<Fetched, any Error>?)] in
            switch jobs[index] {
            case .single(let key):
                return [(key, single(key, credentials: credentials).map(Fetched.one))]
            case .parameters(let region, let keys):
                return parameterCall(keys, region: region, credentials: credentials).map { ($0, $1?.map(Fetched.one)) }
            case .collection(let key):
                return [(key, collection(key, credentials: credentials))]
            case .batch(let region, let keys):
                do {
                    let answers = try client.batchGetSecretValue(secretIds: keys.map(\.id), region: region, credentials: credentials)
                    return keys.map { key in (key, answers[key.id].map { $0.map(Fetched.one).mapError { $0 as any Error } }) }
                } catch let error as AWSServiceError where ["AccessDeniedException", "AccessDenied"].contains(error.awsErrorCode ?? "") {
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
        for (key, result) in zip(again, retried) { results[key] = result.map(Fetched.one) }
        return results
    }

    /// One `GetParameters` call; a failure of the whole call fails each of its parameters. AWS
    /// refuses the whole call when the role may not read one of its parameters: then each is asked
    /// alone, so only those it may not read fail.
    func parameterCall(_ keys: [Key], region: String, credentials: AWSCredentials) -> [(Key, Result<SecretVersion, any Error>?)] {
        let requests = keys.map { ParameterStoreClient.Request(id: $0.id, version: $0.version) }
        do {
            let answers = try parameters.getParameters(requests, region: region, credentials: credentials)
            return zip(keys, requests).flatMap { key, request -> [(Key, Result<SecretVersion, any Error>?)] in
                // Not provably answered among others (a same-named parameter of another account or
                // region): asked alone; alone, refused.
                if keys.count > 1, case .failure(let error)? = answers[request], error.awsErrorCode == ParameterStoreClient.unmatchedAnswer
                {
                    return parameterCall([key], region: region, credentials: credentials)
                }
                return [(key, answers[request].map { $0.mapError { $0 as any Error } })]
            }
        } catch let error as AWSServiceError
            where keys.count > 1 && ["AccessDeniedException", "AccessDenied"].contains(error.awsErrorCode ?? "")
        {
            logger.notice(
                "the role may not read every parameter of a GetParameters call; asking for each alone",
                metadata: ["parameters": "\(keys.count)", "region": "\(region)"])
            return keys.flatMap { parameterCall([$0], region: region, credentials: credentials) }
        } catch {
            let failure = (error as? DiagnosticError) ?? UnexpectedError(error)
            return keys.map { ($0, .failure(failure)) }
        }
    }

    /// Every value of a `path:` entry.
    func collection(_ key: Key, credentials: AWSCredentials) -> Result<Fetched, any Error> {
        do {
            switch key.collection {
            case .parameterPath(let path)?:
                return .success(.many(try parameters.getParametersByPath(path, region: key.region, credentials: credentials)))
            case .secretSelection(let namePrefix, let tags)?:
                return .success(.many(try selection(namePrefix: namePrefix, tags: tags, region: key.region, credentials: credentials)))
            case nil:
                preconditionFailure("a single entry fetched as a collection")
            }
        } catch {
            return .failure((error as? DiagnosticError) ?? UnexpectedError(error))
        }
    }

    /// The secrets a `select:` matches: the values from `BatchGetSecretValue` with filters, kept
    /// when the name starts with the prefix exactly and, with tags, when `ListSecrets` (asked at
    /// the same time) shows every tag exactly.
    func selection(namePrefix: String?, tags: [SecretTag], region: String, credentials: AWSCredentials) throws -> [SecretVersion] {
        enum Answer: Sendable {
            case values([SecretVersion])
            case tagged(Set<String>)
        }
        let answers = Parallel.map(tags.isEmpty ? 1 : 2, width: 2) { [client] index -> Result<Answer, any Error> in
            Result {
                index == 0
                    ? .values(try client.selectSecretValues(namePrefix: namePrefix, tags: tags, region: region, credentials: credentials))
                    : .tagged(try client.selectedByTags(namePrefix: namePrefix, tags: tags, region: region, credentials: credentials))
            }
        }
        var versions = [SecretVersion]()
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

    func single(_ key: Key, credentials: AWSCredentials) -> Result<SecretVersion, any Error> {
        do {
            return .success(try client.getSecretValue(secretId: key.id, version: key.version, region: key.region, credentials: credentials))
        } catch {
            return .failure((error as? DiagnosticError) ?? UnexpectedError(error))
        }
    }
}

extension SecretFetcher.Key {
    init(_ entry: SecretSpec) {
        self.init(kind: entry.kind, collection: entry.collection?.source, id: entry.id, version: entry.version, region: entry.region)
    }
}

/// What a fetch brought for one entry: one version, or every value a `path:` holds.
public enum Fetched: Sendable {
    case one(SecretVersion)
    case many([SecretVersion])

    /// The version of a single entry (nil for a collection).
    public var single: SecretVersion? {
        if case .one(let version) = self { return version }
        return nil
    }
}
