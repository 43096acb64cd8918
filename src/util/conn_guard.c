/* conn_guard.c — fd headroom and log rate limiting for the front ends (see conn_guard.h).
 * Invariants: no state beyond the limiter's atomics; checks are a getrlimit (and, for the
 * probe, an eventfd open/close) per accepted connection. */
#include "util/conn_guard.h"

#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MIN_RESERVE 64

static long reserve_for(long limit) {
  long r = limit / 8;
  return r < MIN_RESERVE ? MIN_RESERVE : r;
}

int td_fd_headroom_ok(int fd) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1;
  long limit = (long)rl.rlim_cur;
  return (long)fd < limit - reserve_for(limit);
}

int td_fd_headroom_probe(void) {
  int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return 0; /* no descriptor left at all */
  int ok = td_fd_headroom_ok(fd);
  close(fd);
  return ok;
}

long td_fd_raise_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit want = {rl.rlim_max, rl.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl.rlim_cur = rl.rlim_max;
  }
  return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int td_log_limiter_allow(td_log_limiter *l, int burst, int64_t interval_ms, long long *suppressed_before) {
  int64_t now = now_ms();
  long long start = atomic_load(&l->window_start_ms);
  if (now - start >= interval_ms && atomic_compare_exchange_strong(&l->window_start_ms, &start, now))
    atomic_store(&l->in_window, 0);
  if (atomic_fetch_add(&l->in_window, 1) >= burst) {
    atomic_fetch_add(&l->suppressed, 1);
    return 0;
  }
  long long s = atomic_exchange(&l->suppressed, 0);
  if (suppressed_before) *suppressed_before = s;
  return 1;
}
