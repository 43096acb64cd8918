/* math_matmul.c — MatMul and BatchMatMul / BatchMatMulV2 / BatchMatMulV3.
 *
 * One gemm entry point, row-major C[m,n] = op(A)[m,k] * op(B)[k,n]: float and double go to
 * OpenBLAS (cblas_sgemm / cblas_dgemm), half and bfloat16 are widened to float around sgemm,
 * integers use a stamped i-p-j loop with wrapping arithmetic. Output storage arrives zeroed,
 * so empty m/n/k need no work. BatchMatMulV2/V3 broadcast batch dims (td_bcast over the batch
 * shapes); BatchMatMul (V1) requires equal batch dims. When the right operand has no batch
 * and the left is not adjointed, all batches fold into one gemm. Float MatMul is TD_OPF_FUSABLE:
 * a fused constant bias seeds C (sgemm beta = 1) and Relu/Relu6 run in one pass after it.
 * A single-row float product (batch 1, e.g. an RNN step) is an sgemv: OpenBLAS's sgemm would
 * re-pack all of B on every call, which dominated recurrent loops at batch 1.
 * Float MatMul with constant weights ([m,k]·[k,n], no transposes) goes to a oneDNN inner product
 * instead (nn_dnnl.c): weights reordered once per node into its blocked layout, bias and
 * activation fused; at 1 thread it beats OpenBLAS, which re-packs B on every call.
 * Inside a recurrent loop whose input projection was hoisted (opt_rnn.h), MatMul(x_t, W) copies
 * its precomputed rows instead.
 * Invariants: shapes are validated (rank, inner dim, BLAS int range) before any data is read.
 */
#include <cblas.h>
#include <limits.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "engine/kernels/nn.h" /* fused epilogue helpers */
#include "engine/opt_rnn.h"
#include "util/mem.h"

typedef void (*int_gemm_fn)(int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                            int64_t lda, const void *b, int64_t ldb, void *c);

#define INT_GEMM(arg, tag, DT, T, UW, SG)                                                    \
  static void gemm_##tag(int ta, int tb, int64_t m, int64_t n, int64_t k, const void *pa,    \
                         int64_t lda, const void *pb, int64_t ldb, void *pc) {               \
    const T *a = pa, *b = pb;                                                                \
    T *c = pc;                                                                               \
    for (int64_t i = 0; i < m; i++) {                                                        \
      T *crow = c + i * n;                                                                   \
      for (int64_t p = 0; p < k; p++) {                                                      \
        UW av = (UW)(ta ? a[p * lda + i] : a[i * lda + p]);                                  \
        if (!tb) {                                                                           \
          const T *brow = b + p * ldb;                                                       \
          for (int64_t j = 0; j < n; j++) crow[j] = (T)((UW)crow[j] + av * (UW)brow[j]);     \
        } else {                                                                             \
          for (int64_t j = 0; j < n; j++)                                                    \
            crow[j] = (T)((UW)crow[j] + av * (UW)b[j * ldb + p]);                            \
        }                                                                                    \
      }                                                                                      \
    }                                                                                        \
  }
TD_MATH_INTS(INT_GEMM, _)
#define INT_GEMM_ENTRY(arg, tag, DT, ...) [DT] = gemm_##tag,
static const int_gemm_fn int_gemms[TD_MATH_NDT] = {TD_MATH_INTS(INT_GEMM_ENTRY, _)};

static int gemm_supported(td_dtype dt) {
  return td_math_is_float(dt) || (td_math_dt_index_ok(dt) && int_gemms[dt]);
}

static void widen(td_dtype dt, const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    dst[i] = dt == TD_DT_HALF ? td_half_to_float(src[i]) : td_bf16_to_float(src[i]);
}
static void narrow(td_dtype dt, const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    dst[i] = dt == TD_DT_HALF ? td_float_to_half(src[i]) : td_float_to_bf16(src[i]);
}

