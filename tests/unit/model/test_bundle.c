/* test_bundle.c — TensorBundle reader: every checkpoint in the fixtures (values cross-checked
 * against an independent Python reader), plus bundles built here by a small test-only SSTable /
 * bundle writer (many blocks, restarts, snappy, strings, 2 shards, slices) and corruption cases
 * (truncation at every length, flipped bytes, bad magic, bad offsets, missing shards, big-endian
 * header, ...) that must all fail cleanly with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "model/bundle.h"
#include "model/sstable.h"
#include "util/crc32c.h"
#include "util/mem.h"

/* ======================= test-only writer ======================= */

typedef struct wbuf {
  uint8_t *p;
  size_t n, cap;
} wbuf;

static void wb_put(wbuf *b, const void *d, size_t n) {
  TD_GROW(b->p, b->cap, b->n + n + 1);
  if (n) memcpy(b->p + b->n, d, n);
  b->n += n;
}
static void wb_varint(wbuf *b, uint64_t v) {
  uint8_t t[10];
  int k = 0;
  do {
    t[k++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
    v >>= 7;
  } while (v);
  wb_put(b, t, (size_t)k);
}
static void wb_u32(wbuf *b, uint32_t v) {
  uint8_t t[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  wb_put(b, t, 4);
}

typedef struct kv {
  char *key;
  size_t key_len;
  uint8_t *val;
  size_t val_len;
} kv;

typedef struct sst_opts {
  int restart_interval; /* 16 in TF */
  size_t block_size;    /* flush a data block once it reaches this many bytes */
  int snappy;           /* 1: compress data + index blocks */
  int bad_type;         /* write this compression type byte instead (with a valid crc) */
} sst_opts;

/* Appends block contents + trailer; returns the handle. */
static void write_block(wbuf *f, const wbuf *contents, const sst_opts *o, int compress, uint64_t *off,
                        uint64_t *size) {
  *off = f->n;
  uint8_t type = 0;
  if (compress) {
    size_t cap = snappy_max_compressed_length(contents->n), clen = cap;
    char *c = malloc(cap);
    assert_int_equal(snappy_compress((const char *)contents->p, contents->n, c, &clen), SNAPPY_OK);
    wb_put(f, c, clen);
    free(c);
    type = 1;
  } else {
    wb_put(f, contents->p, contents->n);
  }
  if (o->bad_type) type = (uint8_t)o->bad_type;
  *size = f->n - *off;
  wb_put(f, &type, 1);
  wb_u32(f, td_crc32c_mask(td_crc32c(f->p + *off, (size_t)*size + 1)));
}

typedef struct block_builder {
  wbuf b;
  uint32_t *restarts;
  size_t nrestarts, rcap;
  int counter;
  char *last;
  size_t last_len;
} block_builder;

static void bb_add(block_builder *bb, int interval, const char *k, size_t kl, const uint8_t *v, size_t vl) {
  size_t shared = 0;
  if (bb->counter < interval && bb->nrestarts > 0) {
    while (shared < kl && shared < bb->last_len && bb->last[shared] == k[shared]) shared++;
  } else {
    TD_GROW(bb->restarts, bb->rcap, bb->nrestarts + 1);
    bb->restarts[bb->nrestarts++] = (uint32_t)bb->b.n;
    bb->counter = 0;
  }
  wb_varint(&bb->b, shared);
  wb_varint(&bb->b, kl - shared);
  wb_varint(&bb->b, vl);
  wb_put(&bb->b, k + shared, kl - shared);
  wb_put(&bb->b, v, vl);
  free(bb->last);
  bb->last = malloc(kl + 1);
  memcpy(bb->last, k, kl);
  bb->last_len = kl;
  bb->counter++;
}

static void bb_finish(block_builder *bb) {
  if (bb->nrestarts == 0) {
    TD_GROW(bb->restarts, bb->rcap, 1);
    bb->restarts[bb->nrestarts++] = 0;
  }
  for (size_t i = 0; i < bb->nrestarts; i++) wb_u32(&bb->b, bb->restarts[i]);
  wb_u32(&bb->b, (uint32_t)bb->nrestarts);
}

static void bb_reset(block_builder *bb) {
  free(bb->b.p);
  free(bb->restarts);
  free(bb->last);
  memset(bb, 0, sizeof *bb);
}

/* Builds a whole table file from kvs (in the given order). */
static void sst_build(wbuf *f, const kv *kvs, size_t n, const sst_opts *o) {
  block_builder data = {0}, index = {0};
  sst_opts plain = {.restart_interval = 1};
  uint64_t off, size;
  for (size_t i = 0; i < n; i++) {
    bb_add(&data, o->restart_interval, kvs[i].key, kvs[i].key_len, kvs[i].val, kvs[i].val_len);
    if (data.b.n >= o->block_size || i + 1 == n) {
      bb_finish(&data);
      write_block(f, &data.b, o, o->snappy, &off, &size);
      wbuf h = {0};
      wb_varint(&h, off);
      wb_varint(&h, size);
      bb_add(&index, 1, data.last, data.last_len, h.p, h.n);
      free(h.p);
      bb_reset(&data);
    }
  }
  block_builder meta = {0};
  bb_finish(&meta);
  uint64_t moff, msize, ioff, isize;
  write_block(f, &meta.b, &plain, 0, &moff, &msize);
  bb_finish(&index);
  write_block(f, &index.b, &plain, o->snappy, &ioff, &isize);
  wbuf footer = {0};
  wb_varint(&footer, moff);
  wb_varint(&footer, msize);
  wb_varint(&footer, ioff);
  wb_varint(&footer, isize);
  while (footer.n < 40) wb_put(&footer, "\0", 1);
  wb_u32(&footer, 0x8b80fb57u);
  wb_u32(&footer, 0xdb477524u);
  wb_put(f, footer.p, footer.n);
  free(footer.p);
  bb_reset(&meta);
  bb_reset(&index);
}

/* A tensor to put in a test bundle. */
typedef struct wtensor {
  const char *key;
  td_dtype dtype;
  int rank;
  int64_t dims[4];
  const void *data;         /* numeric: raw bytes */
  const char *const *strs;  /* DT_STRING: nelem NUL-terminated strings */
  int shard;
  int partitioned;          /* write a non-empty `slices` field */
} wtensor;

typedef struct bundle_opts {
  sst_opts sst;
  int num_shards;
  int big_endian;
  int omit_header;
  int min_consumer;
} bundle_opts;

static int64_t wt_nelem(const wtensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

static void write_file(const char *path, const void *d, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  if (n) assert_int_equal(fwrite(d, 1, n, fp), n);
  fclose(fp);
}

static int kv_cmp(const void *a, const void *b) {
  const kv *x = a, *y = b;
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Writes <prefix>.index and <prefix>.data-*; tensors may come in any order. */
static void bundle_write(const char *prefix, const wtensor *ts, size_t n, const bundle_opts *o) {
  int shards = o->num_shards ? o->num_shards : 1;
  wbuf *data = calloc((size_t)shards, sizeof *data);
  kv *kvs = calloc(n + 1, sizeof *kvs);
  size_t nkv = 0;
  if (!o->omit_header) {
    Tensorflow__VersionDef ver = TENSORFLOW__VERSION_DEF__INIT;
    ver.producer = 1;
    ver.min_consumer = o->min_consumer;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = shards;
    h.endianness = o->big_endian ? TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__BIG
                                 : TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE;
    h.version = &ver;
    kvs[nkv].key = td_xstrdup("");
    kvs[nkv].val_len = tensorflow__bundle_header_proto__get_packed_size(&h);
    kvs[nkv].val = malloc(kvs[nkv].val_len + 1);
    tensorflow__bundle_header_proto__pack(&h, kvs[nkv].val);
    nkv++;
  }
  for (size_t i = 0; i < n; i++) {
    const wtensor *t = &ts[i];
    wbuf *d = &data[t->shard];
    if (i % 3 == 1) wb_put(d, "pad", 3); /* entries need not be adjacent */
    size_t off = d->n;
    int64_t ne = wt_nelem(t);
    uint32_t crc;
    if (t->dtype == TD_DT_STRING) {
      uint32_t lcrc = 0;
      for (int64_t k = 0; k < ne; k++) {
        uint32_t l = (uint32_t)strlen(t->strs[k]);
        wb_varint(d, l);
        uint8_t le[4] = {(uint8_t)l, (uint8_t)(l >> 8), (uint8_t)(l >> 16), (uint8_t)(l >> 24)};
        lcrc = td_crc32c_extend(lcrc, le, 4);
      }
      wb_u32(d, td_crc32c_mask(lcrc));
      crc = td_crc32c_extend(lcrc, d->p + d->n - 4, 4);
      for (int64_t k = 0; k < ne; k++) {
        wb_put(d, t->strs[k], strlen(t->strs[k]));
        crc = td_crc32c_extend(crc, t->strs[k], strlen(t->strs[k]));
      }
    } else {
      size_t nb = (size_t)ne * td_dtype_size(t->dtype);
      wb_put(d, t->data, nb);
      crc = td_crc32c(t->data, nb);
    }
    Tensorflow__TensorShapeProto__Dim dimv[4], *dimp[4];
    for (int k = 0; k < t->rank; k++) {
      tensorflow__tensor_shape_proto__dim__init(&dimv[k]);
      dimv[k].size = t->dims[k];
      dimp[k] = &dimv[k];
    }
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = (size_t)t->rank;
    shape.dim = dimp;
    Tensorflow__TensorSliceProto__Extent ext = TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__INIT, *extp = &ext;
    Tensorflow__TensorSliceProto slice = TENSORFLOW__TENSOR_SLICE_PROTO__INIT, *slicep = &slice;
    slice.n_extent = 1;
    slice.extent = &extp;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)t->dtype;
    e.shape = &shape;
    e.shard_id = t->shard;
    e.offset = (int64_t)off;
    e.size = (int64_t)(d->n - off);
    e.crc32c = td_crc32c_mask(crc);
    if (t->partitioned) {
      e.n_slices = 1;
      e.slices = &slicep;
    }
    kvs[nkv].key = td_xstrdup(t->key);
    kvs[nkv].key_len = strlen(t->key);
    kvs[nkv].val_len = tensorflow__bundle_entry_proto__get_packed_size(&e);
    kvs[nkv].val = malloc(kvs[nkv].val_len + 1);
    tensorflow__bundle_entry_proto__pack(&e, kvs[nkv].val);
    nkv++;
  }
  qsort(kvs, nkv, sizeof *kvs, kv_cmp);
  wbuf f = {0};
  sst_opts so = o->sst;
  if (!so.restart_interval) so.restart_interval = 16;
  if (!so.block_size) so.block_size = 256 * 1024;
  sst_build(&f, kvs, nkv, &so);
  char path[512];
  snprintf(path, sizeof path, "%s.index", prefix);
  write_file(path, f.p, f.n);
  for (int s = 0; s < shards; s++) {
    snprintf(path, sizeof path, "%s.data-%05d-of-%05d", prefix, s, shards);
    write_file(path, data[s].p, data[s].n);
    free(data[s].p);
  }
  for (size_t i = 0; i < nkv; i++) {
    free(kvs[i].key);
    free(kvs[i].val);
  }
  free(kvs);
  free(data);
  free(f.p);
}

/* ======================= helpers ======================= */

static char tmpdir[256];

static int setup_tmp(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/td_test_bundle_XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  return 0;
}

static int teardown_tmp(void **state) {
  (void)state;
  DIR *d = opendir(tmpdir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.') continue;
      char p[600];
      snprintf(p, sizeof p, "%s/%s", tmpdir, de->d_name);
      unlink(p);
    }
    closedir(d);
  }
  rmdir(tmpdir);
  return 0;
}

static char *tmp_prefix(const char *name) { return td_xasprintf("%s/%s", tmpdir, name); }

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  *n = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *d = malloc(*n + 1);
  assert_int_equal(fread(d, 1, *n, fp), *n);
  fclose(fp);
  return d;
}

/* Opening must fail with `code` (or any error if code == -1) and a non-empty message. */
static void expect_open_error(const char *prefix, int code, const char *needle) {
  td_bundle *b = (td_bundle *)0x1;
  td_status st = {0};
  td_code rc = td_bundle_open(prefix, &b, &st);
  if (rc == TD_OK) {
    print_message("unexpected success opening %s\n", prefix);
    td_bundle_close(b);
    fail();
  }
  assert_null(b);
  assert_int_equal(st.code, rc);
  assert_true(strlen(st.msg) > 0);
  if (code >= 0) assert_int_equal(rc, code);
  if (needle && !strstr(st.msg, needle)) {
    print_message("message '%s' lacks '%s'\n", st.msg, needle);
    fail();
  }
}

static void expect_read_error(td_bundle *b, const char *key, const char *spec, td_code code, const char *needle) {
  td_tensor t;
  td_status st = {0};
  td_code rc = td_bundle_read_slice(b, key, spec, &t, &st);
  if (rc == TD_OK) {
    print_message("unexpected success reading %s [%s]\n", key, spec);
    td_tensor_release(&t);
    fail();
  }
  if (rc != code) print_message("reading %s [%s]: %s: %s\n", key, spec, td_code_name(rc), st.msg);
  assert_int_equal(rc, code);
  assert_null(t.buf);
  if (needle && !strstr(st.msg, needle)) {
    print_message("message '%s' lacks '%s'\n", st.msg, needle);
    fail();
  }
}

/* Asserts success; expr reports into the status `st_` declared here. */
#define ASSERT_OK(expr)                                          \
  do {                                                           \
    td_status st_ = {0};                                         \
    td_code rc_ = (expr);                                        \
    if (rc_ != TD_OK) print_message("%s: %s\n", #expr, st_.msg); \
    assert_int_equal(rc_, TD_OK);                                \
  } while (0)

/* ======================= fixtures ======================= */

/* Per checkpoint: entries, shards, string entries, entries on shard 1, and the sum of every
 * numeric element of every entry — all from an independent Python reader. */
static const struct fixture_ckpt {
  const char *dir;
  int entries, shards, strings, on_shard1;
  double numeric_sum;
} fixture_ckpts[] = {
    {"models/census_wide_deep_coby/1511606217", 40, 1, 0, 0, 5783.9590355232349},
    {"models/fashion_mnist_yesaya/1", 32, 1, 1, 0, 29748.682871831974},
    {"models/iris_estimator_raw/1560841190", 8, 2, 0, 6, 9998.4665262959898},
    {"models/iris_iiithf/1", 4, 1, 0, 0, -51.997475615702569},
    {"models/mnist_dstoryz/1", 17, 1, 1, 0, 190064.31313238316},
    {"models/mnist_gihants/1", 16, 1, 1, 0, 40565.239290934551},
    {"models/mnist_praths/1", 34, 2, 1, 33, 189139.36021018252},
    {"models/mnist_seoinjae/1", 22, 1, 1, 0, 39242.057788025253},
    {"models/mnist_tf1_chandra/1", 2, 1, 0, 0, 0.00015978066486298237},
    {"models/potato_cnn_abh/1", 60, 1, 1, 0, 729643852.48378313},
    {"models/stfs_distributed/1", 3, 1, 0, 0, 15590.043603658676},
    {"models/stfs_estimator/1533527330", 4, 1, 0, 0, 9.789711207151413},
    {"models/template_app/1", 17, 1, 0, 0, 6215942.1449387297},
    {"models/tf_testdata_copy_half_plus_two_pbtxt/00000123", 2, 1, 0, 0, 2.5},
    {"models/tf_testdata_copy_half_plus_two_sharded/00000123", 2, 1, 0, 0, 2.5},
    {"models/tf_testdata_copy_session_bundle_half_plus_two/00000123", 2, 1, 0, 0, 2.5},
    {"tfserving_testdata/saved_model_counter/00000123", 1, 1, 0, 0, 0},
    {"tfserving_testdata/saved_model_half_plus_three/00000123", 3, 1, 0, 0, 6.5},
    {"tfserving_testdata/saved_model_half_plus_two_2_versions/00000123", 3, 1, 0, 0, 5.5},
    {"tfserving_testdata/saved_model_half_plus_two_2_versions/00000124", 3, 1, 0, 0, 5.5},
    {"tfserving_testdata/saved_model_half_plus_two_cpu/00000123", 5, 1, 0, 0, 9},
    {"tfserving_testdata/saved_model_half_plus_two_cpu_with_empty_saved_model_config/00000123", 5, 1, 0, 0, 9},
    {"tfserving_testdata/saved_model_half_plus_two_cpu_with_saved_model_config/00000123", 5, 1, 0, 0, 9},
    {"tfserving_testdata/saved_model_half_plus_two_gpu/00000123", 3, 1, 0, 0, 5.5},
    {"tfserving_testdata/saved_model_half_plus_two_gpu_trt/00000123", 5, 1, 0, 0, 9},
    {"tfserving_testdata/saved_model_half_plus_two_mkl/00000123", 9, 1, 0, 0, 5.5104352235794067},
    {"tfserving_testdata/saved_model_half_plus_two_mlmd/00000123", 5, 1, 0, 0, 9},
    {"tfserving_testdata/saved_model_half_plus_two_tf2_cpu/00000123", 4, 1, 1, 0, 5.5},
};
#define NUM_FIXTURE_CKPTS (int)(sizeof fixture_ckpts / sizeof fixture_ckpts[0])

static char *fixture_prefix(const char *dir) { return td_xasprintf("%s/%s/variables/variables", TD_FIXTURES, dir); }

static int close_enough(double got, double want) { return fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want)); }

