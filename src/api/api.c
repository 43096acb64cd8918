/* api.c — the protocol-neutral service layer (see api.h): resolve servable + signature,
 * validate inputs, run, and shape classify/regress results. Error texts follow TF Serving.
 * Requests of an api serving a front end (opt.front) are recorded in the metrics registry: count +
 * latency at td_api_end (or at a failed td_api_begin), model time around each run. */
#include "api/api.h"
#include "api/api_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/buf.h"
#include "util/mem.h"

#define DEFAULT_SIGNATURE "serving_default"

static const char *const method_names[] = {
    [TD_METHOD_PREDICT] = "tensorflow/serving/predict",
    [TD_METHOD_CLASSIFY] = "tensorflow/serving/classify",
    [TD_METHOD_REGRESS] = "tensorflow/serving/regress",
};

/* The API label of request metrics: TF Serving's gRPC method name, or REST's URL verb. */
static const char *const api_labels[][2] = {
    [TD_METHOD_PREDICT] = {"predict", "Predict"},
    [TD_METHOD_CLASSIFY] = {"classify", "Classify"},
    [TD_METHOD_REGRESS] = {"regress", "Regress"},
};

/* The metrics entrypoint label per front end. */
static const char *const entrypoints[] = {[TD_FRONT_NONE] = NULL, [TD_FRONT_REST] = "REST", [TD_FRONT_GRPC] = "GRPC"};

static const char *api_label(const td_call *call) {
  return api_labels[call->method][call->_front == TD_FRONT_GRPC];
}

static void record_request(const td_call *call, const char *model, td_code code) {
  if (call->_front != TD_FRONT_NONE)
    td_metrics_request(model ? model : "", api_label(call), entrypoints[call->_front], code,
                       td_metrics_now_us() - call->_start_us);
}

/* td_model_run_opts, timed for runtime_latency. */
static td_code run_model(td_call *call, const td_tensor *inputs, td_tensor *outputs, td_status *st) {
  int64_t start_us = td_metrics_now_us();
  td_code code = call->_batcher ? td_batcher_run(call->_batcher, call->handle.model, call->sig, inputs, outputs,
                                                 &call->run, st)
                                : td_model_run_opts(call->handle.model, call->sig, inputs, outputs, &call->run, st);
  if (code == TD_OK && call->_front != TD_FRONT_NONE)
    td_metrics_runtime(call->handle.name, api_label(call), td_metrics_now_us() - start_us);
  return code;
}

static td_code begin_call(td_api *api, const td_model_spec *spec, td_method method, td_call *call, td_status *st) {
  memset(call, 0, sizeof *call);
  if (!spec->name || !*spec->name) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing ModelSpec");
  TD_TRY(td_servables_get(api->servables, spec->name, spec->version, spec->version_label, &call->handle, st));
  const char *key = spec->signature_name && *spec->signature_name ? spec->signature_name : DEFAULT_SIGNATURE;
  const td_signature *sig = td_model_find_signature(call->handle.model, key);
  td_code code = TD_OK;
  if (!sig && method == TD_METHOD_PREDICT && api->opt.front == TD_FRONT_GRPC)
    code = td_status_set(st, TD_FAILED_PRECONDITION, "Serving signature key \"%s\" not found.", key);
  else if (!sig && method == TD_METHOD_PREDICT)
    code = td_status_set(st, TD_INVALID_ARGUMENT, "Serving signature name: \"%s\" not found in signature def", key);
  else if (!sig)
    code = td_status_set(st, TD_INVALID_ARGUMENT, "No signature was found with the name: %s", key);
  else if (api->opt.enable_signature_method_name_check && strcmp(sig->method_name, method_names[method]))
    code = td_status_set(st, TD_INVALID_ARGUMENT, "Expected %s signature method_name to be %s. Was: %s",
                         method == TD_METHOD_PREDICT ? "prediction" : method == TD_METHOD_CLASSIFY ? "classification" : "regression",
                         method_names[method], sig->method_name);
  if (code != TD_OK) {
    td_handle_release(&call->handle);
    return code;
  }
  call->sig = sig;
  call->run.deadline_ns = spec->deadline_ns;
  call->method = method;
  call->signature_name = sig->key;
  return TD_OK;
}

td_code td_api_begin(td_api *api, const td_model_spec *spec, td_method method, td_call *call, td_status *st) {
  int64_t start_us = td_metrics_now_us();
  td_code code = begin_call(api, spec, method, call, st);
  call->method = method;
  call->_front = api->opt.front;
  call->_batcher = api->batcher;
  call->_start_us = start_us;
  call->_result = TD_INVALID_ARGUMENT;
  if (code != TD_OK) record_request(call, spec->name, code);
  return code;
}

