/* math_reduce.c — reductions (Sum, Mean, Prod, Max, Min, All, Any) and ArgMax / ArgMin.
 *
 * Axes are normalized (negative axes, duplicates rejected like TF), size-1 dims dropped and
 * neighbouring dims merged into alternating kept/reduced groups. Each pass reduces the
 * innermost reduced group of a [O, R, I] view with a stamped loop (I == 1: 16 accumulator
 * lanes over a contiguous row; 1 < I <= SHORT_ROWS: 16 columns at a time in accumulator lanes;
 * wider I: accumulate whole rows of I, contiguous); patterns with several
 * reduced groups take several passes through scratch buffers. Mean divides by the total count
 * in the last pass (integer Mean truncates like TF). Empty reductions give the identity (0,
 * 1, -inf / +inf or the integer extreme, true / false; Mean of nothing is NaN for floats).
 * Max / Min propagate NaN. Invariants: output shape is fixed before any element is read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "util/mem.h"

/* Inner widths up to this reduce 16 columns at a time in registers (one vector op per row of
 * the reduced axis); wider rows accumulate whole rows into a buffer (long contiguous loops).
 * DeepFM's [1000, 39, 16] field sums: 0.14 ms each through the buffer (a 16-element loop per
 * row). Only while one [R, I] slab stays in cache: a width that is not a multiple of 16 makes
 * the column blocks read some lines twice. */
enum { SHORT_ROWS = 64, SHORT_SLAB_BYTES = 128 << 10 };

/* Reduces x viewed as [O, R, I] into y [O, I]; divisor > 0 divides the result (Mean). */
typedef void (*reduce_fn)(const void *x, void *y, int64_t O, int64_t R, int64_t I,
                          int64_t divisor);

#define REDUCE(name, S, C, LD, ST, T, UW, SG, INIT, ACC, DIV)                                 \
  static void name(const void *px, void *py, int64_t O, int64_t R, int64_t I,               \
                   int64_t divisor) {                                                        \
    typedef T td_T;                                                                          \
    typedef UW td_UW;                                                                        \
    enum { td_SG = SG };                                                                     \
    (void)sizeof(td_T), (void)sizeof(td_UW), (void)td_SG;                                    \
    const S *x = px;                                                                         \
    S *y = py;                                                                               \
    if (I == 1) {                                                                            \
      for (int64_t o = 0; o < O; o++) {                                                      \
        const S *row = x + o * R;                                                            \
        C lane[16], acc = INIT; /* 16 independent lanes: the j loop vectorizes */            \
        for (int j = 0; j < 16; j++) lane[j] = INIT;                                         \
        int64_t r = 0;                                                                       \
        for (; r + 16 <= R; r += 16)                                                         \
          for (int j = 0; j < 16; j++) lane[j] = ACC(lane[j], LD(row[r + j]));               \
        for (int j = 0; j < 16; j++) acc = ACC(acc, lane[j]);                                \
        for (; r < R; r++) acc = ACC(acc, LD(row[r]));                                       \
        y[o] = ST(divisor > 0 ? DIV(acc, divisor) : acc);                                    \
      }                                                                                      \
      return;                                                                                \
    }                                                                                        \
    if (I <= SHORT_ROWS && (size_t)(R * I) * sizeof(S) <= SHORT_SLAB_BYTES) { /* in lanes */  \
      for (int64_t o = 0; o < O; o++)                                                        \
        for (int64_t i = 0; i < I; i += 16) {                                                \
          const S *col = x + o * R * I + i;                                                  \
          int w = I - i < 16 ? (int)(I - i) : 16;                                            \
          C lane[16];                                                                        \
          for (int j = 0; j < 16; j++) lane[j] = INIT;                                       \
          if (w == 16)                                                                       \
            for (int64_t r = 0; r < R; r++)                                                  \
              for (int j = 0; j < 16; j++) lane[j] = ACC(lane[j], LD(col[r * I + j]));      \
          else                                                                               \
            for (int64_t r = 0; r < R; r++)                                                  \
              for (int j = 0; j < w; j++) lane[j] = ACC(lane[j], LD(col[r * I + j]));       \
          S *yo = y + o * I + i;                                                             \
          for (int j = 0; j < w; j++) yo[j] = ST(divisor > 0 ? DIV(lane[j], divisor) : lane[j]); \
        }                                                                                    \
      return;                                                                                \
    }                                                                                        \
    C *acc = td_xmalloc((size_t)I * sizeof(C));                                              \
    for (int64_t o = 0; o < O; o++) {                                                        \
      for (int64_t i = 0; i < I; i++) acc[i] = INIT;                                         \
      for (int64_t r = 0; r < R; r++) {                                                      \
        const S *row = x + (o * R + r) * I;                                                  \
        for (int64_t i = 0; i < I; i++) acc[i] = ACC(acc[i], LD(row[i]));                    \
      }                                                                                      \
      S *yo = y + o * I;                                                                     \
      for (int64_t i = 0; i < I; i++) yo[i] = ST(divisor > 0 ? DIV(acc[i], divisor) : acc[i]); \
    }                                                                                        \
    free(acc);                                                                               \
  }

