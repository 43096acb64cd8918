/* test_parse_example.c — ParseExample / ParseExampleV2 through the real engine.
 *
 * Examples are serialized with protobuf-c (tensorflow__example__pack), independently of the
 * kernel's hand-written decoder; a few hand-encoded byte strings cover wire forms protobuf-c
 * never emits (unpacked lists, unknown fields, repeated Features). Expected outputs and TF's
 * error texts are written out literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "proto/tf.h"

/* ---------------------------------------------------------------- building Examples */

typedef struct fspec {
  const char *key;
  char kind; /* 'f' float, 'i' int64, 's' bytes, '0' Feature with no kind */
  size_t n;
  const void *vals;
} fspec;

#define FL(k, ...) {k, 'f', sizeof((float[]){__VA_ARGS__}) / sizeof(float), (float[]){__VA_ARGS__}}
#define IL(k, ...) {k, 'i', sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__}}
#define SL(k, ...) {k, 's', sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__}}

typedef struct bytes {
  uint8_t *p;
  size_t n;
} bytes;

static bytes pack_example(const fspec *fs, size_t nf) {
  Tensorflow__Example ex = TENSORFLOW__EXAMPLE__INIT;
  Tensorflow__Features feats = TENSORFLOW__FEATURES__INIT;
  Tensorflow__Features__FeatureEntry entries[16], *eptr[16];
  Tensorflow__Feature feat[16];
  Tensorflow__FloatList fl[16];
  Tensorflow__Int64List il[16];
  Tensorflow__BytesList bl[16];
  ProtobufCBinaryData bd[16][16];
  assert_true(nf <= 16);
  for (size_t i = 0; i < nf; i++) {
    tensorflow__features__feature_entry__init(&entries[i]);
    tensorflow__feature__init(&feat[i]);
    entries[i].key = (char *)fs[i].key;
    entries[i].value = &feat[i];
    eptr[i] = &entries[i];
    switch (fs[i].kind) {
      case 'f':
        tensorflow__float_list__init(&fl[i]);
        fl[i].n_value = fs[i].n;
        fl[i].value = (float *)fs[i].vals;
        feat[i].kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
        feat[i].float_list = &fl[i];
        break;
      case 'i':
        tensorflow__int64_list__init(&il[i]);
        il[i].n_value = fs[i].n;
        il[i].value = (int64_t *)fs[i].vals;
        feat[i].kind_case = TENSORFLOW__FEATURE__KIND_INT64_LIST;
        feat[i].int64_list = &il[i];
        break;
      case 's':
        tensorflow__bytes_list__init(&bl[i]);
        assert_true(fs[i].n <= 16);
        for (size_t k = 0; k < fs[i].n; k++) {
          const char *s = ((const char *const *)fs[i].vals)[k];
          bd[i][k].data = (uint8_t *)s;
          bd[i][k].len = strlen(s);
        }
        bl[i].n_value = fs[i].n;
        bl[i].value = bd[i];
        feat[i].kind_case = TENSORFLOW__FEATURE__KIND_BYTES_LIST;
        feat[i].bytes_list = &bl[i];
        break;
      default: break;
    }
  }
  feats.n_feature = nf;
  feats.feature = eptr;
  ex.features = &feats;
  bytes b;
  b.n = tensorflow__example__get_packed_size(&ex);
  b.p = malloc(b.n + 1);
  tensorflow__example__pack(&ex, b.p);
  return b;
}

#define EXAMPLE(...) pack_example((fspec[]){__VA_ARGS__}, sizeof((fspec[]){__VA_ARGS__}) / sizeof(fspec))
#define EMPTY_EXAMPLE() pack_example(NULL, 0)

/* A STRING tensor of shape [n] (rank 1) or [] (rank 0, n == 1); frees the bytes. */
static td_tensor serialized_tensor(int rank, int n, bytes *ex) {
  td_tensor t;
  int64_t dims[1] = {n};
  td_shape s = td_shape_make(rank, dims);
  assert_int_equal(td_tensor_alloc(&t, TD_DT_STRING, &s, NULL), TD_OK);
  for (int i = 0; i < n; i++) {
    td_tensor_set_string(&t, i, (const char *)ex[i].p, ex[i].n);
    free(ex[i].p);
  }
  return t;
}

static td_tensor str_scalar(const char *s) { return td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){s}); }

static td_tensor no_names(void) {
  int64_t zero = 0;
  return td_test_tensor(TD_DT_STRING, 1, &zero, NULL);
}

