/* test_blas_dnnl.c — the oneDNN-backed BLAS entry points (used where OpenBLAS is absent, e.g.
 * the container image) against a naive double-precision reference: both storage orders, all
 * transpose modes, leading dimensions wider than the matrix, beta 0 over garbage, beta != 0,
 * sgemv with unit, wider and negative strides, and the thread regimes of the oneDNN path. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include "engine/blas_dnnl.h"

static float frand(unsigned *seed) { return (float)rand_r(seed) / RAND_MAX * 2.0f - 1.0f; }

/* element (r, c) of a matrix stored in `order` with leading dimension ld */
static size_t at(enum CBLAS_ORDER order, int r, int c, int ld) {
  return order == CblasRowMajor ? (size_t)r * ld + c : (size_t)c * ld + r;
}

/* C = 0.5 op(A) op(B) + beta C for an m x n x k product, against the reference. */
static void check_sgemm_size(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, float beta,
                             int m, int n, int k) {
  const int pad = 3;
  unsigned seed = 42u + (unsigned)order * 7 + (unsigned)ta * 3 + (unsigned)tb;
  int ar = ta == CblasNoTrans ? m : k, ac = ta == CblasNoTrans ? k : m; /* A as stored */
  int br = tb == CblasNoTrans ? k : n, bc = tb == CblasNoTrans ? n : k;
  int lda = (order == CblasRowMajor ? ac : ar) + pad, ldb = (order == CblasRowMajor ? bc : br) + pad;
  int ldc = (order == CblasRowMajor ? n : m) + pad;
  size_t na = (size_t)(order == CblasRowMajor ? ar : ac) * lda, nb = (size_t)(order == CblasRowMajor ? br : bc) * ldb;
  size_t nc = (size_t)(order == CblasRowMajor ? m : n) * ldc;
  float *a = malloc(na * sizeof *a), *b = malloc(nb * sizeof *b), *c = malloc(nc * sizeof *c), *c0 = malloc(nc * sizeof *c0);
  assert_non_null(a), assert_non_null(b), assert_non_null(c), assert_non_null(c0);
  for (size_t i = 0; i < na; i++) a[i] = frand(&seed);
  for (size_t i = 0; i < nb; i++) b[i] = frand(&seed);
  for (size_t i = 0; i < nc; i++) c0[i] = frand(&seed), c[i] = beta == 0 ? NAN : c0[i];
  td_blas_dnnl_sgemm(order, ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c, ldc);
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double want = 0;
      for (int p = 0; p < k; p++) {
        float av = ta == CblasNoTrans ? a[at(order, i, p, lda)] : a[at(order, p, i, lda)];
        float bv = tb == CblasNoTrans ? b[at(order, p, j, ldb)] : b[at(order, j, p, ldb)];
        want += (double)av * bv;
      }
      want = 0.5 * want + (beta == 0 ? 0 : beta * c0[at(order, i, j, ldc)]);
      assert_float_equal(c[at(order, i, j, ldc)], want, 1e-4 * (1 + sqrt((double)k)));
    }
  free(a), free(b), free(c), free(c0);
}

static void check_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, float beta) {
  check_sgemm_size(order, ta, tb, beta, 7, 5, 9);
}
static void test_sgemm_all_modes(void **state) {
  (void)state;
  enum CBLAS_ORDER orders[] = {CblasRowMajor, CblasColMajor};
  enum CBLAS_TRANSPOSE ts[] = {CblasNoTrans, CblasTrans};
  for (int o = 0; o < 2; o++)
    for (int x = 0; x < 2; x++)
      for (int y = 0; y < 2; y++) {
        check_sgemm(orders[o], ts[x], ts[y], 0.0f);
        check_sgemm(orders[o], ts[x], ts[y], 0.25f);
      }
}

