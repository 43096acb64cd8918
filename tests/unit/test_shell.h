/* test_shell.h — sh(fmt, ...): runs a printf-formatted shell command (making or changing model
 * directories in a test's temp tree) and fails the calling cmocka test unless it exits 0.
 * Header-only (static inline), include after <cmocka.h>. Thread affinity: the test thread. */
#ifndef TD_TESTS_UNIT_TEST_SHELL_H
#define TD_TESTS_UNIT_TEST_SHELL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static inline void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void sh(const char *fmt, ...) {
  char cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  assert_int_equal(system(cmd), 0);
}

#endif
