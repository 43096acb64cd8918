/* manager_repository.c — the model repository of KServe V2's repository extension (see
 * manager.h): the config last applied (`repo`) and the names of its models unloaded since
 * (`unloaded`); load and unload drive the same machinery as a config change (models,
 * td_manager_poll_models, labels).
 * Invariants: repo and unloaded change only with m->control and m->repo_mu both held; a name
 * is in `unloaded` only while it is in `repo` and not in `models`; readers of the repository
 * (the index, readiness) take only repo_mu, so they answer while a load runs. */
#include <stdlib.h>
#include <string.h>

#include "core/manager_internal.h"
#include "util/log.h"
#include "util/mem.h"

static const td_model_config *repo_find(td_manager *m, const char *name) {
  for (size_t i = 0; i < m->repo.n; i++)
    if (!strcmp(m->repo.models[i].name, name)) return &m->repo.models[i];
  return NULL;
}

/* Index in `unloaded`, or -1 (repo_mu or control held). */
static long unloaded_index(td_manager *m, const char *name) {
  for (size_t i = 0; i < m->nunloaded; i++)
    if (!strcmp(m->unloaded[i], name)) return (long)i;
  return -1;
}

static void set_unloaded(td_manager *m, const char *name, int unloaded) {
  pthread_mutex_lock(&m->repo_mu);
  long i = unloaded_index(m, name);
  if (unloaded && i < 0) {
    TD_GROW(m->unloaded, m->unloaded_cap, m->nunloaded + 1);
    m->unloaded[m->nunloaded++] = td_xstrdup(name);
  } else if (!unloaded && i >= 0) {
    free(m->unloaded[i]);
    m->unloaded[i] = m->unloaded[--m->nunloaded];
  }
  pthread_mutex_unlock(&m->repo_mu);
}

static void clear_unlocked(td_manager *m) {
  td_model_config_list_free(&m->repo);
  for (size_t i = 0; i < m->nunloaded; i++) free(m->unloaded[i]);
  free(m->unloaded);
  m->unloaded = NULL;
  m->nunloaded = m->unloaded_cap = 0;
}

void td_manager_repository_clear(td_manager *m) {
  pthread_mutex_lock(&m->repo_mu);
  clear_unlocked(m);
  pthread_mutex_unlock(&m->repo_mu);
}

void td_manager_repository_set_locked(td_manager *m, const td_model_config_list *cfg) {
  pthread_mutex_lock(&m->repo_mu);
  clear_unlocked(m);
  m->repo.is_set = 1;
  m->repo.models = td_xcalloc(cfg->n + 1, sizeof *m->repo.models);
  for (size_t i = 0; i < cfg->n; i++) td_model_config_copy(&m->repo.models[i], &cfg->models[i]);
  m->repo.n = cfg->n;
  pthread_mutex_unlock(&m->repo_mu);
}

td_repository_model *td_manager_repository(td_manager *m, size_t *n) {
  pthread_mutex_lock(&m->repo_mu);
  td_repository_model *out = td_xcalloc(m->repo.n + 1, sizeof *out);
  for (size_t i = 0; i < m->repo.n; i++) {
    out[i].name = td_xstrdup(m->repo.models[i].name);
    out[i].unloaded = unloaded_index(m, out[i].name) >= 0;
  }
  *n = m->repo.n;
  pthread_mutex_unlock(&m->repo_mu);
  return out;
}

void td_manager_repository_free(td_repository_model *models, size_t n) {
  for (size_t i = 0; i < n; i++) free(models[i].name);
  free(models);
}

static td_code not_in_repository(const char *name, td_status *st) {
  return td_status_set(st, TD_NOT_FOUND, "Model %s is not in the model repository", name);
}

static td_code load_locked(td_manager *m, const char *name, td_status *st) {
  const td_model_config *c = repo_find(m, name); /* stable: repo changes only under control */
  if (!c) return not_in_repository(name, st);
  managed_model *mm = td_manager_find_locked(m, name);
  if (!mm) {
    TD_LOG_INFO("Loading model %s (model repository load; base path %s)", name, c->base_path);
    TD_GROW(m->models, m->cap, m->n + 1);
    mm = &m->models[m->n++];
    memset(mm, 0, sizeof *mm);
    td_model_config_copy(&mm->cfg, c);
    td_servables_add_model(m->servables, name);
    set_unloaded(m, name, 0);
  } else {
    TD_LOG_INFO("Rescanning model %s (model repository load)", name);
    mm->nfailed = 0; /* an explicit load retries failed versions */
    mm->warned = 0;
  }
  if (m->opt.poll_seconds >= 0) td_manager_poll_models(m, &mm, 1);
  int64_t v;
  if (td_servables_available(m->servables, name, &v, 1) == 0) {
    if (mm->nfailed)
      return td_status_set(st, mm->failed[0].code, "Model %s version %lld failed to load: %s", name,
                           (long long)mm->failed[0].version, mm->failed[0].message);
    return td_status_set(st, TD_UNAVAILABLE, "Model %s has no version that could be loaded from base path %s",
                         name, c->base_path);
  }
  td_model_config_list one = {.is_set = 1, .models = (td_model_config *)c, .n = 1};
  return td_manager_labels_locked(m, &one, st);
}

td_code td_manager_load_model(td_manager *m, const char *name, td_status *st) {
  pthread_mutex_lock(&m->control);
  td_code code = load_locked(m, name, st);
  pthread_mutex_unlock(&m->control);
  return code;
}

td_code td_manager_unload_model(td_manager *m, const char *name, td_status *st) {
  pthread_mutex_lock(&m->control);
  td_code code = TD_OK;
  if (!repo_find(m, name)) {
    code = not_in_repository(name, st);
  } else {
    set_unloaded(m, name, 1); /* first: the index never shows it served but without versions */
    for (size_t i = 0; i < m->n; i++)
      if (!strcmp(m->models[i].cfg.name, name)) {
        td_manager_drop_locked(m, i, "unloaded through the model repository API");
        break;
      }
  }
  pthread_mutex_unlock(&m->control);
  return code;
}
