import Testing

@testable import SecretSync

@Suite("An entry's values: its files and variables")
struct EntryValuesTests {
    let location = SourceLocation(file: "m", line: 1, column: 1)

    func value(_ text: String, name: String = "app/db") -> StoredValue {
        StoredValue(
            arn: "arn:aws:secretsmanager:us-west-2:1:secret:\(name)-AbCdEf", name: name, versionId: "v1", payload: stringSecret(text))
    }

    func single(files: [FileSpec] = [], env: [EnvSpec] = []) -> ManifestEntry {
        ManifestEntry(
            name: "db", source: .secret(id: "app/db", version: .current), region: "us-west-2", files: files, env: env, onChange: [],
            location: location)
    }

    @Test func oneValueMakesEveryFileAndVariableOfItsEntry() throws {
        let entry = single(
            files: [
                FileSpec(path: "/etc/app/user", content: .raw(key: "user"), mode: 0o600, owner: nil, group: nil, location: location),
                FileSpec(
                    path: "/etc/app/url", content: .template(.inline(try Template(parsing: "pg://{{user}}@{{host}}"))), mode: 0o640,
                    owner: nil, group: nil, location: location),
            ],
            env: [.variable(name: "DB_USER", key: "user"), .prefix("DB_")])
        let values = try EntryValues(entry, fetched: .one(value(#"{"user":"app","host":"db.internal"}"#)))
        let files = try values.files()
        #expect(files.map(\.path) == ["/etc/app/user", "/etc/app/url"])
        #expect(files.map { String(decoding: $0.bytes, as: UTF8.self) } == ["app", "pg://app@db.internal"])
        #expect(files.map(\.mode) == [0o600, 0o640])
        let variables = try values.variables()
        #expect(variables.map { "\($0.name)=\($0.value)" } == ["DB_USER=app", "DB_USER=app", "DB_HOST=db.internal"])
        #expect(variables.map(\.explicit) == [true, false, false] && variables.allSatisfy { $0.entry == "db" })
        #expect(values.versionId == "v1" && values.arn.hasSuffix(":secret:app/db-AbCdEf") && values.servedBy == nil)
    }

    @Test func aFileThatCannotBeRenderedIsNamedInTheError() throws {
        let entry = single(files: [
            FileSpec(path: "/etc/app/pw", content: .raw(key: "password"), mode: 0o600, owner: nil, group: nil, location: location)
        ])
        let error = try #require(throws: RenderError.self) {
            try EntryValues(entry, fetched: .one(value(#"{"user":"app"}"#))).files()
        }
        #expect(error.message.hasPrefix("secret db, file /etc/app/pw: field 'password' is missing"))
        #expect(!error.message.contains("app\""))
    }

    @Test func aFetchOfTheWrongShapeIsRefusedNotGuessed() {
        #expect(throws: UnexpectedError.self) { try EntryValues(single(), fetched: .many([value("x")])) }
        let path = ManifestEntry(
            name: "flags", collection: .parameterPath("/app"), region: "us-west-2", directory: nil, env: [.prefix("F_")],
            onChange: [], location: location)
        #expect(throws: UnexpectedError.self) { try EntryValues(path, fetched: .one(value("x"))) }
    }
}
