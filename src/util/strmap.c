/* strmap.c — open-addressing string map (FNV-1a hash, load factor <= 1/2). */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

struct td_strmap_slot {
  char *key; /* NULL = empty */
  size_t len;
  uint64_t hash;
  void *value;
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

void td_strmap_init(td_strmap *m) { memset(m, 0, sizeof *m); }

void td_strmap_release(td_strmap *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
  free(m->slots);
  memset(m, 0, sizeof *m);
}

static struct td_strmap_slot *find(const td_strmap *m, const char *key, size_t len, uint64_t h) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    struct td_strmap_slot *s = &m->slots[i];
    if (!s->key) return s;
    if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s;
  }
}

static void rehash(td_strmap *m) {
  size_t oldcap = m->cap;
  struct td_strmap_slot *old = m->slots;
  m->cap = oldcap ? oldcap * 2 : 16;
  m->slots = td_xcalloc(m->cap, sizeof *m->slots);
  for (size_t i = 0; i < oldcap; i++) {
    if (!old[i].key) continue;
    struct td_strmap_slot *s = find(m, old[i].key, old[i].len, old[i].hash);
    *s = old[i];
  }
  free(old);
}

void td_strmap_putn(td_strmap *m, const char *key, size_t len, void *value) {
  if ((m->count + 1) * 2 > m->cap) rehash(m);
  uint64_t h = hash_bytes(key, len);
  struct td_strmap_slot *s = find(m, key, len, h);
  if (!s->key) {
    s->key = td_xstrndup(key, len);
    s->len = len;
    s->hash = h;
    m->count++;
  }
  s->value = value;
}

void td_strmap_put(td_strmap *m, const char *key, void *value) {
  td_strmap_putn(m, key, strlen(key), value);
}

void *td_strmap_getn(const td_strmap *m, const char *key, size_t len) {
  struct td_strmap_slot *s = find(m, key, len, hash_bytes(key, len));
  return s && s->key ? s->value : NULL;
}

void *td_strmap_get(const td_strmap *m, const char *key) {
  return td_strmap_getn(m, key, strlen(key));
}

int td_strmap_has(const td_strmap *m, const char *key) {
  size_t len = strlen(key);
  struct td_strmap_slot *s = find(m, key, len, hash_bytes(key, len));
  return s && s->key;
}

int td_strmap_next(const td_strmap *m, size_t *iter, const char **key, void **value) {
  while (*iter < m->cap) {
    struct td_strmap_slot *s = &m->slots[(*iter)++];
    if (s->key) {
      if (key) *key = s->key;
      if (value) *value = s->value;
      return 1;
    }
  }
  return 0;
}
