/* math_unary.c — element-wise unary ops (Neg ... IsFinite, activations), Softmax and
 * LogSoftmax over the last axis, ZerosLike and OnesLike.
 *
 * Each op is an element expression of `v` (compute type; float for half/bfloat16) and `p`
 * (an op parameter such as LeakyRelu's alpha), stamped by ROW1 into one loop per (op, dtype)
 * and looked up in a dtype-indexed table (NULL = no TF kernel for that dtype). Integer
 * expressions wrap instead of overflowing. Softmax is numerically stable (subtracts the row
 * max). Output shapes equal input shapes; nothing is read outside the input.
 */
#include <math.h>
#include <string.h>

#include "engine/kernels/math_internal.h"

typedef void (*td_math_row1)(const void *x, void *y, int64_t n, double p);

#define ROW1(name, S, C, LD, OS, ST, T, UW, SG, EXPR)                                        \
  static inline __attribute__((always_inline)) void name(const void *px, void *py, int64_t n, double p_) {                         \
    typedef T td_T;                                                                          \
    typedef UW td_UW;                                                                        \
    enum { td_SG = SG };                                                                     \
    const S *x = px;                                                                         \
    OS *y = py;                                                                              \
    const C p = (C)p_;                                                                       \
    (void)sizeof(td_T), (void)sizeof(td_UW), (void)td_SG, (void)p;                          \
    for (int64_t i = 0; i < n; i++) {                                                        \
      C v = LD(x[i]);                                                                        \
      y[i] = ST(EXPR(v));                                                                    \
    }                                                                                        \
  }

/* ROW1V: ROW1 compiled for AVX-512 / AVX2+FMA / baseline, picked per call (td_math_isa): the
 * hot float activations of RNN cells and transformers run 8-16 wide. */
