import Foundation
import Testing

@testable import SecretSync

/// Users and groups as a test host would have them.
struct FakeAccounts: AccountDirectory {
    func user(_ name: String) -> Account? {
        ["root": 0, "myapp": 1001, "nobody": 65534][name].map { Account(name: name, id: $0) }
            ?? UInt32(name).map { Account(name: name, id: $0) }
    }
    func group(_ name: String) -> Account? {
        ["root": 0, "myapp": 1001, "nogroup": 65534][name].map { Account(name: name, id: $0) }
            ?? UInt32(name).map { Account(name: name, id: $0) }
    }
}

let validHeader = """
    version: 1
    auth:
      roles_anywhere:
        certificate: /etc/ira/client.crt
        private_key: /etc/ira/client.key
        trust_anchor_arn: arn:aws:rolesanywhere:us-west-2:111122223333:trust-anchor/TA
        profile_arn: arn:aws:rolesanywhere:us-west-2:111122223333:profile/P
        role_arn: arn:aws:iam::111122223333:role/r

    """

/// The smallest valid secrets section, after a header under test.
let oneFile = "secrets:\n  - id: a\n    files:\n      - path: /x\n"

func parse(_ text: String) throws -> Manifest {
    try ManifestParser(accounts: FakeAccounts(), checkLocalFiles: false).parse(text, path: "/etc/secret-sync/manifest.yaml")
}

@Suite("Manifest")
struct ManifestParserTests {
    @Test func theDesignExampleParses() throws {
        let manifest = try parse(
            validHeader + """
                region: us-west-2
                state_dir: /var/lib/secret-sync
                interval: 5m
                hook_timeout: 30s
                defaults:
                  mode: "0600"
                  owner: root
                  group: root
                secrets:
                  - id: prod/db
                    name: db
                    version_stage: AWSCURRENT
                    files:
                      - path: /etc/myapp/db-password
                        key: password
                        mode: "0640"
                        owner: myapp
                        group: myapp
                      - path: /etc/myapp/db.env
                        format: dotenv
                      - path: /etc/myapp/db.conf
                        template: |
                          user={{username}}
                          password={{password}}
                    env:
                      - name: DB_PASSWORD
                        key: password
                      - prefix: DB_
                    on_change:
                      - systemctl try-reload-or-restart myapp
                      - [/usr/bin/pkill, -HUP, -x, myworker]
                  - id: arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf
                    files:
                      - path: /etc/other
                """)
        #expect(manifest.interval == 300)
        #expect(manifest.hookTimeout == 30)
        let db = manifest.entries[0]
        #expect(db.name == "db")
        #expect(db.region == "us-west-2")
        #expect(db.files.map(\.mode) == [0o640, 0o600, 0o600])
        #expect(db.files[0].owner == Account(name: "myapp", id: 1001))
        #expect(db.files[1].owner == Account(name: "root", id: 0))
        #expect(db.files[0].content == .raw(key: "password"))
        #expect(db.files[1].content == .dotenv)
        #expect(db.files[2].content == .template(.inline(try Template(parsing: "user={{username}}\npassword={{password}}\n"))))
        #expect(db.env == [.variable(name: "DB_PASSWORD", key: "password"), .prefix("DB_")])
        #expect(db.onChange == [.shell("systemctl try-reload-or-restart myapp"), .argv(["/usr/bin/pkill", "-HUP", "-x", "myworker"])])
        #expect(manifest.entries[1].region == "eu-west-1")  // an ARN's region wins
        #expect(manifest.entries[1].name == "arn:aws:secretsmanager:eu-west-1:111122223333:secret:other-AbCdEf")
    }

