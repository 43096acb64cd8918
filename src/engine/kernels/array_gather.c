/* array_gather.c — index-driven kernels: GatherV2, Gather, OneHot, Bucketize.
 *
 * Invariants: every index is range-checked before use (TF's CPU behaviour: out-of-range
 * gather indices are INVALID_ARGUMENT, out-of-range one-hot indices give an all-off row).
 * GatherV2 copies whole inner rows (memcpy for POD, deep copies for strings).
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

/* "[1,0]" coordinates of flat index i in shape s ("" for scalars), as TF's SliceDebugString. */
static const char *coords_str(const td_shape *s, int64_t i, char *buf, size_t n) {
  int64_t stride[TD_MAX_RANK], rem = i;
  size_t len = 0;
  buf[0] = 0;
  if (s->rank == 0) return buf;
  td_array_strides(s, stride);
  len += (size_t)snprintf(buf + len, n - len, "[");
  for (int k = 0; k < s->rank && len < n; k++) {
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", k ? "," : "", (long long)(rem / stride[k]));
    rem %= stride[k];
  }
  if (len < n) snprintf(buf + len, n - len, "]");
  return buf;
}

/* Prefetches the cache lines of the row at p (up to 4 of them: longer rows are streamed). A
 * mapped checkpoint's table starts wherever the bundle put it, so a 64-byte row usually spans
 * two lines; fetching only the first made DeepFM's 39k-row embedding lookup (b1000) ~30% slower,
 * and 16 rows ahead beat 8 (paired runs, AMD EPYC). */
static inline void prefetch_row(const char *p, size_t row) {
  if (row <= 8) { /* an element-aligned word never straddles a line */
    __builtin_prefetch(p);
    return;
  }
  uintptr_t line = (uintptr_t)p & ~(uintptr_t)63, last = ((uintptr_t)p + row - 1) & ~(uintptr_t)63;
  if (last - line > 3 * 64) last = line + 3 * 64;
  for (; line <= last; line += 64) __builtin_prefetch((const void *)line);
}

/* The plain-data case of gather (indices already validated): copies whole rows of `row`
 * bytes, prefetching a few rows ahead (embedding lookups miss the cache on every row), with
 * word-sized rows (a [vocab, 1] weight column) copied without a memcpy call each. */
static void gather_rows(void *out, const void *params, size_t row, const td_tensor *indices, int64_t batch,
                        int64_t outer, int64_t gdim, int64_t per_batch) {
  enum { AHEAD = 16 }; /* rows ahead: DRAM latency over a row's copy */
  char *dst = out;
  const char *src = params;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t o = 0; o < outer; o++) {
      const char *base = src + (size_t)((b * outer + o) * gdim) * row;
      int64_t first = b * per_batch;
      for (int64_t n = 0; n < per_batch && n < AHEAD; n++)
        prefetch_row(base + (size_t)td_array_index_at(indices, first + n) * row, row);
      for (int64_t n = 0; n < per_batch; n++, dst += row) {
        if (n + AHEAD < per_batch) prefetch_row(base + (size_t)td_array_index_at(indices, first + n + AHEAD) * row, row);
        const char *from = base + (size_t)td_array_index_at(indices, first + n) * row;
        if (row == 4) memcpy(dst, from, 4);
        else if (row == 8) memcpy(dst, from, 8);
        else memcpy(dst, from, row);
      }
    }
  }
}

static td_code gather(td_kctx *c, int64_t axis_in, int axis_given, int64_t batch_dims) {
  const td_tensor *params = td_k_input(c, 0), *indices = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(indices->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be int32 or int64, got %s", td_dtype_name(indices->dtype));
  int prank = params->shape.rank, irank = indices->shape.rank;
  int64_t axis = axis_in;
  int64_t min_rank = axis < 0 ? -axis : axis + 1;
  if (prank < min_rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Shape must be at least rank %lld but is rank %d", (long long)min_rank, prank);
  if (axis < 0) axis += prank;
  if (batch_dims != 0) {
    if (batch_dims < -irank || batch_dims > irank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected batch_dims in the range [%d, %d], but got %lld", -irank, irank,
                       (long long)batch_dims);
    if (batch_dims < 0) batch_dims += irank;
    if (!axis_given) axis = batch_dims;
    if (batch_dims >= prank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "batch_dims (%lld) must be less than rank(params) (%d).",
                       (long long)batch_dims, prank);
    if (axis < batch_dims)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "batch_dims (%lld) must be less than or equal to axis (%lld).",
                       (long long)batch_dims, (long long)axis);
    for (int i = 0; i < batch_dims; i++)
      if (params->shape.dim[i] != indices->shape.dim[i])
        return td_k_fail(c, TD_INVALID_ARGUMENT, "params.shape[%d]: %lld should be equal to indices.shape[%d]: %lld", i,
                         (long long)params->shape.dim[i], i, (long long)indices->shape.dim[i]);
  }
  int bd = (int)batch_dims, ax = (int)axis;
  td_shape shape = {.rank = 0};
  if (ax + (irank - bd) + (prank - ax - 1) > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Gather: result rank exceeds the supported maximum %d", TD_MAX_RANK);
  for (int k = 0; k < ax; k++) shape.dim[shape.rank++] = params->shape.dim[k];
  for (int k = bd; k < irank; k++) shape.dim[shape.rank++] = indices->shape.dim[k];
  for (int k = ax + 1; k < prank; k++) shape.dim[shape.rank++] = params->shape.dim[k];

  int64_t gdim = params->shape.dim[ax];
  int64_t nind = td_tensor_num_elements(indices);
  for (int64_t i = 0; i < nind; i++) {
    int64_t idx = td_array_index_at(indices, i);
    if (idx < 0 || idx >= gdim)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "indices%s = %lld is not in [0, %lld)",
                       coords_str(&indices->shape, i, b1, sizeof b1), (long long)idx, (long long)gdim);
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, params->dtype, &shape, &out));
  if (td_shape_num_elements(&shape) == 0) return TD_OK;
  int64_t batch = td_array_dims_product(&params->shape, 0, bd);
  int64_t outer = td_array_dims_product(&params->shape, bd, ax);
  int64_t inner = td_array_dims_product(&params->shape, ax + 1, prank);
  int64_t per_batch = td_array_dims_product(&indices->shape, bd, irank);
  if (!td_array_dtype_is_boxed(params->dtype) && params->dtype != TD_DT_STRING) {
    gather_rows(out->data, params->data, (size_t)inner * td_dtype_size(params->dtype), indices, batch, outer, gdim,
                per_batch);
    return TD_OK;
  }
  int64_t dst = 0;
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t o = 0; o < outer; o++) {
      int64_t src_base = (b * outer + o) * gdim;
      for (int64_t n = 0; n < per_batch; n++, dst += inner) {
        int64_t idx = td_array_index_at(indices, b * per_batch + n);
        td_array_copy(out, dst, params, (src_base + idx) * inner, inner);
      }
    }
  }
  return TD_OK;
}

