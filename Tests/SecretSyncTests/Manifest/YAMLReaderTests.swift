import Testing

@testable import SecretSync

/// The libyaml-based reader under what a hostile or broken manifest can do.
@Suite("YAML reader")
struct YAMLReaderTests {
    func error(_ text: String) -> YAMLError? {
        do {
            _ = try YAMLReader.read(text)
            return nil
        } catch let error as YAMLError {
            return error
        } catch {
            return nil
        }
    }

    @Test func marksAreLinesAndColumnsAsEditorsCountThem() throws {
        let root = try #require(try YAMLReader.read("a: 1\nlist:\n  - 'x'\n  - \"y\"\n"))
        guard case .mapping(let pairs, let mark) = root else {
            Issue.record("not a mapping")
            return
        }
        #expect(mark == YAMLMark(line: 1, column: 1))
        #expect(pairs.map { $0.key.scalar?.string } == ["a", "list"])
        guard case .sequence(let items, let listMark) = pairs[1].value else {
            Issue.record("not a list")
            return
        }
        #expect(listMark == YAMLMark(line: 3, column: 3))
        #expect(items.map { $0.scalar?.style } == [.singleQuoted, .doubleQuoted])
        #expect(pairs[0].value.scalar?.string == "1" && pairs[0].value.scalar?.style == .plain)
    }

    @Test func aliasesAreRefusedSoNothingExpands() {
        #expect(error("a: &x 1\nb: *x\n")?.kind == .alias)
        // The billion laughs: refused at its first alias, before any expansion.
        let laughs = "a: &a [lol, lol]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n"
        let refused = error(laughs)
        #expect(refused?.kind == .alias && refused?.mark == YAMLMark(line: 2, column: 8))
    }

    @Test func deepNestingIsRefused() {
        #expect(error(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))?.kind == .tooDeep)
        #expect(error(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
        #expect(error(String(repeating: "- ", count: 200) + "x\n")?.kind == .tooDeep)
    }

    @Test func duplicateKeysAndSecondDocumentsAreRefused() {
        let duplicate = error("a: 1\nb: 2\na: 3\n")
        #expect(duplicate?.kind == .duplicateKeys && duplicate?.message == "duplicate key a in the same mapping")
        #expect(error("a: 1\n---\nb: 2\n")?.kind == .multipleDocuments)
    }

    @Test func anEmptyTextHasNoRoot() throws {
        #expect(try YAMLReader.read("") == nil)
        #expect(try YAMLReader.read("# only a comment\n") == nil)
    }

    @Test func everyTruncationOfAManifestIsAnswered() {
        // Seeded and bounded: every prefix of a real manifest, and bytes flipped at fixed places.
        let text = validHeader + "secrets:\n  - id: a\n    files:\n      - path: /x\n        template: |\n          u={{u}}\n"
        let bytes = Array(text.utf8)
        for end in 0...bytes.count {
            _ = try? YAMLReader.read(String(decoding: bytes[0..<end], as: UTF8.self))
        }
        var generator = FuzzTests.Generator(state: 7)
        for _ in 0..<500 {
            var mutated = bytes
            let position = Int.random(in: 0..<mutated.count, using: &generator)
            mutated[position] = [UInt8(ascii: "["), UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: ":"), 0x09, 0xff].randomElement(
                using: &generator)!
            _ = try? YAMLReader.read(String(decoding: mutated, as: UTF8.self))
        }
    }
}
