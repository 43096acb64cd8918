/* test_grpc_roundtrip.c — the gRPC front end in-process: a td_manager serving the generated
 * half_plus_two fake (tests/fakes, as version 123; no ../shared needed) behind td_grpc_server
 * on an ephemeral port, called
 * through a gRPC core client: Predict (typed values, tensor_content, output_filter),
 * Classify / Regress / MultiInference with tf.Examples (plain and with context),
 * GetModelMetadata, GetModelStatus, and TF Serving's error codes and texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "api/api.h"
#include "core/manager.h"
#include "core/servables.h"
#include "fakes/fake_model.h"
#include "grpc/grpc_server.h"
#include "proto/serving.h"
#include "util/file.h"

#define PS "/tensorflow.serving.PredictionService/"

typedef struct fixture {
  td_servables *servables;
  td_manager *manager;
  td_api api;
  td_grpc_server *server;
  grpc_channel *channel;
  char *tmp; /* the temp dir holding the fake model's base path */
} fixture;

static int start_serving(fixture *f, const char *name, const char *base, int content) {
  td_status st = {0};
  f->servables = td_servables_new();
  td_manager_options mo = {.poll_seconds = 0};
  f->manager = td_manager_new(f->servables, &mo);
  if (td_manager_add_model(f->manager, name, base, &st) != TD_OK || td_manager_start(f->manager, &st) != TD_OK) {
    fprintf(stderr, "manager: %s\n", st.msg);
    return 0;
  }
  f->api = (td_api){.servables = f->servables, .opt = {.front = TD_FRONT_GRPC}};
  td_grpc_options go = {.host = "127.0.0.1", .port = 0, .num_threads = 2, .tensor_content_outputs = content};
  if (td_grpc_server_start(&f->api, &go, &f->server, &st) != TD_OK) {
    fprintf(stderr, "grpc: %s\n", st.msg);
    return 0;
  }
  return 1;
}

static void stop_serving(fixture *f) {
  if (f->channel) grpc_channel_destroy(f->channel);
  td_grpc_server_stop(f->server);
  td_manager_free(f->manager);
  td_servables_free(f->servables);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  td_status st = {0};
  f->tmp = td_fake_tempdir("grpc_roundtrip");
  assert_non_null(f->tmp);
  char dir[4300], base[4200];
  snprintf(base, sizeof base, "%s/hpt", f->tmp);
  snprintf(dir, sizeof dir, "%s/123", base);
  assert_int_equal(td_fake_model_write(dir, 2.0f, &st), TD_OK); /* y = 0.5 x + 2, as half_plus_two */
  assert_true(start_serving(f, "hpt", base, 0));
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", td_grpc_server_port(f->server));
  grpc_init();
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  f->channel = grpc_channel_create(target, creds, NULL);
  grpc_channel_credentials_release(creds);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  if (!f) return 0;
  stop_serving(f);
  grpc_shutdown();
  td_fake_rmtree(f->tmp);
  free(f->tmp);
  free(f);
  return 0;
}

/* ---- a tiny unary client ---- */

typedef struct reply {
  grpc_status_code code;
  char details[1200];
  uint8_t *data;
  size_t len;
} reply;