/* a is [m,k] (ta: [k,m]) with row stride lda; b is [k,n] (tb: [n,k]) with row stride ldb. */
static void gemm(td_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, void *c) {
  if (m == 0 || n == 0 || k == 0) return; /* output is already zero */
  enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  switch (dt) {
    case TD_DT_FLOAT:
      cblas_sgemm(CblasRowMajor, TA, TB, (blasint)m, (blasint)n, (blasint)k, 1.0f, a,
                  (blasint)lda, b, (blasint)ldb, 0.0f, c, (blasint)n);
      return;
    case TD_DT_DOUBLE:
      cblas_dgemm(CblasRowMajor, TA, TB, (blasint)m, (blasint)n, (blasint)k, 1.0, a,
                  (blasint)lda, b, (blasint)ldb, 0.0, c, (blasint)n);
      return;
    case TD_DT_HALF:
    case TD_DT_BFLOAT16: {
      float *fa = td_xmalloc((size_t)(m * k) * sizeof(float));
      float *fb = td_xmalloc((size_t)(k * n) * sizeof(float));
      float *fc = td_xmalloc((size_t)(m * n) * sizeof(float));
      /* widen row by row: the operands may be strided views (lda / ldb) */
      int64_t arows = ta ? k : m, acols = ta ? m : k, brows = tb ? n : k, bcols = tb ? k : n;
      for (int64_t r = 0; r < arows; r++)
        widen(dt, (const uint16_t *)a + r * lda, fa + r * acols, acols);
      for (int64_t r = 0; r < brows; r++)
        widen(dt, (const uint16_t *)b + r * ldb, fb + r * bcols, bcols);
      cblas_sgemm(CblasRowMajor, TA, TB, (blasint)m, (blasint)n, (blasint)k, 1.0f, fa,
                  (blasint)acols, fb, (blasint)bcols, 0.0f, fc, (blasint)n);
      narrow(dt, fc, c, m * n);
      free(fa);
      free(fb);
      free(fc);
      return;
    }
    default:
      int_gemms[dt](ta, tb, m, n, k, a, lda, b, ldb, c);
      return;
  }
}

static int fits_blas(int64_t v) { return v >= 0 && v <= INT_MAX; }

int td_math_gemm_supported(td_dtype dt) { return gemm_supported(dt); }

int td_math_gemm(td_dtype dt, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
                 int64_t lda, const void *b, int64_t ldb, void *c) {
  if (!gemm_supported(dt) || !fits_blas(m) || !fits_blas(n) || !fits_blas(k) ||
      !fits_blas(lda) || !fits_blas(ldb))
    return -1;
  gemm(dt, ta, tb, m, n, k, a, lda, b, ldb, c);
  return 0;
}

/* Row-major float C[m,n] = op(A)·op(B) + beta·C through the engine's BLAS (threads.c picks
 * OpenBLAS or oneDNN's sgemm once per process for this CPU). */
void td_math_sgemm_fast(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n,
              (blasint)k, 1.0f, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

/* Float MatMul on OpenBLAS into o (uninitialized) with the fused epilogue f (NULL = none): C
 * starts as the broadcast bias and sgemm accumulates onto it (beta = 1), then one pass applies
 * the activation. */
static void sgemm_epilogue(const td_fusion *f, int ta, int tb, int64_t m, int64_t n, int64_t k,
                           const td_tensor *a, const td_tensor *b, float *o) {
  if (m == 0 || n == 0) return;
  const float *bias = f ? (f->bias ? td_f32(f->bias) : NULL) : NULL;
  if (bias) td_nn_fill_bias(bias, o, m, n);
  if (k > 0 && m == 1 && !ta) /* one row: a matrix-vector product streams b once, no packing */
    cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (blasint)b->shape.dim[0], (blasint)b->shape.dim[1],
                1.0f, td_f32(b), (blasint)b->shape.dim[1], td_f32(a), 1, bias ? 1.0f : 0.0f, o, 1);
  else if (k > 0)
    td_math_sgemm_fast(ta, tb, m, n, k, td_f32(a), a->shape.dim[1], td_f32(b), b->shape.dim[1], bias ? 1.0f : 0.0f, o, n);
  else if (!bias)
    memset(o, 0, (size_t)(m * n) * sizeof *o);
  td_nn_epilogue(f, 0, o, m, n);
}

