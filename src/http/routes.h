/* routes.h — TF Serving's REST URL grammar (tfserving-api.md §1.2) as a matcher.
 *
 *   POST (?i)/v1/models/<name>[/versions/<n>|/labels/<l>]:(classify|regress|predict)
 *   GET  (?i)/v1/models[/<name>][/versions/<n>|/labels/<l>][/metadata]
 * Both must match the whole path (no query string). <name>, <l> are [^/:]+ and URL-unescaped;
 * <n> is \d+ and must fit int64. Quirks kept from TF Serving: the verb and "metadata" match
 * case-insensitively but are then compared case-sensitively (":PREDICT" → malformed,
 * "/METADATA" → a status request).
 * Beyond TF Serving (Kubernetes probes): GET /healthz and GET /readyz, exact paths, no model
 * name (td_route.name is "").
 *
 * Ownership: td_route owns its strings; release with td_route_release. Thread safety: pure
 * functions, any thread.
 */
#ifndef TD_HTTP_ROUTES_H
#define TD_HTTP_ROUTES_H

#include <stdint.h>

#include "util/status.h"

typedef enum td_route_kind {
  TD_ROUTE_STATUS,
  TD_ROUTE_METADATA,
  TD_ROUTE_PREDICT,
  TD_ROUTE_CLASSIFY,
  TD_ROUTE_REGRESS,
  TD_ROUTE_HEALTH, /* GET /healthz (tensord): liveness */
  TD_ROUTE_READY,  /* GET /readyz (tensord): every configured model has an AVAILABLE version */
  TD_ROUTE_LIST,   /* GET /v1/models (tensord): every model with its version states (rest_list.h) */
} td_route_kind;

typedef struct td_route {
  td_route_kind kind;
  char *name;    /* unescaped model name */
  int64_t version; /* -1 when not given */
  char *label;   /* unescaped label, NULL when not given */
} td_route;

/* 1 if the path belongs to the REST API ((?i)/v1/.*, or a probe path), else 0 (→ plain 404). */
int td_route_is_rest_path(const char *path);

/* Matches method + path. Errors (INVALID_ARGUMENT, TF's texts): "Malformed request: <METHOD>
 * <path>", "Missing model name in request.", "Failed to convert version: <v> to numeric.".
 * On error *out is left empty (nothing to release). */
td_code td_route_match(const char *method, const char *path, td_route *out, td_status *st) TD_MUST_CHECK;
void td_route_release(td_route *r);

#endif