void td_api_end(td_call *call) {
  if (call->sig) record_request(call, call->handle.name, call->_result);
  td_handle_release(&call->handle);
  call->sig = NULL;
}

/* "{a,b,c}" of the signature's aliases. */
static void alias_set(td_buf *b, const td_sig_tensor *t, int n) {
  td_buf_putc(b, '{');
  for (int i = 0; i < n; i++) td_buf_printf(b, "%s%s", i ? "," : "", t[i].alias);
  td_buf_putc(b, '}');
}

static int find_alias(const td_sig_tensor *t, int n, const char *alias) {
  for (int i = 0; i < n; i++)
    if (!strcmp(t[i].alias, alias)) return i;
  return -1;
}

static td_code unknown_input(const td_signature *sig, const char *name, td_buf *b, td_status *st) {
  alias_set(b, sig->inputs, sig->num_inputs);
  return td_status_set(st, TD_INVALID_ARGUMENT,
                       "input tensor alias not found in signature: %s. Inputs expected to be in the set %s.", name,
                       b->data);
}

void td_api_budget(const td_api *api, size_t request_bytes, td_budget *b) {
  td_budget_init(b, request_bytes, api->opt.max_request_materialization_bytes,
                 api->opt.front == TD_FRONT_REST ? TD_INVALID_ARGUMENT : TD_RESOURCE_EXHAUSTED);
}

td_code td_api_input_index(const td_call *call, const char *name, int *k, td_status *st) {
  *k = find_alias(call->sig->inputs, call->sig->num_inputs, name);
  if (*k >= 0) return TD_OK;
  td_buf b;
  td_buf_init(&b);
  td_code code = unknown_input(call->sig, name, &b, st);
  td_buf_release(&b);
  return code;
}

/* Matches the request's inputs and output filter against the signature: feeds[k] borrows
 * signature input k's tensor (INVALID when left to its default), want[k] marks a requested
 * output. Both are heap arrays the caller frees, also on error. */
static td_code predict_prepare(const td_call *call, const td_named_tensor *inputs, int n_inputs,
                               const char *const *output_filter, int n_filter, td_tensor **feeds_out,
                               unsigned char **want_out, td_status *st) {
  const td_signature *sig = call->sig;
  td_tensor *feeds = *feeds_out = td_xcalloc((size_t)sig->num_inputs + 1, sizeof *feeds);
  unsigned char *want = *want_out = td_xcalloc((size_t)sig->num_outputs + 1, 1);
  td_code code = TD_OK;
  td_buf b;
  td_buf_init(&b);
  for (int i = 0; i < n_inputs && code == TD_OK; i++) {
    int k = find_alias(sig->inputs, sig->num_inputs, inputs[i].name);
    if (k < 0) {
      code = unknown_input(sig, inputs[i].name, &b, st);
    } else if (feeds[k].dtype != TD_DT_INVALID) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "duplicate input tensor alias: %s", inputs[i].name);
    } else {
      feeds[k] = inputs[i].tensor;
    }
  }
  for (int k = 0; k < sig->num_inputs && code == TD_OK; k++)
    if (feeds[k].dtype == TD_DT_INVALID && sig->_defaults[k].dtype == TD_DT_INVALID) {
      const char **names = td_xcalloc((size_t)n_inputs + 1, sizeof *names); /* TF's texts: api_inputs.c */
      for (int i = 0; i < n_inputs; i++) names[i] = inputs[i].name;
      code = td_api_check_input_names(call, names, n_inputs, st);
      if (code == TD_OK) code = td_api_missing_input(call, k, names, n_inputs, st);
      free(names);
    }
  for (int i = 0; i < n_filter && code == TD_OK; i++) {
    int k = find_alias(sig->outputs, sig->num_outputs, output_filter[i]);
    if (k < 0) {
      td_buf_reset(&b);
      alias_set(&b, sig->outputs, sig->num_outputs);
      code = td_status_set(st, TD_INVALID_ARGUMENT,
                           "output tensor alias not found in signature: %s Outputs expected to be in the set %s.",
                           output_filter[i], b.data);
    } else if (want[k]) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "duplicate output tensor alias: %s", output_filter[i]);
    } else {
      want[k] = 1;
    }
  }
  td_buf_release(&b);
  return code;
}

/* The run's outputs (out, owned) as the named, filtered result: *outputs takes them, or they
 * are released when the run failed. */
