/* grpc_auth.h — the gRPC port's authority checks (internal to src/grpc), run by the server for
 * every unary call before its request is parsed:
 *   1. bearer token (when the server has one): metadata "authorization: Bearer <token>",
 *      else UNAUTHENTICATED; grpc.health.v1.Health stays open;
 *   2. model management: with it disabled, /tensorflow.serving.ModelService/
 *      HandleReloadConfigRequest answers PERMISSION_DENIED;
 *   3. model names: the ModelSpec.name of every request that carries one (and the model names
 *      of a reload's config) is read straight from the wire — protobuf-c's C strings would hide
 *      an embedded NUL — and a NUL or control byte is INVALID_ARGUMENT (util/auth.h), before
 *      any lookup.
 * Thread safety: pure functions of their inputs; any worker, concurrently.
 */
#ifndef TD_GRPC_GRPC_AUTH_H
#define TD_GRPC_GRPC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "util/auth.h"
#include "util/status.h"

typedef struct td_grpc_authz {
  const td_auth *auth;          /* NULL: no token needed */
  int disable_model_management; /* --enable_model_management=false */
} td_grpc_authz;

/* Checks 1 and 2 for a call of method `path` (NULL: an unknown method) with metadata md. */
td_code td_grpc_authorize(const td_grpc_authz *z, const char *path, const grpc_metadata_array *md,
                          td_status *st) TD_MUST_CHECK;
/* Check 3 on the raw request of method `path` (methods without model names: TD_OK). */
td_code td_grpc_check_model_names(const char *path, const uint8_t *raw, size_t len, td_status *st) TD_MUST_CHECK;

#endif
