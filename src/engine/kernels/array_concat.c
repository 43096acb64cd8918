/* array_concat.c — joining and splitting along one axis: ConcatV2, Concat, Pack, Split,
 * SplitV, Unpack.
 *
 * Invariants: all six reduce to a 2-D view [outer, row] where outer = product of the dims
 * before the axis and every input/output contributes one contiguous block per outer row,
 * copied with td_array_copy (memcpy for POD). A single input (or num_split == 1) is
 * forwarded without copying. Validation (ranks, dims, axis ranges) uses TF's messages.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "util/mem.h"

/* out[o, off_i : off_i + block_i] = in_i[o, :] for every input i (block_i elements each). */
static void join_blocks(td_tensor *out, const td_tensor *const *ins, const int64_t *block, int n, int64_t outer) {
  int64_t row = 0;
  for (int i = 0; i < n; i++) row += block[i];
  for (int64_t o = 0; o < outer; o++) {
    int64_t off = o * row;
    for (int i = 0; i < n; i++) {
      td_array_copy(out, off, ins[i], o * block[i], block[i]);
      off += block[i];
    }
  }
}

/* ---- ConcatV2 / Concat ---- */

static td_code concat(td_kctx *c, int first_value, int nvalues, int axis_input, const char *axis_name) {
  const td_tensor *axis_t = td_k_input(c, axis_input);
  const td_tensor *v0 = td_k_input(c, first_value);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (td_tensor_num_elements(axis_t) != 1 || axis_t->shape.rank > 1 || !td_array_is_index_dtype(axis_t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s tensor should be a scalar integer, but got shape %s", axis_name,
                     td_array_shape_str(&axis_t->shape, b1, sizeof b1));
  int64_t concat_dim = td_array_index_at(axis_t, 0);
  int rank = v0->shape.rank;
  int64_t axis = concat_dim < 0 ? concat_dim + rank : concat_dim;
  if (axis < 0 || axis >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %lld", -rank, rank,
                     (long long)concat_dim);
  td_shape shape = v0->shape;
  shape.dim[axis] = 0;
  for (int i = 0; i < nvalues; i++) {
    const td_tensor *v = td_k_input(c, first_value + i);
    if (v->dtype != v0->dtype)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "ConcatOp : all inputs must have the same dtype");
    if (v->shape.rank != rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "ConcatOp : Ranks of all input tensors should match: shape[0] = %s vs. shape[%d] = %s",
                       td_array_shape_str(&v0->shape, b1, sizeof b1), i, td_array_shape_str(&v->shape, b2, sizeof b2));
    for (int j = 0; j < rank; j++) {
      if (j != axis && v->shape.dim[j] != v0->shape.dim[j])
        return td_k_fail(c, TD_INVALID_ARGUMENT,
                         "ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %s vs. shape[%d] = %s", j,
                         td_array_shape_str(&v0->shape, b1, sizeof b1), i, td_array_shape_str(&v->shape, b2, sizeof b2));
    }
    shape.dim[axis] += v->shape.dim[axis];
  }
  if (nvalues == 1) return td_k_forward(c, first_value, 0, NULL);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, v0->dtype, &shape, &out));
  if (td_shape_num_elements(&shape) == 0) return TD_OK;
  const td_tensor *stack_ins[16];
  int64_t stack_block[16];
  const td_tensor **ins = nvalues <= 16 ? stack_ins : td_xmalloc(sizeof *ins * (size_t)nvalues);
  int64_t *block = nvalues <= 16 ? stack_block : td_xmalloc(sizeof *block * (size_t)nvalues);
  for (int i = 0; i < nvalues; i++) {
    ins[i] = td_k_input(c, first_value + i);
    block[i] = td_array_dims_product(&ins[i]->shape, (int)axis, rank);
  }
  join_blocks(out, ins, block, nvalues, td_array_dims_product(&shape, 0, (int)axis));
  if (ins != stack_ins) free(ins), free(block);
  return TD_OK;
}

td_code td_k_array_concat_v2(td_kctx *c) {
  int n = td_k_num_inputs(c) - 1;
  return concat(c, 0, n, n, "axis");
}

td_code td_k_array_concat(td_kctx *c) { return concat(c, 1, td_k_num_inputs(c) - 1, 0, "concat_dim"); }

/* ---- Pack ---- */

td_code td_k_array_pack(td_kctx *c) {
  int n = td_k_num_inputs(c);
  const td_tensor *v0 = td_k_input(c, 0);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  int rank = v0->shape.rank, out_rank = rank + 1;
  int64_t axis_attr = td_attr_int(td_k_node(c), "axis", 0), axis = axis_attr < 0 ? axis_attr + out_rank : axis_attr;
  if (axis < 0 || axis >= out_rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "axis = %lld not in [%d, %d)", (long long)axis_attr, -out_rank, out_rank);
  if (out_rank > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Pack: rank %d exceeds the supported maximum %d", out_rank, TD_MAX_RANK);
  for (int i = 1; i < n; i++) {
    const td_tensor *v = td_k_input(c, i);
    if (!td_shape_equal(&v->shape, &v0->shape) || v->dtype != v0->dtype)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Shapes of all inputs must match: values[0].shape = %s != values[%d].shape = %s",
                       td_array_shape_str(&v0->shape, b1, sizeof b1), i, td_array_shape_str(&v->shape, b2, sizeof b2));
  }
  td_shape shape = {.rank = out_rank};
  for (int k = 0, j = 0; k < out_rank; k++) shape.dim[k] = k == axis ? n : v0->shape.dim[j++];
  if (n == 1) return td_k_forward(c, 0, 0, &shape);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, v0->dtype, &shape, &out));
  if (td_shape_num_elements(&shape) == 0) return TD_OK;
  int64_t block = td_array_dims_product(&v0->shape, (int)axis, rank);
  int64_t outer = td_array_dims_product(&v0->shape, 0, (int)axis);
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n; i++) td_array_copy(out, (o * n + i) * block, td_k_input(c, i), o * block, block);
  return TD_OK;
}

