import CLinux
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Writes to stdout and stderr with write(2): a reader that went away (EPIPE, with SIGPIPE
/// ignored) or a closed descriptor loses the text, never the process. FileHandle traps instead.
package enum Console {
    package static func out(_ text: String) { write(text, to: STDOUT_FILENO) }
    package static func error(_ text: String) { write(text, to: STDERR_FILENO) }

    package static func write(_ text: String, to fd: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            // Safe: the loop only runs for a non-empty array, whose base address exists.
            let count = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN {
                // A non-blocking descriptor that is full: wait until it can take more (bounded).
                var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                if poll(&ready, 1, 5000) > 0 { continue }
                return
            }
            if count <= 0 { return }  // EPIPE, EBADF, ENOSPC...: dropped
            offset += count
        }
    }
}
