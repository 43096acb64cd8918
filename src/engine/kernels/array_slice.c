/* array_slice.c — kernels that are one strided walk over the input: StridedSlice, Slice,
 * Transpose, Tile, ReverseV2 / Reverse, BroadcastTo.
 *
 * Invariants: every kernel validates its index arguments (TF's messages) before touching
 * data, computes the output shape, and forwards the input unchanged (zero-copy) when the
 * result is element-for-element identical; otherwise it fills one td_array_walk and calls
 * td_array_walk_copy (memcpy of contiguous runs, tiled transposes).
 */
#include <stdio.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

/* Output is the input with every element in place (maybe reshaped) → forward. Otherwise
 * allocate output 0 with `shape` and run the walk from input 0. */
static td_code walk_output(td_kctx *c, const td_shape *shape, int64_t src_off, td_array_walk *w) {
  const td_tensor *in = td_k_input(c, 0);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, shape, &out));
  if (td_shape_num_elements(shape) > 0) td_array_walk_copy(out, 0, in, src_off, w);
  return TD_OK;
}

/* Walk whose destination is dense row-major over dim[0..rank) . */
static void walk_dense_dst(td_array_walk *w) {
  int64_t acc = 1;
  for (int k = w->rank - 1; k >= 0; k--) {
    w->dst_stride[k] = acc;
    acc *= w->dim[k];
  }
}

/* ---- StridedSlice (TF's ValidateStridedSliceOp: sparse spec → dense spec → shapes) ---- */

#define TD_SS_MAX_SPARSE 30
#define TD_SS_NEW_AXIS (-1)
#define TD_SS_SHRINK (-2)