#define ROW1V(name, ...)                                                                     \
  ROW1(name##_b, __VA_ARGS__)                                                                \
  TD_MATH_TARGET_512 static void name##_x5(const void *x, void *y, int64_t n, double p) {    \
    name##_b(x, y, n, p);                                                                    \
  }                                                                                          \
  TD_MATH_TARGET_256 static void name##_x2(const void *x, void *y, int64_t n, double p) {    \
    name##_b(x, y, n, p);                                                                    \
  }                                                                                          \
  static void name##_x0(const void *x, void *y, int64_t n, double p) { name##_b(x, y, n, p); } \
  static void name(const void *x, void *y, int64_t n, double p) {                            \
    int l = td_math_isa();                                                                   \
    (l == 2 ? name##_x5 : l == 1 ? name##_x2 : name##_x0)(x, y, n, p);                       \
  }

/* float / double dispatch for libm functions (compute types are only float or double) */
#define FN1(fn, v) _Generic((v), double: fn, default: fn##f)(v)
static inline int is_negative(int64_t v) { return v < 0; }

static inline double sigmoid_f64(double v) { return 1 / (1 + exp(-v)); }

static const double kSeluScale = 1.0507009873554804934193349852946;
static const double kSeluAlpha = 1.6732632423543772848170429916717;

/* Softplus as TF computes it: thresholds at log(epsilon) + 2 to avoid overflow / underflow. */
static inline float softplus_f32(float v) {
  const float th = logf(1.1920928955078125e-07f) + 2.0f;
  if (v > -th) return v;
  float e = expf(v);
  return v < th ? e : logf(e + 1.0f);
}
static inline double softplus_f64(double v) {
  const double th = log(2.220446049250313e-16) + 2.0;
  if (v > -th) return v;
  double e = exp(v);
  return v < th ? e : log(e + 1.0);
}

/* ---- element expressions: OPF_x floating, OPI_x integer ---- */
#define OPF_NEG(v) (-(v))
#define OPI_NEG(v) ((td_T)(0 - (td_UW)(v)))
#define OPF_ABS(v) FN1(fabs, v)
#define OPI_ABS(v) ((td_SG && is_negative((int64_t)(v))) ? (td_T)(0 - (td_UW)(v)) : (v))
#define OPF_SQUARE(v) ((v) * (v))
#define OPI_SQUARE(v) ((td_T)((td_UW)(v) * (td_UW)(v)))
#define OPF_SIGN(v) ((v) > 0 ? 1 : (v) < 0 ? -1 : (v))
#define OPI_SIGN(v) ((td_T)(((v) > 0) - (td_SG && is_negative((int64_t)(v)))))
#define OPF_RELU(v) ((v) < 0 ? 0 : (v))
#define OPI_RELU(v) ((td_SG && is_negative((int64_t)(v))) ? 0 : (v))
#define OPF_RELU6(v) ((v) < 0 ? 0 : (v) > 6 ? 6 : (v))
#define OPI_RELU6(v) ((td_SG && is_negative((int64_t)(v))) ? 0 : (v) > 6 ? 6 : (v))
#define OPI_ROUND(v) (v)
#define OPF_SQRT(v) FN1(sqrt, v)
#define OPF_RSQRT(v) (1 / FN1(sqrt, v))
#define OPF_EXP(v) _Generic((v), double: exp, default: td_math_expf)(v)
#define OPF_EXPM1(v) FN1(expm1, v)
#define OPF_LOG(v) FN1(log, v)
#define OPF_LOG1P(v) FN1(log1p, v)
#define OPF_TANH(v) _Generic((v), double: tanh, default: td_math_tanhf)(v)
#define OPF_SIGMOID(v) _Generic((v), double: sigmoid_f64, default: td_math_sigmoidf)(v)
#define OPF_ELU(v) ((v) < 0 ? FN1(expm1, v) : (v))
#define OPF_SELU(v) \
  ((v) < 0 ? (__typeof__(v))(kSeluScale * kSeluAlpha) * FN1(expm1, v) : (__typeof__(v))kSeluScale * (v))
#define OPF_LEAKYRELU(v) ((v) > 0 ? (v) : (v) * p)
#define OPF_SOFTPLUS(v) _Generic((v), double: softplus_f64, default: softplus_f32)(v)
#define OPF_SOFTSIGN(v) ((v) / (1 + FN1(fabs, v)))
#define OPF_FLOOR(v) FN1(floor, v)
#define OPF_CEIL(v) FN1(ceil, v)
#define OPF_ROUND(v) FN1(rint, v) /* round half to even in the default rounding mode */
#define OPF_RECIPROCAL(v) (1 / (v))
#define OPF_ERF(v) _Generic((v), double: erf, default: td_math_erff)(v)
#define OPF_SIN(v) FN1(sin, v)
#define OPF_COS(v) FN1(cos, v)
#define OPF_TAN(v) FN1(tan, v)
#define OPF_ASIN(v) FN1(asin, v)
#define OPF_ACOS(v) FN1(acos, v)
#define OPF_ATAN(v) FN1(atan, v)
#define OPF_SINH(v) FN1(sinh, v)
#define OPF_COSH(v) FN1(cosh, v)
#define OPF_ASINH(v) FN1(asinh, v)
#define OPF_ACOSH(v) FN1(acosh, v)
#define OPF_ATANH(v) FN1(atanh, v)
#define OPF_ERFC(v) FN1(erfc, v)
#define OPF_ISNAN(v) isnan(v)
#define OPF_ISINF(v) isinf(v)
#define OPF_ISFINITE(v) isfinite(v)
#define OPB_NOT(v) (!(v))

/* ---- stamping ---- */
#define TO_BOOL(v) ((uint8_t)((v) != 0))
#define STAMP_F(op, tag, DT, S, C, LD, ST) ROW1(op##_##tag, S, C, LD, S, ST, C, unsigned, 0, OPF_##op)
#define STAMP_FV(op, tag, DT, S, C, LD, ST) ROW1V(op##_##tag, S, C, LD, S, ST, C, unsigned, 0, OPF_##op)
#define STAMP_I(op, tag, DT, T, UW, SG) ROW1(op##_##tag, T, T, TD_MATH_ID, T, TD_MATH_ID, T, UW, SG, OPI_##op)
#define STAMP_FB(op, tag, DT, S, C, LD, ST) ROW1(op##_##tag, S, C, LD, uint8_t, TO_BOOL, C, unsigned, 0, OPF_##op)
#define ENTRY(op, tag, DT, ...) [DT] = op##_##tag,

#define UNARY_FI(op)                                                                        \
  TD_MATH_FLOATS(STAMP_F, op)                                                               \
  TD_MATH_INTS(STAMP_I, op)                                                                 \
  static const td_math_row1 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)             \
                                                          TD_MATH_INTS(ENTRY, op)};
