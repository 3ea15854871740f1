import Testing

@testable import SecretSync

@Suite("Launch marks")
struct LaunchMarkTests {
    @Test func aMarkIsFoundOnlyAsAWholeEntry() {
        let needle = Array("SECRET_SYNC_LAUNCH=ab12".utf8) + [0]
        #expect(LaunchMark.holds(Array("PATH=/bin\0SECRET_SYNC_LAUNCH=ab12\0HOME=/".utf8), needle))
        #expect(LaunchMark.holds(Array("SECRET_SYNC_LAUNCH=ab12".utf8), needle), "the last entry may lack its NUL")
        #expect(!LaunchMark.holds(Array("SECRET_SYNC_LAUNCH=ab123\0".utf8), needle))
        #expect(!LaunchMark.holds(Array("X=SECRET_SYNC_LAUNCH=ab12\0".utf8), needle))
        #expect(!LaunchMark.holds([], needle))
    }

    @Test func eachLaunchHasItsOwnMark() {
        #expect(LaunchMark().value != LaunchMark().value)
        #expect(LaunchMark().value.count == 32)
    }

    @Test func aChildCarriesTheMarkAndNothingElseDoes() {
        // A marked child is found while it runs: the mark in its environment is what finds it.
        let outcome = ProcessLauncher.run(
            ["/bin/sh", "-c", #"test -n "$SECRET_SYNC_LAUNCH" && printf %s "$SECRET_SYNC_LAUNCH""#], environment: ["PATH": "/bin"],
            output: .capture(limit: 100), deadline: .after(10))
        #expect(outcome.ending == ProcessEnding.exited(0))
        #expect(outcome.stdout.count == 32)
        #expect(LaunchMark().processes().isEmpty)
    }
}
