import Testing

@testable import SecretSync

@Suite("Manifest: Parameter Store entries")
struct ParameterManifestTests {
    @Test func parametersSitBesideSecretsWithTheSameOutputs() throws {
        let manifest = try parse(
            validHeader + """
                secrets:
                  - id: prod/db
                    files:
                      - path: /etc/app/db
                parameters:
                  - id: /prod/app/db-url
                    name: db-url
                    files:
                      - path: /etc/app/db-url
                    env:
                      - name: DB_URL
                    on_change: [reload-app]
                  - id: /prod/app/flags
                    version: 3
                    env:
                      - prefix: FLAG_
                  - id: arn:aws:ssm:eu-west-1:444455556666:parameter/shared/key
                    name: shared
                    label: prod
                    env:
                      - name: SHARED

                """)
        #expect(manifest.entries.map(\.source.service) == [.secretsManager, .parameterStore, .parameterStore, .parameterStore])
        #expect(manifest.entries.map(\.name) == ["prod/db", "db-url", "/prod/app/flags", "shared"])
        #expect(
            manifest.entries.map(\.source) == [
                .secret(id: "prod/db", version: .current), .parameter(id: "/prod/app/db-url", version: .latest),
                .parameter(id: "/prod/app/flags", version: .number(3)),
                .parameter(id: "arn:aws:ssm:eu-west-1:444455556666:parameter/shared/key", version: .label("prod")),
            ])
        #expect(manifest.entries.map(\.region) == ["us-west-2", "us-west-2", "us-west-2", "eu-west-1"])
        #expect(manifest.entries[1].onChange == [.shell("reload-app")])
        #expect(Plan.count(manifest) == "1 secret, 3 parameters")
        #expect(
            Plan.manifest(manifest).contains(
                "parameter shared: arn:aws:ssm:eu-west-1:444455556666:parameter/shared/key (label prod, region eu-west-1)"))
    }

    @Test func aManifestOfParametersAloneIsValid() throws {
        let manifest = try parse(validHeader + "parameters:\n  - id: /a\n    files:\n      - path: /x\n")
        #expect(manifest.entries.count == 1)
        #expect(Plan.count(manifest) == "1 parameter")
    }

    @Test func aPathEntryTakesEveryParameterBelowIt() throws {
        let manifest = try parse(
            validHeader + """
                parameters:
                  - path: /prod/app/flags/
                    name: flags
                    directory: /etc/app/flags
                    mode: "0640"
                    group: myapp
                    env:
                      - prefix: FLAG_
                    on_change: [reload]

                """)
        let entry = try #require(manifest.entries.first)
        let directory = try #require(entry.directory)
        #expect(entry.source == .parameterPath("/prod/app/flags/") && entry.name == "flags" && entry.writesFiles)
        #expect(directory.path == "/etc/app/flags" && directory.mode == 0o640 && directory.group?.id == 1001)
        #expect(entry.source.relativeName(of: "/prod/app/flags/a/b") == "a/b")
        #expect(entry.source.relativeName(of: "/prod/app/flagsx") == nil)
        #expect(Plan.manifest(manifest).first == "parameters flags: every parameter under /prod/app/flags/ (region us-west-2)")
    }

    static let bad: [ManifestParserTests.Bad] = [
        .init(
            name: "neither secrets nor parameters", yaml: validHeader + "region: us-west-2\n", location: "1:1",
            message: "missing required key 'secrets'"),
        .init(
            name: "empty parameters list", yaml: validHeader + oneFile + "parameters: []\n", location: "13:13",
            message: "parameters: the list is empty"),
        .init(
            name: "a selector in the id", yaml: validHeader + "parameters:\n  - id: /a:3\n    env:\n      - name: A\n", location: "10:9",
            message: "'/a:3' has a ':'"),
        .init(
            name: "a hierarchy without its leading slash",
            yaml: validHeader + "parameters:\n  - id: prod/a\n    env:\n      - name: A\n", location: "10:9",
            message: "'prod/a' is not a parameter name"),
        .init(
            name: "a space in the name", yaml: validHeader + "parameters:\n  - id: /a b\n    env:\n      - name: A\n", location: "10:9",
            message: "'/a b' is not a parameter name"),
        .init(
            name: "a secret's ARN as a parameter",
            yaml: validHeader + "parameters:\n  - id: arn:aws:secretsmanager:us-west-2:1:secret:x\n    env:\n      - name: A\n",
            location: "10:9", message: "is not a Parameter Store parameter ARN"),
        .init(
            name: "version and label",
            yaml: validHeader + "parameters:\n  - id: /a\n    version: 2\n    label: prod\n    env:\n      - name: A\n",
            location: "11:5", message: "version and label are both given"),
        .init(
            name: "version zero", yaml: validHeader + "parameters:\n  - id: /a\n    version: 0\n    env:\n      - name: A\n",
            location: "11:14", message: "'0' is not a parameter version"),
        .init(
            name: "a numeric label", yaml: validHeader + "parameters:\n  - id: /a\n    label: \"12\"\n    env:\n      - name: A\n",
            location: "11:12", message: "'12' is not a parameter label"),
        .init(
            name: "a secret's key on a parameter",
            yaml: validHeader + "parameters:\n  - id: /a\n    version_stage: AWSCURRENT\n    env:\n      - name: A\n", location: "11:5",
            message: "parameters[0].version_stage: unknown key"),
        .init(
            name: "one name for a secret and a parameter",
            yaml: validHeader + oneFile + "parameters:\n  - id: /p\n    name: a\n    env:\n      - name: P\n", location: "14:5",
            message: "parameter name 'a' is used twice"),
        .init(
            name: "one file from a secret and a parameter",
            yaml: validHeader + oneFile + "parameters:\n  - id: /p\n    files:\n      - path: /x\n", location: "16:15",
            message: "file /x is written twice"),
        .init(
            name: "a path not starting with /", yaml: validHeader + "parameters:\n  - path: prod/app\n    directory: /d\n",
            location: "10:11", message: "is not a parameter path"),
        .init(
            name: "a path entry going nowhere", yaml: validHeader + "parameters:\n  - path: /prod/app\n", location: "10:5",
            message: "parameters under '/prod/app' have neither directory: nor env:"),
        .init(
            name: "one variable for many parameters",
            yaml: validHeader + "parameters:\n  - path: /prod/app\n    env:\n      - name: APP\n", location: "12:7",
            message: "name: APP cannot stand for every one of the parameters under"),
        .init(
            name: "a mode without a directory",
            yaml: validHeader + "parameters:\n  - path: /prod/app\n    mode: \"0600\"\n    env:\n      - prefix: A_\n", location: "11:5",
            message: "mode applies to the files of directory:"),
        .init(
            name: "a file inside a path entry's directory",
            yaml: validHeader
                + "secrets:\n  - id: s\n    files:\n      - path: /d/s\nparameters:\n  - path: /prod/app\n    directory: /d\n",
            location: "12:15", message: "file /d/s is inside directory /d of /prod/app"),
        .init(
            name: "nested directories",
            yaml: validHeader + "parameters:\n  - path: /a\n    directory: /d\n  - path: /b\n    directory: /d/b\n", location: "12:5",
            message: "directory /d/b of /b is inside directory /d of /a"),
    ]

    @Test("invalid parameter entries name file, line, column and the problem", arguments: bad)
    func invalid(_ bad: ManifestParserTests.Bad) throws {
        let error = try #require(throws: ManifestError.self) { try parse(bad.yaml) }
        let rendered = error.problems.map(\.description).joined(separator: "\n")
        #expect(rendered.contains("/etc/secret-sync/manifest.yaml:\(bad.location): "), "\(rendered)")
        #expect(rendered.contains(bad.message), "\(rendered)")
    }
}
