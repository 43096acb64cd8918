/* bundle.c — TensorBundle reader: the index table, lazily opened data shards, tensor decoding,
 * RestoreV2 slices (specs parsed and applied by bundle_slice.c), and the prefix-keyed bundle
 * cache.
 *
 * Weights without copies: each data shard is also mapped read-only once (bundle_map.c), and a
 * numeric entry whose bytes are aligned for its dtype becomes a tensor viewing the mapping (no
 * read, no anonymous memory; pages come from the page cache on first touch and are shared with
 * every process and version that maps the same file). Strings (a length-prefixed layout that
 * must be decoded) and misaligned entries are read with pread into heap tensors. Variables
 * never write into a value (td_variable_assign swaps in a new tensor), so the mapping stays
 * clean. Environment switches, read at td_bundle_open: TD_CHECKPOINT_MMAP=0 reads and copies
 * everything as before; TD_CHECKPOINT_VERIFY=0 skips the crc32c check of mapped entries (it
 * reads every byte of the weights, with pread through a small buffer so that the mapping's
 * pages are not touched; TF always checks, and so does tensord by default).
 *
 * Invariants: entries[] is sorted strictly by key bytes (the sstable scan rejects anything
 * else) and immutable after open; a shard's fd/size/map are written once under `mu`; no read
 * ever touches bytes outside [offset, offset+size) of a data file whose size was checked first,
 * and every tensor handed out passed its crc32c check (mapped ones unless verify is off).
 */
#include "model/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/bundle_map.h"
#include "model/bundle_slice.h"
#include "model/sstable.h"
#include "util/crc32c.h"
#include "util/file.h"
#include "util/mem.h"
#include "util/strmap.h"

#define BUNDLE_VERSION 1     /* kTensorBundleVersion */
#define BUNDLE_MAX_SHARDS 100000

typedef struct bundle_entry {
  char *key; /* NUL-terminated copy */
  size_t key_len;
  Tensorflow__BundleEntryProto *proto;
} bundle_entry;

typedef struct shard_file {
  int fd; /* -1 until opened */
  int64_t size;
  td_shard_map *map; /* the bundle's reference; NULL when mapping is off, failed or size is 0 */
} shard_file;

struct td_bundle {
  char *prefix;
  char *index_path;
  int num_shards;
  bundle_entry *entries;
  size_t num_entries, entries_cap;
  int have_header;
  pthread_mutex_t mu; /* guards shards[].fd / size / map on first open */
  shard_file *shards;
  int map_data, verify_mapped; /* TD_CHECKPOINT_MMAP / TD_CHECKPOINT_VERIFY at open */
  atomic_llong mapped_bytes, copied_bytes;
};

/* ---- open: index table ---- */

static td_code check_header(td_bundle *b, const uint8_t *value, size_t len, td_status *st) {
  Tensorflow__BundleHeaderProto *h = tensorflow__bundle_header_proto__unpack(NULL, len, value);
  if (!h) return td_status_set(st, TD_DATA_LOSS, "%s: cannot parse the BundleHeaderProto", b->index_path);
  td_code rc = TD_OK;
  const Tensorflow__VersionDef *v = h->version;
  if (h->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE) {
    rc = td_status_set(st, TD_UNIMPLEMENTED,
                       "%s: reading a big-endian checkpoint is not implemented (only little-endian "
                       "TensorBundles are supported)",
                       b->index_path);
  } else if (h->num_shards <= 0 || h->num_shards > BUNDLE_MAX_SHARDS) {
    rc = td_status_set(st, TD_DATA_LOSS, "%s: invalid num_shards %d in the bundle header", b->index_path,
                       (int)h->num_shards);
  } else if (v && v->min_consumer > BUNDLE_VERSION) {
    rc = td_status_set(st, TD_INVALID_ARGUMENT,
                       "%s: checkpoint min consumer version %d above current version %d for checkpoint",
                       b->index_path, (int)v->min_consumer, BUNDLE_VERSION);
  } else if (v && v->producer < 0) {
    rc = td_status_set(st, TD_INVALID_ARGUMENT, "%s: checkpoint producer version %d below min producer 0",
                       b->index_path, (int)v->producer);
  } else {
    for (size_t i = 0; v && i < v->n_bad_consumers; i++)
      if (v->bad_consumers[i] == BUNDLE_VERSION)
        rc = td_status_set(st, TD_INVALID_ARGUMENT, "%s: checkpoint disallows consumer version %d",
                           b->index_path, BUNDLE_VERSION);
  }
  if (rc == TD_OK) {
    b->num_shards = h->num_shards;
    b->have_header = 1;
  }
  tensorflow__bundle_header_proto__free_unpacked(h, NULL);
  return rc;
}

