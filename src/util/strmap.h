/* strmap.h — a string → void* hash map (open addressing, linear probing).
 *
 * Keys are copied in and owned by the map; values are borrowed (the map never
 * frees them). No deletion (tensord builds maps once and reads them).
 * Not thread-safe: the owner serializes writers; concurrent readers of a map
 * that is no longer written are fine.
 */
#ifndef TD_UTIL_STRMAP_H
#define TD_UTIL_STRMAP_H

#include <stddef.h>

typedef struct td_strmap {
  struct td_strmap_slot *slots;
  size_t cap;   /* power of two, or 0 */
  size_t count;
} td_strmap;

void td_strmap_init(td_strmap *m);
void td_strmap_release(td_strmap *m);
/* Inserts or replaces. */
void td_strmap_put(td_strmap *m, const char *key, void *value);
void td_strmap_putn(td_strmap *m, const char *key, size_t len, void *value);
/* Returns the value or NULL. */
void *td_strmap_get(const td_strmap *m, const char *key);
void *td_strmap_getn(const td_strmap *m, const char *key, size_t len);
/* 1 if present (value may be NULL). */
int td_strmap_has(const td_strmap *m, const char *key);

/* Iteration: for (size_t i = 0; td_strmap_next(m, &i, &k, &v);) ... */
int td_strmap_next(const td_strmap *m, size_t *iter, const char **key, void **value);

#endif
