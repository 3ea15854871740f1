#ifndef SECRET_SYNC_CLINUX_SHIM_H
#define SECRET_SYNC_CLINUX_SHIM_H

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

// prctl(2) is variadic, which Swift cannot call: one typed wrapper per use.

// Marks the process not dumpable: no core file, and no ptrace or /proc/PID/mem by the same user.
static inline int clinux_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }

static inline int clinux_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

// memfd_create(2) through syscall(2): Swift's Glibc module does not export the glibc wrapper.
// Returns an anonymous in-memory file, closed on exec.
static inline int clinux_memfd_create(const char *name) { return (int)syscall(SYS_memfd_create, name, 1U /* MFD_CLOEXEC */); }

// pipe2(2) through syscall(2), for the same reason: a pipe whose ends are close-on-exec from the
// start, so a child spawned by another thread at that instant cannot inherit them.
static inline int clinux_pipe_cloexec(int fds[2]) { return (int)syscall(SYS_pipe2, fds, 02000000 /* O_CLOEXEC */); }

// accept4(2) through syscall(2): the connection is close-on-exec from the start, so a child spawned
// by another thread at that instant cannot inherit a socket that carries a token.
static inline int clinux_accept_cloexec(int fd, void *address, unsigned int *length) {
    return (int)syscall(SYS_accept4, fd, address, length, 02000000 /* SOCK_CLOEXEC */);
}

// pidfd_open(2) and pidfd_send_signal(2), which glibc's Swift module does not export: a signal
// sent through a descriptor that pins one process can never reach another that reused its pid.
static inline int clinux_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static inline int clinux_pidfd_send_signal(int pidfd, int signal) { return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0); }

// What `secret-sync --version` says of the build. scripts/release.sh defines them
// (-Xcc -DSECRET_SYNC_BUILD_COMMIT="..."); a development build leaves them empty.
#ifndef SECRET_SYNC_BUILD_COMMIT
#define SECRET_SYNC_BUILD_COMMIT ""
#endif
#ifndef SECRET_SYNC_BUILD_DATE
#define SECRET_SYNC_BUILD_DATE ""
#endif
#ifndef SECRET_SYNC_BUILD_SWIFT
#define SECRET_SYNC_BUILD_SWIFT ""
#endif

static inline const char *clinux_build_commit(void) { return SECRET_SYNC_BUILD_COMMIT; }
static inline const char *clinux_build_date(void) { return SECRET_SYNC_BUILD_DATE; }
static inline const char *clinux_build_swift(void) { return SECRET_SYNC_BUILD_SWIFT; }

#endif
