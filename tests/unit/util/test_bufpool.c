/* test_bufpool.c — the idle-buffer pool (util/bufpool.h): a released large buffer serves the
 * next reserve that fits (same storage, emptied), not one that needs more or less than half of
 * it; small buffers are never kept; the count and byte bounds hold; a buffer that already has
 * storage is only grown. The pool is process-wide: each test empties it first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/bufpool.h"

/* An empty buffer given room for n bytes by the pool. */
static td_buf reserved(size_t n) {
  td_buf b;
  td_buf_init(&b);
  td_bufpool_reserve(&b, n);
  return b;
}

/* Takes every idle buffer out of the pool (reserving the smallest size each can serve). */
static void drain(void) {
  for (size_t sz = TD_BUFPOOL_MAX_BYTES; sz >= TD_BUFPOOL_MIN; sz /= 2)
    for (;;) {
      td_buf b = reserved(sz - 1);
      int fresh = b.cap == sz;
      free(b.data); /* not back into the pool */
      if (fresh) break;
    }
}

static void test_reuse_and_fit(void **state) {
  (void)state;
  drain();
  td_buf a = reserved(200000);
  assert_true(a.cap >= 200001 && a.len == 0 && a.data[0] == 0);
  td_buf_append(&a, "hello", 5);
  char *kept = a.data;
  size_t cap = a.cap;
  td_bufpool_release(&a);
  assert_null(a.data);
  td_buf b = reserved(90000); /* less than half of it: a fresh buffer */
  assert_true(b.data != kept);
  td_buf c = reserved(150000); /* fits: the kept storage, emptied */
  assert_ptr_equal(c.data, kept);
  assert_true(c.cap == cap && c.len == 0 && c.data[0] == 0);
  td_bufpool_release(&c);
  td_buf d = reserved(300000); /* more than it holds: fresh */
  assert_true(d.data != kept && d.cap >= 300001);
  td_buf_append(&d, "abc", 3);
  td_bufpool_reserve(&d, 400000); /* storage already there: grown in place or moved, contents kept */
  assert_true(d.cap >= 400001);
  assert_string_equal(d.data, "abc");
  td_bufpool_release(&b);
  td_bufpool_release(&d);
  drain();
}

/* Small buffers are exact and fresh, and released ones take no pool slot: after 32 small
 * releases (the pool's slot count) a large buffer is still kept. */
static void test_small_never_kept(void **state) {
  (void)state;
  drain();
  td_buf small[32];
  for (int i = 0; i < 32; i++) {
    small[i] = reserved(1000);
    assert_true(small[i].cap == 1001);
  }
  for (int i = 0; i < 32; i++) td_bufpool_release(&small[i]);
  td_buf big = reserved(100000);
  char *kept = big.data;
  td_bufpool_release(&big);
  big = reserved(70000);
  assert_ptr_equal(big.data, kept);
  td_bufpool_release(&big);
  drain();
}

/* Reserves n bytes count times (buffers into out) and counts those that came from the pool:
 * pooled buffers were made with cap made_cap, fresh ones get exactly n + 1. */
static int reserve_count_pooled(td_buf *out, int count, size_t n, size_t made_cap) {
  int pooled = 0;
  for (int i = 0; i < count; i++) {
    out[i] = reserved(n);
    pooled += out[i].cap == made_cap;
  }
  return pooled;
}

static void test_bounds(void **state) {
  (void)state;
  drain();
  enum { N = 40 };
  td_buf b[N];
  assert_int_equal(reserve_count_pooled(b, N, 100000, 100001), N); /* fresh: exactly n + 1 */
  for (int i = 0; i < N; i++) td_bufpool_release(&b[i]);
  assert_int_equal(reserve_count_pooled(b, N, 70000, 100001), 32); /* at most 32 are kept */
  for (int i = 0; i < N; i++) td_bufpool_release(&b[i]);
  drain();
  td_buf big[2]; /* two of 40 MiB do not both fit the 64 MiB bound */
  size_t mib40 = (size_t)40 << 20;
  assert_int_equal(reserve_count_pooled(big, 2, mib40, mib40 + 1), 2); /* fresh: exactly n + 1 */
  for (int i = 0; i < 2; i++) td_bufpool_release(&big[i]);
  assert_int_equal(reserve_count_pooled(big, 2, (size_t)30 << 20, mib40 + 1), 1);
  for (int i = 0; i < 2; i++) td_bufpool_release(&big[i]);
  drain();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reuse_and_fit),
      cmocka_unit_test(test_small_never_kept),
      cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