static reply call_raw(fixture *f, const char *method, const uint8_t *req, size_t req_len) {
  reply r = {0};
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(20, GPR_TIMESPAN));
  grpc_call *call = grpc_channel_create_call(f->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
                                             grpc_slice_from_static_string(method), NULL, deadline, NULL);
  grpc_slice body = grpc_slice_from_copied_buffer((const char *)req, req_len);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1), *recv = NULL;
  grpc_slice_unref(body);
  grpc_metadata_array md, trailing;
  grpc_metadata_array_init(&md);
  grpc_metadata_array_init(&trailing);
  grpc_slice details = grpc_empty_slice();
  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
  ops[5].data.recv_status_on_client.status = &r.code;
  ops[5].data.recv_status_on_client.status_details = &details;
  assert_int_equal(grpc_call_start_batch(call, ops, 6, (void *)1, NULL), GRPC_CALL_OK);
  grpc_event ev = grpc_completion_queue_pluck(cq, (void *)1, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  size_t dn = GRPC_SLICE_LENGTH(details) < sizeof r.details - 1 ? GRPC_SLICE_LENGTH(details) : sizeof r.details - 1;
  memcpy(r.details, GRPC_SLICE_START_PTR(details), dn);
  if (recv) {
    grpc_byte_buffer_reader rd;
    assert_true(grpc_byte_buffer_reader_init(&rd, recv));
    grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
    r.len = GRPC_SLICE_LENGTH(all);
    r.data = malloc(r.len + 1);
    memcpy(r.data, GRPC_SLICE_START_PTR(all), r.len);
    grpc_slice_unref(all);
    grpc_byte_buffer_reader_destroy(&rd);
    grpc_byte_buffer_destroy(recv);
  }
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&md);
  grpc_metadata_array_destroy(&trailing);
  grpc_byte_buffer_destroy(send);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy(cq);
  return r;
}

static reply call_msg(fixture *f, const char *method, const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n + 1);
  protobuf_c_message_pack(m, buf);
  reply r = call_raw(f, method, buf, n);
  free(buf);
  return r;
}

static ProtobufCMessage *unpack_ok(reply *r, const ProtobufCMessageDescriptor *d) {
  if (r->code != GRPC_STATUS_OK) print_message("unexpected status %d: %s\n", r->code, r->details);
  assert_int_equal(r->code, GRPC_STATUS_OK);
  ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, r->len, r->data);
  assert_non_null(m);
  free(r->data);
  return m;
}

static void expect_error(reply r, grpc_status_code code, const char *details) {
  if (r.code != code || strcmp(r.details, details))
    print_message("got status %d \"%s\", want %d \"%s\"\n", r.code, r.details, code, details);
  assert_int_equal(r.code, code);
  assert_string_equal(r.details, details);
  free(r.data);
}

/* ---- request builders ---- */

typedef struct spec_storage {
  Tensorflow__Serving__ModelSpec spec;
  Google__Protobuf__Int64Value version;
} spec_storage;

static Tensorflow__Serving__ModelSpec *make_spec(spec_storage *s, const char *name, int64_t version, const char *label,
                                                 const char *sig) {
  tensorflow__serving__model_spec__init(&s->spec);
  google__protobuf__int64_value__init(&s->version);
  s->spec.name = (char *)name;
  if (sig) s->spec.signature_name = (char *)sig;
  if (version >= 0) {
    s->version.value = version;
    s->spec.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
    s->spec.version = &s->version;
  } else if (label) {
    s->spec.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL;
    s->spec.version_label = (char *)label;
  }
  return &s->spec;
}

/* Predict on input x (n float values, shape [rows,1]), typed or tensor_content. */
static reply predict_x(fixture *f, const char *name, const char *sig, const float *x, int n, int rows, int content) {
  spec_storage ss;
  Tensorflow__TensorShapeProto__Dim d0 = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, d1 = d0;
  d0.size = rows;
  d1.size = 1;
  Tensorflow__TensorShapeProto__Dim *dims[2] = {&d0, &d1};
  Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = 2;
  shape.dim = dims;
  Tensorflow__TensorProto t = TENSORFLOW__TENSOR_PROTO__INIT;
  t.dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
  t.tensor_shape = &shape;
  if (content) {
    t.tensor_content.data = (uint8_t *)x;
    t.tensor_content.len = sizeof(float) * (size_t)n;
  } else {
    t.n_float_val = (size_t)n;
    t.float_val = (float *)x;
  }
  Tensorflow__Serving__PredictRequest__InputsEntry e = TENSORFLOW__SERVING__PREDICT_REQUEST__INPUTS_ENTRY__INIT;
  e.key = "x";
  e.value = &t;
  Tensorflow__Serving__PredictRequest__InputsEntry *entries[1] = {&e};
  Tensorflow__Serving__PredictRequest req = TENSORFLOW__SERVING__PREDICT_REQUEST__INIT;
  req.model_spec = make_spec(&ss, name, -1, NULL, sig);
  req.n_inputs = 1;
  req.inputs = entries;
  return call_msg(f, PS "Predict", &req.base);
}

