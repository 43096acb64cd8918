/* servables.c — the serving map and version state monitor (see servables.h).
 * Invariants: a version entry's `live` is non-NULL exactly while it is AVAILABLE; the map
 * holds one reference on each live model, handles hold one each. When the map side (retire,
 * remove, republish) drops the last reference it frees the model at once and marks the entry
 * END; when a request's td_handle_release drops it and a reaper is installed, the model goes
 * to the `graveyard` list and the reaper's thread frees it (td_servables_reap), so a request
 * thread never pays for a model's teardown. Lock order: graveyard_mu, then the reaper's own
 * locks (its wake callback runs under graveyard_mu); `lock` is never held with graveyard_mu. `configured` is set by add_model and
 * cleared by remove_model (entries created by publish/set_state alone are not configured). */
#include "core/servables.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

typedef struct live_model {
  atomic_int refs;
  td_model *model;
  char *name;
  int64_t version;
  td_servables *owner;
  td_model_free_fn free_fn; /* NULL = td_model_free */
  void *free_ctx;
  struct live_model *next_dead; /* graveyard link */
} live_model;

typedef struct version_entry {
  int64_t version;
  td_version_state state;
  td_code code;
  char message[256];
  live_model *live;
} version_entry;

typedef struct model_entry {
  char *name;
  version_entry *v;
  size_t nv, v_cap;
  char **labels;
  int64_t *label_versions;
  int nlabels;
  int configured;
} model_entry;

struct td_servables {
  pthread_mutex_t reload_mu; /* guards reloader/reload_ctx, held during a reload */
  td_servables_reload_fn reloader;
  void *reload_ctx;
  pthread_rwlock_t lock;
  model_entry **models;
  size_t n, cap;
  pthread_mutex_t graveyard_mu; /* guards graveyard and the reaper fields */
  live_model *graveyard;        /* released by requests, waiting for the reaper */
  td_servables_wake_fn reaper_wake;
  void *reaper_ctx;
};

static void live_free_model(live_model *lm) {
  if (lm->free_fn)
    lm->free_fn(lm->free_ctx, lm->model);
  else
    td_model_free(lm->model);
}

td_servables *td_servables_new(void) {
  td_servables *s = td_xcalloc(1, sizeof *s);
  pthread_rwlock_init(&s->lock, NULL);
  pthread_mutex_init(&s->reload_mu, NULL);
  pthread_mutex_init(&s->graveyard_mu, NULL);
  return s;
}

static void labels_clear(model_entry *m) {
  for (int i = 0; i < m->nlabels; i++) free(m->labels[i]);
  free(m->labels);
  free(m->label_versions);
  m->labels = NULL;
  m->label_versions = NULL;
  m->nlabels = 0;
}

void td_servables_free(td_servables *s) {
  if (!s) return;
  td_servables_reap(s);
  for (size_t i = 0; i < s->n; i++) {
    model_entry *m = s->models[i];
    for (size_t k = 0; k < m->nv; k++)
      if (m->v[k].live) {
        live_free_model(m->v[k].live);
        free(m->v[k].live->name);
        free(m->v[k].live);
      }
    labels_clear(m);
    free(m->v);
    free(m->name);
    free(m);
  }
  free(s->models);
  pthread_rwlock_destroy(&s->lock);
  pthread_mutex_destroy(&s->reload_mu);
  pthread_mutex_destroy(&s->graveyard_mu);
  free(s);
}

static model_entry *find_model(const td_servables *s, const char *name) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->models[i]->name, name)) return s->models[i];
  return NULL;
}

static model_entry *get_model(td_servables *s, const char *name) {
  model_entry *m = find_model(s, name);
  if (m) return m;
  m = td_xcalloc(1, sizeof *m);
  m->name = td_xstrdup(name);
  TD_GROW(s->models, s->cap, s->n + 1);
  s->models[s->n++] = m;
  return m;
}

static version_entry *find_version(const model_entry *m, int64_t v) {
  for (size_t i = 0; m && i < m->nv; i++)
    if (m->v[i].version == v) return &m->v[i];
  return NULL;
}

