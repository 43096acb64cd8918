/* nn_fused_ew.c — element-wise chains fused into one pass by opt_nn_fuse.c.
 *
 * GELU, exact (Erf) form as Keras exports it: y = (0.5 * x) * (1 + erf(x * c)) with c = 1/sqrt(2)
 * (td_k_nn_gelu_mul), or erf(x / c) with c = sqrt(2) (td_k_nn_gelu_div). Five element-wise steps
 * (five passes over an FFN activation, four intermediates) become one loop computing the same
 * float operations in the same order with the same td_math_erff the Erf kernel uses; compiled
 * for AVX-512 / AVX2+FMA / baseline and picked at run time as math_unary.c does.
 * Inputs: 0 = x (float, any shape), 1 = the scalar float constant c. Output: y, x's shape.
 * LayerNorm (td_k_nn_layer_norm, below): Keras' moments form over the last axis in two passes
 * per row; another single axis (scale / offset still broadcast along the last) in plain loops.
 * Invariants: reentrant; no allocation besides the output.
 */
#include <math.h>

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

/* ---- LayerNorm, moments form over the last axis ----
 * y = x * inv + (beta - mean * inv), inv = rsqrt(var + eps) * gamma, mean and var over the last
 * axis (var = mean((x - mean)^2)): what Keras' LayerNormalization exports as Mean,
 * SquaredDifference, Mean, AddV2, Rsqrt, Mul, Mul, Mul, Sub, AddV2 — one pass for the moments and
 * one for the output per row. Inputs: 0 = x, 1 = the reduction axes (one int, the last axis),
 * 2 = eps (scalar), 3 = gamma [n], 4 = beta [n]. Sums run in 16 float lanes. */
typedef void (*ln_fn)(const float *x, float *y, int64_t rows, int64_t n, float eps, const float *g, const float *b);

static inline __attribute__((always_inline)) void ln_body(const float *restrict x, float *restrict y, int64_t rows,
                                                           int64_t n, float eps, const float *restrict g,
                                                           const float *restrict b) {
  for (int64_t r = 0; r < rows; r++, x += n, y += n) {
    float lane[16] = {0}, sum = 0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) lane[j] += x[i + j];
    for (int j = 0; j < 16; j++) sum += lane[j];
    for (; i < n; i++) sum += x[i];
    float mean = sum / (float)n;
    for (int j = 0; j < 16; j++) lane[j] = 0;
    float sq = 0;
    for (i = 0; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) {
        float d = x[i + j] - mean;
        lane[j] += d * d;
      }
    for (int j = 0; j < 16; j++) sq += lane[j];
    for (; i < n; i++) sq += (x[i] - mean) * (x[i] - mean);
    float rs = 1.0f / sqrtf(sq / (float)n + eps);
    for (i = 0; i < n; i++) {
      float inv = rs * g[i];
      y[i] = x[i] * inv + (b[i] - mean * inv);
    }
  }
}
TD_MATH_TARGET_512 static void ln_512(const float *x, float *y, int64_t rows, int64_t n, float eps, const float *g,
                                      const float *b) { ln_body(x, y, rows, n, eps, g, b); }
TD_MATH_TARGET_256 static void ln_256(const float *x, float *y, int64_t rows, int64_t n, float eps, const float *g,
                                      const float *b) { ln_body(x, y, rows, n, eps, g, b); }
static void ln_base(const float *x, float *y, int64_t rows, int64_t n, float eps, const float *g, const float *b) {
  ln_body(x, y, rows, n, eps, g, b);
}

td_code td_k_nn_layer_norm(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *ax = td_k_input(c, 1), *eps = td_k_input(c, 2);
  const td_tensor *g = td_k_input(c, 3), *b = td_k_input(c, 4);
  int rank = x->shape.rank;
  if (x->dtype != TD_DT_FLOAT || rank < 1 || td_tensor_num_elements(ax) != 1 || eps->dtype != TD_DT_FLOAT ||
      td_tensor_num_elements(eps) != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "fused LayerNorm: unexpected input types");
  int64_t a = td_tensor_get_int(ax, 0), n = x->shape.dim[rank - 1];
  if (a < 0) a += rank;
  int64_t gn = td_tensor_num_elements(g), bn = td_tensor_num_elements(b);
  if (a < 0 || a >= rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid reduction dimension (%lld for input with %d dimension(s)",
                     (long long)td_tensor_get_int(ax, 0), rank);
  if ((gn != n && gn != 1) || (bn != n && bn != 1))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes: [%lld] vs. [%lld]", (long long)gn, (long long)n);
  td_tensor *y;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &x->shape, &y));
  int64_t total = td_tensor_num_elements(x);
  if (total == 0) return TD_OK;
  if (a != rank - 1 || gn != n || bn != n) { /* another axis or size-1 scale/offset: plain loops */
    int64_t na = x->shape.dim[a], inner = 1;
    for (int d = (int)a + 1; d < rank; d++) inner *= x->shape.dim[d];
    const float *xv = td_f32(x), *gv = td_f32(g), *bv = td_f32(b), e = td_f32(eps)[0];
    float *yv = td_f32(y);
    for (int64_t o = 0; o < total / (na * inner); o++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t base = o * na * inner + i;
        float sum = 0, sq = 0;
        for (int64_t k = 0; k < na; k++) sum += xv[base + k * inner];
        float mean = sum / (float)na;
        for (int64_t k = 0; k < na; k++) sq += (xv[base + k * inner] - mean) * (xv[base + k * inner] - mean);
        float rs = 1.0f / sqrtf(sq / (float)na + e);
        for (int64_t k = 0; k < na; k++) {
          int64_t idx = base + k * inner, j = idx % n;
          float inv = rs * gv[gn == 1 ? 0 : j];
          yv[idx] = xv[idx] * inv + (bv[bn == 1 ? 0 : j] - mean * inv);
        }
      }
    return TD_OK;
  }
  static const ln_fn impl[3] = {ln_base, ln_256, ln_512};
  impl[td_math_isa()](td_f32(x), td_f32(y), total / n, n, td_f32(eps)[0], td_f32(g), td_f32(b));
  return TD_OK;
}
