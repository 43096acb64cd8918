/* manager_poll.c — one poll of the file-system manager (see manager.h): list each model's
 * version dirs, load the aspired versions that are not available (with retries; up to
 * load_threads at once), record failed versions (not retried until any of their files changes), then
 * retire what is no longer aspired — after the loads, so a model is never left without a
 * version while a new one loads.
 * Invariant: called with m->control held; loads touch only the serving map (thread-safe) and
 * their own job, everything else happens on the polling thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/manager_internal.h"
#include "core/version_dirs.h"
#include "util/log.h"
#include "util/mem.h"

/* Sleeps up to micros unless the manager is stopping; returns 1 when stopping. */
static int sleep_unless_stopping(td_manager *m, int64_t micros) {
  pthread_mutex_lock(&m->mu);
  if (micros > 0 && !m->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += micros / 1000000;
    until.tv_nsec += (micros % 1000000) * 1000;
    if (until.tv_nsec >= 1000000000) until.tv_sec++, until.tv_nsec -= 1000000000;
    while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &until) == 0) {
    }
  }
  int stopping = m->stop;
  pthread_mutex_unlock(&m->mu);
  return stopping;
}

static failed_version *find_failed(managed_model *mm, int64_t v) {
  for (size_t i = 0; i < mm->nfailed; i++)
    if (mm->failed[i].version == v) return &mm->failed[i];
  return NULL;
}

static void forget_failed(managed_model *mm, int64_t v) {
  failed_version *f = find_failed(mm, v);
  if (f) *f = mm->failed[--mm->nfailed];
}

/* Loads one version with retries: publishes it, or sets END with the error (returned, with
 * its message in *st). As upstream's LoaderHarness, every error is retried up to
 * --max_num_load_retries times, --load_retry_interval_micros apart (a version whose files are
 * still being copied then gets another chance). Touches only the serving map, so loads may run
 * in parallel. */
