/* kernels/random.c — stateful random ops: RandomUniform, RandomStandardNormal, TruncatedNormal,
 * RandomUniformInt, Multinomial, RandomShuffle (StatelessMultinomial rides along).
 *
 * Seeded (seed or seed2 != 0) they follow TF's GuardedPhiloxRandom: a Philox4x32-10 generator with
 * key = seed and counter = (0, seed2); each run reserves output_count * 256 blocks from a per-node
 * position (td_k_state, an atomic), so the first run of a node gives TF's first-call values for
 * the uniform / normal / truncated / int kernels and later runs advance as TF's do (run order
 * decides which run gets which block range). Unseeded nodes draw a fresh generator per run.
 * Multinomial and RandomShuffle use the same generators but their sampling loops are this
 * engine's own (deterministic per seed, not TF's exact values). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/random_internal.h"

static atomic_uint_fast64_t unseeded_counter = 0x9e3779b97f4a7c15ull;

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static td_code pos_create(td_kctx *c, void **state) {
  atomic_uint_fast64_t *p = malloc(sizeof *p);
  if (!p) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory for the random state");
  atomic_init(p, 0);
  *state = p;
  return TD_OK;
}

/* The generator for this run, reserving `outputs` * 256 blocks of the node's seeded stream. */
static td_code generator(td_kctx *c, int64_t outputs, td_philox *g) {
  const td_node *n = td_k_node(c);
  int64_t s1 = td_attr_int(n, "seed", 0), s2 = td_attr_int(n, "seed2", 0);
  if (!s1 && !s2) {
    uint64_t s = atomic_fetch_add(&unseeded_counter, 0x632be59bd9b4e019ull);
    uint64_t k = splitmix(&s), c1 = splitmix(&s);
    *g = td_philox_make(k, 0, c1);
    return TD_OK;
  }
  void *st = NULL;
  TD_TRY(td_k_state(c, pos_create, free, &st));
  uint64_t skip = atomic_fetch_add((atomic_uint_fast64_t *)st, (uint64_t)outputs * 256u);
  *g = td_philox_make((uint64_t)s1, 0, (uint64_t)s2);
  td_philox_skip(g, skip);
  return TD_OK;
}

static td_code fill(td_kctx *c, td_rand_dist d, td_dtype dt, int64_t lo, uint64_t range) {
  td_shape s;
  TD_TRY(td_rand_shape_input(c, 0, &s));
  if (!td_rand_dtype_ok(d, dt))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s does not support dtype %s", td_node_op(td_k_node(c)), td_dtype_name(dt));
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, dt, &s, &out));
  td_philox g;
  TD_TRY(generator(c, td_tensor_num_elements(out), &g));
  td_rand_fill(g, d, out, lo, range);
  return TD_OK;
}

static td_dtype dtype_attr(td_kctx *c) { return td_attr_type(td_k_node(c), "dtype", TD_DT_FLOAT); }

td_code td_k_random_uniform(td_kctx *c) { return fill(c, TD_RD_UNIFORM, dtype_attr(c), 0, 0); }
td_code td_k_random_normal(td_kctx *c) { return fill(c, TD_RD_NORMAL, dtype_attr(c), 0, 0); }
td_code td_k_truncated_normal(td_kctx *c) { return fill(c, TD_RD_TRUNCATED, dtype_attr(c), 0, 0); }

td_code td_k_random_uniform_int(td_kctx *c) {
  const td_tensor *lo = td_k_input(c, 1), *hi = td_k_input(c, 2);
  char buf[64];
  if (lo->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "minval must be 0-D, got shape %s", td_shape_str(&lo->shape, buf, sizeof buf));
  if (hi->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "maxval must be 0-D, got shape %s", td_shape_str(&hi->shape, buf, sizeof buf));
  int64_t a = td_tensor_get_int(lo, 0), b = td_tensor_get_int(hi, 0);
  if (b <= a) return td_k_fail(c, TD_INVALID_ARGUMENT, "Need minval < maxval: %lld >= %lld", (long long)a, (long long)b);
  uint64_t range = (uint64_t)b - (uint64_t)a;
  if (lo->dtype == TD_DT_INT32) range = (uint32_t)range;
  return fill(c, TD_RD_INT, lo->dtype, a, range);
}

/* ---- Multinomial ---- */

