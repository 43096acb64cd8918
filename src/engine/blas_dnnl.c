/* blas_dnnl.c — the BLAS entry points the engine uses (sgemm, sgemv, dgemm), computed without
 * OpenBLAS: sgemm and sgemv on oneDNN's dnnl_sgemm, dgemm as a plain loop (double GEMMs are rare
 * in served graphs and small).
 *
 * threads.c calls these when OpenBLAS cannot be loaded (the runtime container image ships
 * without it: 36 MB saved) or when TD_BLAS=dnnl asks for them (tests run the GEMM kernels both
 * ways). The signatures are CBLAS's; both orders and all transpose modes are honoured.
 * dnnl_sgemm is row-major and takes its thread count from OpenMP, which td_engine_thread_enter
 * already sets per thread. Stateless; any thread may call.
 */
#include "engine/blas_dnnl.h"

#include <dnnl.h>

static char trans_char(enum CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? 'N' : 'T'; }

void td_blas_dnnl_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, blasint m,
                        blasint n, blasint k, float alpha, const float *a, blasint lda, const float *b, blasint ldb,
                        float beta, float *c, blasint ldc) {
  if (m <= 0 || n <= 0) return;
  if (order == CblasRowMajor)
    dnnl_sgemm(trans_char(ta), trans_char(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else /* column-major C (m x n) is row-major C^T = op(B)^T op(A)^T */
    dnnl_sgemm(trans_char(tb), trans_char(ta), n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
}

void td_blas_dnnl_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, blasint m, blasint n, float alpha,
                        const float *a, blasint lda, const float *x, blasint incx, float beta, float *y,
                        blasint incy) {
  /* A column-major m x n matrix is the row-major n x m matrix A^T: flip the transpose. */
  int trans = (ta != CblasNoTrans) ^ (order == CblasColMajor);
  blasint rows = order == CblasRowMajor ? m : n, cols = order == CblasRowMajor ? n : m; /* row-major view */
  blasint ylen = trans ? cols : rows, xlen = trans ? rows : cols;
  if (ylen <= 0) return;
  if (incx == 1 && incy == 1) { /* y (ylen x 1) = op(A) x (xlen x 1) */
    dnnl_sgemm(trans ? 'T' : 'N', 'N', ylen, 1, xlen, alpha, a, lda, x, 1, beta, y, 1);
    return;
  }
  const float *xs = incx >= 0 ? x : x - (xlen - 1) * incx; /* BLAS: a negative stride starts at the end */
  float *ys = incy >= 0 ? y : y - (ylen - 1) * incy;
  for (blasint i = 0; i < ylen; i++) {
    double acc = 0;
    for (blasint j = 0; j < xlen; j++) {
      float aij = trans ? a[(size_t)j * lda + i] : a[(size_t)i * lda + j];
      acc += (double)aij * xs[j * incx];
    }
    float *yi = &ys[i * incy];
    *yi = (float)(alpha * acc + (beta == 0 ? 0 : beta * *yi));
  }
}

void td_blas_dnnl_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, blasint m,
                        blasint n, blasint k, double alpha, const double *a, blasint lda, const double *b,
                        blasint ldb, double beta, double *c, blasint ldc) {
  if (order == CblasColMajor) { /* same identity as sgemm: swap the operands, compute C^T */
    td_blas_dnnl_dgemm(CblasRowMajor, tb, ta, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
    return;
  }
  int at = ta != CblasNoTrans, bt = tb != CblasNoTrans;
  for (blasint i = 0; i < m; i++)
    for (blasint j = 0; j < n; j++) {
      double acc = 0;
      for (blasint p = 0; p < k; p++)
        acc += (at ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) * (bt ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
      double *cij = &c[(size_t)i * ldc + j];
      *cij = alpha * acc + (beta == 0 ? 0 : beta * *cij);
    }
}
