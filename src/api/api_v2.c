/* api_v2.c — service decisions for the V2 front end (see api_v2.h): default signature,
 * resolution, the repository index and the repository load/unload checks (then the manager).
 * Same serving map and error texts as api.c; nothing here records metrics. */
#include "api/api_v2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/manager.h"
#include "util/auth.h"
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

/* Appends the rows of one model: its versions newest first, or one row without a version. */
static void index_model(td_api *api, const char *name, int unloaded, int ready_only, td_api_v2_index_row **out,
                        size_t *cap, int *n) {
  td_version_status *vs = NULL;
  int nv = 0;
  if (td_servables_status(api->servables, name, -1, &vs, &nv, NULL) != TD_OK) nv = 0;
  for (int k = 0; k < (nv ? nv : 1); k++) {
    const char *state = nv ? index_state(vs[k].state) : "UNAVAILABLE";
    if (ready_only && strcmp(state, "READY")) continue;
    TD_GROW(*out, *cap, (size_t)*n + 1);
    td_api_v2_index_row *r = &(*out)[(*n)++];
    memset(r, 0, sizeof *r);
    r->name = td_xstrdup(name);
    r->version = nv ? vs[k].version : -1;
    r->state = state;
    snprintf(r->reason, sizeof r->reason, "%s",
             unloaded ? "unloaded" : nv && vs[k].error_code != TD_OK ? vs[k].error_message : "");
  }
  free(vs);
}

static int cmp_repo_name(const void *a, const void *b) {
  return strcmp(((const td_repository_model *)a)->name, ((const td_repository_model *)b)->name);
}

void td_api_v2_index(td_api *api, int ready_only, td_api_v2_index_row **rows, int *n) {
  td_api_v2_index_row *out = NULL;
  size_t cap = 0;
  *n = 0;
  if (api->manager) {
    size_t nr = 0;
    td_repository_model *repo = td_manager_repository(api->manager, &nr);
    qsort(repo, nr, sizeof *repo, cmp_repo_name);
    for (size_t i = 0; i < nr; i++) index_model(api, repo[i].name, repo[i].unloaded, ready_only, &out, &cap, n);
    td_manager_repository_free(repo, nr);
  } else {
    char **names = NULL;
    int n_names = td_servables_model_names(api->servables, &names);
    for (int i = 0; i < n_names; i++) {
      index_model(api, names[i], 0, ready_only, &out, &cap, n);
      free(names[i]);
    }
    free(names);
  }
  *rows = out;
}

void td_api_v2_index_free(td_api_v2_index_row *rows, int n) {
  for (int i = 0; i < n; i++) free(rows[i].name);
  free(rows);
}

int td_api_v2_known_model(td_api *api, const char *name) {
  if (td_servables_has_model(api->servables, name)) return 1;
  if (!api->manager) return 0;
  size_t nr = 0;
  td_repository_model *repo = td_manager_repository(api->manager, &nr);
  int known = 0;
  for (size_t i = 0; i < nr && !known; i++) known = !strcmp(repo[i].name, name);
  td_manager_repository_free(repo, nr);
  return known;
}

/* ---- repository load / unload ---- */

static td_code repository_checks(td_api *api, const char *name, td_status *st) {
  if (api->opt.disable_model_management)
    return td_status_set(st, TD_PERMISSION_DENIED,
                         "Model management is disabled on this server (--enable_model_management=false)");
  if (!api->manager)
    return td_status_set(st, TD_UNIMPLEMENTED, "this server does not manage its models from a model repository");
  if (!name || !*name) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing model name in request.");
  return td_check_model_name(name, strlen(name), st);
}

td_code td_api_v2_load(td_api *api, const char *name, int overrides, td_status *st) {
  TD_TRY(repository_checks(api, name, st));
  if (overrides)
    return td_status_set(st, TD_UNIMPLEMENTED,
                         "a model repository load with 'config' or 'file:' parameters is not supported: tensord's "
                         "models come from the model config (--model_config_file, HandleReloadConfigRequest)");
  return td_manager_load_model(api->manager, name, st);
}

td_code td_api_v2_unload(td_api *api, const char *name, td_status *st) {
  TD_TRY(repository_checks(api, name, st));
  return td_manager_unload_model(api->manager, name, st);
}
