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

#include "core/model_config.h"
#include "engine/engine.h"
#include "grpc/grpc_handlers.h"
#include "grpc/grpc_health.h"
#include "grpc/grpc_profiler.h"
#include "grpc/health/v1/health.pb-c.h"
#include "proto/serving.h"
#include "util/mem.h"

#define CLASSIFY_METHOD "tensorflow/serving/classify"
#define REGRESS_METHOD "tensorflow/serving/regress"

/* ---- shared helpers ---- */

static td_code spec_from_proto(const td_grpc_ctx *ctx, const Tensorflow__Serving__ModelSpec *ms, td_model_spec *out,
                               td_status *st) {
  memset(out, 0, sizeof *out);
  out->version = -1;
  out->deadline_ns = ctx->deadline_ns;
  if (!ms) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  if (!ms->name || !*ms->name) return td_status_set(st, TD_INVALID_ARGUMENT, "ModelSpec has no name specified.");
  out->name = ms->name;
  out->signature_name = ms->signature_name;
  if (ms->version_choice_case == TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION)
    out->version = ms->version ? ms->version->value : 0;
  else if (ms->version_choice_case == TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION_LABEL)
    out->version_label = ms->version_label;
  return TD_OK;
}

/* A heap ModelSpec {name, version, signature_name} for responses. */
static Tensorflow__Serving__ModelSpec *spec_to_proto(const char *name, int64_t version, const char *signature_name) {
  Tensorflow__Serving__ModelSpec *ms = td_xmalloc(sizeof *ms);
  tensorflow__serving__model_spec__init(ms);
  ms->name = td_xstrdup(name);
  ms->signature_name = td_xstrdup(signature_name ? signature_name : "");
  ms->version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
  ms->version = td_xmalloc(sizeof *ms->version);
  google__protobuf__int64_value__init(ms->version);
  ms->version->value = version;
  return ms;
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

/* ---- Classify / Regress ---- */

static Tensorflow__Serving__ClassificationResult *classification_result(const td_classify_result *r) {
  Tensorflow__Serving__ClassificationResult *res = td_xmalloc(sizeof *res);
  tensorflow__serving__classification_result__init(res);
  res->n_classifications = (size_t)r->n_examples;
  res->classifications = td_xcalloc((size_t)r->n_examples + 1, sizeof *res->classifications);
  for (int i = 0; i < r->n_examples; i++) {
    Tensorflow__Serving__Classifications *c = td_xmalloc(sizeof *c);
    tensorflow__serving__classifications__init(c);
    c->n_classes = (size_t)r->n_classes;
    c->classes = td_xcalloc((size_t)r->n_classes + 1, sizeof *c->classes);
    for (int k = 0; k < r->n_classes; k++) {
      const td_class *src = &r->classes[(size_t)i * (size_t)r->n_classes + (size_t)k];
      Tensorflow__Serving__Class *cl = td_xmalloc(sizeof *cl);
      tensorflow__serving__class__init(cl);
      cl->label = td_xstrndup(src->label.data ? src->label.data : "", src->label.len);
      cl->score = src->score;
      c->classes[k] = cl;
    }
    res->classifications[i] = c;
  }
  return res;
}

static Tensorflow__Serving__RegressionResult *regression_result(const float *values, int n) {
  Tensorflow__Serving__RegressionResult *res = td_xmalloc(sizeof *res);
  tensorflow__serving__regression_result__init(res);
  res->n_regressions = (size_t)n;
  res->regressions = td_xcalloc((size_t)n + 1, sizeof *res->regressions);
  for (int i = 0; i < n; i++) {
    res->regressions[i] = td_xmalloc(sizeof *res->regressions[i]);
    tensorflow__serving__regression__init(res->regressions[i]);
    res->regressions[i]->value = values[i];
  }
  return res;
}

/* Runs one classify or regress call on examples; fills the matching result proto. */
static td_code run_example_task(td_call *call, const td_tensor *examples,
                                Tensorflow__Serving__ClassificationResult **cls,
                                Tensorflow__Serving__RegressionResult **reg, td_status *st) {
  if (call->method == TD_METHOD_CLASSIFY) {
    td_classify_result r;
    TD_TRY(td_api_classify(call, examples, &r, st));
    *cls = classification_result(&r);
    td_classify_result_free(&r);
    return TD_OK;
  }
  float *values;
  int n;
  TD_TRY(td_api_regress(call, examples, &values, &n, st));
  *reg = regression_result(values, n);
  free(values);
  return TD_OK;
}

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
  if (code == TD_OK) code = run_example_task(&call, &er.examples, &cls, &reg, st);
  if (code == TD_OK && method == TD_METHOD_CLASSIFY) {
    Tensorflow__Serving__ClassificationResponse *resp = td_xmalloc(sizeof *resp);
    tensorflow__serving__classification_response__init(resp);
    resp->model_spec = spec_to_proto(call.handle.name, call.handle.version, call.signature_name);
    resp->result = cls;
    pack_and_free(&resp->base, reply);
  } else if (code == TD_OK) {
    Tensorflow__Serving__RegressionResponse *resp = td_xmalloc(sizeof *resp);
    tensorflow__serving__regression_response__init(resp);
    resp->model_spec = spec_to_proto(call.handle.name, call.handle.version, call.signature_name);
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

/* ---- MultiInference ---- */

/* TF Serving's rules (multi_inference.cc): at least one task, one model name for all, no
 * signature twice, method classify or regress; all tasks run on the version tasks[0] resolves. */
static td_code check_tasks(Tensorflow__Serving__InferenceTask **tasks, int n, td_method *methods, td_status *st) {
  if (n == 0) return td_status_set(st, TD_INVALID_ARGUMENT, "Expected at least one task");
  for (int i = 0; i < n; i++) {
    const Tensorflow__Serving__ModelSpec *ms = tasks[i]->model_spec;
    const char *name = ms ? ms->name : "";
    const char *first = tasks[0]->model_spec ? tasks[0]->model_spec->name : "";
    if (strcmp(name, first))
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "All ModelSpecs in a MultiInferenceRequest must access the same model name.");
    const char *sig = ms && *ms->signature_name ? ms->signature_name : "serving_default";
    for (int j = 0; j < i; j++) {
      const Tensorflow__Serving__ModelSpec *o = tasks[j]->model_spec;
      if (!strcmp(sig, o && *o->signature_name ? o->signature_name : "serving_default"))
        return td_status_set(st, TD_INVALID_ARGUMENT, "Duplicate evaluation of signature: %s", sig);
    }
    if (!strcmp(tasks[i]->method_name, CLASSIFY_METHOD)) methods[i] = TD_METHOD_CLASSIFY;
    else if (!strcmp(tasks[i]->method_name, REGRESS_METHOD)) methods[i] = TD_METHOD_REGRESS;
    else return td_status_set(st, TD_UNIMPLEMENTED, "Unsupported signature method_name: %s", tasks[i]->method_name);
  }
  return TD_OK;
}

static td_code run_tasks(const td_grpc_ctx *ctx, Tensorflow__Serving__InferenceTask **tasks, const td_method *methods,
                         int n, const td_tensor *examples, Tensorflow__Serving__MultiInferenceResponse *resp,
                         td_status *st) {
  td_model_spec first;
  TD_TRY(spec_from_proto(ctx, tasks[0]->model_spec, &first, st));
  int64_t version = -1;
  for (int i = 0; i < n; i++) {
    td_model_spec spec = first;
    spec.signature_name = tasks[i]->model_spec ? tasks[i]->model_spec->signature_name : NULL;
    if (i > 0) {
      spec.version = version;
      spec.version_label = NULL;
    }
    td_call call;
    TD_TRY(td_api_begin(ctx->api, &spec, methods[i], &call, st));
    version = call.handle.version;
    Tensorflow__Serving__InferenceResult *r = td_xmalloc(sizeof *r);
    tensorflow__serving__inference_result__init(r);
    r->model_spec = spec_to_proto(call.handle.name, call.handle.version, call.signature_name);
    resp->results[resp->n_results++] = r;
    Tensorflow__Serving__ClassificationResult *cls = NULL;
    Tensorflow__Serving__RegressionResult *reg = NULL;
    td_code code = run_example_task(&call, examples, &cls, &reg, st);
    td_api_end(&call);
    if (code != TD_OK) return code;
    if (cls) {
      r->result_case = TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_CLASSIFICATION_RESULT;
      r->classification_result = cls;
    } else {
      r->result_case = TENSORFLOW__SERVING__INFERENCE_RESULT__RESULT_REGRESSION_RESULT;
      r->regression_result = reg;
    }
  }
  return TD_OK;
}

static td_code handle_multi_inference(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                      size_t raw_len, td_grpc_reply *reply, td_status *st) {
  td_grpc_example_request er;
  td_budget budget;
  td_api_budget(ctx->api, raw_len, &budget);
  TD_TRY(td_grpc_parse_example_request_budget(raw, raw_len, 1, &budget, &er, st));
  td_code code = TD_OK;
  Tensorflow__Serving__InferenceTask **tasks = td_xcalloc((size_t)er.n_tasks + 1, sizeof *tasks);
  td_method *methods = td_xcalloc((size_t)er.n_tasks + 1, sizeof *methods);
  int n_tasks = 0;
  for (; n_tasks < er.n_tasks && code == TD_OK; n_tasks++) {
    tasks[n_tasks] = tensorflow__serving__inference_task__unpack(NULL, er.task_len[n_tasks], er.task[n_tasks]);
    if (!tasks[n_tasks])
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse tensorflow.serving.InferenceTask");
  }
  if (code != TD_OK) n_tasks--; /* the failed slot is NULL */
  if (code == TD_OK) code = check_tasks(tasks, n_tasks, methods, st);
  if (code == TD_OK && !tasks[0]->model_spec) code = td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  Tensorflow__Serving__MultiInferenceResponse *resp = td_xmalloc(sizeof *resp);
  tensorflow__serving__multi_inference_response__init(resp);
  resp->results = td_xcalloc((size_t)n_tasks + 1, sizeof *resp->results);
  if (code == TD_OK) code = run_tasks(ctx, tasks, methods, n_tasks, &er.examples, resp, st);
  if (code == TD_OK) pack_and_free(&resp->base, reply);
  else protobuf_c_message_free_unpacked(&resp->base, NULL);
  for (int i = 0; i < n_tasks; i++) tensorflow__serving__inference_task__free_unpacked(tasks[i], NULL);
  free(tasks);
  free(methods);
  td_grpc_example_request_release(&er);
  return code;
}

/* ---- GetModelMetadata / GetModelStatus / HandleReloadConfigRequest ---- */

static td_code handle_get_model_metadata(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                         size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__GetModelMetadataRequest *req = (const Tensorflow__Serving__GetModelMetadataRequest *)msg;
  if (!req->model_spec) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  if (req->n_metadata_field == 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "GetModelMetadataRequest must specify at least one metadata_field");
  for (size_t i = 0; i < req->n_metadata_field; i++)
    if (strcmp(req->metadata_field[i], "signature_def"))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Metadata field %s is not supported", req->metadata_field[i]);
  td_model_spec spec;
  TD_TRY(spec_from_proto(ctx, req->model_spec, &spec, st));
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

/* Applies the new ModelServerConfig through the serving map's reloader (the manager):
 * TF's ModelServiceImpl — errors are the RPC status; success answers status {error_code: OK}. */
static td_code handle_reload_config(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, const uint8_t *raw,
                                    size_t raw_len, td_grpc_reply *reply, td_status *st) {
  const Tensorflow__Serving__ReloadConfigRequest *req = (const Tensorflow__Serving__ReloadConfigRequest *)msg;
  td_model_config_list cfg;
  TD_TRY(td_model_config_from_proto(req->config, &cfg, st));
  td_code code = td_servables_reload(ctx->api->servables, &cfg, st);
  td_model_config_list_free(&cfg);
  if (code != TD_OK) return code;
  Tensorflow__Serving__ReloadConfigResponse *resp = td_xmalloc(sizeof *resp);
  tensorflow__serving__reload_config_response__init(resp);
  resp->status = td_xmalloc(sizeof *resp->status);
  tensorflow__serving__status_proto__init(resp->status);
  resp->status->error_message = td_xstrdup("");
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