static td_tensor float_default(int rank, const int64_t *dims, const float *v) {
  return td_test_tensor(TD_DT_FLOAT, rank, dims, v);
}

static td_tensor empty_default(td_dtype dt) {
  int64_t zero = 0;
  return td_test_tensor(dt, 1, &zero, NULL);
}

/* ---------------------------------------------------------------- running the ops */

#define MAXF 8

typedef struct pe_config {
  int ns;
  const char *skeys[MAXF];
  td_dtype stypes[MAXF];
  int nd;
  const char *dkeys[MAXF];
  td_dtype dtypes[MAXF];
  int dranks[MAXF];
  int64_t ddims[MAXF][4];
  td_tensor ddefaults[MAXF]; /* released by the runner */
  /* V2 only */
  int nr;
  const char *rkeys[MAXF];
  td_dtype rtypes[MAXF], rsplits[MAXF];
} pe_config;

static void release_all(td_tensor *t, int n) {
  for (int i = 0; i < n; i++) td_tensor_release(&t[i]);
}

static void set_common_attrs(Tensorflow__NodeDef *nd, const pe_config *c) {
  const int64_t *dims[MAXF];
  for (int i = 0; i < c->nd; i++) dims[i] = c->ddims[i];
  td_test_attr_types(nd, "sparse_types", c->stypes, (size_t)c->ns);
  td_test_attr_types(nd, "Tdense", c->dtypes, (size_t)c->nd);
  td_test_attr_shapes(nd, "dense_shapes", (size_t)c->nd, c->dranks, dims);
}

/* Runs ParseExample (V1); takes ownership of serialized, names and the defaults. */
static td_code run_v1(pe_config *c, td_tensor serialized, td_tensor names, td_tensor *outs, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("ParseExample");
  td_test_attr_int(nd, "Nsparse", c->ns);
  td_test_attr_int(nd, "Ndense", c->nd);
  set_common_attrs(nd, c);
  td_tensor in[2 + 3 * MAXF];
  int nin = 0;
  in[nin++] = serialized;
  in[nin++] = names;
  for (int i = 0; i < c->ns; i++) in[nin++] = str_scalar(c->skeys[i]);
  for (int i = 0; i < c->nd; i++) in[nin++] = str_scalar(c->dkeys[i]);
  for (int i = 0; i < c->nd; i++) in[nin++] = c->ddefaults[i];
  td_code rc = td_test_run_op(nd, in, nin, outs, 3 * c->ns + c->nd, st);
  release_all(in, nin);
  td_test_node_free(nd);
  return rc;
}

static td_tensor key_vector(int n, const char *const *keys) {
  int64_t d = n;
  return td_test_tensor(TD_DT_STRING, 1, &d, keys);
}

/* Runs ParseExampleV2; takes ownership of serialized, names and the defaults. */
static td_code run_v2(pe_config *c, td_tensor serialized, td_tensor names, td_tensor *outs, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("ParseExampleV2");
  td_test_attr_int(nd, "num_sparse", c->ns);
  set_common_attrs(nd, c);
  td_test_attr_types(nd, "ragged_value_types", c->rtypes, (size_t)c->nr);
  td_test_attr_types(nd, "ragged_split_types", c->rsplits, (size_t)c->nr);
  td_tensor in[5 + MAXF];
  int nin = 0;
  in[nin++] = serialized;
  in[nin++] = names;
  in[nin++] = key_vector(c->ns, c->skeys);
  in[nin++] = key_vector(c->nd, c->dkeys);
  in[nin++] = key_vector(c->nr, c->rkeys);
  for (int i = 0; i < c->nd; i++) in[nin++] = c->ddefaults[i];
  td_code rc = td_test_run_op(nd, in, nin, outs, 3 * c->ns + c->nd + 2 * c->nr, st);
  release_all(in, nin);
  td_test_node_free(nd);
  return rc;
}

/* ---------------------------------------------------------------- assertions */

static void expect_shape(const td_tensor *t, int rank, const int64_t *dims) {
  assert_int_equal(t->shape.rank, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->shape.dim[i], dims[i]);
}

static void expect_floats(const td_tensor *t, size_t n, const float *v) {
  assert_int_equal(t->dtype, TD_DT_FLOAT);
  assert_int_equal(td_tensor_num_elements(t), (int64_t)n);
  for (size_t i = 0; i < n; i++) assert_true(td_f32(t)[i] == v[i]);
}

static void expect_int64s(const td_tensor *t, size_t n, const int64_t *v) {
  assert_int_equal(t->dtype, TD_DT_INT64);
  assert_int_equal(td_tensor_num_elements(t), (int64_t)n);
  for (size_t i = 0; i < n; i++) assert_int_equal(td_i64(t)[i], v[i]);
}

