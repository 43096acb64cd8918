/* crc32c.c — CRC-32C: SSE4.2 instruction path with run-time dispatch, slicing-by-8 fallback.
 *
 * The instruction path runs three independent crc32 chains over three adjacent blocks (the
 * instruction's latency is ~3 cycles at a throughput of one per cycle, so a single chain uses a
 * third of the unit) and joins them with the linear "append L zero bytes" operator, applied by
 * four 256-entry tables per block length (Intel, "Fast CRC Computation for iSCSI Polynomial Using
 * CRC32 Instruction", 2011): crc(A‖B‖C) = shift(shift(crcA, L) ^ crcB, L) ^ crcC, where crcB and
 * crcC start from a zero register. Large inputs use 8 KiB blocks, the rest 256-byte ones, then
 * single words and bytes.
 *
 * Invariants: both paths compute the same function of (crc, bytes); `crc` arguments and results
 * are finished CRCs (the 0xFFFFFFFF pre/post inversion happens inside each call). All tables are
 * built once under pthread_once and read-only afterwards; the dispatch choice is cached in an
 * atomic. Everything here is stateless and thread-safe.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u
#define CRC_LONG 8192 /* bytes per stream in the large-block loop */
#define CRC_SHORT 256 /* bytes per stream in the small-block loop */

static uint32_t crc_table[8][256];
/* crc_shift_long[k][b] = shift(b << 8k, CRC_LONG): the register after CRC_LONG zero bytes. */
static uint32_t crc_shift_long[4][256];
static uint32_t crc_shift_short[4][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

/* a * b mod P, both in the reflected representation (bit 31 = x^0). */
static uint32_t gf2_multmodp(uint32_t a, uint32_t b) {
  uint32_t p = 0;
  for (uint32_t m = 1u << 31; m; m >>= 1) {
    if (a & m) p ^= b;
    b = (b & 1) ? (b >> 1) ^ CRC32C_POLY : b >> 1;
  }
  return p;
}

/* x^(8n) mod P: the operator "append n zero bytes" to a register. */
static uint32_t gf2_x8n(uint64_t n) {
  uint32_t r = 1u << 31, b = 1u << (31 - 8); /* x^0, x^8 */
  for (; n; n >>= 1) {
    if (n & 1) r = gf2_multmodp(r, b);
    b = gf2_multmodp(b, b);
  }
  return r;
}

static void shift_table_build(uint32_t t[4][256], size_t len) {
  uint32_t op = gf2_x8n(len);
  for (int k = 0; k < 4; k++)
    for (uint32_t i = 0; i < 256; i++) t[k][i] = gf2_multmodp(op, i << (8 * k));
}

static void crc_table_build(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
  shift_table_build(crc_shift_long, CRC_LONG);
  shift_table_build(crc_shift_short, CRC_SHORT);
}

static inline uint32_t shift_by_table(const uint32_t t[4][256], uint32_t c) {
  return t[0][c & 0xff] ^ t[1][(c >> 8) & 0xff] ^ t[2][(c >> 16) & 0xff] ^ t[3][c >> 24];
}

uint32_t td_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2) {
  return gf2_multmodp(gf2_x8n(len2), crc1) ^ crc2;
}

static inline uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t td_crc32c_extend_table(uint32_t crc, const void *data, size_t n) {
  pthread_once(&crc_table_once, crc_table_build);
  const uint8_t *p = data;
  uint32_t c = ~crc;
  while (n > 0 && ((uintptr_t)p & 7)) {
    c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
    n--;
  }
  while (n >= 8) {
    uint32_t lo = load_le32(p) ^ c, hi = load_le32(p + 4);
    c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^ crc_table[5][(lo >> 16) & 0xff] ^
        crc_table[4][lo >> 24] ^ crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
        crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xff];
  return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

#define CRC_HW __attribute__((target("sse4.2")))

static inline uint64_t load_u64(const uint8_t *p) {
  uint64_t w;
  memcpy(&w, p, 8);
  return w;
}

/* Three chains over [p, p+len), [p+len, p+2len), [p+2len, p+3len) (len a multiple of 8), joined;
 * returns the register after all 3*len bytes. */
static inline CRC_HW uint64_t crc3_block(uint64_t c0, const uint8_t *p, size_t len, const uint32_t t[4][256]) {
  uint64_t c1 = 0, c2 = 0;
  const uint8_t *end = p + len;
  do {
    c0 = _mm_crc32_u64(c0, load_u64(p));
    c1 = _mm_crc32_u64(c1, load_u64(p + len));
    c2 = _mm_crc32_u64(c2, load_u64(p + 2 * len));
    p += 8;
  } while (p < end);
  c0 = shift_by_table(t, (uint32_t)c0) ^ (uint32_t)c1;
  return shift_by_table(t, (uint32_t)c0) ^ (uint32_t)c2;
}

CRC_HW uint32_t td_crc32c_extend_hw(uint32_t crc, const void *data, size_t n) {
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while (n > 0 && ((uintptr_t)p & 7)) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    n--;
  }
  if (n >= 3 * CRC_SHORT) {
    pthread_once(&crc_table_once, crc_table_build);
    for (; n >= 3 * CRC_LONG; p += 3 * CRC_LONG, n -= 3 * CRC_LONG)
      c = crc3_block(c, p, CRC_LONG, crc_shift_long);
    for (; n >= 3 * CRC_SHORT; p += 3 * CRC_SHORT, n -= 3 * CRC_SHORT)
      c = crc3_block(c, p, CRC_SHORT, crc_shift_short);
  }
  for (; n >= 8; p += 8, n -= 8) c = _mm_crc32_u64(c, load_u64(p));
  while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
  return ~(uint32_t)c;
}

int td_crc32c_hw_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}
#else
uint32_t td_crc32c_extend_hw(uint32_t crc, const void *data, size_t n) {
  return td_crc32c_extend_table(crc, data, n);
}
int td_crc32c_hw_available(void) { return 0; }
#endif

/* 0 = not decided yet, 1 = table, 2 = hardware. */
static atomic_int crc_impl;

uint32_t td_crc32c_extend(uint32_t crc, const void *data, size_t n) {
  int impl = atomic_load_explicit(&crc_impl, memory_order_relaxed);
  if (impl == 0) {
    impl = td_crc32c_hw_available() ? 2 : 1;
    atomic_store_explicit(&crc_impl, impl, memory_order_relaxed);
  }
  return impl == 2 ? td_crc32c_extend_hw(crc, data, n) : td_crc32c_extend_table(crc, data, n);
}
