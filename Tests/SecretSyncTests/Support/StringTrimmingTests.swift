import Testing

@testable import SecretSync

@Suite("Trimming")
struct StringTrimmingTests {
    @Test(arguments: [
        ("", ""), ("   ", ""), ("a", "a"), (" \t a b \t ", "a b"), ("\n a \r\n", "a"), ("é ", "é"),
        ("\u{2003}x\u{00A0}", "x"),  // Unicode white space counts for `trimmed`
    ])
    func trimmedDropsWhiteSpaceAtBothEnds(input: String, expected: String) {
        #expect(input.trimmed == expected)
        #expect(input[...].trimmed == expected)
    }

    @Test(arguments: [("", ""), (" \t", ""), ("\t-----BEGIN X----- ", "-----BEGIN X-----"), (" a\n", "a\n"), ("\na ", "\na")])
    func trimmedSpacesKeepsLineBreaks(input: String, expected: String) {
        #expect(input.trimmedSpaces == expected)
    }
}
