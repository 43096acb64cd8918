/* grpc_health.h — the standard grpc.health.v1.Health service (internal to src/grpc).
 *
 * Known services: "" (the whole server), "tensorflow.serving.PredictionService" and
 * "tensorflow.serving.ModelService". Their status follows readiness: SERVING while every
 * configured model has an AVAILABLE version and the server is not draining, else NOT_SERVING.
 * Check on another service answers NOT_FOUND; Watch streams SERVICE_UNKNOWN for it.
 * Check is a row of the method table (grpc_handlers.c); Watch is a stream, driven by the
 * workers in grpc_server.c with the helpers below.
 *
 * Thread safety: pure functions of the serving map and the draining flag; any thread.
 */
#ifndef TD_GRPC_GRPC_HEALTH_H
#define TD_GRPC_GRPC_HEALTH_H

#include "grpc/grpc_handlers.h"

#define TD_HEALTH_CHECK_PATH "/grpc.health.v1.Health/Check"
#define TD_HEALTH_WATCH_PATH "/grpc.health.v1.Health/Watch"

enum { TD_HEALTH_UNKNOWN = 0, TD_HEALTH_SERVING = 1, TD_HEALTH_NOT_SERVING = 2, TD_HEALTH_SERVICE_UNKNOWN = 3 };

/* Check: a td_grpc_handler. */
td_code td_grpc_health_check(const td_grpc_ctx *ctx, const ProtobufCMessage *request, const uint8_t *raw,
                             size_t raw_len, td_grpc_reply *reply, td_status *st);
/* The status of `service` now (TD_HEALTH_*). */
int td_grpc_health_status(const td_grpc_ctx *ctx, const char *service);
/* Watch: the service named by a raw HealthCheckRequest (heap string), NULL if it does not parse. */
char *td_grpc_health_parse_service(const uint8_t *raw, size_t len);
/* A packed HealthCheckResponse{status} in *reply (heap). */
void td_grpc_health_pack(int status, td_grpc_reply *reply);

#endif