static void expect_strings(const td_tensor *t, size_t n, const char *const *v) {
  assert_int_equal(t->dtype, TD_DT_STRING);
  assert_int_equal(td_tensor_num_elements(t), (int64_t)n);
  for (size_t i = 0; i < n; i++) {
    td_string s = td_str(t)[i];
    assert_int_equal(s.len, strlen(v[i]));
    assert_memory_equal(s.len ? s.data : "", v[i], s.len);
  }
}

#define FLOATS(t, ...) expect_floats(t, sizeof((float[]){__VA_ARGS__}) / sizeof(float), (float[]){__VA_ARGS__})
#define INT64S(t, ...) expect_int64s(t, sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})
#define STRINGS(t, ...) \
  expect_strings(t, sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__})
#define SHAPE(t, ...) \
  expect_shape(t, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* The status message minus the executor's "\n\t [[{{node ...}}]]" suffix must equal want. */
static void expect_error(td_code rc, const td_status *st, td_code code, const char *want) {
  if (rc != code) fail_msg("code %d (%s), want %d", rc, st->msg, code);
  size_t n = strlen(want);
  if (strncmp(st->msg, want, n) != 0 || (st->msg[n] != 0 && st->msg[n] != '\n'))
    fail_msg("message:\n  got  '%s'\n  want '%s'", st->msg, want);
}

/* half_plus_two's classify/regress ParseExample: x required float [1], x2 default 0.0 [1]. */
static pe_config half_plus_two_config(void) {
  pe_config c = {0};
  c.nd = 2;
  c.dkeys[0] = "x";
  c.dkeys[1] = "x2";
  c.dtypes[0] = c.dtypes[1] = TD_DT_FLOAT;
  c.dranks[0] = c.dranks[1] = 1;
  c.ddims[0][0] = c.ddims[1][0] = 1;
  c.ddefaults[0] = empty_default(TD_DT_FLOAT);
  c.ddefaults[1] = float_default(1, (int64_t[]){1}, (float[]){0.0f});
  return c;
}

/* ---------------------------------------------------------------- V1 tests */

static void test_half_plus_two_batch(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[3] = {EXAMPLE(FL("x", 1.0f)), EXAMPLE(FL("x2", 5.0f), FL("x", 2.0f)),
                 EXAMPLE(FL("x", 3.5f), IL("unrelated", 7))};
  td_tensor out[2];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 3, ex), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], 3, 1);
  FLOATS(&out[0], 1.0f, 2.0f, 3.5f);
  SHAPE(&out[1], 3, 1);
  FLOATS(&out[1], 0.0f, 5.0f, 0.0f);
  release_all(out, 2);
}

static void test_required_missing(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[2] = {EXAMPLE(FL("x", 1.0f)), EXAMPLE(FL("x2", 1.0f))};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 2, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Feature: x (data type: float) is required but could not be found.");
}

static void test_required_missing_uses_names(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[2] = {EXAMPLE(FL("x", 1.0f)), EXAMPLE(SL("x", "oops"))};
  td_tensor out[2];
  td_status st = {0};
  int64_t two = 2;
  td_tensor names = td_test_tensor(TD_DT_STRING, 1, &two, (const char *[]){"first", "second"});
  td_code rc = run_v1(&c, serialized_tensor(1, 2, ex), names, out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: second, Key: x, Index: 1.  Data types don't match. Data type: string but expected type: float");
}

static void test_wrong_type(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[1] = {EXAMPLE(IL("x", 1))};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Key: x, Index: 0.  Data types don't match. Data type: int64 but expected type: float");
}

static void test_wrong_count(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[2] = {EXAMPLE(FL("x", 1.0f)), EXAMPLE(FL("x", 1.0f, 2.0f))};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 2, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Key: x, Index: 1.  Number of float values != expected.  Values size: 2 but "
               "output shape: [1]");
}

static void test_zero_values_for_fixed_dense(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[1] = {EXAMPLE({"x", 'f', 0, NULL})};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Key: x, Index: 0.  Number of float values != expected.  Values size: 0 but "
               "output shape: [1]");
}

static void test_feature_without_kind_counts_as_missing(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[1] = {EXAMPLE(FL("x", 4.0f), {"x2", '0', 0, NULL})};
  td_tensor out[2];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st), TD_OK);
  FLOATS(&out[0], 4.0f);
  FLOATS(&out[1], 0.0f);
  release_all(out, 2);
}

