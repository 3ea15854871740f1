import FoundationEssentials

/// An entry's values as one pass fetched them: checked, parsed once, and turned into the entry's
/// files and variables. The reconciler, `run` and its supervisor all make files and variables
/// here, and only here.
struct EntryValues {
    let entry: ManifestEntry
    private let values: Values

    private enum Values {
        case one(StoredValue, ParsedValue)
        case many(CollectionValues)
    }

    /// Throws a ``RenderError`` when the values cannot be this entry's (a collection's names that
    /// cannot name a file, or two values under one name).
    init(_ entry: ManifestEntry, fetched: Fetched) throws {
        self.entry = entry
        switch fetched {
        case .one(let value) where !entry.source.isCollection:
            values = .one(value, ParsedValue(value.payload))
        case .many(let many) where entry.source.isCollection:
            values = .many(try CollectionValues(entry: entry, versions: many))
        case .one, .many:
            throw UnexpectedError("\(entry.name): the fetch brought \(entry.source.isCollection ? "one value" : "many values")")
        }
    }

    /// What the state records as the entry's version, and what a change of triggers its hooks.
    var versionId: String {
        switch values {
        case .one(let value, _): return value.versionId
        case .many(let collection): return collection.versionId
        }
    }

    /// The ARN of a single value; for a collection, what its source names.
    var arn: String {
        switch values {
        case .one(let value, _): return value.arn
        case .many: return entry.source.id
        }
    }

    /// The fallback region that served the values, when the entry's own could not be reached.
    var servedBy: String? {
        switch values {
        case .one(let value, _): return value.servedBy
        case .many(let collection): return collection.items.first?.version.servedBy
        }
    }

    /// The entry's files; throws a ``RenderError`` naming the file when one cannot be rendered.
    func files() throws -> [FileTarget] {
        switch values {
        case .many(let collection):
            return collection.targets
        case .one(_, let value):
            return try entry.files.map { file in
                do {
                    return FileTarget(
                        path: file.path, bytes: try Renderer.render(file.content, value), mode: file.mode, uid: file.owner?.id,
                        gid: file.group?.id)
                } catch let error as DiagnosticError {
                    throw RenderError(message: "secret \(entry.name), file \(file.path): \(error.message)", fix: error.fix)
                }
            }
        }
    }

    /// The variables of the entry's `env:` entries; throws for anything that cannot be a variable.
    func variables() throws -> [EntryVariable] {
        switch values {
        case .many(let collection): return try collection.variables()
        case .one(_, let value): return try variables(of: value)
        }
    }

    private func variables(of value: ParsedValue) throws -> [EntryVariable] {
        var variables = [(name: String, value: String, explicit: Bool)]()
        func failure(_ message: String, _ fix: String) -> RenderError {
            RenderError(message: "secret \(entry.name): \(message)", fix: fix)
        }
        /// A render step whose error names this entry.
        func named<T>(_ step: () throws -> T) throws -> T {
            do {
                return try step()
            } catch let error as RenderError {
                throw failure(error.message, error.fix ?? "")
            }
        }
        let payload = value.payload
        for env in entry.env {
            switch env {
            case .variable(let name, nil, let base64):
                if base64 {
                    variables.append((name, Data(payload.bytes).base64EncodedString(), true))
                    continue
                }
                guard case .string = payload.kind else {
                    throw failure(
                        "\(name): the secret is binary (SecretBinary), which an environment variable cannot hold as it is",
                        "add `encoding: base64` to this env entry, and decode it in the application")
                }
                guard let text = String(validating: payload.bytes, as: UTF8.self) else {
                    throw failure("\(name): the value is not valid UTF-8", "add `encoding: base64` to this env entry")
                }
                variables.append((name, text, true))
            case .variable(let name, let key?, let base64):
                let text = try named { try Renderer.field(key, of: try Renderer.object(value, for: "env \(name) (key: \(key))")) }
                    .fieldText
                variables.append((name, base64 ? Data(text.utf8).base64EncodedString() : text, true))
            case .prefix(let prefix):
                guard case .object(let members) = try named({ try Renderer.object(value, for: "env prefix \(prefix)") }) else { continue }
                for (field, value) in members {
                    // ASCII letters only: `straße` must be refused, not become STRASSE.
                    let name = prefix + ProtectedVariables.asciiUppercased(field)
                    guard Renderer.isValidEnvironmentName(name) else {
                        throw failure(
                            "field '\(field)' would make '\(name)', which is not a valid environment variable name",
                            "rename the field to letters, digits and underscores, or map it with name: and key:")
                    }
                    guard !ProtectedVariables.contains(name) else {
                        throw failure(
                            "field '\(field)' would set \(name) through prefix \(prefix), which \(ProtectedVariables.reason(for: name)); refused",
                            "rename the field; if the application needs \(name), set it explicitly with name: \(name) and key: \(field)")
                    }
                    variables.append((name, value.fieldText, false))
                }
            }
        }
        for (name, value, _) in variables where value.unicodeScalars.contains("\0") {
            throw failure(
                "\(name): the value contains a NUL character, which no environment variable can hold",
                "use encoding: base64, or write it to a file")
        }
        return variables.map { EntryVariable(name: $0.name, value: $0.value, explicit: $0.explicit, entry: entry.name) }
    }
}

/// One variable an entry injects; `explicit` for `name:` entries, which win over `prefix:` ones.
struct EntryVariable: Sendable, Equatable {
    let name: String
    let value: String
    let explicit: Bool
    /// The entry that makes it, for messages.
    let entry: String
}
