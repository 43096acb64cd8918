/* api_v2.c — service decisions for the V2 front end (see api_v2.h). Same serving map and
 * error texts as api.c; nothing here records metrics. */
#include "api/api_v2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

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

static const char *index_state(td_version_state s) {
  switch (s) {
  case TD_VERSION_AVAILABLE: return "READY";
  case TD_VERSION_START:
  case TD_VERSION_LOADING: return "LOADING";
  case TD_VERSION_UNLOADING: return "UNLOADING";
  default: return "UNAVAILABLE";
  }
}

void td_api_v2_index(td_api *api, int ready_only, td_api_v2_index_row **rows, int *n) {
  char **names = NULL;
  int n_names = td_servables_model_names(api->servables, &names);
  td_api_v2_index_row *out = NULL;
  size_t cap = 0;
  *n = 0;
  for (int i = 0; i < n_names; i++) {
    td_version_status *vs = NULL;
    int nv = 0;
    if (td_servables_status(api->servables, names[i], -1, &vs, &nv, NULL) != TD_OK) nv = 0;
    for (int k = 0; k < (nv ? nv : 1); k++) {
      const char *state = nv ? index_state(vs[k].state) : "UNAVAILABLE";
      if (ready_only && strcmp(state, "READY")) continue;
      TD_GROW(out, cap, (size_t)*n + 1);
      td_api_v2_index_row *r = &out[(*n)++];
      memset(r, 0, sizeof *r);
      r->name = td_xstrdup(names[i]);
      r->version = nv ? vs[k].version : -1;
      r->state = state;
      snprintf(r->reason, sizeof r->reason, "%s", nv && vs[k].error_code != TD_OK ? vs[k].error_message : "");
    }
    free(vs);
    free(names[i]);
  }
  free(names);
  *rows = out;
}

void td_api_v2_index_free(td_api_v2_index_row *rows, int n) {
  for (int i = 0; i < n; i++) free(rows[i].name);
  free(rows);
}
