/* rest_handlers.h — the REST glue: route → td_api_* call → JSON codec → HTTP response.
 *
 * Errors become TF Serving's `{"error": "<message>"}` with td_code_http_status(code).
 * Ownership: td_rest borrows the API. Thread safety: td_rest_handle runs concurrently on the
 * HTTP worker threads (the API is thread-safe; each call has its own state).
 */
#ifndef TD_HTTP_REST_HANDLERS_H
#define TD_HTTP_REST_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "http/server.h"

typedef struct td_rest {
  td_api *api;
  int64_t timeout_in_ms; /* --rest_api_timeout_in_ms (recorded; runs are not cancelled yet) */
} td_rest;

/* A td_http_handler; ctx is a td_rest. */
void td_rest_handle(void *ctx, const char *method, const char *path, const char *body, size_t len,
                    td_http_response *out);

#endif
