/* ragged_internal.h — shared by the ragged kernels (ragged_*.c): row-partition validation with
 * TF's error texts and element copies that work for every dtype (STRING elements are copied
 * with td_tensor_set_string, so string outputs must be kernel-owned tensors). Reentrant. */
#ifndef TD_ENGINE_KERNELS_RAGGED_INTERNAL_H
#define TD_ENGINE_KERNELS_RAGGED_INTERNAL_H

#include "engine/kernels/text_internal.h"

/* Validates nested row splits (TF's ValidateRaggedSplits): non-empty, int32/int64 vector,
 * starting at 0, sorted, ending at nvals. */
td_code td_ragged_check_splits(td_kctx *ctx, const td_tensor *splits, int64_t nvals);
/* Copies n elements: dst[d..d+n) = src[s..s+n) (dst owned when STRING). */
void td_ragged_copy(td_tensor *dst, int64_t d, const td_tensor *src, int64_t s, int64_t n);
/* Allocates output i of dt/shape for ragged kernels: numeric outputs from the arena, STRING
 * outputs kernel-owned in *own (then finish with td_text_finish). *out points at the tensor. */
td_code td_ragged_alloc(td_kctx *ctx, int i, td_dtype dt, const td_shape *shape, td_tensor *own, td_tensor **out);
/* Hands output i over when it was kernel-owned (STRING); no-op otherwise. */
td_code td_ragged_finish(td_kctx *ctx, int i, td_tensor *own, td_code rc);

#endif