/* A large batch with float [2], int64 [] (scalar) and string [1] dense features. */
static void test_large_batch_mixed_types(void **state) {
  (void)state;
  enum { B = 200 };
  pe_config c = {0};
  c.nd = 3;
  c.dkeys[0] = "f2";
  c.dtypes[0] = TD_DT_FLOAT;
  c.dranks[0] = 1;
  c.ddims[0][0] = 2;
  c.ddefaults[0] = float_default(1, (int64_t[]){2}, (float[]){-1.0f, -2.0f});
  c.dkeys[1] = "id";
  c.dtypes[1] = TD_DT_INT64;
  c.dranks[1] = 0;
  c.ddefaults[1] = empty_default(TD_DT_INT64);
  c.dkeys[2] = "tag";
  c.dtypes[2] = TD_DT_STRING;
  c.dranks[2] = 1;
  c.ddims[2][0] = 1;
  c.ddefaults[2] = td_test_tensor(TD_DT_STRING, 1, (int64_t[]){1}, (const char *[]){"none"});
  bytes ex[B];
  char tag[B][16];
  for (int e = 0; e < B; e++) {
    snprintf(tag[e], sizeof tag[e], "t%d", e);
    if (e % 3 == 0)
      ex[e] = EXAMPLE(IL("id", (int64_t)e * 1000 - 7), FL("f2", (float)e, (float)-e), SL("tag", tag[e]));
    else
      ex[e] = EXAMPLE(IL("id", (int64_t)e * 1000 - 7));
  }
  td_tensor out[3];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, B, ex), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], B, 2);
  SHAPE(&out[1], B);
  SHAPE(&out[2], B, 1);
  for (int e = 0; e < B; e++) {
    float want0 = e % 3 == 0 ? (float)e : -1.0f, want1 = e % 3 == 0 ? (float)-e : -2.0f;
    assert_true(td_f32(&out[0])[2 * e] == want0);
    assert_true(td_f32(&out[0])[2 * e + 1] == want1);
    assert_int_equal(td_i64(&out[1])[e], (int64_t)e * 1000 - 7);
    td_string s = td_str(&out[2])[e];
    const char *want = e % 3 == 0 ? tag[e] : "none";
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.data, want, s.len);
  }
  release_all(out, 3);
}

static void test_sparse_string_feature(void **state) {
  (void)state;
  pe_config c = {0};
  c.ns = 1;
  c.skeys[0] = "a";
  c.stypes[0] = TD_DT_STRING;
  bytes ex[4] = {EXAMPLE(SL("a", "x", "y")), EMPTY_EXAMPLE(), EXAMPLE(SL("a", "z")), EXAMPLE(SL("a", ""))};
  td_tensor out[3];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 4, ex), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], 4, 2);
  INT64S(&out[0], 0, 0, 0, 1, 2, 0, 3, 0);
  STRINGS(&out[1], "x", "y", "z", "");
  INT64S(&out[2], 4, 2);
  release_all(out, 3);
}

/* stfs_estimator's layout: one sparse string `a` and one dense float `b`, plus sparse int64/float. */
static void test_sparse_and_dense_together(void **state) {
  (void)state;
  pe_config c = {0};
  c.ns = 3;
  c.skeys[0] = "a";
  c.stypes[0] = TD_DT_STRING;
  c.skeys[1] = "ids";
  c.stypes[1] = TD_DT_INT64;
  c.skeys[2] = "w";
  c.stypes[2] = TD_DT_FLOAT;
  c.nd = 1;
  c.dkeys[0] = "b";
  c.dtypes[0] = TD_DT_FLOAT;
  c.dranks[0] = 1;
  c.ddims[0][0] = 1;
  c.ddefaults[0] = empty_default(TD_DT_FLOAT);
  bytes ex[2] = {EXAMPLE(SL("a", "q"), FL("b", 0.5f), IL("ids", -5, 1LL << 40, 3)),
                 EXAMPLE(FL("b", 1.5f), FL("w", 0.25f, 0.75f))};
  td_tensor out[10];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 2, ex), no_names(), out, &st), TD_OK);
  /* indices a, ids, w; values a, ids, w; shapes a, ids, w; dense b */
  INT64S(&out[0], 0, 0);
  INT64S(&out[1], 0, 0, 0, 1, 0, 2);
  INT64S(&out[2], 1, 0, 1, 1);
  STRINGS(&out[3], "q");
  INT64S(&out[4], -5, 1LL << 40, 3);
  FLOATS(&out[5], 0.25f, 0.75f);
  INT64S(&out[6], 2, 1);
  INT64S(&out[7], 2, 3);
  INT64S(&out[8], 2, 2);
  FLOATS(&out[9], 0.5f, 1.5f);
  release_all(out, 10);
}

