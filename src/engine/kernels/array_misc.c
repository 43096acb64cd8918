/* array_misc.c — small shape and reordering kernels: EnsureShape, BroadcastArgs, LinSpace,
 * Roll, InvertPermutation, ConcatOffset, ReverseSequence.
 *
 * Reorderings (Roll, ReverseSequence) map every output element to its source with per-dim
 * coordinates and move elements with td_array_copy (type-generic, strings deep-copied);
 * EnsureShape forwards its input unchanged. Invariants: all inputs are validated (TF's texts)
 * before data moves; reentrant, no state.
 */
#include <stdio.h>
#include <string.h>

#include "engine/ir.h" /* the NodeDef's input names, for EnsureShape's message */
#include "engine/kernels/array_internal.h"

/* PartialTensorShape::DebugString: "[2,?,3]" or "<unknown>". */
static const char *partial_str(const Tensorflow__TensorShapeProto *s, char *buf, size_t n) {
  size_t len = 0;
  if (!s || s->unknown_rank) {
    snprintf(buf, n, "<unknown>");
    return buf;
  }
  len += (size_t)snprintf(buf, n, "[");
  for (size_t k = 0; k < s->n_dim && len < n; k++) {
    if (s->dim[k]->size < 0) len += (size_t)snprintf(buf + len, n - len, "%s?", k ? "," : "");
    else len += (size_t)snprintf(buf + len, n - len, "%s%lld", k ? "," : "", (long long)s->dim[k]->size);
  }
  if (len < n) snprintf(buf + len, n - len, "]");
  return buf;
}

td_code td_k_array_ensure_shape(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  const td_node *node = td_k_node(c);
  const Tensorflow__TensorShapeProto *want = td_attr_shape(node, "shape");
  int ok = 1;
  if (want && !want->unknown_rank) {
    ok = (size_t)in->shape.rank == want->n_dim;
    for (int k = 0; ok && k < in->shape.rank; k++)
      ok = want->dim[k]->size < 0 || want->dim[k]->size == in->shape.dim[k];
  }
  if (!ok) {
    char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
    const char *src = node->nd && node->nd->n_input > 0 ? node->nd->input[0] : td_node_name(node);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape of tensor %s %s is not compatible with expected shape %s.", src,
                     td_array_shape_str(&in->shape, b1, sizeof b1), partial_str(want, b2, sizeof b2));
  }
  return td_k_forward(c, 0, 0, NULL);
}

td_code td_k_array_broadcast_args(td_kctx *c) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  td_shape sa, sb, so = {.rank = 0};
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  TD_TRY(td_array_check_index_vector(c, a, "s0", TD_MAX_RANK));
  TD_TRY(td_array_check_index_vector(c, b, "s1", TD_MAX_RANK));
  TD_TRY(td_array_read_shape(c, a, "s0", &sa));
  TD_TRY(td_array_read_shape(c, b, "s1", &sb));
  so.rank = sa.rank > sb.rank ? sa.rank : sb.rank;
  for (int k = 0; k < so.rank; k++) {
    int ia = k - (so.rank - sa.rank), ib = k - (so.rank - sb.rank);
    int64_t da = ia >= 0 ? sa.dim[ia] : 1, db = ib >= 0 ? sb.dim[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s", td_array_shape_str(&sa, b1, sizeof b1),
                       td_array_shape_str(&sb, b2, sizeof b2));
    so.dim[k] = da == 1 ? db : da;
  }
  td_shape vs = td_shape_vector(so.rank);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, a->dtype, &vs, &out));
  for (int k = 0; k < so.rank; k++) {
    if (a->dtype == TD_DT_INT64) td_i64(out)[k] = so.dim[k];
    else td_i32(out)[k] = (int32_t)so.dim[k];
  }
  return TD_OK;
}

