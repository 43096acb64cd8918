/* api_list.h — the model list (tensord extension, REST GET /v1/models; TF Serving has no
 * list call: tensorflow/serving#795): every model the serving map knows, each with what
 * GetModelStatus would answer for it (all versions, newest first; none yet → an empty list).
 *
 * Ownership: the entries and their responses belong to the caller (td_api_model_list_free).
 * Thread safety: any thread (a snapshot of the serving map; a model added or removed meanwhile
 * may or may not be listed).
 */
#ifndef TD_API_API_LIST_H
#define TD_API_API_LIST_H

#include "api/api.h"

typedef struct td_model_list_entry {
  char *name;
  Tensorflow__Serving__GetModelStatusResponse *status;
} td_model_list_entry;

/* *out: n entries sorted by name. */
td_code td_api_list_models(td_api *api, td_model_list_entry **out, int *n, td_status *st) TD_MUST_CHECK;
void td_api_model_list_free(td_model_list_entry *entries, int n);

#endif
