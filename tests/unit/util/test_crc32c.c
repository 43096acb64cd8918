/* test_crc32c.c — CRC-32C against published vectors, a bit-at-a-time reference, and
 * hardware-vs-table agreement: every length 0..300 at every alignment 0..7, every length
 * 0..4096 at random offsets (the three-chain 256-byte block path starts at 768 bytes), lengths
 * around the 3 x 8 KiB block boundaries and a few MB; plus td_crc32c_combine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/crc32c.h"

/* Bitwise reference: independent of the table and instruction code paths. */
static uint32_t ref_crc32c(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
  }
  return ~c;
}

static void test_known_vectors(void **state) {
  (void)state;
  uint8_t buf[32];
  assert_int_equal(td_crc32c("123456789", 9), 0xE3069283u);
  assert_int_equal(td_crc32c_extend_table(0, "123456789", 9), 0xE3069283u);
  memset(buf, 0, sizeof buf);
  assert_int_equal(td_crc32c(buf, 32), 0x8A9136AAu);
  memset(buf, 0xFF, sizeof buf);
  assert_int_equal(td_crc32c(buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i; /* RFC 3720 B.4: incrementing bytes */
  assert_int_equal(td_crc32c(buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
  assert_int_equal(td_crc32c(buf, 32), 0x113FDB5Cu);
  assert_int_equal(td_crc32c(NULL, 0), 0u);
  assert_int_equal(td_crc32c("a", 1), 0xC1D04330u);
}

static void test_mask(void **state) {
  (void)state;
  uint32_t c = td_crc32c("foo", 3);
  assert_int_not_equal(c, td_crc32c_mask(c));
  assert_int_not_equal(c, td_crc32c_mask(td_crc32c_mask(c)));
  assert_int_equal(c, td_crc32c_unmask(td_crc32c_mask(c)));
  assert_int_equal(c, td_crc32c_unmask(td_crc32c_unmask(td_crc32c_mask(td_crc32c_mask(c)))));
  uint32_t x = 1;
  for (int i = 0; i < 1000; i++, x = x * 1664525u + 1013904223u)
    assert_int_equal(td_crc32c_unmask(td_crc32c_mask(x)), x);
  /* Hand-computed: mask(0) = rotr(0, 15) + delta; rotr(0x80000000, 15) = 0x00010000. */
  assert_int_equal(td_crc32c_mask(0), 0xa282ead8u);
  assert_int_equal(td_crc32c_mask(0x80000000u), 0x00010000u + 0xa282ead8u);
}

static void test_extend_matches_oneshot(void **state) {
  (void)state;
  uint8_t buf[1000];
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof buf; i++, x = x * 1103515245u + 12345u) buf[i] = (uint8_t)(x >> 16);
  uint32_t whole = td_crc32c(buf, sizeof buf);
  assert_int_equal(whole, ref_crc32c(buf, sizeof buf));
  for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
    uint32_t c = td_crc32c_extend(td_crc32c(buf, cut), buf + cut, sizeof buf - cut);
    assert_int_equal(c, whole);
    uint32_t t = td_crc32c_extend_table(td_crc32c_extend_table(0, buf, cut), buf + cut, sizeof buf - cut);
    assert_int_equal(t, whole);
  }
  assert_int_equal(td_crc32c_extend(whole, buf, 0), whole);
}

static void test_hw_and_table_agree(void **state) {
  (void)state;
  int hw = td_crc32c_hw_available();
  print_message("sse4.2 crc32 available: %d\n", hw);
  uint8_t *buf = malloc(320);
  uint32_t x = 777;
  for (int i = 0; i < 320; i++, x = x * 1664525u + 1013904223u) buf[i] = (uint8_t)(x >> 24);
  for (size_t off = 0; off < 8; off++) {
    for (size_t n = 0; n <= 300; n++) {
      uint32_t ref = ref_crc32c(buf + off, n);
      assert_int_equal(td_crc32c_extend_table(0, buf + off, n), ref);
      assert_int_equal(td_crc32c(buf + off, n), ref);
      if (hw) assert_int_equal(td_crc32c_extend_hw(0, buf + off, n), ref);
      /* extend from a nonzero prior CRC as well */
      uint32_t prior = td_crc32c(buf, off);
      assert_int_equal(td_crc32c_extend_table(prior, buf + off, n), ref_crc32c(buf, off + n));
      if (hw) assert_int_equal(td_crc32c_extend_hw(prior, buf + off, n), ref_crc32c(buf, off + n));
    }
  }
  free(buf);
}

static uint32_t rng_state = 2463534242u;
static uint32_t rng(void) { /* xorshift32 */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static uint8_t *random_buf(size_t n) {
  uint8_t *b = malloc(n);
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(rng() >> 24);
  return b;
}

static void test_every_length_random_offsets(void **state) {
  (void)state;
  int hw = td_crc32c_hw_available();
  uint8_t *buf = random_buf(4096 + 64);
  for (size_t n = 0; n <= 4096; n++) {
    size_t off = rng() % 64;
    uint32_t prior = rng();
    uint32_t ref = ref_crc32c(buf + off, n);
    uint32_t t = td_crc32c_extend_table(0, buf + off, n);
    assert_int_equal(t, ref);
    assert_int_equal(td_crc32c(buf + off, n), ref);
    if (hw) assert_int_equal(td_crc32c_extend_hw(0, buf + off, n), ref);
    uint32_t tp = td_crc32c_extend_table(prior, buf + off, n);
    assert_int_equal(td_crc32c_extend(prior, buf + off, n), tp);
    if (hw) assert_int_equal(td_crc32c_extend_hw(prior, buf + off, n), tp);
  }
  free(buf);
}

/* Lengths that end just before, at and after multiples of the 3-chain block sizes, so every
 * mix of 8 KiB blocks, 256-byte blocks, words and bytes is taken. */
static void test_block_boundaries(void **state) {
  (void)state;
  const size_t bases[] = {768, 3 * 8192, 2 * 3 * 8192, 3 * 8192 + 768, 3 * 8192 + 3 * 767};
  uint8_t *buf = random_buf(2 * 3 * 8192 + 3000);
  for (size_t b = 0; b < sizeof bases / sizeof bases[0]; b++) {
    for (int d = -17; d <= 17; d++) {
      size_t n = (size_t)((long)bases[b] + d), off = rng() % 16;
      uint32_t prior = rng();
      uint32_t want = td_crc32c_extend_table(prior, buf + off, n);
      assert_int_equal(td_crc32c_extend(prior, buf + off, n), want);
    }
  }
  /* one against the bitwise reference too */
  assert_int_equal(td_crc32c(buf + 3, 2 * 3 * 8192 + 1001), ref_crc32c(buf + 3, 2 * 3 * 8192 + 1001));
  free(buf);
}

static void test_few_megabytes(void **state) {
  (void)state;
  size_t n = 5u << 20;
  uint8_t *buf = random_buf(n + 8);
  for (size_t off = 0; off < 8; off += 3) {
    size_t len = n - rng() % 4096;
    uint32_t want = td_crc32c_extend_table(0, buf + off, len);
    assert_int_equal(td_crc32c(buf + off, len), want);
    /* in uneven pieces, through extend */
    uint32_t c = 0;
    for (size_t at = 0; at < len;) {
      size_t piece = 1 + rng() % 300000;
      if (piece > len - at) piece = len - at;
      c = td_crc32c_extend(c, buf + off + at, piece);
      at += piece;
    }
    assert_int_equal(c, want);
  }
  /* zeros: the CRC of n zero bytes from the reference, on a smaller size it can afford */
  memset(buf, 0, 1u << 20);
  assert_int_equal(td_crc32c(buf, 1u << 20), ref_crc32c(buf, 1u << 20));
  free(buf);
}

static void test_combine(void **state) {
  (void)state;
  uint8_t *buf = random_buf(100000);
  uint32_t whole = td_crc32c(buf, 100000);
  const size_t cuts[] = {0, 1, 7, 8, 255, 4096, 24575, 24576, 50001, 99999, 100000};
  for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
    size_t k = cuts[i];
    assert_int_equal(td_crc32c_combine(td_crc32c(buf, k), td_crc32c(buf + k, 100000 - k), 100000 - k), whole);
  }
  /* "123456789" = "1234" ‖ "56789" */
  assert_int_equal(td_crc32c_combine(td_crc32c("1234", 4), td_crc32c("56789", 5), 5), 0xE3069283u);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_vectors),
      cmocka_unit_test(test_mask),
      cmocka_unit_test(test_extend_matches_oneshot),
      cmocka_unit_test(test_hw_and_table_agree),
      cmocka_unit_test(test_every_length_random_offsets),
      cmocka_unit_test(test_block_boundaries),
      cmocka_unit_test(test_few_megabytes),
      cmocka_unit_test(test_combine),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
