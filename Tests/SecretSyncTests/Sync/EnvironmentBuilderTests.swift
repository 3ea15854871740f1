import Foundation
import Testing

@testable import SecretSync

@Suite("Environment for run")
struct EnvironmentBuilderTests {
    func variable(_ name: String, _ value: String, explicit: Bool, secret: String = "s") -> EntryVariable {
        .init(name: name, value: value, explicit: explicit, entry: secret)
    }

    @Test func explicitNamesWinOverPrefixes() throws {
        let merged = try EnvironmentBuilder.merge([
            variable("DB_PASSWORD", "from-prefix", explicit: false), variable("DB_PASSWORD", "explicit", explicit: true),
            variable("DB_USER", "app", explicit: false),
        ])
        #expect(merged.map(\.name) == ["DB_PASSWORD", "DB_USER"])
        #expect(merged[0].value == "explicit")
    }

    @Test func prefixesThatDisagreeAreRefused() throws {
        #expect(throws: RenderError.self) {
            try EnvironmentBuilder.merge([
                variable("X_A", "1", explicit: false, secret: "one"), variable("X_A", "2", explicit: false, secret: "two"),
            ])
        }
        #expect(try EnvironmentBuilder.merge([variable("X_A", "1", explicit: false), variable("X_A", "1", explicit: false)]).count == 1)
    }

    @Test func credentialsAreWithheldAndPristineKeepsTheAllowlist() {
        let parent = ["PATH": "/bin", "AWS_SECRET_ACCESS_KEY": "k", "AWS_REGION": "cn-north-1", "MINE": "x", "TOKEN": "old"]
        let normal = EnvironmentBuilder(parent: parent, pristine: false, keepAWSCredentials: false).build([("TOKEN", "new")])
        #expect(normal.environment == ["PATH": "/bin", "AWS_REGION": "cn-north-1", "MINE": "x", "TOKEN": "new"])
        #expect(normal.overridden == ["TOKEN"])
        let pristine = EnvironmentBuilder(parent: parent, pristine: true, keepAWSCredentials: false).build([("TOKEN", "new")])
        #expect(pristine.environment == ["PATH": "/bin", "TOKEN": "new"])
        #expect(pristine.overridden.isEmpty)
        #expect(
            EnvironmentBuilder(parent: parent, pristine: false, keepAWSCredentials: true).build([]).environment["AWS_SECRET_ACCESS_KEY"]
                == "k")
    }

    @Test func commandsAreFoundLikeAShellFindsThem() throws {
        #expect(try CommandLocator.locate("sh", path: "/nonexistent:/bin") == "/bin/sh")
        let missing = try #require(throws: CommandLocator.Failure.self) { try CommandLocator.locate("sh", path: "/nonexistent") }
        #expect(missing.exitStatus == 127)
        let directory = try #require(throws: CommandLocator.Failure.self) { try CommandLocator.locate("/tmp", path: nil) }
        #expect(directory.exitStatus == 126)
    }
}