/* integer extremes for any integer td_T */
#define TMAX_I ((td_T)(td_SG ? (td_T)((UINT64_C(1) << (sizeof(td_T) * 8 - 1)) - 1) : (td_T)-1))
#define TMIN_I ((td_T)(td_SG ? (td_T)(-TMAX_I - 1) : (td_T)0))

#define F_SUM(a, b) ((a) + (b))
#define F_PROD(a, b) ((a) * (b))
#define F_MAX(a, b) (((b) > (a) || isnan(b)) ? (b) : (a))
#define F_MIN(a, b) (((b) < (a) || isnan(b)) ? (b) : (a))
#define F_DIV(a, n) ((a) / (n))
#define I_SUM(a, b) ((td_T)((td_UW)(a) + (td_UW)(b)))
#define I_PROD(a, b) ((td_T)((td_UW)(a) * (td_UW)(b)))
#define I_MAX(a, b) ((b) > (a) ? (b) : (a))
#define I_MIN(a, b) ((b) < (a) ? (b) : (a))
#define I_DIV(a, n) \
  (td_SG ? (td_T)((int64_t)(a) / (int64_t)(n)) : (td_T)((uint64_t)(a) / (uint64_t)(n)))
#define B_AND(a, b) ((uint8_t)((a) && (b)))
#define B_OR(a, b) ((uint8_t)((a) || (b)))

#define F_INIT_SUM 0
#define F_INIT_PROD 1
#define F_INIT_MAX (-INFINITY)
#define F_INIT_MIN INFINITY
#define I_INIT_SUM 0
#define I_INIT_PROD 1
#define I_INIT_MAX TMIN_I
#define I_INIT_MIN TMAX_I

#define STAMP_F(op, tag, DT, S, C, LD, ST) \
  REDUCE(op##_##tag, S, C, LD, ST, C, unsigned, 0, F_INIT_##op, F_##op, F_DIV)
#define STAMP_I(op, tag, DT, T, UW, SG) \
  REDUCE(op##_##tag, T, T, TD_MATH_ID, TD_MATH_ID, T, UW, SG, I_INIT_##op, I_##op, I_DIV)
#define ENTRY(op, tag, DT, ...) [DT] = op##_##tag,
#define REDUCE_OP(op)                                                                       \
  TD_MATH_FLOATS(STAMP_F, op)                                                               \
  TD_MATH_INTS(STAMP_I, op)                                                                 \
  static const reduce_fn rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)                \
                                                       TD_MATH_INTS(ENTRY, op)};
REDUCE_OP(SUM)
REDUCE_OP(PROD)
REDUCE_OP(MAX)
REDUCE_OP(MIN)
REDUCE(ALL_b8, uint8_t, uint8_t, TD_MATH_ID, TD_MATH_ID, uint8_t, unsigned, 0, 1, B_AND, I_DIV)
REDUCE(ANY_b8, uint8_t, uint8_t, TD_MATH_ID, TD_MATH_ID, uint8_t, unsigned, 0, 0, B_OR, I_DIV)
static const reduce_fn rows_ALL[TD_MATH_NDT] = {[TD_DT_BOOL] = ALL_b8};
static const reduce_fn rows_ANY[TD_MATH_NDT] = {[TD_DT_BOOL] = ANY_b8};

/* Reads reduction axes into a per-dim flag array; fails the kernel on bad axes. */
static td_code read_reduced(td_kctx *c, const td_tensor *axes, int rank, int *reduced) {
  int64_t ax[TD_MAX_RANK + 1];
  int64_t n = td_tensor_num_elements(axes);
  if (axes->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "reduction_indices must be a scalar or vector");
  if (n > TD_MAX_RANK) /* more axes than any rank means a duplicate or an invalid one */
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid reduction arguments: too many axes");
  int na = td_math_read_axes(c, axes, ax, TD_MAX_RANK);
  if (na < 0) return TD_INVALID_ARGUMENT;
  memset(reduced, 0, sizeof(int) * TD_MAX_RANK);
  for (int i = 0; i < na; i++) {
    int64_t a = ax[i];
    if (a < -rank || a >= rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Invalid reduction dimension (%lld for input with %d dimension(s)",
                       (long long)a, rank);
    if (a < 0) a += rank;
    if (reduced[a])
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Invalid reduction arguments: Axes contains duplicate dimension: %lld",
                       (long long)a);
    reduced[a] = 1;
  }
  return TD_OK;
}

/* mean: divide by the count (Mean); norm: sum of squares, then the square root (EuclideanNorm,
 * through doubles: squares are formed in a scratch copy of the input). */
