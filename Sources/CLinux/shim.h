#ifndef SECRET_SYNC_CLINUX_SHIM_H
#define SECRET_SYNC_CLINUX_SHIM_H

#include <sys/prctl.h>

// prctl(2) is variadic, which Swift cannot call: one typed wrapper per use.

// Marks the process not dumpable: no core file, and no ptrace or /proc/PID/mem by the same user.
static inline int clinux_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }

static inline int clinux_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

#endif
