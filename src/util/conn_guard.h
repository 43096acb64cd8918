/* conn_guard.h — shared defences of the network front ends (REST and gRPC) against connection
 * exhaustion: a file-descriptor headroom check for freshly accepted connections, and a log
 * rate limiter so that a storm of accept errors or refusals costs one line per interval.
 *
 * Headroom: POSIX hands out the lowest free descriptor, so a connection accepted as fd N means
 * about N descriptors are in use. A connection is kept only while N stays below the current
 * RLIMIT_NOFILE minus a reserve (max(64, limit/8)), leaving descriptors for the listeners,
 * model loads, logs and the other port. The limit is re-read on every check (prlimit at run
 * time is honoured).
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef TD_UTIL_CONN_GUARD_H
#define TD_UTIL_CONN_GUARD_H

#include <stdatomic.h>
#include <stdint.h>

/* 1 when the accepted connection fd leaves enough descriptors free (keep it), 0 (close it). */
int td_fd_headroom_ok(int fd);
/* The same check for a connection whose descriptor is not known (probes the lowest free fd). */
int td_fd_headroom_probe(void);
/* Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force. */
long td_fd_raise_limit(void);

/* At most `burst` messages per `interval_ms`; the rest are counted. */
typedef struct td_log_limiter {
  atomic_llong window_start_ms;
  atomic_int in_window;
  atomic_llong suppressed;
} td_log_limiter;

#define TD_LOG_LIMITER_INIT {0, 0, 0}

/* 1 if a message may be logged now; *suppressed_before (may be NULL) gets how many were dropped
 * since the last allowed one (so the caller can say so). */
int td_log_limiter_allow(td_log_limiter *l, int burst, int64_t interval_ms, long long *suppressed_before);

#endif
