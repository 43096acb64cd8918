/* v2.h — the KServe V2 / Open Inference Protocol front end (peer-servers.md §4), served on the
 * same ports as the TF Serving API and translated onto src/api (one model registry, the same
 * versions, labels, signatures, batching, metrics and limits):
 *   REST (v2_rest.c, v2_rest_infer.c): GET /v2, /v2/health/{live,ready}, /v2/models,
 *     /v2/models/<m>[/versions/<v>][/ready|/config]; POST /v2/models/<m>[/versions/<v>]/infer
 *     (JSON, binary tensor extension), /v2/repository/index, /v2/repository/models/<m>/(load|unload)
 *   gRPC (v2_grpc.c): inference.GRPCInferenceService, every method (proto/inference/grpc_service.proto)
 * The repository extension's decisions (which models, load/unload semantics, refusals) are in
 * api_v2.h and core/manager.h; these files only translate.
 * Ownership: nothing is kept between calls. Thread safety: every entry point runs concurrently
 * on the HTTP / gRPC worker threads.
 */
#ifndef TD_V2_V2_H
#define TD_V2_V2_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "grpc/grpc_handlers.h"
#include "http/server.h"

/* 1 if a REST path belongs to the V2 API ("/v2" or "/v2/..."). */
int td_v2_is_path(const char *path);

/* Answers one V2 REST request (request headers via td_http_request_header). timeout_ms:
 * --rest_api_timeout_in_ms (the run's deadline; <= 0 none). */
void td_v2_rest_handle(td_api *api, int64_t timeout_ms, const char *method, const char *path, const char *body,
                       size_t len, td_http_response *out);

/* The GRPCInferenceService methods, registered next to TF Serving's (grpc_server.c). */
extern const td_grpc_method td_v2_grpc_methods[];
extern const int td_v2_grpc_num_methods;

#endif
