/* manager.c — config-driven model manager: config changes, labels, config reloads, the polling
 * thread and the life cycle (see manager.h); the polls themselves are in manager_poll.c.
 * Invariants: `models` and each model's `failed` list change only under `control`; the
 * serving map is the truth about which versions are AVAILABLE; `mu`/`cv` only guard `stop`
 * and `reap` (and the thread's sleeps), never loading. The manager's thread also frees the
 * versions whose last reference a request released (it is the serving map's reaper from
 * td_manager_start to td_manager_free), so it runs even when nothing is polled. */
#include "core/manager_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/version_dirs.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

/* ---- the default loader ---- */

static td_code default_load(void *ctx, const char *dir, td_model **out, td_status *st) {
  td_manager *m = ctx;
  return td_model_load(dir, m->opt.tags, m->opt.ntags, &m->opt.model, out, st);
}

/* ---- config changes ---- */

static managed_model *find_model(td_manager *m, const char *name) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->models[i].cfg.name, name)) return &m->models[i];
  return NULL;
}

static void drop_model(td_manager *m, size_t i, const char *why) {
  managed_model *mm = &m->models[i];
  TD_LOG_INFO("Removing model %s (%s)", mm->cfg.name, why);
  td_servables_remove_model(m->servables, mm->cfg.name);
  td_model_config_clear(&mm->cfg);
  free(mm->failed);
  memmove(mm, mm + 1, (m->n - i - 1) * sizeof *mm);
  m->n--;
}

static int is_available(td_manager *m, const char *name, int64_t v) {
  int64_t avail[256];
  int na = td_servables_available(m->servables, name, avail, 256);
  return version_in(avail, (size_t)na, v);
}

/* Checks every label of cfg (TF's UpdateModelVersionLabelMap), then replaces the label maps. */
static td_code update_labels(td_manager *m, const td_model_config_list *cfg, td_status *st) {
  for (size_t i = 0; i < cfg->n; i++) {
    const td_model_config *c = &cfg->models[i];
    for (size_t k = 0; k < c->nlabels; k++) {
      int64_t v = c->labels[k].version;
      if (is_available(m, c->name, v)) continue;
      int64_t existing = td_servables_label_version(m->servables, c->name, c->labels[k].label);
      if (!m->opt.allow_labels_for_unavailable || (existing >= 0 && existing != v))
        return td_status_set(st, TD_FAILED_PRECONDITION,
                             "Request to assign label to version %lld of model %s, which is not currently "
                             "available for inference", (long long)v, c->name);
    }
  }
  for (size_t i = 0; i < cfg->n; i++) {
    const td_model_config *c = &cfg->models[i];
    const char **labels = td_xcalloc(c->nlabels + 1, sizeof *labels);
    int64_t *versions = td_xcalloc(c->nlabels + 1, sizeof *versions);
    for (size_t k = 0; k < c->nlabels; k++) labels[k] = c->labels[k].label, versions[k] = c->labels[k].version;
    td_servables_set_labels(m->servables, c->name, labels, versions, (int)c->nlabels);
    free(labels);
    free(versions);
  }
  return TD_OK;
}

/* New models none of whose aspired versions became AVAILABLE because they failed, in TF's
 * words (server_core.cc): "N model(s) did not become available: {" then per model
 * "{{name: <m> version: <v>} due to error: <CODE>: <msg>}, " then "}". */
static td_code check_new_models(td_manager *m, const char *const *new_names, size_t nnew, td_status *st) {
  td_buf msg;
  td_buf_init(&msg);
  int failed = 0;
  for (size_t i = 0; i < nnew; i++) {
    managed_model *mm = find_model(m, new_names[i]);
    int64_t v;
    if (!mm || !mm->nfailed || td_servables_available(m->servables, mm->cfg.name, &v, 1) > 0) continue;
    const failed_version *f = &mm->failed[0];
    failed++;
    td_buf_printf(&msg, "{{name: %s version: %lld} due to error: %s: %s}, ", mm->cfg.name, (long long)f->version,
                  td_code_name(f->code), f->message);
  }
  td_code code = TD_OK;
  if (failed)
    code = td_status_set(st, TD_UNKNOWN, "%d model(s) did not become available: {%.*s}", failed, (int)msg.len,
                         msg.data ? (const char *)msg.data : "");
  td_buf_release(&msg);
  return code;
}

