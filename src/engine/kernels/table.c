/* table.c — lookup tables: HashTable(V2), MutableHashTable(V2) and the ops that fill and read
 * them (InitializeTable(V2), InitializeTableFromTextFile(V2), LookupTableImportV2,
 * LookupTableInsertV2, LookupTableFind(V2), LookupTableSize(V2), LookupTableExportV2); text
 * files are read by table_text_init.c.
 *
 * A table is a session resource ("table:<container>/<shared_name or node name>") holding an
 * open-addressing hash index over append-only entry arrays. Keys are string, int64 or int32
 * (widened to int64); values are one scalar of int64/int32/float/double/bool/string. TF1 ops
 * (HashTable, LookupTableFind, ...) get the same RESOURCE handle as V2 ops instead of TF's
 * Ref(string) handle.
 *
 * Concurrency: a pthread rwlock per table; finds/size/export take it shared (serving threads
 * never block each other), init/import/insert take it exclusively. Initializable tables follow
 * TF: finds fail until initialized, re-initialization with identical data is a no-op and with
 * different data FAILED_PRECONDITION, a key repeated with a different value is an error.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/table_internal.h"
#include "util/farmhash.h"
#include "util/mem.h"

static const char kTableKind[] = "lookup_table";


/* A key read from a tensor (no copy). */
typedef struct table_key {
  int64_t i;
  const char *p;
  size_t n;
} table_key;

/* ---------------------------------------------------------------- the table itself */

static int is_string_keyed(const lookup_table *t) { return t->key_dtype == TD_DT_STRING; }

