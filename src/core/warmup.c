/* warmup.c — replays a SavedModel's warmup requests (see warmup.h).
 *
 * Invariants: the whole file is read into memory (TF caps it at 1000 records); each record's
 * length and data CRCs are checked before the record is parsed; a request runs through the
 * gRPC method table with a td_api pinned to the model being loaded (no serving map, no
 * request metrics), so warmup exercises exactly the code real gRPC requests use.
 * td_warmup_loader_* wrap td_model_load with the load metrics and the replay for the manager.
 */
#include "core/warmup.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "batching/batching.h"
#include "grpc/grpc_handlers.h"
#include "metrics/metrics.h"
#include "proto/serving.h"
#include "util/crc32c.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define TFRECORD_HINT ". Please verify your warmup data is in TFRecord format."

static uint64_t load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

td_code td_tfrecord_next(const uint8_t *data, size_t len, size_t *pos, const uint8_t **rec, size_t *rec_len,
                         td_status *st) {
  size_t at = *pos;
  if (at == len) return td_status_set(st, TD_OUT_OF_RANGE, "End of file");
  if (len - at < 12) return td_status_set(st, TD_DATA_LOSS, "truncated record at %zu", at);
  uint64_t n = load_le64(data + at);
  if (td_crc32c_unmask(load_le32(data + at + 8)) != td_crc32c(data + at, 8))
    return td_status_set(st, TD_DATA_LOSS, "corrupted record at %zu (length checksum mismatch)", at);
  if (n > len - at - 12 || len - at - 12 - n < 4)
    return td_status_set(st, TD_DATA_LOSS, "truncated record at %zu", at);
  const uint8_t *body = data + at + 12;
  if (td_crc32c_unmask(load_le32(body + n)) != td_crc32c(body, (size_t)n))
    return td_status_set(st, TD_DATA_LOSS, "corrupted record at %zu (data checksum mismatch)", at);
  *rec = body;
  *rec_len = (size_t)n;
  *pos = at + 12 + (size_t)n + 4;
  return TD_OK;
}

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

/* TF runs warmup requests on the session directly, ignoring their ModelSpec; the gRPC handlers
 * need a model name, so a missing or nameless spec gets the loading model's name. */
static void name_spec(Tensorflow__Serving__ModelSpec **slot, const char *model_name) {
  if (!*slot) {
    *slot = td_xmalloc(sizeof **slot);
    tensorflow__serving__model_spec__init(*slot);
  }
  if (!(*slot)->name || !(*slot)->name[0]) (*slot)->name = td_xstrdup(model_name);
}

/* (log types are a oneof: only the member named by log_type_case may be read) */
static void name_specs(Tensorflow__Serving__PredictionLog *log, const char *model_name) {
  switch (log->log_type_case) {
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_PREDICT_LOG:
    if (!log->predict_log->request) {
      log->predict_log->request = td_xmalloc(sizeof *log->predict_log->request);
      tensorflow__serving__predict_request__init(log->predict_log->request);
    }
    name_spec(&log->predict_log->request->model_spec, model_name);
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_CLASSIFY_LOG:
    if (log->classify_log->request) name_spec(&log->classify_log->request->model_spec, model_name);
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_REGRESS_LOG:
    if (log->regress_log->request) name_spec(&log->regress_log->request->model_spec, model_name);
    break;
  case TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE_MULTI_INFERENCE_LOG:
    if (log->multi_inference_log->request)
      for (size_t i = 0; i < log->multi_inference_log->request->n_tasks; i++)
        name_spec(&log->multi_inference_log->request->tasks[i]->model_spec, model_name);
    break;
  default:
    break;
  }
}

/* Runs one logged request `iterations` times; the response is discarded. */
static td_code replay(const td_grpc_ctx *ctx, replay_target t, int iterations, td_status *st) {
  const td_grpc_method *method = find_method(t.path);
  if (!method) return td_status_set(st, TD_INTERNAL, "no gRPC method %s", t.path);
  /* the handlers take both the message and its wire bytes */
  ProtobufCMessage *empty = NULL;
  if (!t.request) {
    empty = protobuf_c_message_unpack(t.descriptor, NULL, 0, (const uint8_t *)"");
    if (!empty) return td_status_set(st, TD_INTERNAL, "could not build an empty %s", t.descriptor->name);
    t.request = empty;
  }
  size_t len = protobuf_c_message_get_packed_size(t.request);
  uint8_t *raw = td_xmalloc(len + 1);
  protobuf_c_message_pack(t.request, raw);
  td_code code = TD_OK;
  for (int i = 0; i < iterations && code == TD_OK; i++) {
    td_grpc_reply reply = {0};
    code = method->handler(ctx, t.request, raw, len, &reply, st);
    free(reply.data);
  }
  free(raw);
  if (empty) protobuf_c_message_free_unpacked(empty, NULL);
  return code;
}

