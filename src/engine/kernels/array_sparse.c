/* array_sparse.c — SparseTensor plumbing used by feature columns: SparseReshape,
 * SparseFillEmptyRows, SparseToDense.
 *
 * Invariants: sparse indices are int64 [nnz, rank] matrices and dense shapes int64 vectors
 * (SparseToDense also takes int32). Every index used to address memory is bounds-checked
 * first; TF's messages are kept. Pass-through cases forward inputs instead of copying.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "util/mem.h"

#define TD_SPARSE_MAX_RANK 64

static td_code expect_rank(td_kctx *c, const td_tensor *t, int rank, td_dtype dt, const char *fmt_prefix) {
  char sb[TD_ARRAY_SHAPE_BUF];
  if (t->shape.rank != rank || (dt != TD_DT_INVALID && t->dtype != dt))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s%s", fmt_prefix, td_array_shape_str(&t->shape, sb, sizeof sb));
  return TD_OK;
}

/* ---- SparseReshape ---- */

td_code td_k_array_sparse_reshape(td_kctx *c) {
  const td_tensor *ind = td_k_input(c, 0), *ishape = td_k_input(c, 1), *tshape = td_k_input(c, 2);
  TD_TRY(expect_rank(c, ind, 2, TD_DT_INT64, "Input indices should be a matrix but received shape "));
  TD_TRY(expect_rank(c, ishape, 1, TD_DT_INT64, "Input shape should be a vector but received shape "));
  TD_TRY(expect_rank(c, tshape, 1, TD_DT_INT64, "Target shape should be a vector but received shape "));
  int64_t in_rank = ishape->shape.dim[0], out_rank = tshape->shape.dim[0], nnz = ind->shape.dim[0];
  if (ind->shape.dim[1] != in_rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input tensor rank must match input shape length: %lld vs %lld",
                     (long long)ind->shape.dim[1], (long long)in_rank);
  if (in_rank > TD_SPARSE_MAX_RANK || out_rank > TD_SPARSE_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "SparseReshape: rank above %d is not supported", TD_SPARSE_MAX_RANK);
  const int64_t *in_dims = td_i64(ishape), *target = td_i64(tshape);
  int64_t dense_size = 1;
  for (int64_t d = 0; d < in_rank; d++) {
    if (in_dims[d] < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Input shape dimension %lld must be non-negative, not %lld", (long long)d,
                       (long long)in_dims[d]);
    if (__builtin_mul_overflow(dense_size, in_dims[d], &dense_size))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "SparseReshape: input shape overflows int64");
  }
  int64_t out_dims[TD_SPARSE_MAX_RANK], product = 1;
  int64_t unknown = -1;
  for (int64_t d = 0; d < out_rank; d++) {
    int64_t size = target[d];
    if (size == -1) {
      if (unknown != -1)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "only one output dimension may be -1, not both %lld and %lld",
                         (long long)unknown, (long long)d);
      unknown = d;
      out_dims[d] = 1;
    } else {
      if (size < 0)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "size %lld must be non-negative, not %lld", (long long)d, (long long)size);
      if (__builtin_mul_overflow(product, size, &product))
        return td_k_fail(c, TD_INVALID_ARGUMENT, "SparseReshape: target shape overflows int64");
      out_dims[d] = size;
    }
  }
  if (unknown != -1) {
    if (product <= 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero");
    int64_t missing = dense_size / product;
    if (product * missing != dense_size)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Input to reshape is a SparseTensor with %lld dense values, but the requested shape requires a multiple of %lld",
                       (long long)dense_size, (long long)product);
    out_dims[unknown] = missing;
  }
  int64_t out_size = 1;
  for (int64_t d = 0; d < out_rank; d++) out_size *= out_dims[d];
  if (out_size != dense_size)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Input to reshape is a tensor with %lld dense values, but the requested shape has %lld",
                     (long long)dense_size, (long long)out_size);
  if (in_rank == out_rank && memcmp(in_dims, out_dims, sizeof *out_dims * (size_t)out_rank) == 0) {
    td_k_set_output(c, 0, ind);
    td_k_set_output(c, 1, ishape);
    return TD_OK;
  }
  td_tensor *oshape, *oind;
  td_shape vs = td_shape_vector(out_rank);
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_INT64, &vs, &oshape));
  if (out_rank) memcpy(td_i64(oshape), out_dims, sizeof *out_dims * (size_t)out_rank);
  int64_t md[2] = {nnz, out_rank};
  td_shape ms = td_shape_make(2, md);
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT64, &ms, &oind));
  if (nnz == 0) return TD_OK;
  if (dense_size <= 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input tensor has %lld non-empty elements, but input shape is empty",
                     (long long)nnz);
  int64_t in_stride[TD_SPARSE_MAX_RANK], out_stride[TD_SPARSE_MAX_RANK];
  for (int64_t d = in_rank - 1, acc = 1; d >= 0; d--) in_stride[d] = acc, acc *= in_dims[d];
  for (int64_t d = out_rank - 1, acc = 1; d >= 0; d--) out_stride[d] = acc, acc *= out_dims[d];
  const int64_t *src = td_i64(ind);
  int64_t *dst = td_i64(oind);
  for (int64_t i = 0; i < nnz; i++) {
    uint64_t linear = 0; /* wraps like TF's int64 arithmetic on bad indices, never UB */
    for (int64_t d = 0; d < in_rank; d++) linear += (uint64_t)src[i * in_rank + d] * (uint64_t)in_stride[d];
    for (int64_t d = 0; d < out_rank; d++) {
      dst[i * out_rank + d] = (int64_t)(linear / (uint64_t)out_stride[d]);
      linear %= (uint64_t)out_stride[d];
    }
  }
  return TD_OK;
}