#define UNARY_F(op)                                                                         \
  TD_MATH_FLOATS(STAMP_F, op)                                                               \
  static const td_math_row1 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)};
#define UNARY_FV(op)                                                                        \
  TD_MATH_FLOATS(STAMP_FV, op)                                                              \
  static const td_math_row1 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)};
#define UNARY_FB(op)                                                                        \
  TD_MATH_FLOATS(STAMP_FB, op)                                                              \
  static const td_math_row1 rows_##op[TD_MATH_NDT] = {TD_MATH_FLOATS(ENTRY, op)};

UNARY_FI(NEG)
UNARY_FI(ABS)
UNARY_FI(SQUARE)
UNARY_FI(SIGN)
UNARY_FI(RELU)
UNARY_FI(RELU6)
UNARY_FI(ROUND)
UNARY_F(SQRT)
UNARY_FV(RSQRT)
UNARY_FV(EXP)
UNARY_F(EXPM1)
UNARY_F(LOG)
UNARY_F(LOG1P)
UNARY_FV(TANH)
UNARY_FV(SIGMOID)
UNARY_F(ELU)
UNARY_F(SELU)
UNARY_F(LEAKYRELU)
UNARY_F(SOFTPLUS)
UNARY_F(SOFTSIGN)
UNARY_F(FLOOR)
UNARY_F(CEIL)
UNARY_F(RECIPROCAL)
UNARY_FV(ERF)
UNARY_F(SIN)
UNARY_F(COS)
UNARY_F(TAN)
UNARY_F(ASIN)
UNARY_F(ACOS)
UNARY_F(ATAN)
UNARY_F(SINH)
UNARY_F(COSH)
UNARY_F(ASINH)
UNARY_F(ACOSH)
UNARY_F(ATANH)
UNARY_F(ERFC)
UNARY_FB(ISNAN)
UNARY_FB(ISINF)
UNARY_FB(ISFINITE)
ROW1(NOT_b8, uint8_t, uint8_t, TD_MATH_ID, uint8_t, TO_BOOL, uint8_t, unsigned, 0, OPB_NOT)
static const td_math_row1 rows_NOT[TD_MATH_NDT] = {[TD_DT_BOOL] = NOT_b8};

/* ---- driver ---- */
static td_code unary_kernel(td_kctx *c, const td_math_row1 *rows, int out_bool, double p) {
  const td_tensor *x = td_k_input(c, 0);
  td_dtype dt = x->dtype;
  if (!td_math_dt_index_ok(dt) || !rows[dt]) return td_math_fail_dtype(c, "T", dt);
  td_tensor *y;
  TD_TRY(td_k_alloc_output_uninit(c, 0, out_bool ? TD_DT_BOOL : dt, &x->shape, &y));
  rows[dt](x->data, y->data, td_tensor_num_elements(x), p);
  return TD_OK;
}

#define UNARY_KERNEL(fn, rows, out_bool) \
  td_code fn(td_kctx *c) { return unary_kernel(c, rows, out_bool, 0); }
