/* test_metrics.c — the metrics registry: exact Prometheus text for counters, gauges and
 * histograms (TF's [lower, upper) buckets, name/label mangling, escaping, ordering),
 * concurrent increments (4 threads x 100k) summing exactly, and the TF Serving hooks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"

static char *expose(td_metrics *r) {
  td_buf b;
  td_buf_init(&b);
  td_metrics_write_prometheus(r, &b);
  td_buf_putc(&b, 0);
  return td_buf_detach(&b, NULL);
}

static void test_counter_and_gauge_text(void **state) {
  td_metrics *r = td_metrics_new();
  const char *names[] = {"model_name", "status"};
  td_metric *c = td_metrics_register(r, TD_METRIC_COUNTER, "/tensorflow/serving/request_count", 2, names, NULL, 0);
  td_metric *g = td_metrics_register(r, TD_METRIC_GAUGE, "/a/gauge", 0, NULL, NULL, 0);
  td_metric *unused = td_metrics_register(r, TD_METRIC_COUNTER, "/z/unused", 0, NULL, NULL, 0);
  assert_non_null(unused);
  const char *v1[] = {"m", "OK"}, *v2[] = {"m", "NOT_FOUND"}, *v3[] = {"q\"\\", "OK"};
  td_metric_add(c, v1, 2);
  td_metric_add(c, v2, 1);
  td_metric_add(c, v1, 3);
  td_metric_add(c, v3, 1);
  td_metric_set(g, NULL, 7);
  td_metric_set(g, NULL, 5);
  assert_int_equal(td_metric_value(c, v1), 5);
  assert_int_equal(td_metric_value(c, (const char *const[]){"x", "y"}), 0);
  char *text = expose(r);
  assert_string_equal(text, "# TYPE :a:gauge gauge\n"
                            ":a:gauge{} 5\n"
                            "# TYPE :tensorflow:serving:request_count counter\n"
                            ":tensorflow:serving:request_count{model_name=\"m\",status=\"NOT_FOUND\"} 1\n"
                            ":tensorflow:serving:request_count{model_name=\"m\",status=\"OK\"} 5\n"
                            ":tensorflow:serving:request_count{model_name=\"q\\\"\\\\\",status=\"OK\"} 1\n");
  free(text);
  /* same name again: the existing family; a different kind: NULL */
  assert_ptr_equal(td_metrics_register(r, TD_METRIC_COUNTER, "/tensorflow/serving/request_count", 2, names, NULL, 0), c);
  assert_null(td_metrics_register(r, TD_METRIC_GAUGE, "/tensorflow/serving/request_count", 2, names, NULL, 0));
  td_metrics_free(r);
}

/* Series keys longer than the lookup's stack buffer take the heap path: same series each time. */
static void test_long_label_values(void **state) {
  (void)state;
  td_metrics *r = td_metrics_new();
  const char *names[] = {"model_name", "status"};
  td_metric *c = td_metrics_register(r, TD_METRIC_COUNTER, "/c", 2, names, NULL, 0);
  char long_name[400];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = 0;
  const char *vl[] = {long_name, "OK"}, *vs[] = {"short", "OK"};
  td_metric_add(c, vl, 1);
  td_metric_add(c, vl, 2);
  td_metric_add(c, vs, 5);
  assert_int_equal(td_metric_value(c, vl), 3);
  assert_int_equal(td_metric_value(c, vs), 5);
  char *text = expose(r);
  assert_non_null(strstr(text, "nnnnnnnn\",status=\"OK\"} 3\n"));
  free(text);
  td_metrics_free(r);
}

static void test_histogram_text(void **state) {
  td_metrics *r = td_metrics_new();
  const char *names[] = {"model-path"};
  const double bounds[] = {1, 2, 4};
  td_metric *h = td_metrics_register(r, TD_METRIC_HISTOGRAM, "9/lat.us", 1, names, bounds, 3);
  const char *v[] = {"p"};
  td_metric_observe(h, v, 2);   /* [2, 4) → le="4" */
  td_metric_observe(h, v, 0.5); /* le="1" */
  td_metric_observe(h, v, 100); /* +Inf */
  assert_int_equal(td_metric_value(h, v), 3);
  char *text = expose(r);
  assert_string_equal(text, "# TYPE _9:lat:us histogram\n"
                            "_9:lat:us_bucket{model_path=\"p\",le=\"1\"} 1\n"
                            "_9:lat:us_bucket{model_path=\"p\",le=\"2\"} 1\n"
                            "_9:lat:us_bucket{model_path=\"p\",le=\"4\"} 2\n"
                            "_9:lat:us_bucket{model_path=\"p\",le=\"+Inf\"} 3\n"
                            "_9:lat:us_sum{model_path=\"p\"} 102.5\n"
                            "_9:lat:us_count{model_path=\"p\"} 3\n");
  free(text);
  td_metrics_free(r);
}

static void test_histogram_no_labels(void **state) {
  td_metrics *r = td_metrics_new();
  const double bounds[] = {10};
  td_metric *h = td_metrics_register(r, TD_METRIC_HISTOGRAM, "h", 0, NULL, bounds, 1);
  td_metric_observe(h, NULL, 10);
  char *text = expose(r);
  assert_string_equal(text, "# TYPE h histogram\nh_bucket{le=\"10\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_sum{} 10\n"
                            "h_count{} 1\n");
  free(text);
  td_metrics_free(r);
}