static td_code visit_index_entry(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                                 size_t value_len, td_status *st) {
  td_bundle *b = arg;
  if (key_len == 0) return check_header(b, value, value_len, st);
  if (!b->have_header)
    return td_status_set(st, TD_DATA_LOSS, "%s: the bundle header entry (empty key) is missing", b->index_path);
  Tensorflow__BundleEntryProto *e = tensorflow__bundle_entry_proto__unpack(NULL, value_len, value);
  if (!e)
    return td_status_set(st, TD_DATA_LOSS, "%s: cannot parse the BundleEntryProto of key '%.*s'",
                         b->index_path, (int)key_len, (const char *)key);
  TD_GROW(b->entries, b->entries_cap, b->num_entries + 1);
  bundle_entry *be = &b->entries[b->num_entries++];
  be->key = td_xstrndup((const char *)key, key_len);
  be->key_len = key_len;
  be->proto = e;
  return TD_OK;
}

td_code td_bundle_open(const char *prefix, td_bundle **out, td_status *st) {
  *out = NULL;
  td_bundle *b = td_xcalloc(1, sizeof *b);
  b->prefix = td_xstrdup(prefix);
  b->index_path = td_xasprintf("%s.index", prefix);
  pthread_mutex_init(&b->mu, NULL);
  b->map_data = td_bundle_env_flag("TD_CHECKPOINT_MMAP", 1);
  b->verify_mapped = td_bundle_env_flag("TD_CHECKPOINT_VERIFY", 1);
  atomic_init(&b->mapped_bytes, 0);
  atomic_init(&b->copied_bytes, 0);
  char *data = NULL;
  size_t len = 0;
  td_code rc = td_read_file(b->index_path, &data, &len, st);
  if (rc == TD_OK) rc = td_sstable_scan(b->index_path, (const uint8_t *)data, len, visit_index_entry, b, st);
  free(data);
  if (rc == TD_OK && !b->have_header)
    rc = td_status_set(st, TD_DATA_LOSS, "%s: the bundle header entry (empty key) is missing", b->index_path);
  if (rc != TD_OK) {
    td_bundle_close(b);
    return rc;
  }
  b->shards = td_xmalloc((size_t)b->num_shards * sizeof *b->shards);
  for (int i = 0; i < b->num_shards; i++) b->shards[i] = (shard_file){.fd = -1, .size = 0, .map = NULL};
  *out = b;
  return TD_OK;
}

void td_bundle_close(td_bundle *b) {
  if (!b) return;
  for (size_t i = 0; i < b->num_entries; i++) {
    free(b->entries[i].key);
    tensorflow__bundle_entry_proto__free_unpacked(b->entries[i].proto, NULL);
  }
  free(b->entries);
  for (int i = 0; b->shards && i < b->num_shards; i++) {
    if (b->shards[i].fd >= 0) close(b->shards[i].fd);
    td_shard_map_unref(b->shards[i].map); /* tensors viewing it keep it alive */
  }
  free(b->shards);
  pthread_mutex_destroy(&b->mu);
  free(b->prefix);
  free(b->index_path);
  free(b);
}

