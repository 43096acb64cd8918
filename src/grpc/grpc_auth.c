/* grpc_auth.c — bearer token, model-management switch and wire-level model-name check for
 * gRPC calls (see grpc_auth.h).
 * Invariants: the wire walker only reads inside [raw, raw + len); malformed wire data is left
 * to the real parser (reported as it always was), never rejected here. */
#include "grpc/grpc_auth.h"

#include <string.h>

#define HEALTH_PREFIX "/grpc.health.v1.Health/"
#define V2_LIVE_PATH "/inference.GRPCInferenceService/ServerLive" /* V2 health: open, like Health */
#define V2_READY_PATH "/inference.GRPCInferenceService/ServerReady"
#define RELOAD_PATH "/tensorflow.serving.ModelService/HandleReloadConfigRequest"

/* Where the model names are: a chain of field-1 submessages ending at the name (a string
 * field 1): ModelSpec.name is field 1 and every request below holds its spec(s) at field 1.
 * name_field: the name's field number at the last level when not 1. */
static const struct {
  const char *path;
  int depth;
  int name_field;
} named[] = {
    {"/tensorflow.serving.PredictionService/Predict", 2},
    {"/tensorflow.serving.PredictionService/Classify", 2},
    {"/tensorflow.serving.PredictionService/Regress", 2},
    {"/tensorflow.serving.PredictionService/MultiInference", 3}, /* tasks[].model_spec.name */
    {"/tensorflow.serving.PredictionService/GetModelMetadata", 2},
    {"/tensorflow.serving.ModelService/GetModelStatus", 2},
    {RELOAD_PATH, 4}, /* config.model_config_list.config[].name */
    /* KServe V2 (src/v2): the model name is the request's own field 1 */
    {"/inference.GRPCInferenceService/ModelReady", 1},
    {"/inference.GRPCInferenceService/ModelMetadata", 1},
    {"/inference.GRPCInferenceService/ModelInfer", 1},
    {"/inference.GRPCInferenceService/RepositoryModelLoad", 1, 2}, /* model_name = 2 */
    {"/inference.GRPCInferenceService/RepositoryModelUnload", 1, 2},
};

static int is_bearer_key(grpc_slice key) {
  static const char want[] = "authorization";
  return GRPC_SLICE_LENGTH(key) == sizeof want - 1 && !memcmp(GRPC_SLICE_START_PTR(key), want, sizeof want - 1);
}

td_code td_grpc_authorize(const td_grpc_authz *z, const char *path, const grpc_metadata_array *md, td_status *st) {
  if (path && (!strncmp(path, HEALTH_PREFIX, sizeof HEALTH_PREFIX - 1) || !strcmp(path, V2_LIVE_PATH) ||
               !strcmp(path, V2_READY_PATH)))
    return TD_OK;
  if (z->auth) {
    int ok = 0;
    for (size_t i = 0; md && i < md->count; i++)
      if (is_bearer_key(md->metadata[i].key))
        ok |= td_auth_check_bearer(z->auth, (const char *)GRPC_SLICE_START_PTR(md->metadata[i].value),
                                   GRPC_SLICE_LENGTH(md->metadata[i].value));
    if (!ok)
      return td_status_set(st, TD_UNAUTHENTICATED,
                           "Missing or invalid bearer token (send metadata \"authorization: Bearer <token>\")");
  }
  if (z->disable_model_management && path && !strcmp(path, RELOAD_PATH))
    return td_status_set(st, TD_PERMISSION_DENIED,
                         "Model management is disabled on this server (--enable_model_management=false)");
  return TD_OK;
}

/* A varint at *p (< end); 0 when truncated or longer than 10 bytes. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 70 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 1;
  }
  return 0;
}

/* Every length-delimited field 1 of the message in [p, end), descended depth - 1 more levels;
 * at the last level field `name_field`'s bytes are a model name. */
static td_code walk(const uint8_t *p, const uint8_t *end, int depth, int name_field, td_status *st) {
  while (p < end) {
    uint64_t key, n;
    if (!read_varint(&p, end, &key)) return TD_OK;
    switch (key & 7) {
      case 0:
        if (!read_varint(&p, end, &n)) return TD_OK;
        break;
      case 1:
        if (end - p < 8) return TD_OK;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return TD_OK;
        p += 4;
        break;
      case 2:
        if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p)) return TD_OK;
        if (depth == 1 && key >> 3 == (uint64_t)name_field)
          TD_TRY(td_check_model_name((const char *)p, (size_t)n, st));
        else if (depth > 1 && key >> 3 == 1) TD_TRY(walk(p, p + n, depth - 1, name_field, st));
        p += n;
        break;
      default: /* groups or garbage: the parser reports it */
        return TD_OK;
    }
  }
  return TD_OK;
}

td_code td_grpc_check_model_names(const char *path, const uint8_t *raw, size_t len, td_status *st) {
  if (!path || !raw) return TD_OK;
  for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
    if (!strcmp(path, named[i].path))
      return walk(raw, raw + len, named[i].depth, named[i].name_field ? named[i].name_field : 1, st);
  return TD_OK;
}
