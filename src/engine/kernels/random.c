/* kernels/random.c — RandomUniform, RandomStandardNormal, TruncatedNormal, RandomUniformInt.
 * These appear in variable initializers that some init ops re-run; serving never depends
 * on their exact values, so a splitmix64 stream replaces TF's Philox. Deterministic when a
 * seed is set, otherwise seeded from a global counter. */
#include <math.h>
#include <stdatomic.h>

#include "engine/kernel.h"

static atomic_uint_fast64_t unseeded_counter = 0x9e3779b97f4a7c15ull;

static uint64_t next_u64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double next_unit(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

static double next_normal(uint64_t *s) {
  double u1 = next_unit(s), u2 = next_unit(s);
  if (u1 < 1e-300) u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Allocates the output described by the 1-D shape input and seeds the stream. */
static td_code prepare(td_kctx *c, td_dtype dt, td_tensor **out, uint64_t *seed) {
  const td_tensor *shape = td_k_input(c, 0);
  if (shape->shape.rank != 1 || shape->shape.dim[0] > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape must be a vector of at most %d sizes", TD_MAX_RANK);
  td_shape s = {.rank = (int)shape->shape.dim[0]};
  for (int i = 0; i < s.rank; i++) {
    s.dim[i] = td_tensor_get_int(shape, i);
    if (s.dim[i] < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "shape has a negative dimension");
  }
  TD_TRY(td_k_alloc_output(c, 0, dt, &s, out));
  const td_node *n = td_k_node(c);
  int64_t s1 = td_attr_int(n, "seed", 0), s2 = td_attr_int(n, "seed2", 0);
  *seed = (s1 || s2) ? ((uint64_t)s1 << 32) ^ (uint64_t)s2 : atomic_fetch_add(&unseeded_counter, 0x632be59bd9b4e019ull);
  return TD_OK;
}

static td_code fill(td_kctx *c, int kind) {
  td_tensor *out;
  uint64_t seed;
  TD_TRY(prepare(c, td_attr_type(td_k_node(c), "dtype", TD_DT_FLOAT), &out, &seed));
  int64_t n = td_tensor_num_elements(out);
  for (int64_t i = 0; i < n; i++) {
    double v;
    if (kind == 0) {
      v = next_unit(&seed);
    } else {
      do v = next_normal(&seed);
      while (kind == 2 && fabs(v) > 2.0);
    }
    td_tensor_set_double(out, i, v);
  }
  return TD_OK;
}

td_code td_k_random_uniform(td_kctx *c) { return fill(c, 0); }
td_code td_k_random_normal(td_kctx *c) { return fill(c, 1); }
td_code td_k_truncated_normal(td_kctx *c) { return fill(c, 2); }

td_code td_k_random_uniform_int(td_kctx *c) {
  td_tensor *out;
  uint64_t seed;
  const td_tensor *lo = td_k_input(c, 1), *hi = td_k_input(c, 2);
  if (td_tensor_num_elements(lo) != 1 || td_tensor_num_elements(hi) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "minval and maxval must be scalars");
  int64_t a = td_tensor_get_int(lo, 0), b = td_tensor_get_int(hi, 0);
  if (b <= a) return td_k_fail(c, TD_INVALID_ARGUMENT, "Need minval < maxval: %lld >= %lld", (long long)a, (long long)b);
  TD_TRY(prepare(c, lo->dtype, &out, &seed));
  int64_t n = td_tensor_num_elements(out);
  for (int64_t i = 0; i < n; i++) {
    int64_t v = a + (int64_t)(next_u64(&seed) % (uint64_t)(b - a));
    if (out->dtype == TD_DT_INT64) td_i64(out)[i] = v;
    else td_i32(out)[i] = (int32_t)v;
  }
  return TD_OK;
}
