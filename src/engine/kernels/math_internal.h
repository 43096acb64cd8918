/* math_internal.h — shared plumbing of the math kernel family (kernels/math_*.c).
 *
 *  - dtype lists: X-macros that stamp one typed loop per element type. Floating types carry a
 *    storage type and a compute type with load/store conversions (half and bfloat16 compute in
 *    float); integer types carry a wide unsigned type used for wrapping arithmetic (signed
 *    overflow is never evaluated, so UBSan stays quiet and results wrap like TF's).
 *  - td_bcast: numpy broadcasting of up to 3 operands, collapsed to the fewest dims so the
 *    inner loop runs over a contiguous row (same-shape, scalar and bias cases become a single
 *    row or rows with one operand held fixed).
 *  - small helpers for TF-worded errors.
 * Invariants: collapsed ranks are >= 1; inner strides are 0 (operand repeated) or 1. Kernels
 * never index outside the shapes td_bcast computed. Not thread-affine; everything is
 * reentrant.
 */
#ifndef TD_KERNELS_MATH_INTERNAL_H
#define TD_KERNELS_MATH_INTERNAL_H

#include <stdint.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/kernel.h"

/* The element loops are written to be auto-vectorized: CMakeLists.txt compiles the kernels
 * with -O3 -fno-trapping-math (GCC's -O2 cost model leaves most of them scalar). */

/* Tables indexed directly by td_dtype value (all real dtypes are < 24). */
#define TD_MATH_NDT 24

#define TD_MATH_ID(x) (x)
#define TD_MATH_H2F(x) td_half_to_float(x)
#define TD_MATH_F2H(x) td_float_to_half((float)(x))
#define TD_MATH_B2F(x) td_bf16_to_float(x)
#define TD_MATH_F2B(x) td_float_to_bf16((float)(x))

/* X(arg, tag, dtype, storage type, compute type, load, store) */
#define TD_MATH_FLOATS(X, arg)                                                          \
  X(arg, f32, TD_DT_FLOAT, float, float, TD_MATH_ID, TD_MATH_ID)                        \
  X(arg, f64, TD_DT_DOUBLE, double, double, TD_MATH_ID, TD_MATH_ID)                     \
  X(arg, f16, TD_DT_HALF, uint16_t, float, TD_MATH_H2F, TD_MATH_F2H)                    \
  X(arg, bf16, TD_DT_BFLOAT16, uint16_t, float, TD_MATH_B2F, TD_MATH_F2B)

/* X(arg, tag, dtype, type, wide unsigned type, is signed) */
#define TD_MATH_INTS(X, arg)                                                            \
  X(arg, i32, TD_DT_INT32, int32_t, uint32_t, 1)                                        \
  X(arg, i64, TD_DT_INT64, int64_t, uint64_t, 1)                                        \
  X(arg, i8, TD_DT_INT8, int8_t, uint32_t, 1)                                           \
  X(arg, i16, TD_DT_INT16, int16_t, uint32_t, 1)                                        \
  X(arg, u8, TD_DT_UINT8, uint8_t, uint32_t, 0)                                         \
  X(arg, u16, TD_DT_UINT16, uint16_t, uint32_t, 0)                                      \
  X(arg, u32, TD_DT_UINT32, uint32_t, uint32_t, 0)                                      \
  X(arg, u64, TD_DT_UINT64, uint64_t, uint64_t, 0)

static inline int td_math_is_float(td_dtype dt) {
  return dt == TD_DT_FLOAT || dt == TD_DT_DOUBLE || dt == TD_DT_HALF || dt == TD_DT_BFLOAT16;
}
static inline int td_math_is_int(td_dtype dt) {
  switch (dt) {
    case TD_DT_INT32: case TD_DT_INT64: case TD_DT_INT8: case TD_DT_INT16:
    case TD_DT_UINT8: case TD_DT_UINT16: case TD_DT_UINT32: case TD_DT_UINT64:
      return 1;
    default:
      return 0;
  }
}
static inline int td_math_dt_index_ok(td_dtype dt) { return dt > 0 && dt < TD_MATH_NDT; }

/* Runtime ISA level for the hot float element loops compiled three times (math_unary.c /
 * math_binary.c *_V rows): 2 = AVX-512F, 1 = AVX2 + FMA, 0 = baseline. Runtime dispatch, not
 * target_clones (whose ifunc resolvers run before ThreadSanitizer's runtime is up). */
static inline int td_math_isa(void) {
#if defined(__x86_64__) && defined(__GNUC__)
  static _Atomic int level = -1;
  int l = atomic_load_explicit(&level, memory_order_relaxed);
  if (l >= 0) return l;
  __builtin_cpu_init();
  l = __builtin_cpu_supports("avx512f") ? 2 : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
  atomic_store_explicit(&level, l, memory_order_relaxed);
  return l;
#else
  return 0;
#endif
}
#if defined(__x86_64__) && defined(__GNUC__)
#define TD_MATH_TARGET_512 __attribute__((target("avx512f")))
#define TD_MATH_TARGET_256 __attribute__((target("avx2,fma")))
#else
#define TD_MATH_TARGET_512
#define TD_MATH_TARGET_256
#endif

/* ---- vectorizable float transcendental functions (no libm calls, no branches) ----
 * td_math_expf: Cephes' degree-6 polynomial after exact range reduction by ln 2; the
 * 2^n scale is applied in two halves so results down to the denormal range are right.
 * Matches expf to ~1 ulp; overflows to +inf above 88.72, flushes to 0 below -104, NaN in ->
 * NaN out. td_math_tanhf: Eigen's rational approximation (TF's CPU tanh), clamped to +-7.9988
 * where tanh rounds to +-1. */
