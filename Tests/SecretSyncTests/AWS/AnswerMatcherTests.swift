import Testing

@testable import SecretSync

@Suite("Answer matcher")
struct AnswerMatcherTests {
    static let mine = "arn:aws:ssm:us-west-2:111111111111:parameter/app/db"
    static let otherAccount = "arn:aws:ssm:us-west-2:222222222222:parameter/app/db"
    static let otherRegion = "arn:aws:ssm:eu-central-1:111111111111:parameter/app/db"

    func matcher(_ requested: [String]) -> AnswerMatcher {
        AnswerMatcher(namesByARN: AnswerMatcher.sameName, region: "us-west-2", requested: requested)
    }

    func answer(_ arn: String, _ name: String = "/app/db") -> AnswerMatcher.Answer { .init(arn: arn, name: name) }

    @Test func aNameMatchesTheOneSameNamedAnswerOfItsRegion() {
        #expect(matcher(["/app/db"]).match("/app/db", among: [answer(Self.mine)]) == 0)
    }

    @Test(arguments: [otherAccount, otherRegion])
    func aSecondSameNamedAnswerMakesANameAmbiguousWhereverItStands(twin: String) {
        #expect(matcher(["/app/db"]).match("/app/db", among: [answer(twin), answer(Self.mine)]) == nil)
        #expect(matcher(["/app/db"]).match("/app/db", among: [answer(Self.mine), answer(twin)]) == nil)
    }

    @Test func anARNRequestTakesOnlyItsARN() {
        let answers = [answer(Self.otherAccount), answer(Self.mine)]
        #expect(matcher([Self.mine]).match(Self.mine, among: answers) == 1)
        #expect(matcher([Self.otherRegion]).match(Self.otherRegion, among: answers) == nil)
    }

    @Test func aNameClaimedByAnARNRequestOfTheCallIsNotTaken() {
        let requested = [Self.mine, "/app/db"]
        #expect(matcher(requested).match("/app/db", among: [answer(Self.mine)]) == nil)
    }

    @Test func anAnswerOfAnotherRegionIsNeverANamesAnswer() {
        #expect(matcher(["/app/db"]).match("/app/db", among: [answer(Self.otherRegion)]) == nil)
    }

    @Test func anAnswerWithoutAnARNCannotBeProven() {
        #expect(matcher(["/app/db"]).match("/app/db", among: [AnswerMatcher.Answer(arn: nil, name: "/app/db")]) == nil)
    }

    @Test func namesAreComparedAsWrittenNotByUnicodeEquivalence() {
        let composed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(composed == decomposed)  // Swift's String ==, which must not decide
        let arn = "arn:aws:ssm:us-west-2:111111111111:parameter/" + composed
        #expect(matcher([decomposed]).match(decomposed, among: [answer(arn, composed)]) == nil)
        #expect(matcher([composed]).match(composed, among: [answer(arn, composed)]) == 0)
    }

    @Test func theCallersConditionNarrowsTheCandidates() {
        #expect(matcher(["/app/db"]).match("/app/db", among: [answer(Self.mine)], accepting: { _ in false }) == nil)
    }

    @Test func secretsManagerTakesAPartialARN() {
        let full = "arn:aws:secretsmanager:us-west-2:111111111111:secret:prod/db-AbCdEf"
        #expect(SecretsManagerClient.namesByARN("arn:aws:secretsmanager:us-west-2:111111111111:secret:prod/db", full))
        #expect(!SecretsManagerClient.namesByARN("arn:aws:secretsmanager:us-west-2:111111111111:secret:prod", full))
    }
}