    @Test(
        "modes are octal as written", arguments: [("\"0640\"", 0o640), ("0640", 0o640), ("640", 0o640), ("'0400'", 0o400), ("0755", 0o755)])
    func modes(_ written: String, _ expected: Int) throws {
        let manifest = try parse(validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mode: \(written)\n")
        #expect(manifest.entries[0].files[0].mode == UInt32(expected))
    }

    @Test func regionFallsBackToTheTrustAnchorsNeverTheInstances() throws {
        let manifest = try parse(validHeader + oneFile)
        #expect(manifest.entries[0].region == "us-west-2")
        let explicit = try parse(
            validHeader
                + "region: eu-central-1\nsecrets:\n  - id: a\n    region: ap-south-1\n    files:\n      - path: /x\n  - id: b\n    files:\n      - path: /y\n"
        )
        #expect(explicit.entries.map(\.region) == ["ap-south-1", "eu-central-1"])
    }

    struct Bad: CustomTestStringConvertible, Sendable {
        let name: String
        let yaml: String
        let location: String
        let message: String
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(
            name: "prune that is not a boolean", yaml: validHeader + "prune: yes\n" + oneFile, location: "9:8",
            message: "'yes' is not true or false"),
        Bad(name: "unknown top-level key", yaml: validHeader + "secret:\n  - id: a\n", location: "9:1", message: "secret: unknown key"),
        Bad(
            name: "misspelt file key", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mdoe: \"0600\"\n",
            location: "13:9", message: "secrets[0].files[0].mdoe: unknown key"),
        Bad(
            name: "missing version", yaml: String(validHeader.dropFirst(11)) + oneFile,
            location: "1:1", message: "missing required key 'version'"),
        Bad(
            name: "version 2",
            yaml: validHeader.replacingOccurrences(of: "version: 1", with: "version: 2")
                + oneFile, location: "1:10", message: "version '2' is not supported"),
        Bad(
            name: "relative path", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: etc/x\n", location: "12:15",
            message: "'etc/x' is a relative path"),
        Bad(
            name: "dot-dot path", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /etc/../x\n", location: "12:15",
            message: "is not a normalised path"),
        Bad(
            name: "duplicate path",
            yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n  - id: b\n    files:\n      - path: /x\n",
            location: "15:15", message: "file /x is written twice (first at line 12)"),
        Bad(
            name: "duplicate name",
            yaml: validHeader
                + "secrets:\n  - id: a\n    name: n\n    files:\n      - path: /x\n  - id: b\n    name: n\n    files:\n      - path: /y\n",
            location: "14:5", message: "secret name 'n' is used twice"),
        Bad(
            name: "decimal-looking mode", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mode: 0x1a0\n",
            location: "13:15", message: "'0x1a0' is not an octal file mode"),
        Bad(
            name: "mode with 8", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mode: \"0680\"\n",
            location: "13:15", message: "'0680' is not an octal file mode"),
        Bad(
            name: "write-only mode", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mode: \"0200\"\n",
            location: "13:15", message: "'0200' lets nobody read the file"),
        Bad(
            name: "setuid mode", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        mode: \"4755\"\n",
            location: "13:15", message: "sets setuid, setgid or sticky bits"),
        Bad(
            name: "unknown user", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        owner: ghost\n",
            location: "13:16", message: "unknown user 'ghost' on this host"),
        Bad(
            name: "unknown group", yaml: validHeader + "defaults:\n  group: ghosts\nsecrets:\n  - id: a\n    files:\n      - path: /x\n",
            location: "10:10", message: "unknown group 'ghosts' on this host"),
        Bad(
            name: "key with template",
            yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        key: k\n        template: \"{{k}}\"\n",
            location: "13:9", message: "key cannot be combined with template"),
        Bad(
            name: "key with format json",
            yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        key: k\n        format: json\n",
            location: "14:9", message: "key: writes one field, which cannot also be format: json"),
        Bad(
            name: "unknown format", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        format: yaml\n",
            location: "13:17", message: "unknown format 'yaml'"),
        Bad(
            name: "unclosed template",
            yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        template: \"a {{b\"\n", location: "13:19",
            message: "has no closing '}}'"),
        Bad(
            name: "invalid env name", yaml: validHeader + "secrets:\n  - id: a\n    env:\n      - name: 1DB\n", location: "12:15",
            message: "'1DB' is not a valid environment variable name"),
        Bad(
            name: "invalid env prefix", yaml: validHeader + "secrets:\n  - id: a\n    env:\n      - prefix: DB-\n", location: "12:17",
            message: "'DB-' cannot start an environment variable name"),
        Bad(
            name: "duplicate env name",
            yaml: validHeader + "secrets:\n  - id: a\n    env:\n      - name: X\n  - id: b\n    env:\n      - name: X\n", location: "13:5",
            message: "environment variable X is set twice"),
        Bad(
            name: "both version selectors",
            yaml: validHeader
                + "secrets:\n  - id: a\n    version_stage: AWSCURRENT\n    version_id: 0123456789abcdef0123456789abcdef\n    files:\n      - path: /x\n",
            location: "11:5", message: "version_stage and version_id are both given"),
        Bad(
            name: "bare number interval", yaml: validHeader + "interval: 300\nsecrets:\n  - id: a\n    files:\n      - path: /x\n",
            location: "9:11", message: "'300' is not a duration"),
        Bad(
            name: "two auth sources",
            yaml:
                "version: 1\nauth:\n  environment: true\n  profile: x\nregion: us-west-2\nsecrets:\n  - id: a\n    files:\n      - path: /x\n",
            location: "3:3", message: "give exactly one of roles_anywhere, environment, profile"),
        Bad(
            name: "no region with environment auth",
            yaml: "version: 1\nauth:\n  environment: true\nsecrets:\n  - id: a\n    files:\n      - path: /x\n", location: "5:9",
            message: "no region for this secret"),
        Bad(
            name: "bad trust anchor ARN",
            yaml: validHeader.replacingOccurrences(of: "trust-anchor/TA", with: "ta/TA")
                + oneFile, location: "6:23", message: "failed to parse trust anchor arn"),
        Bad(
            name: "relative certificate",
            yaml: validHeader.replacingOccurrences(of: "/etc/ira/client.crt", with: "client.crt")
                + oneFile, location: "4:18", message: "'client.crt' is a relative path"),
        Bad(
            name: "PIN inside a PKCS#11 URI",
            yaml: validHeader.replacingOccurrences(of: "/etc/ira/client.key", with: "pkcs11:token=ira;object=k?pin-value=1234")
                + oneFile, location: "5:18",
            message: "the PIN is written into the URI (pin-value)"),
        Bad(
            name: "certificate in a token",
            yaml: validHeader.replacingOccurrences(of: "/etc/ira/client.crt", with: "pkcs11:token=ira;object=c;type=cert")
                + oneFile, location: "4:18",
            message: "the certificate must be a file, not a PKCS#11 URI"),
        Bad(
            name: "TPM handle out of range",
            yaml: validHeader.replacingOccurrences(of: "/etc/ira/client.key", with: "handle:0x01000001")
                + oneFile, location: "5:18", message: "is not a persistent TPM handle"),
        Bad(
            name: "TPM auth file for a token key",
            yaml: validHeader.replacingOccurrences(
                of: "/etc/ira/client.key", with: "pkcs11:token=ira;object=k?pin-source=file:/p\n    tpm_auth_file: /etc/ira/auth")
                + oneFile, location: "6:20",
            message: "tpm_auth_file applies to TPM keys, but private_key is a PKCS#11 URI"),
        Bad(
            name: "not a secret ARN", yaml: validHeader + "secrets:\n  - id: arn:aws:s3:::bucket\n    files:\n      - path: /x\n",
            location: "10:9", message: "is not a Secrets Manager secret ARN"),
        Bad(
            name: "secret with nowhere to go", yaml: validHeader + "secrets:\n  - id: a\n", location: "10:5",
            message: "secret 'a' has neither files: nor env:"),
        Bad(name: "tab indentation", yaml: validHeader + "secrets:\n\t- id: a\n", location: "10:1", message: "YAML syntax"),
        Bad(
            name: "duplicate YAML key", yaml: validHeader + "secrets:\n  - id: a\n    id: b\n    files:\n      - path: /x\n",
            location: "10:5", message: "duplicate key id"),
        Bad(
            name: "empty hook", yaml: validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n    on_change:\n      - []\n",
            location: "14:9", message: "an empty command"),
    ]

    @Test("invalid manifests name file, line, column and the problem", arguments: bad)
    func invalid(_ bad: Bad) throws {
        let error = try #require(throws: ManifestError.self) { try parse(bad.yaml) }
        let rendered = error.problems.map(\.description).joined(separator: "\n")
        #expect(rendered.contains("/etc/secret-sync/manifest.yaml:\(bad.location): "), "\(rendered)")
        #expect(rendered.contains(bad.message), "\(rendered)")
        #expect(error.isUsageError)
    }

    @Test func hardwareKeysParse() throws {
        let uri = "pkcs11:token=ira;object=client-key;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/ira/pin"
        let token = try parse(
            validHeader.replacingOccurrences(of: "/etc/ira/client.key", with: uri) + "secrets:\n  - id: a\n    env:\n      - name: A\n")
        guard case .rolesAnywhere(let configuration) = token.auth, case .pkcs11(let parsed) = configuration.privateKey else {
            Issue.record("a PKCS#11 URI must parse as one")
            return
        }
        #expect(parsed.pinSource == "/etc/ira/pin")
        let handle = try parse(
            validHeader.replacingOccurrences(of: "/etc/ira/client.key", with: "handle:0x81000001\n    tpm_auth_file: /etc/ira/auth")
                + "secrets:\n  - id: a\n    env:\n      - name: A\n")
        guard case .rolesAnywhere(let tpm) = handle.auth else {
            Issue.record("roles_anywhere expected")
            return
        }
        #expect(tpm.privateKey == .tpmHandle(0x8100_0001))
        #expect(tpm.tpmAuthFile == "/etc/ira/auth")
    }

    @Test func everyProblemIsReportedAtOnce() throws {
        let error = try #require(throws: ManifestError.self) {
            try parse(validHeader + "secrets:\n  - id: a\n    files:\n      - path: rel\n        mode: \"9\"\n        owner: ghost\n")
        }
        #expect(error.problems.count == 3)
        #expect(error.message.hasPrefix("invalid manifest /etc/secret-sync/manifest.yaml (3 problems; nothing was changed)\n"))
    }

    @Test func unknownKeysSuggestTheClosestKnownOne() throws {
        let error = try #require(throws: ManifestError.self) {
            try parse(validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        onwer: root\n")
        }
        #expect(error.problems[0].fix?.hasPrefix("did you mean 'owner'?") == true)
    }
}
