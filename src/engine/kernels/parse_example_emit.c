/* parse_example_emit.c — the outputs of ParseExample features whose values accumulate over
 * the batch (sparse: indices / values / dense_shape; ragged: values / row splits;
 * variable-length dense: padded with the default), in TF's layouts, from the per-feature sinks
 * parse_example.c filled. */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/parse_example_internal.h"
#include "util/mem.h"

td_code td_pe_alloc_out(parse_job *j, int idx, td_dtype dt, const td_shape *shape, td_tensor *out) {
  if (dt == TD_DT_STRING) {
    td_status st;
    if (td_tensor_alloc(out, dt, shape, &st) != TD_OK) return td_k_fail(j->ctx, st.code, "%s", st.msg);
    return TD_OK;
  }
  td_tensor *t;
  TD_TRY(td_k_alloc_output(j->ctx, idx, dt, shape, &t));
  *out = *t;
  out->buf = NULL; /* borrowed view; the output slot owns the storage */
  return TD_OK;
}

static void publish_string(parse_job *j, int idx, td_tensor *t) {
  if (t->dtype == TD_DT_STRING) {
    td_k_set_output(j->ctx, idx, t);
    td_tensor_release(t);
  }
}

/* Copies accumulated values [from, to) into out starting at element `at`. */
static void copy_values(const feature *f, td_tensor *out, int64_t at, size_t from, size_t to) {
  if (f->dtype == TD_DT_STRING) {
    const slice *v = (const slice *)f->acc.data;
    for (size_t i = from; i < to; i++) td_tensor_set_string(out, at++, v[i].p, v[i].n);
  } else if (to > from) {
    memcpy((char *)out->data + (size_t)at * f->acc.esz, f->acc.data + from * f->acc.esz,
           (to - from) * f->acc.esz);
  }
}

td_code td_pe_emit_sparse(parse_job *j, feature *f) {
  int64_t n = (int64_t)f->acc.n, max = 0, start = 0;
  for (int64_t e = 0; e < j->batch; e++) {
    if (f->ends[e] - start > max) max = f->ends[e] - start;
    start = f->ends[e];
  }
  int64_t idims[2] = {n, j->single ? 1 : 2};
  td_shape ishape = td_shape_make(2, idims), vshape = td_shape_vector(n);
  td_shape sshape = td_shape_vector(j->single ? 1 : 2);
  td_tensor ind, val, shp;
  TD_TRY(td_pe_alloc_out(j, f->out_indices, TD_DT_INT64, &ishape, &ind));
  TD_TRY(td_pe_alloc_out(j, f->out_values, f->dtype, &vshape, &val));
  td_code rc = td_pe_alloc_out(j, f->out_shapes, TD_DT_INT64, &sshape, &shp);
  if (rc != TD_OK) {
    if (val.dtype == TD_DT_STRING) td_tensor_release(&val);
    return rc;
  }
  int64_t *ip = td_i64(&ind);
  start = 0;
  for (int64_t e = 0; e < j->batch; e++) {
    for (int64_t k = start; k < f->ends[e]; k++) {
      if (j->single) {
        *ip++ = k - start;
      } else {
        *ip++ = e;
        *ip++ = k - start;
      }
    }
    start = f->ends[e];
  }
  copy_values(f, &val, 0, 0, f->acc.n);
  if (j->single) {
    td_i64(&shp)[0] = n;
  } else {
    td_i64(&shp)[0] = j->batch;
    td_i64(&shp)[1] = max;
  }
  publish_string(j, f->out_values, &val);
  return TD_OK;
}

td_code td_pe_emit_ragged(parse_job *j, feature *f) {
  td_shape vshape = td_shape_vector((int64_t)f->acc.n);
  td_shape sshape = td_shape_vector(j->single ? 0 : j->batch + 1);
  td_tensor val, splits;
  if (f->split_dtype == TD_DT_INT32 && f->acc.n > INT32_MAX)
    return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Ragged feature %.*s has too many values for int32 row_splits",
                     (int)f->key.n, f->key.p);
  TD_TRY(td_pe_alloc_out(j, f->out_values, f->dtype, &vshape, &val));
  td_code rc = td_pe_alloc_out(j, f->out_splits, f->split_dtype, &sshape, &splits);
  if (rc != TD_OK) {
    if (val.dtype == TD_DT_STRING) td_tensor_release(&val);
    return rc;
  }
  copy_values(f, &val, 0, 0, f->acc.n);
  if (!j->single) {
    for (int64_t e = 0; e <= j->batch; e++) {
      int64_t v = e == 0 ? 0 : f->ends[e - 1];
      if (f->split_dtype == TD_DT_INT32) td_i32(&splits)[e] = (int32_t)v;
      else td_i64(&splits)[e] = v;
    }
  }
  publish_string(j, f->out_values, &val);
  return TD_OK;
}

td_code td_pe_emit_varlen_dense(parse_job *j, feature *f) {
  int64_t max_rows = 0, start = 0;
  for (int64_t e = 0; e < j->batch; e++) {
    int64_t rows = f->stride ? (f->ends[e] - start) / f->stride : 0;
    if (rows > max_rows) max_rows = rows;
    start = f->ends[e];
  }
  td_shape shape;
  shape.rank = 0;
  if (!j->single) shape.dim[shape.rank++] = j->batch;
  shape.dim[shape.rank++] = max_rows;
  for (int i = 1; i < f->shape.rank; i++) shape.dim[shape.rank++] = f->shape.dim[i];
  td_tensor out;
  TD_TRY(td_pe_alloc_out(j, f->out_values, f->dtype, &shape, &out));
  int64_t per_example = max_rows * f->stride, total = j->batch * per_example;
  /* Pad everything with the default's single element, then copy each example's values. */
  if (f->dtype == TD_DT_STRING) {
    td_string d = td_str(f->dflt)[0];
    for (int64_t i = 0; i < total; i++) td_tensor_set_string(&out, i, d.data, d.len);
  } else {
    size_t esz = td_dtype_size(f->dtype);
    for (int64_t i = 0; i < total; i++) memcpy((char *)out.data + (size_t)i * esz, f->dflt->data, esz);
  }
  start = 0;
  for (int64_t e = 0; e < j->batch; e++) {
    copy_values(f, &out, e * per_example, (size_t)start, (size_t)f->ends[e]);
    start = f->ends[e];
  }
  publish_string(j, f->out_values, &out);
  return TD_OK;
}
