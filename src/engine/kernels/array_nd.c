/* array_nd.c — N-d index kernels: GatherNd (batch_dims), ScatterNd, TensorScatterUpdate /
 * Add / Sub / Max / Min.
 *
 * An index tuple of depth q addresses a slice of the inner dims [q, rank); slices are copied
 * (td_array_copy: POD memcpy, deep copies for strings) or combined element-wise by a per-dtype
 * table (add / sub / max / min; ints wrap through unsigned arithmetic like TF's).
 * Invariants: every index tuple is range-checked before any output element is written
 * (INVALID_ARGUMENT in TF's words, "indices[1] = [5] does not index into param shape [3,2]");
 * outputs are owned (td_k_alloc_output) so string slices deep-copy. Reentrant, no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/math_internal.h"

enum { SC_UPDATE, SC_ADD, SC_SUB, SC_MAX, SC_MIN };

/* "[1,0]" coordinates of flat index i in the dims [0, rank) of s. */
static const char *coords(const td_shape *s, int rank, int64_t i, char *buf, size_t n) {
  size_t len = 0;
  int64_t c[TD_MAX_RANK];
  for (int k = rank - 1; k >= 0; k--) {
    c[k] = s->dim[k] ? i % s->dim[k] : 0;
    i = s->dim[k] ? i / s->dim[k] : 0;
  }
  buf[0] = 0;
  if (rank == 0) return buf;
  len += (size_t)snprintf(buf, n, "[");
  for (int k = 0; k < rank && len < n; k++) len += (size_t)snprintf(buf + len, n - len, "%s%lld", k ? "," : "", (long long)c[k]);
  if (len < n) snprintf(buf + len, n - len, "]");
  return buf;
}

/* The index tuple row r (q values) as "5, 1". */
static const char *tuple_str(const td_tensor *idx, int64_t r, int64_t q, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int64_t j = 0; j < q && len < n; j++)
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", j ? ", " : "", (long long)td_array_index_at(idx, r * q + j));
  return buf;
}

/* Flat slice offsets: for each of nrows index tuples (depth q) into dims shape[b .. b+q) (batch
 * dims [0,b) of the tuple row's batch), off[r] = the slice index in shape's [0, b+q) dims.
 * Returns the first bad row or -1. */
static int64_t slice_offsets(const td_tensor *idx, int64_t nrows, int64_t q, const td_shape *shape, int b,
                             int64_t rows_per_batch, int64_t *off) {
  for (int64_t r = 0; r < nrows; r++) {
    int64_t batch = rows_per_batch ? r / rows_per_batch : 0, o = batch;
    for (int64_t j = 0; j < q; j++) {
      int64_t v = td_array_index_at(idx, r * q + j), d = shape->dim[b + j];
      if (v < 0 || v >= d) return r;
      o = (int64_t)((uint64_t)o * (uint64_t)d + (uint64_t)v); /* wraps only when the slices are empty */
    }
    off[r] = o;
  }
  return -1;
}

td_code td_k_array_gather_nd(td_kctx *c) {
  const td_tensor *params = td_k_input(c, 0), *idx = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF], b3[TD_ARRAY_SHAPE_BUF];
  if (!td_array_is_index_dtype(idx->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be int32 or int64, got %s", td_dtype_name(idx->dtype));
  int prank = params->shape.rank, irank = idx->shape.rank;
  int64_t bd = td_attr_int(td_k_node(c), "batch_dims", 0);
  if (irank < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be at least a vector, got shape %s",
                                  td_array_shape_str(&idx->shape, b1, sizeof b1));
  if (bd < 0 || bd >= irank || (prank > 0 && bd > prank))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid batch_dims %lld for indices of rank %d and params of rank %d",
                     (long long)bd, irank, prank);
  int64_t q = idx->shape.dim[irank - 1];
  if (q + bd > prank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "index innermost dimension length must be <= params rank; saw: %lld vs. %d",
                     (long long)(q + bd), prank);
  for (int k = 0; k < bd; k++)
    if (params->shape.dim[k] != idx->shape.dim[k])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Batch dimensions of params and indices must match: %s vs. %s",
                       td_array_shape_str(&params->shape, b1, sizeof b1), td_array_shape_str(&idx->shape, b2, sizeof b2));
  td_shape os = {.rank = 0};
  if ((irank - 1) + (prank - (int)(bd + q)) > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "GatherNd: result rank too large");
  for (int k = 0; k < irank - 1; k++) os.dim[os.rank++] = idx->shape.dim[k];
  for (int k = (int)(bd + q); k < prank; k++) os.dim[os.rank++] = params->shape.dim[k];
  int64_t nrows = td_array_dims_product(&idx->shape, 0, irank - 1);
  int64_t per_batch = td_array_dims_product(&idx->shape, (int)bd, irank - 1);
  int64_t slice = td_array_dims_product(&params->shape, (int)(bd + q), prank);
  int64_t *off = NULL;
  if (nrows > 0) {
    off = malloc((size_t)nrows * sizeof *off);
    if (!off) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "GatherNd: out of memory");
    int64_t bad = slice_offsets(idx, nrows, q, &params->shape, (int)bd, per_batch, off);
    if (bad >= 0) {
      free(off);
      return td_k_fail(c, TD_INVALID_ARGUMENT, "indices%s = [%s] does not index into param shape %s",
                       coords(&idx->shape, irank - 1, bad, b1, sizeof b1), tuple_str(idx, bad, q, b2, sizeof b2),
                       td_array_shape_str(&params->shape, b3, sizeof b3));
    }
  }
  td_tensor *out;
  td_code rc = td_k_alloc_output(c, 0, params->dtype, &os, &out);
  if (rc == TD_OK && slice > 0)
    for (int64_t r = 0; r < nrows; r++) td_array_copy(out, r * slice, params, off[r] * slice, slice);
  free(off);
  return rc;
}