static uint64_t key_hash(const lookup_table *t, table_key k) {
  if (is_string_keyed(t)) return td_fingerprint64(k.p, k.n);
  uint64_t x = (uint64_t)k.i + 0x9e3779b97f4a7c15ULL; /* splitmix64 finalizer */
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static int key_equal(const lookup_table *t, size_t e, table_key k) {
  if (!is_string_keyed(t)) return t->int_keys[e] == k.i;
  const td_string *s = &t->str_keys[e];
  return s->len == k.n && (k.n == 0 || memcmp(s->data, k.p, k.n) == 0);
}

static int64_t table_find(const lookup_table *t, table_key k) {
  if (!t->nslots) return -1;
  size_t mask = t->nslots - 1;
  for (size_t s = key_hash(t, k) & mask;; s = (s + 1) & mask) {
    int64_t e = t->slots[s];
    if (e < 0 || key_equal(t, (size_t)e, k)) return e;
  }
}

static table_key entry_key(const lookup_table *t, size_t e) {
  if (is_string_keyed(t)) return (table_key){0, t->str_keys[e].data, t->str_keys[e].len};
  return (table_key){t->int_keys[e], NULL, 0};
}

static void place_slot(lookup_table *t, size_t e) {
  size_t mask = t->nslots - 1;
  size_t s = key_hash(t, entry_key(t, e)) & mask;
  while (t->slots[s] >= 0) s = (s + 1) & mask;
  t->slots[s] = (int64_t)e;
}

static void rehash(lookup_table *t, size_t nslots) {
  free(t->slots);
  t->nslots = nslots;
  t->slots = td_xmalloc(nslots * sizeof *t->slots);
  for (size_t s = 0; s < nslots; s++) t->slots[s] = -1;
  for (size_t e = 0; e < t->count; e++) place_slot(t, e);
}

static void free_value(lookup_table *t, size_t e) {
  if (t->value_dtype == TD_DT_STRING) free(((td_string *)t->values)[e].data);
}

static void set_value(lookup_table *t, size_t e, const td_tensor *v, int64_t i) {
  if (t->value_dtype == TD_DT_STRING) {
    td_string s = td_str(v)[i];
    td_string *dst = &((td_string *)t->values)[e];
    dst->data = td_xmalloc(s.len + 1);
    if (s.len) memcpy(dst->data, s.data, s.len);
    dst->data[s.len] = 0;
    dst->len = s.len;
  } else {
    memcpy(t->values + e * t->vsize, (const char *)v->data + (size_t)i * t->vsize, t->vsize);
  }
}

static int value_equal(const lookup_table *t, size_t e, const td_tensor *v, int64_t i) {
  if (t->value_dtype == TD_DT_STRING) {
    const td_string *a = &((const td_string *)t->values)[e];
    td_string b = td_str(v)[i];
    return a->len == b.len && (b.len == 0 || memcmp(a->data, b.data, b.len) == 0);
  }
  return memcmp(t->values + e * t->vsize, (const char *)v->data + (size_t)i * t->vsize, t->vsize) == 0;
}

static void append_entry(lookup_table *t, table_key k, const td_tensor *v, int64_t i) {
  if (t->count == t->cap) {
    size_t cap = t->cap;
    if (is_string_keyed(t)) TD_GROW(t->str_keys, cap, t->count + 1);
    else TD_GROW(t->int_keys, cap, t->count + 1);
    t->values = td_xrealloc(t->values, cap * t->vsize);
    t->cap = cap;
  }
  size_t e = t->count++;
  if (is_string_keyed(t)) {
    t->str_keys[e].data = td_xmalloc(k.n + 1);
    if (k.n) memcpy(t->str_keys[e].data, k.p, k.n);
    t->str_keys[e].data[k.n] = 0;
    t->str_keys[e].len = k.n;
  } else {
    t->int_keys[e] = k.i;
  }
  set_value(t, e, v, i);
  if (t->count * 2 > t->nslots) rehash(t, t->nslots ? t->nslots * 2 : 16);
  else place_slot(t, e);
}

static void table_clear(lookup_table *t) {
  for (size_t e = 0; e < t->count; e++) {
    if (is_string_keyed(t)) free(t->str_keys[e].data);
    free_value(t, e);
  }
  t->count = 0;
  for (size_t s = 0; s < t->nslots; s++) t->slots[s] = -1;
}

static void table_destroy(td_resource *r) {
  lookup_table *t = (lookup_table *)r;
  table_clear(t);
  free(t->int_keys);
  free(t->str_keys);
  free(t->values);
  free(t->slots);
  pthread_rwlock_destroy(&t->lock);
  free(t);
}

/* ---------------------------------------------------------------- tensor ↔ table helpers */

static int key_dtype_ok(td_dtype dt) { return dt == TD_DT_STRING || dt == TD_DT_INT64 || dt == TD_DT_INT32; }

static int value_dtype_ok(td_dtype dt) {
  return dt == TD_DT_STRING || dt == TD_DT_INT64 || dt == TD_DT_INT32 || dt == TD_DT_FLOAT ||
         dt == TD_DT_DOUBLE || dt == TD_DT_BOOL;
}

static table_key tensor_key(const td_tensor *k, int64_t i) {
  switch (k->dtype) {
    case TD_DT_STRING: {
      td_string s = td_str(k)[i];
      return (table_key){0, s.data ? s.data : "", s.len};
    }
    case TD_DT_INT32: return (table_key){td_i32(k)[i], NULL, 0};
    default: return (table_key){td_i64(k)[i], NULL, 0};
  }
}

/* Text of a key or value for error messages. */
static void key_text(table_key k, int is_string, char *buf, size_t n) {
  if (is_string) snprintf(buf, n, "%.*s", (int)(k.n > 200 ? 200 : k.n), k.p);
  else snprintf(buf, n, "%" PRId64, k.i);
}

static void value_text(td_dtype dt, const void *p, char *buf, size_t n) {
  switch (dt) {
    case TD_DT_STRING: {
      const td_string *s = p;
      snprintf(buf, n, "%.*s", (int)(s->len > 200 ? 200 : s->len), s->data ? s->data : "");
      break;
    }
    case TD_DT_INT64: snprintf(buf, n, "%" PRId64, *(const int64_t *)p); break;
    case TD_DT_INT32: snprintf(buf, n, "%" PRId32, *(const int32_t *)p); break;
    case TD_DT_FLOAT: snprintf(buf, n, "%g", *(const float *)p); break;
    case TD_DT_DOUBLE: snprintf(buf, n, "%g", *(const double *)p); break;
    case TD_DT_BOOL: snprintf(buf, n, "%d", *(const uint8_t *)p); break;
    default: snprintf(buf, n, "?"); break;
  }
}

/* Inserts keys[i] → values[i]. overwrite: later values win (mutable/import); otherwise a key
 * already present with a different value fails like TF's HashTable::DoInsert. */
static td_code insert_all(td_kctx *c, lookup_table *t, const td_tensor *keys, const td_tensor *values,
                          int overwrite) {
  int64_t n = td_tensor_num_elements(keys);
  for (int64_t i = 0; i < n; i++) {
    table_key k = tensor_key(keys, i);
    int64_t e = table_find(t, k);
    if (e < 0) {
      append_entry(t, k, values, i);
    } else if (overwrite) {
      free_value(t, (size_t)e);
      set_value(t, (size_t)e, values, i);
    } else if (!value_equal(t, (size_t)e, values, i)) {
      char kt[256], old[256], new_[256];
      key_text(k, is_string_keyed(t), kt, sizeof kt);
      value_text(t->value_dtype, t->values + (size_t)e * t->vsize, old, sizeof old);
      value_text(t->value_dtype, (const char *)values->data + (size_t)i * t->vsize, new_, sizeof new_);
      return td_k_fail(c, TD_FAILED_PRECONDITION,
                       "HashTable has different value for same key. Key %s has %s and trying to add value %s", kt,
                       old, new_);
    }
  }
  return TD_OK;
}

static int entries_same(const lookup_table *t, const td_tensor *keys, const td_tensor *values) {
  int64_t n = td_tensor_num_elements(keys);
  if ((size_t)n != t->count) return 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t e = table_find(t, tensor_key(keys, i));
    if (e < 0 || !value_equal(t, (size_t)e, values, i)) return 0;
  }
  return 1;
}

