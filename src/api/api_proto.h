/* api_proto.h — the service decisions that work on TF Serving's own protos: the ModelSpec
 * builder (name / version / label / signature of a request), the classify/regress result
 * messages, MultiInference's rules, and config reloads. The gRPC front end (and warmup, which
 * replays through it) only unpacks requests, calls these, and packs the answers.
 *
 * Ownership: returned messages are heap protos laid out as protobuf-c's free_unpacked expects
 * (free them with it); a td_model_spec borrows the strings of the ModelSpec it was built from.
 * Thread safety: all functions may run concurrently.
 */
#ifndef TD_API_API_PROTO_H
#define TD_API_API_PROTO_H

#include <stdint.h>

#include "api/api.h"
#include "proto/serving.h"

/* The request target a ModelSpec names (deadline_ns: the call's deadline, 0 = none).
 * INVALID_ARGUMENT "Missing ModelSpec" (ms NULL) / "ModelSpec has no name specified.". */
td_code td_api_spec_from_proto(const Tensorflow__Serving__ModelSpec *ms, int64_t deadline_ns, td_model_spec *out,
                               td_status *st) TD_MUST_CHECK;

/* GetModelMetadata's request checks, in TF Serving's order: INVALID_ARGUMENT "Missing ModelSpec",
 * "GetModelMetadataRequest must specify at least one metadata_field", "Metadata field <f> is
 * not supported" (only "signature_def" is), then td_api_spec_from_proto's. */
td_code td_api_metadata_spec(const Tensorflow__Serving__GetModelMetadataRequest *req, int64_t deadline_ns,
                             td_model_spec *out, td_status *st) TD_MUST_CHECK;

/* A response's ModelSpec {name, version, signature_name (NULL → "")}. */
Tensorflow__Serving__ModelSpec *td_api_spec_proto(const char *name, int64_t version, const char *signature_name);

/* Runs call (a classify or regress call from td_api_begin) on examples and builds the result
 * message: *cls for classify, *reg for regress (the other stays untouched). */
td_code td_api_examples_proto(td_call *call, const td_tensor *examples, Tensorflow__Serving__ClassificationResult **cls,
                              Tensorflow__Serving__RegressionResult **reg, td_status *st) TD_MUST_CHECK;

/* MultiInference (TF Serving's multi_inference.cc): at least one task, one model name for all,
 * no signature twice, each method classify or regress (else UNIMPLEMENTED "Unsupported
 * signature method_name: ..."); every task runs on the version tasks[0] resolves, on the same
 * examples. On success *out is the response (one result per task, in order). */
td_code td_api_multi_inference(td_api *api, Tensorflow__Serving__InferenceTask *const *tasks, int n_tasks,
                               const td_tensor *examples, int64_t deadline_ns,
                               Tensorflow__Serving__MultiInferenceResponse **out, td_status *st) TD_MUST_CHECK;

/* HandleReloadConfigRequest: applies config through the serving map's reloader (the manager);
 * its error is the call's status; on success *out answers status {error_code: OK}. */
td_code td_api_reload_config(td_api *api, const Tensorflow__Serving__ModelServerConfig *config,
                             Tensorflow__Serving__ReloadConfigResponse **out, td_status *st) TD_MUST_CHECK;

#endif
