/* array_pad.c — Pad, PadV2 (constant padding) and MirrorPad (REFLECT / SYMMETRIC).
 *
 * Invariants: paddings is an int32/int64 [rank, 2] matrix of non-negative values (TF's
 * checks and messages). The input is copied into the interior of the output with one
 * strided walk; constant padding fills the output first (skipped for zero POD values: outputs
 * arrive zeroed); mirror padding then copies mirrored slabs inside the output, one dim at a
 * time, so corners come out as TF's.
 */
#include <string.h>

#include "engine/kernels/array_internal.h"

typedef struct pad_plan {
  int rank;
  int64_t before[TD_MAX_RANK], after[TD_MAX_RANK];
  td_shape out_shape;
  int64_t out_stride[TD_MAX_RANK];
} pad_plan;

static td_code pad_read(td_kctx *c, const char *nonneg_word, pad_plan *p) {
  const td_tensor *in = td_k_input(c, 0), *pt = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (pt->shape.rank != 2 || pt->shape.dim[1] != 2 || !td_array_is_index_dtype(pt->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "paddings must be a matrix with 2 columns: %s",
                     td_array_shape_str(&pt->shape, b1, sizeof b1));
  if (pt->shape.dim[0] != in->shape.rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The first dimension of paddings must be the rank of inputs%s, %s",
                     td_array_shape_str(&pt->shape, b1, sizeof b1), td_array_shape_str(&in->shape, b2, sizeof b2));
  p->rank = in->shape.rank;
  p->out_shape.rank = p->rank;
  for (int d = 0; d < p->rank; d++) {
    p->before[d] = td_array_index_at(pt, 2 * d);
    p->after[d] = td_array_index_at(pt, 2 * d + 1);
    if (p->before[d] < 0 || p->after[d] < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be non-negative: %lld %lld", nonneg_word,
                       (long long)p->before[d], (long long)p->after[d]);
    int64_t sum;
    if (__builtin_add_overflow(p->before[d], p->after[d], &sum) ||
        __builtin_add_overflow(sum, in->shape.dim[d], &p->out_shape.dim[d]))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Pad: output dimension %d overflows", d);
  }
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &p->out_shape, &total));
  td_array_strides(&p->out_shape, p->out_stride);
  return TD_OK;
}

/* Copies the input into the interior of out. */
static void pad_copy_interior(td_tensor *out, const td_tensor *in, const pad_plan *p) {
  td_array_walk w = {.rank = p->rank};
  int64_t dst_off = 0;
  td_array_strides(&in->shape, w.src_stride);
  for (int d = 0; d < p->rank; d++) {
    w.dim[d] = in->shape.dim[d];
    w.dst_stride[d] = p->out_stride[d];
    dst_off += p->before[d] * p->out_stride[d];
  }
  if (td_tensor_num_elements(in) > 0) td_array_walk_copy(out, dst_off, in, 0, &w);
}

static int value_is_zero_pod(const td_tensor *v) {
  if (td_array_dtype_is_boxed(v->dtype)) return v->dtype == TD_DT_STRING && td_str(v)[0].len == 0;
  size_t es = td_dtype_size(v->dtype);
  for (size_t k = 0; k < es; k++)
    if (((const unsigned char *)v->data)[k]) return 0;
  return 1;
}

td_code td_k_array_pad(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  char sb[TD_ARRAY_SHAPE_BUF];
  pad_plan p;
  TD_TRY(pad_read(c, "Paddings", &p));
  const td_tensor *value = NULL;
  if (td_k_num_inputs(c) == 3) {
    value = td_k_input(c, 2);
    if (value->shape.rank != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "constant_values must be a scalar. Found: %s",
                       td_array_shape_str(&value->shape, sb, sizeof sb));
    if (value->dtype != in->dtype)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "constant_values must have the input's dtype");
  }
  if (td_shape_num_elements(&p.out_shape) == td_tensor_num_elements(in))
    return td_k_forward(c, 0, 0, &p.out_shape);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &p.out_shape, &out));
  if (value && !value_is_zero_pod(value)) td_array_fill(out, 0, td_shape_num_elements(&p.out_shape), value, 0);
  pad_copy_interior(out, in, &p);
  return TD_OK;
}

/* Output index (along one dim) that mirrors output index o, which lies in the padding. */
static int64_t mirror_source(int64_t o, int64_t before, int64_t n, int symmetric) {
  int64_t i = o - before;
  if (i < 0) i = symmetric ? -i - 1 : -i;
  else i = symmetric ? 2 * n - 1 - i : 2 * n - 2 - i;
  return before + i;
}

td_code td_k_array_mirror_pad(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  int symmetric;
  if (td_attr_str_eq(td_k_node(c), "mode", "SYMMETRIC")) symmetric = 1;
  else if (td_attr_str_eq(td_k_node(c), "mode", "REFLECT")) symmetric = 0;
  else return td_k_fail(c, TD_INVALID_ARGUMENT, "MirrorPad: mode must be REFLECT or SYMMETRIC");
  pad_plan p;
  TD_TRY(pad_read(c, "paddings", &p));
  for (int d = 0; d < p.rank; d++) {
    int64_t n = in->shape.dim[d];
    if (symmetric && (p.before[d] > n || p.after[d] > n))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "paddings must be no greater than the dimension size: %lld, %lld greater than %lld",
                       (long long)p.before[d], (long long)p.after[d], (long long)n);
    if (!symmetric && (p.before[d] >= n || p.after[d] >= n))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "paddings must be less than the dimension size: %lld, %lld not less than %lld",
                       (long long)p.before[d], (long long)p.after[d], (long long)n);
  }
  if (td_shape_num_elements(&p.out_shape) == td_tensor_num_elements(in))
    return td_k_forward(c, 0, 0, &p.out_shape);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &p.out_shape, &out));
  pad_copy_interior(out, in, &p);
  /* Dim d: dims before d already span the whole output, dims after d only the interior. */
  for (int d = 0; d < p.rank; d++) {
    int64_t n = in->shape.dim[d], total = p.out_shape.dim[d];
    td_array_walk slab = {.rank = p.rank};
    int64_t base = 0;
    for (int k = 0; k < p.rank; k++) {
      slab.dim[k] = k < d ? p.out_shape.dim[k] : k == d ? 1 : in->shape.dim[k];
      slab.src_stride[k] = slab.dst_stride[k] = p.out_stride[k];
      if (k > d) base += p.before[k] * p.out_stride[k];
    }
    for (int64_t o = 0; o < total; o++) {
      if (o >= p.before[d] && o < p.before[d] + n) continue;
      td_array_walk w = slab;
      int64_t src = mirror_source(o, p.before[d], n, symmetric);
      td_array_walk_copy(out, base + o * p.out_stride[d], out, base + src * p.out_stride[d], &w);
    }
  }
  return TD_OK;
}
