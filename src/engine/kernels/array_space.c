/* array_space.c — moving spatial blocks to and from batch / depth: SpaceToBatchND,
 * BatchToSpaceND, SpaceToDepth, DepthToSpace (NHWC).
 *
 * Space<->depth are pure transposes, one td_array_walk each. Space<->batch walk the output
 * rows (all dims but the trailing non-spatial ones) and copy each row's contiguous inner block
 * from its source position, or leave it zero where it falls in the padding (outputs arrive
 * zeroed). Type-generic: rows move with td_array_copy (strings deep-copied).
 * Invariants: block sizes, paddings and crops are validated (TF's texts) before data moves;
 * reentrant, no state.
 */
#include <string.h>

#include "engine/kernels/array_internal.h"

/* Reads block_shape [M] and paddings/crops [M,2] (int32/int64). */
static td_code read_blocks(td_kctx *c, const td_tensor *in, const td_tensor *bs, const td_tensor *pads,
                           const char *pname, int *m, int64_t *block, int64_t *p0, int64_t *p1) {
  char b1[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(bs->dtype) || !td_array_is_index_dtype(pads->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "block_shape and %s must be int32 or int64", pname);
  if (bs->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "block_shape rank should be 1 instead of %d", bs->shape.rank);
  int64_t n = bs->shape.dim[0];
  if (pads->shape.rank != 2 || pads->shape.dim[0] != n || pads->shape.dim[1] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s should have shape [%lld, 2] instead of %s", pname, (long long)n,
                     td_array_shape_str(&pads->shape, b1, sizeof b1));
  if (in->shape.rank < 1 + n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input rank should be >= %lld instead of %d", (long long)(1 + n),
                     in->shape.rank);
  for (int64_t k = 0; k < n; k++) {
    block[k] = td_array_index_at(bs, k);
    p0[k] = td_array_index_at(pads, 2 * k);
    p1[k] = td_array_index_at(pads, 2 * k + 1);
    if (block[k] < 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "All values in block_shape must be positive, got value, %lld at index %lld.",
                       (long long)block[k], (long long)k);
    if (p0[k] < 0 || p1[k] < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "All values in %s must be non-negative", pname);
    /* keep every product / sum below int64 overflow (real shapes are far smaller) */
    if (block[k] > INT32_MAX || p0[k] > INT32_MAX || p1[k] > INT32_MAX)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "block_shape / %s values too large", pname);
  }
  *m = (int)n;
  return TD_OK;
}

/* to_batch: out[(o)*batch + b, i.., rest] = in[b, i*block + o - pad0, rest] (zero outside).
 * !to_batch: out[b, j.., rest] = in[(o)*batch + b, (j + crop0) / block, rest], o = (j + crop0) % block. */
static td_code space_batch(td_kctx *c, int to_batch) {
  const td_tensor *in = td_k_input(c, 0), *bs = td_k_input(c, 1), *pads = td_k_input(c, 2);
  int m = 0;
  int64_t block[TD_MAX_RANK], p0[TD_MAX_RANK], p1[TD_MAX_RANK];
  TD_TRY(read_blocks(c, in, bs, pads, to_batch ? "paddings" : "crops", &m, block, p0, p1));
  int64_t prod = 1;
  for (int k = 0; k < m; k++)
    if (__builtin_mul_overflow(prod, block[k], &prod) || prod > INT32_MAX)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "product of block sizes is too large");
  td_shape os = in->shape;
  int64_t batch;
  if (to_batch) {
    batch = in->shape.dim[0];
    if (__builtin_mul_overflow(batch, prod, &os.dim[0]))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "output batch dimension overflows");
    for (int k = 0; k < m; k++) {
      int64_t padded;
      if (__builtin_add_overflow(in->shape.dim[1 + k], p0[k] + p1[k], &padded))
        return td_k_fail(c, TD_INVALID_ARGUMENT, "padded spatial dimension overflows");
      if (padded % block[k] != 0)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "padded_shape[%d]=%lld is not divisible by block_shape[%d]=%lld", k,
                         (long long)padded, k, (long long)block[k]);
      os.dim[1 + k] = padded / block[k];
    }
  } else {
    if (in->shape.dim[0] % prod != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Input batch dimension (%lld) is not divisible by product of block sizes (%lld)",
                       (long long)in->shape.dim[0], (long long)prod);
    batch = in->shape.dim[0] / prod;
    os.dim[0] = batch;
    for (int k = 0; k < m; k++) {
      int64_t full;
      if (__builtin_mul_overflow(in->shape.dim[1 + k], block[k], &full))
        return td_k_fail(c, TD_INVALID_ARGUMENT, "output spatial dimension overflows");
      int64_t cropped = full - p0[k] - p1[k];
      if (cropped < 0)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "Negative output dimension size caused by crops: %lld, input spatial dimension %lld times block %lld",
                         (long long)cropped, (long long)in->shape.dim[1 + k], (long long)block[k]);
      os.dim[1 + k] = cropped;
    }
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &os, &out));
  int64_t inner = td_array_dims_product(&in->shape, 1 + m, in->shape.rank);
  int64_t nrows = td_array_dims_product(&os, 0, 1 + m);
  if (inner == 0 || nrows == 0) return TD_OK;
  int64_t istride[TD_MAX_RANK];
  td_shape rows_in = td_shape_make(1 + m, in->shape.dim);
  td_array_strides(&rows_in, istride); /* strides over input rows */
  int64_t pos[TD_MAX_RANK] = {0};      /* output row coordinates */
  for (int64_t r = 0; r < nrows; r++) {
    int64_t src = 0, ok = 1;
    if (to_batch) {
      int64_t ob = pos[0], b = ob % batch, o = ob / batch, off[TD_MAX_RANK];
      for (int k = m - 1; k >= 0; k--) off[k] = o % block[k], o /= block[k];
      src = b * istride[0];
      for (int k = 0; k < m && ok; k++) {
        int64_t p = pos[1 + k] * block[k] + off[k] - p0[k];
        if (p < 0 || p >= in->shape.dim[1 + k]) ok = 0;
        src += p * istride[1 + k];
      }
    } else {
      int64_t o = 0;
      for (int k = 0; k < m; k++) {
        int64_t j = pos[1 + k] + p0[k];
        o = o * block[k] + j % block[k];
        src += (j / block[k]) * istride[1 + k];
      }
      src += (o * batch + pos[0]) * istride[0];
    }
    if (ok) td_array_copy(out, r * inner, in, src * inner, inner);
    for (int k = m; k >= 0; k--) {
      if (++pos[k] < os.dim[k]) break;
      pos[k] = 0;
    }
  }
  return TD_OK;
}