static void predict_collect(const td_call *call, td_code code, td_tensor *out, const unsigned char *want, int n_filter,
                            td_named_tensor **outputs, int *n_outputs) {
  const td_signature *sig = call->sig;
  *outputs = NULL;
  *n_outputs = 0;
  if (code != TD_OK) return;
  *outputs = td_xcalloc((size_t)sig->num_outputs + 1, sizeof **outputs);
  for (int k = 0; k < sig->num_outputs; k++) {
    if (n_filter && !want[k]) {
      td_tensor_release(&out[k]);
      continue;
    }
    (*outputs)[*n_outputs].name = sig->outputs[k].alias;
    (*outputs)[(*n_outputs)++].tensor = out[k];
  }
}

td_code td_api_predict(td_call *call, const td_named_tensor *inputs, int n_inputs, const char *const *output_filter,
                       int n_filter, td_named_tensor **outputs, int *n_outputs, td_status *st) {
  *outputs = NULL;
  *n_outputs = 0;
  td_tensor *feeds;
  unsigned char *want;
  td_code code = predict_prepare(call, inputs, n_inputs, output_filter, n_filter, &feeds, &want, st);
  td_tensor *out = td_xcalloc((size_t)call->sig->num_outputs + 1, sizeof *out);
  if (code == TD_OK) code = run_model(call, feeds, out, st);
  predict_collect(call, code, out, want, n_filter, outputs, n_outputs);
  free(out);
  free(want);
  free(feeds);
  return call->_result = code;
}

/* One td_api_predict_async in flight (heap; freed after its callback). */
typedef struct predict_job {
  td_call *call;
  td_tensor *feeds, *out;
  unsigned char *want;
  int n_filter;
  int64_t start_us;
  td_api_predict_done done;
  void *user;
} predict_job;

/* Finishes a job: outputs collected, call->_result set, the caller's callback, then freed. */
static void predict_job_finish(predict_job *j, td_code code, const td_status *st) {
  td_named_tensor *outs;
  int n_outs;
  predict_collect(j->call, code, j->out, j->want, j->n_filter, &outs, &n_outs);
  j->call->_result = code;
  td_api_predict_done done = j->done;
  void *user = j->user;
  free(j->out);
  free(j->want);
  free(j->feeds);
  free(j);
  done(user, code, outs, n_outs, st);
}

/* The batcher's completion: runtime metrics as run_model records them. */
static void predict_job_ran(void *user, td_code code, const td_status *st) {
  predict_job *j = user;
  if (code == TD_OK && j->call->_front != TD_FRONT_NONE)
    td_metrics_runtime(j->call->handle.name, api_label(j->call), td_metrics_now_us() - j->start_us);
  predict_job_finish(j, code, st);
}

void td_api_predict_async(td_call *call, const td_named_tensor *inputs, int n_inputs,
                          const char *const *output_filter, int n_filter, td_api_predict_done done, void *user) {
  predict_job *j = td_xcalloc(1, sizeof *j);
  *j = (predict_job){.call = call, .n_filter = n_filter, .done = done, .user = user};
  td_status st = {0};
  td_code code = predict_prepare(call, inputs, n_inputs, output_filter, n_filter, &j->feeds, &j->want, &st);
  j->out = td_xcalloc((size_t)call->sig->num_outputs + 1, sizeof *j->out);
  if (code != TD_OK || !call->_batcher) {
    if (code == TD_OK) code = run_model(call, j->feeds, j->out, &st);
    predict_job_finish(j, code, &st);
    return;
  }
  j->start_us = td_metrics_now_us();
  td_batcher_submit(call->_batcher, call->handle.model, call->sig, j->feeds, j->out, &call->run, predict_job_ran, j);
}

void td_api_outputs_free(td_named_tensor *outputs, int n) {
  for (int i = 0; i < n; i++) td_tensor_release(&outputs[i].tensor);
  free(outputs);
}

/* Runs a classify/regress signature: one input (the serialized examples). */
static td_code run_examples(td_call *call, const td_tensor *examples, td_tensor *out, td_status *st) {
  const td_signature *sig = call->sig;
  if (examples->dtype != TD_DT_STRING || examples->shape.rank != 1)
    return td_status_set(st, TD_INVALID_ARGUMENT, "examples must be a 1-D string tensor");
  if (examples->shape.dim[0] == 0) return td_status_set(st, TD_INVALID_ARGUMENT, "Input is empty.");
  if (sig->num_inputs != 1)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Expected one input Tensor.");
  return run_model(call, examples, out, st);
}