td_code td_k_array_strided_slice(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  const td_tensor *bt = td_k_input(c, 1), *et = td_k_input(c, 2), *st = td_k_input(c, 3);
  const td_node *n = td_k_node(c);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF], b3[TD_ARRAY_SHAPE_BUF];
  if (bt->shape.rank != 1 || !td_shape_equal(&bt->shape, &et->shape) || !td_shape_equal(&bt->shape, &st->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Expected begin, end, and strides to be 1D equal size tensors, but got shapes %s, %s, and %s instead.",
                     td_array_shape_str(&bt->shape, b1, sizeof b1), td_array_shape_str(&et->shape, b2, sizeof b2),
                     td_array_shape_str(&st->shape, b3, sizeof b3));
  if (!td_array_is_index_dtype(bt->dtype) || bt->dtype != et->dtype || bt->dtype != st->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "StridedSlice: begin, end and strides must all be int32 or int64");
  int sparse_dims = (int)bt->shape.dim[0];
  if (sparse_dims > TD_SS_MAX_SPARSE)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "StridedSlice: too many slice dimensions (%d)", sparse_dims);
  int64_t begin_mask = td_attr_int(n, "begin_mask", 0), end_mask = td_attr_int(n, "end_mask", 0);
  int64_t ellipsis_mask = td_attr_int(n, "ellipsis_mask", 0), new_axis_mask = td_attr_int(n, "new_axis_mask", 0);
  int64_t shrink_mask = td_attr_int(n, "shrink_axis_mask", 0);
  if (ellipsis_mask & (ellipsis_mask - 1))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Multiple ellipses in slice spec not allowed");

  /* Sparse spec: count new axes after the ellipsis; add an implicit trailing ellipsis. */
  int ellipsis_seen = 0, new_after_ellipsis = 0;
  for (int i = 0; i < sparse_dims; i++) {
    if (ellipsis_seen && ((1LL << i) & new_axis_mask)) new_after_ellipsis++;
    if ((1LL << i) & ellipsis_mask) ellipsis_seen = 1;
  }
  if (!ellipsis_seen) ellipsis_mask |= 1LL << sparse_dims++;

  /* Dense spec over the input's dims. */
  int rank = in->shape.rank;
  int64_t begin[TD_MAX_RANK] = {0}, end[TD_MAX_RANK] = {0}, stride[TD_MAX_RANK];
  int dbegin_mask = 0, dend_mask = 0, dshrink = 0;
  int gather[TD_SS_MAX_SPARSE + TD_MAX_RANK + 1], ngather = 0;
  int full = 0;
  for (int i = 0; i < sparse_dims; i++) {
    int64_t bit = 1LL << i;
    if (bit & ellipsis_mask) {
      int next = rank - (sparse_dims - i) + 1 + new_after_ellipsis;
      if (next > rank) next = rank;
      for (; full < next; full++) {
        begin[full] = end[full] = 0;
        stride[full] = 1;
        dbegin_mask |= 1 << full;
        dend_mask |= 1 << full;
        gather[ngather++] = full;
      }
    } else if (bit & new_axis_mask) {
      gather[ngather++] = TD_SS_NEW_AXIS;
    } else {
      if (full == rank)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Index out of range using input dim %d; input has only %d dims", full,
                         rank);
      begin[full] = td_array_index_at(bt, i);
      end[full] = td_array_index_at(et, i);
      stride[full] = td_array_index_at(st, i);
      if (bit & begin_mask) dbegin_mask |= 1 << full;
      if (bit & end_mask) dend_mask |= 1 << full;
      if (bit & shrink_mask) {
        gather[ngather++] = TD_SS_SHRINK;
        dshrink |= 1 << full;
      } else {
        gather[ngather++] = full;
      }
      full++;
    }
  }

  /* Canonicalize each dim and compute the processing shape. */
  td_array_walk w = {.rank = rank};
  int64_t in_stride[TD_MAX_RANK];
  td_array_strides(&in->shape, in_stride);
  int64_t src_off = 0;
  int is_identity = 1;
  for (int i = 0; i < rank; i++) {
    int64_t dim = in->shape.dim[i], s = stride[i];
    if (s == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "strides[%d] must be non-zero", i);
    int64_t b, e;
    if (dshrink & (1 << i)) {
      if (s <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "only stride 1 allowed on non-range indexing.");
      b = begin[i] < 0 ? dim + begin[i] : begin[i];
      e = b + 1;
      if (b < 0 || b >= dim)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "slice index %lld of dimension %d out of bounds.", (long long)b, i);
    } else {
      int64_t lo = s > 0 ? 0 : -1, hi = s > 0 ? dim : dim - 1;
      int64_t raw[2] = {begin[i], end[i]}, canon[2];
      int masked[2] = {!!(dbegin_mask & (1 << i)), !!(dend_mask & (1 << i))};
      for (int k = 0; k < 2; k++) {
        if (masked[k]) {
          /* begin mask → first element in stride direction; end mask → one past the last. */
          canon[k] = (s > 0) == (k == 0) ? lo : hi;
        } else {
          int64_t x = raw[k] < 0 ? dim + raw[k] : raw[k];
          canon[k] = x < lo ? lo : x > hi ? hi : x;
        }
      }
      b = canon[0];
      e = canon[1];
    }
    if (!(s == 1 && b == 0 && e == dim)) is_identity = 0;
    int64_t len = e - b, size;
    if (len == 0 || ((len < 0) != (s < 0))) size = 0;
    else size = len / s + (len % s != 0);
    w.dim[i] = size;
    w.src_stride[i] = s * in_stride[i];
    if (size > 0) src_off += b * in_stride[i];
  }

  td_shape shape = {.rank = 0};
  for (int g = 0; g < ngather; g++) {
    if (gather[g] == TD_SS_SHRINK) continue;
    if (shape.rank == TD_MAX_RANK)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "StridedSlice: result rank exceeds the supported maximum %d", TD_MAX_RANK);
    shape.dim[shape.rank++] = gather[g] == TD_SS_NEW_AXIS ? 1 : w.dim[gather[g]];
  }
  if (is_identity) return td_k_forward(c, 0, 0, &shape);
  walk_dense_dst(&w);
  return walk_output(c, &shape, src_off, &w);
}

/* ---- Slice ---- */

