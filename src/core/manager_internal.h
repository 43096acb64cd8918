/* manager_internal.h — the manager's state, shared by manager.c (config changes, life cycle)
 * and manager_poll.c (polls: aspire, load — in parallel with load_threads —, retire).
 * Everything here is guarded by td_manager.control unless a field says otherwise. */
#ifndef TD_CORE_MANAGER_INTERNAL_H
#define TD_CORE_MANAGER_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "core/manager.h"
#include "util/status.h"

typedef struct failed_version {
  int64_t version;
  uint64_t signature; /* of the files that failed; retried once they change */
  td_code code;
  char message[TD_STATUS_MSG_MAX];
} failed_version;

typedef struct managed_model {
  td_model_config cfg;
  failed_version *failed;
  size_t nfailed, failed_cap;
  int warned; /* the base path problem was logged (once until it is fixed) */
} managed_model;

struct td_manager {
  td_servables *servables;
  td_manager_options opt;
  td_model_loader loader;
  int default_loader;
  pthread_mutex_t control;
  managed_model *models;
  size_t n, cap;
  td_model_config_list pending; /* td_manager_add_model, until start */
  size_t pending_cap;
  char *config_text;            /* the config file text last applied */
  /* the model repository (KServe V2 repository extension, manager_repository.c): the last
   * config applied, and the names of its models unloaded since (not in `models`); changed
   * under control AND repo_mu, read under either (readers take repo_mu: never held while loading) */
  pthread_mutex_t repo_mu;
  td_model_config_list repo;
  char **unloaded;
  size_t nunloaded, unloaded_cap;
  pthread_t thread;
  int running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  int reap; /* a request released a retired version's last reference (guarded by mu) */
};

static inline int version_in(const int64_t *a, size_t n, int64_t v) {
  for (size_t i = 0; i < n; i++)
    if (a[i] == v) return 1;
  return 0;
}

/* manager.c, for manager_repository.c (m->control held): the managed model of that name, or
 * NULL; drops models[i] (retires its versions); applies a config list; labels of a list. */
managed_model *td_manager_find_locked(td_manager *m, const char *name);
void td_manager_drop_locked(td_manager *m, size_t i, const char *why);
td_code td_manager_labels_locked(td_manager *m, const td_model_config_list *cfg, td_status *st);
/* manager_repository.c: the repository becomes a copy of cfg, nothing unloaded (m->control
 * held); frees it (td_manager_free). */
void td_manager_repository_set_locked(td_manager *m, const td_model_config_list *cfg);
void td_manager_repository_clear(td_manager *m);

/* One poll of these models (pointers into m->models, valid for the call): list their version
 * dirs, load what is aspired and not yet available, record failures, retire the rest. */
void td_manager_poll_models(td_manager *m, managed_model **models, size_t n);

#endif
