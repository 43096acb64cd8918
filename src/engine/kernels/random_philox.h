/* random_philox.h — Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3")
 * and the sample -> value conversions of TF's random distributions, shared by the random kernels
 * (random.c, random_stateless.c, random_sample.c). Header-only, pure functions, no global state.
 *
 * A generator is a 64-bit key and a 128-bit counter; each block call returns 4 uint32 and bumps
 * the counter by one. Conversions follow the documented bit layouts: a float in [0, 1) takes the
 * low 23 bits of one uint32 as mantissa of a number in [1, 2) minus 1; a double takes 20 + 32
 * bits of two uint32; normals are Box-Muller over pairs (epsilon 1e-7); 64-bit integers join two
 * uint32 (low word first).
 */
#ifndef TD_ENGINE_KERNELS_RANDOM_PHILOX_H
#define TD_ENGINE_KERNELS_RANDOM_PHILOX_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct td_philox {
  uint32_t key[2];
  uint32_t ctr[4];
} td_philox;

static inline void td_philox_block(const uint32_t key_in[2], const uint32_t ctr_in[4], uint32_t out[4]) {
  uint32_t k0 = key_in[0], k1 = key_in[1];
  uint32_t c0 = ctr_in[0], c1 = ctr_in[1], c2 = ctr_in[2], c3 = ctr_in[3];
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* Adds n to the 128-bit counter. */
static inline void td_philox_skip(td_philox *g, uint64_t n) {
  uint64_t lo = (uint64_t)g->ctr[0] | (uint64_t)g->ctr[1] << 32;
  uint64_t hi = (uint64_t)g->ctr[2] | (uint64_t)g->ctr[3] << 32;
  uint64_t nlo = lo + n;
  if (nlo < lo) hi++;
  g->ctr[0] = (uint32_t)nlo, g->ctr[1] = (uint32_t)(nlo >> 32);
  g->ctr[2] = (uint32_t)hi, g->ctr[3] = (uint32_t)(hi >> 32);
}

/* The next 4 uint32 (then advances the counter). */
static inline void td_philox_next(td_philox *g, uint32_t out[4]) {
  td_philox_block(g->key, g->ctr, out);
  td_philox_skip(g, 1);
}

/* key = 64-bit k; counter = (c0, c1) as two 64-bit halves, low first. */
static inline td_philox td_philox_make(uint64_t k, uint64_t c0, uint64_t c1) {
  td_philox g = {{(uint32_t)k, (uint32_t)(k >> 32)},
                 {(uint32_t)c0, (uint32_t)(c0 >> 32), (uint32_t)c1, (uint32_t)(c1 >> 32)}};
  return g;
}

/* The scrambled generator of a stateless op's 2-element seed (TF's GenerateKey): the seeds are
 * run through one Philox block under a fixed key; its words become the key and counter high half. */
static inline td_philox td_philox_from_seed(uint64_t seed0, uint64_t seed1) {
  static const uint32_t k[2] = {0x3ec8f720u, 0x02461e29u};
  uint32_t c[4] = {(uint32_t)seed0, (uint32_t)(seed0 >> 32), (uint32_t)seed1, (uint32_t)(seed1 >> 32)};
  uint32_t mix[4];
  td_philox_block(k, c, mix);
  td_philox g = {{mix[0], mix[1]}, {0, 0, mix[2], mix[3]}};
  return g;
}

static inline float td_philox_u32_to_float(uint32_t x) {
  uint32_t v = (127u << 23) | (x & 0x7fffffu);
  float f;
  memcpy(&f, &v, sizeof f);
  return f - 1.0f;
}

static inline double td_philox_u64_to_double(uint32_t x0, uint32_t x1) {
  uint64_t man = ((uint64_t)(x0 & 0xfffffu) << 32) | x1;
  uint64_t v = ((uint64_t)1023 << 52) | man;
  double d;
  memcpy(&d, &v, sizeof d);
  return d - 1.0;
}

static inline void td_philox_box_muller_f(uint32_t x0, uint32_t x1, float *f0, float *f1) {
  float u1 = td_philox_u32_to_float(x0);
  if (u1 < 1.0e-7f) u1 = 1.0e-7f;
  float v1 = 2.0f * (float)M_PI * td_philox_u32_to_float(x1);
  float u2 = sqrtf(-2.0f * logf(u1));
  *f0 = sinf(v1) * u2;
  *f1 = cosf(v1) * u2;
}

static inline void td_philox_box_muller_d(const uint32_t x[4], double *d0, double *d1) {
  double u1 = td_philox_u64_to_double(x[0], x[1]);
  if (u1 < 1.0e-7) u1 = 1.0e-7;
  double v1 = 2.0 * M_PI * td_philox_u64_to_double(x[2], x[3]);
  double u2 = sqrt(-2.0 * log(u1));
  *d0 = sin(v1) * u2;
  *d1 = cos(v1) * u2;
}

#endif
