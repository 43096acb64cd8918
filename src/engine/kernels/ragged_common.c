/* ragged_common.c — helpers of ragged_internal.h. Stateless and reentrant. */
#include <inttypes.h>
#include <string.h>

#include "engine/kernels/ragged_internal.h"

td_code td_ragged_check_splits(td_kctx *ctx, const td_tensor *splits, int64_t nvals) {
  if (splits->dtype != TD_DT_INT32 && splits->dtype != TD_DT_INT64)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be int32 or int64, got %s", td_dtype_name(splits->dtype));
  if (splits->shape.rank != 1)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be a vector, got rank %d", splits->shape.rank);
  int64_t n = splits->shape.dim[0];
  if (n == 0) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits may not be empty.");
  if (td_text_split_at(splits, 0) != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must start with 0.");
  for (int64_t i = 1; i < n; i++)
    if (td_text_split_at(splits, i) < td_text_split_at(splits, i - 1))
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Ragged splits must be sorted in ascending order.");
  if (td_text_split_at(splits, n - 1) != nvals)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Final value of ragged splits must match the length the corresponding values.");
  return TD_OK;
}

void td_ragged_copy(td_tensor *dst, int64_t d, const td_tensor *src, int64_t s, int64_t n) {
  if (n <= 0) return;
  if (src->dtype == TD_DT_STRING) {
    for (int64_t k = 0; k < n; k++) {
      const td_string *e = &td_str(src)[s + k];
      td_tensor_set_string(dst, d + k, e->data, e->len);
    }
    return;
  }
  size_t es = td_dtype_size(src->dtype);
  memcpy((char *)dst->data + (size_t)d * es, (const char *)src->data + (size_t)s * es, (size_t)n * es);
}

td_code td_ragged_alloc(td_kctx *ctx, int i, td_dtype dt, const td_shape *shape, td_tensor *own, td_tensor **out) {
  memset(own, 0, sizeof *own);
  if (dt == TD_DT_STRING) {
    TD_TRY(td_text_new_tensor(ctx, dt, shape, own));
    *out = own;
    return TD_OK;
  }
  return td_k_alloc_output_uninit(ctx, i, dt, shape, out);
}

td_code td_ragged_finish(td_kctx *ctx, int i, td_tensor *own, td_code rc) {
  if (own->dtype != TD_DT_STRING) return rc;
  return td_text_finish(ctx, i, own, rc);
}