static void test_sparse_wrong_type(void **state) {
  (void)state;
  pe_config c = {0};
  c.ns = 1;
  c.skeys[0] = "a";
  c.stypes[0] = TD_DT_STRING;
  bytes ex[1] = {EXAMPLE(FL("a", 1.0f))};
  td_tensor out[3];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Key: a, Index: 0.  Data types don't match. Expected type: string, Actual type: float");
}

static void test_variable_length_dense(void **state) {
  (void)state;
  pe_config c = {0};
  c.nd = 2;
  c.dkeys[0] = "v";
  c.dtypes[0] = TD_DT_INT64;
  c.dranks[0] = 1;
  c.ddims[0][0] = -1;
  c.ddefaults[0] = td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){-1});
  c.dkeys[1] = "pairs";
  c.dtypes[1] = TD_DT_STRING;
  c.dranks[1] = 2;
  c.ddims[1][0] = -1;
  c.ddims[1][1] = 2;
  c.ddefaults[1] = str_scalar("pad");
  bytes ex[3] = {EXAMPLE(IL("v", 1, 2, 3), SL("pairs", "a", "b")), EXAMPLE(IL("v", 4)),
                 EXAMPLE(SL("pairs", "c", "d", "e", "f"))};
  td_tensor out[2];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 3, ex), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], 3, 3);
  INT64S(&out[0], 1, 2, 3, 4, -1, -1, -1, -1, -1);
  SHAPE(&out[1], 3, 2, 2);
  STRINGS(&out[1], "a", "b", "pad", "pad", "pad", "pad", "pad", "pad", "c", "d", "e", "f");
  release_all(out, 2);

  /* 3 values do not fill rows of 2. */
  c.nd = 1;
  c.dkeys[0] = "pairs";
  c.dtypes[0] = TD_DT_STRING;
  c.dranks[0] = 2;
  c.ddims[0][0] = -1;
  c.ddims[0][1] = 2;
  c.ddefaults[0] = str_scalar("pad");
  bytes bad[1] = {EXAMPLE(SL("pairs", "a", "b", "c"))};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, bad), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Name: <unknown>, Key: pairs, Index: 0.  Number of bytes values is not a multiple of stride length. "
               "Saw 3 values but output shape is: [?,2]");
}

static void test_empty_batch(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  c.ns = 1;
  c.skeys[0] = "s";
  c.stypes[0] = TD_DT_INT64;
  td_tensor out[5];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 0, NULL), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], 0, 2);
  SHAPE(&out[1], 0);
  INT64S(&out[2], 0, 0);
  SHAPE(&out[3], 0, 1);
  SHAPE(&out[4], 0, 1);
  release_all(out, 5);
}

/* Wire forms protobuf-c does not produce: unpacked lists, unknown fields at every level, two
 * `features` fields (merged), a repeated key (last wins), entry value before key. */