static version_entry *get_version(model_entry *m, int64_t v) {
  version_entry *e = find_version(m, v);
  if (e) return e;
  TD_GROW(m->v, m->v_cap, m->nv + 1);
  e = &m->v[m->nv++];
  memset(e, 0, sizeof *e);
  e->version = v;
  return e;
}

static void set_entry(version_entry *e, td_version_state state, td_code code, const char *msg) {
  e->state = state;
  e->code = code;
  snprintf(e->message, sizeof e->message, "%s", msg ? msg : "");
}

void td_servables_add_model(td_servables *s, const char *name) {
  pthread_rwlock_wrlock(&s->lock);
  get_model(s, name)->configured = 1;
  pthread_rwlock_unlock(&s->lock);
}

int td_servables_has_model(td_servables *s, const char *name) {
  pthread_rwlock_rdlock(&s->lock);
  model_entry *m = find_model(s, name);
  int has = m && m->configured;
  pthread_rwlock_unlock(&s->lock);
  return has;
}

td_code td_servables_get(td_servables *s, const char *name, int64_t version, const char *label, td_handle *out,
                         td_status *st) {
  memset(out, 0, sizeof *out);
  td_code code = TD_OK;
  pthread_rwlock_rdlock(&s->lock);
  model_entry *m = find_model(s, name);
  version_entry *e = NULL;
  if (label && *label) {
    int found = 0;
    for (int i = 0; m && i < m->nlabels; i++)
      if (!strcmp(m->labels[i], label)) version = m->label_versions[i], found = 1;
    if (!found) code = td_status_set(st, TD_INVALID_ARGUMENT, "Unrecognized servable version label: %s", label);
  }
  if (code == TD_OK && version >= 0) {
    e = find_version(m, version);
    if (!e || !e->live)
      code = td_status_set(st, TD_NOT_FOUND, "Servable not found for request: Specific(%s, %lld)", name,
                           (long long)version);
  } else if (code == TD_OK) {
    for (size_t i = 0; m && i < m->nv; i++)
      if (m->v[i].live && (!e || m->v[i].version > e->version)) e = &m->v[i];
    if (!e) code = td_status_set(st, TD_NOT_FOUND, "Servable not found for request: Latest(%s)", name);
  }
  if (code == TD_OK) {
    atomic_fetch_add(&e->live->refs, 1);
    out->model = e->live->model;
    out->version = e->version;
    out->name = e->live->name;
    out->_ref = e->live;
  }
  pthread_rwlock_unlock(&s->lock);
  return code;
}

/* Frees a model nobody references and marks its version END. */
static void live_destroy(live_model *lm) {
  live_free_model(lm);
  td_servables *s = lm->owner;
  pthread_rwlock_wrlock(&s->lock);
  version_entry *e = find_version(find_model(s, lm->name), lm->version);
  if (e && e->state == TD_VERSION_UNLOADING) set_entry(e, TD_VERSION_END, TD_OK, "");
  pthread_rwlock_unlock(&s->lock);
  free(lm->name);
  free(lm);
}

/* The map side lets go: the last reference frees at once (the caller is the manager). */
static void live_unref(live_model *lm) {
  if (atomic_fetch_sub(&lm->refs, 1) == 1) live_destroy(lm);
}

void td_handle_release(td_handle *h) {
  live_model *lm = h->_ref;
  memset(h, 0, sizeof *h);
  if (!lm || atomic_fetch_sub(&lm->refs, 1) != 1) return;
  td_servables *s = lm->owner;
  pthread_mutex_lock(&s->graveyard_mu);
  int queued = s->reaper_wake != NULL;
  if (queued) {
    lm->next_dead = s->graveyard;
    s->graveyard = lm;
    s->reaper_wake(s->reaper_ctx);
  }
  pthread_mutex_unlock(&s->graveyard_mu);
  if (!queued) live_destroy(lm);
}

