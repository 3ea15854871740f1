import Foundation
import Testing

@testable import SecretSync

/// Every manifest under examples/ must parse: documentation that does not work is worse than none.
@Suite("Examples")
struct ExampleManifestTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

    static var manifests: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func thereAreExamples() {
        #expect(Self.manifests.contains("manifest.yaml"))
    }

    @Test("parses", arguments: manifests)
    func parses(_ name: String) throws {
        // The example names files and users of the target instance, not of this machine.
        let manifest = try ManifestParser(accounts: FakeAccounts(), checkLocalFiles: false)
            .load(path: Self.directory.appendingPathComponent(name).path)
        #expect(!manifest.entries.isEmpty)
    }

    @Test func theSourcesExampleUsesEveryOneOfThem() throws {
        let manifest = try ManifestParser(accounts: FakeAccounts(), checkLocalFiles: false)
            .load(path: Self.directory.appendingPathComponent("manifest-sources.yaml").path)
        #expect(manifest.prune && manifest.fallbackRegions == ["us-east-1"])
        guard case .rolesAnywhere(let configuration) = manifest.auth else {
            Issue.record("the example authenticates with Roles Anywhere")
            return
        }
        #expect(configuration.fallbacks.count == 1)
        let sources = manifest.entries.map { entry -> String in
            switch entry.source {
            case .parameterPath: return "path"
            case .secretSelection: return "select"
            case .secret, .parameter: return entry.source.service.noun
            }
        }
        #expect(Set(sources) == ["secret", "parameter", "path", "select"])
    }

    @Test func theHardwareKeyExamplesNameTheirKeys() throws {
        func configuration(_ name: String) throws -> RolesAnywhereConfiguration? {
            let manifest = try ManifestParser(accounts: FakeAccounts(), checkLocalFiles: false)
                .load(path: Self.directory.appendingPathComponent(name).path)
            guard case .rolesAnywhere(let configuration) = manifest.auth else { return nil }
            return configuration
        }
        let tpm = try #require(try configuration("manifest-tpm.yaml"))
        #expect(tpm.privateKey == .file("/etc/ira/client.tss2.pem"))
        #expect(tpm.tpmAuthFile == "/etc/ira/tpm-key.auth")
        let token = try #require(try configuration("manifest-pkcs11.yaml"))
        guard case .pkcs11(let uri) = token.privateKey else {
            Issue.record("manifest-pkcs11.yaml must name a PKCS#11 key, not \(token.privateKey)")
            return
        }
        #expect(uri.token == "ira" && uri.object == "client-key")
        #expect(uri.modulePath == "/usr/lib/softhsm/libsofthsm2.so")
        #expect(uri.pinSource == "/etc/ira/token.pin")
    }

    @Test func theCrossPartitionExampleSaysWhatItMeans() throws {
        let manifest = try ManifestParser(accounts: FakeAccounts(), checkLocalFiles: false)
            .load(path: Self.directory.appendingPathComponent("manifest.yaml").path)
        guard case .rolesAnywhere(let configuration) = manifest.auth else {
            Issue.record("the example must use Roles Anywhere")
            return
        }
        #expect(try configuration.resolve().region == "us-west-2")
        #expect(manifest.entries.map(\.name) == ["db", "tls-key", "api-token"])
        #expect(manifest.entries[0].files[0].group == Account(name: "myapp", id: 1001))
        #expect(manifest.entries[1].onChange == [.argv(["/usr/sbin/nginx", "-s", "reload"])])
    }
}