static td_code apply_locked(td_manager *m, const td_model_config_list *cfg, td_status *st) {
  for (size_t i = m->n; i-- > 0;) {
    int kept = 0;
    for (size_t k = 0; k < cfg->n && !kept; k++) kept = !strcmp(cfg->models[k].name, m->models[i].cfg.name);
    if (!kept) drop_model(m, i, "no longer in the config");
  }
  const char **new_names = td_xcalloc(cfg->n + 1, sizeof *new_names);
  size_t nnew = 0, npoll = 0;
  size_t *to_poll = td_xcalloc(cfg->n + 1, sizeof *to_poll); /* indices: m->models may move */
  for (size_t k = 0; k < cfg->n; k++) {
    const td_model_config *c = &cfg->models[k];
    managed_model *mm = find_model(m, c->name);
    int changed = 1;
    if (!mm) {
      TD_LOG_INFO("Adding model %s (base path %s)", c->name, c->base_path);
      TD_GROW(m->models, m->cap, m->n + 1);
      mm = &m->models[m->n++];
      memset(mm, 0, sizeof *mm);
      td_servables_add_model(m->servables, c->name);
      new_names[nnew++] = c->name;
    } else {
      changed = !td_model_config_same_source(&mm->cfg, c);
      if (changed) {
        TD_LOG_INFO("Model %s: new base path or version policy", c->name);
        mm->nfailed = 0;
        mm->warned = 0;
      }
      td_model_config_clear(&mm->cfg);
    }
    td_model_config_copy(&mm->cfg, c);
    if (changed && m->opt.poll_seconds >= 0) to_poll[npoll++] = (size_t)(mm - m->models);
  }
  managed_model **polled = td_xcalloc(npoll + 1, sizeof *polled);
  for (size_t i = 0; i < npoll; i++) polled[i] = &m->models[to_poll[i]];
  td_manager_poll_models(m, polled, npoll); /* new and changed models load together (in parallel with load_threads) */
  free(polled);
  free(to_poll);
  td_code code = check_new_models(m, new_names, nnew, st);
  free(new_names);
  if (code == TD_OK) code = update_labels(m, cfg, st);
  return code;
}

/* For manager_repository.c (manager_internal.h). */
managed_model *td_manager_find_locked(td_manager *m, const char *name) { return find_model(m, name); }
void td_manager_drop_locked(td_manager *m, size_t i, const char *why) { drop_model(m, i, why); }
td_code td_manager_labels_locked(td_manager *m, const td_model_config_list *cfg, td_status *st) {
  return update_labels(m, cfg, st);
}

td_code td_manager_apply_config(td_manager *m, const td_model_config_list *cfg, td_status *st) {
  if (!cfg->is_set) {
    TD_LOG_INFO("Taking no action for empty config.");
    return TD_OK;
  }
  pthread_mutex_lock(&m->control);
  td_manager_repository_set_locked(m, cfg); /* a new config is the whole repository again */
  td_code code = apply_locked(m, cfg, st);
  pthread_mutex_unlock(&m->control);
  return code;
}

static td_code reload_hook(void *ctx, const struct td_model_config_list *cfg, td_status *st) {
  return td_manager_apply_config(ctx, cfg, st);
}

td_code td_manager_apply_config_file(td_manager *m, const char *path, td_status *st) {
  char *text = NULL;
  size_t len = 0;
  TD_TRY(td_read_file(path, &text, &len, st));
  td_model_config_list cfg;
  td_code code = td_model_config_parse_text(text, len, &cfg, st);
  if (code == TD_OK) {
    code = td_manager_apply_config(m, &cfg, st);
    td_model_config_list_free(&cfg);
  }
  pthread_mutex_lock(&m->control);
  free(m->config_text); /* remembered even on failure: a broken file is reported once */
  m->config_text = text;
  pthread_mutex_unlock(&m->control);
  return code;
}

/* The config-file poller: re-applies the file when its text changed. */
static void poll_config_file(td_manager *m) {
  char *text = NULL;
  size_t len = 0;
  td_status st = {0};
  if (td_read_file(m->opt.config_file, &text, &len, &st) != TD_OK) {
    TD_LOG_ERROR("Could not read model config file: %s", st.msg);
    return;
  }
  pthread_mutex_lock(&m->control);
  int same = m->config_text && !strcmp(m->config_text, text);
  pthread_mutex_unlock(&m->control);
  free(text);
  if (same) return;
  TD_LOG_INFO("Model config file %s changed; reloading", m->opt.config_file);
  if (td_manager_apply_config_file(m, m->opt.config_file, &st) != TD_OK)
    TD_LOG_ERROR("Reloading model config file %s failed: %s: %s", m->opt.config_file, td_code_name(st.code), st.msg);
}

char **td_manager_model_names(td_manager *m, size_t *n) {
  pthread_mutex_lock(&m->control);
  char **names = td_xcalloc(m->n + 1, sizeof *names);
  for (size_t i = 0; i < m->n; i++) names[i] = td_xstrdup(m->models[i].cfg.name);
  *n = m->n;
  pthread_mutex_unlock(&m->control);
  return names;
}

/* ---- life cycle ---- */

td_manager *td_manager_new(td_servables *s, const td_manager_options *opt) {
  td_manager *m = td_xcalloc(1, sizeof *m);
  m->servables = s;
  m->opt.poll_seconds = 1;
  if (opt) m->opt = *opt;
  if (m->opt.loader) {
    m->loader = *m->opt.loader;
  } else {
    m->loader = (td_model_loader){.load = default_load, .ctx = m};
    m->default_loader = 1; /* models are freed with td_model_free (no pointer back to m) */
  }
  pthread_mutex_init(&m->control, NULL);
  pthread_mutex_init(&m->repo_mu, NULL);
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  return m;
}

