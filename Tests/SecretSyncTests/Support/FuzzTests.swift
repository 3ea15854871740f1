import Foundation
import Testing

@testable import SecretSync

/// Hostile input, generated: the parsers must answer every input with a value or an error,
/// never a crash or a hang. Seeded, so a failure replays; bounded, so CI stays fast.
@Suite("Fuzzing the parsers")
struct FuzzTests {
    /// A small, seedable generator (SplitMix64), so failures are reproducible from the seed.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let seeds: [UInt64] = [1, 2, 3, 4]
    static let iterations = 1500

    func mutate(_ text: [UInt8], _ random: inout Generator) -> [UInt8] {
        var bytes = text
        let pieces: [[UInt8]] = [
            Array(": ".utf8), Array("\n".utf8), Array("  ".utf8), Array("- ".utf8), Array("{{".utf8), Array("}}".utf8),
            Array("&a".utf8), Array("*a".utf8), Array("!!binary ".utf8), Array("\"".utf8), Array("'".utf8), Array("\t".utf8),
            [0], [0xff], [0xc3], Array("[".utf8), Array("{".utf8), Array("0o777".utf8), Array("../".utf8), Array("\\u0000".utf8),
        ]
        for _ in 0..<Int.random(in: 1...6, using: &random) {
            guard !bytes.isEmpty else { break }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes.remove(at: at)
            case 1: bytes.insert(contentsOf: pieces.randomElement(using: &random)!, at: at)
            case 2: bytes[at] = UInt8.random(in: 0...255, using: &random)
            default:
                let end = min(bytes.count, at + Int.random(in: 1...40, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &random))
            }
        }
        return bytes
    }

    @Test("the manifest parser answers every input", arguments: seeds)
    func manifest(seed: UInt64) {
        var random = Generator(state: seed)
        let valid = Array(
            (validHeader + """
                secrets:
                  - id: prod/db
                    files:
                      - path: /etc/x
                        template: "u={{username}}"
                        mode: "0640"
                    env:
                      - prefix: DB_
                    on_change:
                      - [/bin/true, x]
                """).utf8)
        var accepted = 0
        for _ in 0..<Self.iterations {
            let input = String(decoding: mutate(valid, &random), as: UTF8.self)
            do {
                _ = try parse(input)
                accepted += 1
            } catch let error as ManifestError {
                #expect(!error.problems.isEmpty)
            } catch {
                Issue.record("unexpected error type \(type(of: error)) for seed \(seed)")
            }
        }
        #expect(accepted < Self.iterations)  // the mutations do break manifests
    }

    @Test("AWS answers: JSON documents and error bodies", arguments: seeds)
    func awsAnswers(seed: UInt64) {
        var random = Generator(state: seed)
        let samples = [
            #"{"ARN":"a","Name":"n","VersionId":"v","SecretString":"{\"k\":[1,2.5e3,\"\\u00e9\"]}"}"#,
            #"{"SecretValues":[{"ARN":"a","Name":"n","VersionId":"v","SecretBinary":"AAE="}],"Errors":[{"SecretId":"x","ErrorCode":"E","Message":"m"}]}"#,
            #"<ErrorResponse><Error><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>"#,
            #"{"credentialSet":[{"credentials":{"accessKeyId":"A","secretAccessKey":"S","sessionToken":"T","expiration":"2026-01-01T00:00:00Z"}}]}"#,
        ].map { Array($0.utf8) }
        let endpoint = try! Endpoint(url: "https://example", source: "test")
        for index in 0..<Self.iterations {
            let input = mutate(samples[index % samples.count], &random)
            _ = JSONDocument.parse(input)
            let response = HTTPResponse(status: 400, headers: [], body: Data(input))
            let parsed = AWSErrorBody.parse(response)
            #expect(!parsed.code.isEmpty)
            _ = try? RolesAnywhereClient.parseCredentials(Data(input), endpoint: endpoint)
            if let object = JSONDocument.parse(input) {
                _ = try? SecretsManagerClient.secretVersion(object, secretId: "x")
                _ = try? CredentialProcessOutput.parse(input, profile: "p")
            }
            _ = Renderer.isValidEnvironmentName(String(decoding: input.prefix(20), as: UTF8.self))
        }
        // Deep nesting is refused rather than recursing without bound.
        #expect(JSONDocument.parse(Array(String(repeating: "[", count: 100_000).utf8)) == nil)
    }
}
