/* api.h — the protocol-neutral service layer. REST (src/http) and gRPC (src/grpc) only
 * translate their wire formats into these calls and the results back, so both answer the
 * same way; every decision (which version, which signature, validation, error texts)
 * lives here.
 *
 * A request is two steps, because REST must know the signature's input dtypes before it can
 * parse its JSON:
 *   td_api_begin(api, &spec, method, &call, st)  → resolves model, version, signature
 *   td_api_predict / td_api_classify / td_api_regress (call, ...)
 *   td_api_end(&call)                               → releases the version handle
 * Metadata and status return the TF Serving protos directly (both front ends serialize them).
 * The gRPC-only decisions that work on TF Serving protos (the ModelSpec builder, MultiInference,
 * config reloads) are in api_proto.h.
 *
 * Ownership: td_api borrows the serving map. Results are owned by the caller and freed with
 * the matching *_free. Thread safety: all functions may run concurrently.
 */
#ifndef TD_API_API_H
#define TD_API_API_H

#include <stdint.h>

#include "batching/batching.h"
#include "core/servables.h"
#include "model/model.h"
#include "proto/serving.h"
#include "util/budget.h"
#include "util/status.h"

/* The front end an api serves. It picks the few texts where TF Serving's two front ends differ
 * and the metrics entrypoint label; NONE (warmup, tests) records no request metrics. */
typedef enum td_front { TD_FRONT_NONE, TD_FRONT_REST, TD_FRONT_GRPC } td_front;

typedef struct td_api_options {
  int enable_signature_method_name_check; /* --enable_signature_method_name_check */
  td_front front;
  /* --max_request_materialization_bytes: the cap on a request's materialization budget
   * (util/budget.h); <= 0: TD_BUDGET_DEFAULT_CAP */
  int64_t max_request_materialization_bytes;
  int disable_model_management; /* --enable_model_management=false: repository load/unload refused */
} td_api_options;

struct td_manager;
typedef struct td_api {
  td_servables *servables;
  td_api_options opt;
  td_batcher *batcher; /* --enable_batching: runs go through it (borrowed); NULL: direct */
  struct td_manager *manager; /* the model repository (V2 load/unload, api_v2.h; borrowed); NULL: none */
} td_api;

typedef enum td_method { TD_METHOD_PREDICT, TD_METHOD_CLASSIFY, TD_METHOD_REGRESS } td_method;

/* Which servable a request addresses (TF Serving's ModelSpec). */
typedef struct td_model_spec {
  const char *name;
  int64_t version;            /* < 0: not given */
  const char *version_label;  /* NULL or "": not given */
  const char *signature_name; /* NULL or "": "serving_default" */
  int64_t deadline_ns;        /* request deadline (td_deadline_after_ms), 0 = none */
} td_model_spec;

/* A resolved request target. */
typedef struct td_call {
  td_handle handle;
  const td_signature *sig;
  td_method method;
  const char *signature_name; /* the resolved key */
  td_run_options run;         /* deadline from the spec */
  /* request metrics (td_api_begin → td_api_end); _result is the last predict/classify/regress
   * outcome, INVALID_ARGUMENT until one ran (the front end rejected the request) */
  td_front _front;
  td_batcher *_batcher;
  int64_t _start_us;
  td_code _result;
} td_call;

/* Resolves spec for method. Errors (TF Serving's texts): unknown model/version → NOT_FOUND
 * "Servable not found for request: ..."; unknown label → INVALID_ARGUMENT; predict with an
 * unknown signature → INVALID_ARGUMENT 'Serving signature name: "<sig>" not found in signature
 * def' (gRPC: FAILED_PRECONDITION 'Serving signature key "<sig>" not found.'); classify/regress → INVALID_ARGUMENT "No signature was found with the name: <sig>";
 * method name mismatch (only with the check enabled) → INVALID_ARGUMENT. */
td_code td_api_begin(td_api *api, const td_model_spec *spec, td_method method, td_call *call,
                     td_status *st) TD_MUST_CHECK;
void td_api_end(td_call *call);

/* ---- predict ---- */
typedef struct td_named_tensor {
  const char *name; /* borrowed */
  td_tensor tensor; /* owned by whoever filled it */
} td_named_tensor;

/* inputs: by signature alias (any order; each alias at most once; unknown aliases are
 * INVALID_ARGUMENT; missing ones use the SignatureDef default, else INVALID_ARGUMENT).
 * output_filter: aliases to return (n_filter 0 = all), else INVALID_ARGUMENT for unknown ones.
 * On success *outputs / *n_outputs hold owned tensors named by signature alias (borrowed
 * names, valid until td_api_end), sorted by alias. */