void td_servables_set_reaper(td_servables *s, td_servables_wake_fn wake, void *ctx) {
  pthread_mutex_lock(&s->graveyard_mu);
  s->reaper_wake = wake;
  s->reaper_ctx = ctx;
  pthread_mutex_unlock(&s->graveyard_mu);
  if (!wake) td_servables_reap(s);
}

int td_servables_reap(td_servables *s) {
  pthread_mutex_lock(&s->graveyard_mu);
  live_model *dead = s->graveyard;
  s->graveyard = NULL;
  pthread_mutex_unlock(&s->graveyard_mu);
  int n = 0;
  while (dead) {
    live_model *next = dead->next_dead;
    live_destroy(dead);
    dead = next;
    n++;
  }
  return n;
}

void td_servables_publish(td_servables *s, const char *name, int64_t version, td_model *model) {
  td_servables_publish_with(s, name, version, model, NULL, NULL);
}

void td_servables_publish_with(td_servables *s, const char *name, int64_t version, td_model *model,
                               td_model_free_fn free_fn, void *free_ctx) {
  live_model *lm = td_xcalloc(1, sizeof *lm);
  lm->free_fn = free_fn;
  lm->free_ctx = free_ctx;
  atomic_init(&lm->refs, 1);
  lm->model = model;
  lm->name = td_xstrdup(name);
  lm->version = version;
  lm->owner = s;
  pthread_rwlock_wrlock(&s->lock);
  version_entry *e = get_version(get_model(s, name), version);
  live_model *old = e->live;
  e->live = lm;
  set_entry(e, TD_VERSION_AVAILABLE, TD_OK, "");
  pthread_rwlock_unlock(&s->lock);
  if (old) live_unref(old);
}

void td_servables_set_state(td_servables *s, const char *name, int64_t version, td_version_state state, td_code code,
                            const char *message) {
  pthread_rwlock_wrlock(&s->lock);
  version_entry *e = get_version(get_model(s, name), version);
  if (!e->live) set_entry(e, state, code, message);
  pthread_rwlock_unlock(&s->lock);
}

void td_servables_retire(td_servables *s, const char *name, int64_t version) {
  pthread_rwlock_wrlock(&s->lock);
  version_entry *e = find_version(find_model(s, name), version);
  live_model *lm = e ? e->live : NULL;
  if (e && lm) {
    e->live = NULL;
    set_entry(e, TD_VERSION_UNLOADING, TD_OK, "");
  }
  pthread_rwlock_unlock(&s->lock);
  if (lm) live_unref(lm);
}

void td_servables_set_labels(td_servables *s, const char *name, const char *const *labels, const int64_t *versions,
                             int n) {
  pthread_rwlock_wrlock(&s->lock);
  model_entry *m = get_model(s, name);
  labels_clear(m);
  m->labels = td_xcalloc((size_t)n + 1, sizeof *m->labels);
  m->label_versions = td_xcalloc((size_t)n + 1, sizeof *m->label_versions);
  for (int i = 0; i < n; i++) {
    m->labels[i] = td_xstrdup(labels[i]);
    m->label_versions[i] = versions[i];
  }
  m->nlabels = n;
  pthread_rwlock_unlock(&s->lock);
}

void td_servables_remove_model(td_servables *s, const char *name) {
  pthread_rwlock_wrlock(&s->lock);
  model_entry *m = find_model(s, name);
  live_model **gone = NULL;
  size_t ngone = 0;
  if (m) {
    m->configured = 0;
    labels_clear(m);
    gone = td_xcalloc(m->nv + 1, sizeof *gone);
    for (size_t i = 0; i < m->nv; i++)
      if (m->v[i].live) {
        gone[ngone++] = m->v[i].live;
        m->v[i].live = NULL;
        set_entry(&m->v[i], TD_VERSION_UNLOADING, TD_OK, "");
      }
  }
  pthread_rwlock_unlock(&s->lock);
  for (size_t i = 0; i < ngone; i++) live_unref(gone[i]);
  free(gone);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int td_servables_model_names(td_servables *s, char ***names) {
  pthread_rwlock_rdlock(&s->lock);
  char **v = td_xcalloc(s->n + 1, sizeof *v);
  int n = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->models[i]->configured || s->models[i]->nv) v[n++] = td_xstrdup(s->models[i]->name);
  pthread_rwlock_unlock(&s->lock);
  qsort(v, (size_t)n, sizeof *v, cmp_name);
  *names = v;
  return n;
}