td_code td_k_array_gather_v2(td_kctx *c) {
  int64_t axis;
  const td_tensor *at = td_k_input(c, 2);
  if (at->shape.rank != 0 || !td_array_is_index_dtype(at->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "axis must be scalar");
  axis = td_array_index_at(at, 0);
  return gather(c, axis, 1, td_attr_int(td_k_node(c), "batch_dims", 0));
}

td_code td_k_array_gather(td_kctx *c) { return gather(c, 0, 1, 0); }

/* ---- OneHot ---- */

static int64_t index_value(const td_tensor *t, int64_t i) {
  return t->dtype == TD_DT_UINT8 ? (int64_t)td_u8(t)[i] : td_array_index_at(t, i);
}

td_code td_k_array_one_hot(td_kctx *c) {
  const td_tensor *indices = td_k_input(c, 0), *depth_t = td_k_input(c, 1);
  const td_tensor *on = td_k_input(c, 2), *off = td_k_input(c, 3);
  char sb[TD_ARRAY_SHAPE_BUF];
  int irank = indices->shape.rank, orank = irank + 1;
  int64_t axis_attr = td_attr_int(td_k_node(c), "axis", -1);
  if (!(axis_attr == -1 || (axis_attr >= 0 && axis_attr < orank)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected axis to be -1 or between [0, %d).  But received: %lld", orank,
                     (long long)axis_attr);
  if (depth_t->shape.rank != 0 || !td_array_is_index_dtype(depth_t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "depth must be a scalar, but got: %s",
                     td_array_shape_str(&depth_t->shape, sb, sizeof sb));
  if (on->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "on_value must be a scalar, but got: %s",
                     td_array_shape_str(&on->shape, sb, sizeof sb));
  if (off->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "off_value must be a scalar, but got: %s",
                     td_array_shape_str(&off->shape, sb, sizeof sb));
  if (on->dtype != off->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "on_value and off_value must have the same dtype");
  if (indices->dtype != TD_DT_UINT8 && !td_array_is_index_dtype(indices->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "OneHot indices must be uint8, int32 or int64");
  if (orank > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "OneHot: rank %d exceeds the supported maximum %d", orank, TD_MAX_RANK);
  int64_t depth = td_array_index_at(depth_t, 0);
  if (depth < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "depth must be non-negative, got: %lld", (long long)depth);
  int axis = axis_attr == -1 ? irank : (int)axis_attr;
  td_shape shape = {.rank = orank};
  for (int k = 0, j = 0; k < orank; k++) shape.dim[k] = k == axis ? depth : indices->shape.dim[j++];
  int64_t total;
  TD_TRY(td_array_checked_elements(c, &shape, &total));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, on->dtype, &shape, &out));
  if (total == 0) return TD_OK;
  td_array_fill(out, 0, total, off, 0);
  int64_t prefix = td_array_dims_product(&indices->shape, 0, axis);
  int64_t suffix = td_array_dims_product(&indices->shape, axis, irank);
  for (int64_t p = 0; p < prefix; p++) {
    for (int64_t s = 0; s < suffix; s++) {
      int64_t d = index_value(indices, p * suffix + s);
      if (d >= 0 && d < depth) td_array_copy(out, (p * depth + d) * suffix + s, on, 0, 1);
    }
  }
  return TD_OK;
}

/* ---- Bucketize: output = number of boundaries <= value (std::upper_bound) ---- */

td_code td_k_array_bucketize(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  const Tensorflow__AttrValue *av = td_node_attr(td_k_node(c), "boundaries");
  const float *bounds = NULL;
  size_t nb = 0;
  if (av && av->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && av->list) {
    bounds = av->list->f;
    nb = av->list->n_f;
  }
  for (size_t i = 1; i < nb; i++)
    if (bounds[i] < bounds[i - 1]) return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected sorted boundaries");
  int is_int = in->dtype == TD_DT_INT32 || in->dtype == TD_DT_INT64;
  if (!is_int && in->dtype != TD_DT_FLOAT && in->dtype != TD_DT_DOUBLE)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Bucketize does not support dtype %s", td_dtype_name(in->dtype));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT32, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    /* C++ compares int values against float boundaries after converting them to float. */
    double v = is_int ? (double)(float)td_array_index_at(in, i) : td_tensor_get_double(in, i);
    size_t lo = 0, hi = nb;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (v < (double)bounds[mid]) hi = mid;
      else lo = mid + 1;
    }
    td_i32(out)[i] = (int32_t)lo;
  }
  return TD_OK;
}
