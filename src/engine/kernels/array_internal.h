/* array_internal.h — helpers shared by the array kernel family (kernels/array_*.c); private.
 *
 * Element movement is dtype-agnostic: everything works on element indices and
 * td_dtype_size() bytes, except STRING (deep-copied with td_tensor_set_string) and
 * RESOURCE / ref elements (re-referenced with td_tensor_set_resource). Destination tensors
 * must therefore be owned outputs (td_k_alloc_output) when they hold strings or resources.
 *
 * td_array_walk describes a strided copy: for every index tuple in dim[], element
 *   dst[dst_off + sum(i_k * dst_stride[k])] = src[src_off + sum(i_k * src_stride[k])].
 * Strides are in elements and may be zero (broadcast) or negative (reverse). Slice, StridedSlice,
 * Transpose, Tile, BroadcastTo, ReverseV2 and Pad all reduce to one walk.
 */
#ifndef TD_ENGINE_KERNELS_ARRAY_INTERNAL_H
#define TD_ENGINE_KERNELS_ARRAY_INTERNAL_H

#include <stdint.h>

#include "engine/kernel.h"
#include "engine/tensor.h"

#define TD_ARRAY_WALK_MAX (2 * TD_MAX_RANK)

typedef struct td_array_walk {
  int rank;
  int64_t dim[TD_ARRAY_WALK_MAX];
  int64_t src_stride[TD_ARRAY_WALK_MAX];
  int64_t dst_stride[TD_ARRAY_WALK_MAX];
} td_array_walk;

/* 1 if elements of dt need deep copies (strings, resources, refs). */
int td_array_dtype_is_boxed(td_dtype dt);
/* Copies n consecutive elements src[src_i..] to dst[dst_i..] (same dtype). */
void td_array_copy(td_tensor *dst, int64_t dst_i, const td_tensor *src, int64_t src_i, int64_t n);
/* Fills dst[dst_i .. dst_i+n) with copies of the single element value[value_i]. */
void td_array_fill(td_tensor *dst, int64_t dst_i, int64_t n, const td_tensor *value, int64_t value_i);
/* Runs the strided copy described by w (see above); w is simplified in place first. */
void td_array_walk_copy(td_tensor *dst, int64_t dst_off, const td_tensor *src, int64_t src_off,
                        td_array_walk *w);

/* Row-major element strides of s (stride[rank-1] = 1). */
void td_array_strides(const td_shape *s, int64_t *stride);
/* Number of elements of a shape built from user values; fails (INVALID_ARGUMENT) when a dim
 * is negative or the product overflows int64. */
td_code td_array_checked_elements(td_kctx *c, const td_shape *s, int64_t *n);
/* Product of s->dim[from .. to). */
int64_t td_array_dims_product(const td_shape *s, int from, int to);

/* 1 if dt is DT_INT32 or DT_INT64 (the index dtypes). */
int td_array_is_index_dtype(td_dtype dt);
/* Element i of an INT32/INT64 tensor (callers check the dtype once). */
static inline int64_t td_array_index_at(const td_tensor *t, int64_t i) {
  return t->dtype == TD_DT_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}
/* Reads the scalar (or 1-element) int32/int64 input `what` into *v; fails otherwise. */
td_code td_array_scalar_index(td_kctx *c, const td_tensor *t, const char *what, int64_t *v);
/* Checks that t is an int32/int64 vector (rank 1) with at most max elements; fails otherwise. */
td_code td_array_check_index_vector(td_kctx *c, const td_tensor *t, const char *what, int64_t max);
/* Reads a shape given as an int32/int64 vector (dims may be -1 here; the caller validates). */
td_code td_array_read_shape(td_kctx *c, const td_tensor *t, const char *what, td_shape *out);

/* "[2,3]" into buf (for error messages). */
const char *td_array_shape_str(const td_shape *s, char *buf, size_t n);
#define TD_ARRAY_SHAPE_BUF 200

#endif
