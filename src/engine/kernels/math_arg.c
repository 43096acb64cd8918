/* math_arg.c — index-producing reductions: ArgMax, ArgMin (one axis) and TopKV2 (last axis).
 *
 * ArgMax/ArgMin view the input as [O, R, I] around the axis and keep the first extreme
 * (strict comparison, so ties resolve to the lowest index, like TF). TopKV2 ranks a row by
 * value descending, ties by lower index first: small k keeps a sorted k-buffer by insertion
 * (one pass over the row), large k merge-sorts row indices (stable). Both are stamped per
 * dtype. Invariants: all shape / k checks happen before outputs are written; every index
 * written is within its row.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "util/mem.h"

/* ---- ArgMax / ArgMin ---- */
typedef void (*arg_fn)(const void *x, int64_t O, int64_t R, int64_t I, int64_t *out, int is_min);

#define ARG_IMPL(tag, S, C, LD)                                                            \
  static void arg_##tag(const void *px, int64_t O, int64_t R, int64_t I, int64_t *out,     \
                        int is_min) {                                                      \
    const S *x = px;                                                                       \
    if (I == 1) {                                                                          \
      for (int64_t o = 0; o < O; o++) {                                                    \
        const S *row = x + o * R;                                                          \
        C bv = LD(row[0]);                                                                 \
        int64_t bi = 0;                                                                    \
        for (int64_t r = 1; r < R; r++) {                                                  \
          C v = LD(row[r]);                                                                \
          if (is_min ? v < bv : v > bv) bv = v, bi = r;                                    \
        }                                                                                  \
        out[o] = bi;                                                                       \
      }                                                                                    \
      return;                                                                              \
    }                                                                                      \
    C *best = td_xmalloc((size_t)I * sizeof(C));                                           \
    for (int64_t o = 0; o < O; o++) {                                                      \
      const S *base = x + o * R * I;                                                       \
      int64_t *oi = out + o * I;                                                           \
      for (int64_t i = 0; i < I; i++) best[i] = LD(base[i]), oi[i] = 0;                    \
      for (int64_t r = 1; r < R; r++) {                                                    \
        const S *row = base + r * I;                                                       \
        for (int64_t i = 0; i < I; i++) {                                                  \
          C v = LD(row[i]);                                                                \
          if (is_min ? v < best[i] : v > best[i]) best[i] = v, oi[i] = r;                  \
        }                                                                                  \
      }                                                                                    \
    }                                                                                      \
    free(best);                                                                            \
  }
#define ARG_F(arg, tag, DT, S, C, LD, ST) ARG_IMPL(tag, S, C, LD)
#define ARG_I(arg, tag, DT, T, UW, SG) ARG_IMPL(tag, T, T, TD_MATH_ID)
#define ARG_ENTRY(arg, tag, DT, ...) [DT] = arg_##tag,
TD_MATH_FLOATS(ARG_F, _)
TD_MATH_INTS(ARG_I, _)
ARG_IMPL(b8, uint8_t, uint8_t, TD_MATH_ID)
static const arg_fn arg_rows[TD_MATH_NDT] = {TD_MATH_FLOATS(ARG_ENTRY, _)
                                                 TD_MATH_INTS(ARG_ENTRY, _)[TD_DT_BOOL] = arg_b8};

static td_code arg_kernel(td_kctx *c, int is_min) {
  const td_tensor *x = td_k_input(c, 0), *dim = td_k_input(c, 1);
  td_dtype dt = x->dtype;
  if (!td_math_dt_index_ok(dt) || !arg_rows[dt]) return td_math_fail_dtype(c, "T", dt);
  td_dtype ot = td_attr_type(td_k_node(c), "output_type", TD_DT_INT64);
  if (ot != TD_DT_INT32 && ot != TD_DT_INT64) return td_math_fail_dtype(c, "output_type", ot);
  char s[TD_MATH_SHAPE_BUF];
  if (dim->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "dim must be a scalar, but received tensor of shape: %s",
                     td_math_shape_str(&dim->shape, s));
  int64_t axis;
  if (td_math_read_axes(c, dim, &axis, 1) < 0) return TD_INVALID_ARGUMENT;
  int rank = x->shape.rank;
  if (axis < -rank || axis >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Expected dimension in the range [%d, %d), but got %lld", -rank, rank,
                     (long long)axis);
  if (axis < 0) axis += rank;
  int64_t O = 1, R = x->shape.dim[axis], I = 1;
  for (int i = 0; i < axis; i++) O *= x->shape.dim[i];
  for (int i = (int)axis + 1; i < rank; i++) I *= x->shape.dim[i];
  td_shape os = {0};
  for (int i = 0; i < rank; i++)
    if (i != axis) os.dim[os.rank++] = x->shape.dim[i];
  if (R == 0 && O * I > 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Reduction axis %lld is empty in shape %s",
                     (long long)axis, td_math_shape_str(&x->shape, s));
  td_tensor *y;
  TD_TRY(td_k_alloc_output(c, 0, ot, &os, &y));
  int64_t n = O * I;
  if (n == 0) return TD_OK;
  int64_t *idx = ot == TD_DT_INT64 ? td_i64(y) : td_xmalloc((size_t)n * sizeof(int64_t));
  arg_rows[dt](x->data, O, R, I, idx, is_min);
  if (ot == TD_DT_INT32) {
    for (int64_t i = 0; i < n; i++) td_i32(y)[i] = (int32_t)idx[i];
    free(idx);
  }
  return TD_OK;
}