/* ---- Split / SplitV / Unpack: output i takes rows [start_i, start_i + size_i) of the axis ---- */

static td_code split_outputs(td_kctx *c, const td_tensor *in, int axis, const int64_t *sizes, int n, int drop_axis) {
  int64_t outer = td_array_dims_product(&in->shape, 0, axis);
  int64_t inner = td_array_dims_product(&in->shape, axis + 1, in->shape.rank);
  int64_t dim = in->shape.dim[axis], start = 0;
  for (int i = 0; i < n; i++) {
    td_shape shape = in->shape;
    if (drop_axis) {
      for (int k = axis; k + 1 < shape.rank; k++) shape.dim[k] = shape.dim[k + 1];
      shape.rank--;
    } else {
      shape.dim[axis] = sizes[i];
    }
    td_tensor *out;
    TD_TRY(td_k_alloc_output(c, i, in->dtype, &shape, &out));
    int64_t block = sizes[i] * inner;
    if (td_k_output_used(c, i) && block > 0)
      for (int64_t o = 0; o < outer; o++) td_array_copy(out, o * block, in, (o * dim + start) * inner, block);
    start += sizes[i];
  }
  return TD_OK;
}

static td_code split_axis(td_kctx *c, const td_tensor *in, int input_index, int *axis) {
  int64_t dim;
  TD_TRY(td_array_scalar_index(c, td_k_input(c, input_index), "split_dim", &dim));
  int rank = in->shape.rank;
  int64_t a = dim < 0 ? dim + rank : dim;
  if (a < 0 || a >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "-input rank(-%d) <= split_dim < input rank (%d), but got %lld", rank, rank,
                     (long long)dim);
  *axis = (int)a;
  return TD_OK;
}

td_code td_k_array_split(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 1);
  int n = td_k_num_outputs(c), axis = 0;
  TD_TRY(split_axis(c, in, 0, &axis));
  if (n <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Number of ways to split should be > 0, but got %d", n);
  if (in->shape.dim[axis] % n != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Number of ways to split should evenly divide the split dimension, but got split_dim %d (size = %lld) and num_split %d",
                     axis, (long long)in->shape.dim[axis], n);
  if (n == 1) return td_k_forward(c, 1, 0, NULL);
  int64_t *sizes = td_xmalloc(sizeof *sizes * (size_t)n);
  for (int i = 0; i < n; i++) sizes[i] = in->shape.dim[axis] / n;
  td_code rc = split_outputs(c, in, axis, sizes, n, 0);
  free(sizes);
  return rc;
}

td_code td_k_array_split_v(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *st = td_k_input(c, 1);
  int n = td_k_num_outputs(c), axis = 0;
  if (st->shape.rank != 1 || td_tensor_num_elements(st) != n || !td_array_is_index_dtype(st->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "size of the split_tensor must be 1-D and have the same elements as outputs got %d -D and %lld elements",
                     st->shape.rank, (long long)td_tensor_num_elements(st));
  TD_TRY(split_axis(c, in, 2, &axis));
  int64_t dim = in->shape.dim[axis], determined = 0;
  int neg = -1;
  int64_t *sizes = td_xmalloc(sizeof *sizes * (size_t)(n ? n : 1));
  td_code rc = TD_OK;
  for (int i = 0; i < n && rc == TD_OK; i++) {
    sizes[i] = td_array_index_at(st, i);
    if (sizes[i] == -1) {
      if (neg != -1) rc = td_k_fail(c, TD_INVALID_ARGUMENT, "There can only be one -1 in the input.");
      neg = i;
    } else {
      determined += sizes[i];
    }
  }
  if (rc == TD_OK && !((neg == -1 && determined == dim) || (neg >= 0 && determined <= dim)))
    rc = td_k_fail(c, TD_INVALID_ARGUMENT,
                   "Determined shape must either match input shape along split_dim exactly if fully specified, or be "
                   "less than the size of the input along split_dim if not fully specified.  Got: %lld",
                   (long long)determined);
  if (rc == TD_OK && neg >= 0) sizes[neg] = dim - determined;
  for (int i = 0; i < n && rc == TD_OK; i++)
    if (sizes[i] < 0)
      rc = td_k_fail(c, TD_INVALID_ARGUMENT, "Split size at index %d must be >= 0. Got: %lld", i, (long long)sizes[i]);
  if (rc == TD_OK) rc = n == 1 ? td_k_forward(c, 0, 0, NULL) : split_outputs(c, in, axis, sizes, n, 0);
  free(sizes);
  return rc;
}

td_code td_k_array_unpack(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  int n = td_k_num_outputs(c), rank = in->shape.rank;
  int64_t axis_attr = td_attr_int(td_k_node(c), "axis", 0), axis = axis_attr < 0 ? axis_attr + rank : axis_attr;
  char sb[TD_ARRAY_SHAPE_BUF];
  if (axis < 0 || axis >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "axis = %lld not in [%d, %d)", (long long)axis_attr, -rank, rank);
  if (in->shape.dim[axis] != n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input shape axis %lld must equal %d, got shape %s", (long long)axis, n,
                     td_array_shape_str(&in->shape, sb, sizeof sb));
  int64_t *sizes = td_xmalloc(sizeof *sizes * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) sizes[i] = 1;
  td_code rc = split_outputs(c, in, (int)axis, sizes, n, 1);
  free(sizes);
  return rc;
}
