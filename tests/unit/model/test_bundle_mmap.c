/* test_bundle_mmap.c — checkpoint weights without copies: an aligned numeric entry of a
 * TensorBundle becomes a tensor whose data pointer lies inside a read-only mapping of the data
 * shard (checked against /proc/self/maps), with the right values; misaligned entries, strings
 * and TD_CHECKPOINT_MMAP=0 give heap copies with the same values; the mapping outlives
 * td_bundle_close while a tensor uses it and is unmapped when the last one goes; the crc32c
 * check still runs on mapped bytes (TD_CHECKPOINT_VERIFY=0 skips it); slices of a mapped
 * entry are copies; td_tensor_external's contract; concurrent views. The bundle is written here
 * by a minimal single-block SSTable writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/bundle.h"
#include "util/crc32c.h"
#include "util/mem.h"

/* ---- a minimal bundle writer: one uncompressed data block, every key a restart ---- */

typedef struct wbuf {
  uint8_t *p;
  size_t n, cap;
} wbuf;

static void put(wbuf *b, const void *d, size_t n) {
  TD_GROW(b->p, b->cap, b->n + n + 1);
  if (n) memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void put_varint(wbuf *b, uint64_t v) {
  do {
    uint8_t c = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    put(b, &c, 1);
    v >>= 7;
  } while (v);
}
static void put_u32(wbuf *b, uint32_t v) {
  uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, t, 4);
}

/* Block contents for sorted (key, value) pairs: each entry a restart point (shared = 0). */
static void block(wbuf *out, char **keys, wbuf *vals, size_t n) {
  uint32_t *restarts = calloc(n + 1, sizeof *restarts);
  for (size_t i = 0; i < n; i++) {
    restarts[i] = (uint32_t)out->n;
    put_varint(out, 0);
    put_varint(out, strlen(keys[i]));
    put_varint(out, vals[i].n);
    put(out, keys[i], strlen(keys[i]));
    put(out, vals[i].p, vals[i].n);
  }
  if (n == 0) restarts[n++] = 0;
  for (size_t i = 0; i < n; i++) put_u32(out, restarts[i]);
  put_u32(out, (uint32_t)n);
  free(restarts);
}

/* Appends contents + trailer (type 0, masked crc) to f; returns the block handle. */
static void emit(wbuf *f, const wbuf *contents, uint64_t *off, uint64_t *size) {
  *off = f->n;
  put(f, contents->p, contents->n);
  *size = contents->n;
  uint8_t type = 0;
  put(f, &type, 1);
  put_u32(f, td_crc32c_mask(td_crc32c(f->p + *off, contents->n + 1)));
}

typedef struct entry {
  const char *key;
  td_dtype dtype;
  int64_t dim; /* rank 1 */
  const void *data;
  size_t pad_before; /* filler bytes before this entry in the data file */
  const char *const *strs;
} entry;

static void write_file(const char *path, const void *d, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  if (n) assert_int_equal(fwrite(d, 1, n, fp), n);
  fclose(fp);
}