/* Opens prefix, reads every entry, checks it against its BundleEntryProto; returns counters. */
static void read_all(const char *prefix, int *entries, int *strings, int *on_shard1, double *sum, int *shards) {
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  *entries = td_bundle_num_entries(b);
  *shards = td_bundle_num_shards(b);
  *strings = *on_shard1 = 0;
  *sum = 0;
  for (int i = 0; i < *entries; i++) {
    const char *key = td_bundle_key(b, i);
    if (i > 0) assert_true(strcmp(td_bundle_key(b, i - 1), key) < 0);
    const Tensorflow__BundleEntryProto *e = td_bundle_entry(b, key);
    assert_non_null(e);
    td_tensor t;
    ASSERT_OK(td_bundle_read(b, key, &t, &st_));
    assert_int_equal(t.dtype, (int)e->dtype);
    assert_int_equal(t.shape.rank, e->shape ? (int)e->shape->n_dim : 0);
    for (int d = 0; d < t.shape.rank; d++) assert_int_equal(t.shape.dim[d], e->shape->dim[d]->size);
    if (t.dtype == TD_DT_STRING) (*strings)++;
    else
      for (int64_t k = 0; k < td_tensor_num_elements(&t); k++) *sum += td_tensor_get_double(&t, k);
    if (e->shard_id == 1) (*on_shard1)++;
    td_tensor_release(&t);
  }
  td_bundle_close(b);
}

