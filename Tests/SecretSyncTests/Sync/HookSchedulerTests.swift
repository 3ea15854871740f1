import Testing

@testable import SecretSync

@Suite("Hook scheduling")
struct HookSchedulerTests {
    func secrets() throws -> [ManifestEntry] {
        try parse(
            validHeader + """
                region: us-west-2
                secrets:
                  - id: a
                    files: [{path: /a}]
                    on_change: [reload-web, reload-all]
                  - id: b
                    files: [{path: /b}]
                    on_change: [reload-all]
                  - id: c
                    files: [{path: /c}]
                    on_change: [reload-c]

                """
        ).entries
    }

    @Test func eachCommandRunsOnceForEverySecretThatChanged() throws {
        let runs = HookScheduler.schedule(try secrets(), succeeded: ["a", "b", "c"], changed: ["a", "b"], owed: [:])
        #expect(
            runs == [
                .init(command: .shell("reload-web"), secrets: ["a"]), .init(command: .shell("reload-all"), secrets: ["a", "b"]),
            ])
    }

    @Test func aFailedSecretRunsNothingButOwedHooksStillRun() throws {
        let runs = HookScheduler.schedule(
            try secrets(), succeeded: ["b", "c"], changed: ["a", "b"], owed: ["c": [.shell("reload-c")], "a": [.shell("reload-web")]])
        #expect(
            runs == [
                .init(command: .shell("reload-web"), secrets: ["a"]), .init(command: .shell("reload-all"), secrets: ["b"]),
                .init(command: .shell("reload-c"), secrets: ["c"]),
            ])
    }

    @Test func nothingChangedNothingRuns() throws {
        #expect(HookScheduler.schedule(try secrets(), succeeded: ["a", "b", "c"], changed: [], owed: [:]).isEmpty)
    }
}