td_code td_k_math_arg_max(td_kctx *c) { return arg_kernel(c, 0); }
td_code td_k_math_arg_min(td_kctx *c) { return arg_kernel(c, 1); }

/* ---- TopKV2 ---- */
/* Writes the k best of row[0..n) (value desc, index asc) as indices into top[0..k). tmp holds
 * 2n int32 of scratch (merge sort path). */
typedef void (*topk_fn)(const void *row, int32_t n, int32_t k, int32_t *top, int32_t *tmp);

/* BETTER(i, j): element i ranks before element j */
#define TOPK_IMPL(tag, S, C, LD)                                                           \
  static void topk_##tag(const void *prow, int32_t n, int32_t k, int32_t *top,             \
                         int32_t *tmp) {                                                   \
    const S *row = prow;                                                                   \
    if (k <= 32 || k < n / 8) { /* insertion into a sorted k-buffer */                     \
      C *bv = (C *)(void *)tmp; /* tmp has room for 2n int32 >= k values of C when k<=n/8 */ \
      C small[32];                                                                         \
      if (k <= 32) bv = small;                                                             \
      int32_t cnt = 0;                                                                     \
      for (int32_t i = 0; i < n; i++) {                                                    \
        C v = LD(row[i]);                                                                  \
        if (cnt == k && !(v > bv[k - 1])) continue;                                        \
        int32_t p = cnt < k ? cnt++ : k - 1;                                               \
        while (p > 0 && v > bv[p - 1]) {                                                   \
          bv[p] = bv[p - 1];                                                               \
          top[p] = top[p - 1];                                                             \
          p--;                                                                             \
        }                                                                                  \
        bv[p] = v;                                                                         \
        top[p] = i;                                                                        \
      }                                                                                    \
      return;                                                                              \
    }                                                                                      \
    int32_t *a = tmp, *b = tmp + n;                                                        \
    for (int32_t i = 0; i < n; i++) a[i] = i;                                              \
    for (int32_t w = 1; w < n; w *= 2) {                                                   \
      for (int32_t lo = 0; lo < n; lo += 2 * w) {                                          \
        int32_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;       \
        int32_t i = lo, j = mid, o = lo;                                                   \
        while (i < mid && j < hi) b[o++] = (LD(row[a[j]]) > LD(row[a[i]])) ? a[j++] : a[i++]; \
        while (i < mid) b[o++] = a[i++];                                                   \
        while (j < hi) b[o++] = a[j++];                                                    \
      }                                                                                    \
      int32_t *t = a;                                                                      \
      a = b;                                                                               \
      b = t;                                                                               \
    }                                                                                      \
    memcpy(top, a, (size_t)k * sizeof *top);                                               \
  }
#define TOPK_F(arg, tag, DT, S, C, LD, ST) TOPK_IMPL(tag, S, C, LD)
#define TOPK_I(arg, tag, DT, T, UW, SG) TOPK_IMPL(tag, T, T, TD_MATH_ID)
#define TOPK_ENTRY(arg, tag, DT, ...) [DT] = topk_##tag,
TD_MATH_FLOATS(TOPK_F, _)
TD_MATH_INTS(TOPK_I, _)
static const topk_fn topk_rows[TD_MATH_NDT] = {TD_MATH_FLOATS(TOPK_ENTRY, _)
                                                   TD_MATH_INTS(TOPK_ENTRY, _)};

td_code td_k_math_top_k_v2(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *kt = td_k_input(c, 1);
  td_dtype dt = x->dtype;
  if (!td_math_dt_index_ok(dt) || !topk_rows[dt]) return td_math_fail_dtype(c, "T", dt);
  char s[TD_MATH_SHAPE_BUF];
  if (kt->shape.rank != 0 || kt->dtype != TD_DT_INT32)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "k must be scalar, got shape %s",
                     td_math_shape_str(&kt->shape, s));
  int32_t k = td_i32(kt)[0];
  if (k < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Need k >= 0, got %d", k);
  if (x->shape.rank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be >= 1-D, got shape %s",
                     td_math_shape_str(&x->shape, s));
  int64_t n = x->shape.dim[x->shape.rank - 1];
  if (n < k)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "input must have at least k columns. Had %lld, needed %d", (long long)n, k);
  if (n > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "First dimension of flattened input must be <= "
                     "INT_MAX, got %lld", (long long)n);
  td_shape os = x->shape;
  os.dim[os.rank - 1] = k;
  td_tensor *vals, *idx;
  TD_TRY(td_k_alloc_output(c, 0, dt, &os, &vals));
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_INT32, &os, &idx));
  int64_t rows = td_tensor_num_elements(x) / (n ? n : 1);
  if (k == 0 || rows == 0 || td_tensor_num_elements(x) == 0) return TD_OK;
  size_t es = td_dtype_size(dt);
  int32_t *tmp = td_xmalloc((size_t)n * 2 * sizeof(int32_t) + 64);
  for (int64_t r = 0; r < rows; r++) {
    const char *row = (const char *)x->data + r * n * (int64_t)es;
    int32_t *top = td_i32(idx) + r * k;
    topk_rows[dt](row, (int32_t)n, k, top, tmp);
    char *vo = (char *)vals->data + r * k * (int64_t)es;
    for (int32_t j = 0; j < k; j++) memcpy(vo + (size_t)j * es, row + (size_t)top[j] * es, es);
  }
  free(tmp);
  return TD_OK;
}