UNARY_KERNEL(td_k_math_neg, rows_NEG, 0)
UNARY_KERNEL(td_k_math_abs, rows_ABS, 0)
UNARY_KERNEL(td_k_math_square, rows_SQUARE, 0)
UNARY_KERNEL(td_k_math_sign, rows_SIGN, 0)
UNARY_KERNEL(td_k_math_relu, rows_RELU, 0)
UNARY_KERNEL(td_k_math_relu6, rows_RELU6, 0)
UNARY_KERNEL(td_k_math_round, rows_ROUND, 0)
UNARY_KERNEL(td_k_math_sqrt, rows_SQRT, 0)
UNARY_KERNEL(td_k_math_rsqrt, rows_RSQRT, 0)
UNARY_KERNEL(td_k_math_exp, rows_EXP, 0)
UNARY_KERNEL(td_k_math_expm1, rows_EXPM1, 0)
UNARY_KERNEL(td_k_math_log, rows_LOG, 0)
UNARY_KERNEL(td_k_math_log1p, rows_LOG1P, 0)
UNARY_KERNEL(td_k_math_tanh, rows_TANH, 0)
UNARY_KERNEL(td_k_math_sigmoid, rows_SIGMOID, 0)
UNARY_KERNEL(td_k_math_elu, rows_ELU, 0)
UNARY_KERNEL(td_k_math_selu, rows_SELU, 0)
UNARY_KERNEL(td_k_math_softplus, rows_SOFTPLUS, 0)
UNARY_KERNEL(td_k_math_softsign, rows_SOFTSIGN, 0)
UNARY_KERNEL(td_k_math_floor, rows_FLOOR, 0)
UNARY_KERNEL(td_k_math_ceil, rows_CEIL, 0)
UNARY_KERNEL(td_k_math_reciprocal, rows_RECIPROCAL, 0)
UNARY_KERNEL(td_k_math_erf, rows_ERF, 0)
UNARY_KERNEL(td_k_math_sin, rows_SIN, 0)
UNARY_KERNEL(td_k_math_cos, rows_COS, 0)
UNARY_KERNEL(td_k_math_tan, rows_TAN, 0)
UNARY_KERNEL(td_k_math_asin, rows_ASIN, 0)
UNARY_KERNEL(td_k_math_acos, rows_ACOS, 0)
UNARY_KERNEL(td_k_math_atan, rows_ATAN, 0)
UNARY_KERNEL(td_k_math_sinh, rows_SINH, 0)
UNARY_KERNEL(td_k_math_cosh, rows_COSH, 0)
UNARY_KERNEL(td_k_math_asinh, rows_ASINH, 0)
UNARY_KERNEL(td_k_math_acosh, rows_ACOSH, 0)
UNARY_KERNEL(td_k_math_atanh, rows_ATANH, 0)
UNARY_KERNEL(td_k_math_erfc, rows_ERFC, 0)
UNARY_KERNEL(td_k_math_is_nan, rows_ISNAN, 1)
UNARY_KERNEL(td_k_math_is_inf, rows_ISINF, 1)
UNARY_KERNEL(td_k_math_is_finite, rows_ISFINITE, 1)
UNARY_KERNEL(td_k_math_logical_not, rows_NOT, 1)

td_code td_k_math_leaky_relu(td_kctx *c) {
  return unary_kernel(c, rows_LEAKYRELU, 0, td_attr_float(td_k_node(c), "alpha", 0.2f));
}

/* ---- Softmax / LogSoftmax over the last axis ---- */
typedef void (*softmax_fn)(const void *x, void *y, int64_t rows, int64_t n, int log_mode);

#define SOFTMAX(arg, tag, DT, S, C, LD, ST)                                                  \
  static void softmax_##tag(const void *px, void *py, int64_t rows, int64_t n, int log_mode) { \
    const S *x = px;                                                                         \
    S *y = py;                                                                               \
    for (int64_t r = 0; r < rows; r++, x += n, y += n) {                                     \
      C m = LD(x[0]);                                                                        \
      for (int64_t i = 1; i < n; i++) {                                                      \
        C v = LD(x[i]);                                                                      \
        if (v > m) m = v;                                                                    \
      }                                                                                      \
      C sum = 0;                                                                             \
      if (log_mode) {                                                                        \
        for (int64_t i = 0; i < n; i++) sum += OPF_EXP(LD(x[i]) - m);                        \
        C ls = FN1(log, sum);                                                                \
        for (int64_t i = 0; i < n; i++) y[i] = ST((LD(x[i]) - m) - ls);                      \
      } else {                                                                               \
        for (int64_t i = 0; i < n; i++) {                                                    \
          C e = OPF_EXP(LD(x[i]) - m);                                                       \
          sum += e;                                                                          \
          y[i] = ST(e);                                                                      \
        }                                                                                    \
        for (int64_t i = 0; i < n; i++) y[i] = ST(LD(y[i]) / sum);                           \
      }                                                                                      \
    }                                                                                        \
  }
TD_MATH_FLOATS(SOFTMAX, _)
#define SOFTMAX_ENTRY(arg, tag, DT, ...) [DT] = softmax_##tag,
static const softmax_fn softmax_rows[TD_MATH_NDT] = {TD_MATH_FLOATS(SOFTMAX_ENTRY, _)};

/* Float softmax with 16 partial max / sum lanes so the reductions vectorize (GCC keeps a single
 * float accumulator scalar without -ffast-math), compiled per ISA level: attention's Softmax
 * over [batch, heads, seq, seq]. NaN handling as above (a NaN first element wins, others are
 * skipped by the max); only the summation order differs. */
