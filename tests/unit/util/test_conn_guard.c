/* test_conn_guard.c — fd headroom (a descriptor number below limit - max(64, limit/8) is kept;
 * the limit is re-read, so a lowered limit refuses at once) and the log rate limiter (a burst
 * per interval, the rest counted and reported with the next allowed message). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <time.h>

#include "util/conn_guard.h"

static void test_headroom(void **state) {
  (void)state;
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct rlimit rl = {256, saved.rlim_max};
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 256) skip();
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  assert_true(td_fd_headroom_ok(10));
  assert_true(td_fd_headroom_ok(191)); /* 256 - 64 reserved */
  assert_false(td_fd_headroom_ok(192));
  assert_false(td_fd_headroom_ok(255));
  assert_true(td_fd_headroom_probe()); /* a test process uses few descriptors */
  rl.rlim_cur = 2048;                  /* reserve 2048 / 8 = 256 */
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= 2048) {
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(td_fd_headroom_ok(1791));
    assert_false(td_fd_headroom_ok(1792));
  }
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void test_raise_limit(void **state) {
  (void)state;
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max == RLIM_INFINITY || saved.rlim_max < 128) skip();
  struct rlimit low = {64, saved.rlim_max};
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  assert_int_equal(td_fd_raise_limit(), (long)saved.rlim_max);
  struct rlimit now;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &now), 0);
  assert_int_equal(now.rlim_cur, saved.rlim_max);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void test_log_limiter(void **state) {
  (void)state;
  td_log_limiter l = TD_LOG_LIMITER_INIT;
  long long dropped = -1;
  for (int i = 0; i < 3; i++) {
    assert_true(td_log_limiter_allow(&l, 3, 60000, &dropped));
    assert_int_equal(dropped, 0);
  }
  for (int i = 0; i < 1000; i++) assert_false(td_log_limiter_allow(&l, 3, 60000, NULL));
  /* a short interval: the next window allows again and reports the drops */
  td_log_limiter m = TD_LOG_LIMITER_INIT;
  assert_true(td_log_limiter_allow(&m, 1, 20, &dropped));
  assert_false(td_log_limiter_allow(&m, 1, 20, NULL));
  assert_false(td_log_limiter_allow(&m, 1, 20, NULL));
  struct timespec ts = {0, 30 * 1000000};
  nanosleep(&ts, NULL);
  assert_true(td_log_limiter_allow(&m, 1, 20, &dropped));
  assert_int_equal(dropped, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_headroom),
      cmocka_unit_test(test_raise_limit),
      cmocka_unit_test(test_log_limiter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