td_code td_manager_add_model(td_manager *m, const char *name, const char *base_path, td_status *st) {
  if (!name || !*name) return td_status_set(st, TD_INVALID_ARGUMENT, "model name must not be empty");
  td_model_config_list one;
  TD_TRY(td_model_config_single(name, base_path, &one, st));
  for (size_t i = 0; i < m->pending.n; i++)
    if (!strcmp(m->pending.models[i].name, name)) {
      td_model_config_list_free(&one);
      return td_status_set(st, TD_INVALID_ARGUMENT, "Illegal to list model %s multiple times in config list", name);
    }
  TD_GROW(m->pending.models, m->pending_cap, m->pending.n + 1);
  m->pending.models[m->pending.n++] = one.models[0];
  m->pending.is_set = 1;
  free(one.models);
  return TD_OK;
}

/* The serving map's wake callback (called under its graveyard mutex: only signal). */
static void reap_wake(void *ctx) {
  td_manager *m = ctx;
  pthread_mutex_lock(&m->mu);
  m->reap = 1;
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
}

static void *poll_loop(void *arg) {
  td_manager *m = arg;
  int fs = m->opt.poll_seconds > 0, cf = m->opt.config_file && m->opt.config_poll_seconds > 0;
  struct timespec now, next_fs, next_cf;
  clock_gettime(CLOCK_REALTIME, &now);
  next_fs = next_cf = now;
  next_fs.tv_sec += fs ? m->opt.poll_seconds : 1;
  next_cf.tv_sec += cf ? m->opt.config_poll_seconds : 1;
  pthread_mutex_lock(&m->mu);
  while (!m->stop) {
    struct timespec until = !fs ? next_cf : !cf ? next_fs : next_fs.tv_sec <= next_cf.tv_sec ? next_fs : next_cf;
    if (!m->reap) {
      if (fs || cf) pthread_cond_timedwait(&m->cv, &m->mu, &until);
      else pthread_cond_wait(&m->cv, &m->mu); /* nothing to poll: only reaping wakes it */
    }
    if (m->stop) break;
    int reap = m->reap;
    m->reap = 0;
    pthread_mutex_unlock(&m->mu);
    if (reap) td_servables_reap(m->servables);
    clock_gettime(CLOCK_REALTIME, &now);
    if (cf && now.tv_sec >= next_cf.tv_sec) {
      poll_config_file(m);
      next_cf = now, next_cf.tv_sec += m->opt.config_poll_seconds;
    }
    if (fs && now.tv_sec >= next_fs.tv_sec) {
      td_manager_poll(m);
      clock_gettime(CLOCK_REALTIME, &next_fs);
      next_fs.tv_sec += m->opt.poll_seconds;
    }
    pthread_mutex_lock(&m->mu);
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

td_code td_manager_start(td_manager *m, td_status *st) {
  if (m->pending.n) {
    td_code code = td_manager_apply_config(m, &m->pending, st);
    td_model_config_list_free(&m->pending);
    if (code != TD_OK) return code;
  }
  td_servables_set_reloader(m->servables, reload_hook, m);
  if (pthread_create(&m->thread, NULL, poll_loop, m))
    return td_status_set(st, TD_INTERNAL, "could not start the file system poller");
  m->running = 1;
  td_servables_set_reaper(m->servables, reap_wake, m);
  return TD_OK;
}

void td_manager_free(td_manager *m) {
  if (!m) return;
  pthread_mutex_lock(&m->mu);
  m->stop = 1; /* first: a reload in progress stops waiting between retries */
  pthread_cond_broadcast(&m->cv);
  pthread_mutex_unlock(&m->mu);
  td_servables_set_reloader(m->servables, NULL, NULL);
  td_servables_set_reaper(m->servables, NULL, NULL); /* frees what is queued, here */
  if (m->running) pthread_join(m->thread, NULL);
  pthread_mutex_lock(&m->control); /* a repository load/unload in progress finishes first */
  pthread_mutex_unlock(&m->control);
  for (size_t i = 0; i < m->n; i++) {
    managed_model *mm = &m->models[i];
    int64_t avail[256];
    int na = td_servables_available(m->servables, mm->cfg.name, avail, 256);
    for (int k = 0; k < na; k++) td_servables_retire(m->servables, mm->cfg.name, avail[k]);
    td_model_config_clear(&mm->cfg);
    free(mm->failed);
  }
  free(m->models);
  td_manager_repository_clear(m);
  td_model_config_list_free(&m->pending);
  free(m->config_text);
  pthread_mutex_destroy(&m->control);
  pthread_mutex_destroy(&m->repo_mu);
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  free(m);
}
