/* threads.c — the engine's intra-op thread count. The BLAS (OpenBLAS) and oneDNN (OpenMP)
 * thread pools are process-wide, so --tensorflow_intra_op_parallelism sets them once at
 * start-up; 0 keeps the libraries' defaults (one thread per core). */
#include <cblas.h>
#include <omp.h>

#include "engine/engine.h"

void td_engine_set_intra_op_threads(int n) {
  if (n <= 0) return;
  openblas_set_num_threads(n);
  omp_set_num_threads(n);
}