static td_code multinomial(td_kctx *c, td_philox *g_or_null) {
  const td_tensor *logits = td_k_input(c, 0), *ns = td_k_input(c, 1);
  char buf[64];
  if (logits->shape.rank != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "logits should be a matrix, got shape %s", td_shape_str(&logits->shape, buf, sizeof buf));
  if (ns->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "num_samples should be a scalar, got shape %s", td_shape_str(&ns->shape, buf, sizeof buf));
  int64_t b = logits->shape.dim[0], k = logits->shape.dim[1], m = td_tensor_get_int(ns, 0);
  if (m < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_samples should be nonnegative, got %lld", (long long)m);
  if (k <= 0 && b > 0 && m > 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_classes should be positive, got %lld", (long long)k);
  td_dtype odt = td_attr_type(td_k_node(c), "output_dtype", TD_DT_INT64);
  if (odt != TD_DT_INT32 && odt != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output_dtype must be int32 or int64, got %s", td_dtype_name(odt));
  td_shape os = td_shape_make(2, (const int64_t[]){b, m});
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, odt, &os, &out));
  if (b * m == 0) return TD_OK;
  td_philox g;
  if (g_or_null) g = *g_or_null;
  else TD_TRY(generator(c, b * m, &g));
  double *cdf = malloc((size_t)k * sizeof *cdf);
  if (!cdf) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "Multinomial: out of memory");
  for (int64_t r = 0; r < b; r++) {
    double mx = -INFINITY, run = 0;
    for (int64_t j = 0; j < k; j++) {
      double v = td_tensor_get_double(logits, r * k + j);
      if (isfinite(v) && v > mx) mx = v;
    }
    for (int64_t j = 0; j < k; j++) {
      double v = td_tensor_get_double(logits, r * k + j);
      run += isfinite(v) ? exp(v - mx) : 0.0; /* -inf (and non-finite) logits never drawn */
      cdf[j] = run;
    }
    for (int64_t s = 0; s < m; s++) {
      uint32_t x[4];
      td_philox_next(&g, x);
      double u = td_philox_u64_to_double(x[0], x[1]) * run;
      int64_t lo = 0, hi = k; /* first j with cdf[j] > u */
      while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u) hi = mid;
        else lo = mid + 1;
      }
      if (lo >= k) lo = k - 1;
      if (odt == TD_DT_INT32) td_i32(out)[r * m + s] = (int32_t)lo;
      else td_i64(out)[r * m + s] = lo;
    }
  }
  free(cdf);
  return TD_OK;
}

td_code td_k_multinomial(td_kctx *c) { return multinomial(c, NULL); }

td_code td_k_stateless_multinomial(td_kctx *c) {
  const td_tensor *s = td_k_input(c, 2);
  char buf[64];
  if (s->shape.rank != 1 || s->shape.dim[0] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "seed must have shape [2], not %s", td_shape_str(&s->shape, buf, sizeof buf));
  td_philox g = td_philox_from_seed((uint64_t)td_tensor_get_int(s, 0), (uint64_t)td_tensor_get_int(s, 1));
  return multinomial(c, &g);
}

/* ---- RandomShuffle: a Fisher-Yates permutation of the first dimension ---- */
td_code td_k_random_shuffle(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  if (in->shape.rank == 0 || in->shape.dim[0] <= 1) return td_k_forward(c, 0, 0, NULL);
  if (in->dtype == TD_DT_STRING || in->dtype == TD_DT_RESOURCE || in->dtype == TD_DT_VARIANT)
    return td_k_fail(c, TD_UNIMPLEMENTED, "RandomShuffle of %s is not supported", td_dtype_name(in->dtype));
  int64_t n = in->shape.dim[0];
  size_t row = td_tensor_nbytes(in) / (size_t)n;
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, in->dtype, &in->shape, &out));
  int64_t *perm = malloc((size_t)n * sizeof *perm);
  if (!perm) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "RandomShuffle: out of memory");
  td_philox g;
  td_code rc = generator(c, n, &g);
  if (rc == TD_OK) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
      uint32_t x[4];
      td_philox_next(&g, x);
      uint64_t bits = (uint64_t)x[0] | (uint64_t)x[1] << 32;
      int64_t j = (int64_t)(bits % (uint64_t)(i + 1));
      int64_t t = perm[i];
      perm[i] = perm[j], perm[j] = t;
    }
    for (int64_t i = 0; i < n; i++)
      if (row) memcpy((char *)out->data + (size_t)i * row, (const char *)in->data + (size_t)perm[i] * row, row);
  }
  free(perm);
  return rc;
}
