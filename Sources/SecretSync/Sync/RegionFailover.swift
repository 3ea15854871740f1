import Logging

/// Reading replicas when a region is down (`fallback_regions:`): an entry whose own region could
/// not be reached, timed out, or answered 5xx or throttling after its retries is asked again in
/// each fallback region in turn — by the same name, or by its ARN with the region replaced (a
/// replica's ARN). Never after an answer that means something (access denied, not found, a
/// decryption failure): a replica would mask a real problem. The next pass starts with the
/// entry's own region again.
extension EntryFetcher {
    /// True for failures a region's outage explains: no connection, DNS, a timeout or a reset,
    /// 5xx and throttling that outlasted the retries. Not a deadline, a local proxy, TLS, an
    /// oversized or malformed answer, or any answer AWS gave a meaning to.
    static func regionUnavailable(_ error: any Error) -> Bool {
        guard let error = error as? AWSServiceError else { return false }
        if let cause = error.cause {
            switch cause.kind {
            case .dns, .connect, .timeout: return true
            // A reset or a cut answer from libcurl; not libcurl failing to load (no curl code).
            case .other: return cause.curlCode != 0
            case .tls, .proxy, .tooLarge, .deadline: return false
            }
        }
        return error.retryable
    }

    /// `key` in `region`: an ARN gets the region in place of its own; a name, a path or a
    /// selection stays.
    static func key(_ key: Key, in region: String) -> Key {
        func moved(_ id: String) -> String {
            guard let arn = ARN(id), arn.region == key.region else { return id }
            return ARN(partition: arn.partition, service: arn.service, region: region, account: arn.account, resource: arn.resource)
                .description
        }
        switch key.source {
        case .secret(let id, let version): return Key(source: .secret(id: moved(id), version: version), region: region)
        case .parameter(let id, let version): return Key(source: .parameter(id: moved(id), version: version), region: region)
        case .secretSelection, .parameterPath: return Key(source: key.source, region: region)
        }
    }

    func failOver(_ results: [Key: Result<Fetched, any Error>], credentials: AWSCredentials) -> [Key: Result<Fetched, any Error>] {
        var results = results
        var pending = results.filter {
            if case .failure(let error) = $0.value { return Self.regionUnavailable(error) } else { return false }
        }.map(\.key)
        for region in fallbackRegions where !pending.isEmpty {
            let here = pending.filter { $0.region != region && Partition.of(region: $0.region) == Partition.of(region: region) }
            guard !here.isEmpty else { continue }
            logger.warning(
                "\(here.count) entr\(here.count == 1 ? "y" : "ies") could not be read in \(Set(here.map(\.region)).sorted().joined(separator: ", ")); trying the fallback region \(region)"
            )
            let moved = here.map { Self.key($0, in: region) }
            let answers = fetch(moved, credentials: credentials)
            var still = [Key]()
            for (original, key) in zip(here, moved) {
                switch answers[key] {
                case .success(.many(let versions))? where versions.isEmpty:
                    // An empty answer from a fallback region proves nothing about the entry's own.
                    logger.warning("the fallback region \(region) holds nothing for \(original.source.id)")
                case .success(let fetched)?:
                    results[original] = .success(fetched.served(by: region))
                    logger.notice("read from the fallback region", metadata: ["id": "\(original.source.id)", "region": "\(region)"])
                case .failure(let error)? where Self.regionUnavailable(error):
                    still.append(original)
                case .failure(let error)?:
                    // The replica answered with a reason (not replicated there, access denied): the
                    // entry keeps its own region's failure, and the reason is logged.
                    logger.warning(
                        "the fallback region \(region) could not serve \(original.source.id): \(error.diagnosis.message)"
                    )
                case nil:
                    still.append(original)
                }
            }
            pending = pending.filter { key in !here.contains(key) } + still
        }
        return results
    }
}

extension Fetched {
    /// The same values, marked as read from a fallback region.
    func served(by region: String) -> Fetched {
        func mark(_ version: StoredValue) -> StoredValue {
            var marked = version
            marked.servedBy = region
            return marked
        }
        switch self {
        case .one(let version): return .one(mark(version))
        case .many(let versions): return .many(versions.map(mark))
        }
    }
}
