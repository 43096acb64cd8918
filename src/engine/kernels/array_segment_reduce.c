/* array_segment_reduce.c — dense segment reductions: UnsortedSegmentSum / Max / Min / Prod and
 * SegmentSum / Mean / Max / Min / Prod.
 *
 * Rows of data (the dims after segment_ids' rank) are folded into output rows with a per-dtype
 * table (float, double, int32, int64 stamped; other real types through doubles; ints wrap
 * like TF's). Unsorted: empty segments keep the identity (0, 1, lowest, highest) and negative
 * ids are dropped, as TF's CPU kernel does; sorted: ids must be non-decreasing and empty
 * segments are 0. Invariants: ids are validated before any output row is touched; reentrant.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/math_internal.h"

enum { R_SUM, R_PROD, R_MAX, R_MIN, R_MEAN };

typedef struct seg_ops {
  void (*init)(void *out, int64_t n, int op);
  void (*fold)(void *dst, const void *src, int64_t n, int op);
  void (*scale)(void *row, int64_t n, int64_t count); /* mean */
} seg_ops;

#define SEG(tag, T, W, LOW, HIGH)                                                           \
  static void init_##tag(void *p, int64_t n, int op) {                                      \
    T *o = p, v = op == R_PROD ? (T)1 : op == R_MAX ? LOW : op == R_MIN ? HIGH : (T)0;      \
    for (int64_t i = 0; i < n; i++) o[i] = v;                                               \
  }                                                                                         \
  static void fold_##tag(void *pd, const void *ps, int64_t n, int op) {                     \
    T *d = pd;                                                                              \
    const T *s = ps;                                                                        \
    switch (op) {                                                                           \
      case R_PROD: for (int64_t i = 0; i < n; i++) d[i] = (T)((W)d[i] * (W)s[i]); break;    \
      case R_MAX: for (int64_t i = 0; i < n; i++) d[i] = d[i] < s[i] ? s[i] : d[i]; break;  \
      case R_MIN: for (int64_t i = 0; i < n; i++) d[i] = s[i] < d[i] ? s[i] : d[i]; break;  \
      default: for (int64_t i = 0; i < n; i++) d[i] = (T)((W)d[i] + (W)s[i]);               \
    }                                                                                       \
  }                                                                                         \
  static void scale_##tag(void *p, int64_t n, int64_t count) {                              \
    T *o = p;                                                                               \
    for (int64_t i = 0; i < n; i++) o[i] = (T)(o[i] / (T)count);                            \
  }
SEG(f32, float, float, -FLT_MAX, FLT_MAX)
SEG(f64, double, double, -DBL_MAX, DBL_MAX)
SEG(i32, int32_t, uint32_t, INT32_MIN, INT32_MAX)
SEG(i64, int64_t, uint64_t, INT64_MIN, INT64_MAX)
SEG(u8, uint8_t, uint32_t, 0, UINT8_MAX)

static const seg_ops *ops_for(td_dtype dt) {
  static const seg_ops f32 = {init_f32, fold_f32, scale_f32}, f64 = {init_f64, fold_f64, scale_f64},
                       i32 = {init_i32, fold_i32, scale_i32}, i64 = {init_i64, fold_i64, scale_i64},
                       u8 = {init_u8, fold_u8, scale_u8};
  switch (dt) {
    case TD_DT_FLOAT: return &f32;
    case TD_DT_DOUBLE: return &f64;
    case TD_DT_INT32: return &i32;
    case TD_DT_INT64: return &i64;
    case TD_DT_UINT8: return &u8;
    default: return NULL;
  }
}

/* half / bfloat16: element-wise through doubles */
static void fold_generic(td_tensor *d, int64_t di, const td_tensor *s, int64_t si, int64_t n, int op) {
  for (int64_t i = 0; i < n; i++) {
    double a = td_tensor_get_double(d, di + i), b = td_tensor_get_double(s, si + i);
    td_tensor_set_double(d, di + i, op == R_PROD ? a * b : op == R_MAX ? (a < b ? b : a) : op == R_MIN ? (b < a ? b : a) : a + b);
  }
}
static void init_generic(td_tensor *t, int64_t n, int op) {
  for (int64_t i = 0; i < n; i++)
    td_tensor_set_double(t, i, op == R_PROD ? 1 : op == R_MAX ? -HUGE_VAL : op == R_MIN ? HUGE_VAL : 0);
}