/* Writes <prefix>.index and <prefix>.data-00000-of-00001; entries must come sorted by key. */
static void write_bundle(const char *prefix, const entry *es, size_t n) {
  char **keys = calloc(n + 1, sizeof *keys);
  wbuf *vals = calloc(n + 1, sizeof *vals), data = {0};
  Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
  h.num_shards = 1;
  keys[0] = "";
  vals[0].n = tensorflow__bundle_header_proto__get_packed_size(&h);
  vals[0].p = malloc(vals[0].n + 1);
  tensorflow__bundle_header_proto__pack(&h, vals[0].p);
  for (size_t i = 0; i < n; i++) {
    const entry *t = &es[i];
    for (size_t k = 0; k < t->pad_before; k++) put(&data, "~", 1);
    size_t off = data.n;
    uint32_t crc;
    if (t->dtype == TD_DT_STRING) {
      uint32_t lcrc = 0;
      for (int64_t k = 0; k < t->dim; k++) {
        uint32_t l = (uint32_t)strlen(t->strs[k]);
        put_varint(&data, l);
        uint8_t le[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
        lcrc = td_crc32c_extend(lcrc, le, 4);
      }
      put_u32(&data, td_crc32c_mask(lcrc));
      crc = td_crc32c_extend(lcrc, data.p + data.n - 4, 4);
      for (int64_t k = 0; k < t->dim; k++) {
        put(&data, t->strs[k], strlen(t->strs[k]));
        crc = td_crc32c_extend(crc, t->strs[k], strlen(t->strs[k]));
      }
    } else {
      size_t nb = (size_t)t->dim * td_dtype_size(t->dtype);
      put(&data, t->data, nb);
      crc = td_crc32c(t->data, nb);
    }
    Tensorflow__TensorShapeProto__Dim dim = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, *dimp = &dim;
    dim.size = t->dim;
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 1;
    shape.dim = &dimp;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)t->dtype;
    e.shape = &shape;
    e.offset = (int64_t)off;
    e.size = (int64_t)(data.n - off);
    e.crc32c = td_crc32c_mask(crc);
    keys[i + 1] = (char *)t->key;
    vals[i + 1].n = tensorflow__bundle_entry_proto__get_packed_size(&e);
    vals[i + 1].p = malloc(vals[i + 1].n + 1);
    tensorflow__bundle_entry_proto__pack(&e, vals[i + 1].p);
  }
  wbuf f = {0}, contents = {0};
  uint64_t doff, dsize, moff, msize, ioff, isize;
  block(&contents, keys, vals, n + 1);
  emit(&f, &contents, &doff, &dsize);
  contents.n = 0;
  block(&contents, NULL, NULL, 0); /* metaindex: empty */
  emit(&f, &contents, &moff, &msize);
  contents.n = 0;
  wbuf handle = {0};
  put_varint(&handle, doff);
  put_varint(&handle, dsize);
  char *last = keys[n];
  block(&contents, &last, &handle, 1);
  emit(&f, &contents, &ioff, &isize);
  wbuf footer = {0};
  put_varint(&footer, moff);
  put_varint(&footer, msize);
  put_varint(&footer, ioff);
  put_varint(&footer, isize);
  while (footer.n < 40) put(&footer, "\0", 1);
  put_u32(&footer, 0x8b80fb57u);
  put_u32(&footer, 0xdb477524u);
  put(&f, footer.p, footer.n);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s.index", prefix);
  write_file(path, f.p, f.n);
  snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
  write_file(path, data.p, data.n);
  for (size_t i = 0; i <= n; i++) free(vals[i].p);
  free(vals);
  free(keys);
  free(f.p);
  free(contents.p);
  free(handle.p);
  free(footer.p);
  free(data.p);
}

/* ---- /proc/self/maps: which file mapping (if any) holds an address ---- */

/* 1 if p lies in a mapping of `path` (by its pathname column), 0 if not (or no such mapping). */
static int mapped_from(const void *p, const char *path) {
  char want[PATH_MAX];
  if (!realpath(path, want)) return 0;
  FILE *fp = fopen("/proc/self/maps", "r");
  assert_non_null(fp);
  char line[PATH_MAX + 256];
  int found = 0;
  while (!found && fgets(line, sizeof line, fp)) {
    unsigned long lo, hi;
    char perms[8];
    int name_at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &name_at) < 3 || !name_at) continue;
    char *name = line + name_at;
    name[strcspn(name, "\n")] = 0;
    if ((uintptr_t)p >= lo && (uintptr_t)p < hi) found = !strcmp(name, want) && perms[1] == '-';
  }
  fclose(fp);
  return found;
}

/* Number of mappings of `path`. */
static int mapping_count(const char *path) {
  char want[PATH_MAX];
  if (!realpath(path, want)) return 0;
  FILE *fp = fopen("/proc/self/maps", "r");
  assert_non_null(fp);
  char line[PATH_MAX + 256];
  int n = 0;
  while (fgets(line, sizeof line, fp)) {
    line[strcspn(line, "\n")] = 0;
    size_t l = strlen(line), w = strlen(want);
    n += l >= w && !strcmp(line + l - w, want);
  }
  fclose(fp);
  return n;
}

/* ---- fixture ---- */

