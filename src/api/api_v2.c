/* api_v2.c — service decisions for the V2 front end (see api_v2.h). Same serving map and
 * error texts as api.c; nothing here records metrics. */
#include "api/api_v2.h"

#include <string.h>

#define DEFAULT_SIGNATURE "serving_default"

const char *td_api_v2_default_signature(const td_model *m) {
  if (td_model_find_signature(m, DEFAULT_SIGNATURE)) return DEFAULT_SIGNATURE;
  int n = td_model_num_signatures(m);
  for (int i = 0; i < n; i++) {
    const td_signature *sig = td_model_signature(m, i);
    if (sig && !td_signature_error(sig)) return sig->key;
  }
  return n > 0 && td_model_signature(m, 0) ? td_model_signature(m, 0)->key : NULL;
}

td_code td_api_v2_resolve(td_api *api, const td_model_spec *spec, td_handle *h, const td_signature **sig,
                          td_status *st) {
  memset(h, 0, sizeof *h);
  *sig = NULL;
  if (!spec->name || !*spec->name) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing model name in request.");
  TD_TRY(td_servables_get(api->servables, spec->name, spec->version, spec->version_label, h, st));
  const char *key = spec->signature_name && *spec->signature_name ? spec->signature_name
                                                                   : td_api_v2_default_signature(h->model);
  *sig = key ? td_model_find_signature(h->model, key) : NULL;
  if (*sig) return TD_OK;
  td_handle_release(h);
  return td_status_set(st, TD_INVALID_ARGUMENT, "Serving signature name: \"%s\" not found in signature def",
                       key ? key : DEFAULT_SIGNATURE);
}

int td_api_v2_versions(td_api *api, const char *name, int64_t *versions, int max) {
  return td_servables_available(api->servables, name, versions, max);
}