/* 1 if input 1 is a callable constant (folded weights: same data every run). */
static int const_weights(const td_kctx *c) { return td_k_input_is_const(c, 1); }

int td_nn_matmul_dnnl(td_kctx *c, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                      const td_fusion *f, float *out) {
  td_nn_conv g;
  memset(&g, 0, sizeof g);
  td_nn_window_reset(&g.w, 2, 0);
  g.w.n = m, g.w.ih = g.w.iw = 1, g.w.ic = k;
  g.w.kh = g.w.kw = 1, g.w.sh = g.w.sw = 1, g.w.dh = g.w.dw = 1, g.w.oh = g.w.ow = 1;
  g.oc = n, g.groups = 1;
  return td_nn_conv_dnnl(c, &g, a, b, f, out);
}

td_code td_k_math_mat_mul(td_kctx *c) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  const td_node *node = td_k_node(c);
  int ta = td_attr_bool(node, "transpose_a", false), tb = td_attr_bool(node, "transpose_b", false);
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
  if (a->dtype != b->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "MatMul operands must have the same type: %s vs. %s",
                     td_dtype_name(a->dtype), td_dtype_name(b->dtype));
  if (!gemm_supported(a->dtype)) return td_math_fail_dtype(c, "T", a->dtype);
  for (int i = 0; i < 2; i++) {
    const td_tensor *t = i ? b : a;
    if (t->shape.rank != 2)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "In[%d] is not a matrix. Instead it has shape %s",
                       i, td_math_shape_str(&t->shape, s1));
  }
  int64_t m = a->shape.dim[ta ? 1 : 0], k = a->shape.dim[ta ? 0 : 1];
  int64_t k2 = b->shape.dim[tb ? 1 : 0], n = b->shape.dim[tb ? 0 : 1];
  if (k != k2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: %s, In[1]: %s",
                     td_math_shape_str(&a->shape, s1), td_math_shape_str(&b->shape, s2));
  if (!fits_blas(m) || !fits_blas(n) || !fits_blas(k))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "MatMul dimensions too large");
  int64_t dims[2] = {m, n};
  td_shape os = td_shape_make(2, dims);
  td_tensor *out;
  const td_fusion *f = td_k_fusion(c);
  if (f && a->dtype != TD_DT_FLOAT) /* the callable only fuses float steps */
    return td_k_fail(c, TD_INTERNAL, "fused MatMul epilogue needs float, got %s",
                     td_dtype_name(a->dtype));
  if (f || a->dtype == TD_DT_FLOAT) {
    TD_TRY(td_nn_fusion_check(c, f, &os, n));
    TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &os, &out));
    int64_t hn = 0;
    const float *rows = !f && !ta ? td_rnn_hoisted_rows(node, a, b, &hn) : NULL;
    if (rows && hn == n) { /* this step's x_t·W, computed for every step before the loop */
      memcpy(td_f32(out), rows, (size_t)(m * n) * sizeof(float));
      return TD_OK;
    }
    if (!ta && !tb && m > 0 && n > 0 && k > 0 && const_weights(c) && td_nn_dnnl_enabled() &&
        td_nn_matmul_dnnl(c, m, n, k, td_f32(a), td_f32(b), f, td_f32(out)) == 0)
      return TD_OK;
    sgemm_epilogue(f, ta, tb, m, n, k, a, b, td_f32(out));
    return TD_OK;
  }
  TD_TRY(td_k_alloc_output(c, 0, a->dtype, &os, &out));
  gemm(a->dtype, ta, tb, m, n, k, a->data, a->shape.dim[1], b->data, b->shape.dim[1], out->data);
  return TD_OK;
}

