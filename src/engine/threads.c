/* threads.c — the engine's intra-op thread count, and OpenBLAS loaded on first use.
 *
 * The BLAS (OpenBLAS) thread pool is process-wide, so --tensorflow_intra_op_parallelism sets
 * it once at start-up; 0 keeps the libraries' defaults (one thread per core). OpenMP's team size
 * (oneDNN) is a per-thread setting that threads not created by OpenMP take from the environment,
 * so every run applies the requested size to its calling thread (td_engine_thread_enter, once
 * per thread and value).
 *
 * OpenBLAS is expensive to have loaded while idle: ~3 MiB of RSS for the library, its gfortran
 * dependencies and its thread pool, plus 60 KiB of static TLS that glibc zeroes on every thread
 * the process creates (the REST and gRPC pools). So the engine reaches it only through the
 * cblas_sgemm / cblas_dgemm / cblas_sgemv defined here, which dlopen it on the first GEMM (pthread_once) and
 * call through. With nothing else referencing OpenBLAS, the linker's --as-needed (the Debian
 * toolchain default) leaves it out of DT_NEEDED; where it is still linked, these definitions
 * interpose the library's own and dlopen finds the loaded copy (correct, just no saving).
 * Any other BLAS entry point the engine starts to use needs a wrapper here too. The thread
 * count requested before the load is applied right after it. TD_OPENBLAS_LIB (a path,
 * optional compile definition) is tried first; then OpenBLAS's usual install names.
 *
 * The same entry points run on oneDNN (blas_dnnl.c) instead — same results within float
 * rounding — where no OpenBLAS can be loaded (the runtime container image leaves it out: 36 MB),
 * where the CPU has AVX-512 but OpenBLAS has no AVX-512 kernels for it (it reports e.g.
 * "Haswell" for AMD family 26: half the GEMM speed, and mixing its thread pool with oneDNN's
 * OpenMP team in one loop starved both at 2 threads), or where TD_BLAS=dnnl. TD_BLAS=openblas
 * keeps OpenBLAS whenever it loads. The choice is made once, at the first GEMM, and logged.
 * With OpenBLAS chosen, small matrix-vector products still run serially on oneDNN when the
 * intra-op team is larger than one (serial_vector_product).
 */
#include <cblas.h>
#include <ctype.h>
#include <dlfcn.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas_dnnl.h"
#include "engine/engine.h"
#include "engine/kernels/math_internal.h" /* td_math_isa: the kernels' ISA level */
#include "util/log.h"

typedef void (*sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const enum CBLAS_TRANSPOSE,
                         const blasint, const blasint, const blasint, const float, const float *, const blasint,
                         const float *, const blasint, const float, float *, const blasint);
typedef void (*dgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const enum CBLAS_TRANSPOSE,
                         const blasint, const blasint, const blasint, const double, const double *, const blasint,
                         const double *, const blasint, const double, double *, const blasint);
typedef void (*sgemv_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const blasint, const blasint,
                         const float, const float *, const blasint, const float *, const blasint, const float, float *,
                         const blasint);
typedef void (*set_threads_fn)(int);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static sgemm_fn real_sgemm;
static dgemm_fn real_dgemm;
static sgemv_fn real_sgemv;
static set_threads_fn real_set_threads;
static pthread_mutex_t blas_mu = PTHREAD_MUTEX_INITIALIZER; /* blas_threads vs. the load */
static int blas_threads; /* requested thread count; 0 = library default */
static int blas_loaded;
static atomic_int omp_threads; /* requested OpenMP team size; 0 = default */

static void no_set_threads(int n) { (void)n; } /* oneDNN follows OpenMP's per-thread team size */

static void use_dnnl(void) {
  real_sgemm = td_blas_dnnl_sgemm;
  real_dgemm = td_blas_dnnl_dgemm;
  real_sgemv = td_blas_dnnl_sgemv;
  real_set_threads = no_set_threads;
}

static void *blas_sym(void *lib, const char *name) {
  void *sym = dlsym(lib, name);
  if (!sym) {
    fprintf(stderr, "tensord: OpenBLAS has no %s: %s\n", name, dlerror());
    abort();
  }
  return sym;
}

/* 0 (with why) when the CPU has AVX-512 but the loaded OpenBLAS runs non-AVX-512 kernels on it. */
static int openblas_fits_cpu(void *lib, char *why, size_t n) {
  if (td_math_isa() != 2) return 1; /* no AVX-512 (or not x86): nothing better to pick */
  void *sym = dlsym(lib, "openblas_get_corename");
  if (!sym) return 1;
  char *(*corename)(void);
  memcpy(&corename, &sym, sizeof sym);
  const char *core = corename();
  char lower[32] = "";
  for (size_t i = 0; core && core[i] && i + 1 < sizeof lower; i++) lower[i] = (char)tolower((unsigned char)core[i]);
  static const char *const avx512_cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
  for (size_t i = 0; i < sizeof avx512_cores / sizeof *avx512_cores; i++)
    if (strstr(lower, avx512_cores[i])) return 1;
  snprintf(why, n, "OpenBLAS runs its \"%.24s\" kernels on this AVX-512 CPU", core ? core : "?");
  return 0;
}

