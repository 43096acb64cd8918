/* grpc_handlers.h — the gRPC method table (internal to src/grpc): one row per TF Serving RPC,
 * {full method path, request message descriptor, handler}. The server unpacks the request with
 * the descriptor (when it has one) and hands the handler both the message and the raw bytes
 * (Classify / Regress / MultiInference read the tf.Examples straight from the raw bytes).
 *
 * A handler returns TD_OK with a packed response in *reply (heap, the caller frees
 * reply->data), or an error code (the gRPC status code) with the message in *st.
 * Handlers are pure functions of their inputs and the serving map: any thread, concurrently.
 */
#ifndef TD_GRPC_GRPC_HANDLERS_H
#define TD_GRPC_GRPC_HANDLERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "api/api.h"
#include "engine/tensor.h"
#include "util/status.h"

typedef struct td_grpc_ctx {
  td_api *api;
  int tensor_content_outputs;
  int64_t deadline_ns; /* this call's deadline (CLOCK_MONOTONIC ns), 0 = none */
  atomic_int *draining; /* the server's drain flag (health answers NOT_SERVING once set); may be NULL */
} td_grpc_ctx;

typedef struct td_grpc_reply {
  uint8_t *data; /* malloc'd packed response */
  size_t len;
} td_grpc_reply;

typedef td_code (*td_grpc_handler)(const td_grpc_ctx *ctx, const ProtobufCMessage *request, const uint8_t *raw,
                                   size_t raw_len, td_grpc_reply *reply, td_status *st);

typedef struct td_grpc_method {
  const char *path;
  const ProtobufCMessageDescriptor *request; /* NULL: the handler parses the raw bytes itself */
  td_grpc_handler handler;
} td_grpc_method;

extern const td_grpc_method td_grpc_methods[];
extern const int td_grpc_num_methods;
#define TD_GRPC_PREDICT_PATH "/tensorflow.serving.PredictionService/Predict"

/* Predict with a deferred reply (the api has a batcher): done(user, code, reply, st) runs
 * exactly once — on the thread that ran the request's batch, or on this one before returning
 * (errors, unbatched runs) — with the packed response on TD_OK (done takes reply->data). msg (a
 * PredictRequest) and the bytes it was unpacked from must stay valid until done ran. */
typedef void (*td_grpc_done_fn)(void *user, td_code code, td_grpc_reply *reply, const td_status *st);
void td_grpc_predict_async(const td_grpc_ctx *ctx, const ProtobufCMessage *msg, size_t raw_len, td_grpc_done_fn done,
                           void *user);

/* ---- grpc_input.c: tensorflow.serving.Input straight from the wire ---- */
/* Parsed shape of a Classification/Regression/MultiInference request, by walking its wire
 * format: model specs are unpacked (small), the tf.Examples are kept as raw bytes. */
typedef struct td_grpc_example_request {
  const uint8_t *model_spec; /* raw bytes of field `model_spec_field` (NULL if absent) */
  size_t model_spec_len;
  int has_input;        /* the request carried an Input */
  /* MultiInference tasks (field 1), raw InferenceTask bytes */
  int n_tasks;
  const uint8_t **task;
  size_t *task_len;
  td_tensor examples;   /* 1-D STRING: context ++ example per element (owned) */
} td_grpc_example_request;

/* Walks raw (a ClassificationRequest / RegressionRequest when multi == 0: model_spec = 1,
 * input = 2; a MultiInferenceRequest when multi != 0: tasks = 1, input = 2) into *out.
 * Borrowed pointers point into raw. INVALID_ARGUMENT on malformed wire data. */
td_code td_grpc_parse_example_request(const uint8_t *raw, size_t len, int multi, td_grpc_example_request *out,
                                      td_status *st) TD_MUST_CHECK;
/* The same, charging the examples tensor (context copied into every example) to budget
 * before it is built (NULL: unbudgeted). */
td_code td_grpc_parse_example_request_budget(const uint8_t *raw, size_t len, int multi, td_budget *budget,
                                             td_grpc_example_request *out, td_status *st) TD_MUST_CHECK;
void td_grpc_example_request_release(td_grpc_example_request *r);

/* PredictRequest inputs for call: every key checked against the signature first (unknown →
 * td_api's INVALID_ARGUMENT, nothing decoded), the last entry of a repeated key wins, duplicate
 * output_filter entries are INVALID_ARGUMENT, a dtype other than the signature's is the run's
 * INVALID_ARGUMENT "Expects arg[k] to be <want> but <got> is provided"; then each value decoded (numeric tensor_content
 * borrowed from req, which must outlive the inputs), charged to budget: over it
 * RESOURCE_EXHAUSTED, other decode failures "tensor parsing error: <key>". On success
 * *inputs (free each tensor, then the array) holds *n entries named by the request's keys. */
td_code td_grpc_predict_inputs(const td_call *call, const Tensorflow__Serving__PredictRequest *req, td_budget *budget,
                               td_named_tensor **inputs, int *n, td_status *st) TD_MUST_CHECK;

#endif