static void test_fixture_checkpoints(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  (void)state;
  for (int i = 0; i < NUM_FIXTURE_CKPTS; i++) {
    const struct fixture_ckpt *f = &fixture_ckpts[i];
    char *prefix = fixture_prefix(f->dir);
    int entries, strings, on_shard1, shards;
    double sum;
    read_all(prefix, &entries, &strings, &on_shard1, &sum, &shards);
    if (entries != f->entries || strings != f->strings || on_shard1 != f->on_shard1 || shards != f->shards ||
        !close_enough(sum, f->numeric_sum)) {
      print_message("%s: entries %d/%d strings %d/%d shard1 %d/%d shards %d/%d sum %.17g/%.17g\n", f->dir,
                    entries, f->entries, strings, f->strings, on_shard1, f->on_shard1, shards, f->shards, sum,
                    f->numeric_sum);
      fail();
    }
    free(prefix);
  }
}

/* Every variables.index under the fixture tree opens and reads; the table above covers them. */
static int walk_indexes(const char *dir, int depth) {
  int found = 0;
  DIR *d = opendir(dir);
  if (!d || depth > 6) {
    if (d) closedir(d);
    return 0;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char *p = td_xasprintf("%s/%s", dir, de->d_name);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      found += walk_indexes(p, depth + 1);
    } else if (strcmp(de->d_name, "variables.index") == 0) {
      p[strlen(p) - strlen(".index")] = 0;
      int entries, strings, on_shard1, shards;
      double sum;
      read_all(p, &entries, &strings, &on_shard1, &sum, &shards);
      assert_true(entries >= 1);
      found++;
    }
    free(p);
  }
  closedir(d);
  return found;
}

static void test_fixture_walk(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  (void)state;
  int found = walk_indexes(TD_FIXTURES, 0);
  print_message("checkpoints found under fixtures: %d\n", found);
  assert_true(found >= NUM_FIXTURE_CKPTS);
}

static void expect_scalar_float(td_bundle *b, const char *key, float want) {
  td_tensor t;
  ASSERT_OK(td_bundle_read(b, key, &t, &st_));
  assert_int_equal(t.dtype, TD_DT_FLOAT);
  assert_int_equal(t.shape.rank, 0);
  assert_true(td_f32(&t)[0] == want);
  td_tensor_release(&t);
}

