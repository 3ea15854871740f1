import Testing

@testable import SecretSync

@Suite("Manifest: secrets selected by name prefix and tags")
struct SelectManifestTests {
    @Test func aSelectionParses() throws {
        let manifest = try parse(
            validHeader + """
                secrets:
                  - select:
                      name_prefix: prod/app/
                      tags: {team: payments, env: prod}
                    name: app
                    directory: /etc/app/secrets
                    group: myapp
                    env:
                      - prefix: APP_

                """)
        let entry = try #require(manifest.entries.first)
        let collection = try #require(entry.collection)
        #expect(entry.kind == .secret && entry.name == "app")
        #expect(
            collection.source
                == .secretSelection(
                    namePrefix: "prod/app/", tags: [SecretTag(key: "env", value: "prod"), SecretTag(key: "team", value: "payments")]))
        #expect(collection.relativeName(of: "prod/app/db") == "db" && collection.relativeName(of: "prod/application") == nil)
        #expect(entry.id == "name_prefix=prod/app/ tag env=prod tag team=payments")
    }

    @Test func filtersAreTheNameAndEachTagsKeyAndValue() {
        let filters = SecretsManagerClient.filters(namePrefix: "p/", tags: [SecretTag(key: "team", value: "payments")])
        #expect(
            filters.text
                == #"[{"Key":"name","Values":["p/"]},{"Key":"tag-key","Values":["team"]},{"Key":"tag-value","Values":["payments"]}]"#)
    }

    static let bad: [ManifestParserTests.Bad] = [
        .init(
            name: "select with nothing to match", yaml: validHeader + "secrets:\n  - select: {}\n    name: x\n    directory: /d\n",
            location: "10:13", message: "select: names nothing to match"),
        .init(
            name: "a negated prefix", yaml: validHeader + "secrets:\n  - select:\n      name_prefix: '!prod/'\n    directory: /d\n",
            location: "11:20", message: "starts with '!'"),
        .init(
            name: "a negated tag value",
            yaml: validHeader + "secrets:\n  - select:\n      tags: {team: '!payments'}\n    name: t\n    directory: /d\n",
            location: "11:20",
            message: "starts with '!'"),
        .init(
            name: "tags alone without a name", yaml: validHeader + "secrets:\n  - select:\n      tags: {team: x}\n    directory: /d\n",
            location: "10:5", message: "a selection by tags alone needs a name:"),
        .init(
            name: "tags that are a list", yaml: validHeader + "secrets:\n  - select:\n      tags: [team]\n    name: t\n    directory: /d\n",
            location: "11:13", message: "expected a mapping of tag keys to values"),
        .init(
            name: "id and select", yaml: validHeader + "secrets:\n  - select:\n      name_prefix: p/\n    id: x\n    directory: /d\n",
            location: "12:5", message: "secrets[0].id: unknown key"),
    ]

    @Test("invalid selections name file, line, column and the problem", arguments: bad)
    func invalid(_ bad: ManifestParserTests.Bad) throws {
        let error = try #require(throws: ManifestError.self) { try parse(bad.yaml) }
        let rendered = error.problems.map(\.description).joined(separator: "\n")
        #expect(rendered.contains("/etc/secret-sync/manifest.yaml:\(bad.location): "), "\(rendered)")
        #expect(rendered.contains(bad.message), "\(rendered)")
    }
}
