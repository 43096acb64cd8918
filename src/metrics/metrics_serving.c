/* metrics_serving.c — the process-wide registry with TF Serving's metric families
 * (tfserving-api.md §6) and the hooks the front ends, the manager and warmup call.
 *
 * Invariants: the global registry and its families are created once (pthread_once) and never
 * freed; the family table below is the single place that names them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "metrics/metrics.h"

#define LATENCY_BUCKETS 33 /* 10 * 1.8^i µs */
#define QUEUING_BUCKETS 52 /* 100 * 1.2^i µs */
#define BATCH_BUCKETS 14   /* 1, 2, 4, ..., 2^13 */
#define MAX_BUCKETS QUEUING_BUCKETS

typedef enum bucket_kind { NO_BUCKETS, LATENCY, QUEUING, BATCH_SIZE } bucket_kind;

enum {
  REQUEST_COUNT,
  REQUEST_LATENCY,
  RUNTIME_LATENCY,
  LOAD_ATTEMPT_COUNT,
  LOAD_LATENCY,
  WARMUP_LATENCY,
  WARMUP_RECORDS_READ,
  BATCH_QUEUING_LATENCY,
  BATCH_WRAPPED_RUN_COUNT,
  BATCH_INPUT_SIZE,
  BATCH_PROCESSED_SIZE,
  BATCH_PADDING_SIZE,
  N_FAMILIES
};

typedef struct family_spec {
  td_metric_kind kind;
  const char *name;
  int n_labels;
  const char *labels[TD_METRICS_MAX_LABELS];
  bucket_kind buckets; /* histograms */
} family_spec;

static const family_spec families[N_FAMILIES] = {
    [REQUEST_COUNT] = {TD_METRIC_COUNTER, "/tensorflow/serving/request_count", 2, {"model_name", "status"}, 0},
    [REQUEST_LATENCY] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/request_latency", 3,
                         {"model_name", "API", "entrypoint"}, LATENCY},
    [RUNTIME_LATENCY] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/runtime_latency", 3,
                         {"model_name", "API", "runtime"}, LATENCY},
    [LOAD_ATTEMPT_COUNT] = {TD_METRIC_COUNTER, "/tensorflow/cc/saved_model/load_attempt_count", 2,
                            {"model_path", "status"}, NO_BUCKETS},
    [LOAD_LATENCY] = {TD_METRIC_COUNTER, "/tensorflow/cc/saved_model/load_latency", 1, {"model_path"}, NO_BUCKETS},
    [WARMUP_LATENCY] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/model_warmup_latency", 2,
                        {"model_path", "status"}, LATENCY},
    [WARMUP_RECORDS_READ] = {TD_METRIC_COUNTER, "/tensorflow/serving/model_warmup_records_read", 2,
                             {"model_path", "status"}, NO_BUCKETS},
    [BATCH_QUEUING_LATENCY] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/batching_session/queuing_latency", 1,
                               {"thread_pool_name"}, QUEUING},
    [BATCH_WRAPPED_RUN_COUNT] = {TD_METRIC_COUNTER, "/tensorflow/serving/batching_session/wrapped_run_count", 0,
                                 {NULL}, NO_BUCKETS},
    [BATCH_INPUT_SIZE] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/batching_session/input_batch_size", 0, {NULL},
                          BATCH_SIZE},
    [BATCH_PROCESSED_SIZE] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/batching_session/processed_batch_size", 0,
                              {NULL}, BATCH_SIZE},
    [BATCH_PADDING_SIZE] = {TD_METRIC_HISTOGRAM, "/tensorflow/serving/batching_session/padding_size", 1,
                            {"execution_batch_size"}, BATCH_SIZE},
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static td_metrics *global;
static td_metric *family[N_FAMILIES];
static _Atomic(const td_metrics_model_filter *) model_filter;

void td_metrics_set_model_filter(const td_metrics_model_filter *f) { atomic_store(&model_filter, f); }

/* The model_name label of a request: the name when configured (or no filter), else one label. */
static const char *model_label(const char *model) {
  const td_metrics_model_filter *f = atomic_load(&model_filter);
  if (!f || !model || f->known(f->ctx, model)) return model;
  return TD_METRICS_UNKNOWN_MODEL;
}

static void init_global(void) {
  global = td_metrics_new();
  static const struct { double scale, growth; int n; } specs[] = {
      [NO_BUCKETS] = {1, 1, 0}, [LATENCY] = {10, 1.8, LATENCY_BUCKETS}, [QUEUING] = {100, 1.2, QUEUING_BUCKETS},
      [BATCH_SIZE] = {1, 2, BATCH_BUCKETS}};
  for (int i = 0; i < N_FAMILIES; i++) {
    const family_spec *f = &families[i];
    double bounds[MAX_BUCKETS];
    td_metrics_exponential_bounds(specs[f->buckets].scale, specs[f->buckets].growth, specs[f->buckets].n, bounds);
    family[i] = td_metrics_register(global, f->kind, f->name, f->n_labels, f->labels, bounds, specs[f->buckets].n);
  }
}

td_metrics *td_metrics_global(void) {
  pthread_once(&once, init_global);
  return global;
}

void td_metrics_request(const char *model, const char *api, const char *entrypoint, td_code status,
                        int64_t latency_us) {
  td_metrics_global();
  if (status != TD_OK) model = model_label(model); /* a request that ran names a served model */
  const char *count_labels[] = {model, td_code_name(status)};
  td_metric_add(family[REQUEST_COUNT], count_labels, 1);
  if (status != TD_OK) return; /* TF records latency only for successful requests */
  const char *latency_labels[] = {model, api, entrypoint};
  td_metric_observe(family[REQUEST_LATENCY], latency_labels, (double)latency_us);
}

void td_metrics_runtime(const char *model, const char *api, int64_t latency_us) {
  td_metrics_global();
  const char *labels[] = {model, api, "TF1"}; /* only requests that ran: a served model */
  td_metric_observe(family[RUNTIME_LATENCY], labels, (double)latency_us);
}

void td_metrics_load(const char *model_path, int ok, int64_t latency_us) {
  td_metrics_global();
  const char *attempt_labels[] = {model_path, ok ? "success" : "fail"};
  td_metric_add(family[LOAD_ATTEMPT_COUNT], attempt_labels, 1);
  if (ok) td_metric_add(family[LOAD_LATENCY], &model_path, latency_us);
}

void td_metrics_warmup(const char *model_path, td_code status, int64_t latency_us, int64_t records) {
  td_metrics_global();
  const char *labels[] = {model_path, td_code_name(status)};
  td_metric_observe(family[WARMUP_LATENCY], labels, (double)latency_us);
  td_metric_add(family[WARMUP_RECORDS_READ], labels, records);
}

void td_metrics_batch_task(const char *thread_pool_name, int64_t input_size, int64_t queuing_us) {
  td_metrics_global();
  td_metric_add(family[BATCH_WRAPPED_RUN_COUNT], NULL, 1);
  td_metric_observe(family[BATCH_INPUT_SIZE], NULL, (double)input_size);
  td_metric_observe(family[BATCH_QUEUING_LATENCY], &thread_pool_name, (double)queuing_us);
}

void td_metrics_batch_run(int64_t execution_size, int64_t padding) {
  td_metrics_global();
  char size[24];
  snprintf(size, sizeof size, "%lld", (long long)execution_size);
  const char *labels[] = {size};
  td_metric_observe(family[BATCH_PROCESSED_SIZE], NULL, (double)execution_size);
  td_metric_observe(family[BATCH_PADDING_SIZE], labels, (double)padding);
}