td_code td_k_array_slice(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *bt = td_k_input(c, 1), *zt = td_k_input(c, 2);
  int rank = in->shape.rank;
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (bt->shape.rank != 1 || zt->shape.rank != 1 || bt->shape.dim[0] != rank || zt->shape.dim[0] != rank ||
      !td_array_is_index_dtype(bt->dtype) || !td_array_is_index_dtype(zt->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Expected begin and size arguments to be 1-D tensors of size %d, but got shapes %s and %s instead.",
                     rank, td_array_shape_str(&bt->shape, b1, sizeof b1), td_array_shape_str(&zt->shape, b2, sizeof b2));
  td_array_walk w = {.rank = rank};
  td_array_strides(&in->shape, w.src_stride);
  td_shape shape = {.rank = rank};
  int64_t src_off = 0;
  int is_identity = 1;
  for (int i = 0; i < rank; i++) {
    int64_t dim = in->shape.dim[i], b = td_array_index_at(bt, i), s = td_array_index_at(zt, i);
    if (dim == 0) {
      if (b != 0 || (s != 0 && s != -1))
        return td_k_fail(c, TD_INVALID_ARGUMENT,
                         "Expected begin[%d] == 0 (got %lld) and size[%d] == 0 (got %lld) when input.dim_size(%d) == 0",
                         i, (long long)b, i, (long long)s, i);
      s = 0;
    } else {
      if (s == -1) s = dim - b;
      if (b < 0 || b > dim)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected begin[%d] in [0, %lld], but got %lld", i, (long long)dim,
                         (long long)b);
      if (s < 0 || b + s > dim)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected size[%d] in [0, %lld], but got %lld", i,
                         (long long)(dim - b), (long long)s);
    }
    shape.dim[i] = w.dim[i] = s;
    if (s != dim) is_identity = 0;
    src_off += b * w.src_stride[i];
  }
  if (is_identity) return td_k_forward(c, 0, 0, NULL);
  walk_dense_dst(&w);
  return walk_output(c, &shape, src_off, &w);
}

/* ---- Transpose ---- */

