import Foundation

/// The test PKI of scripts/make-test-pki.sh, made once per test process in a temporary directory.
struct TestPKI: Sendable {
    let root: URL

    static let shared: TestPKI = {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("secret-sync-unit-pki-\(getpid())-\(UUID().uuidString)")
        let process = Process()
        process.executableURL = repository.appendingPathComponent("scripts/make-test-pki.sh")
        process.arguments = [directory.path]
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            fatalError("cannot run scripts/make-test-pki.sh (needs openssl): \(error)")
        }
        process.waitUntilExit()
        // Tests that need the PKI must fail loudly without it, never pass vacuously.
        precondition(process.terminationStatus == 0, "scripts/make-test-pki.sh failed")
        return TestPKI(root: directory)
    }()

    func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    static let keyNames = [
        "rsa2048-pkcs1", "rsa2048-pkcs8", "rsa4096-pkcs8", "ec-p256-sec1", "ec-p256-pkcs8", "ec-p384-sec1", "ec-p384-pkcs8",
    ]
}

/// Runs the openssl command line and returns its standard output.
func openssl(_ arguments: String...) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["openssl"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}