td_code td_k_array_space_to_batch_nd(td_kctx *c) { return space_batch(c, 1); }
td_code td_k_array_batch_to_space_nd(td_kctx *c) { return space_batch(c, 0); }

/* NHWC space<->depth as one transpose: with bs the block size,
 *   SpaceToDepth: in [N, H/bs, bs, W/bs, bs, C] -> out [N, H/bs, W/bs, bs, bs, C]
 *   DepthToSpace: in [N, H, W, bs, bs, C'] -> out [N, H, bs, W, bs, C'] */
static td_code space_depth(td_kctx *c, int to_depth) {
  const td_tensor *in = td_k_input(c, 0);
  const td_node *node = td_k_node(c);
  int64_t bs = td_attr_int(node, "block_size", 0);
  if (td_node_attr(node, "data_format") && !td_attr_str_eq(node, "data_format", "NHWC"))
    return td_k_fail(c, TD_UNIMPLEMENTED, "%s is only implemented for data_format NHWC on CPU", td_node_op(node));
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input rank should be: 4 instead of: %d", in->shape.rank);
  if (bs <= 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "Block size should be > 1, but was: %lld", (long long)bs);
  if (bs > 65536) return td_k_fail(c, TD_INVALID_ARGUMENT, "Block size too large: %lld", (long long)bs);
  int64_t n = in->shape.dim[0], h = in->shape.dim[1], w = in->shape.dim[2], ch = in->shape.dim[3];
  td_shape os = in->shape;
  td_array_walk wk = {.rank = 6};
  int64_t sd[6], perm[6];
  if (to_depth) {
    if (h % bs || w % bs)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Image width %lld and height %lld should be divisible by block_size: %lld",
                       (long long)w, (long long)h, (long long)bs);
    int64_t d[6] = {n, h / bs, bs, w / bs, bs, ch}, p[6] = {0, 1, 3, 2, 4, 5};
    memcpy(sd, d, sizeof d);
    memcpy(perm, p, sizeof p);
    os.dim[1] = h / bs, os.dim[2] = w / bs, os.dim[3] = ch * bs * bs;
  } else {
    if (ch % (bs * bs))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Input depth dimension %lld should be divisible by: %lld", (long long)ch,
                       (long long)(bs * bs));
    int64_t d[6] = {n, h, w, bs, bs, ch / (bs * bs)}, p[6] = {0, 1, 3, 2, 4, 5};
    memcpy(sd, d, sizeof d);
    memcpy(perm, p, sizeof p);
    os.dim[1] = h * bs, os.dim[2] = w * bs, os.dim[3] = ch / (bs * bs);
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &os, &out));
  if (td_tensor_num_elements(out) == 0) return TD_OK;
  int64_t sstride[6], s = 1;
  for (int k = 5; k >= 0; k--) sstride[k] = s, s *= sd[k];
  int64_t ds = 1;
  for (int k = 5; k >= 0; k--) {
    wk.dim[k] = sd[perm[k]];
    wk.src_stride[k] = sstride[perm[k]];
    wk.dst_stride[k] = ds;
    ds *= wk.dim[k];
  }
  td_array_walk_copy(out, 0, in, 0, &wk);
  return TD_OK;
}

td_code td_k_array_space_to_depth(td_kctx *c) { return space_depth(c, 1); }
td_code td_k_array_depth_to_space(td_kctx *c) { return space_depth(c, 0); }
