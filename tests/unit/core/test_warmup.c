/* test_warmup.c — warmup replay on the generated half_plus_two fake model (tests/fakes; no
 * ../shared needed) through the server's gRPC replayer, with warmup files written here in C: TFRecord framing (clean end,
 * CRC corruption of length and data, truncation → DATA_LOSS with TF's hint), predict and
 * regress and multi-inference records replayed N times, a record without a request, an unparsable record, an unsupported log type, the
 * 1000-record limit, a failing request, the warmup metrics, specs naming another version or a
 * label (pinned to the loading version) and a loader without a replayer. The version dir handed to
 * td_warmup_replay is a temp dir holding only assets.extra (fixtures stay read-only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/warmup.h"
#include "fakes/fake_model.h"
#include "grpc/grpc_warmup.h"
#include "metrics/metrics.h"
#include "proto/serving.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/file.h"

static const td_warmup_replayer grpc_replayer = {.fn = td_grpc_warmup_replay};

typedef struct fixture {
  td_model *model;
  char dir[64];
} fixture;

/* ---- writing warmup files ---- */

static void put_le(td_buf *b, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) td_buf_putc(b, (char)(v >> (8 * i)));
}

static void add_record(td_buf *b, const void *data, size_t len) {
  uint8_t len_bytes[8];
  for (int i = 0; i < 8; i++) len_bytes[i] = (uint8_t)((uint64_t)len >> (8 * i));
  td_buf_append(b, len_bytes, 8);
  put_le(b, td_crc32c_mask(td_crc32c(len_bytes, 8)), 4);
  td_buf_append(b, data, len);
  put_le(b, td_crc32c_mask(td_crc32c(data, len)), 4);
}

static void add_log(td_buf *b, const Tensorflow__Serving__PredictionLog *log) {
  size_t len = tensorflow__serving__prediction_log__get_packed_size(log);
  uint8_t *bytes = malloc(len + 1);
  tensorflow__serving__prediction_log__pack(log, bytes);
  add_record(b, bytes, len);
  free(bytes);
}

/* A predict_log for half_plus_two: x = {1, 2, 3} under input alias `alias`. */
static void add_predict(td_buf *b, const char *alias) {
  float x[3] = {1, 2, 3};
  Tensorflow__TensorShapeProto__Dim dim = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, *dims[] = {&dim};
  dim.size = 3;
  Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = 1;
  shape.dim = dims;
  Tensorflow__TensorProto tensor = TENSORFLOW__TENSOR_PROTO__INIT;
  tensor.dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
  tensor.tensor_shape = &shape;
  tensor.n_float_val = 3;
  tensor.float_val = x;
  Tensorflow__Serving__PredictRequest__InputsEntry in = TENSORFLOW__SERVING__PREDICT_REQUEST__INPUTS_ENTRY__INIT,
                                                   *ins[] = {&in};
  in.key = (char *)alias;
  in.value = &tensor;
  Tensorflow__Serving__ModelSpec spec = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  spec.name = "whatever"; /* warmup runs on the model being loaded, whatever the spec says */
  Tensorflow__Serving__PredictRequest req = TENSORFLOW__SERVING__PREDICT_REQUEST__INIT;
  req.model_spec = &spec;
  req.n_inputs = 1;
  req.inputs = ins;
  Tensorflow__Serving__PredictLog plog = TENSORFLOW__SERVING__PREDICT_LOG__INIT;
  plog.request = &req;
  Tensorflow__Serving__PredictionLog log = TENSORFLOW__SERVING__PREDICTION_LOG__INIT;
  log.log_type_case = TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG;
  log.predict_log = &plog;
  add_log(b, &log);
}

/* A regress_log on signature regress_x_to_y with one tf.Example {x: 4}; with multi, a
 * multi_inference_log with that regress task and a classify_x_to_y task instead. */
