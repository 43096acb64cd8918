/* test_metrics_filter.c — request series stay bounded: with a model filter set, requests
 * naming unconfigured models are all counted under model_name="__unknown__", so 1,000 bogus
 * names add one series, not 1,000; configured names keep their own series. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"

static int known(void *ctx, const char *model) { return !strcmp(model, (const char *)ctx); }

static size_t count_lines(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)); p++) n++;
  return n;
}

static void test_unknown_models_share_one_series(void **state) {
  (void)state;
  td_metrics_model_filter f = {.known = known, .ctx = "served"};
  td_metrics_set_model_filter(&f);
  for (int i = 0; i < 1000; i++) {
    char name[32];
    snprintf(name, sizeof name, "bogus%d", i);
    td_metrics_request(name, "predict", "REST", TD_NOT_FOUND, 5);
  }
  td_metrics_request("served", "predict", "REST", TD_OK, 5);
  td_metrics_runtime("served", "predict", 3);
  td_metrics_set_model_filter(NULL);

  td_metric *count = td_metrics_register(td_metrics_global(), TD_METRIC_COUNTER, "/tensorflow/serving/request_count",
                                         2, (const char *const[]){"model_name", "status"}, NULL, 0);
  assert_non_null(count);
  assert_int_equal(td_metric_value(count, (const char *const[]){"__unknown__", "NOT_FOUND"}), 1000);
  assert_int_equal(td_metric_value(count, (const char *const[]){"bogus7", "NOT_FOUND"}), 0);
  assert_int_equal(td_metric_value(count, (const char *const[]){"served", "OK"}), 1);

  td_buf text;
  td_buf_init(&text);
  td_metrics_write_prometheus(td_metrics_global(), &text);
  assert_int_equal(count_lines(text.data, "bogus"), 0);
  assert_int_equal(count_lines(text.data, ":tensorflow:serving:request_count{"), 2);
  td_buf_release(&text);

  /* without a filter (tools, tests) names are recorded as given */
  td_metrics_request("adhoc", "predict", "GRPC", TD_OK, 1);
  assert_int_equal(td_metric_value(count, (const char *const[]){"adhoc", "OK"}), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unknown_models_share_one_series),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
