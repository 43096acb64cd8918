/* ragged_bincount.c — Bincount, DenseBincount (1-D or 2-D input) and RaggedBincount.
 *
 * Counts (or sums `weights`, an empty weights tensor meaning 1 per value) of each value in
 * [0, size); values >= size are dropped, negative values fail ("Input arr must be
 * non-negative!", as TF's CPU kernels). binary_output writes 1 for every present value.
 * Accumulation happens in the output type T (int32, int64, float, double), in input order,
 * so float sums round as TF's. Stateless and reentrant.
 */
#include <inttypes.h>
#include <string.h>

#include "engine/kernels/ragged_internal.h"

static int supported_t(td_dtype t) {
  return t == TD_DT_INT32 || t == TD_DT_INT64 || t == TD_DT_FLOAT || t == TD_DT_DOUBLE;
}

/* out[o] += w[i] (w NULL: += 1); binary: out[o] = 1. */
static void add(td_tensor *out, int64_t o, const td_tensor *w, int64_t i, int binary) {
  switch (out->dtype) {
    case TD_DT_INT32: td_i32(out)[o] = binary ? 1 : td_i32(out)[o] + (w ? td_i32(w)[i] : 1); break;
    case TD_DT_INT64: td_i64(out)[o] = binary ? 1 : td_i64(out)[o] + (w ? td_i64(w)[i] : 1); break;
    case TD_DT_FLOAT: td_f32(out)[o] = binary ? 1.0f : td_f32(out)[o] + (w ? td_f32(w)[i] : 1.0f); break;
    case TD_DT_DOUBLE: td_f64(out)[o] = binary ? 1.0 : td_f64(out)[o] + (w ? td_f64(w)[i] : 1.0); break;
    default: break;
  }
}

static td_code read_size(td_kctx *ctx, int i, int64_t *size) {
  const td_tensor *s = td_k_input(ctx, i);
  char b[64];
  if (s->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Shape must be rank 0 but is rank %d (size %s)", s->shape.rank,
                     td_shape_str(&s->shape, b, sizeof b));
  *size = td_tensor_get_int(s, 0);
  if (*size < 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "size (%" PRId64 ") must be non-negative", *size);
  return TD_OK;
}

/* Weights: empty (NULL result) or the same shape as `data`. */
static td_code read_weights(td_kctx *ctx, int i, const td_tensor *data, td_dtype t, const td_tensor **w) {
  const td_tensor *wt = td_k_input(ctx, i);
  char a[64], b[64];
  *w = NULL;
  if (!supported_t(t)) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Bincount: unsupported type %s", td_dtype_name(t));
  if (td_tensor_num_elements(wt) == 0) return TD_OK;
  if (wt->dtype != t) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "weights must be %s", td_dtype_name(t));
  if (!td_shape_equal(&wt->shape, &data->shape))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input indices and weights must have the same shape: %s vs %s",
                     td_shape_str(&data->shape, a, sizeof a), td_shape_str(&wt->shape, b, sizeof b));
  *w = wt;
  return TD_OK;
}

static td_code check_nonnegative(td_kctx *ctx, const td_tensor *data) {
  int64_t n = td_tensor_num_elements(data);
  for (int64_t i = 0; i < n; i++)
    if (td_tensor_get_int(data, i) < 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Input arr must be non-negative!");
  return TD_OK;
}

/* Rows of `data` (row r = elements [starts(r), starts(r+1))) into out rows of `size`. */
static void count_rows(const td_tensor *data, const td_tensor *w, int64_t size, td_tensor *out, int binary,
                       int64_t nrows, const td_tensor *splits, int64_t width) {
  for (int64_t r = 0; r < nrows; r++) {
    int64_t a = splits ? td_text_split_at(splits, r) : r * width, b = splits ? td_text_split_at(splits, r + 1) : (r + 1) * width;
    for (int64_t i = a; i < b; i++) {
      int64_t v = td_tensor_get_int(data, i);
      if (v < size) add(out, r * size + v, w, i, binary);
    }
  }
}

td_code td_k_bincount(td_kctx *ctx) {
  const td_tensor *arr = td_k_input(ctx, 0);
  int64_t size = 0;
  TD_TRY(read_size(ctx, 1, &size));
  td_dtype t = td_attr_type(td_k_node(ctx), "T", td_k_input(ctx, 2)->dtype);
  const td_tensor *w;
  TD_TRY(read_weights(ctx, 2, arr, t, &w));
  TD_TRY(check_nonnegative(ctx, arr));
  td_shape sh = td_shape_vector(size);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(ctx, 0, t, &sh, &out));
  count_rows(arr, w, size, out, 0, 1, NULL, td_tensor_num_elements(arr));
  return TD_OK;
}

td_code td_k_dense_bincount(td_kctx *ctx) {
  const td_tensor *in = td_k_input(ctx, 0);
  int64_t size = 0;
  TD_TRY(read_size(ctx, 1, &size));
  td_dtype t = td_attr_type(td_k_node(ctx), "T", td_k_input(ctx, 2)->dtype);
  int binary = td_attr_bool(td_k_node(ctx), "binary_output", false);
  if (in->shape.rank > 2)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Shape must be at most rank 2 but is rank %d", in->shape.rank);
  const td_tensor *w;
  TD_TRY(read_weights(ctx, 2, in, t, &w));
  TD_TRY(check_nonnegative(ctx, in));
  td_tensor *out;
  if (in->shape.rank == 2) {
    td_shape sh = td_shape_make(2, (int64_t[]){in->shape.dim[0], size});
    TD_TRY(td_k_alloc_output(ctx, 0, t, &sh, &out));
    count_rows(in, w, size, out, binary, in->shape.dim[0], NULL, in->shape.dim[1]);
  } else {
    td_shape sh = td_shape_vector(size);
    TD_TRY(td_k_alloc_output(ctx, 0, t, &sh, &out));
    count_rows(in, w, size, out, binary, 1, NULL, td_tensor_num_elements(in));
  }
  return TD_OK;
}

td_code td_k_ragged_bincount(td_kctx *ctx) {
  const td_tensor *splits = td_k_input(ctx, 0), *vals = td_k_input(ctx, 1);
  int64_t size = 0;
  TD_TRY(read_size(ctx, 2, &size));
  td_dtype t = td_attr_type(td_k_node(ctx), "T", td_k_input(ctx, 3)->dtype);
  int binary = td_attr_bool(td_k_node(ctx), "binary_output", false);
  if (vals->shape.rank != 1) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "values must be a vector");
  if (splits->shape.rank != 1 || splits->shape.dim[0] < 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Splits must be non-empty");
  int64_t n = splits->shape.dim[0], nvals = vals->shape.dim[0];
  if (td_text_split_at(splits, 0) != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Splits must start with 0, not with %" PRId64, td_text_split_at(splits, 0));
  if (td_text_split_at(splits, n - 1) != nvals)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Splits must end with the number of values, got %" PRId64 " instead of %" PRId64,
                     td_text_split_at(splits, n - 1), nvals);
  for (int64_t i = 1; i < n; i++)
    if (td_text_split_at(splits, i) < td_text_split_at(splits, i - 1))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Splits must be non-decreasing");
  const td_tensor *w;
  TD_TRY(read_weights(ctx, 3, vals, t, &w));
  TD_TRY(check_nonnegative(ctx, vals));
  td_shape sh = td_shape_make(2, (int64_t[]){n - 1, size});
  td_tensor *out;
  TD_TRY(td_k_alloc_output(ctx, 0, t, &sh, &out));
  count_rows(vals, w, size, out, binary, n - 1, splits, 0);
  return TD_OK;
}