static td_code check_batch(const char *what, const td_tensor *t, int64_t batch, int rank2, td_status *st) {
  char shape[64];
  if (t->shape.rank < 1 || t->shape.dim[0] != batch || (rank2 && t->shape.rank != 2))
    return td_status_set(st, TD_INVALID_ARGUMENT, "Expected %s Tensor shape: [batch_size num_classes] (batch %lld) but got %s",
                         what, (long long)batch, td_shape_str(&t->shape, shape, sizeof shape));
  return TD_OK;
}

td_code td_api_classify(td_call *call, const td_tensor *examples, td_classify_result *r, td_status *st) {
  memset(r, 0, sizeof *r);
  const td_signature *sig = call->sig;
  int ci = find_alias(sig->outputs, sig->num_outputs, "classes");
  int si = find_alias(sig->outputs, sig->num_outputs, "scores");
  if (ci < 0 && si < 0)
    return call->_result = td_status_set(st, TD_INVALID_ARGUMENT,
                                         "Expected classification signature outputs to contain classes or scores.");
  td_tensor *out = td_xcalloc((size_t)sig->num_outputs + 1, sizeof *out);
  td_code code = run_examples(call, examples, out, st);
  int64_t batch = examples->shape.dim[0];
  if (code == TD_OK && ci >= 0) {
    code = check_batch("classes", &out[ci], batch, 1, st);
    if (code == TD_OK && out[ci].dtype != TD_DT_STRING)
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Expected classes Tensor of DT_STRING. Got: %s",
                           td_dtype_enum_name(out[ci].dtype));
  }
  if (code == TD_OK && si >= 0) {
    code = check_batch("scores", &out[si], batch, 1, st);
    if (code == TD_OK && out[si].dtype != TD_DT_FLOAT)
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Expected scores Tensor of DT_FLOAT. Got: %s",
                           td_dtype_enum_name(out[si].dtype));
  }
  if (code == TD_OK && ci >= 0 && si >= 0 && out[ci].shape.dim[1] != out[si].shape.dim[1])
    code = td_status_set(st, TD_INVALID_ARGUMENT, "Tensors class and score should match in dim[1]");
  if (code == TD_OK) {
    r->n_examples = (int)batch;
    r->n_classes = (int)(si >= 0 ? out[si].shape.dim[1] : out[ci].shape.dim[1]);
    r->classes = td_xcalloc((size_t)r->n_examples * (size_t)r->n_classes + 1, sizeof *r->classes);
    for (int64_t i = 0; i < (int64_t)r->n_examples * r->n_classes; i++) {
      if (ci >= 0) r->classes[i].label = td_str(&out[ci])[i];
      if (si >= 0) r->classes[i].score = td_f32(&out[si])[i];
    }
    if (ci >= 0) r->_labels = td_tensor_ref(&out[ci]);
    if (si >= 0) r->_scores = td_tensor_ref(&out[si]);
  }
  for (int k = 0; k < sig->num_outputs; k++) td_tensor_release(&out[k]);
  free(out);
  return call->_result = code;
}

void td_classify_result_free(td_classify_result *r) {
  free(r->classes);
  td_tensor_release(&r->_labels);
  td_tensor_release(&r->_scores);
  memset(r, 0, sizeof *r);
}

td_code td_api_regress(td_call *call, const td_tensor *examples, float **values, int *n, td_status *st) {
  *values = NULL;
  *n = 0;
  const td_signature *sig = call->sig;
  int oi = find_alias(sig->outputs, sig->num_outputs, "outputs");
  if (oi < 0 || sig->num_outputs != 1)
    return call->_result = td_status_set(st, TD_INVALID_ARGUMENT, "Expected one output Tensor.");
  td_tensor *out = td_xcalloc((size_t)sig->num_outputs + 1, sizeof *out);
  td_code code = run_examples(call, examples, out, st);
  int64_t batch = examples->shape.dim[0];
  if (code == TD_OK) {
    const td_tensor *t = &out[oi];
    char shape[64];
    if (!((t->shape.rank == 1 && t->shape.dim[0] == batch) ||
          (t->shape.rank == 2 && t->shape.dim[0] == batch && t->shape.dim[1] == 1)))
      code = td_status_set(st, TD_INVALID_ARGUMENT,
                           "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got %s",
                           td_shape_str(&t->shape, shape, sizeof shape));
    else if (t->dtype != TD_DT_FLOAT)
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Expected output Tensor of DT_FLOAT. Got: %s",
                           td_dtype_enum_name(t->dtype));
  }
  if (code == TD_OK) {
    *n = (int)batch;
    *values = td_xmalloc(sizeof **values * (size_t)(batch ? batch : 1));
    memcpy(*values, out[oi].data, sizeof **values * (size_t)batch);
  }
  td_tensor_release(&out[oi]);
  free(out);
  return call->_result = code;
}