static void add_examples_log(td_buf *b, int multi) {
  float v = 4;
  Tensorflow__FloatList fl = TENSORFLOW__FLOAT_LIST__INIT;
  fl.n_value = 1;
  fl.value = &v;
  Tensorflow__Feature f = TENSORFLOW__FEATURE__INIT;
  f.kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
  f.float_list = &fl;
  Tensorflow__Features__FeatureEntry fe = TENSORFLOW__FEATURES__FEATURE_ENTRY__INIT, *fes[] = {&fe};
  fe.key = "x";
  fe.value = &f;
  Tensorflow__Features feats = TENSORFLOW__FEATURES__INIT;
  feats.n_feature = 1;
  feats.feature = fes;
  Tensorflow__Example ex = TENSORFLOW__EXAMPLE__INIT, *exs[] = {&ex};
  ex.features = &feats;
  Tensorflow__Serving__ExampleList el = TENSORFLOW__SERVING__EXAMPLE_LIST__INIT;
  el.n_examples = 1;
  el.examples = exs;
  Tensorflow__Serving__Input input = TENSORFLOW__SERVING__INPUT__INIT;
  input.kind_case = TENSORFLOW__SERVING__INPUT__KIND_EXAMPLE_LIST;
  input.example_list = &el;
  Tensorflow__Serving__ModelSpec spec = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  spec.name = ""; /* nameless: warmup fills in the loading model's name */
  spec.signature_name = "regress_x_to_y";
  Tensorflow__Serving__RegressionRequest req = TENSORFLOW__SERVING__REGRESSION_REQUEST__INIT;
  req.model_spec = &spec;
  req.input = &input;
  Tensorflow__Serving__RegressLog rlog = TENSORFLOW__SERVING__REGRESS_LOG__INIT;
  rlog.request = &req;
  Tensorflow__Serving__PredictionLog log = TENSORFLOW__SERVING__PREDICTION_LOG__INIT;
  log.log_type_case = TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_REGRESS_LOG;
  log.regress_log = &rlog;
  /* the multi-inference variant */
  Tensorflow__Serving__ModelSpec cspec = spec;
  cspec.signature_name = "classify_x_to_y";
  Tensorflow__Serving__InferenceTask rtask = TENSORFLOW__SERVING__INFERENCE_TASK__INIT,
                                     ctask = TENSORFLOW__SERVING__INFERENCE_TASK__INIT, *tasks[] = {&rtask, &ctask};
  rtask.model_spec = &spec;
  rtask.method_name = "tensorflow/serving/regress";
  ctask.model_spec = &cspec;
  ctask.method_name = "tensorflow/serving/classify";
  Tensorflow__Serving__MultiInferenceRequest mreq = TENSORFLOW__SERVING__MULTI_INFERENCE_REQUEST__INIT;
  mreq.n_tasks = 2;
  mreq.tasks = tasks;
  mreq.input = &input;
  Tensorflow__Serving__MultiInferenceLog mlog = TENSORFLOW__SERVING__MULTI_INFERENCE_LOG__INIT;
  mlog.request = &mreq;
  if (multi) {
    log.log_type_case = TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_MULTI_INFERENCE_LOG;
    log.multi_inference_log = &mlog;
  }
  add_log(b, &log);
}

static void write_warmup(fixture *f, const td_buf *b) {
  char path[128];
  snprintf(path, sizeof path, "%s/assets.extra", f->dir);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/" TD_WARMUP_FILE, f->dir);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  if (b->len) assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
  fclose(fp);
}

static td_code replay(fixture *f, const td_buf *b, int iterations, td_status *st) {
  write_warmup(f, b);
  return td_warmup_replay(f->model, "hpt", 123, f->dir, iterations, &grpc_replayer, st);
}

/* ---- fixture ---- */

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/td_warmup_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  td_status st = {0};
  f->model = td_fake_model_new(2.0f, &st);
  if (!f->model) fail_msg("fake model: %s", st.msg);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (!f) return 0;
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  td_model_free(f->model);
  free(f);
  return 0;
}

