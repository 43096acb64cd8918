/* blas_dnnl.h — CBLAS-shaped sgemm / sgemv / dgemm computed without OpenBLAS (oneDNN's
 * dnnl_sgemm; a plain loop for double). Used by threads.c when OpenBLAS is absent or TD_BLAS=dnnl.
 * beta == 0 ignores C's (y's) prior contents, as BLAS does. Any thread may call. */
#ifndef TD_ENGINE_BLAS_DNNL_H
#define TD_ENGINE_BLAS_DNNL_H

#include <cblas.h>

/* Products of fewer multiply-adds than this run on the calling thread (blas_dnnl.c explains the
 * measurement); threads.c also sends small matrix-vector products here from the OpenBLAS path. */
#define TD_BLAS_SERIAL_MACS (1 << 20)
/* Rows per thread from which a product is split by rows, one sequential dnnl_sgemm per thread. */
#define TD_BLAS_SPLIT_ROWS 16

/* Rows per thread when m rows are split over team threads: whole 8-row blocks for the kernels. */
static inline long long td_blas_rows_per_thread(long long m, int team) { return ((m + team - 1) / team + 7) & ~7LL; }

/* 1 when the engine's GEMMs run on oneDNN (threads.c's choice, made once; the first call makes
 * it). Kernels that call td_blas_dnnl_sgemm inside their own OpenMP region use it to keep one
 * BLAS per product across thread counts. */
int td_blas_is_dnnl(void);

void td_blas_dnnl_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, blasint m,
                        blasint n, blasint k, float alpha, const float *a, blasint lda, const float *b, blasint ldb,
                        float beta, float *c, blasint ldc);
void td_blas_dnnl_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, blasint m, blasint n, float alpha,
                        const float *a, blasint lda, const float *x, blasint incx, float beta, float *y,
                        blasint incy);
void td_blas_dnnl_dgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, blasint m,
                        blasint n, blasint k, double alpha, const double *a, blasint lda, const double *b,
                        blasint ldb, double beta, double *c, blasint ldc);

#endif
