/* api_proto.c — the proto-level service decisions (see api_proto.h): ModelSpec in and out,
 * classify/regress result messages, MultiInference's task rules and its one-version run,
 * config reloads. Error texts follow TF Serving. Invariants: every td_api_begin here is paired
 * with td_api_end before returning; a failed call frees what it built. */
#include "api/api_proto.h"

#include <stdlib.h>
#include <string.h>

#include "core/model_config.h"
#include "util/mem.h"

#define DEFAULT_SIGNATURE "serving_default"
#define CLASSIFY_METHOD "tensorflow/serving/classify"
#define REGRESS_METHOD "tensorflow/serving/regress"

td_code td_api_spec_from_proto(const Tensorflow__Serving__ModelSpec *ms, int64_t deadline_ns, td_model_spec *out,
                               td_status *st) {
  memset(out, 0, sizeof *out);
  out->version = -1;
  out->deadline_ns = deadline_ns;
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

Tensorflow__Serving__ModelSpec *td_api_spec_proto(const char *name, int64_t version, const char *signature_name) {
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

td_code td_api_metadata_spec(const Tensorflow__Serving__GetModelMetadataRequest *req, int64_t deadline_ns,
                             td_model_spec *out, td_status *st) {
  memset(out, 0, sizeof *out);
  if (!req->model_spec) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  if (req->n_metadata_field == 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "GetModelMetadataRequest must specify at least one metadata_field");
  for (size_t i = 0; i < req->n_metadata_field; i++)
    if (strcmp(req->metadata_field[i], "signature_def"))
      return td_status_set(st, TD_INVALID_ARGUMENT, "Metadata field %s is not supported", req->metadata_field[i]);
  return td_api_spec_from_proto(req->model_spec, deadline_ns, out, st);
}

/* ---- classify / regress results ---- */

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

td_code td_api_examples_proto(td_call *call, const td_tensor *examples, Tensorflow__Serving__ClassificationResult **cls,
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

/* ---- MultiInference ---- */

static const char *task_signature(const Tensorflow__Serving__InferenceTask *t) {
  const Tensorflow__Serving__ModelSpec *ms = t->model_spec;
  return ms && ms->signature_name && *ms->signature_name ? ms->signature_name : DEFAULT_SIGNATURE;
}

static td_code check_tasks(Tensorflow__Serving__InferenceTask *const *tasks, int n, td_method *methods,
                           td_status *st) {
  if (n == 0) return td_status_set(st, TD_INVALID_ARGUMENT, "Expected at least one task");
  const char *first = tasks[0]->model_spec && tasks[0]->model_spec->name ? tasks[0]->model_spec->name : "";
  for (int i = 0; i < n; i++) {
    const Tensorflow__Serving__ModelSpec *ms = tasks[i]->model_spec;
    if (strcmp(ms && ms->name ? ms->name : "", first))
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "All ModelSpecs in a MultiInferenceRequest must access the same model name.");
    const char *sig = task_signature(tasks[i]);
    for (int j = 0; j < i; j++)
      if (!strcmp(sig, task_signature(tasks[j])))
        return td_status_set(st, TD_INVALID_ARGUMENT, "Duplicate evaluation of signature: %s", sig);
    const char *method = tasks[i]->method_name ? tasks[i]->method_name : "";
    if (!strcmp(method, CLASSIFY_METHOD)) methods[i] = TD_METHOD_CLASSIFY;
    else if (!strcmp(method, REGRESS_METHOD)) methods[i] = TD_METHOD_REGRESS;
    else return td_status_set(st, TD_UNIMPLEMENTED, "Unsupported signature method_name: %s", method);
  }
  if (!tasks[0]->model_spec) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  return TD_OK;
}

static td_code run_tasks(td_api *api, Tensorflow__Serving__InferenceTask *const *tasks, const td_method *methods, int n,
                         const td_tensor *examples, int64_t deadline_ns,
                         Tensorflow__Serving__MultiInferenceResponse *resp, td_status *st) {
  td_model_spec first;
  TD_TRY(td_api_spec_from_proto(tasks[0]->model_spec, deadline_ns, &first, st));
  int64_t version = -1;
  for (int i = 0; i < n; i++) {
    td_model_spec spec = first;
    spec.signature_name = tasks[i]->model_spec ? tasks[i]->model_spec->signature_name : NULL;
    if (i > 0) { /* every task on the version the first one resolved */
      spec.version = version;
      spec.version_label = NULL;
    }
    td_call call;
    TD_TRY(td_api_begin(api, &spec, methods[i], &call, st));
    version = call.handle.version;
    Tensorflow__Serving__InferenceResult *r = td_xmalloc(sizeof *r);
    tensorflow__serving__inference_result__init(r);
    r->model_spec = td_api_spec_proto(call.handle.name, call.handle.version, call.signature_name);
    resp->results[resp->n_results++] = r;
    Tensorflow__Serving__ClassificationResult *cls = NULL;
    Tensorflow__Serving__RegressionResult *reg = NULL;
    td_code code = td_api_examples_proto(&call, examples, &cls, &reg, st);
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

td_code td_api_multi_inference(td_api *api, Tensorflow__Serving__InferenceTask *const *tasks, int n_tasks,
                               const td_tensor *examples, int64_t deadline_ns,
                               Tensorflow__Serving__MultiInferenceResponse **out, td_status *st) {
  *out = NULL;
  td_method *methods = td_xcalloc((size_t)n_tasks + 1, sizeof *methods);
  td_code code = check_tasks(tasks, n_tasks, methods, st);
  Tensorflow__Serving__MultiInferenceResponse *resp = NULL;
  if (code == TD_OK) {
    resp = td_xmalloc(sizeof *resp);
    tensorflow__serving__multi_inference_response__init(resp);
    resp->results = td_xcalloc((size_t)n_tasks + 1, sizeof *resp->results);
    code = run_tasks(api, tasks, methods, n_tasks, examples, deadline_ns, resp, st);
  }
  free(methods);
  if (code == TD_OK) *out = resp;
  else if (resp) tensorflow__serving__multi_inference_response__free_unpacked(resp, NULL);
  return code;
}

/* ---- config reloads ---- */

td_code td_api_reload_config(td_api *api, const Tensorflow__Serving__ModelServerConfig *config,
                             Tensorflow__Serving__ReloadConfigResponse **out, td_status *st) {
  *out = NULL;
  td_model_config_list cfg;
  TD_TRY(td_model_config_from_proto(config, &cfg, st));
  td_code code = td_servables_reload(api->servables, &cfg, st);
  td_model_config_list_free(&cfg);
  if (code != TD_OK) return code;
  Tensorflow__Serving__ReloadConfigResponse *resp = td_xmalloc(sizeof *resp);
  tensorflow__serving__reload_config_response__init(resp);
  resp->status = td_xmalloc(sizeof *resp->status);
  tensorflow__serving__status_proto__init(resp->status);
  resp->status->error_message = td_xstrdup("");
  *out = resp;
  return TD_OK;
}
