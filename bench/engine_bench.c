/* engine_bench.c — times tensord's engine (td_model_run) on one SavedModel, no server.
 *
 * usage: engine_bench MODEL_VERSION_DIR BATCH ITERS WARMUP THREADS
 *
 * Loads the model with td_model_load, feeds the serving_default signature's single input (its
 * shape from the SignatureDef, -1 replaced by BATCH) filled with x[i] = ((i*7919)%256)/255 when it
 * is float, ids[i] = (i*7919)%100000 when it is int64 (the deepfm model's sparse ids),
 * runs WARMUP untimed and ITERS timed calls and prints one JSON object on stdout:
 *   {"engine":"tensord","batch":B,"threads":T,"iters":N,"median_ms":..,"mean_ms":..,"p90_ms":..,
 *    "min_ms":..,"checksum":..}
 * checksum = sum_i y[i] * (i % 7 + 1) over the first output (the other drivers print the same).
 * THREADS sets the engine's intra-op threads (OpenBLAS + OpenMP pools, as --tensorflow_intra_op_parallelism).
 * EB_TRACE=PATH in the environment writes a per-op Chrome trace of the timed calls (trace.h);
 * the timings then include the tracing's cost.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dlfcn.h>
#include <dnnl.h>

#include "engine/engine.h"
#include "engine/trace.h"
#include "model/model.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODEL_VERSION_DIR BATCH ITERS WARMUP THREADS\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int batch = atoi(argv[2]), iters = atoi(argv[3]), warmup = atoi(argv[4]), threads = atoi(argv[5]);
  if (batch < 1 || iters < 1 || warmup < 0 || threads < 1) return 2;
  td_engine_set_intra_op_threads(threads);

  td_status st = {0};
  td_model *m = NULL;
  td_model_options mo = {.intra_op_threads = threads};
  double t0 = now_ms();
  if (td_model_load(dir, NULL, 0, &mo, &m, &st) != TD_OK) {
    fprintf(stderr, "engine_bench: load %s: %s\n", dir, st.msg);
    return 1;
  }
  double load_ms = now_ms() - t0;
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  if (!sig || sig->num_inputs != 1 || sig->inputs[0].shape.rank < 1) {
    fprintf(stderr, "engine_bench: need serving_default with one ranked input\n");
    return 1;
  }
  td_shape shape = sig->inputs[0].shape;
  for (int i = 0; i < shape.rank; i++)
    if (shape.dim[i] < 0) shape.dim[i] = batch;
  td_tensor in;
  td_dtype dt = sig->inputs[0].dtype;
  if ((dt != TD_DT_FLOAT && dt != TD_DT_INT64) || td_tensor_alloc(&in, dt, &shape, &st) != TD_OK) {
    fprintf(stderr, "engine_bench: input must be float or int64: %s\n", st.msg);
    return 1;
  }
  int64_t n = td_tensor_num_elements(&in);
  if (dt == TD_DT_FLOAT) {
    float *x = td_f32(&in);
    for (int64_t i = 0; i < n; i++) x[i] = (float)((i * 7919) % 256) / 255.0f;
  } else {
    int64_t *ids = td_i64(&in);
    for (int64_t i = 0; i < n; i++) ids[i] = (i * 7919) % 100000;
  }

  int nout = sig->num_outputs;
  td_tensor *out = calloc((size_t)nout, sizeof *out);
  double *t = malloc(sizeof(double) * (size_t)iters);
  double checksum = 0;
  const char *trace = getenv("EB_TRACE");
  for (int it = -warmup; it < iters; it++) {
    if (it == 0 && trace && *trace && td_trace_open(trace, &st) != TD_OK) {
      fprintf(stderr, "engine_bench: %s\n", st.msg);
      return 1;
    }
    double s = now_ms();
    if (td_model_run(m, sig, &in, out, &st) != TD_OK) {
      fprintf(stderr, "engine_bench: run: %s\n", st.msg);
      return 1;
    }
    double e = now_ms() - s;
    if (it >= 0) t[it] = e;
    if (it == iters - 1) {
      const float *y = td_f32(&out[0]);
      int64_t ny = td_tensor_num_elements(&out[0]);
      for (int64_t i = 0; i < ny; i++) checksum += (double)y[i] * (double)(i % 7 + 1);
    }
    for (int j = 0; j < nout; j++) td_tensor_release(&out[j]);
  }
  td_trace_close();
  double sum = 0;
  for (int i = 0; i < iters; i++) sum += t[i];
  qsort(t, (size_t)iters, sizeof(double), cmp_d);
  int p90 = (int)(0.9 * (iters - 1) + 0.5);
  /* OpenBLAS's build string when the engine loaded it; looked up, not linked: a direct call
   * would load OpenBLAS (and start its thread pool) in every run, which tensord does not. */
  const char *(*blas_config)(void) = NULL;
  void *sym = dlsym(RTLD_DEFAULT, "openblas_get_config");
  memcpy(&blas_config, &sym, sizeof sym);
  const dnnl_version_t *dv = dnnl_version();
  printf("{\"engine\":\"tensord\",\"version\":\"%s; oneDNN %d.%d.%d\",\"batch\":%d,\"threads\":%d,\"iters\":%d,\"median_ms\":%.4f,\"mean_ms\":%.4f,"
         "\"p90_ms\":%.4f,\"min_ms\":%.4f,\"load_ms\":%.2f,\"checksum\":%.6f}\n",
         blas_config ? blas_config() : "OpenBLAS not loaded", dv->major, dv->minor, dv->patch, batch, threads, iters, t[iters / 2], sum / iters, t[p90], t[0], load_ms, checksum);
  td_tensor_release(&in);
  free(out);
  free(t);
  td_model_free(m);
  return 0;
}