/* ---- SparseFillEmptyRows ---- */

td_code td_k_array_sparse_fill_empty_rows(td_kctx *c) {
  const td_tensor *ind = td_k_input(c, 0), *vals = td_k_input(c, 1), *dshape = td_k_input(c, 2),
                  *dflt = td_k_input(c, 3);
  TD_TRY(expect_rank(c, dshape, 1, TD_DT_INT64, "dense_shape must be a vector, saw: "));
  TD_TRY(expect_rank(c, ind, 2, TD_DT_INT64, "indices must be a matrix, saw: "));
  TD_TRY(expect_rank(c, vals, 1, TD_DT_INVALID, "values must be a vector, saw: "));
  int64_t n = ind->shape.dim[0], rank = ind->shape.dim[1];
  if (vals->shape.dim[0] != n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The length of `values` (%lld) must match the first dimension of `indices` (%lld).",
                     (long long)vals->shape.dim[0], (long long)n);
  if (dshape->shape.dim[0] != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "The length of `dense_shape` (%lld) must match the second dimension of `indices` (%lld).",
                     (long long)dshape->shape.dim[0], (long long)rank);
  TD_TRY(expect_rank(c, dflt, 0, vals->dtype, "default_value must be a scalar, saw: "));
  if (rank == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Dense shape cannot be empty.");
  int64_t rows = td_i64(dshape)[0];
  const int64_t *idx = td_i64(ind);
  td_tensor *o_ind, *o_val, *o_empty, *o_rev;
  td_shape vs;
  if (rows <= 0) {
    if (n != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Received SparseTensor with dense_shape[0] = 0 but indices.shape[0] = %lld",
                       (long long)n);
    int64_t md[2] = {0, rank};
    td_shape ms = td_shape_make(2, md);
    vs = td_shape_vector(0);
    TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT64, &ms, &o_ind));
    TD_TRY(td_k_alloc_output(c, 1, vals->dtype, &vs, &o_val));
    TD_TRY(td_k_alloc_output(c, 2, TD_DT_BOOL, &vs, &o_empty));
    return td_k_alloc_output(c, 3, TD_DT_INT64, &vs, &o_rev);
  }
  int64_t *scratch = td_xcalloc((size_t)rows, sizeof *scratch); /* per-row counts, then row ends */
  int ordered = 1, has_empty = 0;
  int64_t last = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = idx[i * rank];
    if (row < 0 || row >= rows) {
      free(scratch);
      return td_k_fail(c, TD_INVALID_ARGUMENT, "indices(%lld, 0) is invalid: %lld >= %lld", (long long)i, (long long)row,
                       (long long)rows);
    }
    scratch[row]++;
    ordered &= row >= last;
    last = row;
  }
  vs = td_shape_vector(rows);
  td_code rc = td_k_alloc_output(c, 2, TD_DT_BOOL, &vs, &o_empty);
  for (int64_t r = 0; rc == TD_OK && r < rows; r++) {
    td_u8(o_empty)[r] = scratch[r] == 0;
    has_empty |= scratch[r] == 0;
    if (scratch[r] == 0) scratch[r] = 1;
    if (r > 0) scratch[r] += scratch[r - 1];
  }
  vs = td_shape_vector(n);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 3, TD_DT_INT64, &vs, &o_rev);
  if (rc == TD_OK && !has_empty && ordered) {
    for (int64_t i = 0; i < n; i++) td_i64(o_rev)[i] = i;
    td_k_set_output(c, 0, ind);
    td_k_set_output(c, 1, vals);
    free(scratch);
    return TD_OK;
  }
  int64_t total = rc == TD_OK ? scratch[rows - 1] : 0;
  int64_t md[2] = {total, rank};
  td_shape ms = td_shape_make(2, md);
  vs = td_shape_vector(total);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 0, TD_DT_INT64, &ms, &o_ind);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 1, vals->dtype, &vs, &o_val);
  if (rc == TD_OK) {
    int64_t *filled = td_xcalloc((size_t)rows, sizeof *filled);
    for (int64_t i = 0; i < n; i++) {
      int64_t row = idx[i * rank];
      int64_t at = (row == 0 ? 0 : scratch[row - 1]) + filled[row]++;
      memcpy(td_i64(o_ind) + at * rank, idx + i * rank, sizeof(int64_t) * (size_t)rank);
      td_array_copy(o_val, at, vals, i, 1);
      td_i64(o_rev)[i] = at;
    }
    for (int64_t r = 0; r < rows; r++) {
      if (!td_u8(o_empty)[r]) continue;
      int64_t at = r == 0 ? 0 : scratch[r - 1];
      td_i64(o_ind)[at * rank] = r; /* other coordinates stay 0 */
      td_array_copy(o_val, at, dflt, 0, 1);
    }
    free(filled);
  }
  free(scratch);
  return rc;
}

