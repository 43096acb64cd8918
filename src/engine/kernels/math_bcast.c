/* math_bcast.c — numpy broadcasting for the math kernels, plus shared error helpers.
 *
 * td_bcast_init pads every operand to the output rank, drops size-1 output dims, and merges
 * neighbouring dims whenever each operand is either full-size in both or broadcast in both.
 * After that the innermost collapsed dim is a contiguous row for every full operand and a
 * repeated single element for every broadcast one, so callers write just three tight loops.
 * Invariants: b->rank >= 1, b->dim[i] >= 1 unless the output is empty, and for every operand
 * stride[k][rank-1] is 0 or 1.
 */
#include "engine/kernels/math_internal.h"

#include <stdio.h>
#include <string.h>

int td_bcast_init(td_bcast *b, int nops, const td_shape *const *shapes) {
  memset(b, 0, sizeof *b);
  b->nops = nops;
  int R = 0;
  for (int k = 0; k < nops; k++) {
    if (shapes[k]->rank < 0 || shapes[k]->rank > TD_MAX_RANK) return -1;
    if (shapes[k]->rank > R) R = shapes[k]->rank;
  }
  int64_t pd[TD_BCAST_MAX_OPS][TD_MAX_RANK];
  for (int k = 0; k < nops; k++) {
    int off = R - shapes[k]->rank;
    for (int i = 0; i < R; i++) pd[k][i] = i < off ? 1 : shapes[k]->dim[i - off];
  }
  b->out.rank = R;
  b->nout = 1;
  for (int i = 0; i < R; i++) {
    int64_t d = 1;
    for (int k = 0; k < nops; k++) {
      if (pd[k][i] == 1) continue;
      if (d != 1 && pd[k][i] != d) return -1;
      d = pd[k][i];
    }
    b->out.dim[i] = d;
    b->nout *= d;
  }
  /* Collapse: skip size-1 output dims, merge runs with identical full/broadcast masks. */
  int full[TD_MAX_RANK][TD_BCAST_MAX_OPS];
  int r = 0;
  for (int i = 0; i < R; i++) {
    int64_t d = b->out.dim[i];
    if (d == 1) continue;
    int mask[TD_BCAST_MAX_OPS];
    for (int k = 0; k < nops; k++) mask[k] = pd[k][i] != 1;
    int same = r > 0;
    for (int k = 0; k < nops && same; k++) same = full[r - 1][k] == mask[k];
    if (same) {
      b->dim[r - 1] *= d;
    } else {
      for (int k = 0; k < nops; k++) full[r][k] = mask[k];
      b->dim[r++] = d;
    }
  }
  if (r == 0) {
    b->dim[0] = 1;
    for (int k = 0; k < nops; k++) full[0][k] = 1;
    r = 1;
  }
  b->rank = r;
  for (int k = 0; k < nops; k++) {
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
      b->stride[k][i] = full[i][k] ? acc : 0;
      if (full[i][k]) acc *= b->dim[i];
    }
  }
  return 0;
}

int td_bcast_rows(const td_bcast *b, const void *const *in, const size_t *esize, void *out,
                  size_t out_esize, td_bcast_row_fn fn, void *arg) {
  if (b->nout == 0) return 0;
  const int r = b->rank, nops = b->nops;
  const int64_t n = b->dim[r - 1];
  int inner[TD_BCAST_MAX_OPS];
  for (int k = 0; k < nops; k++) inner[k] = b->stride[k][r - 1] != 0;
  int64_t outer = 1;
  for (int i = 0; i < r - 1; i++) outer *= b->dim[i];
  int64_t idx[TD_MAX_RANK] = {0};
  int64_t off[TD_BCAST_MAX_OPS] = {0};
  const void *ptr[TD_BCAST_MAX_OPS];
  char *o = out;
  for (int64_t row = 0; row < outer; row++) {
    for (int k = 0; k < nops; k++) ptr[k] = (const char *)in[k] + off[k] * (int64_t)esize[k];
    int err = fn(arg, ptr, inner, o, n);
    if (err) return err;
    o += n * (int64_t)out_esize;
    for (int d = r - 2; d >= 0; d--) {
      for (int k = 0; k < nops; k++) off[k] += b->stride[k][d];
      if (++idx[d] < b->dim[d]) break;
      for (int k = 0; k < nops; k++) off[k] -= b->stride[k][d] * b->dim[d];
      idx[d] = 0;
    }
  }
  return 0;
}

void td_bcast_offsets(const td_bcast *b, int64_t *off0, int64_t *off1) {
  int64_t idx[TD_MAX_RANK] = {0};
  int64_t o0 = 0, o1 = 0;
  for (int64_t i = 0; i < b->nout; i++) {
    off0[i] = o0;
    off1[i] = o1;
    for (int d = b->rank - 1; d >= 0; d--) {
      o0 += b->stride[0][d];
      o1 += b->stride[1][d];
      if (++idx[d] < b->dim[d]) break;
      o0 -= b->stride[0][d] * b->dim[d];
      o1 -= b->stride[1][d] * b->dim[d];
      idx[d] = 0;
    }
  }
}

const char *td_math_shape_str(const td_shape *s, char *buf) {
  return td_shape_str(s, buf, TD_MATH_SHAPE_BUF);
}

td_code td_math_fail_dtype(td_kctx *c, const char *attr, td_dtype dt) {
  return td_k_fail(c, TD_INVALID_ARGUMENT,
                   "No OpKernel was registered to support Op '%s' with these attrs: %s=%s",
                   td_node_op(td_k_node(c)), attr, td_dtype_enum_name(dt));
}

int td_math_read_axes(td_kctx *c, const td_tensor *t, int64_t *v, int max) {
  if (t->dtype != TD_DT_INT32 && t->dtype != TD_DT_INT64) {
    td_math_fail_dtype(c, "Tidx", t->dtype);
    return -1;
  }
  int64_t n = td_tensor_num_elements(t);
  if (n > max) {
    td_k_fail(c, TD_INVALID_ARGUMENT, "Too many axes: %lld", (long long)n);
    return -1;
  }
  for (int64_t i = 0; i < n; i++)
    v[i] = t->dtype == TD_DT_INT32 ? td_i32(t)[i] : td_i64(t)[i];
  return (int)n;
}