const char *td_bundle_prefix(const td_bundle *b) { return b->prefix; }
void td_bundle_stats(const td_bundle *b, int64_t *mapped_bytes, int64_t *copied_bytes) {
  *mapped_bytes = atomic_load(&b->mapped_bytes);
  *copied_bytes = atomic_load(&b->copied_bytes);
}
int td_bundle_num_shards(const td_bundle *b) { return b->num_shards; }
int td_bundle_num_entries(const td_bundle *b) { return (int)b->num_entries; }
const char *td_bundle_key(const td_bundle *b, int i) {
  return i >= 0 && (size_t)i < b->num_entries ? b->entries[i].key : NULL;
}

const Tensorflow__BundleEntryProto *td_bundle_entry(const td_bundle *b, const char *key) {
  size_t klen = strlen(key), lo = 0, hi = b->num_entries;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const bundle_entry *e = &b->entries[mid];
    size_t n = e->key_len < klen ? e->key_len : klen;
    int c = n ? memcmp(e->key, key, n) : 0;
    if (!c) c = e->key_len < klen ? -1 : e->key_len > klen;
    if (c == 0) return e->proto;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* ---- data shards ---- */

static td_code shard_get(td_bundle *b, int shard, shard_file *out, td_status *st) {
  if (shard < 0 || shard >= b->num_shards)
    return td_status_set(st, TD_DATA_LOSS, "%s: entry refers to shard %d but the bundle has %d shard(s)",
                         b->index_path, shard, b->num_shards);
  td_code rc = TD_OK;
  pthread_mutex_lock(&b->mu);
  shard_file *sf = &b->shards[shard];
  if (sf->fd < 0) {
    char *path = td_xasprintf("%s.data-%05d-of-%05d", b->prefix, shard, b->num_shards);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0) {
      rc = td_status_set(st, errno == ENOENT ? TD_NOT_FOUND : TD_PERMISSION_DENIED, "%s: %s", path,
                         strerror(errno));
    } else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      close(fd);
      rc = td_status_set(st, TD_FAILED_PRECONDITION, "%s: not a regular file", path);
    } else {
      sf->fd = fd;
      sf->size = (int64_t)sb.st_size;
      if (b->map_data && (uint64_t)sb.st_size <= SIZE_MAX) sf->map = td_shard_map_new(fd, (size_t)sb.st_size);
    }
    free(path);
  }
  *out = *sf;
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static td_code pread_full(const td_bundle *b, int shard, int fd, void *dst, size_t n, int64_t off,
                          td_status *st) {
  uint8_t *p = dst;
  while (n > 0) {
    ssize_t got = pread(fd, p, n, (off_t)off);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0)
      return td_status_set(st, TD_DATA_LOSS, "%s.data-%05d-of-%05d: %s at offset %" PRId64, b->prefix, shard,
                           b->num_shards, got < 0 ? strerror(errno) : "unexpected end of file", off);
    p += got;
    n -= (size_t)got;
    off += got;
  }
  return TD_OK;
}

/* ---- decoding one entry ---- */

static td_code entry_shape(const td_bundle *b, const char *key, const Tensorflow__BundleEntryProto *e,
                           td_shape *shape, int64_t *nelem, td_status *st) {
  const Tensorflow__TensorShapeProto *sp = e->shape;
  memset(shape, 0, sizeof *shape);
  *nelem = 1;
  if (!sp) return TD_OK; /* absent message = scalar */
  if (sp->unknown_rank)
    return td_status_set(st, TD_DATA_LOSS, "%s: entry '%s' has a shape of unknown rank", b->index_path, key);
  if (sp->n_dim > TD_MAX_RANK)
    return td_status_set(st, TD_UNIMPLEMENTED, "%s: entry '%s' has rank %zu; at most %d is supported",
                         b->index_path, key, sp->n_dim, TD_MAX_RANK);
  shape->rank = (int)sp->n_dim;
  for (size_t i = 0; i < sp->n_dim; i++) {
    int64_t d = sp->dim[i]->size;
    if (d < 0)
      return td_status_set(st, TD_DATA_LOSS, "%s: entry '%s' has a negative dimension %" PRId64, b->index_path,
                           key, d);
    if (d && *nelem > INT64_MAX / d)
      return td_status_set(st, TD_DATA_LOSS, "%s: entry '%s' has an impossibly large shape", b->index_path, key);
    shape->dim[i] = d;
    *nelem *= d;
  }
  return TD_OK;
}