static void blas_load(void) {
  static const char *const names[] = {
#ifdef TD_OPENBLAS_LIB
      TD_OPENBLAS_LIB,
#endif
      "libopenblas.so.0",
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
      "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
      "libopenblas.so",
  };
  const char *want = getenv("TD_BLAS");
  int force_dnnl = want && !strcmp(want, "dnnl"), force_openblas = want && !strcmp(want, "openblas");
  void *lib = NULL;
  if (!force_dnnl)
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
  char why[96] = "";
  if (!lib && !force_dnnl) snprintf(why, sizeof why, "OpenBLAS not found (libopenblas.so.0)");
  if (lib && !force_openblas && !openblas_fits_cpu(lib, why, sizeof why)) {
    dlclose(lib);
    lib = NULL;
  }
  if (!lib) {
    if (*why) TD_LOG_INFO("GEMMs run on oneDNN: %s", why);
    use_dnnl();
    pthread_mutex_lock(&blas_mu);
    blas_loaded = 1;
    pthread_mutex_unlock(&blas_mu);
    return;
  }
  void *s = blas_sym(lib, "cblas_sgemm"), *d = blas_sym(lib, "cblas_dgemm"), *t = blas_sym(lib, "openblas_set_num_threads");
  void *v = blas_sym(lib, "cblas_sgemv");
  memcpy(&real_sgemm, &s, sizeof s);
  memcpy(&real_dgemm, &d, sizeof d);
  memcpy(&real_sgemv, &v, sizeof v);
  memcpy(&real_set_threads, &t, sizeof t);
  pthread_mutex_lock(&blas_mu);
  if (blas_threads > 0) real_set_threads(blas_threads);
  blas_loaded = 1;
  pthread_mutex_unlock(&blas_mu);
}

/* 1 when a matrix-vector product of `macs` multiply-adds should leave OpenBLAS for the calling
 * thread: OpenBLAS's pool has no per-call thread count and wakes for products over ~9k elements,
 * so an LSTM step at batch 1 ran 2.2x slower on 2 threads than on 1 (TD_BLAS=openblas, AMD
 * EPYC). oneDNN's sgemm runs such a product serially (blas_dnnl.c) and, with one row or column,
 * allocates nothing. One intra-op thread, or a call inside an OpenMP region, stays on OpenBLAS. */
static int serial_vector_product(double macs) {
  return real_sgemm != td_blas_dnnl_sgemm && macs < TD_BLAS_SERIAL_MACS && !omp_in_parallel() &&
         omp_get_max_threads() > 1;
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const blasint m, const blasint n, const blasint k, const float alpha, const float *a, const blasint lda,
                 const float *b, const blasint ldb, const float beta, float *c, const blasint ldc) {
  pthread_once(&blas_once, blas_load);
  if ((m == 1 || n == 1) && serial_vector_product((double)m * n * k))
    td_blas_dnnl_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  else
    real_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int td_blas_is_dnnl(void) {
  pthread_once(&blas_once, blas_load);
  return real_sgemm == td_blas_dnnl_sgemm;
}

void cblas_dgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                 const blasint m, const blasint n, const blasint k, const double alpha, const double *a,
                 const blasint lda, const double *b, const blasint ldb, const double beta, double *c,
                 const blasint ldc) {
  pthread_once(&blas_once, blas_load);
  real_dgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void cblas_sgemv(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const blasint m, const blasint n,
                 const float alpha, const float *a, const blasint lda, const float *x, const blasint incx,
                 const float beta, float *y, const blasint incy) {
  pthread_once(&blas_once, blas_load);
  if (incx == 1 && incy == 1 && serial_vector_product((double)m * n))
    td_blas_dnnl_sgemv(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
  else
    real_sgemv(order, ta, m, n, alpha, a, lda, x, incx, beta, y, incy);
}

void td_engine_set_intra_op_threads(int n) {
  if (n <= 0) return;
  pthread_mutex_lock(&blas_mu);
  blas_threads = n;
  if (blas_loaded) real_set_threads(n); /* else the load applies it */
  pthread_mutex_unlock(&blas_mu);
  atomic_store(&omp_threads, n);
  td_engine_thread_enter();
}

void td_engine_thread_enter(void) {
  static _Thread_local int applied;
  int want = atomic_load_explicit(&omp_threads, memory_order_relaxed);
  if (want > 0 && applied != want) {
    omp_set_num_threads(want);
    applied = want;
  }
}
