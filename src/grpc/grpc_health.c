/* grpc_health.c — grpc.health.v1.Health status, Check, and the message helpers Watch uses
 * (see grpc_health.h). Messages come from proto/grpc/health/v1/health.proto (protoc-c).
 * Invariants: responses are packed from stack messages; nothing is kept between calls. */
#include "grpc/grpc_health.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "grpc/health/v1/health.pb-c.h"
#include "util/mem.h"

static const char *const known_services[] = {
    "",
    "tensorflow.serving.PredictionService",
    "tensorflow.serving.ModelService",
};

int td_grpc_health_status(const td_grpc_ctx *ctx, const char *service) {
  int known = 0;
  for (size_t i = 0; i < sizeof known_services / sizeof known_services[0] && !known; i++)
    known = !strcmp(service ? service : "", known_services[i]);
  if (!known) return TD_HEALTH_SERVICE_UNKNOWN;
  if (ctx->draining && atomic_load(ctx->draining)) return TD_HEALTH_NOT_SERVING;
  td_status st = {0};
  return td_api_ready(ctx->api, &st) == TD_OK ? TD_HEALTH_SERVING : TD_HEALTH_NOT_SERVING;
}

void td_grpc_health_pack(int status, td_grpc_reply *reply) {
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
  reply->len = grpc__health__v1__health_check_response__get_packed_size(&resp);
  reply->data = td_xmalloc(reply->len + 1);
  grpc__health__v1__health_check_response__pack(&resp, reply->data);
}

td_code td_grpc_health_check(const td_grpc_ctx *ctx, const ProtobufCMessage *request, const uint8_t *raw,
                             size_t raw_len, td_grpc_reply *reply, td_status *st) {
  (void)raw;
  (void)raw_len;
  const Grpc__Health__V1__HealthCheckRequest *req = (const Grpc__Health__V1__HealthCheckRequest *)request;
  int status = td_grpc_health_status(ctx, req->service);
  if (status == TD_HEALTH_SERVICE_UNKNOWN) return td_status_set(st, TD_NOT_FOUND, "unknown service");
  td_grpc_health_pack(status, reply);
  return TD_OK;
}

char *td_grpc_health_parse_service(const uint8_t *raw, size_t len) {
  Grpc__Health__V1__HealthCheckRequest *req = grpc__health__v1__health_check_request__unpack(NULL, len, raw);
  if (!req) return NULL;
  char *service = td_xstrdup(req->service ? req->service : "");
  grpc__health__v1__health_check_request__free_unpacked(req, NULL);
  return service;
}