static void test_fixture_known_values(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  (void)state;
  /* half_plus_two (snappy-compressed index block, written by TF) */
  char *prefix = fixture_prefix("tfserving_testdata/saved_model_half_plus_two_cpu/00000123");
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  assert_int_equal(td_bundle_num_entries(b), 5);
  const char *keys[] = {"a", "a2", "b", "c", "c2"};
  for (int i = 0; i < 5; i++) assert_string_equal(td_bundle_key(b, i), keys[i]);
  assert_null(td_bundle_key(b, 5));
  expect_scalar_float(b, "a", 0.5f);
  expect_scalar_float(b, "b", 2.0f);
  expect_scalar_float(b, "c", 3.0f);
  assert_null(td_bundle_entry(b, "a1"));
  assert_null(td_bundle_entry(b, ""));
  expect_read_error(b, "nope", "", TD_NOT_FOUND, "Key nope not found in checkpoint");
  td_bundle_close(b);
  free(prefix);

  /* TF2: object graph string + resource-variable keys */
  prefix = fixture_prefix("tfserving_testdata/saved_model_half_plus_two_tf2_cpu/00000123");
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  expect_scalar_float(b, "a/.ATTRIBUTES/VARIABLE_VALUE", 0.5f);
  expect_scalar_float(b, "b/.ATTRIBUTES/VARIABLE_VALUE", 2.0f);
  td_tensor t;
  ASSERT_OK(td_bundle_read(b, "_CHECKPOINTABLE_OBJECT_GRAPH", &t, &st_));
  assert_int_equal(t.dtype, TD_DT_STRING);
  assert_int_equal(t.shape.rank, 0);
  assert_int_equal(td_str(&t)[0].len, 613);
  assert_memory_equal(td_str(&t)[0].data, "\n\x98\x01\n\x05\x12\x01" "a\x08\x01", 10);
  td_tensor_release(&t);
  td_bundle_close(b);
  free(prefix);

  /* 2 shards, TF1 estimator: most entries on shard 1, the embedding on shard 0 */
  prefix = fixture_prefix("models/iris_estimator_raw/1560841190");
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  assert_int_equal(td_bundle_num_shards(b), 2);
  ASSERT_OK(td_bundle_read(b, "dnn/hiddenlayer_0/kernel", &t, &st_));
  assert_int_equal(t.shape.rank, 2);
  assert_int_equal(t.shape.dim[0], 14);
  assert_int_equal(t.shape.dim[1], 10);
  assert_true(fabsf(td_f32(&t)[0] - -0.3880818784236908f) < 1e-7f);
  double s = 0;
  for (int i = 0; i < 140; i++) s += td_f32(&t)[i];
  assert_true(close_enough(s, -0.85003318823874));
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read(b, "global_step", &t, &st_));
  assert_int_equal(t.dtype, TD_DT_INT64);
  assert_int_equal(td_i64(&t)[0], 10000);
  td_tensor_release(&t);
  const char *emb = "dnn/input_from_feature_columns/input_layer/SepalLength_bucketized_embedding/embedding_weights";
  assert_int_equal(td_bundle_entry(b, emb)->shard_id, 0);
  /* RestoreV2-style full-extent slice spec */
  ASSERT_OK(td_bundle_read_slice(b, emb, "4 10 0,4:0,10", &t, &st_));
  assert_int_equal(t.shape.dim[0], 4);
  assert_true(fabsf(td_f32(&t)[0] - 0.10033933073282242f) < 1e-7f);
  td_tensor_release(&t);
  /* a real sub-slice of a TF-written tensor: row 2 of the 14x10 kernel equals the full read's row 2 */
  td_tensor full, row;
  ASSERT_OK(td_bundle_read(b, "dnn/hiddenlayer_0/kernel", &full, &st_));
  ASSERT_OK(td_bundle_read_slice(b, "dnn/hiddenlayer_0/kernel", "14 10 2,1:-", &row, &st_));
  assert_int_equal(row.shape.rank, 2);
  assert_int_equal(row.shape.dim[0], 1);
  assert_int_equal(row.shape.dim[1], 10);
  assert_memory_equal(row.data, td_f32(&full) + 20, 40);
  td_tensor_release(&row);
  td_tensor_release(&full);
  td_bundle_close(b);
  free(prefix);

  /* Keras TF2.2 with 2 shards: object graph alone on shard 0, everything else on shard 1 */
  prefix = fixture_prefix("models/mnist_praths/1");
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  ASSERT_OK(td_bundle_read(b, "_CHECKPOINTABLE_OBJECT_GRAPH", &t, &st_));
  assert_int_equal(td_str(&t)[0].len, 7173);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read(b, "layer_with_weights-2/kernel/.ATTRIBUTES/VARIABLE_VALUE", &t, &st_));
  assert_int_equal(t.shape.dim[0], 1600);
  assert_int_equal(t.shape.dim[1], 64);
  s = 0;
  for (int i = 0; i < 1600 * 64; i++) s += td_f32(&t)[i];
  assert_true(close_enough(s, -11.414710208213808));
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read(b, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", &t, &st_));
  assert_int_equal(td_i64(&t)[0], 1875);
  td_tensor_release(&t);
  td_bundle_close(b);
  free(prefix);
}

static void test_fixture_missing(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  (void)state;
  expect_open_error(TD_FIXTURES "/models/does_not_exist/variables/variables", TD_NOT_FOUND, "variables.index");
}

/* ======================= self-built bundles ======================= */

/* A deterministic family of tensors of many dtypes/shapes, spread over `shards` shards. */
typedef struct gen_set {
  wtensor *ts;
  size_t n;
  char **keys;
  void **datas;
  char ***strs;
} gen_set;

static const td_dtype gen_dtypes[] = {TD_DT_FLOAT, TD_DT_INT64, TD_DT_INT32, TD_DT_DOUBLE,
                                      TD_DT_UINT8, TD_DT_BOOL,  TD_DT_HALF,  TD_DT_STRING};

static void gen_make(gen_set *g, size_t n, int shards) {
  g->n = n;
  g->ts = calloc(n, sizeof *g->ts);
  g->keys = calloc(n, sizeof *g->keys);
  g->datas = calloc(n, sizeof *g->datas);
  g->strs = calloc(n, sizeof *g->strs);
  uint32_t x = 99;
  for (size_t i = 0; i < n; i++) {
    wtensor *t = &g->ts[i];
    /* shared prefixes exercise key prefix compression */
    g->keys[i] = td_xasprintf("layer_%02zu/%s/.ATTRIBUTES/VARIABLE_VALUE", i / 3, (i % 3) == 0 ? "kernel" : (i % 3) == 1 ? "bias" : "m");
    t->key = g->keys[i];
    t->dtype = gen_dtypes[i % 8];
    t->rank = (int)(i % 4);
    for (int d = 0; d < t->rank; d++) t->dims[d] = (int64_t)((i + (size_t)d) % 3) + 1;
    if (i == 13) t->dims[0] = 0; /* an empty tensor */
    t->shard = (int)(i % (size_t)shards);
    int64_t ne = wt_nelem(t);
    if (t->dtype == TD_DT_STRING) {
      g->strs[i] = calloc((size_t)ne + 1, sizeof(char *));
      for (int64_t k = 0; k < ne; k++) {
        size_t len = (size_t)((i * 37 + (size_t)k * 91) % 200); /* up to 2-byte varints, some empty */
        char *s = malloc(len + 1);
        for (size_t c = 0; c < len; c++) s[c] = (char)('a' + (c + i + (size_t)k) % 26);
        s[len] = 0;
        g->strs[i][k] = s;
      }
      t->strs = (const char *const *)g->strs[i];
    } else {
      size_t nb = (size_t)ne * td_dtype_size(t->dtype);
      uint8_t *d = malloc(nb + 1);
      for (size_t k = 0; k < nb; k++, x = x * 1664525u + 1013904223u) d[k] = (uint8_t)(x >> 24);
      if (t->dtype == TD_DT_BOOL)
        for (size_t k = 0; k < nb; k++) d[k] &= 1;
      g->datas[i] = d;
      t->data = d;
    }
  }
}

static void gen_free(gen_set *g) {
  for (size_t i = 0; i < g->n; i++) {
    free(g->keys[i]);
    free(g->datas[i]);
    if (g->strs[i]) {
      for (int k = 0; g->strs[i][k]; k++) free(g->strs[i][k]);
      free(g->strs[i]);
    }
  }
  free(g->ts);
  free(g->keys);
  free(g->datas);
  free(g->strs);
}

