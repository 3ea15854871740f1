extension EntryFetcher {
    // MARK: Which call reads which entry

    /// The keys of a round sorted by the call that fetches them: each case of a source has one.
    struct Work {
        /// Secrets read one by one (a version other than `AWSCURRENT`, or no batches allowed).
        var secrets = [(key: Key, id: String, version: SecretVersionSelector)]()
        /// `AWSCURRENT` secrets, which `BatchGetSecretValue` can read together, by region.
        var current = [String: [(key: Key, id: String)]]()
        var parameters = [(key: Key, request: ParameterStoreClient.Request)]()
        var paths = [(key: Key, path: String)]()
        var selections = [(key: Key, selection: SecretSelection)]()

        init(_ keys: some Collection<Key>, batchAllowed: Bool) {
            for key in keys {
                switch key.source {
                case .secret(let id, .current) where batchAllowed: current[key.region, default: []].append((key, id))
                case .secret(let id, let version): secrets.append((key, id, version))
                case .parameter(let id, let version): parameters.append((key, .init(id: id, version: version)))
                case .parameterPath(let path): paths.append((key, path))
                case .secretSelection(let selection): selections.append((key, selection))
                }
            }
            // A batch of one costs the same as a single read and needs more permissions.
            for (region, group) in current where group.count == 1 {
                secrets.append((group[0].key, group[0].id, .current))
                current[region] = nil
            }
        }

        /// The batches of `AWSCURRENT` secrets, region by region, `size` a call.
        func secretBatches(of size: Int) -> [(region: String, keys: [(key: Key, id: String)])] {
            current.sorted { $0.key < $1.key }.flatMap { region, group in
                stride(from: 0, to: group.count, by: size).map { (region, Array(group[$0..<min($0 + size, group.count)])) }
            }
        }
    }

    /// Parameter requests of one region, in calls of at most ten with no parameter twice in a call.
    static func parameterCalls(_ requests: [(key: Key, request: ParameterStoreClient.Request)]) -> [[(
        key: Key, request: ParameterStoreClient.Request
    )]] {
        var calls = [[(key: Key, request: ParameterStoreClient.Request)]]()
        let sorted = requests.sorted {
            ($0.key.region, $0.request.id, $0.request.version.description) < ($1.key.region, $1.request.id, $1.request.version.description)
        }
        for item in sorted {
            if let index = calls.firstIndex(where: { call in
                call.count < ParameterStoreClient.namesPerCall && call[0].key.region == item.key.region
                    && !call.contains { $0.request.id == item.request.id }
            }) {
                calls[index].append(item)
            } else {
                calls.append([item])
            }
        }
        return calls
    }
}
