import Foundation
import Testing

@testable import SecretSync

@Suite("Removing files secret-sync no longer manages")
struct FileRemoverTests {
    func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("remover-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func aRegularFileIsRemovedAndItsEmptiedDirectoriesUpToTheBound() throws {
        let root = try scratch()
        try FileManager.default.createDirectory(atPath: "\(root)/flags/a/b", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: "\(root)/flags/a/b/x", contents: Data("v".utf8)))
        #expect(FileManager.default.createFile(atPath: "\(root)/flags/keep", contents: Data("v".utf8)))
        #expect(try FileRemover().plan("\(root)/flags/a/b/x") == .removed)
        #expect(FileManager.default.fileExists(atPath: "\(root)/flags/a/b/x"))  // plan touches nothing
        #expect(try FileRemover().remove("\(root)/flags/a/b/x", emptyDirectoriesBelow: "\(root)/flags") == .removed)
        #expect(!FileManager.default.fileExists(atPath: "\(root)/flags/a"))
        #expect(FileManager.default.fileExists(atPath: "\(root)/flags/keep"))
        #expect(try FileRemover().remove("\(root)/flags/a/b/x", emptyDirectoriesBelow: nil) == .gone)
    }

    @Test func aSymlinkInTheFilesPlaceIsLeftAloneAndItsTargetUntouched() throws {
        let root = try scratch()
        #expect(FileManager.default.createFile(atPath: "\(root)/precious", contents: Data("keep me".utf8)))
        try FileManager.default.createSymbolicLink(atPath: "\(root)/orphan", withDestinationPath: "\(root)/precious")
        guard case .refused(let why) = try FileRemover().remove("\(root)/orphan", emptyDirectoriesBelow: root) else {
            Issue.record("a symlink must not be removed")
            return
        }
        #expect(why.contains("a symlink"))
        #expect(try String(contentsOfFile: "\(root)/precious", encoding: .utf8) == "keep me")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "\(root)/orphan")) != nil)
    }

    @Test func aDirectoryInTheFilesPlaceIsLeftAlone() throws {
        let root = try scratch()
        try FileManager.default.createDirectory(atPath: "\(root)/orphan", withIntermediateDirectories: true)
        guard case .refused = try FileRemover().remove("\(root)/orphan", emptyDirectoriesBelow: nil) else {
            Issue.record("a directory must not be removed")
            return
        }
        #expect(FileManager.default.fileExists(atPath: "\(root)/orphan"))
    }

    @Test func aSymlinkedDirectoryOnTheWayIsNotFollowedWhereAnotherUserCouldHavePlantedIt() throws {
        let root = try scratch()
        try FileManager.default.createDirectory(atPath: "\(root)/elsewhere", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: "\(root)/elsewhere/x", contents: Data("v".utf8)))
        try FileManager.default.createDirectory(atPath: "\(root)/open", withIntermediateDirectories: true)
        chmod("\(root)/open", 0o777)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/open/dir", withDestinationPath: "\(root)/elsewhere")
        #expect(throws: (any Error).self) { try FileRemover().remove("\(root)/open/dir/x", emptyDirectoriesBelow: nil) }
        #expect(FileManager.default.fileExists(atPath: "\(root)/elsewhere/x"))
    }
}
