/* array_common.c — element movement and argument helpers for the array kernels
 * (see array_internal.h).
 *
 * Invariants: POD elements move as raw bytes of td_dtype_size(); strings and resources are
 * deep-copied one element at a time. td_array_walk_copy first drops unit dims and merges
 * dims that are contiguous in both source and destination, so a slice of whole rows
 * becomes one memcpy per row, and a transpose of the two innermost dims is cache-tiled.
 */
#include <stdio.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

int td_array_dtype_is_boxed(td_dtype dt) {
  return !td_dtype_is_plain(dt); /* VARIANT elements are td_resource refs */
}

void td_array_copy(td_tensor *dst, int64_t dst_i, const td_tensor *src, int64_t src_i, int64_t n) {
  if (n <= 0) return;
  if (src->dtype == TD_DT_STRING) {
    const td_string *s = td_str(src) + src_i;
    for (int64_t k = 0; k < n; k++) td_tensor_set_string(dst, dst_i + k, s[k].data, s[k].len);
  } else if (td_array_dtype_is_boxed(src->dtype)) {
    td_resource *const *r = td_res(src) + src_i;
    for (int64_t k = 0; k < n; k++) td_tensor_set_resource(dst, dst_i + k, r[k]);
  } else {
    size_t es = td_dtype_size(src->dtype);
    memmove((char *)dst->data + (size_t)dst_i * es, (const char *)src->data + (size_t)src_i * es,
            (size_t)n * es);
  }
}

void td_array_fill(td_tensor *dst, int64_t dst_i, int64_t n, const td_tensor *value, int64_t value_i) {
  if (n <= 0) return;
  if (td_array_dtype_is_boxed(dst->dtype)) {
    for (int64_t k = 0; k < n; k++) td_array_copy(dst, dst_i + k, value, value_i, 1);
    return;
  }
  /* One element, then doubling memcpy. */
  size_t es = td_dtype_size(dst->dtype);
  char *base = (char *)dst->data + (size_t)dst_i * es;
  memcpy(base, (const char *)value->data + (size_t)value_i * es, es);
  size_t done = 1, total = (size_t)n;
  while (done < total) {
    size_t chunk = done < total - done ? done : total - done;
    memcpy(base + done * es, base, chunk * es);
    done += chunk;
  }
}

/* ---- strided walks ---- */

static void walk_simplify(td_array_walk *w) {
  td_array_walk out = {0};
  for (int k = 0; k < w->rank; k++) {
    if (w->dim[k] == 1) continue;
    int top = out.rank - 1;
    if (top >= 0 && out.src_stride[top] == w->src_stride[k] * w->dim[k] &&
        out.dst_stride[top] == w->dst_stride[k] * w->dim[k]) {
      out.dim[top] *= w->dim[k];
      out.src_stride[top] = w->src_stride[k];
      out.dst_stride[top] = w->dst_stride[k];
      continue;
    }
    out.dim[out.rank] = w->dim[k];
    out.src_stride[out.rank] = w->src_stride[k];
    out.dst_stride[out.rank] = w->dst_stride[k];
    out.rank++;
  }
  *w = out;
}

/* Strided element loops for each POD element width. */
#define TD_ARRAY_STRIDED(name, type)                                                           \
  static void name(char *d, int64_t ds, const char *s, int64_t ss, int64_t n) {                \
    type *dp = (type *)d;                                                                      \
    const type *sp = (const type *)s;                                                          \
    for (int64_t k = 0; k < n; k++) dp[k * ds] = sp[k * ss];                                   \
  }
TD_ARRAY_STRIDED(strided_u8, uint8_t)
TD_ARRAY_STRIDED(strided_u16, uint16_t)
TD_ARRAY_STRIDED(strided_u32, uint32_t)
TD_ARRAY_STRIDED(strided_u64, uint64_t)

typedef void (*strided_fn)(char *d, int64_t ds, const char *s, int64_t ss, int64_t n);

static strided_fn strided_for_size(size_t es) {
  switch (es) {
    case 1: return strided_u8;
    case 2: return strided_u16;
    case 4: return strided_u32;
    case 8: return strided_u64;
    default: return NULL;
  }
}

/* One run of n elements along the innermost walk dim. */
static void walk_run(td_tensor *dst, int64_t d, int64_t ds, const td_tensor *src, int64_t s,
                     int64_t ss, int64_t n, strided_fn fn, size_t es) {
  if (ds == 1 && ss == 1) {
    td_array_copy(dst, d, src, s, n);
  } else if (fn) {
    fn((char *)dst->data + d * (int64_t)es, ds, (const char *)src->data + s * (int64_t)es, ss, n);
  } else {
    for (int64_t k = 0; k < n; k++) td_array_copy(dst, d + k * ds, src, s + k * ss, 1);
  }
}

/* Transpose-like inner pair: dim a (src stride 1, dst stride ds_a) × dim b (src stride ss_b,
 * dst stride 1), processed in tiles so both sides stay in cache. */
