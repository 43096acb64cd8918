/* table_internal.h — the lookup table resource as table.c (the table, its ops) and
 * table_text_init.c (InitializeTableFromTextFile) share it. Locking rules: see table.c. */
#ifndef TD_ENGINE_KERNELS_TABLE_INTERNAL_H
#define TD_ENGINE_KERNELS_TABLE_INTERNAL_H

#include <pthread.h>

#include "engine/kernel.h"

typedef struct lookup_table {
  td_resource base;
  pthread_rwlock_t lock;
  td_dtype key_dtype, value_dtype;
  int is_mutable;  /* MutableHashTable: usable without initialization, inserts overwrite */
  int initialized;
  size_t count, cap;
  int64_t *int_keys;   /* integer tables */
  td_string *str_keys; /* string tables (owned bytes) */
  char *values;        /* count * vsize; STRING values are owned td_string */
  size_t vsize;
  int64_t *slots;      /* entry index or -1; nslots is a power of two, load <= 1/2 */
  size_t nslots;
} lookup_table;

/* The table behind input 0 (a RESOURCE handle); FAILED_PRECONDITION-style errors otherwise. */
td_code td_table_input(td_kctx *c, lookup_table **out);
/* Initializes t from keys/values with TF's rules (idempotent for identical data). */
td_code td_table_initialize_from(td_kctx *c, lookup_table *t, const td_tensor *keys, const td_tensor *values);

#endif
