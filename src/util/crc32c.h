/* crc32c.h — CRC-32C (Castagnoli, reflected poly 0x82F63B78, init/xorout 0xFFFFFFFF) and
 * LevelDB/TensorFlow's checksum masking.
 *
 * td_crc32c_extend(crc, p, n) continues a finished CRC: td_crc32c_extend(td_crc32c(a), b) ==
 * td_crc32c(a ‖ b). The fast path uses the SSE4.2 crc32 instruction when the CPU has it
 * (detected once at run time; three interleaved chains on inputs of 768 bytes or more),
 * otherwise a slicing-by-8 table; both give identical results. Stateless and thread-safe.
 */
#ifndef TD_UTIL_CRC32C_H
#define TD_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t td_crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t td_crc32c(const void *data, size_t n) { return td_crc32c_extend(0, data, n); }

/* td_crc32c(a ‖ b) from crc1 = td_crc32c(a), crc2 = td_crc32c(b) and len2 = |b| (zlib's
 * crc32_combine): lets independent pieces of a buffer be checksummed apart, e.g. on two threads.
 * O(log len2) small GF(2) multiplications. */
uint32_t td_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t len2);

/* Masking as stored in SSTable block trailers and BundleEntryProto.crc32c. */
#define TD_CRC32C_MASK_DELTA 0xa282ead8u
static inline uint32_t td_crc32c_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + TD_CRC32C_MASK_DELTA;
}
static inline uint32_t td_crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - TD_CRC32C_MASK_DELTA;
  return (rot >> 17) | (rot << 15);
}

/* The two implementations, exposed for tests and benchmarks. The hardware one may only be
 * called when td_crc32c_hw_available() returns 1. */
uint32_t td_crc32c_extend_table(uint32_t crc, const void *data, size_t n);
uint32_t td_crc32c_extend_hw(uint32_t crc, const void *data, size_t n);
int td_crc32c_hw_available(void);

#endif
