/* array_segment.c — row reductions: SparseSegmentSum / Mean / SqrtN (and their
 * WithNumSegments forms), Cumsum, Cumprod.
 *
 * Invariants: arithmetic runs in the element type T through a per-dtype table of row
 * functions (float, double, int32, int64), picked once per call. SparseSegment sums follow
 * TF's CPU association order (a first group of r = n % 8 rows — 8 or 9 when r < 2 — then
 * `out += (8-row group)`), so float results match TF bit for bit. Segment ids must be sorted;
 * indices are bounds-checked; gaps between segments stay zero.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "util/mem.h"

typedef struct row_ops {
  td_dtype dtype;
  void (*add)(void *dst, const void *src, int64_t n);            /* dst += src */
  void (*divide)(void *dst, int64_t n, int64_t count, int sqrt_n); /* dst /= T(count) or sqrt(T(count)) */
  void (*cumulate)(void *out, const void *in, int64_t len, int64_t inner, int exclusive, int reverse, int prod);
} row_ops;

#define TD_ARRAY_ROW_OPS(suffix, type)                                                    \
  static void add_##suffix(void *dst, const void *src, int64_t n) {                                 \
    type *d = dst;                                                                                  \
    const type *s = src;                                                                            \
    for (int64_t i = 0; i < n; i++) d[i] += s[i];                                                   \
  }                                                                                                 \
  /* One [len, inner] slab: out[j] = op of in over j' before (or after) j along len. */             \
  static void cumulate_##suffix(void *out, const void *in, int64_t len, int64_t inner, int exclusive, \
                                int reverse, int prod) {                                            \
    type *o = out;                                                                                  \
    const type *x = in;                                                                             \
    for (int64_t k = 0; k < inner; k++) {                                                           \
      type acc = prod ? (type)1 : (type)0;                                                          \
      for (int64_t t = 0; t < len; t++) {                                                           \
        int64_t j = (reverse ? len - 1 - t : t) * inner + k;                                        \
        if (exclusive) {                                                                            \
          o[j] = acc;                                                                               \
          acc = prod ? (type)(acc * x[j]) : (type)(acc + x[j]);                                     \
        } else {                                                                                    \
          acc = prod ? (type)(acc * x[j]) : (type)(acc + x[j]);                                     \
          o[j] = acc;                                                                               \
        }                                                                                           \
      }                                                                                             \
    }                                                                                               \
  }
/* Integer sums wrap like TF's (two's complement): do them in unsigned arithmetic. */
TD_ARRAY_ROW_OPS(f32, float)
TD_ARRAY_ROW_OPS(f64, double)
TD_ARRAY_ROW_OPS(u32, uint32_t)
TD_ARRAY_ROW_OPS(u64, uint64_t)

/* Mean / SqrtN divide in T: out / T(count), or out / sqrt(T(count)). */
#define TD_ARRAY_DIVIDE(suffix, type)                                                              \
  static void divide_##suffix(void *dst, int64_t n, int64_t count, int sqrt_n) {                   \
    type *d = dst, div = (type)count;                                                              \
    if (sqrt_n) div = (type)sqrt((double)div);                                                     \
    for (int64_t i = 0; i < n; i++) d[i] /= div;                                                   \
  }
TD_ARRAY_DIVIDE(f32, float)
TD_ARRAY_DIVIDE(f64, double)

static void divide_int_unsupported(void *dst, int64_t n, int64_t count, int sqrt_n) {}

static const row_ops k_row_ops[] = {
    {TD_DT_FLOAT, add_f32, divide_f32, cumulate_f32},
    {TD_DT_DOUBLE, add_f64, divide_f64, cumulate_f64},
    {TD_DT_INT32, add_u32, divide_int_unsupported, cumulate_u32},
    {TD_DT_INT64, add_u64, divide_int_unsupported, cumulate_u64},
};

static const row_ops *row_ops_for(td_dtype dt) {
  for (size_t i = 0; i < sizeof k_row_ops / sizeof *k_row_ops; i++)
    if (k_row_ops[i].dtype == dt) return &k_row_ops[i];
  return NULL;
}

/* ---- SparseSegment{Sum,Mean,SqrtN}[WithNumSegments] ---- */

typedef enum { SEG_SUM, SEG_MEAN, SEG_SQRTN } seg_kind;