static char dir[64], prefix[128], data_path[160];
static float big[4096];      /* 16 KiB: at offset 0, page-aligned */
static const float odd[5] = {1.5f, -2.25f, 3.0f, 1e-3f, -7.0f};
static const int64_t i64[3] = {INT64_MIN, 42, INT64_MAX};
static const uint8_t flags[3] = {1, 0, 1};
static const char *const strs[2] = {"mapped", "?"};

/* Layout of the data file (offsets): big 0 · flags 16384 (bool, align 1) · i64 at 16392 (7
 * pad bytes after 3 bools + 2: aligned) · str · odd after 1 more pad byte (misaligned). */
static const entry entries[] = {
    {"a/big", TD_DT_FLOAT, 4096, big, 0, NULL},
    {"b/flags", TD_DT_BOOL, 3, flags, 0, NULL},
    {"c/i64", TD_DT_INT64, 3, i64, 5, NULL},
    {"d/str", TD_DT_STRING, 2, NULL, 0, strs},
    {"e/odd", TD_DT_FLOAT, 5, odd, 1, NULL},
};

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/td_test_bundle_mmap_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(prefix, sizeof prefix, "%s/variables", dir);
  snprintf(data_path, sizeof data_path, "%s.data-00000-of-00001", prefix);
  for (int i = 0; i < 4096; i++) big[i] = (float)i * 0.5f - 1000.0f;
  write_bundle(prefix, entries, sizeof entries / sizeof *entries);
  unsetenv("TD_CHECKPOINT_MMAP");
  unsetenv("TD_CHECKPOINT_VERIFY");
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char p[200];
  snprintf(p, sizeof p, "%s.index", prefix);
  unlink(p);
  unlink(data_path);
  rmdir(dir);
  return 0;
}

static td_bundle *open_bundle(void) {
  td_bundle *b = NULL;
  td_status st = {0};
  td_code rc = td_bundle_open(prefix, &b, &st);
  if (rc != TD_OK) print_message("open: %s\n", st.msg);
  assert_int_equal(rc, TD_OK);
  return b;
}

static void read_ok(td_bundle *b, const char *key, const char *spec, td_tensor *t) {
  td_status st = {0};
  td_code rc = td_bundle_read_slice(b, key, spec, t, &st);
  if (rc != TD_OK) print_message("read %s: %s\n", key, st.msg);
  assert_int_equal(rc, TD_OK);
}

/* ---- tests ---- */

static void test_aligned_entries_are_mapped(void **state) {
  (void)state;
  td_bundle *b = open_bundle();
  td_tensor t, f, i;
  read_ok(b, "a/big", "", &t);
  assert_int_equal(t.dtype, TD_DT_FLOAT);
  assert_int_equal(t.shape.rank, 1);
  assert_int_equal(t.shape.dim[0], 4096);
  assert_memory_equal(t.data, big, sizeof big);
  assert_true(td_tensor_is_external(&t));
  assert_true(mapped_from(t.data, data_path));
  assert_true(mapped_from((const char *)t.data + sizeof big - 1, data_path));
  assert_int_equal((uintptr_t)t.data % 4096, 0); /* offset 0 of a page-aligned mapping */

  read_ok(b, "b/flags", "", &f); /* 1-byte elements: any offset will do */
  assert_memory_equal(f.data, flags, sizeof flags);
  assert_true(mapped_from(f.data, data_path));
  read_ok(b, "c/i64", "", &i);
  assert_int_equal(td_i64(&i)[0], INT64_MIN);
  assert_int_equal(td_i64(&i)[1], 42);
  assert_int_equal(td_i64(&i)[2], INT64_MAX);
  assert_true(mapped_from(i.data, data_path));
  assert_int_equal((uintptr_t)i.data % 8, 0);

  int64_t mapped, copied;
  td_bundle_stats(b, &mapped, &copied);
  assert_int_equal(mapped, sizeof big + sizeof flags + sizeof i64);
  assert_int_equal(copied, 0);
  assert_int_equal(mapping_count(data_path), 1); /* one mapping per shard, shared */

  /* the mapping outlives the bundle while tensors use it */
  td_bundle_close(b);
  assert_int_equal(mapping_count(data_path), 1);
  assert_memory_equal(t.data, big, sizeof big);
  td_tensor t2 = td_tensor_ref(&t);
  td_tensor_release(&t);
  td_tensor_release(&f);
  td_tensor_release(&i);
  assert_int_equal(mapping_count(data_path), 1);
  assert_true(td_f32(&t2)[4095] == 4095 * 0.5f - 1000.0f);
  td_tensor_release(&t2);
  assert_int_equal(mapping_count(data_path), 0); /* last reference: unmapped */
}