td_code td_k_array_lin_space(td_kctx *c) {
  const td_tensor *t0 = td_k_input(c, 0), *t1 = td_k_input(c, 1), *tn = td_k_input(c, 2);
  char b1[TD_ARRAY_SHAPE_BUF];
  for (int i = 0; i < 2; i++) {
    const td_tensor *t = i ? t1 : t0;
    if (t->shape.rank != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be a scalar, not shape %s", i ? "stop" : "start",
                       td_array_shape_str(&t->shape, b1, sizeof b1));
  }
  if (tn->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "num must be a scalar, not shape %s", td_array_shape_str(&tn->shape, b1, sizeof b1));
  int64_t num;
  TD_TRY(td_array_scalar_index(c, tn, "num", &num));
  if (num <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Requires num > 0: %lld", (long long)num);
  if (t0->dtype != TD_DT_FLOAT && t0->dtype != TD_DT_DOUBLE)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "LinSpace: unsupported type %s", td_dtype_name(t0->dtype));
  td_shape vs = td_shape_vector(num);
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, t0->dtype, &vs, &out));
  if (t0->dtype == TD_DT_FLOAT) {
    float a = td_f32(t0)[0], b = td_f32(t1)[0], step = num > 1 ? (b - a) / (float)(num - 1) : 0;
    for (int64_t i = 0; i < num - 1; i++) td_f32(out)[i] = a + step * (float)i;
    td_f32(out)[num - 1] = num > 1 ? b : a;
  } else {
    double a = td_f64(t0)[0], b = td_f64(t1)[0], step = num > 1 ? (b - a) / (double)(num - 1) : 0;
    for (int64_t i = 0; i < num - 1; i++) td_f64(out)[i] = a + step * (double)i;
    td_f64(out)[num - 1] = num > 1 ? b : a;
  }
  return TD_OK;
}

td_code td_k_array_roll(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *shift = td_k_input(c, 1), *axis = td_k_input(c, 2);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  int r = in->shape.rank;
  if (r < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 1-D or higher");
  if (!td_array_is_index_dtype(shift->dtype) || !td_array_is_index_dtype(axis->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shift and axis must be int32 or int64");
  if (shift->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shift must be a scalar or a 1-D vector. Found: %s",
                     td_array_shape_str(&shift->shape, b1, sizeof b1));
  if (axis->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "axis must be a scalar or a 1-D vector. Found: %s",
                     td_array_shape_str(&axis->shape, b1, sizeof b1));
  if (!td_shape_equal(&shift->shape, &axis->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shift and axis must have the same size, got %s and %s",
                     td_array_shape_str(&shift->shape, b1, sizeof b1), td_array_shape_str(&axis->shape, b2, sizeof b2));
  int64_t net[TD_MAX_RANK] = {0};
  int64_t ns = td_tensor_num_elements(shift);
  for (int64_t i = 0; i < ns; i++) {
    int64_t ax = td_array_index_at(axis, i);
    if (ax < -r || ax >= r)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "axis %lld is out of range for a tensor of rank %d", (long long)ax, r);
    if (ax < 0) ax += r;
    int64_t d = in->shape.dim[ax];
    if (d > 0) net[ax] = ((net[ax] + td_array_index_at(shift, i) % d) % d + d) % d;
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  if (n == 0) return TD_OK;
  /* rows of the innermost dim move in (at most) two runs */
  int64_t stride[TD_MAX_RANK], pos[TD_MAX_RANK] = {0}, inner = in->shape.dim[r - 1], s_in = net[r - 1];
  td_array_strides(&in->shape, stride);
  for (int64_t row = 0; row < n / inner; row++) {
    int64_t src = 0;
    for (int k = 0; k < r - 1; k++) {
      int64_t d = in->shape.dim[k], sc = pos[k] - net[k];
      src += (sc < 0 ? sc + d : sc) * stride[k];
    }
    int64_t dst = row * inner;
    /* out[j] = in[(j - s) mod inner] */
    td_array_copy(out, dst + s_in, in, src, inner - s_in);
    if (s_in) td_array_copy(out, dst, in, src + inner - s_in, s_in);
    for (int k = r - 2; k >= 0; k--) {
      if (++pos[k] < in->shape.dim[k]) break;
      pos[k] = 0;
    }
  }
  return TD_OK;
}

td_code td_k_array_invert_permutation(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0);
  char b1[TD_ARRAY_SHAPE_BUF];
  if (x->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "invert_permutation expects a 1D vector, got shape %s",
                     td_array_shape_str(&x->shape, b1, sizeof b1));
  if (!td_array_is_index_dtype(x->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "x must be int32 or int64");
  int64_t n = x->shape.dim[0];
  if (n > INT32_MAX) return td_k_fail(c, TD_INVALID_ARGUMENT, "permutation of %lld elements exceeds the int32 range", (long long)n);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, x->dtype, &x->shape, &out));
  for (int64_t i = 0; i < n; i++) { /* -1 marks unset (the output is zeroed; shift by one) */
    int64_t v = td_array_index_at(x, i);
    if (v < 0 || v >= n)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%lld is not between 0 and %lld", (long long)v, (long long)n);
    int64_t seen = x->dtype == TD_DT_INT64 ? td_i64(out)[v] : td_i32(out)[v];
    if (seen != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "%lld is duplicated in the input.", (long long)v);
    if (x->dtype == TD_DT_INT64) td_i64(out)[v] = i + 1;
    else td_i32(out)[v] = (int32_t)(i + 1);
  }
  for (int64_t i = 0; i < n; i++) {
    if (x->dtype == TD_DT_INT64) td_i64(out)[i] -= 1;
    else td_i32(out)[i] -= 1;
  }
  return TD_OK;
}

/* ConcatOffset(concat_dim, shape_0..shape_{N-1}) -> offset_0..offset_{N-1}. */
td_code td_k_array_concat_offset(td_kctx *c) {
  int n = td_k_num_inputs(c) - 1;
  int64_t axis;
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 0), "concat_dim", &axis));
  const td_tensor *s0 = td_k_input(c, 1);
  TD_TRY(td_array_check_index_vector(c, s0, "shape", TD_MAX_RANK));
  int64_t r = s0->shape.dim[0];
  if (axis < -r || axis >= r)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Concat dim is out of range: %lld vs. %lld", (long long)axis, (long long)r);
  if (axis < 0) axis += r;
  int64_t off = 0;
  for (int i = 0; i < n; i++) {
    const td_tensor *s = td_k_input(c, 1 + i);
    if (s->dtype != s0->dtype || s->shape.rank != 1 || s->shape.dim[0] != r)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "input %d should contain %lld elements, but got %lld", i, (long long)r,
                       (long long)(s->shape.rank == 1 ? s->shape.dim[0] : td_tensor_num_elements(s)));
    for (int64_t k = 0; k < r; k++)
      if (k != axis && td_array_index_at(s, k) != td_array_index_at(s0, k))
        return td_k_fail(c, TD_INVALID_ARGUMENT,
                         "All dimensions except %lld must match. Input %d has shape [%lld] and doesn't match input 0 with shape [%lld].",
                         (long long)axis, i, (long long)td_array_index_at(s, k), (long long)td_array_index_at(s0, k));
    td_tensor *out;
    TD_TRY(td_k_alloc_output(c, i, s0->dtype, &s0->shape, &out));
    if (s0->dtype == TD_DT_INT64) td_i64(out)[axis] = off;
    else td_i32(out)[axis] = (int32_t)off;
    off += td_array_index_at(s, axis);
  }
  return TD_OK;
}

