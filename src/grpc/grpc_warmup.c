/* grpc_warmup.c — warmup records replayed through the gRPC method table (see grpc_warmup.h).
 * Invariants: the logged request is packed back to wire bytes because handlers take both the
 * message and its bytes; a log without a request runs an empty one, as TF does. */
#include "grpc/grpc_warmup.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "grpc/grpc_handlers.h"
#include "util/mem.h"

/* The gRPC method a log type replays through, and the request inside the log. */
typedef struct replay_target {
  const char *path;
  const ProtobufCMessage *request; /* NULL: the log carries no request (an empty one runs) */
  const ProtobufCMessageDescriptor *descriptor;
} replay_target;

static td_code target_of(const Tensorflow__Serving__PredictionLog *log, replay_target *t, td_status *st) {
  switch (log->log_type_case) {
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG:
    *t = (replay_target){"/tensorflow.serving.PredictionService/Predict",
                         (const ProtobufCMessage *)log->predict_log->request,
                         &tensorflow__serving__predict_request__descriptor};
    return TD_OK;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_CLASSIFY_LOG:
    *t = (replay_target){"/tensorflow.serving.PredictionService/Classify",
                         (const ProtobufCMessage *)log->classify_log->request,
                         &tensorflow__serving__classification_request__descriptor};
    return TD_OK;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_REGRESS_LOG:
    *t = (replay_target){"/tensorflow.serving.PredictionService/Regress",
                         (const ProtobufCMessage *)log->regress_log->request,
                         &tensorflow__serving__regression_request__descriptor};
    return TD_OK;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_MULTI_INFERENCE_LOG:
    *t = (replay_target){"/tensorflow.serving.PredictionService/MultiInference",
                         (const ProtobufCMessage *)log->multi_inference_log->request,
                         &tensorflow__serving__multi_inference_request__descriptor};
    return TD_OK;
  default:
    return td_status_set(st, TD_UNIMPLEMENTED, "Unsupported log_type for warmup: %d", (int)log->log_type_case);
  }
}

static const td_grpc_method *find_method(const char *path) {
  for (int i = 0; i < td_grpc_num_methods; i++)
    if (!strcmp(td_grpc_methods[i].path, path)) return &td_grpc_methods[i];
  return NULL;
}

td_code td_grpc_warmup_replay(void *ctx, td_servables *map, const Tensorflow__Serving__PredictionLog *log,
                              int iterations, td_status *st) {
  (void)ctx;
  replay_target t = {0};
  TD_TRY(target_of(log, &t, st));
  const td_grpc_method *method = find_method(t.path);
  if (!method) return td_status_set(st, TD_INTERNAL, "no gRPC method %s", t.path);
  ProtobufCMessage *empty = NULL;
  if (!t.request) {
    empty = protobuf_c_message_unpack(t.descriptor, NULL, 0, (const uint8_t *)"");
    if (!empty) return td_status_set(st, TD_INTERNAL, "could not build an empty %s", t.descriptor->name);
    t.request = empty;
  }
  size_t len = protobuf_c_message_get_packed_size(t.request);
  uint8_t *raw = td_xmalloc(len + 1);
  protobuf_c_message_pack(t.request, raw);
  td_api api = {.servables = map}; /* front NONE: no request metrics, no batcher */
  td_grpc_ctx gctx = {.api = &api};
  td_code code = TD_OK;
  for (int i = 0; i < iterations && code == TD_OK; i++) {
    td_grpc_reply reply = {0};
    code = method->handler(&gctx, t.request, raw, len, &reply, st);
    free(reply.data);
  }
  free(raw);
  if (empty) protobuf_c_message_free_unpacked(empty, NULL);
  return code;
}