/* version: 1 = BatchMatMul (equal batch dims), 2 = V2, 3 = V3 (same-type only). */
static td_code batch_mat_mul(td_kctx *c, int version) {
  const td_tensor *x = td_k_input(c, 0), *y = td_k_input(c, 1);
  const td_node *node = td_k_node(c);
  int ax = td_attr_bool(node, "adj_x", false), ay = td_attr_bool(node, "adj_y", false);
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
  td_dtype dt = x->dtype;
  if (y->dtype != dt || (version == 3 && td_attr_type(node, "Tout", dt) != dt))
    return td_k_fail(c, TD_UNIMPLEMENTED, "BatchMatMul with mixed types %s, %s is not supported",
                     td_dtype_name(dt), td_dtype_name(y->dtype));
  if (!gemm_supported(dt)) return td_math_fail_dtype(c, "T", dt);
  int rx = x->shape.rank, ry = y->shape.rank;
  if (rx < 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "In[0] ndims must be >= 2: %d", rx);
  if (ry < 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "In[1] ndims must be >= 2: %d", ry);
  if (version == 1 && rx != ry)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "In[0] and In[1] has different ndims: %s vs. %s",
                     td_math_shape_str(&x->shape, s1), td_math_shape_str(&y->shape, s2));
  int64_t xr = x->shape.dim[rx - 2], xc = x->shape.dim[rx - 1];
  int64_t yr = y->shape.dim[ry - 2], yc = y->shape.dim[ry - 1];
  int64_t m = ax ? xc : xr, k = ax ? xr : xc, k2 = ay ? yc : yr, n = ay ? yr : yc;
  if (k != k2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: %s, In[1]: %s",
                     td_math_shape_str(&x->shape, s1), td_math_shape_str(&y->shape, s2));
  if (!fits_blas(m) || !fits_blas(n) || !fits_blas(k))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "BatchMatMul dimensions too large");
  td_shape xb = td_shape_make(rx - 2, x->shape.dim), yb = td_shape_make(ry - 2, y->shape.dim);
  td_bcast bc;
  const td_shape *sh[2] = {&xb, &yb};
  if (td_bcast_init(&bc, 2, sh) != 0 ||
      (version == 1 && !td_shape_equal(&xb, &yb)))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "In[0] and In[1] must have compatible batch dimensions: %s vs. %s",
                     td_math_shape_str(&x->shape, s1), td_math_shape_str(&y->shape, s2));
  if (bc.out.rank + 2 > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "BatchMatMul output rank too large");
  td_shape os = bc.out;
  os.dim[os.rank++] = m;
  os.dim[os.rank++] = n;
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, dt, &os, &out));
  int64_t nb = bc.nout;
  if (nb == 0 || m == 0 || n == 0 || k == 0) return TD_OK;
  size_t es = td_dtype_size(dt);
  int64_t ynb = td_shape_num_elements(&yb), xnb = td_shape_num_elements(&xb);
  if (ynb == 1 && !ax && xnb == nb) { /* fold all batches of x into the rows of one gemm */
    if (dt == TD_DT_FLOAT)
      td_math_sgemm_fast(0, ay, nb * m, n, k, td_f32(x), xc, td_f32(y), yc, 0.0f, td_f32(out), n);
    else
      gemm(dt, 0, ay, nb * m, n, k, x->data, xc, y->data, yc, out->data);
    return TD_OK;
  }
  int64_t *xo = td_xmalloc((size_t)nb * sizeof *xo), *yo = td_xmalloc((size_t)nb * sizeof *yo);
  td_bcast_offsets(&bc, xo, yo);
  for (int64_t i = 0; i < nb; i++) /* float: oneDNN's AVX-512 sgemm where OpenBLAS runs AVX2 kernels */
    if (dt == TD_DT_FLOAT)
      td_math_sgemm_fast(ax, ay, m, n, k, td_f32(x) + xo[i] * xr * xc, xc, td_f32(y) + yo[i] * yr * yc, yc, 0.0f,
                         td_f32(out) + i * m * n, n);
    else
      gemm(dt, ax, ay, m, n, k, (const char *)x->data + xo[i] * xr * xc * (int64_t)es, xc,
           (const char *)y->data + yo[i] * yr * yc * (int64_t)es, yc,
           (char *)out->data + i * m * n * (int64_t)es);
  free(xo);
  free(yo);
  return TD_OK;
}

td_code td_k_math_batch_mat_mul(td_kctx *c) { return batch_mat_mul(c, 1); }
td_code td_k_math_batch_mat_mul_v2(td_kctx *c) { return batch_mat_mul(c, 2); }
td_code td_k_math_batch_mat_mul_v3(td_kctx *c) { return batch_mat_mul(c, 3); }