/* ---- combining slices ---- */
typedef void (*combine_fn)(void *dst, const void *src, int64_t n, int mode);

#define COMBINE(T, W)                                                                 \
  static void combine_##T(void *pd, const void *ps, int64_t n, int mode) {            \
    T *d = pd;                                                                        \
    const T *s = ps;                                                                  \
    for (int64_t i = 0; i < n; i++) {                                                 \
      switch (mode) {                                                                 \
        case SC_ADD: d[i] = (T)((W)d[i] + (W)s[i]); break;                            \
        case SC_SUB: d[i] = (T)((W)d[i] - (W)s[i]); break;                            \
        case SC_MAX: d[i] = d[i] < s[i] ? s[i] : d[i]; break;                         \
        case SC_MIN: d[i] = s[i] < d[i] ? s[i] : d[i]; break;                         \
        default: d[i] = s[i];                                                         \
      }                                                                               \
    }                                                                                 \
  }
COMBINE(float, float)
COMBINE(double, double)
COMBINE(int32_t, uint32_t)
COMBINE(int64_t, uint64_t)
COMBINE(uint8_t, uint32_t)
COMBINE(int8_t, uint32_t)
COMBINE(int16_t, uint32_t)
COMBINE(uint16_t, uint32_t)
COMBINE(uint32_t, uint32_t)
COMBINE(uint64_t, uint64_t)

static combine_fn combine_for(td_dtype dt) {
  switch (dt) {
    case TD_DT_FLOAT: return combine_float;
    case TD_DT_DOUBLE: return combine_double;
    case TD_DT_INT32: return combine_int32_t;
    case TD_DT_INT64: return combine_int64_t;
    case TD_DT_UINT8: return combine_uint8_t;
    case TD_DT_INT8: return combine_int8_t;
    case TD_DT_INT16: return combine_int16_t;
    case TD_DT_UINT16: return combine_uint16_t;
    case TD_DT_UINT32: return combine_uint32_t;
    case TD_DT_UINT64: return combine_uint64_t;
    default: return NULL;
  }
}

/* half / bfloat16 (and anything else real) through doubles */
static void combine_generic(td_tensor *d, int64_t di, const td_tensor *s, int64_t si, int64_t n, int mode) {
  for (int64_t i = 0; i < n; i++) {
    double a = td_tensor_get_double(d, di + i), b = td_tensor_get_double(s, si + i);
    double r = mode == SC_ADD ? a + b : mode == SC_SUB ? a - b : mode == SC_MAX ? (a < b ? b : a)
             : mode == SC_MIN ? (b < a ? b : a) : b;
    td_tensor_set_double(d, di + i, r);
  }
}