static void test_misaligned_and_strings_are_copied(void **state) {
  (void)state;
  td_bundle *b = open_bundle();
  const Tensorflow__BundleEntryProto *e = td_bundle_entry(b, "e/odd");
  assert_non_null(e);
  assert_int_not_equal(e->offset % 4, 0); /* the fixture really is misaligned */
  td_tensor t, s;
  read_ok(b, "e/odd", "", &t);
  assert_memory_equal(t.data, odd, sizeof odd);
  assert_false(td_tensor_is_external(&t));
  assert_false(mapped_from(t.data, data_path));
  assert_int_equal((uintptr_t)t.data % 4, 0);
  read_ok(b, "d/str", "", &s);
  assert_int_equal(s.dtype, TD_DT_STRING);
  assert_string_equal(td_str(&s)[0].data, "mapped");
  assert_string_equal(td_str(&s)[1].data, "?");
  assert_false(td_tensor_is_external(&s));
  int64_t mapped, copied;
  td_bundle_stats(b, &mapped, &copied);
  assert_int_equal(mapped, 0);
  assert_int_equal(copied, (int64_t)sizeof odd + td_bundle_entry(b, "d/str")->size);
  td_tensor_release(&t);
  td_tensor_release(&s);
  td_bundle_close(b);
  assert_int_equal(mapping_count(data_path), 0);
}

static void test_slice_of_mapped_entry_is_a_copy(void **state) {
  (void)state;
  td_bundle *b = open_bundle();
  td_tensor t;
  read_ok(b, "a/big", "4096 100,3", &t);
  assert_int_equal(t.shape.dim[0], 3);
  assert_false(td_tensor_is_external(&t));
  for (int k = 0; k < 3; k++) assert_true(td_f32(&t)[k] == big[100 + k]);
  td_tensor_release(&t);
  read_ok(b, "a/big", "4096 -", &t); /* the whole tensor: a view again */
  assert_true(td_tensor_is_external(&t));
  td_tensor_release(&t);
  td_bundle_close(b);
  assert_int_equal(mapping_count(data_path), 0);
}

static void test_mmap_off_copies(void **state) {
  (void)state;
  setenv("TD_CHECKPOINT_MMAP", "0", 1);
  td_bundle *b = open_bundle();
  unsetenv("TD_CHECKPOINT_MMAP");
  td_tensor t;
  read_ok(b, "a/big", "", &t);
  assert_memory_equal(t.data, big, sizeof big);
  assert_false(td_tensor_is_external(&t));
  assert_false(mapped_from(t.data, data_path));
  assert_int_equal(mapping_count(data_path), 0);
  int64_t mapped, copied;
  td_bundle_stats(b, &mapped, &copied);
  assert_int_equal(mapped, 0);
  assert_int_equal(copied, sizeof big);
  td_tensor_release(&t);
  td_bundle_close(b);
}

/* A flipped byte inside a mapped entry still fails TF's checksum (computed on the mapping);
 * with TD_CHECKPOINT_VERIFY=0 the mapped entry is trusted, copied entries are still checked. */