static td_code check_crc(const td_bundle *b, const char *key, const Tensorflow__BundleEntryProto *e,
                         uint32_t actual, td_status *st) {
  uint32_t stored = td_crc32c_unmask(e->crc32c);
  if (stored == actual) return TD_OK;
  return td_status_set(st, TD_DATA_LOSS,
                       "TensorBundle at %s shard %d (%" PRId64 " bytes): Checksum does not match: stored %08u vs. "
                       "calculated on the restored bytes %u (key %s)",
                       b->prefix, (int)e->shard_id, e->size, stored, actual, key);
}

/* DT_STRING layout: varint64 len[n] · masked crc32c of the lengths (each hashed as uint32 LE, or
 * uint64 LE if > UINT32_MAX) · string bytes. The entry crc covers lengths (as hashed), the 4 raw
 * checksum bytes and the string bytes. */
static td_code decode_strings(const td_bundle *b, const char *key, const uint8_t *buf, size_t size, td_tensor *t,
                              int64_t n, uint32_t *crc, td_status *st) {
  *crc = 0;
  if (size == 0) return TD_OK; /* TF: nothing stored, elements stay empty */
  uint64_t *lens = td_xmalloc((size_t)(n ? n : 1) * sizeof *lens);
  const uint8_t *p = buf, *end = buf + size;
  td_code rc = TD_OK;
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    if (!td_varint64_decode(&p, end, &lens[i])) {
      rc = td_status_set(st, TD_DATA_LOSS, "%s: string lengths of '%s' run past the entry's %zu bytes",
                         b->prefix, key, size);
    } else if (lens[i] <= UINT32_MAX) {
      uint8_t le[4] = {(uint8_t)lens[i], (uint8_t)(lens[i] >> 8), (uint8_t)(lens[i] >> 16),
                       (uint8_t)(lens[i] >> 24)};
      *crc = td_crc32c_extend(*crc, le, 4);
    } else {
      uint8_t le[8];
      for (int k = 0; k < 8; k++) le[k] = (uint8_t)(lens[i] >> (8 * k));
      *crc = td_crc32c_extend(*crc, le, 8);
    }
  }
  if (rc == TD_OK && end - p < 4)
    rc = td_status_set(st, TD_DATA_LOSS, "%s: string tensor '%s' is truncated (no length checksum)", b->prefix,
                       key);
  if (rc == TD_OK) {
    uint32_t raw = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    if (td_crc32c_unmask(raw) != *crc)
      rc = td_status_set(st, TD_DATA_LOSS,
                         "%s: The length checksum does not match: expected %08u but actual is %08u (key %s)",
                         b->prefix, td_crc32c_unmask(raw), *crc, key);
    *crc = td_crc32c_extend(*crc, p, 4);
    p += 4;
  }
  for (int64_t i = 0; i < n && rc == TD_OK; i++) {
    if (lens[i] > (uint64_t)(end - p)) {
      rc = td_status_set(st, TD_DATA_LOSS, "%s: string %" PRId64 " of '%s' runs past the entry's %zu bytes",
                         b->prefix, i, key, size);
      break;
    }
    td_tensor_set_string(t, i, (const char *)p, (size_t)lens[i]);
    *crc = td_crc32c_extend(*crc, p, (size_t)lens[i]);
    p += lens[i];
  }
  free(lens);
  return rc;
}

