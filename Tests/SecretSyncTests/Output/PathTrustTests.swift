import Foundation
import Testing

@testable import SecretSync

@Suite("Path trust")
struct PathTrustTests {
    func info(owner: uid_t, group: gid_t, mode: mode_t) -> stat {
        var info = stat()
        info.st_uid = owner
        info.st_gid = group
        info.st_mode = mode
        return info
    }

    static let other: uid_t = 65534
    /// nogroup: neither root's group nor ours.
    static let nogroup: gid_t = 65534

    @Test(
        arguments: [
            // (owner is other, mode, standing, refused because)
            (false, S_IFDIR | 0o700, PathTrust.Standing.holder, nil),
            (false, S_IFDIR | 0o755, PathTrust.Standing.passage, nil),
            (true, S_IFDIR | 0o700, PathTrust.Standing.holder, "owned by nobody"),
            (true, S_IFDIR | 0o755, PathTrust.Standing.passage, "owned by nobody"),
            (false, S_IFDIR | 0o775, PathTrust.Standing.holder, "writable by the group nogroup"),
            (false, S_IFDIR | 0o757, PathTrust.Standing.passage, "writable by other users"),
            // /tmp: a sticky passage is fine, a sticky holder is not.
            (false, S_IFDIR | 0o1777, PathTrust.Standing.passage, nil),
            (false, S_IFDIR | 0o1777, PathTrust.Standing.holder, "writable by other users"),
            (false, S_IFREG | 0o600, PathTrust.Standing.holder, nil),
            (false, S_IFREG | 0o620, PathTrust.Standing.holder, "writable by the group nogroup"),
        ] as [(Bool, mode_t, PathTrust.Standing, String?)])
    func judgesOwnerAndMode(ownedByOther: Bool, mode: mode_t, standing: PathTrust.Standing, reason: String?) {
        let owner = ownedByOther ? Self.other : geteuid()
        #expect(PathTrust.distrust(info(owner: owner, group: Self.nogroup, mode: mode), as: standing) == reason)
    }

    /// Group 0 is root's, as logrotate holds: a checkout made with umask 002 (root:root 0775) is
    /// trusted; world-writable never is, whatever the group.
    @Test func rootsGroupMayWrite() {
        #expect(PathTrust.distrust(info(owner: 0, group: 0, mode: S_IFDIR | 0o775), as: .holder) == nil)
        #expect(PathTrust.distrust(info(owner: 0, group: 0, mode: S_IFREG | 0o664), as: .holder) == nil)
        #expect(PathTrust.distrust(info(owner: 0, group: 0, mode: S_IFDIR | 0o777), as: .holder) == "writable by other users")
    }

    @Test func rootIsAlwaysATrustedOwner() {
        #expect(PathTrust.distrust(info(owner: 0, group: 0, mode: S_IFDIR | 0o755), as: .holder) == nil)
    }
}