int td_servables_ready(td_servables *s) {
  pthread_rwlock_rdlock(&s->lock);
  int configured = 0, ready = 1;
  for (size_t i = 0; i < s->n; i++) {
    model_entry *m = s->models[i];
    if (!m->configured) continue;
    configured++;
    int any = 0;
    for (size_t k = 0; k < m->nv && !any; k++) any = m->v[k].live != NULL;
    if (!any) ready = 0;
  }
  pthread_rwlock_unlock(&s->lock);
  return configured > 0 && ready;
}

int64_t td_servables_label_version(td_servables *s, const char *name, const char *label) {
  pthread_rwlock_rdlock(&s->lock);
  model_entry *m = find_model(s, name);
  int64_t v = -1;
  for (int i = 0; m && i < m->nlabels; i++)
    if (!strcmp(m->labels[i], label)) v = m->label_versions[i];
  pthread_rwlock_unlock(&s->lock);
  return v;
}

int td_servables_available(td_servables *s, const char *name, int64_t *versions, int max) {
  pthread_rwlock_rdlock(&s->lock);
  model_entry *m = find_model(s, name);
  int n = 0;
  for (size_t i = 0; m && i < m->nv; i++)
    if (m->v[i].live && n < max) versions[n++] = m->v[i].version;
  pthread_rwlock_unlock(&s->lock);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && versions[j] < versions[j - 1]; j--) {
      int64_t t = versions[j];
      versions[j] = versions[j - 1];
      versions[j - 1] = t;
    }
  return n;
}

static int cmp_desc(const void *a, const void *b) {
  int64_t x = ((const td_version_status *)a)->version, y = ((const td_version_status *)b)->version;
  return x < y ? 1 : x > y ? -1 : 0;
}

td_code td_servables_status(td_servables *s, const char *name, int64_t version, td_version_status **out, int *n,
                            td_status *st) {
  *out = NULL;
  *n = 0;
  pthread_rwlock_rdlock(&s->lock);
  model_entry *m = find_model(s, name);
  td_code code = TD_OK;
  if (!m || !m->nv) {
    code = td_status_set(st, TD_NOT_FOUND, "Could not find any versions of model %s", name);
  } else if (version >= 0 && !find_version(m, version)) {
    code = td_status_set(st, TD_NOT_FOUND, "Could not find version %lld of model %s", (long long)version, name);
  } else {
    *out = td_xcalloc(m->nv, sizeof **out);
    for (size_t i = 0; i < m->nv; i++) {
      if (version >= 0 && m->v[i].version != version) continue;
      td_version_status *vs = &(*out)[(*n)++];
      vs->version = m->v[i].version;
      vs->state = m->v[i].state;
      vs->error_code = m->v[i].code;
      snprintf(vs->error_message, sizeof vs->error_message, "%s", m->v[i].message);
    }
  }
  pthread_rwlock_unlock(&s->lock);
  if (*out) qsort(*out, (size_t)*n, sizeof **out, cmp_desc);
  return code;
}

void td_servables_set_reloader(td_servables *s, td_servables_reload_fn fn, void *ctx) {
  pthread_mutex_lock(&s->reload_mu);
  s->reloader = fn;
  s->reload_ctx = ctx;
  pthread_mutex_unlock(&s->reload_mu);
}

td_code td_servables_reload(td_servables *s, const struct td_model_config_list *cfg, td_status *st) {
  pthread_mutex_lock(&s->reload_mu);
  td_code code = s->reloader ? s->reloader(s->reload_ctx, cfg, st)
                             : td_status_set(st, TD_UNIMPLEMENTED, "this server does not manage its models from a config");
  pthread_mutex_unlock(&s->reload_mu);
  return code;
}
