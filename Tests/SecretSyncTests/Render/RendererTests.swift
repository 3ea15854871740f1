import Foundation
import Testing

@testable import SecretSync

func stringSecret(_ text: String) -> ValuePayload { ValuePayload(kind: .string, bytes: Array(text.utf8)) }

@Suite("Rendering")
struct RendererTests {
    /// A file's bytes from a value, parsed once as every pass does.
    func render(_ content: FileContent, _ payload: ValuePayload) throws -> [UInt8] {
        try Renderer.render(content, ParsedValue(payload))
    }

    let secret = stringSecret(#"{"username":"app","password":"p\"w$`\\x","port":5432,"ratio":1.50,"flags":{"a":1},"ok":true,"none":null}"#)

    @Test func rawIsByteForByte() throws {
        #expect(try render(.raw(key: nil), stringSecret("no newline")) == Array("no newline".utf8))
        let binary = ValuePayload(kind: .binary, bytes: [0, 255, 10, 13])
        #expect(try render(.raw(key: nil), binary) == [0, 255, 10, 13])
    }

    @Test func keyWritesTheFieldsTextOrItsJSON() throws {
        func field(_ key: String) throws -> String { String(decoding: try render(.raw(key: key), secret), as: UTF8.self) }
        #expect(try field("username") == "app")
        #expect(try field("password") == #"p"w$`\x"#)
        #expect(try field("port") == "5432")
        #expect(try field("ratio") == "1.50")  // as written, not reformatted
        #expect(try field("flags") == #"{"a":1}"#)
        #expect(try field("ok") == "true")
        #expect(try field("none") == "null")
    }

    @Test func aMissingFieldIsAnErrorThatNamesNoValue() throws {
        let error = try #require(throws: RenderError.self) { try render(.raw(key: "pasword"), secret) }
        #expect(
            error.message == "field 'pasword' is missing from the secret (fields present: username, password, port, ratio, flags, ok, none)"
        )
        #expect(!error.message.contains("5432"))
        #expect(throws: RenderError.self) { try render(.raw(key: "a"), stringSecret("plain text")) }
        #expect(throws: RenderError.self) { try render(.json, stringSecret("[1,2]")) }
        #expect(throws: RenderError.self) { try render(.dotenv, ValuePayload(kind: .binary, bytes: [1])) }
    }

    @Test func templatesFillFields() throws {
        let template = try Template(parsing: "user={{username}}\nport={{ port }}\n")
        #expect(String(decoding: try render(.template(.inline(template)), secret), as: UTF8.self) == "user=app\nport=5432\n")
        let missing = try Template(parsing: "{{nope}}")
        #expect(throws: RenderError.self) { try render(.template(.inline(missing)), secret) }
    }

    /// What a shell reads back from the dotenv file must be exactly the field's text.
    @Test func dotenvReadsBackExactlyInAShell() throws {
        let tricky = #"{"A":"p\"w$`\\x 'q' $(id) ${HOME}","B":"line1\nline2","C":"trailing \\","D":" spaced ","E":7}"#
        let text = try render(.dotenv, stringSecret(tricky))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("env")
        try Data(text).write(to: file)
        let expected = JSONDocument.parse(Array(tricky.utf8))!
        for name in ["A", "B", "C", "D", "E"] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", ". \"$1\" && printf %s \"$\(name)\"", "sh", file.path]
            process.environment = ["PATH": "/usr/bin:/bin"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let output = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            #expect(String(decoding: output, as: UTF8.self) == expected[name]!.fieldText, "\(name)")
        }
    }

    @Test func dotenvRefusesNamesThatWouldInjectLines() throws {
        let error = try #require(throws: RenderError.self) { try render(.dotenv, stringSecret(#"{"A\nB":"x"}"#)) }
        #expect(error.message.contains("is not a valid environment variable name"))
        #expect(throws: RenderError.self) { try render(.dotenv, stringSecret(#"{"A":"x\u0000y"}"#)) }
    }

    @Test func jsonDocumentParsing() {
        #expect(JSONDocument.parse(Array(#"{"a":[1,-2.5e3,"\u00e9\ud83d\ude00"],"b":{}}"#.utf8))?.text == #"{"a":[1,-2.5e3,"é😀"],"b":{}}"#)
        for invalid in ["", "{", #"{"a":01}"#, #"{"a":1,}"#, "[1] x", #""\x""#, "\"a\u{01}\""] {
            #expect(JSONDocument.parse(Array(invalid.utf8)) == nil, "\(invalid)")
        }
        #expect(JSONDocument.parse([0x22, 0xff, 0x22]) == nil)  // invalid UTF-8 is refused, never replaced
    }

    @Test func payloadsNeverPrintTheirValue() {
        let payload = stringSecret("hunter2")
        #expect("\(payload)" == "<redacted SecretString, 7 bytes>")
        #expect(!String(reflecting: payload).contains("hunter2"))
        #expect(!"\(RedactedString("hunter2"))".contains("hunter2"))
    }
}