static void check_tensor_matches(const td_tensor *t, const wtensor *w) {
  assert_int_equal(t->dtype, w->dtype);
  assert_int_equal(t->shape.rank, w->rank);
  for (int d = 0; d < w->rank; d++) assert_int_equal(t->shape.dim[d], w->dims[d]);
  int64_t ne = wt_nelem(w);
  if (w->dtype == TD_DT_STRING) {
    for (int64_t k = 0; k < ne; k++) {
      assert_int_equal(td_str(t)[k].len, strlen(w->strs[k]));
      if (td_str(t)[k].len) assert_memory_equal(td_str(t)[k].data, w->strs[k], td_str(t)[k].len);
    }
  } else if (ne > 0) {
    assert_memory_equal(t->data, w->data, (size_t)ne * td_dtype_size(w->dtype));
  }
}

static void check_bundle_matches(const char *prefix, const gen_set *g) {
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  assert_int_equal(td_bundle_num_entries(b), (int)g->n);
  for (size_t i = 0; i < g->n; i++) {
    td_tensor t;
    ASSERT_OK(td_bundle_read(b, g->ts[i].key, &t, &st_));
    check_tensor_matches(&t, &g->ts[i]);
    td_tensor_release(&t);
    /* keys that sort between real ones are absent */
    char *near = td_xasprintf("%s0", g->ts[i].key);
    assert_null(td_bundle_entry(b, near));
    near[strlen(near) - 2] = 0;
    assert_null(td_bundle_entry(b, near));
    free(near);
  }
  td_bundle_close(b);
}

static void test_roundtrip_layouts(void **state) {
  (void)state;
  gen_set g;
  gen_make(&g, 120, 2);
  const struct {
    int restart, snappy;
    size_t block;
  } layouts[] = {{16, 0, 256 * 1024}, {16, 1, 256 * 1024}, {1, 0, 64}, {3, 1, 64}, {16, 0, 200}, {2, 1, 1}};
  for (size_t l = 0; l < sizeof layouts / sizeof layouts[0]; l++) {
    char *prefix = tmp_prefix("rt");
    bundle_opts o = {.num_shards = 2,
                     .sst = {.restart_interval = layouts[l].restart, .snappy = layouts[l].snappy,
                             .block_size = layouts[l].block}};
    bundle_write(prefix, g.ts, g.n, &o);
    check_bundle_matches(prefix, &g);
    free(prefix);
  }
  gen_free(&g);
}

/* One small bundle used by several tests: floats [2,3], int64 [5], a [2,3,4] float cube,
 * strings [2,3], a scalar; 2 shards. */
static float f23[6] = {0, 1, 2, 3, 4, 5};
static int64_t i5[5] = {10, -20, 30, -40, 1LL << 40};
static float cube[24];
static const char *const s23[6] = {"", "x", "hello", "a longer string that is well over sixteen bytes", "é", "z"};
static const double scalar_d = 2.5;

static char *write_small(const char *name, const bundle_opts *o) {
  for (int i = 0; i < 24; i++) cube[i] = (float)i * 0.5f;
  wtensor ts[] = {
      {.key = "f23", .dtype = TD_DT_FLOAT, .rank = 2, .dims = {2, 3}, .data = f23},
      {.key = "i5", .dtype = TD_DT_INT64, .rank = 1, .dims = {5}, .data = i5, .shard = 1},
      {.key = "cube", .dtype = TD_DT_FLOAT, .rank = 3, .dims = {2, 3, 4}, .data = cube, .shard = 1},
      {.key = "s23", .dtype = TD_DT_STRING, .rank = 2, .dims = {2, 3}, .strs = s23},
      {.key = "scalar", .dtype = TD_DT_DOUBLE, .rank = 0, .data = &scalar_d},
      {.key = "part", .dtype = TD_DT_FLOAT, .rank = 1, .dims = {2}, .data = f23, .partitioned = 1},
  };
  char *prefix = tmp_prefix(name);
  bundle_opts def = {.num_shards = 2};
  bundle_write(prefix, ts, sizeof ts / sizeof ts[0], o ? o : &def);
  return prefix;
}

static void expect_f32(const td_tensor *t, int rank, const int64_t *dims, const float *want, int n) {
  assert_int_equal(t->dtype, TD_DT_FLOAT);
  assert_int_equal(t->shape.rank, rank);
  for (int d = 0; d < rank; d++) assert_int_equal(t->shape.dim[d], dims[d]);
  for (int i = 0; i < n; i++) assert_true(td_f32(t)[i] == want[i]);
}

static void test_slices(void **state) {
  (void)state;
  char *prefix = write_small("slices", NULL);
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  td_tensor t;
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 0,1:-", &t, &st_));
  expect_f32(&t, 2, (int64_t[]){1, 3}, (float[]){0, 1, 2}, 3);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 -:1,2", &t, &st_));
  expect_f32(&t, 2, (int64_t[]){2, 2}, (float[]){1, 2, 4, 5}, 4);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 1,1:2,1", &t, &st_));
  expect_f32(&t, 2, (int64_t[]){1, 1}, (float[]){5}, 1);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 0,2:0,3", &t, &st_)); /* full extent, explicit */
  expect_f32(&t, 2, (int64_t[]){2, 3}, f23, 6);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 -:-", &t, &st_));
  expect_f32(&t, 2, (int64_t[]){2, 3}, f23, 6);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "f23", "2 3 ::0,1:::1,2", &t, &st_)); /* empty pieces skipped, like TF */
  expect_f32(&t, 2, (int64_t[]){1, 2}, (float[]){1, 2}, 2);
  td_tensor_release(&t);

  /* 3-D hyper-rectangle against a loop-computed reference */
  ASSERT_OK(td_bundle_read_slice(b, "cube", "2 3 4 1,1:0,3:1,2", &t, &st_));
  float want[6];
  int w = 0;
  for (int i = 1; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 1; k < 3; k++) want[w++] = cube[(i * 3 + j) * 4 + k];
  expect_f32(&t, 3, (int64_t[]){1, 3, 2}, want, 6);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read_slice(b, "cube", "2 3 4 -:1,2:3,1", &t, &st_));
  w = 0;
  for (int i = 0; i < 2; i++)
    for (int j = 1; j < 3; j++) want[w++] = cube[(i * 3 + j) * 4 + 3];
  expect_f32(&t, 3, (int64_t[]){2, 2, 1}, want, 4);
  td_tensor_release(&t);

  ASSERT_OK(td_bundle_read_slice(b, "i5", "5 1,3", &t, &st_));
  assert_int_equal(t.dtype, TD_DT_INT64);
  assert_int_equal(t.shape.dim[0], 3);
  assert_int_equal(td_i64(&t)[0], -20);
  assert_int_equal(td_i64(&t)[2], -40);
  td_tensor_release(&t);

  ASSERT_OK(td_bundle_read_slice(b, "s23", "2 3 -:1,2", &t, &st_));
  assert_int_equal(t.dtype, TD_DT_STRING);
  const int pick[4] = {1, 2, 4, 5};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(td_str(&t)[i].len, strlen(s23[pick[i]]));
    assert_memory_equal(td_str(&t)[i].data, s23[pick[i]], td_str(&t)[i].len);
  }
  td_tensor_release(&t);

  /* bad specs */
  expect_read_error(b, "f23", "2 3", TD_INVALID_ARGUMENT, "Expected a pair of numbers");
  expect_read_error(b, "f23", "23", TD_INVALID_ARGUMENT, "Need least two parts");
  expect_read_error(b, "f23", "x 3 -:-", TD_INVALID_ARGUMENT, "Non numerical dimension");
  expect_read_error(b, "f23", "2  3 -:-", TD_INVALID_ARGUMENT, "Non numerical dimension");
  expect_read_error(b, "f23", "2 3 -", TD_INVALID_ARGUMENT, "Mismatching ranks");
  expect_read_error(b, "f23", "2 3 -:-:-", TD_INVALID_ARGUMENT, "Mismatching ranks");
  expect_read_error(b, "f23", "2 3 0,3:-", TD_INVALID_ARGUMENT, "out of bounds");
  expect_read_error(b, "f23", "2 3 -:2,2", TD_INVALID_ARGUMENT, "out of bounds");
  expect_read_error(b, "f23", "2 3 -1,1:-", TD_INVALID_ARGUMENT, "non-negative start");
  expect_read_error(b, "f23", "2 3 0,0:-", TD_INVALID_ARGUMENT, "positive length");
  expect_read_error(b, "f23", "2 3 a,b:-", TD_INVALID_ARGUMENT, "Expected a pair of numbers");
  expect_read_error(b, "f23", "2 3 0,1,2:-", TD_INVALID_ARGUMENT, "Expected a pair of numbers");
  expect_read_error(b, "f23", "2 3 9223372036854775807,1:-", TD_INVALID_ARGUMENT, "out of bounds");
  expect_read_error(b, "f23", "2 4 -:-", TD_INVALID_ARGUMENT,
                    "tensor_name = f23; shape in shape_and_slice spec [2,4] does not match the shape stored in "
                    "checkpoint: [2,3]");
  expect_read_error(b, "f23", "1 2 3 4 5 6 7 8 9 -", TD_UNIMPLEMENTED, NULL);
  expect_read_error(b, "part", "", TD_UNIMPLEMENTED, "partitioned");
  expect_read_error(b, "missing", "2 3 -:-", TD_NOT_FOUND, "Key missing not found in checkpoint");
  td_bundle_close(b);
  free(prefix);
}

