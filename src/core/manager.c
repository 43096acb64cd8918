/* manager.c — polls model base paths and loads/retires versions (see manager.h). */
#include "core/manager.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct model_source {
  char *name;
  char *base_path;
  int64_t serving;      /* version currently published by us, -1 = none */
  int64_t failed;       /* last version that failed to load, -1 = none */
  struct timespec failed_mtime;
  int warned_missing;
} model_source;

struct td_manager {
  td_servables *servables;
  td_manager_options opt;
  model_source *models;
  size_t n, cap;
  pthread_t thread;
  int running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
};

td_manager *td_manager_new(td_servables *s, const td_manager_options *opt) {
  td_manager *m = td_xcalloc(1, sizeof *m);
  m->servables = s;
  m->opt.poll_seconds = 1;
  if (opt) m->opt = *opt;
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cv, NULL);
  return m;
}

td_code td_manager_add_model(td_manager *m, const char *name, const char *base_path, td_status *st) {
  if (!name || !*name) return td_status_set(st, TD_INVALID_ARGUMENT, "model name must not be empty");
  if (!base_path || base_path[0] != '/')
    return td_status_set(st, TD_INVALID_ARGUMENT, "Model base path must be an absolute path: %s", base_path ? base_path : "");
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->models[i].name, name)) return td_status_set(st, TD_INVALID_ARGUMENT, "Duplicate model name: %s", name);
  TD_GROW(m->models, m->cap, m->n + 1);
  model_source *src = &m->models[m->n++];
  memset(src, 0, sizeof *src);
  src->name = td_xstrdup(name);
  src->base_path = td_xstrdup(base_path);
  src->serving = src->failed = -1;
  td_servables_add_model(m->servables, name);
  return TD_OK;
}

/* Highest numeric child of base (-1 if none; -2 if base is unreadable). */
static int64_t latest_version(const char *base) {
  DIR *d = opendir(base);
  if (!d) return -2;
  int64_t best = -1;
  for (struct dirent *e; (e = readdir(d));) {
    const char *s = e->d_name;
    if (!*s) continue;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || v < 0 || s[0] == '-' || s[0] == '+') continue;
    char *path = td_path_join(base, s);
    int dir = td_is_dir(path);
    free(path);
    if (dir && v > best) best = v;
  }
  closedir(d);
  return best;
}

static struct timespec dir_mtime(const char *path) {
  struct stat sb;
  struct timespec none = {0, 0};
  return stat(path, &sb) == 0 ? sb.st_mtim : none;
}

static void poll_model(td_manager *m, model_source *src) {
  int64_t v = latest_version(src->base_path);
  if (v == -2) {
    if (!src->warned_missing)
      TD_LOG_ERROR("Could not find base path %s for servable %s", src->base_path, src->name);
    src->warned_missing = 1;
    return;
  }
  src->warned_missing = 0;
  if (v < 0) {
    TD_LOG_WARN("No versions of servable %s found under base path %s. Did you forget to name your leaf directory "
                "as a number (eg. '/1/')?", src->name, src->base_path);
    return;
  }
  if (v == src->serving) return;
  char *dir = NULL;
  { /* the directory name may have leading zeros: find it */
    DIR *d = opendir(src->base_path);
    for (struct dirent *e; d && (e = readdir(d));)
      if (strtoll(e->d_name, NULL, 10) == v && e->d_name[0] >= '0' && e->d_name[0] <= '9' && !dir)
        dir = td_path_join(src->base_path, e->d_name);
    if (d) closedir(d);
  }
  if (!dir) return;
  struct timespec mt = dir_mtime(dir);
  if (v == src->failed && mt.tv_sec == src->failed_mtime.tv_sec && mt.tv_nsec == src->failed_mtime.tv_nsec) {
    free(dir);
    return;
  }
  TD_LOG_INFO("Loading servable: {name: %s version: %lld} from %s", src->name, (long long)v, dir);
  td_servables_set_state(m->servables, src->name, v, TD_VERSION_LOADING, TD_OK, "");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  td_model *model;
  td_status st = {0};
  td_code code = td_model_load(dir, m->opt.tags, m->opt.ntags, &m->opt.model, &model, &st);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  free(dir);
  if (code != TD_OK) {
    TD_LOG_ERROR("Loading servable: {name: %s version: %lld} failed: %s", src->name, (long long)v, st.msg);
    td_servables_set_state(m->servables, src->name, v, TD_VERSION_END, code, st.msg);
    src->failed = v;
    src->failed_mtime = mt;
    return;
  }
  td_servables_publish(m->servables, src->name, v, model);
  TD_LOG_INFO("Successfully loaded servable version {name: %s version: %lld} in %.1f ms", src->name, (long long)v,
              (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  /* availability-preserving: the new version serves before the others go */
  int64_t avail[64];
  int na = td_servables_available(m->servables, src->name, avail, 64);
  for (int i = 0; i < na; i++)
    if (avail[i] != v) {
      td_servables_retire(m->servables, src->name, avail[i]);
      TD_LOG_INFO("Unloaded servable version {name: %s version: %lld}", src->name, (long long)avail[i]);
    }
  src->serving = v;
}

void td_manager_poll(td_manager *m) {
  for (size_t i = 0; i < m->n; i++) poll_model(m, &m->models[i]);
}

static void *poll_loop(void *arg) {
  td_manager *m = arg;
  pthread_mutex_lock(&m->mu);
  while (!m->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += m->opt.poll_seconds;
    pthread_cond_timedwait(&m->cv, &m->mu, &until);
    if (m->stop) break;
    pthread_mutex_unlock(&m->mu);
    td_manager_poll(m);
    pthread_mutex_lock(&m->mu);
  }
  pthread_mutex_unlock(&m->mu);
  return NULL;
}

td_code td_manager_start(td_manager *m, td_status *st) {
  if (m->opt.poll_seconds >= 0) td_manager_poll(m);
  if (m->opt.poll_seconds > 0) {
    if (pthread_create(&m->thread, NULL, poll_loop, m))
      return td_status_set(st, TD_INTERNAL, "could not start the file system poller");
    m->running = 1;
  }
  return TD_OK;
}

void td_manager_free(td_manager *m) {
  if (!m) return;
  if (m->running) {
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
  }
  for (size_t i = 0; i < m->n; i++) {
    int64_t avail[64];
    int na = td_servables_available(m->servables, m->models[i].name, avail, 64);
    for (int k = 0; k < na; k++) td_servables_retire(m->servables, m->models[i].name, avail[k]);
    free(m->models[i].name);
    free(m->models[i].base_path);
  }
  free(m->models);
  pthread_mutex_destroy(&m->mu);
  pthread_cond_destroy(&m->cv);
  free(m);
}