static void test_checksum_on_mapped_bytes(void **state) {
  (void)state;
  FILE *fp = fopen(data_path, "r+b");
  assert_non_null(fp);
  uint8_t c;
  fseek(fp, 40, SEEK_SET);
  assert_int_equal(fread(&c, 1, 1, fp), 1);
  c ^= 0x10;
  fseek(fp, 40, SEEK_SET);
  assert_int_equal(fwrite(&c, 1, 1, fp), 1);
  fclose(fp);

  td_bundle *b = open_bundle();
  td_tensor t;
  td_status st = {0};
  assert_int_equal(td_bundle_read(b, "a/big", &t, &st), TD_DATA_LOSS);
  assert_non_null(strstr(st.msg, "Checksum does not match"));
  assert_null(t.buf);
  td_bundle_close(b);
  assert_int_equal(mapping_count(data_path), 0); /* the failed view was released */

  setenv("TD_CHECKPOINT_VERIFY", "0", 1);
  b = open_bundle();
  unsetenv("TD_CHECKPOINT_VERIFY");
  read_ok(b, "a/big", "", &t);
  assert_true(td_tensor_is_external(&t));
  assert_memory_not_equal(t.data, big, sizeof big);
  td_tensor_release(&t);
  td_bundle_close(b);
  write_bundle(prefix, entries, sizeof entries / sizeof *entries); /* restore for other tests */
}

/* td_tensor_external refuses boxed dtypes (their buffers own elements) without calling release. */
static int releases;
static void count_release(void *ctx) {
  (void)ctx;
  releases++;
}

static void test_external_tensor_contract(void **state) {
  (void)state;
  static float backing[6] = {1, 2, 3, 4, 5, 6};
  td_shape shape = td_shape_vector(6);
  td_tensor t;
  td_status st = {0};
  releases = 0;
  assert_int_equal(td_tensor_external(&t, TD_DT_STRING, &shape, backing, count_release, NULL, &st),
                   TD_INVALID_ARGUMENT);
  assert_int_equal(td_tensor_external(&t, TD_DT_RESOURCE, &shape, backing, count_release, NULL, &st),
                   TD_INVALID_ARGUMENT);
  assert_null(t.buf);
  assert_int_equal(releases, 0);
  assert_int_equal(td_tensor_external(&t, TD_DT_FLOAT, &shape, backing, count_release, NULL, &st), TD_OK);
  assert_true(td_tensor_is_external(&t));
  td_tensor u = td_tensor_ref(&t), c;
  assert_int_equal(td_tensor_copy(&c, &t, &st), TD_OK); /* a copy is an ordinary heap tensor */
  assert_false(td_tensor_is_external(&c));
  assert_memory_equal(c.data, backing, sizeof backing);
  td_tensor_release(&t);
  assert_int_equal(releases, 0);
  td_tensor_release(&u);
  assert_int_equal(releases, 1); /* once, with the last reference */
  td_tensor_release(&c);
  assert_int_equal(releases, 1);
}

/* Four threads view and drop the same mapped entry at once (atomic counts: the mapping never
 * goes early, which ASan would see as a read of unmapped memory); after the bundle closes, the
 * one view left keeps the mapping until it is released, and it is unmapped exactly once. */
static td_bundle *shared_bundle;
static void *reader(void *arg) {
  (void)arg;
  for (int i = 0; i < 200; i++) {
    td_tensor t;
    td_status st = {0};
    if (td_bundle_read(shared_bundle, "a/big", &t, &st) != TD_OK) return (void *)1;
    int ok = td_f32(&t)[4095] == 4095 * 0.5f - 1000.0f && td_tensor_is_external(&t);
    td_tensor_release(&t);
    if (!ok) return (void *)1;
  }
  return NULL;
}

static void test_concurrent_views(void **state) {
  (void)state;
  shared_bundle = open_bundle();
  td_tensor keep;
  read_ok(shared_bundle, "a/big", "", &keep);
  pthread_t th[4];
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
  for (int i = 0; i < 4; i++) {
    void *rv;
    assert_int_equal(pthread_join(th[i], &rv), 0);
    assert_null(rv);
  }
  td_bundle_close(shared_bundle);
  assert_int_equal(mapping_count(data_path), 1);
  assert_memory_equal(keep.data, big, sizeof big);
  td_tensor_release(&keep);
  assert_int_equal(mapping_count(data_path), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aligned_entries_are_mapped),
      cmocka_unit_test(test_misaligned_and_strings_are_copied),
      cmocka_unit_test(test_slice_of_mapped_entry_is_a_copy),
      cmocka_unit_test(test_mmap_off_copies),
      cmocka_unit_test(test_checksum_on_mapped_bytes),
      cmocka_unit_test(test_external_tensor_contract),
      cmocka_unit_test(test_concurrent_views),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