static td_code check_key_value_types(td_kctx *c, const lookup_table *t, td_dtype kdt, td_dtype vdt) {
  if (kdt != t->key_dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Key must be type %s but got %s", td_dtype_name(t->key_dtype),
                     td_dtype_name(kdt));
  if (vdt != t->value_dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Value must be type %s but got %s", td_dtype_name(t->value_dtype),
                     td_dtype_name(vdt));
  return TD_OK;
}

static td_code check_insert_args(td_kctx *c, const lookup_table *t, const td_tensor *keys, const td_tensor *values) {
  char a[64], b[64];
  TD_TRY(check_key_value_types(c, t, keys->dtype, values->dtype));
  if (!td_shape_equal(&keys->shape, &values->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected shape %s for value, got %s",
                     td_shape_str(&keys->shape, a, sizeof a), td_shape_str(&values->shape, b, sizeof b));
  return TD_OK;
}

/* Initializes from keys/values (TF's InitializableLookupTable::Initialize). */
td_code td_table_initialize_from(td_kctx *c, lookup_table *t, const td_tensor *keys, const td_tensor *values) {
  TD_TRY(check_insert_args(c, t, keys, values));
  pthread_rwlock_wrlock(&t->lock);
  td_code rc = TD_OK;
  if (t->initialized) {
    if (!entries_same(t, keys, values))
      rc = td_k_fail(c, TD_FAILED_PRECONDITION, "Table was already initialized with different data.");
  } else {
    rc = insert_all(c, t, keys, values, 0);
    if (rc == TD_OK) t->initialized = 1;
    else table_clear(t);
  }
  pthread_rwlock_unlock(&t->lock);
  return rc;
}

/* ---------------------------------------------------------------- handles */

typedef struct table_spec {
  td_dtype key_dtype, value_dtype;
  int is_mutable;
} table_spec;

static td_code create_table(void *arg, td_resource **out, td_status *st) {
  const table_spec *spec = arg;
  lookup_table *t = td_xcalloc(1, sizeof *t);
  atomic_init(&t->base.refs, 1);
  t->base.kind = kTableKind;
  t->base.destroy = table_destroy;
  pthread_rwlock_init(&t->lock, NULL);
  t->key_dtype = spec->key_dtype;
  t->value_dtype = spec->value_dtype;
  t->is_mutable = spec->is_mutable;
  t->initialized = spec->is_mutable;
  t->vsize = td_dtype_size(spec->value_dtype);
  *out = &t->base;
  return TD_OK;
}

static td_code table_handle_op(td_kctx *c, int is_mutable) {
  const td_node *n = td_k_node(c);
  table_spec spec = {td_attr_type(n, "key_dtype", TD_DT_INVALID), td_attr_type(n, "value_dtype", TD_DT_INVALID),
                     is_mutable};
  if (!key_dtype_ok(spec.key_dtype) || !value_dtype_ok(spec.value_dtype))
    return td_k_fail(c, TD_UNIMPLEMENTED, "Lookup table with key %s and value %s is not supported",
                     td_dtype_name(spec.key_dtype), td_dtype_name(spec.value_dtype));
  size_t clen = 0, slen = 0;
  const char *container = td_attr_str(n, "container", &clen);
  const char *shared = td_attr_str(n, "shared_name", &slen);
  char *key;
  if (shared && slen)
    key = td_xasprintf("table:%.*s/%.*s", (int)clen, container ? container : "", (int)slen, shared);
  else if (td_attr_bool(n, "use_node_name_sharing", false))
    key = td_xasprintf("table:%.*s/%s", (int)clen, container ? container : "", td_node_name(n));
  else /* TF gives such a table a private name per kernel: the node name plus a marker */
    key = td_xasprintf("table:%.*s/%s/_private", (int)clen, container ? container : "", td_node_name(n));
  td_resource *r;
  td_code rc = td_k_resource(c, key, create_table, &spec, &r);
  free(key);
  TD_TRY(rc);
  lookup_table *t = (lookup_table *)r;
  if (t->key_dtype != spec.key_dtype || t->value_dtype != spec.value_dtype || t->is_mutable != is_mutable)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Table %s already exists with key %s and value %s; requested key %s and value %s", r->name,
                     td_dtype_name(t->key_dtype), td_dtype_name(t->value_dtype), td_dtype_name(spec.key_dtype),
                     td_dtype_name(spec.value_dtype));
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_RESOURCE, &scalar, &out));
  td_tensor_set_resource(out, 0, r);
  return TD_OK;
}

