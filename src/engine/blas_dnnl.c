/* blas_dnnl.c — the BLAS entry points the engine uses (sgemm, sgemv, dgemm), computed without
 * OpenBLAS: sgemm and sgemv on oneDNN's dnnl_sgemm, dgemm as a plain loop (double GEMMs are rare
 * in served graphs and small).
 *
 * threads.c calls these when OpenBLAS cannot be loaded (the runtime container image ships
 * without it: 36 MB saved) or when TD_BLAS=dnnl asks for them (tests run the GEMM kernels both
 * ways). The signatures are CBLAS's; both orders and all transpose modes are honoured.
 * dnnl_sgemm is row-major and takes its thread count from OpenMP, which td_engine_thread_enter
 * already sets per thread. Stateless; any thread may call.
 *
 * How many threads a product gets (sgemm_split; measured on 2 vCPUs, AMD EPYC, oneDNN 2.6):
 * an OpenMP fork/join costs ~3 us there, so a product of fewer than TD_BLAS_SERIAL_MACS multiply-adds
 * runs on the calling thread (RNN steps at batch 1: 1x512x128 took 2.0 us alone, 6.8 us on
 * two threads); with at least TD_BLAS_SPLIT_ROWS rows per thread the rows are split, one sequential
 * dnnl_sgemm per thread (oneDNN does not nest), 10-15% faster than oneDNN's own split at 32
 * and 256 rows; anything else is oneDNN's to split.
 */
#include "engine/blas_dnnl.h"

#include <dnnl.h>
#include <omp.h>

static char trans_char(enum CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? 'N' : 'T'; }

/* Row-major C (m x n) = alpha op(A) op(B) + beta C on the thread count the size calls for. */
static void sgemm_split(char ta, char tb, blasint m, blasint n, blasint k, float alpha, const float *a, blasint lda,
                        const float *b, blasint ldb, float beta, float *c, blasint ldc) {
  int team = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (team <= 1) {
    dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  } else if ((double)m * n * k < TD_BLAS_SERIAL_MACS) {
    omp_set_num_threads(1); /* this thread's team size only: restored right after */
    dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    omp_set_num_threads(team);
  } else if (m >= (blasint)team * TD_BLAS_SPLIT_ROWS) {
    blasint per = (blasint)td_blas_rows_per_thread(m, team);
#pragma omp parallel for num_threads(team) schedule(static)
    for (int t = 0; t < team; t++) {
      blasint r0 = (blasint)t * per, rows = r0 < m ? (m - r0 < per ? m - r0 : per) : 0;
      if (rows > 0) /* op(A)'s rows r0.. start at row r0 of A ('N') or column r0 ('T') */
        dnnl_sgemm(ta, tb, rows, n, k, alpha, ta == 'N' ? a + (size_t)r0 * lda : a + r0, lda, b, ldb, beta,
                   c + (size_t)r0 * ldc, ldc);
    }
  } else {
    dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }
}

void td_blas_dnnl_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, blasint m,
                        blasint n, blasint k, float alpha, const float *a, blasint lda, const float *b, blasint ldb,
                        float beta, float *c, blasint ldc) {
  if (m <= 0 || n <= 0) return;
  if (order == CblasRowMajor)
    sgemm_split(trans_char(ta), trans_char(tb), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else /* column-major C (m x n) is row-major C^T = op(B)^T op(A)^T */
    sgemm_split(trans_char(tb), trans_char(ta), n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
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
    sgemm_split(trans ? 'T' : 'N', 'N', ylen, 1, xlen, alpha, a, lda, x, 1, beta, y, 1);
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
