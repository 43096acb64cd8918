/* servables.h — the serving map: which model versions exist, their states, and
 * reference-counted handles to the loaded ones (TF Serving's ServableStateMonitor +
 * serving map, in one place).
 *
 * Loaders publish AVAILABLE versions; requests take a td_handle, which pins that version's
 * td_model until td_handle_release. Retiring a version removes it from lookups at once, so an
 * in-flight request always finishes on the version it started on. The model is freed when
 * the last reference goes: by the retirer itself when no request holds it; else, once the
 * last request releases it, on the reaper's thread (the manager installs itself as the
 * reaper: td_servables_set_reaper), never on the request's thread. Without a reaper the last
 * releaser frees it.
 *
 * Thread safety: every function may be called from any thread (one rwlock inside).
 */
#ifndef TD_CORE_SERVABLES_H
#define TD_CORE_SERVABLES_H

#include <stdint.h>

#include "model/model.h"
#include "util/status.h"

typedef struct td_servables td_servables;

/* Version states, numbered as tensorflow.serving.ModelVersionStatus.State. */
typedef enum td_version_state {
  TD_VERSION_UNKNOWN = 0,
  TD_VERSION_START = 10,
  TD_VERSION_LOADING = 20,
  TD_VERSION_AVAILABLE = 30,
  TD_VERSION_UNLOADING = 40,
  TD_VERSION_END = 50,
} td_version_state;

/* A pinned, loaded model version. */
typedef struct td_handle {
  td_model *model;
  int64_t version;
  const char *name; /* valid while the handle is held */
  void *_ref;
} td_handle;

typedef struct td_version_status {
  int64_t version;
  td_version_state state;
  td_code error_code;
  char error_message[256];
} td_version_status;

td_servables *td_servables_new(void);
/* Frees every model; no handle may be outstanding. */
void td_servables_free(td_servables *s);

/* Looks up a version: label != NULL → the version the label names; else version >= 0 → that
 * version; else the highest AVAILABLE version. Errors use TF Serving's texts:
 *   NOT_FOUND "Servable not found for request: Latest(<name>)" / "Specific(<name>, <v>)",
 *   INVALID_ARGUMENT "Unrecognized servable version label: <label>". */
td_code td_servables_get(td_servables *s, const char *name, int64_t version, const char *label, td_handle *out,
                         td_status *st) TD_MUST_CHECK;
void td_handle_release(td_handle *h);

/* The reaper: a model released last by a request is queued and wake(ctx) is called (from the
 * request's thread, under an internal mutex: it must only signal, e.g. a condition variable);
 * the reaper's thread then calls td_servables_reap, which frees every queued model and marks
 * its version END (returns how many). Setting NULL frees what is queued on the caller's thread
 * and makes later releases free inline again; ctx must stay valid until then. */
typedef void (*td_servables_wake_fn)(void *ctx);
void td_servables_set_reaper(td_servables *s, td_servables_wake_fn wake, void *ctx);
int td_servables_reap(td_servables *s);

/* Loader side. publish: version becomes AVAILABLE and takes ownership of m (freed with
 * td_model_free once retired and unreferenced). */
void td_servables_publish(td_servables *s, const char *name, int64_t version, td_model *m);
/* Frees a published model; ctx is the one given to publish_with (it must outlive the map). */
typedef void (*td_model_free_fn)(void *ctx, td_model *m);
/* publish with a custom free function (a manager's loader; fake models in tests). */
void td_servables_publish_with(td_servables *s, const char *name, int64_t version, td_model *m,
                               td_model_free_fn free_fn, void *free_ctx);
/* Records a state (START/LOADING/UNLOADING/END) for the status API; END with an error for
 * failed loads. */
void td_servables_set_state(td_servables *s, const char *name, int64_t version, td_version_state state,
                            td_code code, const char *message);
/* Removes an AVAILABLE version from lookups (state → UNLOADING, then END once freed). */
void td_servables_retire(td_servables *s, const char *name, int64_t version);
/* Replaces a model's label map (labels[i] → versions[i]). */
void td_servables_set_labels(td_servables *s, const char *name, const char *const *labels, const int64_t *versions,
                             int n);
/* 1 if the model name is configured, even with no version loaded yet. */
int td_servables_has_model(td_servables *s, const char *name);
/* Declares a model name as configured (so status can say "no versions yet"). */
void td_servables_add_model(td_servables *s, const char *name);
/* The model leaves the configuration: its versions retire (in-flight requests finish), its
 * labels go; version states stay visible to the status API (END), as in TF Serving. */
void td_servables_remove_model(td_servables *s, const char *name);
/* 1 when every configured model has an AVAILABLE version (readiness), 0 otherwise (also when
 * no model is configured). */
int td_servables_ready(td_servables *s);
/* Names of every model the map knows (configured, or with a version in any state), sorted
 * byte-wise; returns the count. *names is heap: free each name, then the array. */
int td_servables_model_names(td_servables *s, char ***names);
/* The version a model's label names, or -1. */
int64_t td_servables_label_version(td_servables *s, const char *name, const char *label);
/* AVAILABLE versions of a model, ascending; returns the count written (up to max). */
int td_servables_available(td_servables *s, const char *name, int64_t *versions, int max);

/* Config reloads (gRPC HandleReloadConfigRequest) go to whoever manages the map (the manager
 * registers itself; NULL unregisters and waits for a reload in progress). Without a reloader,
 * td_servables_reload → UNIMPLEMENTED. Reloads are serialized. */
struct td_model_config_list;
typedef td_code (*td_servables_reload_fn)(void *ctx, const struct td_model_config_list *cfg, td_status *st);
void td_servables_set_reloader(td_servables *s, td_servables_reload_fn fn, void *ctx);
td_code td_servables_reload(td_servables *s, const struct td_model_config_list *cfg, td_status *st) TD_MUST_CHECK;

/* Status of one version (version >= 0) or all versions, newest first. Errors:
 * NOT_FOUND "Could not find any versions of model <name>" /
 * "Could not find version <v> of model <name>". *out is heap (free()). */
td_code td_servables_status(td_servables *s, const char *name, int64_t version, td_version_status **out, int *n,
                            td_status *st) TD_MUST_CHECK;

#endif