static void test_exponential_bounds(void **state) {
  double b[33];
  td_metrics_exponential_bounds(10, 1.8, 33, b);
  assert_true(b[0] == 10 && b[1] == 18);
  for (int i = 1; i < 33; i++) assert_true(b[i] > b[i - 1]);
}

typedef struct worker_arg {
  td_metric *counter, *hist;
  int id;
} worker_arg;

#define N_THREADS 4
#define N_INCREMENTS 100000

static void *worker(void *p) {
  worker_arg *a = p;
  const char *shared[] = {"shared"};
  char own_name[16];
  snprintf(own_name, sizeof own_name, "t%d", a->id);
  const char *own[] = {own_name};
  for (int i = 0; i < N_INCREMENTS; i++) {
    td_metric_add(a->counter, shared, 1);
    if (i % 10 == 0) td_metric_add(a->counter, own, 1);
    if (i % 100 == 0) td_metric_observe(a->hist, shared, 1.0);
  }
  return NULL;
}

static void test_concurrent_increments(void **state) {
  td_metrics *r = td_metrics_new();
  const char *names[] = {"k"};
  const double bounds[] = {5};
  worker_arg args[N_THREADS];
  pthread_t t[N_THREADS];
  td_metric *c = td_metrics_register(r, TD_METRIC_COUNTER, "c", 1, names, NULL, 0);
  td_metric *h = td_metrics_register(r, TD_METRIC_HISTOGRAM, "h", 1, names, bounds, 1);
  for (int i = 0; i < N_THREADS; i++) {
    args[i] = (worker_arg){c, h, i};
    assert_int_equal(pthread_create(&t[i], NULL, worker, &args[i]), 0);
  }
  for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
  assert_int_equal(td_metric_value(c, (const char *const[]){"shared"}), N_THREADS * N_INCREMENTS);
  for (int i = 0; i < N_THREADS; i++) {
    char own_name[16];
    snprintf(own_name, sizeof own_name, "t%d", i);
    assert_int_equal(td_metric_value(c, (const char *const[]){own_name}), N_INCREMENTS / 10);
  }
  assert_int_equal(td_metric_value(h, (const char *const[]){"shared"}), N_THREADS * N_INCREMENTS / 100);
  char *text = expose(r);
  assert_non_null(strstr(text, "h_sum{k=\"shared\"} 4000\n"));
  free(text);
  td_metrics_free(r);
}

static void test_serving_hooks(void **state) {
  td_metrics_request("hk_model", "predict", "REST", TD_OK, 15);
  td_metrics_request("hk_model", "predict", "REST", TD_NOT_FOUND, 15);
  td_metrics_load("/m/1", 1, 1234);
  td_metrics_load("/m/2", 0, 0);
  td_metrics_warmup("/m/1", TD_OK, 50, 3);
  char *text = expose(td_metrics_global());
  assert_non_null(strstr(text, ":tensorflow:serving:request_count{model_name=\"hk_model\",status=\"OK\"} 1\n"));
  assert_non_null(strstr(text, ":tensorflow:serving:request_count{model_name=\"hk_model\",status=\"NOT_FOUND\"} 1\n"));
  /* 15 µs: [10, 18) → le="18" */
  assert_non_null(strstr(text, ":tensorflow:serving:request_latency_bucket{model_name=\"hk_model\",API=\"predict\","
                               "entrypoint=\"REST\",le=\"10\"} 0\n"));
  assert_non_null(strstr(text, ":tensorflow:serving:request_latency_bucket{model_name=\"hk_model\",API=\"predict\","
                               "entrypoint=\"REST\",le=\"18\"} 1\n"));
  assert_non_null(strstr(text, ":tensorflow:serving:request_latency_count{model_name=\"hk_model\",API=\"predict\","
                               "entrypoint=\"REST\"} 1\n"));
  assert_non_null(strstr(text, ":tensorflow:cc:saved_model:load_attempt_count{model_path=\"/m/1\",status=\"success\"} 1\n"));
  assert_non_null(strstr(text, ":tensorflow:cc:saved_model:load_attempt_count{model_path=\"/m/2\",status=\"fail\"} 1\n"));
  assert_non_null(strstr(text, ":tensorflow:cc:saved_model:load_latency{model_path=\"/m/1\"} 1234\n"));
  assert_non_null(strstr(text, ":tensorflow:serving:model_warmup_records_read{model_path=\"/m/1\",status=\"OK\"} 3\n"));
  assert_non_null(strstr(text, "# TYPE :tensorflow:serving:model_warmup_latency histogram\n"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counter_and_gauge_text), cmocka_unit_test(test_histogram_text),
      cmocka_unit_test(test_histogram_no_labels),    cmocka_unit_test(test_exponential_bounds),
      cmocka_unit_test(test_concurrent_increments),  cmocka_unit_test(test_serving_hooks),
      cmocka_unit_test(test_long_label_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
