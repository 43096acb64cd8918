/* crc32c.c — CRC-32C: SSE4.2 instruction path with run-time dispatch, slicing-by-8 fallback.
 *
 * Invariants: both paths compute the same function of (crc, bytes); `crc` arguments and results
 * are finished CRCs (the 0xFFFFFFFF pre/post inversion happens inside each call). The tables are
 * built once under pthread_once; the dispatch choice is cached in an atomic.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_build(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
    crc_table[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
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

__attribute__((target("sse4.2"))) uint32_t td_crc32c_extend_hw(uint32_t crc, const void *data,
                                                                 size_t n) {
  const uint8_t *p = data;
  uint64_t c = ~crc;
  while (n > 0 && ((uintptr_t)p & 7)) {
    c = _mm_crc32_u8((uint32_t)c, *p++);
    n--;
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
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
