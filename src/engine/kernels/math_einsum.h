/* math_einsum.h — the interface between Einsum's parser (math_einsum.c) and its strided float
 * GEMM fast path (math_einsum_gemm.c). Labels are math_einsum.c's ids (< 64); every array is
 * borrowed for the duration of the call.
 */
#ifndef TD_KERNELS_MATH_EINSUM_H
#define TD_KERNELS_MATH_EINSUM_H

#include "engine/kernel.h"

typedef struct td_einsum_gemm {
  const td_tensor *l, *r; /* left (rows) and right (cols) operands */
  const int *llab, *rlab, *olab; /* labels per axis of l, r and the output */
  int orank;
  const int64_t *size; /* per label id */
  const int *batch, *lf, *rf, *con; /* label groups: batch, free-left, free-right, contracted */
  int nb, nlf, nrf, nc;
  int r_const; /* r is a callable constant (weights) */
} td_einsum_gemm;

/* Computes the product into output 0 when the strided path applies: returns 1 and sets *rc,
 * or returns 0 (nothing done) for the general path. */
int td_math_einsum_gemm(td_kctx *c, const td_einsum_gemm *e, td_code *rc);

#endif