static void test_scalar_and_strings(void **state) {
  (void)state;
  char *prefix = write_small("strings", NULL);
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  assert_int_equal(td_bundle_num_entries(b), 6);
  assert_string_equal(td_bundle_key(b, 0), "cube");
  assert_string_equal(td_bundle_prefix(b), prefix);
  td_tensor t;
  ASSERT_OK(td_bundle_read(b, "scalar", &t, &st_));
  assert_int_equal(t.dtype, TD_DT_DOUBLE);
  assert_int_equal(t.shape.rank, 0);
  assert_true(td_f64(&t)[0] == 2.5);
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read(b, "s23", &t, &st_));
  for (int i = 0; i < 6; i++) {
    assert_int_equal(td_str(&t)[i].len, strlen(s23[i]));
    if (td_str(&t)[i].len) assert_memory_equal(td_str(&t)[i].data, s23[i], strlen(s23[i]));
  }
  td_tensor_release(&t);
  ASSERT_OK(td_bundle_read(b, "i5", &t, &st_)); /* shard 1 */
  assert_memory_equal(t.data, i5, sizeof i5);
  td_tensor_release(&t);
  td_bundle_close(b);
  free(prefix);
}

/* ======================= corruption ======================= */

static char *index_path_of(const char *prefix) { return td_xasprintf("%s.index", prefix); }

static void test_truncated_index(void **state) {
  (void)state;
  gen_set g;
  gen_make(&g, 40, 1);
  const int snappy_modes[] = {0, 1};
  for (int m = 0; m < 2; m++) {
    char *prefix = tmp_prefix("trunc");
    bundle_opts o = {.num_shards = 1, .sst = {.restart_interval = 4, .block_size = 300, .snappy = snappy_modes[m]}};
    bundle_write(prefix, g.ts, g.n, &o);
    char *ip = index_path_of(prefix);
    size_t n;
    uint8_t *full = slurp(ip, &n);
    for (size_t len = 0; len < n; len += (len < 64 || n - len < 64) ? 1 : 3) {
      write_file(ip, full, len);
      expect_open_error(prefix, TD_DATA_LOSS, ip);
    }
    write_file(ip, full, n);
    check_bundle_matches(prefix, &g);
    free(full);
    free(ip);
    free(prefix);
  }
  gen_free(&g);
}

static uint64_t footer_metaindex_offset(const uint8_t *f, size_t n) {
  const uint8_t *p = f + n - TD_SSTABLE_FOOTER_LEN;
  uint64_t off;
  assert_true(td_varint64_decode(&p, f + n, &off));
  return off;
}

/* Every single-byte flip inside a data block (contents or trailer) is a checksum failure; flips
 * anywhere else must not crash. */
static void test_flipped_bytes(void **state) {
  (void)state;
  gen_set g;
  gen_make(&g, 24, 2);
  for (int snappy = 0; snappy < 2; snappy++) {
    char *prefix = tmp_prefix("flip");
    bundle_opts o = {.num_shards = 2, .sst = {.restart_interval = 3, .block_size = 150, .snappy = snappy}};
    bundle_write(prefix, g.ts, g.n, &o);
    char *ip = index_path_of(prefix);
    size_t n;
    uint8_t *full = slurp(ip, &n);
    uint64_t data_end = footer_metaindex_offset(full, n);
    assert_true(data_end > 0 && data_end < n);
    int opened = 0;
    for (size_t pos = 0; pos < n; pos++) {
      full[pos] ^= 0x5a;
      write_file(ip, full, n);
      if (pos < data_end) {
        expect_open_error(prefix, TD_DATA_LOSS, NULL);
      } else {
        td_bundle *b;
        td_status st = {0};
        if (td_bundle_open(prefix, &b, &st) == TD_OK) {
          opened++; /* footer padding: harmless */
          td_bundle_close(b);
        } else {
          assert_true(strlen(st.msg) > 0);
        }
      }
      full[pos] ^= 0x5a;
    }
    print_message("snappy=%d: %zu bytes, %d flips outside blocks still open\n", snappy, n, opened);
    write_file(ip, full, n);
    check_bundle_matches(prefix, &g);
    free(full);
    free(ip);
    free(prefix);
  }
  gen_free(&g);
}

static void test_block_checksum_message(void **state) {
  (void)state;
  char *prefix = write_small("crcmsg", NULL);
  char *ip = index_path_of(prefix);
  size_t n;
  uint8_t *full = slurp(ip, &n);
  full[3] ^= 1;
  write_file(ip, full, n);
  expect_open_error(prefix, TD_DATA_LOSS, "checksum mismatch in data block");
  expect_open_error(prefix, TD_DATA_LOSS, ip);
  full[3] ^= 1;
  full[n - 1] ^= 0xff; /* magic */
  write_file(ip, full, n);
  expect_open_error(prefix, TD_DATA_LOSS, "bad magic");
  free(full);
  free(ip);
  free(prefix);
}

/* Random multi-byte mutations of the index: open either fails cleanly or yields a bundle whose
 * every read fails cleanly or succeeds. */
