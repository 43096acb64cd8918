/* grpc_handlers.c — TF Serving's RPCs translated onto td_api (one handler per row of the
 * method table at the bottom). Each handler turns the request proto into td_api arguments,
 * calls td_api, and packs the response proto; error codes and texts come from td_api (shared
 * with REST) except where TF Serving's gRPC path words them differently (noted inline).
 *
 * Invariants: the request message (and raw bytes) outlive the handler, so numeric
 * tensor_content inputs are fed to the model as borrowed views without a copy; the engine
 * copies any feed it passes through to an output. Responses are built on the heap in the
 * layout protobuf-c's free_unpacked releases, packed, then freed before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_proto.h"
#include "engine/engine.h"
#include "grpc/grpc_handlers.h"
#include "grpc/grpc_health.h"
#include "grpc/grpc_profiler.h"
#include "grpc/health/v1/health.pb-c.h"
#include "proto/serving.h"
#include "util/mem.h"

/* ---- shared helpers ---- */

/* The request's ModelSpec → td_model_spec (api_proto.h owns the rules). */
static td_code spec_from_proto(const td_grpc_ctx *ctx, const Tensorflow__Serving__ModelSpec *ms, td_model_spec *out,
                               td_status *st) {
  return td_api_spec_from_proto(ms, ctx->deadline_ns, out, st);
}

/* Packs m into reply and frees m (a heap message). */
static td_code pack_and_free(ProtobufCMessage *m, td_grpc_reply *reply) {
  reply->len = protobuf_c_message_get_packed_size(m);
  reply->data = td_xmalloc(reply->len + 1);
  protobuf_c_message_pack(m, reply->data);
  protobuf_c_message_free_unpacked(m, NULL);
  return TD_OK;
}

static ProtobufCMessage *unpack_spec(const uint8_t *data, size_t len, int present, td_status *st, td_code *code) {
  *code = TD_OK;
  if (!present) return NULL;
  ProtobufCMessage *m = protobuf_c_message_unpack(&tensorflow__serving__model_spec__descriptor, NULL, len, data);
  if (!m) *code = td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse tensorflow.serving.ModelSpec");
  return m;
}

/* ---- Predict ---- */

/* TF Serving's gRPC Predict reports an unknown signature as FAILED_PRECONDITION with its own
 * text (REST checks earlier, with the INVALID_ARGUMENT text td_api uses). */
/* The response envelope (message, ModelSpec, map entries) lives on the stack and borrows the
 * names; only the output TensorProtos are heap messages, freed after packing. */
#define PREDICT_STACK_OUTS 16
static td_code predict_response(const td_grpc_ctx *ctx, const td_call *call, const td_named_tensor *outs, int n_outs,
                                td_grpc_reply *reply, td_status *st) {
  Tensorflow__Serving__PredictResponse resp = TENSORFLOW__SERVING__PREDICT_RESPONSE__INIT;
  Tensorflow__Serving__ModelSpec ms = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  Google__Protobuf__Int64Value version = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
  ms.name = (char *)call->handle.name;
  ms.signature_name = (char *)(call->signature_name ? call->signature_name : "");
  ms.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
  version.value = call->handle.version;
  ms.version = &version;
  resp.model_spec = &ms;
  Tensorflow__Serving__PredictResponse__OutputsEntry entry_buf[PREDICT_STACK_OUTS], *entries = entry_buf;
  Tensorflow__Serving__PredictResponse__OutputsEntry *entry_ptr_buf[PREDICT_STACK_OUTS], **entry_ptrs = entry_ptr_buf;
  if (n_outs > PREDICT_STACK_OUTS) {
    entries = td_xcalloc((size_t)n_outs, sizeof *entries);
    entry_ptrs = td_xcalloc((size_t)n_outs, sizeof *entry_ptrs);
  }
  resp.outputs = entry_ptrs;
  td_code code = TD_OK;
  for (int i = 0; i < n_outs && code == TD_OK; i++) {
    Tensorflow__TensorProto *tp;
    int as_content = ctx->tensor_content_outputs && outs[i].tensor.dtype != TD_DT_STRING;
    code = td_tensor_to_proto(&outs[i].tensor, as_content, &tp, st);
    if (code != TD_OK) break;
    Tensorflow__Serving__PredictResponse__OutputsEntry *e = &entries[resp.n_outputs];
    tensorflow__serving__predict_response__outputs_entry__init(e);
    e->key = (char *)outs[i].name;
    e->value = tp;
    entry_ptrs[resp.n_outputs++] = e;
  }
  if (code == TD_OK) {
    reply->len = tensorflow__serving__predict_response__get_packed_size(&resp);
    reply->data = td_xmalloc(reply->len + 1);
    tensorflow__serving__predict_response__pack(&resp, reply->data);
  }
  for (size_t i = 0; i < resp.n_outputs; i++) protobuf_c_message_free_unpacked(&entries[i].value->base, NULL);
  if (entries != entry_buf) {
    free(entries);
    free(entry_ptrs);
  }
  return code;
}

