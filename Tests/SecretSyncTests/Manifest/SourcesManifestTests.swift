import Testing

@testable import SecretSync

@Suite("Manifest: selections and region failover")
struct SourcesManifestTests {
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
        #expect(entry.source.service == .secretsManager && entry.name == "app" && entry.directory != nil)
        #expect(
            entry.source
                == .secretSelection(
                    SecretSelection(
                        namePrefix: "prod/app/", tags: [SecretTag(key: "env", value: "prod"), SecretTag(key: "team", value: "payments")])))
        #expect(entry.source.relativeName(of: "prod/app/db") == "db" && entry.source.relativeName(of: "prod/application") == nil)
        #expect(entry.source.id == "name_prefix=prod/app/ tag env=prod tag team=payments")
    }

    @Test func fallbacksParse() throws {
        let manifest = try parse(
            validHeader.replacingOccurrences(
                of: "    role_arn: arn:aws:iam::111122223333:role/r\n",
                with:
                    "    role_arn: arn:aws:iam::111122223333:role/r\n    fallback:\n      - trust_anchor_arn: arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/T2\n        profile_arn: arn:aws:rolesanywhere:us-east-1:111122223333:profile/P2\n"
            ) + "fallback_regions: [us-east-1, eu-west-1]\n" + oneFile)
        #expect(manifest.fallbackRegions == ["us-east-1", "eu-west-1"])
        guard case .rolesAnywhere(let configuration) = manifest.auth else {
            Issue.record("roles_anywhere expected")
            return
        }
        #expect(configuration.fallbacks.map(\.trustAnchorArn) == ["arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/T2"])
        let alternative = try configuration.using(configuration.fallbacks[0]).resolve()
        #expect(alternative.region == "us-east-1")
        #expect(Plan.manifest(manifest).first?.hasPrefix("fallback regions: us-east-1, eu-west-1") == true)
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
        .init(
            name: "a fallback region listed twice", yaml: validHeader + "fallback_regions: [us-east-1, us-east-1]\n" + oneFile,
            location: "9:19", message: "a region is listed twice"),
        .init(
            name: "the primary region as a fallback", yaml: validHeader + "region: us-west-2\nfallback_regions: [us-west-2]\n" + oneFile,
            location: "10:20", message: "us-west-2 is the primary region"),
        .init(
            name: "a fallback that is not a region", yaml: validHeader + "fallback_regions: [evil.example]\n" + oneFile, location: "9:20",
            message: "'evil.example' is not an AWS region name"),
        .init(
            name: "a fallback trust anchor in the primary region",
            yaml: validHeader.replacingOccurrences(
                of: "    role_arn: arn:aws:iam::111122223333:role/r\n",
                with:
                    "    role_arn: arn:aws:iam::111122223333:role/r\n    fallback:\n      - trust_anchor_arn: arn:aws:rolesanywhere:us-west-2:111122223333:trust-anchor/T2\n        profile_arn: arn:aws:rolesanywhere:us-west-2:111122223333:profile/P2\n"
            )
                + oneFile, location: "10:27", message: "this trust anchor is in the primary region us-west-2"),
        .init(
            name: "a fallback whose profile is in another region",
            yaml: validHeader.replacingOccurrences(
                of: "    role_arn: arn:aws:iam::111122223333:role/r\n",
                with:
                    "    role_arn: arn:aws:iam::111122223333:role/r\n    fallback:\n      - trust_anchor_arn: arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/T2\n        profile_arn: arn:aws:rolesanywhere:eu-west-1:111122223333:profile/P2\n"
            )
                + oneFile, location: "11:22", message: "trust anchor and profile regions don't match"),
    ]

    @Test("invalid selections name file, line, column and the problem", arguments: bad)
    func invalid(_ bad: ManifestParserTests.Bad) throws {
        let error = try #require(throws: ManifestError.self) { try parse(bad.yaml) }
        let rendered = error.problems.map(\.description).joined(separator: "\n")
        #expect(rendered.contains("/etc/secret-sync/manifest.yaml:\(bad.location): "), "\(rendered)")
        #expect(rendered.contains(bad.message), "\(rendered)")
    }
}
