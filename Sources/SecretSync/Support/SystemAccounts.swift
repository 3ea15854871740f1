import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// A user or group, as named in the manifest and as resolved on this host.
package struct Account: Sendable, Equatable, CustomStringConvertible {
    package let name: String
    package let id: UInt32
    package var description: String { name }
}

/// Looks up users and groups by name or number. The real one asks the system (NSS).
package protocol AccountDirectory: Sendable {
    func user(_ nameOrID: String) -> Account?
    func group(_ nameOrID: String) -> Account?
}

/// The one place users and groups are looked up: for the manifest's `owner:`/`group:` and for
/// the names shown in messages.
package struct SystemAccounts: AccountDirectory {
    package init() {}

    package func user(_ nameOrID: String) -> Account? {
        // A numeric id need not have a name.
        if let id = UInt32(nameOrID) { return Account(name: Self.lookUpUser(id: id) ?? nameOrID, id: id) }
        return Self.lookUpUser(name: nameOrID).map { Account(name: nameOrID, id: $0) }
    }

    package func group(_ nameOrID: String) -> Account? {
        if let id = UInt32(nameOrID) { return Account(name: Self.lookUpGroup(id: id) ?? nameOrID, id: id) }
        return Self.lookUpGroup(name: nameOrID).map { Account(name: nameOrID, id: $0) }
    }

    /// The user's name, or the number when it has none.
    package static func userName(_ uid: uid_t) -> String { lookUpUser(id: uid) ?? String(uid) }

    /// The group's name, or the number when it has none.
    package static func groupName(_ gid: gid_t) -> String { lookUpGroup(id: gid) ?? String(gid) }

    static let bufferSize = 16384

    /// The user's home directory from the user database.
    static func homeDirectory(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: bufferSize)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, let result, let home = result.pointee.pw_dir else { return nil }
        return String(cString: home)
    }

    static func lookUpUser(id: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: bufferSize)
        guard getpwuid_r(id, &entry, &buffer, buffer.count, &result) == 0, let result else { return nil }
        return String(cString: result.pointee.pw_name)
    }

    static func lookUpUser(name: String) -> uid_t? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: bufferSize)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    static func lookUpGroup(id: gid_t) -> String? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: bufferSize)
        guard getgrgid_r(id, &entry, &buffer, buffer.count, &result) == 0, let result else { return nil }
        return String(cString: result.pointee.gr_name)
    }

    static func lookUpGroup(name: String) -> gid_t? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: bufferSize)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}