static void test_hand_encoded_wire_forms(void **state) {
  (void)state;
  static const uint8_t example[] = {
      0x18, 0x05,                         /* Example: unknown varint field 3 */
      0x0a, 0x18,                         /* features (24 bytes) */
      0x0a, 0x11,                         /*   entry (17 bytes) */
      0x0a, 0x01, 'x',                    /*     key "x" */
      0x12, 0x0c,                         /*     value Feature (12 bytes) */
      0x12, 0x0a,                         /*       float_list (10 bytes) */
      0x0d, 0x00, 0x00, 0x80, 0x3f,       /*         value 1.0 unpacked */
      0x0d, 0x00, 0x00, 0x00, 0x40,       /*         value 2.0 unpacked */
      0x25, 0x01, 0x02, 0x03, 0x04,       /*   Features: unknown fixed32 field 4 */
      0x0a, 0x11,                         /* features again (17 bytes) */
      0x0a, 0x0f,                         /*   entry (15 bytes), value first */
      0x12, 0x08,                         /*     value Feature (8 bytes) */
      0x1a, 0x06,                         /*       int64_list (6 bytes) */
      0x08, 0x07,                         /*         7 unpacked */
      0x0a, 0x02, 0x08, 0x09,             /*         packed [8, 9] */
      0x0a, 0x03, 'i', 'd', 's',          /*     key "ids" */
  };
  static const uint8_t override_x[] = {
      0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 'x', 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04, 0x00, 0x00, 0x40, 0x40,
  }; /* features{ entry{ "x": float_list{ packed [3.0] } } } */
  pe_config c = {0};
  c.ns = 1;
  c.skeys[0] = "ids";
  c.stypes[0] = TD_DT_INT64;
  c.nd = 1;
  c.dkeys[0] = "x";
  c.dtypes[0] = TD_DT_FLOAT;
  c.dranks[0] = 1;
  c.ddims[0][0] = 2;
  c.ddefaults[0] = empty_default(TD_DT_FLOAT);
  bytes ex[1] = {{malloc(sizeof example), sizeof example}};
  memcpy(ex[0].p, example, sizeof example);
  td_tensor out[4];
  td_status st = {0};
  assert_int_equal(run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st), TD_OK);
  INT64S(&out[1], 7, 8, 9);
  INT64S(&out[2], 1, 3);
  FLOATS(&out[3], 1.0f, 2.0f);
  release_all(out, 4);

  /* Appending another `features` with x = [3.0] replaces x (last map entry wins). */
  c.ddefaults[0] = empty_default(TD_DT_FLOAT);
  c.ddims[0][0] = 1;
  bytes ex2[1] = {{malloc(sizeof example + sizeof override_x), sizeof example + sizeof override_x}};
  memcpy(ex2[0].p, example, sizeof example);
  memcpy(ex2[0].p + sizeof example, override_x, sizeof override_x);
  assert_int_equal(run_v1(&c, serialized_tensor(1, 1, ex2), no_names(), out, &st), TD_OK);
  FLOATS(&out[3], 3.0f);
  release_all(out, 4);
}

static void test_garbage_input(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  static const char garbage[] = "\xff\xff\xff";
  bytes ex[1] = {{malloc(3), 3}};
  memcpy(ex[0].p, garbage, 3);
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Could not parse example input, value: '\xff\xff\xff'");
}

static void test_bad_feature_contents(void **state) {
  (void)state;
  /* entry "x" whose Feature holds a float_list with a 3-byte packed payload. */
  static const uint8_t bad[] = {0x0a, 0x0e, 0x0a, 0x0c, 0x0a, 0x01, 'x', 0x12, 0x07,
                                0x12, 0x05, 0x0a, 0x03, 0x00, 0x00, 0x00};
  pe_config c = half_plus_two_config();
  bytes ex[1] = {{malloc(sizeof bad), sizeof bad}};
  memcpy(ex[0].p, bad, sizeof bad);
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Name: <unknown>, Key: x, Index: 0.  Can't parse serialized Example.");
}

/* Every truncation and many random byte flips of a valid example: errors or success, never a
 * crash or an out-of-bounds read (run under ASan). */
static void test_truncated_and_fuzzed_inputs(void **state) {
  (void)state;
  bytes full = EXAMPLE(FL("x", 1.0f), FL("x2", 2.0f), SL("s", "hello", "world"), IL("i", 1, -2, 300));
  uint64_t rng = 12345;
  for (size_t round = 0; round < full.n + 300; round++) {
    pe_config c = half_plus_two_config();
    c.ns = 2;
    c.skeys[0] = "s";
    c.stypes[0] = TD_DT_STRING;
    c.skeys[1] = "i";
    c.stypes[1] = TD_DT_INT64;
    bytes ex[1] = {{malloc(full.n + 1), 0}};
    if (round < full.n) {
      ex[0].n = round; /* truncated */
      memcpy(ex[0].p, full.p, round);
    } else {
      ex[0].n = full.n;
      memcpy(ex[0].p, full.p, full.n);
      for (int k = 0; k < 3; k++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        ex[0].p[(rng >> 33) % full.n] = (uint8_t)(rng >> 20);
      }
    }
    td_tensor out[8];
    td_status st = {0};
    td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
    if (rc == TD_OK) release_all(out, 8);
    else assert_int_equal(rc, TD_INVALID_ARGUMENT);
  }
  free(full.p);
}

static void test_bad_default_shape(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  td_tensor_release(&c.ddefaults[1]);
  c.ddefaults[1] = td_test_tensor(TD_DT_FLOAT, 0, NULL, (float[]){0.0f});
  bytes ex[1] = {EXAMPLE(FL("x", 1.0f))};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(1, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "def_value[1].shape() == [] is not compatible with dense_shapes_[1]: [1]");
}