td_code td_api_ready(const td_api *api, td_status *st) {
  if (!td_servables_ready(api->servables))
    return td_status_set(st, TD_UNAVAILABLE, "not ready: a configured model has no available version");
  return TD_OK;
}

td_code td_api_get_model_metadata(td_api *api, const td_model_spec *spec,
                                  Tensorflow__Serving__GetModelMetadataResponse **out, td_status *st) {
  *out = NULL;
  td_handle h;
  TD_TRY(td_servables_get(api->servables, spec->name, spec->version, spec->version_label, &h, st));
  const Tensorflow__MetaGraphDef *mg = td_model_meta_graph(h.model);
  /* SignatureDefMap borrowing the meta graph's SignatureDefs, packed into an Any */
  Tensorflow__Serving__SignatureDefMap map = TENSORFLOW__SERVING__SIGNATURE_DEF_MAP__INIT;
  Tensorflow__Serving__SignatureDefMap__SignatureDefEntry *entries = td_xcalloc(mg->n_signature_def + 1, sizeof *entries);
  Tensorflow__Serving__SignatureDefMap__SignatureDefEntry **ptrs = td_xcalloc(mg->n_signature_def + 1, sizeof *ptrs);
  for (size_t i = 0; i < mg->n_signature_def; i++) {
    tensorflow__serving__signature_def_map__signature_def_entry__init(&entries[i]);
    entries[i].key = mg->signature_def[i]->key;
    entries[i].value = mg->signature_def[i]->value;
    ptrs[i] = &entries[i];
  }
  map.n_signature_def = mg->n_signature_def;
  map.signature_def = ptrs;
  size_t len = tensorflow__serving__signature_def_map__get_packed_size(&map);
  uint8_t *bytes = td_xmalloc(len + 1);
  tensorflow__serving__signature_def_map__pack(&map, bytes);
  free(ptrs);
  free(entries);
  Google__Protobuf__Any *any = td_xmalloc(sizeof *any);
  google__protobuf__any__init(any);
  any->type_url = td_xstrdup("type.googleapis.com/tensorflow.serving.SignatureDefMap");
  any->value.data = bytes;
  any->value.len = len;
  Tensorflow__Serving__GetModelMetadataResponse *r = td_xmalloc(sizeof *r);
  tensorflow__serving__get_model_metadata_response__init(r);
  r->model_spec = td_api_spec_proto(h.name, h.version, NULL);
  r->n_metadata = 1;
  r->metadata = td_xcalloc(1, sizeof *r->metadata);
  r->metadata[0] = td_xmalloc(sizeof *r->metadata[0]);
  tensorflow__serving__get_model_metadata_response__metadata_entry__init(r->metadata[0]);
  r->metadata[0]->key = td_xstrdup("signature_def");
  r->metadata[0]->value = any;
  td_handle_release(&h);
  *out = r;
  return TD_OK;
}


td_code td_api_get_model_status(td_api *api, const td_model_spec *spec,
                                Tensorflow__Serving__GetModelStatusResponse **out, td_status *st) {
  *out = NULL;
  td_version_status *vs;
  int n;
  TD_TRY(td_servables_status(api->servables, spec->name, spec->version, &vs, &n, st));
  Tensorflow__Serving__GetModelStatusResponse *r = td_xmalloc(sizeof *r);
  tensorflow__serving__get_model_status_response__init(r);
  r->n_model_version_status = (size_t)n;
  r->model_version_status = td_xcalloc((size_t)n + 1, sizeof *r->model_version_status);
  for (int i = 0; i < n; i++) {
    Tensorflow__Serving__ModelVersionStatus *m = td_xmalloc(sizeof *m);
    tensorflow__serving__model_version_status__init(m);
    m->version = vs[i].version;
    m->state = (Tensorflow__Serving__ModelVersionStatus__State)vs[i].state;
    m->status = td_xmalloc(sizeof *m->status);
    tensorflow__serving__status_proto__init(m->status);
    m->status->error_code = (Tensorflow__Error__Code)vs[i].error_code;
    m->status->error_message = td_xstrdup(vs[i].error_message);
    r->model_version_status[i] = m;
  }
  free(vs);
  *out = r;
  return TD_OK;
}