/* Reads and replays every record of data; *records counts the records read. */
static td_code replay_all(const td_grpc_ctx *ctx, const char *path, const uint8_t *data, size_t len, int iterations,
                          int64_t *records, td_status *st) {
  size_t pos = 0;
  for (;;) {
    const uint8_t *rec;
    size_t rec_len;
    td_status framing = {0};
    td_code code = td_tfrecord_next(data, len, &pos, &rec, &rec_len, &framing);
    if (code == TD_OUT_OF_RANGE) return TD_OK;
    if (code != TD_OK) return td_status_set(st, code, "%s" TFRECORD_HINT, framing.msg);
    if (++*records > TD_WARMUP_MAX_RECORDS)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Number of warmup records exceeds the maximum (%d) at %s",
                           TD_WARMUP_MAX_RECORDS, path);
    Tensorflow__Serving__PredictionLog *log = tensorflow__serving__prediction_log__unpack(NULL, rec_len, rec);
    if (!log)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to parse warmup record: record %lld of %s",
                           (long long)*records, path);
    replay_target t = {0};
    if (log->log_type_case != TENSORFLOW__SERVING__PREDICTION_LOG__LOG_TYPE__NOT_SET) { /* unset: skipped, as TF */
      name_specs(log, ctx->api->pinned_name);
      code = target_of(log, &t, st);
      if (code == TD_OK && (code = replay(ctx, t, iterations, st)) != TD_OK)
        td_status_prefix(st, "Warmup request %lld failed", (long long)*records);
    }
    tensorflow__serving__prediction_log__free_unpacked(log, NULL);
    if (code != TD_OK) return code;
  }
}

td_code td_warmup_replay(td_model *m, const char *model_name, int64_t version, const char *version_dir, int iterations,
                         td_status *st) {
  char *path = td_path_join(version_dir, TD_WARMUP_FILE);
  if (!td_is_file(path)) {
    TD_LOG_INFO("No warmup data file found at %s", path);
    free(path);
    return TD_OK;
  }
  int64_t start_us = td_metrics_now_us();
  char *data = NULL;
  size_t len = 0;
  int64_t records = 0;
  td_code code = td_read_file(path, &data, &len, st);
  if (code == TD_OK) {
    td_api api = {.pinned_model = m, .pinned_name = model_name, .pinned_version = version};
    td_grpc_ctx ctx = {.api = &api};
    code = replay_all(&ctx, path, (const uint8_t *)data, len, iterations > 0 ? iterations : 1, &records, st);
  }
  int64_t elapsed_us = td_metrics_now_us() - start_us;
  td_metrics_warmup(version_dir, code, elapsed_us, records);
  if (code == TD_OK)
    TD_LOG_INFO("Finished reading warmup data for model at %s. Number of warmup records read: %lld. Elapsed time "
                "(microseconds): %lld.",
                path, (long long)records, (long long)elapsed_us);
  else
    TD_LOG_ERROR("Warmup of model %s version %lld failed: %s", model_name, (long long)version, st->msg);
  free(data);
  free(path);
  return code;
}

/* ---- the server's loader ---- */

td_code td_warmup_loader_load(void *ctx, const char *version_dir, td_model **out, td_status *st) {
  const td_warmup_loader *l = ctx;
  int64_t start_us = td_metrics_now_us();
  td_code code = td_model_load(version_dir, l->tags, l->ntags, &l->model, out, st);
  td_metrics_load(version_dir, code == TD_OK, td_metrics_now_us() - start_us);
  if (code == TD_OK && l->per_model_batching) {
    td_batching_params *bp;
    code = td_batching_params_for_version(version_dir, &bp, st);
    if (code == TD_OK) td_model_set_batching_params(*out, bp);
    else {
      td_model_free(*out);
      *out = NULL;
    }
  }
  if (code != TD_OK || !l->enable_warmup) return code;
  /* <base>/<name>/<version> → name, version (only used in logs and the discarded responses) */
  char *dir = td_xstrdup(version_dir);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = 0;
  char *slash = strrchr(dir, '/');
  const char *version_text = slash ? slash + 1 : dir;
  int64_t version = strtoll(version_text, NULL, 10);
  if (slash) *slash = 0;
  const char *parent = slash ? strrchr(dir, '/') : NULL;
  const char *name = parent ? parent + 1 : slash ? dir : "";
  code = td_warmup_replay(*out, name, version, version_dir, l->iterations, st);
  free(dir);
  if (code != TD_OK) {
    td_model_free(*out);
    *out = NULL;
  }
  return code;
}

void td_warmup_loader_free(void *ctx, td_model *m) { td_model_free(m); }