static td_code read_entry(td_bundle *b, const char *key, const Tensorflow__BundleEntryProto *e, td_tensor *out,
                          td_status *st) {
  td_dtype dt = (td_dtype)e->dtype;
  if (dt == TD_DT_VARIANT)
    return td_status_set(st, TD_UNIMPLEMENTED, "%s: reading DT_VARIANT checkpoint entries ('%s') is not implemented",
                         b->prefix, key);
  if (!td_dtype_valid(dt) || dt == TD_DT_RESOURCE)
    return td_status_set(st, TD_DATA_LOSS, "%s: entry '%s' has unsupported dtype %d", b->index_path, key, (int)dt);
  td_shape shape;
  int64_t nelem;
  TD_TRY(entry_shape(b, key, e, &shape, &nelem, st));
  shard_file sf = {.fd = -1, .size = 0};
  TD_TRY(shard_get(b, e->shard_id, &sf, st));
  if (e->offset < 0 || e->size < 0 || e->offset > sf.size || e->size > sf.size - e->offset)
    return td_status_set(st, TD_DATA_LOSS,
                         "%s: entry '%s' (offset %" PRId64 ", size %" PRId64 ") lies outside data shard %d (%" PRId64
                         " bytes); the checkpoint is truncated or corrupted",
                         b->index_path, key, e->offset, e->size, (int)e->shard_id, sf.size);
  size_t size = (size_t)e->size;
  uint32_t crc = 0;
  td_code rc;
  if (dt != TD_DT_STRING) {
    size_t esize = td_dtype_size(dt);
    if ((uint64_t)nelem > SIZE_MAX / esize || (size_t)nelem * esize != size)
      return td_status_set(st, TD_DATA_LOSS,
                           "%s: entry '%s' stores %" PRId64 " bytes but its %s shape needs %" PRId64 " elements of %zu bytes",
                           b->index_path, key, e->size, td_dtype_name(dt), nelem, esize);
    if (size > 0 && sf.map && td_shard_map_view(sf.map, e->offset, dt, &shape, out)) {
      atomic_fetch_add(&b->mapped_bytes, (long long)size);
      if (!b->verify_mapped) return TD_OK;
      int64_t bad_at = 0; /* checksummed with pread, not through the mapping (bundle_map.h) */
      int err = td_shard_crc32c(sf.fd, e->offset, size, &crc, &bad_at);
      rc = err == 0 ? TD_OK
                    : td_status_set(st, TD_DATA_LOSS, "%s.data-%05d-of-%05d: %s at offset %" PRId64, b->prefix,
                                    (int)e->shard_id, b->num_shards, err > 0 ? strerror(err) : "unexpected end of file",
                                    bad_at);
    } else {
      TD_TRY(td_tensor_alloc(out, dt, &shape, st));
      rc = pread_full(b, e->shard_id, sf.fd, out->data, size, e->offset, st);
      if (rc == TD_OK) crc = td_crc32c(out->data, size);
      atomic_fetch_add(&b->copied_bytes, (long long)size);
    }
  } else {
    if (size > 0 && (uint64_t)nelem > size) /* every element needs at least one length byte */
      return td_status_set(st, TD_DATA_LOSS, "%s: string entry '%s' has %" PRId64 " elements in only %zu bytes",
                           b->index_path, key, nelem, size);
    TD_TRY(td_tensor_alloc(out, dt, &shape, st));
    if (sf.map) { /* decode straight from the mapping */
      rc = decode_strings(b, key, td_shard_map_bytes(sf.map, e->offset), size, out, nelem, &crc, st);
    } else {
      uint8_t *buf = td_xmalloc(size ? size : 1);
      rc = pread_full(b, e->shard_id, sf.fd, buf, size, e->offset, st);
      if (rc == TD_OK) rc = decode_strings(b, key, buf, size, out, nelem, &crc, st);
      free(buf);
    }
    atomic_fetch_add(&b->copied_bytes, (long long)size);
  }
  if (rc == TD_OK) rc = check_crc(b, key, e, crc, st);
  if (rc != TD_OK) td_tensor_release(out);
  return rc;
}

td_code td_bundle_read(td_bundle *b, const char *key, td_tensor *out, td_status *st) {
  return td_bundle_read_slice(b, key, "", out, st);
}