static void test_random_index_mutations(void **state) {
  (void)state;
  gen_set g;
  gen_make(&g, 30, 2);
  char *prefix = tmp_prefix("fuzz");
  bundle_opts o = {.num_shards = 2, .sst = {.restart_interval = 2, .block_size = 120, .snappy = 1}};
  bundle_write(prefix, g.ts, g.n, &o);
  char *ip = index_path_of(prefix);
  size_t n;
  uint8_t *full = slurp(ip, &n), *mut = malloc(n);
  uint32_t x = 4242;
  int opened = 0;
  for (int iter = 0; iter < 600; iter++) {
    memcpy(mut, full, n);
    int flips = 1 + iter % 4;
    for (int k = 0; k < flips; k++) {
      x = x * 1664525u + 1013904223u;
      size_t pos = (x >> 8) % n;
      x = x * 1664525u + 1013904223u;
      mut[pos] = (uint8_t)(x >> 24);
    }
    write_file(ip, mut, n);
    td_bundle *b;
    td_status st = {0};
    if (td_bundle_open(prefix, &b, &st) != TD_OK) {
      assert_true(strlen(st.msg) > 0);
      continue;
    }
    opened++;
    for (int i = 0; i < td_bundle_num_entries(b); i++) {
      td_tensor t;
      if (td_bundle_read(b, td_bundle_key(b, i), &t, &st) == TD_OK) td_tensor_release(&t);
    }
    td_bundle_close(b);
  }
  print_message("%d of 600 mutated indexes still opened\n", opened);
  free(mut);
  free(full);
  free(ip);
  free(prefix);
  gen_free(&g);
}

static void test_data_file_problems(void **state) {
  (void)state;
  char *prefix = write_small("datafile", NULL);
  char *d0 = td_xasprintf("%s.data-00000-of-00002", prefix), *d1 = td_xasprintf("%s.data-00001-of-00002", prefix);
  size_t n0, n1;
  uint8_t *data0 = slurp(d0, &n0), *data1 = slurp(d1, &n1);
  td_bundle *b;

  /* a flipped data byte: checksum mismatch, TF's message */
  data0[0] ^= 0x40; /* first bytes of shard 0 = f23 */
  write_file(d0, data0, n0);
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  expect_read_error(b, "f23", "", TD_DATA_LOSS, "Checksum does not match: stored");
  expect_read_error(b, "f23", "2 3 0,1:-", TD_DATA_LOSS, "calculated on the restored bytes");
  td_bundle_close(b);
  data0[0] ^= 0x40;

  /* a flipped byte in the string tensor: length checksum or entry checksum, never a crash */
  const Tensorflow__BundleEntryProto *e;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  e = td_bundle_entry(b, "s23");
  int64_t soff = e->offset, ssize = e->size;
  td_bundle_close(b);
  for (int64_t k = 0; k < ssize; k++) {
    data0[soff + k] ^= 0x81;
    write_file(d0, data0, n0);
    ASSERT_OK(td_bundle_open(prefix, &b, &st_));
    expect_read_error(b, "s23", "", TD_DATA_LOSS, NULL);
    td_bundle_close(b);
    data0[soff + k] ^= 0x81;
  }
  write_file(d0, data0, n0);

  /* truncated shard: the last entry lies past the end of the file */
  write_file(d1, data1, n1 - 3);
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  const char *last_on_1 = td_bundle_entry(b, "cube")->offset > td_bundle_entry(b, "i5")->offset ? "cube" : "i5";
  expect_read_error(b, last_on_1, "", TD_DATA_LOSS, "lies outside data shard 1");
  td_tensor t;
  ASSERT_OK(td_bundle_read(b, "f23", &t, &st_)); /* shard 0 unaffected */
  td_tensor_release(&t);
  td_bundle_close(b);

  /* missing shard file */
  unlink(d1);
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  expect_read_error(b, "i5", "", TD_NOT_FOUND, "data-00001-of-00002");
  ASSERT_OK(td_bundle_read(b, "f23", &t, &st_));
  assert_memory_equal(t.data, f23, sizeof f23);
  td_tensor_release(&t);
  td_bundle_close(b);
  write_file(d1, data1, n1);

  free(data0);
  free(data1);
  free(d0);
  free(d1);
  free(prefix);
}

static void test_header_problems(void **state) {
  (void)state;
  char *prefix = write_small("hdr", &(bundle_opts){.num_shards = 2, .big_endian = 1});
  expect_open_error(prefix, TD_UNIMPLEMENTED, "big-endian");
  free(prefix);
  prefix = write_small("hdr", &(bundle_opts){.num_shards = 2, .omit_header = 1});
  expect_open_error(prefix, TD_DATA_LOSS, "header");
  free(prefix);
  prefix = write_small("hdr", &(bundle_opts){.num_shards = 2, .min_consumer = 7});
  expect_open_error(prefix, TD_INVALID_ARGUMENT, "min consumer version 7");
  free(prefix);
  prefix = write_small("hdr", &(bundle_opts){.num_shards = 2, .sst = {.bad_type = 7}});
  expect_open_error(prefix, TD_DATA_LOSS, "unknown compression type 7");
  free(prefix);
}

/* Index files assembled from raw key/values, for entries the bundle writer would never produce. */
static void write_raw_index(const char *prefix, kv *kvs, size_t n) {
  wbuf f = {0};
  sst_opts so = {.restart_interval = 16, .block_size = 1 << 20};
  sst_build(&f, kvs, n, &so);
  char *ip = index_path_of(prefix);
  write_file(ip, f.p, f.n);
  free(ip);
  free(f.p);
}

static kv kv_header(int num_shards) {
  Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
  h.num_shards = num_shards;
  kv r = {.key = "", .key_len = 0};
  r.val_len = tensorflow__bundle_header_proto__get_packed_size(&h);
  r.val = malloc(r.val_len + 1);
  tensorflow__bundle_header_proto__pack(&h, r.val);
  return r;
}

static kv kv_entry(const char *key, const Tensorflow__BundleEntryProto *e) {
  kv r = {.key = (char *)key, .key_len = strlen(key)};
  r.val_len = tensorflow__bundle_entry_proto__get_packed_size(e);
  r.val = malloc(r.val_len + 1);
  tensorflow__bundle_entry_proto__pack(e, r.val);
  return r;
}

