/* metrics.h — a small metrics registry (counters, gauges, histograms with string labels) and
 * its Prometheus text exposition, in TF's monitoring model (tfserving-api.md §6).
 *
 * A metric family has a raw TF name ("/tensorflow/serving/request_count"), fixed label names
 * and, for histograms, fixed bucket upper bounds. A series is one combination of label values;
 * it is created on first use and lives as long as the registry. Histogram buckets are TF's
 * [lower, upper): a value equal to a bound counts in the next bucket; an implicit last bucket
 * (+Inf) takes everything above the last bound.
 *
 * Exposition (td_metrics_write_prometheus): families sorted by exported name (non
 * [a-zA-Z0-9_] → ':', leading digit → '_' prefix), "# TYPE" line, then series sorted by
 * label values; families without series are left out; "\n" after every line.
 *
 * Ownership: a registry owns its families and series; family pointers stay valid until
 * td_metrics_free. td_metrics_global() is process-wide and never freed.
 * Thread safety: every function may be called from any thread. Recording takes a family's
 * read lock to find the series (write lock only to create one) and updates values with
 * atomics, so concurrent requests do not serialize on a mutex.
 */
#ifndef TD_METRICS_METRICS_H
#define TD_METRICS_METRICS_H

#include <stdint.h>

#include "util/buf.h"
#include "util/status.h"

#define TD_METRICS_MAX_LABELS 4

typedef struct td_metrics td_metrics;
typedef struct td_metric td_metric;

typedef enum td_metric_kind { TD_METRIC_COUNTER, TD_METRIC_GAUGE, TD_METRIC_HISTOGRAM } td_metric_kind;

td_metrics *td_metrics_new(void);
void td_metrics_free(td_metrics *r);
/* The process-wide registry, with TF Serving's families (below) already registered. */
td_metrics *td_metrics_global(void);

/* Registers a family (or returns the existing one of that name when kind and label count
 * match; NULL otherwise, or for more than TD_METRICS_MAX_LABELS labels). bounds: strictly
 * increasing histogram upper bounds (copied); ignored for counters and gauges. */
td_metric *td_metrics_register(td_metrics *r, td_metric_kind kind, const char *name, int n_labels,
                               const char *const *label_names, const double *bounds, int n_bounds);
/* Fills out[0..n) with scale * growth^i (TF's Buckets::Exponential). */
void td_metrics_exponential_bounds(double scale, double growth, int n, double *out);

/* label_values: one per label name (NULL entries read as ""). NULL metric: no-op. */
void td_metric_add(td_metric *m, const char *const *label_values, int64_t delta); /* counter/gauge */
void td_metric_set(td_metric *m, const char *const *label_values, int64_t value); /* gauge */
void td_metric_observe(td_metric *m, const char *const *label_values, double value); /* histogram */
/* Current value (counter/gauge) or sample count (histogram) of a series; 0 if absent. */
int64_t td_metric_value(td_metric *m, const char *const *label_values);

/* Appends the Prometheus text exposition of every family to out. */
void td_metrics_write_prometheus(td_metrics *r, td_buf *out);

/* ---- TF Serving's metrics, recorded in td_metrics_global() ---- */

/* One served request (Predict/Classify/Regress...). api: "predict", "classify", "regress"
 * (spelled "Predict"... for GRPC, as TF Serving labels it); entrypoint "REST" or "GRPC".
 * Counts :tensorflow:serving:request_count{model_name,status}; on success also records
 * :tensorflow:serving:request_latency{model_name,API,entrypoint} (µs). */
void td_metrics_request(const char *model, const char *api, const char *entrypoint, td_code status,
                        int64_t latency_us);
/* Request series are bounded: once a model filter is set, a failed request's model_name the
 * filter does not know (a request naming an unconfigured model) is recorded as
 * TD_METRICS_UNKNOWN_MODEL, so bogus names cannot create series (a request that ran names a
 * served model; the filter is not consulted on that hot path). The filter (fn, ctx) must stay valid until it is replaced or
 * cleared (NULL); setting it is not synchronized with recording beyond an atomic pointer
 * swap, so set it before the front ends start and clear it after they stopped. */
#define TD_METRICS_UNKNOWN_MODEL "__unknown__"
typedef struct td_metrics_model_filter {
  int (*known)(void *ctx, const char *model); /* 1: the name is a configured model */
  void *ctx;
} td_metrics_model_filter;
void td_metrics_set_model_filter(const td_metrics_model_filter *f);
/* Time spent running the model for one request: runtime_latency{model_name,API,runtime="TF1"}. */
void td_metrics_runtime(const char *model, const char *api, int64_t latency_us);
/* One SavedModel load attempt of model_path (the version directory):
 * :tensorflow:cc:saved_model:load_attempt_count{model_path,status="success"|"fail"} and, on
 * success, :tensorflow:cc:saved_model:load_latency{model_path} += latency_us (a counter, as TF). */
void td_metrics_load(const char *model_path, int ok, int64_t latency_us);
/* One warmup run of model_path: model_warmup_latency{model_path,status} (µs) and
 * model_warmup_records_read{model_path,status} += records. status is the code name ("OK"...). */
void td_metrics_warmup(const char *model_path, td_code status, int64_t latency_us, int64_t records);

/* Server-side batching (batching/): one task (a run of input_size rows) that waited queuing_us
 * for its batch — batching_session/{wrapped_run_count, input_batch_size,
 * queuing_latency{thread_pool_name}}; one batch run — processed_batch_size and
 * padding_size{execution_batch_size}. */
void td_metrics_batch_task(const char *thread_pool_name, int64_t input_size, int64_t queuing_us);
void td_metrics_batch_run(int64_t execution_size, int64_t padding);
/* Monotonic clock in microseconds (for latencies). */
int64_t td_metrics_now_us(void);

#endif