static void test_serialized_must_be_vector_for_v1(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[1] = {EXAMPLE(FL("x", 1.0f))};
  td_tensor out[2];
  td_status st = {0};
  td_code rc = run_v1(&c, serialized_tensor(0, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Expected serialized to be a vector, got shape: []");
}

/* ---------------------------------------------------------------- V2 tests */

static pe_config v2_config(void) {
  pe_config c = {0};
  c.ns = 1;
  c.skeys[0] = "company";
  c.stypes[0] = TD_DT_STRING;
  c.nd = 2;
  c.dkeys[0] = "fare";
  c.dtypes[0] = TD_DT_FLOAT;
  c.dranks[0] = 1;
  c.ddims[0][0] = 1;
  c.ddefaults[0] = empty_default(TD_DT_FLOAT);
  c.dkeys[1] = "trips";
  c.dtypes[1] = TD_DT_INT64;
  c.dranks[1] = 0;
  c.ddefaults[1] = td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){0});
  c.nr = 2;
  c.rkeys[0] = "tok";
  c.rtypes[0] = TD_DT_STRING;
  c.rsplits[0] = TD_DT_INT64;
  c.rkeys[1] = "w";
  c.rtypes[1] = TD_DT_FLOAT;
  c.rsplits[1] = TD_DT_INT32;
  return c;
}

static void test_v2_batch(void **state) {
  (void)state;
  pe_config c = v2_config();
  bytes ex[3] = {EXAMPLE(FL("fare", 9.5f), SL("company", "acme"), SL("tok", "a", "b"), FL("w", 1.0f)),
                 EXAMPLE(FL("fare", 3.0f), IL("trips", 4), SL("tok", "c")),
                 EXAMPLE(FL("fare", 1.0f), FL("w", 2.0f, 3.0f), SL("company", "x", "y", "z"))};
  td_tensor out[9];
  td_status st = {0};
  assert_int_equal(run_v2(&c, serialized_tensor(1, 3, ex), no_names(), out, &st), TD_OK);
  INT64S(&out[0], 0, 0, 2, 0, 2, 1, 2, 2);
  STRINGS(&out[1], "acme", "x", "y", "z");
  INT64S(&out[2], 3, 3);
  SHAPE(&out[3], 3, 1);
  FLOATS(&out[3], 9.5f, 3.0f, 1.0f);
  SHAPE(&out[4], 3);
  INT64S(&out[4], 0, 4, 0);
  STRINGS(&out[5], "a", "b", "c");
  FLOATS(&out[6], 1.0f, 2.0f, 3.0f);
  INT64S(&out[7], 0, 2, 3, 3);
  assert_int_equal(out[8].dtype, TD_DT_INT32);
  SHAPE(&out[8], 4);
  assert_int_equal(td_i32(&out[8])[0], 0);
  assert_int_equal(td_i32(&out[8])[1], 1);
  assert_int_equal(td_i32(&out[8])[2], 1);
  assert_int_equal(td_i32(&out[8])[3], 3);
  release_all(out, 9);
}

static void test_v2_scalar_input(void **state) {
  (void)state;
  pe_config c = v2_config();
  bytes ex[1] = {EXAMPLE(FL("fare", 9.5f), SL("company", "acme", "corp"), SL("tok", "a", "b"))};
  td_tensor out[9];
  td_status st = {0};
  assert_int_equal(run_v2(&c, serialized_tensor(0, 1, ex), no_names(), out, &st), TD_OK);
  SHAPE(&out[0], 2, 1);
  INT64S(&out[0], 0, 1);
  STRINGS(&out[1], "acme", "corp");
  SHAPE(&out[2], 1);
  INT64S(&out[2], 2);
  SHAPE(&out[3], 1);
  FLOATS(&out[3], 9.5f);
  SHAPE(&out[4]);
  INT64S(&out[4], 0);
  STRINGS(&out[5], "a", "b");
  SHAPE(&out[6], 0);
  release_all(out, 9);
}

