/// The one rule by which an answer of a batch call is taken for one of its requests — Secrets
/// Manager's `BatchGetSecretValue`, Parameter Store's `GetParameters`, and whatever batch or paged
/// call comes next: an answer is used only for the request it provably answers.
///
/// Answers carry names, and two accounts (or two regions) can each have a resource of one name,
/// so "the first that fits" is never enough. An ARN request matches only by ARN. A name request
/// matches a same-named answer of the request's region, and only when exactly one resource of that
/// name answered at all and no ARN request of the call claims it. Anything else is not certain:
/// the caller asks again alone, or refuses.
struct AnswerMatcher: Sendable {
    /// What the matcher needs of an answer.
    struct Answer: Sendable {
        let arn: String?
        let name: String?
    }

    /// Whether the ARN request `id` names the resource `arn` (Secrets Manager also takes a
    /// partial ARN, without its 6-character suffix).
    let namesByARN: @Sendable (_ id: String, _ arn: String) -> Bool
    /// The region the call was signed for.
    let region: String
    /// Every id of the call, to see which ARN requests claim which answers.
    let requested: [String]

    static func isARN(_ id: String) -> Bool { id.hasPrefix("arn:") }

    /// Whether `answer` could be `id`'s: its ARN for an ARN request; else its name, in this region.
    func fits(_ id: String, _ answer: Answer) -> Bool {
        guard let arn = answer.arn else { return false }
        if Self.isARN(id) { return namesByARN(id, arn) }
        return answer.name.map { Self.sameName($0, id) } == true && ARN(arn)?.region == region
    }

    /// The index in `answers` of the one answer that is `id`'s, or nil when there is none or it
    /// is not certain. `accepting` adds the caller's own condition (the version asked for).
    func match(_ id: String, among answers: [Answer], accepting: (Int) -> Bool = { _ in true }) -> Int? {
        let candidates = answers.indices.filter { fits(id, answers[$0]) && accepting($0) }
        guard let first = candidates.first, Set(candidates.compactMap { answers[$0].arn }).count == 1,
            let arn = answers[first].arn
        else { return nil }
        if !Self.isARN(id) {
            let sameName = Set(answers.filter { $0.name.map { Self.sameName($0, id) } == true }.map { $0.arn ?? "" })
            let claimedByARN = requested.contains { Self.isARN($0) && namesByARN($0, arn) }
            guard sameName.count == 1, !claimedByARN else { return nil }
        }
        return first
    }

    /// Names are compared as written, byte for byte: Swift's `==` on strings is canonical
    /// equivalence, under which `cafe\u{301}` and `caf\u{e9}` would be one name.
    static func sameName(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}