/* Serialized tf.Example {x: [v]} (float_list); returns its length (17). */
static size_t example_x(float v, uint8_t *out) {
  const uint8_t head[] = {0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 'x', 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04};
  memcpy(out, head, sizeof head);
  memcpy(out + sizeof head, &v, 4);
  return sizeof head + 4;
}

/* Classification/RegressionRequest bytes: spec + Input{example_list{x...}} or, with ctx,
 * Input{example_list_with_context{examples: {} x n, context: x=ctx}}. */
static size_t example_request(uint8_t *buf, const char *name, const char *sig, const float *xs, int n,
                              const float *ctx) {
  spec_storage ss;
  Tensorflow__Serving__ModelSpec *ms = make_spec(&ss, name, -1, NULL, sig);
  uint8_t list[512];
  size_t ll = 0;
  for (int i = 0; i < n; i++) {
    list[ll++] = 0x0a; /* examples */
    if (ctx) {
      list[ll++] = 0; /* an empty Example: everything comes from the context */
    } else {
      list[ll++] = 17;
      ll += example_x(xs[i], list + ll);
    }
  }
  if (ctx) {
    list[ll++] = 0x12; /* context */
    list[ll++] = 17;
    ll += example_x(*ctx, list + ll);
  }
  size_t len = 0;
  buf[len++] = 0x0a;
  buf[len++] = (uint8_t)tensorflow__serving__model_spec__get_packed_size(ms);
  len += tensorflow__serving__model_spec__pack(ms, buf + len);
  buf[len++] = 0x12; /* input */
  buf[len++] = (uint8_t)(ll + 2);
  buf[len++] = ctx ? 0x12 : 0x0a;
  buf[len++] = (uint8_t)ll;
  memcpy(buf + len, list, ll);
  return len + ll;
}

/* ---- tests ---- */

static void test_predict_typed_and_content(void **state) {
  fixture *f = *state;
  const float x[3] = {1.0f, 2.0f, 5.0f};
  for (int content = 0; content < 2; content++) {
    reply r = predict_x(f, "hpt", NULL, x, 3, 3, content);
    Tensorflow__Serving__PredictResponse *resp =
        (void *)unpack_ok(&r, &tensorflow__serving__predict_response__descriptor);
    assert_string_equal(resp->model_spec->name, "hpt");
    assert_int_equal(resp->model_spec->version_choice_case, TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION);
    assert_int_equal(resp->model_spec->version->value, 123);
    assert_string_equal(resp->model_spec->signature_name, "serving_default");
    assert_int_equal(resp->n_outputs, 1);
    assert_string_equal(resp->outputs[0]->key, "y");
    const Tensorflow__TensorProto *y = resp->outputs[0]->value;
    assert_int_equal(y->dtype, TENSORFLOW__DATA_TYPE__DT_FLOAT);
    assert_int_equal(y->tensor_shape->n_dim, 2);
    assert_int_equal(y->tensor_shape->dim[0]->size, 3);
    assert_int_equal(y->n_float_val, 3); /* typed output by default */
    assert_true(y->float_val[0] == 2.5f && y->float_val[1] == 3.0f && y->float_val[2] == 4.5f);
    tensorflow__serving__predict_response__free_unpacked(resp, NULL);
  }
}