td_code td_k_array_reverse_sequence(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *lens = td_k_input(c, 1);
  const td_node *node = td_k_node(c);
  int64_t sd = td_attr_int(node, "seq_dim", 0), bd = td_attr_int(node, "batch_dim", 0);
  int r = in->shape.rank;
  if (!td_array_is_index_dtype(lens->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "seq_lengths must be int32 or int64");
  if (sd < 0 || sd >= r) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid seq_dim %lld", (long long)sd);
  if (bd < 0 || bd >= r) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid batch_dim %lld", (long long)bd);
  if (sd == bd) return td_k_fail(c, TD_INVALID_ARGUMENT, "seq_dim == batch_dim == %lld", (long long)sd);
  if (lens->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "seq_lengths must be 1-dim, not %d", lens->shape.rank);
  if (lens->shape.dim[0] != in->shape.dim[bd])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Length of seq_lengths != input.dims(%lld), (%lld vs. %lld)", (long long)bd,
                     (long long)lens->shape.dim[0], (long long)in->shape.dim[bd]);
  for (int64_t b = 0; b < lens->shape.dim[0]; b++) {
    int64_t l = td_array_index_at(lens, b);
    if (l < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "seq_lengths(%lld) < 0", (long long)b);
    if (l > in->shape.dim[sd])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "seq_lengths[%lld] > input.dims(%lld)", (long long)b, (long long)sd);
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in), stride[TD_MAX_RANK], pos[TD_MAX_RANK] = {0};
  td_array_strides(&in->shape, stride);
  for (int64_t i = 0; i < n; i++) {
    int64_t l = td_array_index_at(lens, pos[bd]), src = i;
    if (pos[sd] < l) src += (l - 1 - 2 * pos[sd]) * stride[sd];
    td_array_copy(out, i, in, src, 1);
    for (int k = r - 1; k >= 0; k--) {
      if (++pos[k] < in->shape.dim[k]) break;
      pos[k] = 0;
    }
  }
  return TD_OK;
}
