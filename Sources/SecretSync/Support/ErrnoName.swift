#if canImport(Glibc)
    import Glibc
#endif

/// errno values by their symbolic names, for the stable `code` of file errors.
enum ErrnoName {
    static let names: [Int32: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", EBADF: "EBADF", ECHILD: "ECHILD",
        EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV",
        ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ETXTBSY: "ETXTBSY",
        EFBIG: "EFBIG", ENOSPC: "ENOSPC", EROFS: "EROFS", EMLINK: "EMLINK", EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG",
        ELOOP: "ELOOP", EDQUOT: "EDQUOT", ENOTEMPTY: "ENOTEMPTY",
    ]

    static func of(_ code: Int32) -> String { names[code] ?? "errno-\(code)" }
}