static void test_predict_errors(void **state) {
  fixture *f = *state;
  const float x[1] = {1.0f};
  expect_error(predict_x(f, "nope", NULL, x, 1, 1, 0), GRPC_STATUS_NOT_FOUND,
               "Servable not found for request: Latest(nope)");
  expect_error(predict_x(f, "hpt", "missing", x, 1, 1, 0), GRPC_STATUS_FAILED_PRECONDITION,
               "Serving signature key \"missing\" not found.");
  const float three[3] = {1.0f, 2.0f, 3.0f}; /* 3 values for a [2,1] shape, typed and as content */
  expect_error(predict_x(f, "hpt", NULL, three, 3, 2, 0), GRPC_STATUS_INVALID_ARGUMENT, "tensor parsing error: x");
  expect_error(predict_x(f, "hpt", NULL, three, 3, 2, 1), GRPC_STATUS_INVALID_ARGUMENT, "tensor parsing error: x");
  Tensorflow__Serving__PredictRequest req = TENSORFLOW__SERVING__PREDICT_REQUEST__INIT;
  expect_error(call_msg(f, PS "Predict", &req.base), GRPC_STATUS_INVALID_ARGUMENT, "Missing ModelSpec");
  expect_error(call_raw(f, PS "Predict", (const uint8_t *)"\xff\xff", 2), GRPC_STATUS_INVALID_ARGUMENT,
               "Could not parse the request as tensorflow.serving.PredictRequest");
  expect_error(call_raw(f, PS "NoSuchMethod", (const uint8_t *)"", 0), GRPC_STATUS_UNIMPLEMENTED, "");
}

static void test_classify_regress(void **state) {
  fixture *f = *state;
  uint8_t buf[1024];
  const float x80 = 80.0f, x20 = 20.0f;
  reply r = call_raw(f, PS "Regress", buf, example_request(buf, "hpt", "regress_x_to_y", &x80, 1, NULL));
  Tensorflow__Serving__RegressionResponse *rr =
      (void *)unpack_ok(&r, &tensorflow__serving__regression_response__descriptor);
  assert_int_equal(rr->result->n_regressions, 1);
  assert_true(rr->result->regressions[0]->value == 42.0f);
  assert_string_equal(rr->model_spec->signature_name, "regress_x_to_y");
  assert_int_equal(rr->model_spec->version->value, 123);
  tensorflow__serving__regression_response__free_unpacked(rr, NULL);

  const float xs[2] = {20.0f, 10.0f};
  r = call_raw(f, PS "Classify", buf, example_request(buf, "hpt", "classify_x_to_y", xs, 2, NULL));
  Tensorflow__Serving__ClassificationResponse *cr =
      (void *)unpack_ok(&r, &tensorflow__serving__classification_response__descriptor);
  assert_int_equal(cr->result->n_classifications, 2);
  assert_int_equal(cr->result->classifications[0]->n_classes, 1);
  assert_string_equal(cr->result->classifications[0]->classes[0]->label, "");
  assert_true(cr->result->classifications[0]->classes[0]->score == 12.0f);
  assert_true(cr->result->classifications[1]->classes[0]->score == 7.0f);
  tensorflow__serving__classification_response__free_unpacked(cr, NULL);

  /* context ++ example: the (empty) examples take x from the context */
  r = call_raw(f, PS "Regress", buf, example_request(buf, "hpt", "regress_x_to_y", NULL, 3, &x20));
  rr = (void *)unpack_ok(&r, &tensorflow__serving__regression_response__descriptor);
  assert_int_equal(rr->result->n_regressions, 3);
  assert_true(rr->result->regressions[2]->value == 12.0f);
  tensorflow__serving__regression_response__free_unpacked(rr, NULL);

  expect_error(call_raw(f, PS "Regress", buf, example_request(buf, "hpt", "nope", &x80, 1, NULL)),
               GRPC_STATUS_INVALID_ARGUMENT, "No signature was found with the name: nope");
  expect_error(call_raw(f, PS "Classify", buf, example_request(buf, "hpt", "classify_x_to_y", NULL, 0, NULL)),
               GRPC_STATUS_INVALID_ARGUMENT, "Input is empty.");
  expect_error(call_raw(f, PS "Regress", (const uint8_t *)"\x12\x05\x0a", 3), GRPC_STATUS_INVALID_ARGUMENT,
               "Could not parse request: malformed protobuf wire data");
}

