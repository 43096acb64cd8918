/* api_v2.h — the few service decisions the KServe V2 / Open Inference Protocol front end
 * (src/v2) needs beyond api.h: which signature a V2 request means when it names none, the
 * signature behind model metadata (resolved without recording a request metric), a model's
 * ready versions, and the model repository extension (index, load, unload) on api->manager
 * (core/manager.h "the model repository").
 *
 * Ownership: a resolved handle pins its version until td_handle_release. Thread safety: all
 * functions may run concurrently (load/unload are serialized by the manager with polls and
 * config reloads; requests on other models keep running).
 */
#ifndef TD_API_API_V2_H
#define TD_API_API_V2_H

#include <stdint.h>

#include "api/api.h"

/* The signature a V2 request without `parameters.signature_name` addresses: "serving_default"
 * when the model has it, else the model's first servable signature (V2 has no signature
 * concept; SavedModels exported without a serving_default still answer). NULL: none. */
const char *td_api_v2_default_signature(const td_model *m);

/* Resolves spec (model, version/label, signature_name; empty = td_api_v2_default_signature)
 * to a pinned version and its signature, with td_api_begin's error texts, but records no
 * request metric (metadata and readiness are not requests). On success release *h. */
td_code td_api_v2_resolve(td_api *api, const td_model_spec *spec, td_handle *h, const td_signature **sig,
                          td_status *st) TD_MUST_CHECK;

/* AVAILABLE versions of a model, ascending (up to max). */
int td_api_v2_versions(td_api *api, const char *name, int64_t *versions, int max);

/* One row of the model repository index (Triton's RepositoryIndex): a version of a repository
 * model, or the model alone (version -1) while no version is known. state: "READY",
 * "LOADING", "UNLOADING" or "UNAVAILABLE"; reason: the load error, if any, or "unloaded" for
 * every row of a model unloaded through the repository API. */
typedef struct td_api_v2_index_row {
  char *name;
  int64_t version;
  const char *state;
  char reason[256];
} td_api_v2_index_row;

/* Every repository model's versions (models by name, versions newest first; without a manager:
 * every model the serving map knows); ready_only: READY rows only. Free with
 * td_api_v2_index_free. */
void td_api_v2_index(td_api *api, int ready_only, td_api_v2_index_row **rows, int *n);
void td_api_v2_index_free(td_api_v2_index_row *rows, int n);

/* 1 when name is a model of the repository (served or unloaded) or configured in the serving
 * map: its readiness is a "false", not a NOT_FOUND. */
int td_api_v2_known_model(td_api *api, const char *name);

/* RepositoryModelLoad / Unload of one repository model (core/manager.h: td_manager_load_model /
 * td_manager_unload_model, their semantics and errors). Checked first, in this order:
 * management disabled → PERMISSION_DENIED "Model management is disabled on this server
 * (--enable_model_management=false)" (what HandleReloadConfigRequest answers); no manager →
 * UNIMPLEMENTED; empty name → INVALID_ARGUMENT "Missing model name in request."; a NUL or
 * control byte → INVALID_ARGUMENT (util/auth.h); overrides (Triton's "config" / "file:"
 * parameters) → UNIMPLEMENTED "... models come from the model config ...". */
td_code td_api_v2_load(td_api *api, const char *name, int overrides, td_status *st) TD_MUST_CHECK;
td_code td_api_v2_unload(td_api *api, const char *name, td_status *st) TD_MUST_CHECK;

#endif