#define FIXTURE()                 \
  fixture *f = *state;            \
  td_status st = {0};             \
  td_buf b;                       \
  td_buf_init(&b)

/* ---- tests ---- */

static void test_no_file_is_ok(void **state) {
  FIXTURE();
  assert_int_equal(td_warmup_replay(f->model, "hpt", 123, f->dir, 1, &grpc_replayer, &st), TD_OK);
  td_buf_release(&b);
}

static void test_replays_predict_and_regress(void **state) {
  FIXTURE();
  add_predict(&b, "x");
  add_examples_log(&b, 0);
  add_examples_log(&b, 1);
  td_metric *records = td_metrics_register(td_metrics_global(), TD_METRIC_COUNTER,
                                           "/tensorflow/serving/model_warmup_records_read", 2,
                                           (const char *const[]){"model_path", "status"}, NULL, 0);
  const char *labels[] = {f->dir, "OK"};
  int64_t before = td_metric_value(records, labels);
  assert_int_equal(replay(f, &b, 3, &st), TD_OK);
  assert_int_equal(td_metric_value(records, labels) - before, 3);
  /* an empty file is a clean end too */
  td_buf_reset(&b);
  assert_int_equal(replay(f, &b, 1, &st), TD_OK);
  td_buf_release(&b);
}

static void expect_data_loss(fixture *f, td_buf *b, td_status *st) {
  assert_int_equal(replay(f, b, 1, st), TD_DATA_LOSS);
  assert_non_null(strstr(st->msg, "Please verify your warmup data is in TFRecord format."));
}

static void test_corruption_is_data_loss(void **state) {
  FIXTURE();
  add_predict(&b, "x");
  size_t len = b.len;
  b.data[8] ^= 1; /* length CRC */
  expect_data_loss(f, &b, &st);
  assert_non_null(strstr(st.msg, "length checksum"));
  b.data[8] ^= 1;
  b.data[len - 6] ^= 1; /* payload byte */
  expect_data_loss(f, &b, &st);
  assert_non_null(strstr(st.msg, "data checksum"));
  b.data[len - 6] ^= 1;
  assert_int_equal(replay(f, &b, 1, &st), TD_OK);
  for (size_t cut = 1; cut < len; cut += 7) { /* every kind of truncation */
    b.len = len - cut;
    expect_data_loss(f, &b, &st);
  }
  b.len = len;
  td_buf_append(&b, "\0\0\0", 3); /* trailing partial header */
  expect_data_loss(f, &b, &st);
  td_buf_release(&b);
}