#define TD_ARRAY_TILE 32
static void walk_tile(td_tensor *dst, int64_t d, int64_t ds_a, const td_tensor *src, int64_t s,
                      int64_t ss_b, int64_t na, int64_t nb, strided_fn fn, size_t es) {
  for (int64_t a0 = 0; a0 < na; a0 += TD_ARRAY_TILE) {
    int64_t a1 = a0 + TD_ARRAY_TILE < na ? a0 + TD_ARRAY_TILE : na;
    for (int64_t b0 = 0; b0 < nb; b0 += TD_ARRAY_TILE) {
      int64_t bn = b0 + TD_ARRAY_TILE < nb ? TD_ARRAY_TILE : nb - b0;
      for (int64_t a = a0; a < a1; a++)
        walk_run(dst, d + a * ds_a + b0, 1, src, s + a + b0 * ss_b, ss_b, bn, fn, es);
    }
  }
}

void td_array_walk_copy(td_tensor *dst, int64_t dst_off, const td_tensor *src, int64_t src_off,
                        td_array_walk *w) {
  for (int k = 0; k < w->rank; k++)
    if (w->dim[k] <= 0) return;
  walk_simplify(w);
  if (w->rank == 0) {
    td_array_copy(dst, dst_off, src, src_off, 1);
    return;
  }
  size_t es = td_dtype_size(src->dtype);
  strided_fn fn = td_array_dtype_is_boxed(src->dtype) ? NULL : strided_for_size(es);
  int r = w->rank;
  int tiled = fn && r >= 2 && w->dst_stride[r - 1] == 1 && w->src_stride[r - 1] != 1 &&
              w->src_stride[r - 2] == 1 && w->dim[r - 1] >= 8 && w->dim[r - 2] >= 8;
  int outer = tiled ? r - 2 : r - 1;
  int64_t idx[TD_ARRAY_WALK_MAX] = {0};
  int64_t s = src_off, d = dst_off;
  for (;;) {
    if (tiled)
      walk_tile(dst, d, w->dst_stride[r - 2], src, s, w->src_stride[r - 1], w->dim[r - 2],
                w->dim[r - 1], fn, es);
    else
      walk_run(dst, d, w->dst_stride[r - 1], src, s, w->src_stride[r - 1], w->dim[r - 1], fn, es);
    int k = outer - 1;
    for (; k >= 0; k--) {
      idx[k]++;
      s += w->src_stride[k];
      d += w->dst_stride[k];
      if (idx[k] < w->dim[k]) break;
      s -= w->src_stride[k] * w->dim[k];
      d -= w->dst_stride[k] * w->dim[k];
      idx[k] = 0;
    }
    if (k < 0) break;
  }
}

/* ---- shapes ---- */

void td_array_strides(const td_shape *s, int64_t *stride) {
  int64_t acc = 1;
  for (int k = s->rank - 1; k >= 0; k--) {
    stride[k] = acc;
    acc *= s->dim[k];
  }
}

td_code td_array_checked_elements(td_kctx *c, const td_shape *s, int64_t *n) {
  char sb[TD_ARRAY_SHAPE_BUF];
  int64_t p = 1;
  for (int k = 0; k < s->rank; k++) {
    if (s->dim[k] < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Dimension %lld must be >= 0", (long long)s->dim[k]);
    if (__builtin_mul_overflow(p, s->dim[k], &p))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Encountered overflow when multiplying shape %s",
                       td_array_shape_str(s, sb, sizeof sb));
  }
  *n = p;
  return TD_OK;
}

int64_t td_array_dims_product(const td_shape *s, int from, int to) {
  int64_t p = 1;
  for (int k = from; k < to; k++) p *= s->dim[k];
  return p;
}

const char *td_array_shape_str(const td_shape *s, char *buf, size_t n) { return td_shape_str(s, buf, n); }

/* ---- index arguments ---- */

int td_array_is_index_dtype(td_dtype dt) { return dt == TD_DT_INT32 || dt == TD_DT_INT64; }

td_code td_array_scalar_index(td_kctx *c, const td_tensor *t, const char *what, int64_t *v) {
  char sb[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be int32 or int64, got %s", what,
                     td_dtype_name(t->dtype));
  if (td_tensor_num_elements(t) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be a scalar, got shape %s", what,
                     td_array_shape_str(&t->shape, sb, sizeof sb));
  *v = td_array_index_at(t, 0);
  return TD_OK;
}

td_code td_array_check_index_vector(td_kctx *c, const td_tensor *t, const char *what, int64_t max) {
  char sb[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be int32 or int64, got %s", what,
                     td_dtype_name(t->dtype));
  if (t->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be a vector, got shape %s", what,
                     td_array_shape_str(&t->shape, sb, sizeof sb));
  if (max >= 0 && t->shape.dim[0] > max)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s has %lld elements; at most %lld are supported",
                     what, (long long)t->shape.dim[0], (long long)max);
  return TD_OK;
}

td_code td_array_read_shape(td_kctx *c, const td_tensor *t, const char *what, td_shape *out) {
  TD_TRY(td_array_check_index_vector(c, t, what, TD_MAX_RANK));
  out->rank = (int)t->shape.dim[0];
  for (int k = 0; k < out->rank; k++) out->dim[k] = td_array_index_at(t, k);
  return TD_OK;
}