static void test_multi_inference(void **state) {
  fixture *f = *state;
  /* tasks (field 1) + the Input of a RegressionRequest (field 2) */
  uint8_t one[512], buf[1024];
  const float x = 80.0f;
  size_t n1 = example_request(one, "hpt", "x", &x, 1, NULL);
  size_t spec_len = (size_t)one[1] + 2;
  const char *sigs[2] = {"regress_x_to_y", "classify_x_to_y"};
  const char *methods[2] = {"tensorflow/serving/regress", "tensorflow/serving/classify"};
  size_t len = 0;
  for (int i = 0; i < 2; i++) {
    spec_storage ss;
    Tensorflow__Serving__InferenceTask t = TENSORFLOW__SERVING__INFERENCE_TASK__INIT;
    t.model_spec = make_spec(&ss, "hpt", -1, NULL, sigs[i]);
    t.method_name = (char *)methods[i];
    buf[len++] = 0x0a;
    buf[len++] = (uint8_t)tensorflow__serving__inference_task__get_packed_size(&t);
    len += tensorflow__serving__inference_task__pack(&t, buf + len);
  }
  memcpy(buf + len, one + spec_len, n1 - spec_len);
  len += n1 - spec_len;
  reply r = call_raw(f, PS "MultiInference", buf, len);
  Tensorflow__Serving__MultiInferenceResponse *mr =
      (void *)unpack_ok(&r, &tensorflow__serving__multi_inference_response__descriptor);
  assert_int_equal(mr->n_results, 2);
  assert_int_equal(mr->results[0]->result_case, TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_REGRESSION_RESULT);
  assert_true(mr->results[0]->regression_result->regressions[0]->value == 42.0f);
  assert_int_equal(mr->results[1]->result_case, TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_CLASSIFICATION_RESULT);
  assert_true(mr->results[1]->classification_result->classifications[0]->classes[0]->score == 42.0f);
  assert_string_equal(mr->results[1]->model_spec->signature_name, "classify_x_to_y");
  tensorflow__serving__multi_inference_response__free_unpacked(mr, NULL);
  expect_error(call_raw(f, PS "MultiInference", one + spec_len, n1 - spec_len), GRPC_STATUS_INVALID_ARGUMENT,
               "Expected at least one task");
}

static void test_metadata_and_status(void **state) {
  fixture *f = *state;
  spec_storage ss;
  char *fields[1] = {"signature_def"};
  Tensorflow__Serving__GetModelMetadataRequest mreq = TENSORFLOW__SERVING__GET_MODEL_METADATA_REQUEST__INIT;
  mreq.model_spec = make_spec(&ss, "hpt", -1, NULL, NULL);
  mreq.n_metadata_field = 1;
  mreq.metadata_field = fields;
  reply r = call_msg(f, PS "GetModelMetadata", &mreq.base);
  Tensorflow__Serving__GetModelMetadataResponse *mr =
      (void *)unpack_ok(&r, &tensorflow__serving__get_model_metadata_response__descriptor);
  assert_int_equal(mr->model_spec->version->value, 123);
  assert_int_equal(mr->n_metadata, 1);
  assert_string_equal(mr->metadata[0]->value->type_url, "type.googleapis.com/tensorflow.serving.SignatureDefMap");
  Tensorflow__Serving__SignatureDefMap *map = tensorflow__serving__signature_def_map__unpack(
      NULL, mr->metadata[0]->value->value.len, mr->metadata[0]->value->value.data);
  assert_non_null(map);
  assert_int_equal(map->n_signature_def, 3); /* serving_default, regress_x_to_y, classify_x_to_y */
  tensorflow__serving__signature_def_map__free_unpacked(map, NULL);
  tensorflow__serving__get_model_metadata_response__free_unpacked(mr, NULL);
  fields[0] = "bogus";
  expect_error(call_msg(f, PS "GetModelMetadata", &mreq.base), GRPC_STATUS_INVALID_ARGUMENT,
               "Metadata field bogus is not supported");
  mreq.n_metadata_field = 0;
  expect_error(call_msg(f, PS "GetModelMetadata", &mreq.base), GRPC_STATUS_INVALID_ARGUMENT,
               "GetModelMetadataRequest must specify at least one metadata_field");

  Tensorflow__Serving__GetModelStatusRequest sreq = TENSORFLOW__SERVING__GET_MODEL_STATUS_REQUEST__INIT;
  sreq.model_spec = make_spec(&ss, "hpt", -1, NULL, NULL);
  r = call_msg(f, "/tensorflow.serving.ModelService/GetModelStatus", &sreq.base);
  Tensorflow__Serving__GetModelStatusResponse *sr =
      (void *)unpack_ok(&r, &tensorflow__serving__get_model_status_response__descriptor);
  assert_int_equal(sr->n_model_version_status, 1);
  assert_int_equal(sr->model_version_status[0]->version, 123);
  assert_int_equal(sr->model_version_status[0]->state, 30);
  tensorflow__serving__get_model_status_response__free_unpacked(sr, NULL);
  sreq.model_spec = make_spec(&ss, "nope", -1, NULL, NULL);
  expect_error(call_msg(f, "/tensorflow.serving.ModelService/GetModelStatus", &sreq.base), GRPC_STATUS_NOT_FOUND,
               "Could not find any versions of model nope");
}