td_code td_api_predict(td_call *call, const td_named_tensor *inputs, int n_inputs, const char *const *output_filter,
                       int n_filter, td_named_tensor **outputs, int *n_outputs, td_status *st) TD_MUST_CHECK;
void td_api_outputs_free(td_named_tensor *outputs, int n);
/* td_api_predict without waiting for a batch (gRPC's deferred replies, issue 14): done(user,
 * code, outputs, n_outputs, st) runs exactly once — on the thread that ran the call's batch, or
 * on this one before returning (validation errors, no batcher, a run that cannot be batched).
 * call, the input tensors and output_filter must stay valid until then; done owns outputs
 * (td_api_outputs_free) and may end the call (td_api_end). call->_result is set before done. */
typedef void (*td_api_predict_done)(void *user, td_code code, td_named_tensor *outputs, int n_outputs,
                                    const td_status *st);
void td_api_predict_async(td_call *call, const td_named_tensor *inputs, int n_inputs,
                          const char *const *output_filter, int n_filter, td_api_predict_done done, void *user);

/* ---- before decoding: the request's budget and its input names ---- */
/* The materialization budget of a request of request_bytes on this api: max(16 MiB, 32 x
 * request_bytes) capped by opt.max_request_materialization_bytes; over it a decoder reports
 * RESOURCE_EXHAUSTED (gRPC) or INVALID_ARGUMENT (REST, HTTP 400). */
void td_api_budget(const td_api *api, size_t request_bytes, td_budget *b);
/* Front ends call this for every input name *before* decoding its value: *k = the alias's
 * index in call->sig->inputs, or the INVALID_ARGUMENT td_api_predict reports for an unknown
 * alias (nothing of an unknown input is ever materialized). */
td_code td_api_input_index(const td_call *call, const char *name, int *k, td_status *st) TD_MUST_CHECK;
/* api_inputs.c — TF Serving's input-set check, before any name or value is looked at:
 * INVALID_ARGUMENT "input size does not match signature: <n>!=<m> len({..}) != len({..}). Sent
 * extra: {..}. Missing but required: {..}." when the request's distinct names (names[0..n))
 * outnumber the signature's inputs, or are fewer while the signature has no defaults. */
td_code td_api_check_input_names(const td_call *call, const char *const *names, int n, td_status *st) TD_MUST_CHECK;
/* Signature input k is neither sent (names[0..n)) nor defaulted: TF's "Signature input alias:
 * <a>(feed name: <t>) not found in request and no default value provided. ..." (INVALID_ARGUMENT). */
td_code td_api_missing_input(const td_call *call, int k, const char *const *names, int n, td_status *st);

/* ---- classify / regress ---- */
/* examples: a 1-D STRING tensor of serialized tf.Example (context already merged by the
 * front end: bytes of context ++ bytes of example). */
typedef struct td_class {
  td_string label; /* points into `_labels` tensor (empty when the signature has no classes) */
  float score;
} td_class;

typedef struct td_classify_result {
  int n_examples, n_classes;
  td_class *classes; /* n_examples * n_classes, row-major */
  td_tensor _labels, _scores;
} td_classify_result;

td_code td_api_classify(td_call *call, const td_tensor *examples, td_classify_result *out,
                        td_status *st) TD_MUST_CHECK;
void td_classify_result_free(td_classify_result *r);

td_code td_api_regress(td_call *call, const td_tensor *examples, float **values, int *n,
                       td_status *st) TD_MUST_CHECK;

/* ---- readiness ---- */
/* TD_OK once every configured model has an AVAILABLE version, else UNAVAILABLE "not ready: a
 * configured model has no available version" (REST /readyz, gRPC health). Draining is the
 * front ends' own state and is checked by them first. */
td_code td_api_ready(const td_api *api, td_status *st) TD_MUST_CHECK;

/* ---- metadata / status ---- */
/* GetModelMetadata (metadata_field "signature_def"): fills a new response (free with
 * tensorflow__serving__get_model_metadata_response__free_unpacked(r, NULL)); model_spec
 * carries the resolved version. */
td_code td_api_get_model_metadata(td_api *api, const td_model_spec *spec,
                                  Tensorflow__Serving__GetModelMetadataResponse **out, td_status *st) TD_MUST_CHECK;
/* GetModelStatus: all versions (newest first) unless spec->version >= 0. Labels are not
 * resolved (TF Serving returns all versions for a label). */
td_code td_api_get_model_status(td_api *api, const td_model_spec *spec,
                                Tensorflow__Serving__GetModelStatusResponse **out, td_status *st) TD_MUST_CHECK;

#endif