static td_code handle_predict(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw, size_t raw_len,
                              td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__PredictRequest *req = (const Tensorflow__Serving__PredictRequest *)msg;
  td_model_spec spec;
  TD_TRY(spec_from_proto(ctx, req->model_spec, &spec, st));
  td_call call;
  TD_TRY(td_api_begin(ctx->api, &spec, TD_METHOD_PREDICT, &call, st));
  td_budget budget; /* names first, then values charged to the request's budget (grpc_input.c) */
  td_api_budget(ctx->api, raw_len, &budget);
  td_named_tensor *inputs = NULL;
  int n_inputs = 0;
  td_code code = td_grpc_predict_inputs(&call, req, &budget, &inputs, &n_inputs, st);
  td_named_tensor *outs = NULL;
  int n_outs = 0;
  if (code == TD_OK)
    code = td_api_predict(&call, inputs, n_inputs, (const char *const *)req->output_filter, (int)req->n_output_filter,
                          &outs, &n_outs, st);
  if (code == TD_OK) code = predict_response(ctx, &call, outs, n_outs, reply, st);
  td_api_outputs_free(outs, n_outs);
  for (int i = 0; i < n_inputs; i++) td_tensor_release(&inputs[i].tensor);
  free(inputs);
  td_api_end(&call);
  return code;
}

/* Deferred Predict (batching): the request's state, heap-owned from td_grpc_predict_async until
 * its completion ran on whichever thread finished the batch. */
typedef struct predict_job {
  td_grpc_ctx ctx;
  td_call call;
  td_named_tensor *inputs;
  int n_inputs;
  td_grpc_done_fn done;
  void *user;
} predict_job;

/* Packs the response, releases the call, hands the reply on and frees the job. */
static void predict_job_end(predict_job *j, td_code code, td_named_tensor *outs, int n_outs, const td_status *st_in) {
  td_status st = {0};
  if (code != TD_OK && st_in) st = *st_in;
  td_grpc_reply reply = {0};
  if (code == TD_OK) code = predict_response(&j->ctx, &j->call, outs, n_outs, &reply, &st);
  td_api_outputs_free(outs, n_outs);
  for (int i = 0; i < j->n_inputs; i++) td_tensor_release(&j->inputs[i].tensor);
  free(j->inputs);
  if (j->call.sig) td_api_end(&j->call);
  td_grpc_done_fn done = j->done;
  void *user = j->user;
  free(j);
  done(user, code, &reply, &st);
}

static void predict_job_ran(void *user, td_code code, td_named_tensor *outs, int n_outs, const td_status *st) {
  predict_job_end(user, code, outs, n_outs, st);
}

