/* random_dist.c — TF's random distributions over a Philox4x32-10 stream (see random_philox.h):
 * the per-dtype conversions of uniform, normal, truncated-normal and integer samples, written as
 * one loop per distribution over a small per-dtype table. Pure; no global state. */
#include "engine/kernels/random_internal.h"

#include <string.h>

/* Stores v as element i of a floating tensor. */
static void put_real(td_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
    case TD_DT_FLOAT: td_f32(t)[i] = (float)v; break;
    case TD_DT_DOUBLE: td_f64(t)[i] = v; break;
    default: td_tensor_set_double(t, i, v); break; /* half / bfloat16 round from float */
  }
}

static float u16_to_half_unit(uint32_t x) { /* [1, 2) half with 10 mantissa bits, minus 1 */
  return td_half_to_float((uint16_t)((15u << 10) | (x & 0x3ffu))) - 1.0f;
}

static float u16_to_bf16_unit(uint32_t x) {
  return td_bf16_to_float((uint16_t)((127u << 7) | (x & 0x7fu))) - 1.0f;
}

int td_rand_dtype_ok(td_rand_dist d, td_dtype dt) {
  if (d == TD_RD_INT || d == TD_RD_FULL_INT)
    return dt == TD_DT_INT32 || dt == TD_DT_INT64 || dt == TD_DT_UINT32 || dt == TD_DT_UINT64;
  return dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE || dt == TD_DT_HALF || dt == TD_DT_BFLOAT16;
}

static void fill_uniform(td_philox *g, td_tensor *out, int64_t n) {
  uint32_t s[4];
  if (out->dtype == TD_DT_DOUBLE) {
    for (int64_t i = 0; i < n; i += 2) {
      td_philox_next(g, s);
      for (int j = 0; j < 2 && i + j < n; j++) td_f64(out)[i + j] = td_philox_u64_to_double(s[2 * j], s[2 * j + 1]);
    }
    return;
  }
  for (int64_t i = 0; i < n; i += 4) {
    td_philox_next(g, s);
    for (int j = 0; j < 4 && i + j < n; j++) {
      float v = out->dtype == TD_DT_HALF ? u16_to_half_unit(s[j])
                : out->dtype == TD_DT_BFLOAT16 ? u16_to_bf16_unit(s[j]) : td_philox_u32_to_float(s[j]);
      put_real(out, i + j, v);
    }
  }
}

static void fill_normal(td_philox *g, td_tensor *out, int64_t n) {
  uint32_t s[4];
  if (out->dtype == TD_DT_DOUBLE) {
    for (int64_t i = 0; i < n; i += 2) {
      double d[2];
      td_philox_next(g, s);
      td_philox_box_muller_d(s, &d[0], &d[1]);
      for (int j = 0; j < 2 && i + j < n; j++) td_f64(out)[i + j] = d[j];
    }
    return;
  }
  for (int64_t i = 0; i < n; i += 4) {
    float f[4];
    td_philox_next(g, s);
    td_philox_box_muller_f(s[0], s[1], &f[0], &f[1]);
    td_philox_box_muller_f(s[2], s[3], &f[2], &f[3]);
    for (int j = 0; j < 4 && i + j < n; j++) put_real(out, i + j, f[j]);
  }
}

/* One uint32 at a time from a generator (TF's SingleSampleAdapter). */
typedef struct single {
  td_philox g;
  uint32_t buf[4];
  int used;
} single;

static uint32_t single_next(single *s) {
  if (s->used == 4) {
    td_philox_next(&s->g, s->buf);
    s->used = 0;
  }
  return s->buf[s->used++];
}

static void fill_truncated(td_philox base, td_tensor *out, int64_t n) {
  int dbl = out->dtype == TD_DT_DOUBLE, group = dbl ? 2 : 4;
  for (int64_t i = 0, grp = 0; i < n; i += group, grp++) {
    single s = {.g = base, .used = 4};
    td_philox_skip(&s.g, (uint64_t)grp * 256u);
    double r[4];
    int got = 0;
    while (got < group) {
      double v[2];
      if (dbl) {
        uint32_t x[4];
        for (int j = 0; j < 4; j++) x[j] = single_next(&s);
        td_philox_box_muller_d(x, &v[0], &v[1]);
      } else {
        float f0, f1;
        uint32_t x0 = single_next(&s), x1 = single_next(&s);
        td_philox_box_muller_f(x0, x1, &f0, &f1);
        v[0] = f0, v[1] = f1;
      }
      for (int j = 0; j < 2 && got < group; j++)
        if (fabs(v[j]) < 2.0) r[got++] = v[j];
    }
    for (int j = 0; j < group && i + j < n; j++) put_real(out, i + j, r[j]);
  }
}

static void fill_int(td_philox *g, td_tensor *out, int64_t n, int full, int64_t lo, uint64_t range) {
  uint32_t s[4];
  int wide = out->dtype == TD_DT_INT64 || out->dtype == TD_DT_UINT64, per = wide ? 2 : 4;
  for (int64_t i = 0; i < n; i += per) {
    td_philox_next(g, s);
    for (int j = 0; j < per && i + j < n; j++) {
      uint64_t bits = wide ? ((uint64_t)s[2 * j] | (uint64_t)s[2 * j + 1] << 32) : s[j];
      uint64_t v = full ? bits : (uint64_t)lo + bits % range;
      switch (out->dtype) {
        case TD_DT_INT32: td_i32(out)[i + j] = (int32_t)(uint32_t)v; break;
        case TD_DT_UINT32: ((uint32_t *)out->data)[i + j] = (uint32_t)v; break;
        case TD_DT_INT64: td_i64(out)[i + j] = (int64_t)v; break;
        default: ((uint64_t *)out->data)[i + j] = v; break;
      }
    }
  }
}

int td_rand_fill(td_philox g, td_rand_dist d, td_tensor *out, int64_t lo, uint64_t range) {
  if (!td_rand_dtype_ok(d, out->dtype)) return -1;
  int64_t n = td_tensor_num_elements(out);
  switch (d) {
    case TD_RD_UNIFORM: fill_uniform(&g, out, n); break;
    case TD_RD_NORMAL: fill_normal(&g, out, n); break;
    case TD_RD_TRUNCATED: fill_truncated(g, out, n); break;
    case TD_RD_INT: fill_int(&g, out, n, 0, lo, range ? range : 1); break;
    case TD_RD_FULL_INT: fill_int(&g, out, n, 1, 0, 0); break;
  }
  return 0;
}

td_code td_rand_shape_input(td_kctx *c, int i, td_shape *s) {
  const td_tensor *t = td_k_input(c, i);
  if (t->dtype != TD_DT_INT32 && t->dtype != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape must be int32 or int64, got %s", td_dtype_name(t->dtype));
  if (t->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape must be a vector of {int32,int64}, got shape with %d dimensions", t->shape.rank);
  int64_t n = td_tensor_num_elements(t);
  if (n > TD_MAX_RANK) return td_k_fail(c, TD_UNIMPLEMENTED, "shape of rank %lld: at most %d dimensions are supported", (long long)n, TD_MAX_RANK);
  s->rank = (int)n;
  int64_t total = 1;
  for (int k = 0; k < s->rank; k++) {
    s->dim[k] = td_tensor_get_int(t, k);
    if (s->dim[k] < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Dimension %lld must be >= 0", (long long)s->dim[k]);
    if (s->dim[k] && total > INT64_MAX / s->dim[k]) return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape would have more than 2**63 - 1 elements");
    total *= s->dim[k];
  }
  return TD_OK;
}