static void test_bad_entries(void **state) {
  (void)state;
  char *prefix = tmp_prefix("raw");
  char *d0 = td_xasprintf("%s.data-00000-of-00001", prefix);
  write_file(d0, "0123456789abcdef", 16);
  Tensorflow__TensorShapeProto__Dim dim = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, *dimp = &dim;
  Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
  shape.n_dim = 1;
  shape.dim = &dimp;
  const struct {
    const char *name;
    int dtype;
    int64_t dim, offset, size;
    int shard, unknown_rank;
    td_code code;
    const char *needle;
  } cases[] = {
      {"size_vs_shape", TD_DT_FLOAT, 3, 0, 8, 0, 0, TD_DATA_LOSS, "stores 8 bytes"},
      {"offset_past_end", TD_DT_FLOAT, 1, 14, 4, 0, 0, TD_DATA_LOSS, "lies outside data shard 0"},
      {"huge_offset", TD_DT_FLOAT, 1, INT64_MAX - 1, 4, 0, 0, TD_DATA_LOSS, "lies outside"},
      {"negative_offset", TD_DT_FLOAT, 1, -4, 4, 0, 0, TD_DATA_LOSS, "lies outside"},
      {"negative_size", TD_DT_FLOAT, 1, 0, -4, 0, 0, TD_DATA_LOSS, "lies outside"},
      {"bad_shard", TD_DT_FLOAT, 1, 0, 4, 3, 0, TD_DATA_LOSS, "shard 3"},
      {"negative_dim", TD_DT_FLOAT, -2, 0, 4, 0, 0, TD_DATA_LOSS, "negative dimension"},
      {"unknown_rank", TD_DT_FLOAT, 1, 0, 4, 0, 1, TD_DATA_LOSS, "unknown rank"},
      {"bad_dtype", 77, 1, 0, 4, 0, 0, TD_DATA_LOSS, "unsupported dtype 77"},
      {"resource", TD_DT_RESOURCE, 1, 0, 8, 0, 0, TD_DATA_LOSS, "unsupported dtype 20"},
      {"variant", TD_DT_VARIANT, 1, 0, 8, 0, 0, TD_UNIMPLEMENTED, "DT_VARIANT"},
      {"huge_shape", TD_DT_FLOAT, INT64_MAX / 2, 0, 8, 0, 0, TD_DATA_LOSS, "stores 8 bytes"},
      {"strings_too_many", TD_DT_STRING, 100, 0, 16, 0, 0, TD_DATA_LOSS, "100 elements in only 16 bytes"},
      {"strings_garbage", TD_DT_STRING, 2, 0, 16, 0, 0, TD_DATA_LOSS, NULL},
      {"crc_wrong", TD_DT_INT32, 2, 4, 8, 0, 0, TD_DATA_LOSS, "Checksum does not match"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dim.size = cases[i].dim;
    shape.unknown_rank = cases[i].unknown_rank;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)cases[i].dtype;
    e.shape = &shape;
    e.offset = cases[i].offset;
    e.size = cases[i].size;
    e.shard_id = cases[i].shard;
    e.crc32c = 12345;
    kv kvs[2] = {kv_header(1), kv_entry(cases[i].name, &e)};
    write_raw_index(prefix, kvs, 2);
    free(kvs[0].val);
    free(kvs[1].val);
    td_bundle *b;
    ASSERT_OK(td_bundle_open(prefix, &b, &st_));
    expect_read_error(b, cases[i].name, "", cases[i].code, cases[i].needle);
    td_bundle_close(b);
  }

  /* keys out of order, duplicate keys, an unparseable entry, an absurd shard count */
  Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
  kv bad[3] = {kv_header(1), kv_entry("b", &e), kv_entry("a", &e)};
  write_raw_index(prefix, bad, 3);
  expect_open_error(prefix, TD_DATA_LOSS, "increasing");
  bad[2].key = "b";
  write_raw_index(prefix, bad, 3);
  expect_open_error(prefix, TD_DATA_LOSS, "increasing");
  free(bad[1].val);
  bad[1].val = (uint8_t *)td_xstrdup("\xff\xff\xff");
  bad[1].val_len = 3;
  write_raw_index(prefix, bad, 2);
  expect_open_error(prefix, TD_DATA_LOSS, "cannot parse the BundleEntryProto of key 'b'");
  for (int i = 0; i < 3; i++) free(bad[i].val);
  kv hs[1] = {kv_header(-1)};
  write_raw_index(prefix, hs, 1);
  expect_open_error(prefix, TD_DATA_LOSS, "num_shards");
  free(hs[0].val);
  hs[0] = kv_header(1);
  write_raw_index(prefix, hs, 1); /* a header alone: a valid, empty bundle */
  td_bundle *b;
  ASSERT_OK(td_bundle_open(prefix, &b, &st_));
  assert_int_equal(td_bundle_num_entries(b), 0);
  td_bundle_close(b);
  free(hs[0].val);
  write_raw_index(prefix, NULL, 0);
  expect_open_error(prefix, TD_DATA_LOSS, "header");
  free(d0);
  free(prefix);
}

/* ======================= cache + checkpoint reader ======================= */

typedef struct reader_job {
  td_checkpoint_reader r;
  const char *prefix;
  const gen_set *g;
  int failures;
} reader_job;

static void *reader_thread(void *arg) {
  reader_job *j = arg;
  for (int rep = 0; rep < 5; rep++) {
    for (size_t i = 0; i < j->g->n; i++) {
      const wtensor *w = &j->g->ts[i];
      td_tensor t;
      td_status st = {0};
      if (j->r.read(j->r.self, j->prefix, w->key, "", w->dtype, &t, &st) != TD_OK) {
        j->failures++;
        continue;
      }
      int64_t ne = wt_nelem(w);
      if (w->dtype != TD_DT_STRING && ne > 0 && memcmp(t.data, w->data, (size_t)ne * td_dtype_size(w->dtype)))
        j->failures++;
      td_tensor_release(&t);
    }
  }
  return NULL;
}

static void test_cache_reader(void **state) {
  (void)state;
  char *prefix = write_small("cache", NULL);
  td_bundle_cache *c = td_bundle_cache_new();
  td_checkpoint_reader r = td_bundle_checkpoint_reader(c);
  td_tensor t;
  ASSERT_OK(r.read(r.self, prefix, "f23", "", TD_DT_FLOAT, &t, &st_));
  expect_f32(&t, 2, (int64_t[]){2, 3}, f23, 6);
  td_tensor_release(&t);
  ASSERT_OK(r.read(r.self, prefix, "f23", "2 3 1,1:-", TD_DT_FLOAT, &t, &st_));
  expect_f32(&t, 2, (int64_t[]){1, 3}, f23 + 3, 3);
  td_tensor_release(&t);
  td_status st = {0};
  assert_int_equal(r.read(r.self, prefix, "i5", "", TD_DT_FLOAT, &t, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "tensor_name = i5; expected dtype float does not equal original dtype int64");
  assert_int_equal(r.read(r.self, prefix, "nope", "", TD_DT_FLOAT, &t, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Key nope not found in checkpoint");
  char *missing = tmp_prefix("no_such_ckpt");
  assert_int_equal(r.read(r.self, missing, "a", "", TD_DT_FLOAT, &t, &st), TD_NOT_FOUND);
  assert_non_null(strstr(st.msg, "no_such_ckpt.index"));
  td_bundle *b1, *b2;
  ASSERT_OK(td_bundle_cache_get(c, prefix, &b1, &st_));
  ASSERT_OK(td_bundle_cache_get(c, prefix, &b2, &st_));
  assert_ptr_equal(b1, b2);

  /* concurrent reads through one cache: a 2-shard bundle opened lazily by racing threads */
  gen_set g;
  gen_make(&g, 64, 2);
  char *p2 = tmp_prefix("threads");
  bundle_opts o = {.num_shards = 2, .sst = {.restart_interval = 16, .block_size = 500}};
  bundle_write(p2, g.ts, g.n, &o);
  reader_job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (reader_job){.r = r, .prefix = p2, .g = &g};
    assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].failures, 0);
  }
  td_bundle_cache_free(c);
  gen_free(&g);
  free(p2);
  free(missing);
  free(prefix);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_checkpoints),
      cmocka_unit_test(test_fixture_walk),
      cmocka_unit_test(test_fixture_known_values),
      cmocka_unit_test(test_fixture_missing),
      cmocka_unit_test(test_roundtrip_layouts),
      cmocka_unit_test(test_slices),
      cmocka_unit_test(test_scalar_and_strings),
      cmocka_unit_test(test_truncated_index),
      cmocka_unit_test(test_flipped_bytes),
      cmocka_unit_test(test_block_checksum_message),
      cmocka_unit_test(test_random_index_mutations),
      cmocka_unit_test(test_data_file_problems),
      cmocka_unit_test(test_header_problems),
      cmocka_unit_test(test_bad_entries),
      cmocka_unit_test(test_cache_reader),
  };
  return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}
