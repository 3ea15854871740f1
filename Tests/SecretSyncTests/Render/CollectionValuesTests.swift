import Testing

@testable import SecretSync

@Suite("Values of a path: entry")
struct CollectionValuesTests {
    func entry(directory: String? = "/etc/app/flags", env: [EnvSpec] = []) -> ManifestEntry {
        ManifestEntry(
            name: "flags", collection: .parameterPath("/prod/app"), region: "us-west-2",
            directory: directory.map { CollectionDirectory(path: $0, mode: 0o640, owner: nil, group: nil) }, env: env, onChange: [],
            location: SourceLocation(file: "m", line: 1, column: 1))
    }

    func version(_ name: String, _ value: String, _ number: Int = 1) -> StoredValue {
        StoredValue(
            arn: "arn:aws:ssm:us-west-2:1:parameter\(name)", name: name, versionId: String(number),
            payload: .init(kind: .string, bytes: Array(value.utf8)))
    }

    @Test func eachValueGoesUnderTheRestOfItsName() throws {
        let values = try CollectionValues(entry: entry(), versions: [version("/prod/app/z", "1"), version("/prod/app/deep/er/a", "2")])
        #expect(values.targets.map(\.path) == ["/etc/app/flags/deep/er/a", "/etc/app/flags/z"])
        #expect(values.targets.allSatisfy { $0.mode == 0o640 })
        #expect(values.targets.map { String(decoding: $0.bytes, as: UTF8.self) } == ["2", "1"])
    }

    @Test(arguments: ["/prod/app/../etc/shadow", "/prod/app/a//b", "/prod/app/./x", "/prod/app/a/", "/prod/other/x", "/prod/apple"])
    func namesThatCannotBeFilesUnderTheDirectoryAreRefused(name: String) {
        #expect(throws: RenderError.self) { try CollectionValues(entry: entry(), versions: [version(name, "x")]) }
    }

    @Test func twoValuesOfOneNameAreRefused() {
        #expect(throws: RenderError.self) {
            try CollectionValues(entry: entry(), versions: [version("/prod/app/a", "x"), version("/prod/app/a", "y", 2)])
        }
    }

    @Test func theVersionFollowsNamesAndVersionsButNotOrder() throws {
        let a = try CollectionValues(entry: entry(), versions: [version("/prod/app/a", "x"), version("/prod/app/b", "y")])
        let reordered = try CollectionValues(entry: entry(), versions: [version("/prod/app/b", "y"), version("/prod/app/a", "x")])
        let newVersion = try CollectionValues(entry: entry(), versions: [version("/prod/app/a", "x", 2), version("/prod/app/b", "y")])
        let removed = try CollectionValues(entry: entry(), versions: [version("/prod/app/a", "x")])
        #expect(a.versionId == reordered.versionId)
        #expect(a.versionId.hasPrefix("2 values, "))
        #expect(Set([a.versionId, newVersion.versionId, removed.versionId]).count == 3)
        // A value's content is not part of it: the versions say when it changed.
        let sameVersionOtherValue = try CollectionValues(
            entry: entry(), versions: [version("/prod/app/a", "other"), version("/prod/app/b", "y")])
        #expect(a.versionId == sameVersionOtherValue.versionId)
    }

    @Test func variablesAreThePrefixAndTheNameUpperCased() throws {
        let values = try CollectionValues(
            entry: entry(env: [.prefix("FLAG_")]), versions: [version("/prod/app/new-ui", "on"), version("/prod/app/db/url", "pg")])
        #expect(try values.variables().map { "\($0.name)=\($0.value)" } == ["FLAG_DB_URL=pg", "FLAG_NEW_UI=on"])
    }

    @Test func variablesThatCollideOrAreProtectedAreRefused() throws {
        let colliding = try CollectionValues(
            entry: entry(env: [.prefix("F_")]), versions: [version("/prod/app/a-b", "1"), version("/prod/app/a.b", "2")])
        #expect(throws: RenderError.self) { try colliding.variables() }
        let protected = try CollectionValues(entry: entry(env: [.prefix("LD_")]), versions: [version("/prod/app/preload", "/tmp/evil.so")])
        #expect(throws: RenderError.self) { try protected.variables() }
    }
}
