/* test_shard_crc.c — td_shard_crc32c (bundle_map.h): the crc32c of a file range read with pread
 * equals td_crc32c of the same bytes in memory, for small ranges, ranges at odd offsets and
 * lengths, and ranges of 32 MiB or more (split over two threads and joined with
 * td_crc32c_combine); a range past the end of the file reports -1 at the offset where the file
 * ended, a bad descriptor its errno. The file is a temporary one written here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "model/bundle_map.h"
#include "util/crc32c.h"

#define FILE_BYTES ((size_t)40 << 20)

static uint8_t *data;
static int fd = -1;

static int setup(void **state) {
  (void)state;
  data = malloc(FILE_BYTES);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < FILE_BYTES; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    data[i] = (uint8_t)x;
  }
  char path[] = "/tmp/td_shard_crc_XXXXXX";
  fd = mkstemp(path);
  if (fd < 0) return -1;
  unlink(path);
  size_t done = 0;
  while (done < FILE_BYTES) {
    ssize_t w = write(fd, data + done, FILE_BYTES - done);
    if (w <= 0) return -1;
    done += (size_t)w;
  }
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (fd >= 0) close(fd);
  free(data);
  return 0;
}

static void check_range(int64_t off, size_t len) {
  uint32_t crc = 0xdeadbeef;
  int64_t bad = -7;
  assert_int_equal(td_shard_crc32c(fd, off, len, &crc, &bad), 0);
  assert_int_equal(crc, td_crc32c(data + off, len));
}

static void test_small_and_odd_ranges(void **state) {
  (void)state;
  check_range(0, 0);
  check_range(0, 1);
  check_range(3, 9);
  check_range(4095, 4097);
  check_range(12345, (256u << 10) - 1); /* just under one buffer */
  check_range(12345, (256u << 10) + 1); /* just over */
  check_range(7, (5u << 20) + 13);
  check_range((int64_t)FILE_BYTES - 1, 1);
}

static void test_large_ranges_split(void **state) {
  (void)state;
  check_range(0, FILE_BYTES);            /* 40 MiB: two halves */
  check_range(1, (32u << 20));           /* exactly the split threshold, odd start */
  check_range(333, (32u << 20) + 4097);  /* odd halves */
  check_range(0, (32u << 20) - 1);       /* just under: one thread */
}

static void test_errors(void **state) {
  (void)state;
  uint32_t crc = 0;
  int64_t bad = 0;
  /* past the end: pread returns 0 where the file ends */
  assert_int_equal(td_shard_crc32c(fd, (int64_t)FILE_BYTES - 10, 100, &crc, &bad), -1);
  assert_int_equal(bad, (int64_t)FILE_BYTES);
  /* past the end in the second (threaded) half */
  bad = 0;
  assert_int_equal(td_shard_crc32c(fd, 1 << 20, FILE_BYTES, &crc, &bad), -1);
  assert_int_equal(bad, (int64_t)FILE_BYTES);
  assert_int_equal(td_shard_crc32c(-1, 0, 10, &crc, &bad), EBADF);
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_and_odd_ranges),
      cmocka_unit_test(test_large_ranges_split),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