static td_code load_version(td_manager *m, const char *name, const td_version_dir *d, td_status *st) {
  td_code code = TD_OK;
  for (int attempt = 0; attempt <= m->opt.max_load_retries; attempt++) {
    if (attempt > 0) {
      if (sleep_unless_stopping(m, m->opt.load_retry_interval_micros)) break;
      TD_LOG_INFO("Retrying load of servable {name: %s version: %lld} (retry %d of %d)", name,
                  (long long)d->version, attempt, m->opt.max_load_retries);
    }
    TD_LOG_INFO("Loading servable: {name: %s version: %lld} from %s", name, (long long)d->version, d->path);
    td_servables_set_state(m->servables, name, d->version, TD_VERSION_LOADING, TD_OK, "");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    td_model *model = NULL;
    td_status_clear(st);
    code = m->loader.load(m->loader.ctx, d->path, &model, st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (code == TD_OK) {
      td_servables_publish_with(m->servables, name, d->version, model, m->default_loader ? NULL : m->loader.free,
                                m->loader.ctx);
      TD_LOG_INFO("Successfully loaded servable version {name: %s version: %lld} in %.1f ms", name,
                  (long long)d->version, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
      return TD_OK;
    }
    TD_LOG_ERROR("Loading servable: {name: %s version: %lld} failed: %s", name, (long long)d->version, st->msg);
  }
  if (code == TD_OK) code = td_status_set(st, TD_CANCELLED, "Loading was cancelled");
  td_servables_set_state(m->servables, name, d->version, TD_VERSION_END, code, st->msg);
  return code;
}

/* Remembers a failed version (not retried until its files change) or forgets a loaded one. */
static void record_outcome(managed_model *mm, const td_version_dir *d, td_code code, const td_status *st) {
  if (code == TD_OK) {
    forget_failed(mm, d->version);
    return;
  }
  failed_version *f = find_failed(mm, d->version);
  if (!f) {
    TD_GROW(mm->failed, mm->failed_cap, mm->nfailed + 1);
    f = &mm->failed[mm->nfailed++];
  }
  f->version = d->version;
  f->signature = d->signature;
  f->code = code;
  snprintf(f->message, sizeof f->message, "%s", st->msg);
}

/* ---- a poll: aspire, load, then retire (availability preserving) ---- */

static void retire_unaspired(td_manager *m, managed_model *mm, const int64_t *aspired, size_t naspired) {
  int64_t avail[256];
  int na = td_servables_available(m->servables, mm->cfg.name, avail, 256);
  int aspired_ready = 0;
  for (int i = 0; i < na; i++) aspired_ready |= version_in(aspired, naspired, avail[i]);
  int keep_newest_unaspired = naspired > 0 && !aspired_ready; /* never leave a gap */
  for (int i = na; i-- > 0;) { /* newest first */
    if (version_in(aspired, naspired, avail[i])) continue;
    if (keep_newest_unaspired) {
      keep_newest_unaspired = 0;
      continue;
    }
    td_servables_retire(m->servables, mm->cfg.name, avail[i]);
    TD_LOG_INFO("Unloaded servable version {name: %s version: %lld}", mm->cfg.name, (long long)avail[i]);
  }
}

/* One poll of some models: list each model's version dirs and the versions to load (plan),
 * load them all — in parallel on up to load_threads threads —, then record the outcomes and
 * retire what is no longer aspired (availability preserving: after the loads). */
typedef struct model_plan {
  managed_model *mm;
  td_version_dir *dirs;
  size_t ndirs;
  int64_t *aspired;
  size_t naspired;
  int listed; /* the base path could be read */
} model_plan;

typedef struct load_job {
  model_plan *plan;
  const td_version_dir *dir;
  td_code code;
  td_status st;
} load_job;

static void plan_model(td_manager *m, model_plan *p, load_job **jobs, size_t *njobs, size_t *cap) {
  managed_model *mm = p->mm;
  td_status st = {0};
  if (td_version_dirs_list(mm->cfg.base_path, &p->dirs, &p->ndirs, &st) != TD_OK) {
    if (!mm->warned) TD_LOG_ERROR("%s for servable %s", st.msg, mm->cfg.name);
    mm->warned = 1;
    return; /* what is loaded keeps serving */
  }
  p->listed = 1;
  if (!p->ndirs && !mm->warned)
    TD_LOG_WARN("No versions of servable %s found under base path %s. Did you forget to name your leaf directory "
                "as a number (eg. '/1/')?", mm->cfg.name, mm->cfg.base_path);
  mm->warned = p->ndirs == 0;
  p->aspired = td_xcalloc(p->ndirs + 1, sizeof *p->aspired);
  p->naspired = td_aspired_versions(&mm->cfg, p->dirs, p->ndirs, p->aspired);
  int64_t avail[256];
  int na = td_servables_available(m->servables, mm->cfg.name, avail, 256);
  for (size_t i = 0; i < p->naspired; i++) { /* highest first */
    if (version_in(avail, (size_t)na, p->aspired[i])) continue;
    const td_version_dir *d = td_version_dirs_find(p->dirs, p->ndirs, p->aspired[i]);
    const failed_version *f = find_failed(mm, p->aspired[i]);
    if (f && f->signature == d->signature) continue;
    TD_GROW(*jobs, *cap, *njobs + 1);
    (*jobs)[(*njobs)++] = (load_job){.plan = p, .dir = d};
  }
}

typedef struct load_pool {
  td_manager *m;
  load_job *jobs;
  size_t n, next;
  pthread_mutex_t mu;
} load_pool;

static void *load_worker(void *arg) {
  load_pool *pool = arg;
  for (;;) {
    pthread_mutex_lock(&pool->mu);
    size_t i = pool->next++;
    pthread_mutex_unlock(&pool->mu);
    if (i >= pool->n) return NULL;
    load_job *j = &pool->jobs[i];
    j->code = load_version(pool->m, j->plan->mm->cfg.name, j->dir, &j->st);
  }
}

static void run_loads(td_manager *m, load_job *jobs, size_t n) {
  load_pool pool = {.m = m, .jobs = jobs, .n = n};
  pthread_mutex_init(&pool.mu, NULL);
  size_t extra = m->opt.load_threads > 1 ? (size_t)m->opt.load_threads - 1 : 0;
  if (extra > n - (n > 0)) extra = n - (n > 0);
  pthread_t *threads = td_xcalloc(extra + 1, sizeof *threads);
  size_t started = 0;
  while (started < extra && pthread_create(&threads[started], NULL, load_worker, &pool) == 0) started++;
  load_worker(&pool); /* this thread loads too */
  for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  free(threads);
  pthread_mutex_destroy(&pool.mu);
}

void td_manager_poll_models(td_manager *m, managed_model **models, size_t n) {
  model_plan *plans = td_xcalloc(n + 1, sizeof *plans);
  load_job *jobs = NULL;
  size_t njobs = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    plans[i].mm = models[i];
    plan_model(m, &plans[i], &jobs, &njobs, &cap);
  }
  run_loads(m, jobs, njobs);
  for (size_t k = 0; k < njobs; k++) record_outcome(jobs[k].plan->mm, jobs[k].dir, jobs[k].code, &jobs[k].st);
  for (size_t i = 0; i < n; i++) {
    if (plans[i].listed) retire_unaspired(m, plans[i].mm, plans[i].aspired, plans[i].naspired);
    free(plans[i].aspired);
    td_version_dirs_free(plans[i].dirs, plans[i].ndirs);
  }
  free(jobs);
  free(plans);
}

void td_manager_poll(td_manager *m) {
  pthread_mutex_lock(&m->control);
  managed_model **all = td_xcalloc(m->n + 1, sizeof *all);
  for (size_t i = 0; i < m->n; i++) all[i] = &m->models[i];
  td_manager_poll_models(m, all, m->n);
  free(all);
  pthread_mutex_unlock(&m->control);
}