static td_code reduce_kernel_impl(td_kctx *c, const reduce_fn *rows, int mean, int norm) {
  const td_tensor *x = td_k_input(c, 0), *axes = td_k_input(c, 1);
  td_dtype dt = x->dtype;
  if (!td_math_dt_index_ok(dt) || !rows[dt]) return td_math_fail_dtype(c, "T", dt);
  int rank = x->shape.rank, reduced[TD_MAX_RANK];
  TD_TRY(read_reduced(c, axes, rank, reduced));
  int keep = td_attr_bool(td_k_node(c), "keep_dims", false);
  td_shape os = {0};
  int64_t count = 1; /* elements per reduction */
  for (int i = 0; i < rank; i++) {
    if (reduced[i]) count *= x->shape.dim[i];
    if (!reduced[i] || keep) os.dim[os.rank++] = reduced[i] ? 1 : x->shape.dim[i];
  }
  td_tensor *y;
  TD_TRY(td_k_alloc_output(c, 0, dt, &os, &y));
  int64_t nout = td_tensor_num_elements(y);
  if (nout == 0) return TD_OK;
  /* Groups: merged runs of kept / reduced dims, size-1 dims dropped. */
  int64_t gsize[TD_MAX_RANK];
  int gred[TD_MAX_RANK], ng = 0;
  for (int i = 0; i < rank; i++) {
    int64_t d = x->shape.dim[i];
    if (d == 1) continue;
    if (ng > 0 && gred[ng - 1] == reduced[i]) {
      gsize[ng - 1] *= d;
    } else {
      gsize[ng] = d;
      gred[ng++] = reduced[i];
    }
  }
  int64_t divisor = mean ? count : 0; /* 0 = no division (also Mean of nothing, see below) */
  size_t es = td_dtype_size(dt);
  /* Pass over the innermost reduced group until none is left. */
  const void *src = x->data;
  void *scratch = NULL, *squares = NULL;
  if (norm) {
    int64_t nx = td_tensor_num_elements(x);
    td_tensor sq = *x;
    sq.data = squares = td_xmalloc((size_t)nx * es + 1);
    for (int64_t i = 0; i < nx; i++) {
      double v = td_tensor_get_double(x, i);
      td_tensor_set_double(&sq, i, v * v);
    }
    src = squares;
  }
  int last_red = -1;
  for (int g = 0; g < ng; g++)
    if (gred[g]) last_red = g;
  if (last_red < 0) /* nothing (of size > 1) reduced: identity reduction, R = 1 */
    rows[dt](src, y->data, nout, 1, 1, 0);
  while (last_red >= 0) {
    int64_t O = 1, I = 1, R = gsize[last_red];
    for (int g = 0; g < last_red; g++) O *= gsize[g];
    for (int g = last_red + 1; g < ng; g++) I *= gsize[g];
    int prev = -1;
    for (int g = 0; g < last_red; g++)
      if (gred[g]) prev = g;
    void *dst = y->data;
    if (prev >= 0) dst = td_xmalloc((size_t)(O * I) * es);
    rows[dt](src, dst, O, R, I, prev >= 0 ? 0 : divisor);
    free(scratch);
    scratch = prev >= 0 ? dst : NULL;
    src = dst;
    gsize[last_red] = 1; /* the group is gone: it now contributes a factor 1 to I */
    last_red = prev;
  }
  free(scratch);
  free(squares);
  if (mean && count == 0 && td_math_is_float(dt)) /* 0 / 0 */
    for (int64_t i = 0; i < nout; i++) td_tensor_set_double(y, i, NAN);
  if (norm)
    for (int64_t i = 0; i < nout; i++) td_tensor_set_double(y, i, sqrt(td_tensor_get_double(y, i)));
  return TD_OK;
}

static td_code reduce_kernel(td_kctx *c, const reduce_fn *rows, int mean) {
  return reduce_kernel_impl(c, rows, mean, 0);
}

td_code td_k_math_sum(td_kctx *c) { return reduce_kernel(c, rows_SUM, 0); }
td_code td_k_math_mean(td_kctx *c) { return reduce_kernel(c, rows_SUM, 1); }
td_code td_k_math_prod(td_kctx *c) { return reduce_kernel(c, rows_PROD, 0); }
td_code td_k_math_max(td_kctx *c) { return reduce_kernel(c, rows_MAX, 0); }
td_code td_k_math_min(td_kctx *c) { return reduce_kernel(c, rows_MIN, 0); }
td_code td_k_math_all(td_kctx *c) { return reduce_kernel(c, rows_ALL, 0); }
td_code td_k_math_any(td_kctx *c) { return reduce_kernel(c, rows_ANY, 0); }
td_code td_k_math_euclidean_norm(td_kctx *c) { return reduce_kernel_impl(c, rows_SUM, 0, 1); }
