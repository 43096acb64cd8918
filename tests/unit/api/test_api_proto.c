/* test_api_proto.c — the proto-level service decisions of api_proto.h on the generated
 * half_plus_two fake (tests/fakes; no ../shared): the ModelSpec builder (missing spec, no name,
 * version, label, GetModelMetadata's field checks), MultiInference's rules (no task, two model names, a signature twice, an
 * unsupported method, a missing spec) and its one-version run with results in task order,
 * reload without a reloader (UNIMPLEMENTED) and through one, and readiness. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_proto.h"
#include "core/model_config.h"
#include "fakes/fake_model.h"

typedef struct fixture {
  td_servables *s;
  td_api api;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->s = td_servables_new();
  td_status st = {0};
  for (int v = 1; v <= 2; v++) {
    td_model *m = td_fake_model_new((float)v, &st); /* y = 0.5 x + v */
    if (!m) fail_msg("fake model: %s", st.msg);
    td_servables_publish(f->s, "hp", v, m);
  }
  const char *labels[1] = {"stable"};
  int64_t versions[1] = {1};
  td_servables_set_labels(f->s, "hp", labels, versions, 1);
  f->api = (td_api){.servables = f->s};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  td_servables_free(f->s);
  free(f);
  return 0;
}

static void test_spec_from_proto(void **state) {
  (void)state;
  td_model_spec spec;
  td_status st = {0};
  assert_int_equal(td_api_spec_from_proto(NULL, 7, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Missing ModelSpec");
  Tensorflow__Serving__ModelSpec ms = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  assert_int_equal(td_api_spec_from_proto(&ms, 7, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "ModelSpec has no name specified.");
  ms.name = "hp";
  assert_int_equal(td_api_spec_from_proto(&ms, 7, &spec, &st), TD_OK);
  assert_string_equal(spec.name, "hp");
  assert_int_equal(spec.version, -1);
  assert_null(spec.version_label);
  assert_int_equal(spec.deadline_ns, 7);
  Google__Protobuf__Int64Value v = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
  v.value = 2;
  ms.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
  ms.version = &v;
  assert_int_equal(td_api_spec_from_proto(&ms, 0, &spec, &st), TD_OK);
  assert_int_equal(spec.version, 2);
  ms.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL;
  ms.version_label = "stable";
  assert_int_equal(td_api_spec_from_proto(&ms, 0, &spec, &st), TD_OK);
  assert_int_equal(spec.version, -1);
  assert_string_equal(spec.version_label, "stable");
  Tensorflow__Serving__ModelSpec *out = td_api_spec_proto("hp", 3, NULL);
  assert_string_equal(out->name, "hp");
  assert_string_equal(out->signature_name, "");
  assert_int_equal(out->version->value, 3);
  tensorflow__serving__model_spec__free_unpacked(out, NULL);

  /* GetModelMetadata's checks, in TF's order */
  Tensorflow__Serving__GetModelMetadataRequest req = TENSORFLOW__SERVING__GET_MODEL_METADATA_REQUEST__INIT;
  char *fields[2] = {"signature_def", "bogus"};
  assert_int_equal(td_api_metadata_spec(&req, 0, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Missing ModelSpec");
  Tensorflow__Serving__ModelSpec named = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  req.model_spec = &named; /* nameless: the fields are checked first */
  assert_int_equal(td_api_metadata_spec(&req, 0, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "GetModelMetadataRequest must specify at least one metadata_field");
  req.metadata_field = fields;
  req.n_metadata_field = 2;
  assert_int_equal(td_api_metadata_spec(&req, 0, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Metadata field bogus is not supported");
  req.n_metadata_field = 1;
  assert_int_equal(td_api_metadata_spec(&req, 0, &spec, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "ModelSpec has no name specified.");
  named.name = "hp";
  assert_int_equal(td_api_metadata_spec(&req, 0, &spec, &st), TD_OK);
  assert_string_equal(spec.name, "hp");
}

/* One serialized tf.Example {x: 80} as a 1-D string tensor. */
static td_tensor examples_80(void) {
  unsigned char ex[32];
  size_t n = td_fake_example(80.0f, ex);
  td_shape sh = {.rank = 1, .dim = {1}};
  td_tensor t;
  td_status st = {0};
  assert_int_equal(td_tensor_alloc(&t, TD_DT_STRING, &sh, &st), TD_OK);
  td_tensor_set_string(&t, 0, (const char *)ex, n);
  return t;
}

typedef struct task_storage {
  Tensorflow__Serving__ModelSpec ms;
  Google__Protobuf__Int64Value v;
  Tensorflow__Serving__InferenceTask task;
} task_storage;

static Tensorflow__Serving__InferenceTask *task(task_storage *ts, const char *name, const char *label,
                                                const char *sig, const char *method) {
  tensorflow__serving__model_spec__init(&ts->ms);
  tensorflow__serving__inference_task__init(&ts->task);
  ts->ms.name = (char *)name;
  ts->ms.signature_name = (char *)sig;
  if (label) {
    ts->ms.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL;
    ts->ms.version_label = (char *)label;
  }
  ts->task.model_spec = &ts->ms;
  ts->task.method_name = (char *)method;
  return &ts->task;
}

#define REGRESS "tensorflow/serving/regress"
#define CLASSIFY "tensorflow/serving/classify"

static void expect_multi_error(fixture *f, Tensorflow__Serving__InferenceTask **tasks, int n, td_code code,
                               const char *msg) {
  td_tensor ex = examples_80();
  Tensorflow__Serving__MultiInferenceResponse *resp = (void *)1;
  td_status st = {0};
  assert_int_equal(td_api_multi_inference(&f->api, tasks, n, &ex, 0, &resp, &st), code);
  assert_null(resp);
  assert_string_equal(st.msg, msg);
  td_tensor_release(&ex);
}

static void test_multi_inference_rules(void **state) {
  fixture *f = *state;
  task_storage a, b;
  Tensorflow__Serving__InferenceTask *tasks[2];
  expect_multi_error(f, tasks, 0, TD_INVALID_ARGUMENT, "Expected at least one task");
  tasks[0] = task(&a, "hp", NULL, "regress_x_to_y", REGRESS);
  tasks[1] = task(&b, "other", NULL, "classify_x_to_y", CLASSIFY);
  expect_multi_error(f, tasks, 2, TD_INVALID_ARGUMENT,
                     "All ModelSpecs in a MultiInferenceRequest must access the same model name.");
  tasks[1] = task(&b, "hp", NULL, "regress_x_to_y", CLASSIFY);
  expect_multi_error(f, tasks, 2, TD_INVALID_ARGUMENT, "Duplicate evaluation of signature: regress_x_to_y");
  tasks[1] = task(&b, "hp", NULL, "", "tensorflow/serving/predict");
  expect_multi_error(f, tasks, 2, TD_UNIMPLEMENTED, "Unsupported signature method_name: tensorflow/serving/predict");
  /* the signature resolves per task with the API's texts */
  tasks[1] = task(&b, "hp", NULL, "nope", CLASSIFY);
  expect_multi_error(f, tasks, 2, TD_INVALID_ARGUMENT, "No signature was found with the name: nope");
  Tensorflow__Serving__InferenceTask bare = TENSORFLOW__SERVING__INFERENCE_TASK__INIT, *one[1] = {&bare};
  bare.method_name = REGRESS;
  expect_multi_error(f, one, 1, TD_INVALID_ARGUMENT, "Missing ModelSpec");
}

static void test_multi_inference_runs_on_one_version(void **state) {
  fixture *f = *state;
  task_storage a, b;
  /* the label picks version 1 (y = 0.5 x + 1); the second task follows it, not the latest */
  Tensorflow__Serving__InferenceTask *tasks[2] = {task(&a, "hp", "stable", "regress_x_to_y", REGRESS),
                                                  task(&b, "hp", NULL, "classify_x_to_y", CLASSIFY)};
  td_tensor ex = examples_80();
  Tensorflow__Serving__MultiInferenceResponse *resp = NULL;
  td_status st = {0};
  assert_int_equal(td_api_multi_inference(&f->api, tasks, 2, &ex, 0, &resp, &st), TD_OK);
  assert_int_equal(resp->n_results, 2);
  assert_int_equal(resp->results[0]->result_case, TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_REGRESSION_RESULT);
  assert_true(resp->results[0]->regression_result->regressions[0]->value == 41.0f);
  assert_int_equal(resp->results[0]->model_spec->version->value, 1);
  assert_string_equal(resp->results[0]->model_spec->signature_name, "regress_x_to_y");
  assert_int_equal(resp->results[1]->result_case,
                   TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_CLASSIFICATION_RESULT);
  assert_true(resp->results[1]->classification_result->classifications[0]->classes[0]->score == 41.0f);
  assert_int_equal(resp->results[1]->model_spec->version->value, 1);
  tensorflow__serving__multi_inference_response__free_unpacked(resp, NULL);
  /* without a label: the latest (version 2) for both */
  tasks[0] = task(&a, "hp", NULL, "regress_x_to_y", REGRESS);
  assert_int_equal(td_api_multi_inference(&f->api, tasks, 2, &ex, 0, &resp, &st), TD_OK);
  assert_true(resp->results[0]->regression_result->regressions[0]->value == 42.0f);
  assert_int_equal(resp->results[1]->model_spec->version->value, 2);
  tensorflow__serving__multi_inference_response__free_unpacked(resp, NULL);
  td_tensor_release(&ex);
}

static td_code fake_reload(void *ctx, const td_model_config_list *cfg, td_status *st) {
  *(int *)ctx = (int)cfg->n;
  if (cfg->n && !strcmp(cfg->models[0].name, "bad"))
    return td_status_set(st, TD_FAILED_PRECONDITION, "bad config");
  return TD_OK;
}

static void test_reload_and_ready(void **state) {
  fixture *f = *state;
  td_status st = {0};
  Tensorflow__Serving__ModelConfig mc = TENSORFLOW__SERVING__MODEL_CONFIG__INIT, *mcs[1] = {&mc};
  mc.name = "hp";
  mc.base_path = "/models/hp";
  mc.model_platform = "tensorflow";
  Tensorflow__Serving__ModelConfigList list = TENSORFLOW__SERVING__MODEL_CONFIG_LIST__INIT;
  list.n_config = 1;
  list.config = mcs;
  Tensorflow__Serving__ModelServerConfig cfg = TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__INIT;
  cfg.config_case = TENSORFLOW__SERVING__MODEL_SERVER_CONFIG__CONFIG_MODEL_CONFIG_LIST;
  cfg.model_config_list = &list;
  Tensorflow__Serving__ReloadConfigResponse *resp = (void *)1;
  assert_int_equal(td_api_reload_config(&f->api, &cfg, &resp, &st), TD_UNIMPLEMENTED);
  assert_null(resp);
  int seen = -1;
  td_servables_set_reloader(f->s, fake_reload, &seen);
  assert_int_equal(td_api_reload_config(&f->api, &cfg, &resp, &st), TD_OK);
  assert_int_equal(seen, 1);
  assert_int_equal(resp->status->error_code, 0);
  assert_string_equal(resp->status->error_message, "");
  tensorflow__serving__reload_config_response__free_unpacked(resp, NULL);
  mc.name = "bad";
  assert_int_equal(td_api_reload_config(&f->api, &cfg, &resp, &st), TD_FAILED_PRECONDITION);
  assert_string_equal(st.msg, "bad config");
  td_servables_set_reloader(f->s, NULL, NULL);

  /* readiness: no configured model → not ready; configured with a version → ready */
  assert_int_equal(td_api_ready(&f->api, &st), TD_UNAVAILABLE);
  assert_string_equal(st.msg, "not ready: a configured model has no available version");
  td_servables_add_model(f->s, "hp");
  assert_int_equal(td_api_ready(&f->api, &st), TD_OK);
  td_servables_add_model(f->s, "empty");
  assert_int_equal(td_api_ready(&f->api, &st), TD_UNAVAILABLE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_from_proto),
      cmocka_unit_test(test_multi_inference_rules),
      cmocka_unit_test(test_multi_inference_runs_on_one_version),
      cmocka_unit_test(test_reload_and_ready),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
