/* rest_json_bench.c — times the REST predict codec alone (no server, no model): a captured
 * predict body is scanned (td_rest_predict_scan), converted into its input tensor
 * (td_rest_predict_inputs, one float input named flatten_input unless DTYPE says otherwise)
 * and a [rows, 10] float output is written back as {"predictions": ...}, ITERS times on one
 * thread.
 *
 * usage: rest_json_bench BODY_FILE ITERS [DTYPE: float|double] [PATH: fast|pull]
 *
 * PATH pull turns the simdjson fast path off (td_rest_fast_set_enabled(0)): the pull reader
 * alone, as before the fast path existed.
 *
 * Prints one JSON object: {"bytes":..,"iters":..,"scan_us":..,"inputs_us":..,"response_us":..,
 * "total_us":..,"mb_per_s":..,"checksum":..} — medians per request in microseconds; checksum =
 * sum of the input tensor's elements (the same for every parser that rounds correctly).
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that a machine shared with
 * other work still gives comparable numbers (cache sharing aside).
 *
 * Build: like bench/run.sh's engine_bench — CMake's link line for tensord with
 * src/cli/main.c.o swapped for this file's object. A body as the seed workload sends it:
 *   {"instances": (images[:100] / 255.0).tolist()} dumped by Python's json (bench/seed_bench.py).
 * The response's values are softmax-like probabilities v[i][k] = (i*31+k*7)%97/97 / 3.1, the
 * kind of float a classifier returns. Single-threaded; nothing is shared.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/rest_fast.h"
#include "http/rest_json.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return v[n / 2];
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = malloc((size_t)n + 64); /* + padding, as the server's body buffer */
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
    fclose(f);
    free(data);
    return NULL;
  }
  fclose(f);
  memset(data + n, 0, 64);
  *len = (size_t)n;
  return data;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s BODY_FILE ITERS [float|double] [fast|pull]\n", argv[0]);
    return 2;
  }
  size_t len;
  char *body = read_file(argv[1], &len);
  if (!body) {
    fprintf(stderr, "cannot read %s\n", argv[1]);
    return 1;
  }
  int iters = atoi(argv[2]);
  if (iters < 1) iters = 1;
  td_dtype dtype = argc > 3 && !strcmp(argv[3], "double") ? TD_DT_DOUBLE : TD_DT_FLOAT;
  int pull = argc > 4 && !strcmp(argv[4], "pull");
  td_rest_fast_set_enabled(!pull);
  td_sig_tensor in = {.alias = "flatten_input", .tensor_name = "x:0", .dtype = dtype, .shape = {.rank = -1}};
  td_signature sig = {.key = "serving_default", .num_inputs = 1, .inputs = &in};
  double *t_scan = calloc((size_t)iters, sizeof(double)), *t_in = calloc((size_t)iters, sizeof(double));
  double *t_out = calloc((size_t)iters, sizeof(double)), *t_all = calloc((size_t)iters, sizeof(double));
  double checksum = 0;
  for (int it = 0; it < iters; it++) {
    td_status st = {0};
    td_rest_predict_req req;
    double t0 = now_us();
    if (td_rest_predict_scan(body, len, &req, &st) != TD_OK) {
      fprintf(stderr, "scan: %s\n", st.msg);
      return 1;
    }
    double t1 = now_us();
    td_named_tensor *inputs;
    int n;
    if (td_rest_predict_inputs(&req, &sig, &inputs, &n, &st) != TD_OK) {
      fprintf(stderr, "inputs: %s\n", st.msg);
      return 1;
    }
    double t2 = now_us();
    int64_t rows = inputs[0].tensor.shape.dim[0];
    td_named_tensor out = {.name = "dense_1"};
    td_shape shape = {.rank = 2, .dim = {rows, 10}};
    if (td_tensor_alloc(&out.tensor, TD_DT_FLOAT, &shape, &st) != TD_OK) return 1;
    for (int64_t i = 0; i < rows * 10; i++) td_f32(&out.tensor)[i] = (float)((i / 10 * 31 + i % 10 * 7) % 97) / 97.0f / 3.1f;
    double t3 = now_us();
    td_buf resp;
    td_buf_init(&resp);
    if (td_rest_predict_response(req.row_format, &out, 1, &resp, &st) != TD_OK) return 1;
    double t4 = now_us();
    if (it == 0) {
      int64_t ne = td_tensor_num_elements(&inputs[0].tensor);
      for (int64_t i = 0; i < ne; i++)
        checksum += dtype == TD_DT_FLOAT ? td_f32(&inputs[0].tensor)[i] : td_f64(&inputs[0].tensor)[i];
    }
    td_buf_release(&resp);
    td_tensor_release(&out.tensor);
    td_rest_inputs_free(inputs, n);
    td_rest_predict_req_free(&req);
    t_scan[it] = t1 - t0;
    t_in[it] = t2 - t1;
    t_out[it] = t4 - t3;
    t_all[it] = (t2 - t0) + (t4 - t3);
  }
  double all = median(t_all, iters);
  printf("{\"path\":\"%s\",\"bytes\":%zu,\"iters\":%d,\"scan_us\":%.1f,\"inputs_us\":%.1f,\"response_us\":%.1f,\"total_us\":%.1f,"
         "\"mb_per_s\":%.0f,\"checksum\":%.9g}\n",
         pull ? "pull" : "fast", len, iters, median(t_scan, iters), median(t_in, iters), median(t_out, iters), all, len / all, checksum);
  free(body);
  free(t_scan);
  free(t_in);
  free(t_out);
  free(t_all);
  return 0;
}