static td_code segment_reduce(td_kctx *c, int op, int sorted) {
  const td_tensor *data = td_k_input(c, 0), *ids = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(ids->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids must be int32 or int64, got %s", td_dtype_name(ids->dtype));
  const seg_ops *ops = ops_for(data->dtype);
  if (!ops && !td_math_is_float(data->dtype)) return td_math_fail_dtype(c, "T", data->dtype);
  int ir = ids->shape.rank;
  int64_t nseg;
  if (sorted) {
    if (ir != 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids should be a vector.");
    if (data->shape.rank < 1 || ids->shape.dim[0] != data->shape.dim[0])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids should be the same size as dimension 0 of input.");
    int64_t n = ids->shape.dim[0], prev = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t v = td_array_index_at(ids, i);
      if (v < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "segment ids must be >= 0");
      if (v < prev) return td_k_fail(c, TD_INVALID_ARGUMENT, "segment ids are not increasing");
      prev = v;
    }
    nseg = n ? td_array_index_at(ids, n - 1) + 1 : 0;
  } else {
    TD_TRY(td_array_scalar_index(c, td_k_input(c, 2), "num_segments", &nseg));
    if (nseg < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Input num_segments == %lld must not be negative.", (long long)nseg);
    int ok = data->shape.rank >= ir;
    for (int k = 0; ok && k < ir; k++) ok = data->shape.dim[k] == ids->shape.dim[k];
    if (!ok)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "data.shape = %s does not start with segment_ids.shape = %s",
                       td_array_shape_str(&data->shape, b1, sizeof b1), td_array_shape_str(&ids->shape, b2, sizeof b2));
    int64_t n = td_tensor_num_elements(ids);
    for (int64_t i = 0; i < n; i++) {
      int64_t v = td_array_index_at(ids, i);
      if (v >= nseg)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "segment_ids[%lld] = %lld is out of range [0, %lld)", (long long)i,
                         (long long)v, (long long)nseg);
    }
  }
  td_shape os = {.rank = 1 + data->shape.rank - ir};
  os.dim[0] = nseg;
  for (int k = ir; k < data->shape.rank; k++) os.dim[1 + k - ir] = data->shape.dim[k];
  int64_t inner = td_array_dims_product(&data->shape, ir, data->shape.rank), n = td_tensor_num_elements(ids);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, data->dtype, &os, &out));
  if (nseg == 0 || inner == 0) return TD_OK;
  size_t es = td_dtype_size(data->dtype);
  int64_t *count = NULL;
  if (sorted) {
    count = calloc((size_t)nseg, sizeof *count);
    if (!count) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "segment reduction: out of memory");
  } else if (op != R_SUM) {
    if (ops) ops->init(out->data, nseg * inner, op);
    else init_generic(out, nseg * inner, op);
  }
  int rop = op == R_MEAN ? R_SUM : op;
  for (int64_t i = 0; i < n; i++) {
    int64_t s = td_array_index_at(ids, i);
    if (s < 0) continue;
    if (sorted && count[s]++ == 0) { /* first row of a segment: copy it */
      td_array_copy(out, s * inner, data, i * inner, inner);
      continue;
    }
    if (ops) ops->fold((char *)out->data + (size_t)(s * inner) * es, (const char *)data->data + (size_t)(i * inner) * es, inner, rop);
    else fold_generic(out, s * inner, data, i * inner, inner, rop);
  }
  if (op == R_MEAN)
    for (int64_t s = 0; s < nseg; s++) {
      if (count[s] <= 1) continue;
      if (ops) ops->scale((char *)out->data + (size_t)(s * inner) * es, inner, count[s]);
      else
        for (int64_t i = 0; i < inner; i++)
          td_tensor_set_double(out, s * inner + i, td_tensor_get_double(out, s * inner + i) / (double)count[s]);
    }
  free(count);
  return TD_OK;
}

td_code td_k_array_unsorted_segment_sum(td_kctx *c) { return segment_reduce(c, R_SUM, 0); }
td_code td_k_array_unsorted_segment_prod(td_kctx *c) { return segment_reduce(c, R_PROD, 0); }
td_code td_k_array_unsorted_segment_max(td_kctx *c) { return segment_reduce(c, R_MAX, 0); }
td_code td_k_array_unsorted_segment_min(td_kctx *c) { return segment_reduce(c, R_MIN, 0); }
td_code td_k_array_segment_sum(td_kctx *c) { return segment_reduce(c, R_SUM, 1); }
td_code td_k_array_segment_mean(td_kctx *c) { return segment_reduce(c, R_MEAN, 1); }
td_code td_k_array_segment_prod(td_kctx *c) { return segment_reduce(c, R_PROD, 1); }
td_code td_k_array_segment_max(td_kctx *c) { return segment_reduce(c, R_MAX, 1); }
td_code td_k_array_segment_min(td_kctx *c) { return segment_reduce(c, R_MIN, 1); }