static void test_server_options(void **state) {
  fixture *f = *state;
  td_status st = {0};
  td_grpc_server *s = NULL;
  td_grpc_options bad = {.host = "127.0.0.1", .port = 0, .channel_arguments = "grpc.foo"};
  assert_int_equal(td_grpc_server_start(&f->api, &bad, &s, &st), TD_INVALID_ARGUMENT);
  assert_null(s);
  /* a port in use is an error, not silently shared */
  td_grpc_options taken = {.host = "127.0.0.1", .port = td_grpc_server_port(f->server)};
  assert_int_equal(td_grpc_server_start(&f->api, &taken, &s, &st), TD_UNAVAILABLE);
  assert_null(s);
  /* --grpc_channel_arguments reach the server: a 64-byte receive limit rejects a bigger request */
  td_grpc_options small = {.host = "127.0.0.1", .port = 0, .num_threads = 1,
                           .channel_arguments = "grpc.max_receive_message_length=64,grpc.some_string=abc"};
  assert_int_equal(td_grpc_server_start(&f->api, &small, &s, &st), TD_OK);
  char target[128];
  snprintf(target, sizeof target, "127.0.0.1:%d", td_grpc_server_port(s));
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  fixture g = *f;
  g.channel = grpc_channel_create(target, creds, NULL);
  grpc_channel_credentials_release(creds);
  float x[32] = {0};
  reply r = predict_x(&g, "hpt", NULL, x, 32, 32, 1);
  assert_int_equal(r.code, GRPC_STATUS_RESOURCE_EXHAUSTED);
  free(r.data);
  r = predict_x(&g, "hpt", NULL, x, 1, 1, 0);
  assert_int_equal(r.code, GRPC_STATUS_OK);
  free(r.data);
  grpc_channel_destroy(g.channel);
  td_grpc_server_stop(s);

  /* --grpc_socket_path only (no TCP) */
  char sock[64];
  snprintf(sock, sizeof sock, "/tmp/td_grpc_test_%d.sock", (int)getpid());
  unlink(sock);
  td_grpc_options unix_only = {.port = -1, .socket_path = sock, .num_threads = 1};
  assert_int_equal(td_grpc_server_start(&f->api, &unix_only, &s, &st), TD_OK);
  assert_int_equal(td_grpc_server_port(s), 0);
  snprintf(target, sizeof target, "unix:%s", sock);
  creds = grpc_insecure_credentials_create();
  g.channel = grpc_channel_create(target, creds, NULL);
  grpc_channel_credentials_release(creds);
  r = predict_x(&g, "hpt", NULL, x, 1, 1, 0);
  assert_int_equal(r.code, GRPC_STATUS_OK);
  free(r.data);
  grpc_channel_destroy(g.channel);
  td_grpc_server_stop(s);
  unlink(sock);
  td_grpc_options none = {.port = -1};
  assert_int_equal(td_grpc_server_start(&f->api, &none, &s, &st), TD_INVALID_ARGUMENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_predict_typed_and_content),
      cmocka_unit_test(test_predict_errors),
      cmocka_unit_test(test_classify_regress),
      cmocka_unit_test(test_multi_inference),
      cmocka_unit_test(test_metadata_and_status),
      cmocka_unit_test(test_server_options),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
