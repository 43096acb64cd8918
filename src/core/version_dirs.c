/* version_dirs.c — version directory listing and version policies (see version_dirs.h).
 * Invariant: listed arrays are sorted ascending by version with unique versions. */
#include "core/version_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

/* The whole name as a non-negative int64 (digits only), or -1. */
static int64_t parse_version(const char *s) {
  if (!*s) return -1;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return -1;
  errno = 0;
  long long v = strtoll(s, NULL, 10);
  return errno ? -1 : (int64_t)v;
}

/* Mixes size and mtime of dir/rel (if it exists) into *h. Returns 1 if it exists. */
static int mix_stat(const char *dir, const char *rel, uint64_t *h) {
  char *p = rel ? td_path_join(dir, rel) : td_xstrdup(dir);
  struct stat sb;
  int ok = stat(p, &sb) == 0;
  free(p);
  uint64_t parts[3] = {ok ? (uint64_t)sb.st_size : 0, ok ? (uint64_t)sb.st_mtim.tv_sec : 0,
                       ok ? (uint64_t)sb.st_mtim.tv_nsec : 0};
  for (int i = 0; i < 3; i++) *h = (*h ^ parts[i]) * 1099511628211ull; /* FNV-1a style */
  return ok;
}

/* Newest mtime (seconds) of path, or 0. */
static time_t mtime_of(const char *dir, const char *rel) {
  char *p = rel ? td_path_join(dir, rel) : td_xstrdup(dir);
  struct stat sb;
  time_t t = stat(p, &sb) == 0 ? sb.st_mtim.tv_sec : 0;
  free(p);
  return t;
}

/* Mixes name, size and mtime of every entry under dir (depth-first, at most *budget entries,
 * MAX_TREE_DEPTH levels) into *h: any file of the version changing changes the signature. */
#define MAX_TREE_DEPTH 8
static void mix_tree(const char *dir, int depth, int *budget, uint64_t *h) {
  DIR *d = opendir(dir);
  if (!d) return;
  for (struct dirent *e; *budget > 0 && (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    (*budget)--;
    for (const char *c = e->d_name; *c; c++) *h = (*h ^ (uint8_t)*c) * 1099511628211ull;
    char *p = td_path_join(dir, e->d_name);
    struct stat sb;
    if (lstat(p, &sb) == 0) {
      uint64_t parts[3] = {(uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec, (uint64_t)sb.st_mtim.tv_nsec};
      for (int i = 0; i < 3; i++) *h = (*h ^ parts[i]) * 1099511628211ull;
      if (S_ISDIR(sb.st_mode) && depth < MAX_TREE_DEPTH) mix_tree(p, depth + 1, budget, h);
    }
    free(p);
  }
  closedir(d);
}

static void describe(td_version_dir *d) {
  uint64_t h = 14695981039346656037ull;
  mix_stat(d->path, NULL, &h);
  int pb = mix_stat(d->path, "saved_model.pb", &h);
  int pbtxt = mix_stat(d->path, "saved_model.pbtxt", &h);
  int tflite = mix_stat(d->path, "model.tflite", &h); /* --prefer_tflite_model versions */
  mix_stat(d->path, "variables", &h);
  mix_stat(d->path, "variables/variables.index", &h);
  int budget = 4096; /* entries; readdir order is stable while nothing changes */
  mix_tree(d->path, 0, &budget, &h);
  time_t touched = mtime_of(d->path, NULL), vars = mtime_of(d->path, "variables");
  if (vars > touched) touched = vars;
  d->complete = pb || pbtxt || tflite || time(NULL) - touched >= TD_VERSION_DIR_SETTLE_SECONDS;
  d->signature = h;
}

static int cmp_version(const void *a, const void *b) {
  int64_t x = ((const td_version_dir *)a)->version, y = ((const td_version_dir *)b)->version;
  return x < y ? -1 : x > y;
}

td_code td_version_dirs_list(const char *base, td_version_dir **out, size_t *n, td_status *st) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(base);
  if (!d) return td_status_set(st, TD_NOT_FOUND, "Could not find base path %s", base);
  td_version_dir *dirs = NULL;
  size_t count = 0, cap = 0;
  for (struct dirent *e; (e = readdir(d));) {
    int64_t v = parse_version(e->d_name);
    if (v < 0) continue;
    char *path = td_path_join(base, e->d_name);
    if (!td_is_dir(path)) {
      free(path);
      continue;
    }
    TD_GROW(dirs, cap, count + 1);
    dirs[count] = (td_version_dir){.version = v, .path = path};
    describe(&dirs[count++]);
  }
  closedir(d);
  if (count) qsort(dirs, count, sizeof *dirs, cmp_version);
  size_t w = 0; /* one entry per version: the last listed wins */
  for (size_t i = 0; i < count; i++) {
    if (w && dirs[w - 1].version == dirs[i].version) {
      TD_LOG_WARN("Multiple directories for version %lld under %s; using %s", (long long)dirs[i].version, base,
                  dirs[i].path);
      free(dirs[w - 1].path);
      dirs[w - 1] = dirs[i];
      continue;
    }
    dirs[w++] = dirs[i];
  }
  *out = dirs;
  *n = w;
  return TD_OK;
}

void td_version_dirs_free(td_version_dir *dirs, size_t n) {
  for (size_t i = 0; i < n; i++) free(dirs[i].path);
  free(dirs);
}

const td_version_dir *td_version_dirs_find(const td_version_dir *dirs, size_t n, int64_t version) {
  for (size_t i = 0; i < n; i++)
    if (dirs[i].version == version) return &dirs[i];
  return NULL;
}

static int listed(const td_model_config *c, int64_t v) {
  for (size_t i = 0; i < c->nversions; i++)
    if (c->versions[i] == v) return 1;
  return 0;
}

size_t td_aspired_versions(const td_model_config *c, const td_version_dir *dirs, size_t n, int64_t *out) {
  size_t limit = c->policy == TD_POLICY_LATEST ? (c->num_versions ? c->num_versions : 1) : n;
  size_t k = 0;
  for (size_t i = n; i-- > 0 && k < limit;) {
    if (!dirs[i].complete) continue;
    if (c->policy == TD_POLICY_SPECIFIC && !listed(c, dirs[i].version)) continue;
    out[k++] = dirs[i].version;
  }
  return k;
}