static void test_v2_scalar_errors(void **state) {
  (void)state;
  pe_config c = v2_config();
  bytes ex[1] = {EXAMPLE(IL("trips", 1))};
  td_tensor out[9];
  td_status st = {0};
  td_code rc = run_v2(&c, serialized_tensor(0, 1, ex), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Feature: fare (data type: float) is required but could not be found.");

  c = v2_config();
  bytes ex2[1] = {EXAMPLE(FL("fare", 1.0f, 2.0f))};
  rc = run_v2(&c, serialized_tensor(0, 1, ex2), no_names(), out, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT,
               "Key: fare.  Number of float values != expected.  Values size: 2 but output shape: [1]");
}

static void test_v2_half_plus_two_vector(void **state) {
  (void)state;
  pe_config c = half_plus_two_config();
  bytes ex[2] = {EXAMPLE(FL("x", 1.0f)), EXAMPLE(FL("x", 2.0f), FL("x2", 3.0f))};
  td_tensor out[2];
  td_status st = {0};
  assert_int_equal(run_v2(&c, serialized_tensor(1, 2, ex), no_names(), out, &st), TD_OK);
  FLOATS(&out[0], 1.0f, 2.0f);
  FLOATS(&out[1], 0.0f, 3.0f);
  release_all(out, 2);
}

/* ---------------------------------------------------------------- ParseSingleExample */

/* Adds a list(string) attr (heap-allocated: td_test_node_free releases it). */
static void attr_strings(Tensorflow__NodeDef *nd, const char *name, size_t n, const char *const *v) {
  td_test_attr_types(nd, name, NULL, 0); /* creates an empty list attr we then fill */
  Tensorflow__AttrValue__ListValue *l = nd->attr[nd->n_attr - 1]->value->list;
  l->n_s = n;
  l->s = calloc(n + 1, sizeof *l->s);
  for (size_t i = 0; i < n; i++) {
    l->s[i].len = strlen(v[i]);
    l->s[i].data = (uint8_t *)strdup(v[i]);
  }
}

static void test_parse_single_example(void **state) {
  (void)state;
  Tensorflow__NodeDef *nd = td_test_node_new("ParseSingleExample");
  td_test_attr_int(nd, "num_sparse", 1);
  attr_strings(nd, "sparse_keys", 1, (const char *[]){"s"});
  attr_strings(nd, "dense_keys", 2, (const char *[]){"x", "y"});
  td_test_attr_types(nd, "sparse_types", (td_dtype[]){TD_DT_INT64}, 1);
  td_test_attr_types(nd, "Tdense", (td_dtype[]){TD_DT_FLOAT, TD_DT_STRING}, 2);
  td_test_attr_shapes(nd, "dense_shapes", 2, (int[]){1, 0}, (const int64_t *const[]){(int64_t[]){2}, NULL});
  bytes ex[1] = {EXAMPLE(FL("x", 1.0f, 2.0f), IL("s", 5, 6, 7))};
  td_tensor in[3] = {serialized_tensor(0, 1, ex), empty_default(TD_DT_FLOAT), str_scalar("none")};
  td_tensor out[5];
  td_status st = {0};
  assert_int_equal(td_test_run_op(nd, in, 3, out, 5, &st), TD_OK);
  SHAPE(&out[0], 3, 1);
  INT64S(&out[0], 0, 1, 2);
  INT64S(&out[1], 5, 6, 7);
  INT64S(&out[2], 3);
  SHAPE(&out[3], 2);
  FLOATS(&out[3], 1.0f, 2.0f);
  SHAPE(&out[4]);
  STRINGS(&out[4], "none");
  release_all(out, 5);

  bytes ex2[1] = {EXAMPLE(SL("x", "a", "b"))};
  td_tensor_release(&in[0]);
  in[0] = serialized_tensor(0, 1, ex2);
  td_code rc = td_test_run_op(nd, in, 3, out, 5, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Key: x.  Data types don't match. Data type: string but expected type: float");
  release_all(in, 3);
  td_test_node_free(nd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_half_plus_two_batch),
      cmocka_unit_test(test_required_missing),
      cmocka_unit_test(test_required_missing_uses_names),
      cmocka_unit_test(test_wrong_type),
      cmocka_unit_test(test_wrong_count),
      cmocka_unit_test(test_zero_values_for_fixed_dense),
      cmocka_unit_test(test_feature_without_kind_counts_as_missing),
      cmocka_unit_test(test_large_batch_mixed_types),
      cmocka_unit_test(test_sparse_string_feature),
      cmocka_unit_test(test_sparse_and_dense_together),
      cmocka_unit_test(test_sparse_wrong_type),
      cmocka_unit_test(test_variable_length_dense),
      cmocka_unit_test(test_empty_batch),
      cmocka_unit_test(test_hand_encoded_wire_forms),
      cmocka_unit_test(test_garbage_input),
      cmocka_unit_test(test_bad_feature_contents),
      cmocka_unit_test(test_truncated_and_fuzzed_inputs),
      cmocka_unit_test(test_bad_default_shape),
      cmocka_unit_test(test_serialized_must_be_vector_for_v1),
      cmocka_unit_test(test_v2_batch),
      cmocka_unit_test(test_v2_scalar_input),
      cmocka_unit_test(test_v2_scalar_errors),
      cmocka_unit_test(test_v2_half_plus_two_vector),
      cmocka_unit_test(test_parse_single_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
