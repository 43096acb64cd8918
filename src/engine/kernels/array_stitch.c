/* array_stitch.c — DynamicStitch, ParallelDynamicStitch and DynamicPartition.
 *
 * Stitch: merged[indices[m][i], ...] = data[m][i, ...]; merged's first dim is max(index) + 1,
 * later (m, i) win on duplicates (ParallelDynamicStitch leaves that order unspecified; we use
 * the same), rows nobody writes stay zero. Partition: output p holds, in order, the data rows
 * whose partitions value is p. Type-generic: rows move with td_array_copy.
 * Invariants: indices / partitions are validated with TF's texts before any row moves.
 */
#include <stdlib.h>

#include "engine/kernels/array_internal.h"

static td_code stitch(td_kctx *c) {
  int n = td_k_num_inputs(c) / 2;
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  if (n < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "DynamicStitch needs at least one input");
  const td_tensor *d0 = td_k_input(c, n), *i0 = td_k_input(c, 0);
  td_dtype dt = d0->dtype;
  int64_t max = -1;
  for (int m = 0; m < n; m++) {
    const td_tensor *idx = td_k_input(c, m), *d = td_k_input(c, n + m);
    if (!td_array_is_index_dtype(idx->dtype))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "indices[%d] must be int32, got %s", m, td_dtype_name(idx->dtype));
    if (d->dtype != dt) return td_k_fail(c, TD_INVALID_ARGUMENT, "data[%d] must have type %s", m, td_dtype_name(dt));
    int ok = d->shape.rank >= idx->shape.rank;
    for (int k = 0; ok && k < idx->shape.rank; k++) ok = d->shape.dim[k] == idx->shape.dim[k];
    if (!ok)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "data[%d].shape = %s does not start with indices[%d].shape = %s", m,
                       td_array_shape_str(&d->shape, b1, sizeof b1), m, td_array_shape_str(&idx->shape, b2, sizeof b2));
    /* the slice shape after the index dims must agree with data[0]'s */
    ok = d->shape.rank - idx->shape.rank == d0->shape.rank - i0->shape.rank;
    for (int k = 0; ok && k < d->shape.rank - idx->shape.rank; k++)
      ok = d->shape.dim[idx->shape.rank + k] == d0->shape.dim[i0->shape.rank + k];
    if (!ok)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Need data[0].shape[%d:] = data[%d].shape[%d:], got data[0].shape = %s, data[%d].shape = %s",
                       i0->shape.rank, m, idx->shape.rank, td_array_shape_str(&d0->shape, b1, sizeof b1), m,
                       td_array_shape_str(&d->shape, b2, sizeof b2));
    int64_t ni = td_tensor_num_elements(idx);
    for (int64_t i = 0; i < ni; i++) {
      int64_t v = td_array_index_at(idx, i);
      if (v < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "indices[%d] = %lld is out of range", m, (long long)v);
      if (v > max) max = v;
    }
  }
  td_shape os = {.rank = 1 + d0->shape.rank - i0->shape.rank};
  os.dim[0] = max + 1;
  for (int k = i0->shape.rank; k < d0->shape.rank; k++) os.dim[1 + k - i0->shape.rank] = d0->shape.dim[k];
  int64_t inner = td_array_dims_product(&os, 1, os.rank);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &os, &out));
  if (inner == 0) return TD_OK;
  for (int m = 0; m < n; m++) {
    const td_tensor *idx = td_k_input(c, m), *d = td_k_input(c, n + m);
    int64_t ni = td_tensor_num_elements(idx);
    for (int64_t i = 0; i < ni; i++) td_array_copy(out, td_array_index_at(idx, i) * inner, d, i * inner, inner);
  }
  return TD_OK;
}

td_code td_k_array_dynamic_stitch(td_kctx *c) { return stitch(c); }

td_code td_k_array_dynamic_partition(td_kctx *c) {
  const td_tensor *data = td_k_input(c, 0), *parts = td_k_input(c, 1);
  char b1[TD_ARRAY_SHAPE_BUF], b2[TD_ARRAY_SHAPE_BUF];
  int64_t np = td_attr_int(td_k_node(c), "num_partitions", 0);
  if (np < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_partitions must be at least 1");
  if (np != td_k_num_outputs(c)) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_partitions does not match the outputs");
  if (parts->dtype != TD_DT_INT32) return td_k_fail(c, TD_INVALID_ARGUMENT, "partitions must be int32");
  int pr = parts->shape.rank, ok = data->shape.rank >= pr;
  for (int k = 0; ok && k < pr; k++) ok = data->shape.dim[k] == parts->shape.dim[k];
  if (!ok)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "data.shape must start with partitions.shape, got data.shape = %s, partitions.shape = %s",
                     td_array_shape_str(&data->shape, b1, sizeof b1), td_array_shape_str(&parts->shape, b2, sizeof b2));
  int64_t n = td_tensor_num_elements(parts), inner = td_array_dims_product(&data->shape, pr, data->shape.rank);
  int64_t *count = calloc((size_t)np, sizeof *count);
  if (!count) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "DynamicPartition: out of memory");
  for (int64_t i = 0; i < n; i++) {
    int32_t p = td_i32(parts)[i];
    if (p < 0 || p >= np) {
      free(count);
      return td_k_fail(c, TD_INVALID_ARGUMENT, "partitions[%lld] = %d is not in [0, %lld)", (long long)i, p, (long long)np);
    }
    count[p]++;
  }
  td_code rc = TD_OK;
  for (int64_t p = 0; p < np && rc == TD_OK; p++) {
    td_shape os = {.rank = 1 + data->shape.rank - pr};
    os.dim[0] = count[p];
    for (int k = pr; k < data->shape.rank; k++) os.dim[1 + k - pr] = data->shape.dim[k];
    td_tensor *out;
    rc = td_k_alloc_output(c, (int)p, data->dtype, &os, &out);
    if (rc != TD_OK || inner == 0) continue;
    int64_t row = 0;
    for (int64_t i = 0; i < n; i++)
      if (td_i32(parts)[i] == p) td_array_copy(out, (row++) * inner, data, i * inner, inner);
  }
  free(count);
  return rc;
}
