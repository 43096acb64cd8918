/* manager.h — keeps the serving map in line with model directories on disk (TF Serving's
 * file-system source + aspired-versions manager, single policy for now: serve the latest
 * version of each model).
 *
 * Each poll lists <base_path>/<numeric version>/ dirs. When the highest version is new, it
 * is loaded and published; only then are older versions retired (availability-preserving:
 * requests never see a gap). A version that fails to load is recorded as END with its error
 * and not retried until its directory changes; the previous version keeps serving. A missing
 * base path is logged and polled again.
 *
 * Thread affinity: td_manager_* are called from one control thread; polling runs on the
 * manager's own thread. The serving map is shared and thread-safe.
 */
#ifndef TD_CORE_MANAGER_H
#define TD_CORE_MANAGER_H

#include "core/servables.h"
#include "model/model.h"
#include "util/status.h"

typedef struct td_manager td_manager;

typedef struct td_manager_options {
  int poll_seconds;        /* --file_system_poll_wait_seconds: > 0 period, 0 = once, < 0 = never poll */
  const char *const *tags; /* --saved_model_tags; NULL = {"serve"} */
  int ntags;
  td_model_options model;
} td_manager_options;

/* opt may be NULL (defaults: poll every second, tags {"serve"}). Borrows s. */
td_manager *td_manager_new(td_servables *s, const td_manager_options *opt);
/* Adds a model; INVALID_ARGUMENT for a duplicate name or a relative base path. */
td_code td_manager_add_model(td_manager *m, const char *name, const char *base_path, td_status *st) TD_MUST_CHECK;
/* Runs the first poll synchronously (each model's first load attempt finishes), then starts
 * polling in the background. */
td_code td_manager_start(td_manager *m, td_status *st) TD_MUST_CHECK;
/* Runs one poll now (tests; also what the background thread does). */
void td_manager_poll(td_manager *m);
/* Stops polling and retires every version. */
void td_manager_free(td_manager *m);

#endif
