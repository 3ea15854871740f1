import Foundation
import Testing

@testable import SecretSync

@Suite("Atomic file writer")
struct AtomicFileWriterTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func stat(_ path: String) -> stat {
        var info = Glibc.stat()
        _ = lstat(path, &info)
        return info
    }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() }

    @Test func createsUpdatesRepairsAndLeavesAlone() throws {
        let path = directory.appendingPathComponent("deep/er/secret").path
        let writer = AtomicFileWriter()
        #expect(try writer.plan(FileTarget(path: path, bytes: [1], mode: 0o640)) == .created)
        #expect(try writer.write(FileTarget(path: path, bytes: [1], mode: 0o640)) == .created)
        #expect(stat(path).st_mode & 0o7777 == 0o640)
        let first = stat(path)
        #expect(try writer.write(FileTarget(path: path, bytes: [1], mode: 0o640)) == .unchanged)
        let second = stat(path)
        #expect(first.st_ino == second.st_ino)
        #expect(first.st_mtim.tv_nsec == second.st_mtim.tv_nsec && first.st_mtim.tv_sec == second.st_mtim.tv_sec)
        chmod(path, 0o644)
        #expect(try writer.write(FileTarget(path: path, bytes: [1], mode: 0o640)) == .repaired)
        #expect(stat(path).st_mode & 0o7777 == 0o640)
        #expect(try writer.write(FileTarget(path: path, bytes: [1, 2], mode: 0o640)) == .updated)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("deep/er").path) == ["secret"])
    }

    @Test func ownerAndGroupAreSetBeforeTheFileAppears() throws {
        guard geteuid() == 0 else {
            Issue.record("this test needs root to chown; CI runs as root")
            return
        }
        let path = directory.appendingPathComponent("owned").path
        try AtomicFileWriter().write(FileTarget(path: path, bytes: [1], mode: 0o440, uid: 65534, gid: 65534))
        #expect(stat(path).st_uid == 65534)
        #expect(stat(path).st_gid == 65534)
        #expect(try AtomicFileWriter().write(FileTarget(path: path, bytes: [1], mode: 0o440, uid: 65534, gid: 65534)) == .unchanged)
        #expect(try AtomicFileWriter().write(FileTarget(path: path, bytes: [1], mode: 0o440, uid: 0, gid: 65534)) == .repaired)
    }

    @Test func aSymlinkIsRefusedAndItsTargetUntouched() throws {
        let target = directory.appendingPathComponent("target").path
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target))
        let link = directory.appendingPathComponent("link").path
        symlink(target, link)
        let error = try #require(throws: FileWriteError.self) {
            try AtomicFileWriter().write(FileTarget(path: link, bytes: [1], mode: 0o600))
        }
        #expect(error.message.contains("it is a symbolic link"))
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep")
        #expect(try entries() == ["link", "target"])
    }

    @Test func aDirectoryInTheWayIsRefused() throws {
        let path = directory.appendingPathComponent("dir").path
        mkdir(path, 0o755)
        #expect(throws: FileWriteError.self) { try AtomicFileWriter().write(FileTarget(path: path, bytes: [1], mode: 0o600)) }
        #expect(try entries() == ["dir"])
    }

    @Test func leftoverTemporariesAreCleanedUp() throws {
        let path = directory.appendingPathComponent("secret").path
        try Data("stale".utf8).write(to: directory.appendingPathComponent(".secret.secret-sync-tmp-0123456789abcdef"))
        try AtomicFileWriter().write(FileTarget(path: path, bytes: [1], mode: 0o600))
        #expect(try entries() == ["secret"])
    }
}