void td_grpc_predict_async(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, size_t raw_len, td_grpc_done_fn done,
                           void *user) {
  const Tensorflow__Serving__PredictRequest *req = (const Tensorflow__Serving__PredictRequest *)msg;
  predict_job *j = td_xcalloc(1, sizeof *j);
  j->ctx = *ctx;
  j->done = done;
  j->user = user;
  td_status st = {0};
  td_model_spec spec;
  td_code code = spec_from_proto(ctx, req->model_spec, &spec, &st);
  if (code == TD_OK) code = td_api_begin(ctx->api, &spec, TD_METHOD_PREDICT, &j->call, &st);
  if (code == TD_OK) {
    td_budget budget;
    td_api_budget(ctx->api, raw_len, &budget);
    code = td_grpc_predict_inputs(&j->call, req, &budget, &j->inputs, &j->n_inputs, &st);
  }
  if (code != TD_OK) {
    predict_job_end(j, code, NULL, 0, &st);
    return;
  }
  td_api_predict_async(&j->call, j->inputs, j->n_inputs, (const char *const *)req->output_filter,
                       (int)req->n_output_filter, predict_job_ran, j);
}

/* ---- Classify / Regress ---- */

static td_code handle_classify_or_regress(const td_grpc_ctx *ctx, const uint8_t *raw, size_t raw_len, td_method method,
                                          td_grpc_reply *reply, td_status *st) {
  td_grpc_example_request er;
  td_budget budget;
  td_api_budget(ctx->api, raw_len, &budget);
  TD_TRY(td_grpc_parse_example_request_budget(raw, raw_len, 0, &budget, &er, st));
  td_code code;
  ProtobufCMessage *ms = unpack_spec(er.model_spec, er.model_spec_len, er.model_spec != NULL, st, &code);
  td_model_spec spec;
  td_call call = {0};
  if (code == TD_OK) code = spec_from_proto(ctx, (Tensorflow__Serving__ModelSpec *)ms, &spec, st);
  if (code == TD_OK) code = td_api_begin(ctx->api, &spec, method, &call, st);
  Tensorflow__Serving__ClassificationResult *cls = NULL;
  Tensorflow__Serving__RegressionResult *reg = NULL;
  if (code == TD_OK) code = td_api_examples_proto(&call, &er.examples, &cls, &reg, st);
  if (code == TD_OK && method == TD_METHOD_CLASSIFY) {
    Tensorflow__Serving__ClassificationResponse *resp = td_xmalloc(sizeof *resp);
    tensorflow__serving__classification_response__init(resp);
    resp->model_spec = td_api_spec_proto(call.handle.name, call.handle.version, call.signature_name);
    resp->result = cls;
    pack_and_free(&resp->base, reply);
  } else if (code == TD_OK) {
    Tensorflow__Serving__RegressionResponse *resp = td_xmalloc(sizeof *resp);
    tensorflow__serving__regression_response__init(resp);
    resp->model_spec = td_api_spec_proto(call.handle.name, call.handle.version, call.signature_name);
    resp->result = reg;
    pack_and_free(&resp->base, reply);
  }
  if (call.sig) td_api_end(&call);
  if (ms) protobuf_c_message_free_unpacked(ms, NULL);
  td_grpc_example_request_release(&er);
  return code;
}

static td_code handle_classify(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                               size_t raw_len, td_grpc_reply *reply, td_status *st) {
  return handle_classify_or_regress(ctx, raw, raw_len, TD_METHOD_CLASSIFY, reply, st);
}

static td_code handle_regress(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw, size_t raw_len,
                              td_grpc_reply *reply, td_status *st) {
  return handle_classify_or_regress(ctx, raw, raw_len, TD_METHOD_REGRESS, reply, st);
}

/* ---- MultiInference (the task rules and the run: td_api_multi_inference) ---- */