static td_code sparse_segment(td_kctx *c, seg_kind kind) {
  const td_tensor *data = td_k_input(c, 0), *indices = td_k_input(c, 1), *seg = td_k_input(c, 2);
  const row_ops *ops = row_ops_for(data->dtype);
  if (!ops || (kind != SEG_SUM && !(data->dtype == TD_DT_FLOAT || data->dtype == TD_DT_DOUBLE)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s does not support dtype %s", td_node_op(td_k_node(c)),
                     td_dtype_name(data->dtype));
  if (indices->shape.rank != 1 || !td_array_is_index_dtype(indices->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices should be a vector.");
  if (seg->shape.rank != 1 || !td_array_is_index_dtype(seg->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids should be a vector.");
  if (data->shape.rank < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "data must be at least rank 1");
  int64_t n = indices->shape.dim[0];
  if (n != seg->shape.dim[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids and indices should have same size.");
  int64_t out_rows;
  if (td_k_num_inputs(c) > 3) {
    TD_TRY(td_array_scalar_index(c, td_k_input(c, 3), "num_segments", &out_rows));
    if (out_rows < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_segments must be >= 0");
  } else {
    out_rows = n > 0 ? td_array_index_at(seg, n - 1) + 1 : 0;
    if (out_rows < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "segment ids must be >= 0");
  }
  td_shape shape = data->shape;
  shape.dim[0] = out_rows;
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  int64_t nrows = data->shape.dim[0], inner = td_array_dims_product(&data->shape, 1, data->shape.rank);
  size_t row_bytes = (size_t)inner * td_dtype_size(data->dtype);
  /* Validate everything first, in TF's order: segment by segment, ids increasing, then the
   * id's range, then the segment's indices. */
  for (int64_t start = 0; start < n;) {
    int64_t s = td_array_index_at(seg, start), end = start + 1;
    while (end < n && td_array_index_at(seg, end) == s) end++;
    if (end < n && td_array_index_at(seg, end) < s)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "segment ids are not increasing");
    if (s < 0 || s >= out_rows)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Segment id %lld out of range [0, %lld), possibly because 'segment_ids' input is not sorted.",
                       (long long)s, (long long)out_rows);
    for (int64_t i = start; i < end; i++) {
      int64_t idx = td_array_index_at(indices, i);
      if (idx < 0 || idx >= nrows)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Bad: indices[%lld] == %lld out of range [0, %lld)", (long long)i,
                         (long long)idx, (long long)nrows);
    }
    start = end;
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, data->dtype, &shape, &out));
  if (total == 0 || n == 0) return TD_OK;
  char *group = td_xmalloc(row_bytes ? row_bytes : 1);
  const char *src = data->data;
  char *dst = out->data;
#define ROW(i) (src + (size_t)td_array_index_at(indices, (i)) * row_bytes)
  for (int64_t start = 0; start < n;) {
    int64_t s = td_array_index_at(seg, start), end = start + 1;
    while (end < n && td_array_index_at(seg, end) == s) end++;
    int64_t num = end - start;
    char *o = dst + (size_t)s * row_bytes;
    int64_t first = num == 1 ? 1 : (num & 7) == 0 ? 8 : (num & 7) == 1 ? 9 : (num & 7);
    memcpy(o, ROW(start), row_bytes);
    for (int64_t k = 1; k < first; k++) ops->add(o, ROW(start + k), inner);
    for (int64_t r = start + first; r < end; r += 8) {
      memcpy(group, ROW(r), row_bytes);
      for (int64_t k = 1; k < 8; k++) ops->add(group, ROW(r + k), inner);
      ops->add(o, group, inner);
    }
    if (kind != SEG_SUM && num > 1) ops->divide(o, inner, num, kind == SEG_SQRTN);
    start = end;
  }
#undef ROW
  free(group);
  return TD_OK;
}

td_code td_k_array_sparse_segment_sum(td_kctx *c) { return sparse_segment(c, SEG_SUM); }
td_code td_k_array_sparse_segment_mean(td_kctx *c) { return sparse_segment(c, SEG_MEAN); }
td_code td_k_array_sparse_segment_sqrt_n(td_kctx *c) { return sparse_segment(c, SEG_SQRTN); }

/* ---- Cumsum / Cumprod ---- */

static td_code cumulate(td_kctx *c, int prod) {
  const td_tensor *x = td_k_input(c, 0);
  const row_ops *ops = row_ops_for(x->dtype);
  if (!ops)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s does not support dtype %s", td_node_op(td_k_node(c)),
                     td_dtype_name(x->dtype));
  int64_t axis;
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "axis", &axis));
  int rank = x->shape.rank;
  if (axis < -rank || axis >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ScanOp: Expected scan axis in the range [%d, %d), but got %lld", -rank,
                     rank, (long long)axis);
  if (axis < 0) axis += rank;
  int exclusive = td_attr_bool(td_k_node(c), "exclusive", false), reverse = td_attr_bool(td_k_node(c), "reverse", false);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, x->dtype, &x->shape, &out));
  int64_t outer = td_array_dims_product(&x->shape, 0, (int)axis), len = x->shape.dim[axis];
  int64_t inner = td_array_dims_product(&x->shape, (int)axis + 1, rank);
  size_t slab = (size_t)(len * inner) * td_dtype_size(x->dtype);
  for (int64_t o = 0; o < outer; o++)
    ops->cumulate((char *)out->data + o * slab, (const char *)x->data + o * slab, len, inner, exclusive, reverse, prod);
  return TD_OK;
}

td_code td_k_array_cumsum(td_kctx *c) { return cumulate(c, 0); }
td_code td_k_array_cumprod(td_kctx *c) { return cumulate(c, 1); }