/* ---- slices (RestoreV2 shape_and_slices) ---- */

td_code td_bundle_read_slice(td_bundle *b, const char *key, const char *slice_spec_str, td_tensor *out,
                             td_status *st) {
  memset(out, 0, sizeof *out);
  const Tensorflow__BundleEntryProto *e = td_bundle_entry(b, key);
  if (!e) return td_status_set(st, TD_NOT_FOUND, "Key %s not found in checkpoint", key);
  if (e->n_slices > 0)
    return td_status_set(st, TD_UNIMPLEMENTED,
                         "%s: '%s' is stored as %zu partitioned slices; reading partitioned variables is not "
                         "implemented",
                         b->prefix, key, e->n_slices);
  if (!slice_spec_str || !*slice_spec_str) return read_entry(b, key, e, out, st);

  slice_spec s;
  td_code rc = td_slice_spec_parse(slice_spec_str, &s, st);
  if (rc != TD_OK) return td_status_prefix(st, "tensor_name = %s", key);
  td_shape stored;
  int64_t nelem;
  TD_TRY(entry_shape(b, key, e, &stored, &nelem, st));
  if (!td_shape_equal(&stored, &s.full)) {
    char a[256], c[256];
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "tensor_name = %s; shape in shape_and_slice spec %s does not match the shape stored in "
                         "checkpoint: %s",
                         key, td_shape_str(&s.full, a, sizeof a), td_shape_str(&stored, c, sizeof c));
  }
  int whole = 1;
  for (int d = 0; d < s.full.rank; d++) whole &= s.start[d] == 0 && s.length[d] == s.full.dim[d];
  if (whole) return read_entry(b, key, e, out, st);
  td_tensor full;
  TD_TRY(read_entry(b, key, e, &full, st));
  rc = td_slice_copy(&full, &s, out, st);
  td_tensor_release(&full);
  return rc;
}

/* ---- cache + checkpoint reader ---- */

struct td_bundle_cache {
  pthread_mutex_t mu;
  td_strmap bundles; /* prefix → td_bundle* */
};

td_bundle_cache *td_bundle_cache_new(void) {
  td_bundle_cache *c = td_xcalloc(1, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  td_strmap_init(&c->bundles);
  return c;
}

void td_bundle_cache_free(td_bundle_cache *c) {
  if (!c) return;
  const char *k;
  void *v;
  for (size_t it = 0; td_strmap_next(&c->bundles, &it, &k, &v);) td_bundle_close(v);
  td_strmap_release(&c->bundles);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

td_code td_bundle_cache_get(td_bundle_cache *c, const char *prefix, td_bundle **out, td_status *st) {
  td_code rc = TD_OK;
  pthread_mutex_lock(&c->mu);
  *out = td_strmap_get(&c->bundles, prefix);
  if (!*out) {
    rc = td_bundle_open(prefix, out, st);
    if (rc == TD_OK) td_strmap_put(&c->bundles, prefix, *out);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

static td_code cache_reader_read(void *self, const char *prefix, const char *name, const char *slice_spec_str,
                                 td_dtype expected, td_tensor *out, td_status *st) {
  memset(out, 0, sizeof *out);
  td_bundle *b;
  TD_TRY(td_bundle_cache_get(self, prefix, &b, st));
  const Tensorflow__BundleEntryProto *e = td_bundle_entry(b, name);
  if (!e) return td_status_set(st, TD_NOT_FOUND, "Key %s not found in checkpoint", name);
  if ((td_dtype)e->dtype != expected)
    return td_status_set(st, TD_INVALID_ARGUMENT, "tensor_name = %s; expected dtype %s does not equal original dtype %s",
                         name, td_dtype_name(expected), td_dtype_name((td_dtype)e->dtype));
  return td_bundle_read_slice(b, name, slice_spec_str, out, st);
}

td_checkpoint_reader td_bundle_checkpoint_reader(td_bundle_cache *c) {
  return (td_checkpoint_reader){.self = c, .read = cache_reader_read};
}