td_code td_k_table_hash_table(td_kctx *c) { return table_handle_op(c, 0); }
td_code td_k_table_mutable_hash_table(td_kctx *c) { return table_handle_op(c, 1); }

td_code td_table_input(td_kctx *c, lookup_table **out) {
  const td_tensor *h = td_k_input(c, 0);
  if (h->dtype != TD_DT_RESOURCE || td_tensor_num_elements(h) != 1 || !td_res(h)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: table_handle is not a lookup table handle", td_node_op(td_k_node(c)));
  td_resource *r = td_res(h)[0];
  if (r->kind != kTableKind && strcmp(r->kind, kTableKind))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a lookup table", r->name, r->kind);
  *out = (lookup_table *)r;
  return TD_OK;
}

/* ---------------------------------------------------------------- ops */

td_code td_k_table_find(td_kctx *c) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  const td_tensor *keys = td_k_input(c, 1), *dflt = td_k_input(c, 2);
  char a[64], b[64];
  TD_TRY(check_key_value_types(c, t, keys->dtype, dflt->dtype));
  int per_key_default = dflt->shape.rank != 0;
  if (per_key_default && !td_shape_equal(&dflt->shape, &keys->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected shape [] or %s for default value, got %s",
                     td_shape_str(&keys->shape, a, sizeof a), td_shape_str(&dflt->shape, b, sizeof b));
  td_tensor owned = {0}, *out;
  if (t->value_dtype == TD_DT_STRING) {
    td_status st;
    if (td_tensor_alloc(&owned, TD_DT_STRING, &keys->shape, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
    out = &owned;
  } else {
    TD_TRY(td_k_alloc_output(c, 0, t->value_dtype, &keys->shape, &out));
  }
  int64_t n = td_tensor_num_elements(keys);
  td_code rc = TD_OK;
  pthread_rwlock_rdlock(&t->lock);
  if (!t->initialized) {
    rc = td_k_fail(c, TD_FAILED_PRECONDITION, "Table not initialized.");
  } else if (t->value_dtype == TD_DT_STRING) {
    const td_string *vals = (const td_string *)t->values;
    for (int64_t i = 0; i < n; i++) {
      int64_t e = table_find(t, tensor_key(keys, i));
      td_string s = e >= 0 ? vals[e] : td_str(dflt)[per_key_default ? i : 0];
      td_tensor_set_string(out, i, s.data, s.len);
    }
  } else {
    size_t vs = t->vsize;
    for (int64_t i = 0; i < n; i++) {
      int64_t e = table_find(t, tensor_key(keys, i));
      const char *src = e >= 0 ? t->values + (size_t)e * vs : (const char *)dflt->data + (per_key_default ? (size_t)i * vs : 0);
      memcpy((char *)out->data + (size_t)i * vs, src, vs);
    }
  }
  pthread_rwlock_unlock(&t->lock);
  if (owned.dtype == TD_DT_STRING) {
    if (rc == TD_OK) td_k_set_output(c, 0, &owned);
    td_tensor_release(&owned);
  }
  return rc;
}

td_code td_k_table_size(td_kctx *c) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  td_tensor *out;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT64, &scalar, &out));
  pthread_rwlock_rdlock(&t->lock);
  td_i64(out)[0] = t->initialized ? (int64_t)t->count : 0;
  pthread_rwlock_unlock(&t->lock);
  return TD_OK;
}