td_code td_k_array_transpose(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *pt = td_k_input(c, 1);
  int rank = in->shape.rank;
  if (pt->shape.rank != 1 || !td_array_is_index_dtype(pt->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "perm must be rank 1");
  if (pt->shape.dim[0] != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "transpose expects a vector of size %d. But input(1) is a vector of size %lld",
                     rank, (long long)pt->shape.dim[0]);
  int seen[TD_MAX_RANK] = {0};
  int64_t perm[TD_MAX_RANK];
  for (int i = 0; i < rank; i++) {
    perm[i] = td_array_index_at(pt, i);
    if (perm[i] < 0 || perm[i] >= rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%lld is out of range [0 .. %d)", (long long)perm[i], rank);
    seen[perm[i]] = 1;
  }
  for (int i = 0; i < rank; i++) {
    if (seen[i]) continue;
    char list[TD_MAX_RANK * 24] = "";
    size_t len = 0;
    for (int k = 0; k < rank; k++)
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%lld", k ? "," : "", (long long)perm[k]);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%d is missing from {%s}.", i, list);
  }
  td_array_walk w = {.rank = rank};
  int64_t in_stride[TD_MAX_RANK];
  td_array_strides(&in->shape, in_stride);
  td_shape shape = {.rank = rank};
  /* Moving only unit dims keeps the element order: a reshape. */
  int last = -1, in_order = 1;
  for (int k = 0; k < rank; k++) {
    shape.dim[k] = w.dim[k] = in->shape.dim[perm[k]];
    w.src_stride[k] = in_stride[perm[k]];
    if (shape.dim[k] != 1) {
      if (perm[k] < last) in_order = 0;
      last = (int)perm[k];
    }
  }
  if (in_order) return td_k_forward(c, 0, 0, &shape);
  walk_dense_dst(&w);
  return walk_output(c, &shape, 0, &w);
}

/* ---- Tile: output axis k viewed as (copy t, element j), src stride 0 along t ---- */

td_code td_k_array_tile(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *mt = td_k_input(c, 1);
  int rank = in->shape.rank;
  if (mt->shape.rank > 1 || td_tensor_num_elements(mt) != rank || !td_array_is_index_dtype(mt->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected multiples argument to be a vector of length %d but got length %lld",
                     rank, (long long)(mt->shape.rank ? mt->shape.dim[0] : 1));
  td_shape shape = {.rank = rank};
  int64_t in_stride[TD_MAX_RANK], out_stride[TD_MAX_RANK];
  td_array_strides(&in->shape, in_stride);
  int is_identity = 1;
  for (int i = 0; i < rank; i++) {
    int64_t m = td_array_index_at(mt, i);
    if (m < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected multiples[%d] >= 0, but got %lld", i, (long long)m);
    if (__builtin_mul_overflow(m, in->shape.dim[i], &shape.dim[i]))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Tile: output dimension %d overflows", i);
    if (m != 1) is_identity = 0;
  }
  if (is_identity) return td_k_forward(c, 0, 0, NULL);
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  td_array_strides(&shape, out_stride);
  td_array_walk w = {.rank = 2 * rank};
  for (int i = 0; i < rank; i++) {
    w.dim[2 * i] = shape.dim[i] / (in->shape.dim[i] ? in->shape.dim[i] : 1);
    w.src_stride[2 * i] = 0;
    w.dst_stride[2 * i] = in->shape.dim[i] * out_stride[i];
    w.dim[2 * i + 1] = in->shape.dim[i];
    w.src_stride[2 * i + 1] = in_stride[i];
    w.dst_stride[2 * i + 1] = out_stride[i];
  }
  return walk_output(c, &shape, 0, &w);
}

/* ---- ReverseV2 (axis list) and Reverse (bool mask) ---- */

static td_code reverse_axes(td_kctx *c, const int *rev) {
  const td_tensor *in = td_k_input(c, 0);
  int rank = in->shape.rank;
  td_array_walk w = {.rank = rank};
  td_array_strides(&in->shape, w.src_stride);
  int64_t src_off = 0;
  int moves = 0;
  for (int i = 0; i < rank; i++) {
    w.dim[i] = in->shape.dim[i];
    if (rev[i] && w.dim[i] > 1) {
      src_off += (w.dim[i] - 1) * w.src_stride[i];
      w.src_stride[i] = -w.src_stride[i];
      moves = 1;
    }
  }
  if (!moves) return td_k_forward(c, 0, 0, NULL);
  walk_dense_dst(&w);
  return walk_output(c, &in->shape, src_off, &w);
}

td_code td_k_array_reverse_v2(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *at = td_k_input(c, 1);
  TD_TRY(td_array_check_index_vector(c, at, "'axis'", -1));
  int rank = in->shape.rank, rev[TD_MAX_RANK] = {0};
  for (int64_t i = 0; i < at->shape.dim[0]; i++) {
    int64_t a = td_array_index_at(at, i), canon = a < 0 ? a + rank : a;
    if (canon < 0 || canon >= rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "'axis'[%lld] = %lld is out of valid range [0, %d", (long long)i,
                       (long long)a, rank - 1);
    if (rev[canon])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "axis %lld specified more than once.", (long long)canon);
    rev[canon] = 1;
  }
  return reverse_axes(c, rev);
}

td_code td_k_array_reverse(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *dt = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (dt->dtype != TD_DT_BOOL || dt->shape.rank != 1 || dt->shape.dim[0] != in->shape.rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "'dims' must have the same number of values as 'input' has dimensions. "
                     "'input' has %s'dims' has %s values",
                     td_array_shape_str(&in->shape, b1, sizeof b1), td_array_shape_str(&dt->shape, b2, sizeof b2));
  int rev[TD_MAX_RANK] = {0};
  for (int i = 0; i < in->shape.rank; i++) rev[i] = td_u8(dt)[i] != 0;
  return reverse_axes(c, rev);
}

/* ---- BroadcastTo ---- */

td_code td_k_array_broadcast_to(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  td_shape shape;
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  TD_TRY(td_array_read_shape(c, td_k_input(c, 1), "shape", &shape));
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  if (td_shape_equal(&shape, &in->shape)) return td_k_forward(c, 0, 0, NULL);
  int rank = shape.rank, off = rank - in->shape.rank;
  if (off < 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Rank of input (%d) must be no greater than rank of output shape (%d).",
                     in->shape.rank, rank);
  int64_t in_stride[TD_MAX_RANK];
  td_array_strides(&in->shape, in_stride);
  td_array_walk w = {.rank = rank};
  for (int k = 0; k < rank; k++) {
    w.dim[k] = shape.dim[k];
    int64_t d = k < off ? 1 : in->shape.dim[k - off];
    if (d == shape.dim[k] && k >= off) {
      w.src_stride[k] = in_stride[k - off];
    } else if (d == 1) {
      w.src_stride[k] = 0;
    } else if (shape.dim[k] == 1) {
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Unable to broadcast tensor of shape %s to tensor of shape %s",
                       td_array_shape_str(&in->shape, b1, sizeof b1), td_array_shape_str(&shape, b2, sizeof b2));
    } else {
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s",
                       td_array_shape_str(&in->shape, b1, sizeof b1), td_array_shape_str(&shape, b2, sizeof b2));
    }
  }
  walk_dense_dst(&w);
  return walk_output(c, &shape, 0, &w);
}