static void check_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, int incx, int incy, float beta) {
  const int m = 6, n = 11, lda = (order == CblasRowMajor ? n : m) + 2;
  unsigned seed = 7u + (unsigned)(incx * 5 + incy);
  float a[32 * 32], x[64], y[64], y0[64];
  for (int i = 0; i < 32 * 32; i++) a[i] = frand(&seed);
  for (int i = 0; i < 64; i++) x[i] = frand(&seed), y0[i] = frand(&seed);
  for (int i = 0; i < 64; i++) y[i] = beta == 0 ? NAN : y0[i];
  int ylen = ta == CblasNoTrans ? m : n, xlen = ta == CblasNoTrans ? n : m;
  td_blas_dnnl_sgemv(order, ta, m, n, 2.0f, a, lda, x, incx, beta, y, incy);
  for (int i = 0; i < ylen; i++) {
    double want = 0;
    for (int j = 0; j < xlen; j++) {
      float av = ta == CblasNoTrans ? a[at(order, i, j, lda)] : a[at(order, j, i, lda)];
      int xi = incx > 0 ? j * incx : (xlen - 1 - j) * -incx; /* BLAS: negative strides run backwards */
      want += (double)av * x[xi];
    }
    int yi = incy > 0 ? i * incy : (ylen - 1 - i) * -incy;
    want = 2.0 * want + (beta == 0 ? 0 : beta * y0[yi]);
    assert_float_equal(y[yi], want, 1e-4);
  }
}

static void test_sgemv_modes_and_strides(void **state) {
  (void)state;
  enum CBLAS_ORDER orders[] = {CblasRowMajor, CblasColMajor};
  enum CBLAS_TRANSPOSE ts[] = {CblasNoTrans, CblasTrans};
  int incs[][2] = {{1, 1}, {2, 1}, {1, 3}, {-1, 2}, {2, -1}};
  for (int o = 0; o < 2; o++)
    for (int t = 0; t < 2; t++)
      for (int s = 0; s < 5; s++) {
        check_sgemv(orders[o], ts[t], incs[s][0], incs[s][1], 0.0f);
        check_sgemv(orders[o], ts[t], incs[s][0], incs[s][1], -1.5f);
      }
}

/* The three thread regimes of the oneDNN path (blas_dnnl.c's sgemm_split): products under a
 * million multiply-adds on the calling thread, larger ones split by rows over the team (70 rows:
 * a last share shorter than the others), and few rows left to oneDNN; teams of 1 to 3. The
 * caller's team size must survive the call. */
static void test_sgemm_thread_regimes(void **state) {
  (void)state;
  enum CBLAS_ORDER orders[] = {CblasRowMajor, CblasColMajor};
  enum CBLAS_TRANSPOSE ts[] = {CblasNoTrans, CblasTrans};
  int sizes[][3] = {{7, 5, 9}, {70, 150, 120}, {20, 300, 200}};
  for (int team = 1; team <= 3; team++) {
    omp_set_num_threads(team);
    for (int z = 0; z < 3; z++)
      for (int o = 0; o < 2; o++)
        for (int x = 0; x < 2; x++)
          for (int y = 0; y < 2; y++)
            check_sgemm_size(orders[o], ts[x], ts[y], x ? 0.0f : 0.25f, sizes[z][0], sizes[z][1], sizes[z][2]);
    assert_int_equal(omp_get_max_threads(), team);
  }
}

static void test_dgemm_matches_reference(void **state) {
  (void)state;
  /* row-major A (2x3) times column-major-stored B^T: C = A B with B = [[1,2],[3,4],[5,6]] */
  double a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 2, 3, 4, 5, 6}, c[4] = {100, 100, 100, 100};
  td_blas_dnnl_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1.0, a, 3, b, 2, 1.0, c, 2);
  double want[] = {100 + 22, 100 + 28, 100 + 49, 100 + 64};
  for (int i = 0; i < 4; i++) assert_float_equal(c[i], want[i], 1e-12);
  /* the same product column-major: C^T stored column-major is C row-major */
  double ct[4];
  td_blas_dnnl_dgemm(CblasColMajor, CblasTrans, CblasTrans, 2, 2, 3, 1.0, a, 3, b, 2, 0.0, ct, 2);
  double want_t[] = {22, 28, 49, 64}; /* ct[i + 2j] = C(i,j) */
  assert_float_equal(ct[0], want_t[0], 1e-12);
  assert_float_equal(ct[2], want_t[1], 1e-12);
  assert_float_equal(ct[1], want_t[2], 1e-12);
  assert_float_equal(ct[3], want_t[3], 1e-12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sgemm_all_modes),
      cmocka_unit_test(test_sgemm_thread_regimes),
      cmocka_unit_test(test_sgemv_modes_and_strides),
      cmocka_unit_test(test_dgemm_matches_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