static td_code handle_multi_inference(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                      size_t raw_len, td_grpc_reply *reply, td_status *st) {
  td_grpc_example_request er;
  td_budget budget;
  td_api_budget(ctx->api, raw_len, &budget);
  TD_TRY(td_grpc_parse_example_request_budget(raw, raw_len, 1, &budget, &er, st));
  td_code code = TD_OK;
  Tensorflow__Serving__InferenceTask **tasks = td_xcalloc((size_t)er.n_tasks + 1, sizeof *tasks);
  int n_tasks = 0;
  for (; n_tasks < er.n_tasks && code == TD_OK; n_tasks++) {
    tasks[n_tasks] = tensorflow__serving__inference_task__unpack(NULL, er.task_len[n_tasks], er.task[n_tasks]);
    if (!tasks[n_tasks])
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse tensorflow.serving.InferenceTask");
  }
  if (code != TD_OK) n_tasks--; /* the failed slot is NULL */
  Tensorflow__Serving__MultiInferenceResponse *resp = NULL;
  if (code == TD_OK)
    code = td_api_multi_inference(ctx->api, tasks, n_tasks, &er.examples, ctx->deadline_ns, &resp, st);
  if (code == TD_OK) pack_and_free(&resp->base, reply);
  for (int i = 0; i < n_tasks; i++) tensorflow__serving__inference_task__free_unpacked(tasks[i], NULL);
  free(tasks);
  td_grpc_example_request_release(&er);
  return code;
}

/* ---- GetModelMetadata / GetModelStatus / HandleReloadConfigRequest ---- */

static td_code handle_get_model_metadata(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                         size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__GetModelMetadataRequest *req = (const Tensorflow__Serving__GetModelMetadataRequest *)msg;
  td_model_spec spec;
  TD_TRY(td_api_metadata_spec(req, ctx->deadline_ns, &spec, st));
  Tensorflow__Serving__GetModelMetadataResponse *resp;
  TD_TRY(td_api_get_model_metadata(ctx->api, &spec, &resp, st));
  return pack_and_free(&resp->base, reply);
}

static td_code handle_get_model_status(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                       size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__GetModelStatusRequest *req = (const Tensorflow__Serving__GetModelStatusRequest *)msg;
  td_model_spec spec;
  TD_TRY(spec_from_proto(ctx, req->model_spec, &spec, st));
  Tensorflow__Serving__GetModelStatusResponse *resp;
  TD_TRY(td_api_get_model_status(ctx->api, &spec, &resp, st));
  return pack_and_free(&resp->base, reply);
}

/* TF's ModelServiceImpl: td_api_reload_config applies it through the serving map's reloader. */
static td_code handle_reload_config(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                    size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__ReloadConfigRequest *req = (const Tensorflow__Serving__ReloadConfigRequest *)msg;
  Tensorflow__Serving__ReloadConfigResponse *resp;
  TD_TRY(td_api_reload_config(ctx->api, req->config, &resp, st));
  return pack_and_free(&resp->base, reply);
}

/* ---- the method table ---- */

const td_grpc_method td_grpc_methods[] = {
    {"/tensorflow.serving.PredictionService/Predict", &tensorflow__serving__predict_request__descriptor,
     handle_predict},
    {"/tensorflow.serving.PredictionService/Classify", NULL, handle_classify},
    {"/tensorflow.serving.PredictionService/Regress", NULL, handle_regress},
    {"/tensorflow.serving.PredictionService/MultiInference", NULL, handle_multi_inference},
    {"/tensorflow.serving.PredictionService/GetModelMetadata",
     &tensorflow__serving__get_model_metadata_request__descriptor, handle_get_model_metadata},
    {"/tensorflow.serving.ModelService/GetModelStatus", &tensorflow__serving__get_model_status_request__descriptor,
     handle_get_model_status},
    {"/tensorflow.serving.ModelService/HandleReloadConfigRequest",
     &tensorflow__serving__reload_config_request__descriptor, handle_reload_config},
    {TD_HEALTH_CHECK_PATH, &grpc__health__v1__health_check_request__descriptor, td_grpc_health_check},
    {TD_PROFILER_PROFILE_PATH, NULL, td_grpc_profiler_unimplemented}, /* --trace_file instead (grpc_profiler.h) */
    {TD_PROFILER_TERMINATE_PATH, NULL, td_grpc_profiler_unimplemented},
    {TD_PROFILER_MONITOR_PATH, NULL, td_grpc_profiler_unimplemented},
};
const int td_grpc_num_methods = (int)(sizeof td_grpc_methods / sizeof td_grpc_methods[0]);