td_code td_k_table_initialize(td_kctx *c) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  const td_tensor *keys = td_k_input(c, 1), *values = td_k_input(c, 2);
  char a[64];
  if (keys->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Keys must be a vector, but received shape%s",
                     td_shape_str(&keys->shape, a, sizeof a));
  return td_table_initialize_from(c, t, keys, values);
}

/* Import (restore) and insert replace values of existing keys; import also drops old entries. */
static td_code write_entries(td_kctx *c, int replace_all) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  const td_tensor *keys = td_k_input(c, 1), *values = td_k_input(c, 2);
  TD_TRY(check_insert_args(c, t, keys, values));
  pthread_rwlock_wrlock(&t->lock);
  if (replace_all) table_clear(t);
  td_code rc = insert_all(c, t, keys, values, 1);
  t->initialized = 1;
  pthread_rwlock_unlock(&t->lock);
  return rc;
}

td_code td_k_table_import(td_kctx *c) { return write_entries(c, 1); }
td_code td_k_table_insert(td_kctx *c) { return write_entries(c, 0); }

td_code td_k_table_export(td_kctx *c) {
  lookup_table *t;
  TD_TRY(td_table_input(c, &t));
  td_status st;
  pthread_rwlock_rdlock(&t->lock);
  td_shape shape = td_shape_vector((int64_t)t->count);
  td_tensor keys, values;
  td_code rc = td_tensor_alloc(&keys, t->key_dtype, &shape, &st);
  if (rc == TD_OK && (rc = td_tensor_alloc(&values, t->value_dtype, &shape, &st)) != TD_OK) td_tensor_release(&keys);
  if (rc == TD_OK) {
    for (size_t e = 0; e < t->count; e++) {
      if (t->key_dtype == TD_DT_STRING) td_tensor_set_string(&keys, (int64_t)e, t->str_keys[e].data, t->str_keys[e].len);
      else if (t->key_dtype == TD_DT_INT32) td_i32(&keys)[e] = (int32_t)t->int_keys[e];
      else td_i64(&keys)[e] = t->int_keys[e];
      if (t->value_dtype == TD_DT_STRING) {
        const td_string *s = &((const td_string *)t->values)[e];
        td_tensor_set_string(&values, (int64_t)e, s->data, s->len);
      } else {
        memcpy((char *)values.data + e * t->vsize, t->values + e * t->vsize, t->vsize);
      }
    }
  }
  pthread_rwlock_unlock(&t->lock);
  if (rc != TD_OK) return td_k_fail(c, rc, "%s", st.msg);
  td_k_set_output(c, 0, &keys);
  td_k_set_output(c, 1, &values);
  td_tensor_release(&keys);
  td_tensor_release(&values);
  return TD_OK;
}