/* ---- SparseToDense ---- */

td_code td_k_array_sparse_to_dense(td_kctx *c) {
  const td_tensor *ind = td_k_input(c, 0), *oshape = td_k_input(c, 1), *vals = td_k_input(c, 2),
                  *dflt = td_k_input(c, 3);
  char sb[TD_ARRAY_SHAPE_BUF];
  if (ind->shape.rank > 2 || !td_array_is_index_dtype(ind->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "sparse_indices should be a scalar, vector, or matrix, got shape %s",
                     td_array_shape_str(&ind->shape, sb, sizeof sb));
  int64_t nelem = ind->shape.rank > 0 ? ind->shape.dim[0] : 1;
  int64_t ndims = ind->shape.rank > 1 ? ind->shape.dim[1] : 1;
  if (oshape->shape.rank != 1 || !td_array_is_index_dtype(oshape->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output_shape must be rank 1, got shape %s",
                     td_array_shape_str(&oshape->shape, sb, sizeof sb));
  int64_t nvals = td_tensor_num_elements(vals);
  if (!(vals->shape.rank == 0 || (vals->shape.rank == 1 && nvals == nelem)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "sparse_values has incorrect shape %s, should be [] or [%lld]",
                     td_array_shape_str(&vals->shape, sb, sizeof sb), (long long)nelem);
  if (dflt->shape.rank != 0 || dflt->dtype != vals->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "default_value should be a scalar.");
  td_shape shape;
  TD_TRY(td_array_read_shape(c, oshape, "output_shape", &shape));
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  if (shape.rank != ndims)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output_shape has incorrect number of elements: %d should be: %lld",
                     shape.rank, (long long)ndims);
  int validate = td_attr_bool(td_k_node(c), "validate_indices", true);
  int64_t stride[TD_MAX_RANK];
  td_array_strides(&shape, stride);
  int64_t *linear = td_xmalloc(sizeof *linear * (size_t)(nelem ? nelem : 1));
  for (int64_t i = 0; i < nelem; i++) {
    int64_t lin = 0;
    for (int64_t d = 0; d < ndims; d++) {
      int64_t v = td_array_index_at(ind, i * ndims + d);
      if (v < 0 || v >= shape.dim[d]) {
        free(linear);
        return td_k_fail(c, TD_INVALID_ARGUMENT, "indices[%lld] is out of bounds: need 0 <= index < %s", (long long)i,
                         td_array_shape_str(&shape, sb, sizeof sb));
      }
      lin += v * stride[d];
    }
    linear[i] = lin;
    if (validate && i > 0 && lin <= linear[i - 1]) {
      int repeated = lin == linear[i - 1];
      free(linear);
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       repeated ? "indices[%lld] is repeated"
                                            : "indices[%lld] is out of order. Many sparse ops require sorted indices.\n"
                                              "    Use `tf.sparse.reorder` to create a correctly ordered copy.\n\n",
                       (long long)i);
    }
  }
  td_tensor *out;
  td_code rc = td_k_alloc_output(c, 0, vals->dtype, &shape, &out);
  if (rc == TD_OK) {
    td_array_fill(out, 0, total, dflt, 0);
    for (int64_t i = 0; i < nelem; i++) td_array_copy(out, linear[i], vals, vals->shape.rank ? i : 0, 1);
  }
  free(linear);
  return rc;
}
