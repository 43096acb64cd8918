/* v2_rest.h — what the V2 REST files share (internal to src/v2): the request being answered
 * and the handler shape. v2_rest.c routes and answers metadata, health and repository calls;
 * v2_rest_infer.c answers infer.
 * Ownership: a v2_request lives on td_v2_rest_handle's stack; strings are borrowed.
 */
#ifndef TD_V2_V2_REST_H
#define TD_V2_V2_REST_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "http/server.h"
#include "util/buf.h"

typedef struct v2_request {
  td_api *api;
  int64_t timeout_ms;
  const char *body;
  size_t len;
  char *model, *version; /* unescaped path parts (owned); NULL when absent */
  int load;              /* repository route: 1 load, 0 unload */
  td_http_response *out;
} v2_request;

/* The model spec of the request's path (name, version or label) with signature. */
td_code v2_rest_spec(const v2_request *q, const char *signature, td_model_spec *spec, td_status *st) TD_MUST_CHECK;

/* POST /v2/models/<m>[/versions/<v>]/infer. */
td_code v2_rest_infer(v2_request *q, td_buf *out, td_status *st);

#endif