/* Scatters updates into *out (already holding the base values). */
static td_code scatter(td_kctx *c, td_tensor *out, const td_tensor *idx, const td_tensor *upd, int mode,
                       const char *what) {
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF], b3[TD_ARRAY_SHAPE_BUF];
  const td_shape *shape = &out->shape;
  int irank = idx->shape.rank;
  if (!td_array_is_index_dtype(idx->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be int32 or int64, got %s", td_dtype_name(idx->dtype));
  if (upd->dtype != out->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "updates must have type %s, got %s", td_dtype_name(out->dtype),
                     td_dtype_name(upd->dtype));
  if (irank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Indices shape must have rank at least one. Found:%s",
                     td_array_shape_str(&idx->shape, b1, sizeof b1));
  int64_t q = idx->shape.dim[irank - 1];
  if (q > shape->rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Output must have rank at least as large as the last dimension of indices: %s vs. %s",
                     td_array_shape_str(shape, b1, sizeof b1), td_array_shape_str(&idx->shape, b2, sizeof b2));
  /* updates.shape must be indices.shape[:-1] + shape[q:] */
  int ok = upd->shape.rank == irank - 1 + (shape->rank - (int)q);
  for (int k = 0; ok && k < irank - 1; k++) ok = upd->shape.dim[k] == idx->shape.dim[k];
  for (int k = (int)q; ok && k < shape->rank; k++) ok = upd->shape.dim[irank - 1 + k - q] == shape->dim[k];
  if (!ok)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Must have updates.shape = indices.shape[:batch_dim] + %s.shape[slice_dim:], got updates.shape: %s, "
                     "indices.shape: %s, %s.shape: %s, slice_dim: %lld, and batch_dim: %d",
                     what, td_array_shape_str(&upd->shape, b1, sizeof b1), td_array_shape_str(&idx->shape, b2, sizeof b2),
                     what, td_array_shape_str(shape, b3, sizeof b3), (long long)q, irank - 1);
  int64_t nrows = td_array_dims_product(&idx->shape, 0, irank - 1);
  int64_t slice = td_array_dims_product(shape, (int)q, shape->rank);
  if (nrows == 0) return TD_OK;
  combine_fn fn = combine_for(out->dtype);
  int boxed = td_array_dtype_is_boxed(out->dtype) || out->dtype == TD_DT_STRING || out->dtype == TD_DT_BOOL;
  if (mode != SC_UPDATE && (boxed || (!fn && !td_math_is_float(out->dtype))))
    return td_math_fail_dtype(c, "T", out->dtype);
  int64_t *off = malloc((size_t)nrows * sizeof *off);
  if (!off) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "scatter: out of memory");
  int64_t bad = slice_offsets(idx, nrows, q, shape, 0, 0, off);
  if (bad >= 0) {
    free(off);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices%s = [%s] does not index into shape %s",
                     coords(&idx->shape, irank - 1, bad, b1, sizeof b1), tuple_str(idx, bad, q, b2, sizeof b2),
                     td_array_shape_str(shape, b3, sizeof b3));
  }
  size_t es = td_dtype_size(out->dtype);
  for (int64_t r = 0; r < nrows && slice > 0; r++) {
    if (mode == SC_UPDATE) td_array_copy(out, off[r] * slice, upd, r * slice, slice);
    else if (fn) fn((char *)out->data + (size_t)(off[r] * slice) * es, (const char *)upd->data + (size_t)(r * slice) * es, slice, mode);
    else combine_generic(out, off[r] * slice, upd, r * slice, slice, mode);
  }
  free(off);
  return TD_OK;
}

td_code td_k_array_scatter_nd(td_kctx *c) {
  const td_tensor *idx = td_k_input(c, 0), *upd = td_k_input(c, 1), *shp = td_k_input(c, 2);
  td_shape s;
  TD_TRY(td_array_check_index_vector(c, shp, "shape", TD_MAX_RANK));
  TD_TRY(td_array_read_shape(c, shp, "shape", &s));
  int64_t n;
  TD_TRY(td_array_checked_elements(c, &s, &n));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, upd->dtype, &s, &out));
  return scatter(c, out, idx, upd, SC_ADD - (td_array_dtype_is_boxed(upd->dtype) || upd->dtype == TD_DT_STRING ||
                                             upd->dtype == TD_DT_BOOL), "shape");
}

static td_code tensor_scatter(td_kctx *c, int mode) {
  const td_tensor *t = td_k_input(c, 0), *idx = td_k_input(c, 1), *upd = td_k_input(c, 2);
  td_tensor *out;
  if (t->shape.rank == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Output must be at least 1-D");
  TD_TRY(td_k_alloc_output(c, 0, t->dtype, &t->shape, &out));
  int64_t n = td_tensor_num_elements(t);
  if (n > 0) td_array_copy(out, 0, t, 0, n);
  return scatter(c, out, idx, upd, mode, "tensor");
}

td_code td_k_array_tensor_scatter_update(td_kctx *c) { return tensor_scatter(c, SC_UPDATE); }
td_code td_k_array_tensor_scatter_add(td_kctx *c) { return tensor_scatter(c, SC_ADD); }
td_code td_k_array_tensor_scatter_sub(td_kctx *c) { return tensor_scatter(c, SC_SUB); }
td_code td_k_array_tensor_scatter_max(td_kctx *c) { return tensor_scatter(c, SC_MAX); }
td_code td_k_array_tensor_scatter_min(td_kctx *c) { return tensor_scatter(c, SC_MIN); }
