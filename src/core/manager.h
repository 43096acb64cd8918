/* manager.h — keeps the serving map in line with the model config and the version directories
 * on disk (TF Serving's ServerCore + file-system source + AspiredVersionsManager with the
 * AvailabilityPreservingPolicy).
 *
 * Each model of the config (model_config.h) is polled: its complete version dirs are listed
 * and the version policy picks the aspired set (version_dirs.h). New aspired versions load
 * first (highest first); only then are un-aspired versions retired — and while no aspired
 * version is AVAILABLE (e.g. the new one failed to load) the newest un-aspired one keeps
 * serving. A failed load is retried max_load_retries times, load_retry_interval_micros apart
 * (in the loading thread, as TF does; errors that the same files would repeat — INVALID_ARGUMENT,
 * NOT_FOUND, DATA_LOSS, UNIMPLEMENTED, FAILED_PRECONDITION, OUT_OF_RANGE — are not retried),
 * then recorded as END with its error; that version is not tried again until its files
 * change. A missing base path is logged and polled again; other models are unaffected.
 *
 * Config (re)load (td_manager_apply_config, the config-file poller, gRPC
 * HandleReloadConfigRequest through td_servables_reload) realizes exactly the new list:
 * removed models retire, new ones are polled at once, then version labels are replaced —
 * each label must name an AVAILABLE version, else FAILED_PRECONDITION "Request to assign
 * label to version <v> of model <m>, which is not currently available for inference" and the
 * labels stay as they were; with allow_labels_for_unavailable a new or unchanged label may
 * name a version that is not loaded yet (it resolves once that version is AVAILABLE). A new
 * model whose aspired versions all failed → UNKNOWN "N model(s) did not become available:
 * {{{name: <m> version: <v>} due to error: <CODE>: <msg>}, }" (TF's format, one {..}, per model).
 * An unset config (empty ReloadConfigRequest) takes no action. Like TF, a reload applies the
 * model list before checking labels: a label error leaves the new model list in place.
 *
 * Locking: one control mutex serializes polls and config changes (it is held while loading);
 * requests never take it — they only touch the serving map, whose lock is held briefly.
 * Thread affinity: every td_manager_* may be called from any thread; polling runs on the
 * manager's own thread (started by td_manager_start even when nothing is polled), which is
 * also the serving map's reaper: a retired version whose last request lets go is freed there,
 * not on the request's thread (servables.h). Ownership: borrows the serving map and the option strings (they must
 * outlive the manager); a custom loader's ctx must outlive the serving map.
 */
#ifndef TD_CORE_MANAGER_H
#define TD_CORE_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "core/model_config.h"
#include "core/servables.h"
#include "model/model.h"
#include "util/status.h"

typedef struct td_manager td_manager;

/* Loads a version dir into a model and frees one (tests use fake models: the manager and the
 * serving map never look inside a td_model). */
typedef struct td_model_loader {
  td_code (*load)(void *ctx, const char *dir, td_model **out, td_status *st);
  void (*free)(void *ctx, td_model *m);
  void *ctx;
} td_model_loader;

typedef struct td_manager_options {
  int poll_seconds;        /* --file_system_poll_wait_seconds: > 0 period, 0 = once, < 0 = never poll */
  const char *const *tags; /* --saved_model_tags; NULL = {"serve"} */
  int ntags;
  td_model_options model;
  int max_load_retries;                /* --max_num_load_retries (0 = try once) */
  int64_t load_retry_interval_micros;  /* --load_retry_interval_micros (<= 0 = no wait) */
  int allow_labels_for_unavailable;    /* --allow_version_labels_for_unavailable_models */
  const char *config_file;             /* --model_config_file, re-read every config_poll_seconds */
  int config_poll_seconds;             /* --model_config_file_poll_wait_seconds (<= 0 = never) */
  const td_model_loader *loader;       /* NULL = td_model_load / td_model_free */
  int load_threads;                    /* --num_load_threads: versions loaded in parallel per poll (<= 1: one
                                          at a time); the loader must be thread-safe */
} td_manager_options;

/* opt may be NULL (defaults: poll every second, tags {"serve"}, no retries). Borrows s. */
td_manager *td_manager_new(td_servables *s, const td_manager_options *opt);
/* Queues a latest-1 model for td_manager_start (single-model mode); INVALID_ARGUMENT for a
 * duplicate name or a relative base path. */
td_code td_manager_add_model(td_manager *m, const char *name, const char *base_path, td_status *st) TD_MUST_CHECK;
/* Applies the queued models (their first load attempts finish), registers the manager as
 * the serving map's reloader, and starts polling in the background. */
td_code td_manager_start(td_manager *m, td_status *st) TD_MUST_CHECK;
/* Realizes a config now (see above); synchronous. An unset list takes no action. */
td_code td_manager_apply_config(td_manager *m, const td_model_config_list *cfg, td_status *st) TD_MUST_CHECK;
/* Reads, parses and applies a config file; the file poller re-applies it only when its text
 * changes. */
td_code td_manager_apply_config_file(td_manager *m, const char *path, td_status *st) TD_MUST_CHECK;
/* Names of the configured models (heap array of heap strings; free each, then the array). */
char **td_manager_model_names(td_manager *m, size_t *n);
/* ---- the model repository (KServe V2's repository extension; manager_repository.c) ----
 * The repository is the config last applied (the file, a reload, or the single
 * --model_name model); the served models are the repository minus those unloaded through
 * td_manager_unload_model. Applying a config (reload, changed file) replaces the repository
 * and clears the unloaded set: every model the new config names is served.
 * Unload: the model leaves the served set exactly as a config without it would make it (its
 * versions retire; in-flight requests finish); unloading an unloaded model is OK. Load: an
 * unloaded model is served again (polled at once, its labels set); a served one is rescanned,
 * its failed versions retried. The load answers after the poll: OK when the model has an
 * AVAILABLE version, else the first failed version's error ("Model <m> version <v> failed to
 * load: <msg>", its code) or UNAVAILABLE when no version could be tried (no version dir, or
 * polling is off). A name not in the repository → NOT_FOUND "Model <m> is not in the model
 * repository". Serialized with polls and config changes (the control mutex). */
typedef struct td_repository_model {
  char *name;
  int unloaded;
} td_repository_model;
/* The repository's models in config order (heap; td_manager_repository_free). */
td_repository_model *td_manager_repository(td_manager *m, size_t *n);
void td_manager_repository_free(td_repository_model *models, size_t n);
td_code td_manager_load_model(td_manager *m, const char *name, td_status *st) TD_MUST_CHECK;
td_code td_manager_unload_model(td_manager *m, const char *name, td_status *st) TD_MUST_CHECK;

/* Runs one poll of every model now (tests; also what the background thread does). */
void td_manager_poll(td_manager *m);
/* Stops polling and retires every version. */
void td_manager_free(td_manager *m);

#endif