static inline __attribute__((always_inline)) void softmax_f32_body(const float *restrict x, float *restrict y,
                                                                    int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; r++, x += n, y += n) {
    float m = x[0], lane[16];
    int64_t i = 0;
    if (n >= 16) {
      for (int j = 0; j < 16; j++) lane[j] = x[j];
      for (i = 16; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
      for (int j = 0; j < 16; j++) m = lane[j] > m ? lane[j] : m;
    }
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    for (int j = 0; j < 16; j++) lane[j] = 0;
    for (i = 0; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; j++) {
        float e = td_math_expf(x[i + j] - m);
        y[i + j] = e;
        lane[j] += e;
      }
    float sum = 0;
    for (int j = 0; j < 16; j++) sum += lane[j];
    for (; i < n; i++) {
      float e = td_math_expf(x[i] - m);
      y[i] = e;
      sum += e;
    }
    for (i = 0; i < n; i++) y[i] = y[i] / sum;
  }
}
typedef void (*softmax_f32_fn)(const float *x, float *y, int64_t rows, int64_t n);
TD_MATH_TARGET_512 static void softmax_f32_512(const float *x, float *y, int64_t rows, int64_t n) { softmax_f32_body(x, y, rows, n); }
TD_MATH_TARGET_256 static void softmax_f32_256(const float *x, float *y, int64_t rows, int64_t n) { softmax_f32_body(x, y, rows, n); }
static void softmax_f32_base(const float *x, float *y, int64_t rows, int64_t n) { softmax_f32_body(x, y, rows, n); }

static td_code softmax_kernel(td_kctx *c, int log_mode) {
  const td_tensor *x = td_k_input(c, 0);
  td_dtype dt = x->dtype;
  if (!td_math_dt_index_ok(dt) || !softmax_rows[dt]) return td_math_fail_dtype(c, "T", dt);
  if (x->shape.rank < 1) {
    char s[TD_MATH_SHAPE_BUF];
    return td_k_fail(c, TD_INVALID_ARGUMENT, "logits must have >= 1 dimension, got %s",
                     td_math_shape_str(&x->shape, s));
  }
  td_tensor *y;
  int64_t n = x->shape.dim[x->shape.rank - 1];
  if (dt == TD_DT_FLOAT && !log_mode && n > 0) { /* writes every element */
    static const softmax_f32_fn impl[3] = {softmax_f32_base, softmax_f32_256, softmax_f32_512};
    TD_TRY(td_k_alloc_output_uninit(c, 0, dt, &x->shape, &y));
    impl[td_math_isa()](td_f32(x), td_f32(y), td_tensor_num_elements(x) / n, n);
    return TD_OK;
  }
  TD_TRY(td_k_alloc_output(c, 0, dt, &x->shape, &y));
  if (n == 0) return TD_OK;
  softmax_rows[dt](x->data, y->data, td_tensor_num_elements(x) / n, n, log_mode);
  return TD_OK;
}

td_code td_k_math_softmax(td_kctx *c) { return softmax_kernel(c, 0); }
td_code td_k_math_log_softmax(td_kctx *c) { return softmax_kernel(c, 1); }

/* ---- ZerosLike / OnesLike ---- */
td_code td_k_math_zeros_like(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0);
  if (x->dtype == TD_DT_RESOURCE || x->dtype == TD_DT_VARIANT)
    return td_math_fail_dtype(c, "T", x->dtype);
  td_tensor *y;
  return td_k_alloc_output(c, 0, x->dtype, &x->shape, &y); /* storage comes zeroed */
}

td_code td_k_math_ones_like(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0);
  td_dtype dt = x->dtype;
  if (!td_math_is_float(dt) && !td_math_is_int(dt) && dt != TD_DT_BOOL)
    return td_math_fail_dtype(c, "T", dt);
  td_tensor *y;
  TD_TRY(td_k_alloc_output(c, 0, dt, &x->shape, &y));
  int64_t n = td_tensor_num_elements(y);
  if (n == 0) return TD_OK;
  td_tensor_set_double(y, 0, 1.0);
  size_t es = td_dtype_size(dt);
  char *d = y->data;
  for (int64_t i = 1; i < n; i++) memcpy(d + (size_t)i * es, d, es);
  return TD_OK;
}
