/* resource_ops.c — gathers from resource variables (ResourceGather: Keras Embedding;
 * ResourceGatherNd) and DisableCopyOnRead (a no-op: tensord's variable reads are already
 * copy-free references to an immutable value).
 *
 * Invariants: the variable's value is read once (td_variable_read: a new reference, so a
 * concurrent assign cannot change it under the gather); every index is range-checked before
 * any row is copied (TF's CPU behaviour: INVALID_ARGUMENT "indices[i,j] = v is not in [0, N)").
 * Rows are copied with td_array_copy (POD memmove, strings deep-copied).
 */
#include <stdio.h>
#include <string.h>

#include "engine/kernels/array_internal.h"

/* The variable behind input i (a RESOURCE handle). */
static td_code input_var(td_kctx *c, int i, td_variable **out) {
  const td_tensor *t = td_k_input(c, i);
  if (t->dtype != TD_DT_RESOURCE || td_tensor_num_elements(t) != 1 || !td_res(t)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input %d of %s is not a variable handle", i, td_node_op(td_k_node(c)));
  td_resource *r = td_res(t)[0];
  if (strcmp(r->kind, "variable"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a variable", r->name, r->kind);
  *out = (td_variable *)r;
  return TD_OK;
}

/* Output 0 of shape os (zeroed for strings, whose slots td_array_copy frees before writing). */
static td_code alloc_out(td_kctx *c, td_dtype dt, const td_shape *os, td_tensor **o) {
  if (td_array_dtype_is_boxed(dt)) return td_k_alloc_output(c, 0, dt, os, o);
  return td_k_alloc_output_uninit(c, 0, dt, os, o);
}

/* Reads the value of input 0's variable into *out (a new reference) and checks the dtype attr. */
static td_code read_params(td_kctx *c, td_tensor *out) {
  td_variable *v = NULL;
  td_status st;
  TD_TRY(input_var(c, 0, &v));
  if (td_variable_read(v, out, &st) != TD_OK)
    return td_k_fail(c, st.code, "Error while reading resource variable %s. This could mean that the variable was "
                     "uninitialized.", v->base.name);
  td_dtype want = td_attr_type(td_k_node(c), "dtype", out->dtype);
  if (want != out->dtype) {
    td_dtype got = out->dtype;
    td_tensor_release(out);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Trying to read variable with wrong dtype. Expected %s got %s",
                     td_dtype_name(got), td_dtype_name(want));
  }
  return TD_OK;
}

/* "[1,0]" coordinates of flat index i in shape s ("" for scalars), as TF prints index slices. */
static const char *coords(const td_shape *s, int64_t i, char *buf, size_t n) {
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

static td_code gather(td_kctx *c, const td_tensor *params, const td_tensor *indices) {
  char sb[TD_ARRAY_SHAPE_BUF];
  int64_t bd = td_attr_int(td_k_node(c), "batch_dims", 0);
  int prank = params->shape.rank, irank = indices->shape.rank;
  if (!td_array_is_index_dtype(indices->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be int32 or int64, got %s", td_dtype_name(indices->dtype));
  if (prank < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "params must be at least 1 dimensional");
  if (bd < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "batch_dims is negative (%lld)", (long long)bd);
  if (bd >= prank || bd > irank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "params must have at least %lld (batch_dims) dimensions but it has shape %s",
                     (long long)bd + 1, td_array_shape_str(&params->shape, sb, sizeof sb));
  for (int k = 0; k < bd; k++)
    if (params->shape.dim[k] != indices->shape.dim[k])
      return td_k_fail(c, TD_INVALID_ARGUMENT, "params.shape[%d]: %lld should be equal to indices.shape[%d]: %lld", k,
                       (long long)params->shape.dim[k], k, (long long)indices->shape.dim[k]);
  int b = (int)bd;
  if (b + (irank - b) + (prank - b - 1) > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ResourceGather: result rank exceeds %d", TD_MAX_RANK);
  td_shape os = {.rank = 0};
  for (int k = 0; k < b; k++) os.dim[os.rank++] = params->shape.dim[k];
  for (int k = b; k < irank; k++) os.dim[os.rank++] = indices->shape.dim[k];
  for (int k = b + 1; k < prank; k++) os.dim[os.rank++] = params->shape.dim[k];
  int64_t gdim = params->shape.dim[b], nind = td_tensor_num_elements(indices);
  for (int64_t i = 0; i < nind; i++) {
    int64_t v = td_array_index_at(indices, i);
    if (v < 0 || v >= gdim)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "indices%s = %lld is not in [0, %lld)",
                       coords(&indices->shape, i, sb, sizeof sb), (long long)v, (long long)gdim);
  }
  td_tensor *o;
  TD_TRY(alloc_out(c, params->dtype, &os, &o));
  int64_t batch = td_array_dims_product(&params->shape, 0, b);
  int64_t inner = td_array_dims_product(&params->shape, b + 1, prank);
  int64_t per = batch ? nind / batch : 0, dst = 0;
  for (int64_t bi = 0; bi < batch; bi++)
    for (int64_t n = 0; n < per; n++, dst += inner)
      td_array_copy(o, dst, params, (bi * gdim + td_array_index_at(indices, bi * per + n)) * inner, inner);
  return TD_OK;
}

td_code td_k_resource_gather(td_kctx *c) {
  td_tensor params;
  TD_TRY(read_params(c, &params));
  td_code rc = gather(c, &params, td_k_input(c, 1));
  td_tensor_release(&params);
  return rc;
}

/* GatherNd: output = indices.shape[:-1] + params.shape[K:], K = indices.shape[-1]. */
static td_code gather_nd(td_kctx *c, const td_tensor *params, const td_tensor *indices) {
  char sb[TD_ARRAY_SHAPE_BUF], pb[TD_ARRAY_SHAPE_BUF], vb[TD_ARRAY_SHAPE_BUF];
  int prank = params->shape.rank, irank = indices->shape.rank;
  if (!td_array_is_index_dtype(indices->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be int32 or int64, got %s", td_dtype_name(indices->dtype));
  if (irank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "indices must be at least a vector, but saw shape: %s",
                     td_array_shape_str(&indices->shape, sb, sizeof sb));
  int64_t k = indices->shape.dim[irank - 1];
  if (k > prank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "index innermost dimension length must be <= params rank; saw: %lld vs. %d",
                     (long long)k, prank);
  td_shape os = {.rank = 0};
  if (irank - 1 + prank - k > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ResourceGatherNd: result rank exceeds %d", TD_MAX_RANK);
  for (int d = 0; d < irank - 1; d++) os.dim[os.rank++] = indices->shape.dim[d];
  for (int d = (int)k; d < prank; d++) os.dim[os.rank++] = params->shape.dim[d];
  int64_t nidx = td_array_dims_product(&indices->shape, 0, irank - 1);
  int64_t inner = td_array_dims_product(&params->shape, (int)k, prank), pstride[TD_MAX_RANK];
  td_array_strides(&params->shape, pstride);
  if (nidx > 0 && td_array_dims_product(&params->shape, 0, prank) == 0 && inner != 0 && k > 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Requested more than 0 entries, but params is empty.");
  td_tensor *o;
  TD_TRY(alloc_out(c, params->dtype, &os, &o));
  for (int64_t i = 0; i < nidx; i++) {
    int64_t off = 0;
    for (int64_t d = 0; d < k; d++) {
      int64_t v = td_array_index_at(indices, i * k + d);
      if (v < 0 || v >= params->shape.dim[d]) {
        size_t len = 0;
        vb[0] = 0;
        for (int64_t e = 0; e < k && len < sizeof vb; e++)
          len += (size_t)snprintf(vb + len, sizeof vb - len, "%s%lld", e ? ", " : "",
                                  (long long)td_array_index_at(indices, i * k + e));
        td_shape lead = {.rank = irank - 1};
        for (int q = 0; q < lead.rank; q++) lead.dim[q] = indices->shape.dim[q];
        return td_k_fail(c, TD_INVALID_ARGUMENT, "indices%s = [%s] does not index into param shape %s",
                         coords(&lead, i, sb, sizeof sb), vb, td_array_shape_str(&params->shape, pb, sizeof pb));
      }
      off += v * pstride[d];
    }
    td_array_copy(o, i * inner, params, off, inner);
  }
  return TD_OK;
}

td_code td_k_resource_gather_nd(td_kctx *c) {
  td_tensor params;
  TD_TRY(read_params(c, &params));
  td_code rc = gather_nd(c, &params, td_k_input(c, 1));
  td_tensor_release(&params);
  return rc;
}

td_code td_k_disable_copy_on_read(td_kctx *c) {
  td_variable *v = NULL;
  return input_var(c, 0, &v);
}