static void test_unparsable_record(void **state) {
  FIXTURE();
  add_record(&b, "\xff\xff\xff", 3);
  assert_int_equal(replay(f, &b, 1, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Failed to parse warmup record"));
  td_buf_release(&b);
}

static void test_unsupported_log_type(void **state) {
  FIXTURE();
  Tensorflow__Serving__SessionRunLog srl = TENSORFLOW__SERVING__SESSION_RUN_LOG__INIT;
  Tensorflow__Serving__PredictionLog log = TENSORFLOW__SERVING__PREDICTION_LOG__INIT;
  log.log_type_case = TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_SESSION_RUN_LOG;
  log.session_run_log = &srl;
  add_log(&b, &log);
  assert_int_equal(replay(f, &b, 1, &st), TD_UNIMPLEMENTED);
  assert_string_equal(st.msg, "Unsupported log_type for warmup: 5");
  td_buf_release(&b);
}

static void test_record_limit(void **state) {
  FIXTURE();
  /* empty PredictionLogs (no log type) are read and skipped */
  for (int i = 0; i < TD_WARMUP_MAX_RECORDS; i++) add_record(&b, "", 0);
  assert_int_equal(replay(f, &b, 1, &st), TD_OK);
  add_record(&b, "", 0);
  assert_int_equal(replay(f, &b, 1, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Number of warmup records exceeds the maximum (1000) at "));
  td_buf_release(&b);
}

static void test_request_without_body_fails(void **state) {
  FIXTURE();
  Tensorflow__Serving__PredictLog plog = TENSORFLOW__SERVING__PREDICT_LOG__INIT; /* no request */
  Tensorflow__Serving__PredictionLog log = TENSORFLOW__SERVING__PREDICTION_LOG__INIT;
  log.log_type_case = TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG;
  log.predict_log = &plog;
  add_log(&b, &log);
  assert_int_equal(replay(f, &b, 1, &st), TD_INVALID_ARGUMENT); /* an empty PredictRequest */
  /* the request's own error (api.h's text), prefixed with the record number */
  assert_non_null(strstr(st.msg, "Warmup request 1 failed: input size does not match signature: 0!=1"));
  assert_non_null(strstr(st.msg, "Missing but required: {x}."));
  td_buf_release(&b);
}

/* TF ignores a warmup request's ModelSpec: a version or a label the map does not know still
 * runs on the loading version. */
static void test_spec_version_and_label_are_pinned(void **state) {
  FIXTURE();
  Tensorflow__Serving__PredictLog *plog;
  for (int variant = 0; variant < 2; variant++) {
    td_buf_reset(&b);
    add_predict(&b, "x");
    /* rewrite the record's spec: re-parse, edit, re-frame */
    Tensorflow__Serving__PredictionLog *log =
        tensorflow__serving__prediction_log__unpack(NULL, b.len - 16, (const uint8_t *)b.data + 12);
    assert_non_null(log);
    plog = log->predict_log;
    Tensorflow__Serving__ModelSpec *ms = plog->request->model_spec;
    Google__Protobuf__Int64Value v = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
    v.value = 999;
    char *old_name = ms->name;
    ms->name = "hpt";
    if (variant == 0) {
      ms->version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
      ms->version = &v;
    } else {
      ms->version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL;
      ms->version_label = "canary";
    }
    td_buf rec;
    td_buf_init(&rec);
    add_log(&rec, log);
    ms->name = old_name;
    ms->version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE__NOT_SET;
    tensorflow__serving__prediction_log__free_unpacked(log, NULL);
    assert_int_equal(replay(f, &rec, 1, &st), TD_OK);
    td_buf_release(&rec);
  }
  td_buf_release(&b);
}

/* A loader without a replayer cannot run warmup records: the load fails, nothing is run. */
static void test_no_replayer_fails(void **state) {
  FIXTURE();
  add_predict(&b, "x");
  write_warmup(f, &b);
  assert_int_equal(td_warmup_replay(f->model, "hpt", 123, f->dir, 1, NULL, &st), TD_UNIMPLEMENTED);
  td_warmup_replayer none = {0};
  assert_int_equal(td_warmup_replay(f->model, "hpt", 123, f->dir, 1, &none, &st), TD_UNIMPLEMENTED);
  td_buf_release(&b);
}

static void test_failing_request_fails_warmup(void **state) {
  FIXTURE();
  add_predict(&b, "x");
  add_predict(&b, "nope");
  assert_int_equal(replay(f, &b, 1, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Warmup request 2 failed: "));
  assert_non_null(strstr(st.msg, "nope"));
  td_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_file_is_ok),
      cmocka_unit_test(test_replays_predict_and_regress),
      cmocka_unit_test(test_corruption_is_data_loss),
      cmocka_unit_test(test_unparsable_record),
      cmocka_unit_test(test_unsupported_log_type),
      cmocka_unit_test(test_record_limit),
      cmocka_unit_test(test_request_without_body_fails),
      cmocka_unit_test(test_failing_request_fails_warmup),
      cmocka_unit_test(test_spec_version_and_label_are_pinned),
      cmocka_unit_test(test_no_replayer_fails),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
