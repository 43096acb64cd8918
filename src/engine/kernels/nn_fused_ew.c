/* nn_fused_ew.c — element-wise chains fused into one pass by opt_nn_fuse.c.
 *
 * GELU, exact (Erf) form as Keras exports it: y = (0.5 * x) * (1 + erf(x * c)) with c = 1/sqrt(2)
 * (td_k_nn_gelu_mul), or erf(x / c) with c = sqrt(2) (td_k_nn_gelu_div). Five element-wise steps
 * (five passes over an FFN activation, four intermediates) become one loop computing the same
 * float operations in the same order with the same td_math_erff the Erf kernel uses; compiled
 * for AVX-512 / AVX2+FMA / baseline and picked at run time as math_unary.c does.
 * Inputs: 0 = x (float, any shape), 1 = the scalar float constant c. Output: y, x's shape.
 * Invariants: reentrant; no allocation besides the output.
 */
#include "engine/kernels/math_internal.h"
#include "engine/kernels/nn.h"

typedef void (*gelu_fn)(const float *x, float *y, int64_t n, float c, int div);

static inline __attribute__((always_inline)) void gelu_body(const float *restrict x, float *restrict y, int64_t n,
                                                             float c, int div) {
  if (div)
    for (int64_t i = 0; i < n; i++) y[i] = (0.5f * x[i]) * (1.0f + td_math_erff(x[i] / c));
  else
    for (int64_t i = 0; i < n; i++) y[i] = (0.5f * x[i]) * (1.0f + td_math_erff(x[i] * c));
}
TD_MATH_TARGET_512 static void gelu_512(const float *x, float *y, int64_t n, float c, int div) { gelu_body(x, y, n, c, div); }
TD_MATH_TARGET_256 static void gelu_256(const float *x, float *y, int64_t n, float c, int div) { gelu_body(x, y, n, c, div); }
static void gelu_base(const float *x, float *y, int64_t n, float c, int div) { gelu_body(x, y, n, c, div); }

static td_code gelu(td_kctx *c, int div) {
  const td_tensor *x = td_k_input(c, 0), *k = td_k_input(c, 1);
  if (x->dtype != TD_DT_FLOAT || k->dtype != TD_DT_FLOAT || td_tensor_num_elements(k) != 1)
    return td_k_fail(c, TD_INTERNAL, "fused GELU needs float input and a scalar float constant");
  td_tensor *y;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &x->shape, &y));
  static const gelu_fn impl[3] = {gelu_base, gelu_256, gelu_512};
  impl[td_math_isa()](td_f32(x), td_f32(y), td_tensor_num_elements(x), td_f32(k)[0], div);
  return TD_OK;
}

td_code td_k_nn_gelu_mul(td_kctx *c) { return gelu(c, 0); }
td_code td_k_nn_gelu_div(td_kctx *c) { return gelu(c, 1); }