static inline float td_math_expf(float x) {
  float xc = x > 88.72283935546875f ? 88.72283935546875f : x;
  xc = xc < -104.0f ? -104.0f : xc;
  float k = xc * 1.44269504088896341f + 12582912.0f; /* 1.5 * 2^23: rounds to an integer */
  uint32_t kb;
  memcpy(&kb, &k, sizeof kb);
  int32_t ni = (int32_t)(kb - 0x4B400000u);
  float n = k - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t n1 = ni >> 1, n2 = ni - n1;
  uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
  float s1, s2;
  memcpy(&s1, &b1, sizeof s1);
  memcpy(&s2, &b2, sizeof s2);
  float v = p * s1 * s2;
  return x > 88.72283935546875f ? __builtin_inff() : x < -104.0f ? 0.0f : v;
}

static inline float td_math_tanhf(float x) {
  float xc = x > 7.99881172180175781f ? 7.99881172180175781f : x;
  xc = xc < -7.99881172180175781f ? -7.99881172180175781f : xc;
  float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * xc;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  float ax = x < 0 ? -x : x;
  return ax < 0.0004f ? x : p / q;
}

static inline float td_math_sigmoidf(float x) { return 1.0f / (1.0f + td_math_expf(-x)); }

/* erf as Eigen's rational approximation (what TF's CPU Erf computes for float): odd degree-13
 * numerator over degree-8 denominator in x^2, clamped to [-4, 4]; |error| < 5e-7. Vectorizable
 * (GELU's Erf over whole FFN activations). */
static inline float td_math_erff(float x) {
  float xc = x > 4.0f ? 4.0f : x;
  xc = xc < -4.0f ? -4.0f : xc;
  float x2 = xc * xc;
  float p = -2.72614225801306e-10f;
  p = p * x2 + 2.77068142495902e-08f;
  p = p * x2 + -2.10102402082508e-06f;
  p = p * x2 + -5.69250639462346e-05f;
  p = p * x2 + -7.34990630326855e-04f;
  p = p * x2 + -2.95459980854025e-03f;
  p = p * x2 + -1.60960333262415e-02f;
  p = p * xc;
  float q = -1.45660718464996e-05f;
  q = q * x2 + -2.13374055278905e-04f;
  q = q * x2 + -1.68282697438203e-03f;
  q = q * x2 + -7.37332916720468e-03f;
  q = q * x2 + -1.42647390514189e-02f;
  return x != x ? x : p / q;
}

/* ---- broadcasting ---- */
#define TD_BCAST_MAX_OPS 3

typedef struct td_bcast {
  td_shape out;                               /* full broadcast output shape */
  int64_t nout;                               /* elements in out */
  int rank;                                   /* collapsed rank, >= 1 */
  int64_t dim[TD_MAX_RANK];                   /* collapsed output dims */
  int64_t stride[TD_BCAST_MAX_OPS][TD_MAX_RANK]; /* element strides; 0 = broadcast */
  int nops;
} td_bcast;

/* Broadcasts shapes[0..nops) numpy-style. Returns 0, or -1 if they are incompatible. */
int td_bcast_init(td_bcast *b, int nops, const td_shape *const *shapes);

/* Per-row callback: in[k] points at operand k's row start, inner[k] is 0 (hold element 0) or 1
 * (advance); out points at n contiguous output elements. Nonzero return stops the walk. */
typedef int (*td_bcast_row_fn)(void *arg, const void *const *in, const int *inner, void *out,
                               int64_t n);

/* Walks all output rows. in[k] are operand base pointers with element sizes esize[k]. Returns
 * the first nonzero callback result, else 0. */
int td_bcast_rows(const td_bcast *b, const void *const *in, const size_t *esize, void *out,
                  size_t out_esize, td_bcast_row_fn fn, void *arg);

/* For a 2-operand broadcast: off[k][i] = element offset in operand k for output element i
 * (off arrays hold b->nout entries). Used for batch dims of BatchMatMul. */
void td_bcast_offsets(const td_bcast *b, int64_t *off0, int64_t *off1);

/* ---- matrix products (math_matmul.c) ---- */
/* 1 if td_math_gemm has a kernel for dt (floats and the integer types). */
int td_math_gemm_supported(td_dtype dt);
/* Row-major c[m,n] = op(a)[m,k] * op(b)[k,n] (ta / tb transpose; lda / ldb row strides). c must
 * arrive zeroed (integer kernels accumulate). Returns -1 (nothing done) when dt has no kernel or
 * a size exceeds the BLAS int range. */
int td_math_gemm(td_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, void *c);
/* Row-major float C[m,n] = op(A)·op(B) + beta·C (lda/ldb/ldc: row strides as stored) through the
 * engine's BLAS (threads.c: OpenBLAS or oneDNN, chosen once for the CPU). Sizes within the BLAS
 * int range. */
void td_math_sgemm_fast(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* ---- error helpers ---- */
/* "[2,3]" into buf (must hold 200 bytes). */
const char *td_math_shape_str(const td_shape *s, char *buf);
#define TD_MATH_SHAPE_BUF 200
/* INVALID_ARGUMENT in TF's wording for a dtype the op has no kernel for. */
td_code td_math_fail_dtype(td_kctx *c, const char *attr, td_dtype dt);
/* Reads an integer axis/index tensor (int32 or int64) into v (up to max values); returns the
 * count or -1 (and fails the kernel) on bad dtype / too many values. */
int td_math_read_axes(td_kctx *c, const td_tensor *t, int64_t *v, int max);

#endif
