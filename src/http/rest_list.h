/* rest_list.h — GET /v1/models (tensord extension): every model with its version states,
 *   {"models": [{"name": "<model>", "model_version_status": [<as GetModelStatus>]}, ...]}
 * models sorted by name, versions newest first, each status printed exactly as the REST model
 * status call prints it (tfserving-api.md §1.4: int64 version as a string, enums by name).
 * Thread safety: any thread.
 */
#ifndef TD_HTTP_REST_LIST_H
#define TD_HTTP_REST_LIST_H

#include "api/api.h"
#include "util/buf.h"

td_code td_rest_model_list(td_api *api, td_buf *out, td_status *st) TD_MUST_CHECK;

#endif
