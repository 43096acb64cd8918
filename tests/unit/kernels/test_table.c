/* test_table.c — lookup table kernels through real sessions: a graph with a table node, its
 * initializer(s) and lookups; the initializer runs as a target, then lookups are fetched (also
 * from several threads at once through one callable). Vocabulary files are written to a temp
 * directory by the test. Expected values are spelled out literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- graph building */

typedef struct graph {
  Tensorflow__NodeDef *nodes[32];
  int n;
} graph;

static Tensorflow__NodeDef *add_node(graph *g, const char *name, const char *op, int nin, ...) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  free(nd->name);
  nd->name = td_xstrdup(name);
  va_list ap;
  va_start(ap, nin);
  nd->n_input = (size_t)nin;
  nd->input = td_xcalloc((size_t)nin + 1, sizeof *nd->input);
  for (int i = 0; i < nin; i++) nd->input[i] = td_xstrdup(va_arg(ap, const char *));
  va_end(ap);
  assert_true(g->n < 32);
  g->nodes[g->n++] = nd;
  return nd;
}

static void add_const(graph *g, const char *name, td_tensor t) {
  Tensorflow__NodeDef *nd = add_node(g, name, "Const", 0);
  td_test_attr_type(nd, "dtype", t.dtype);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
}

static void add_placeholder(graph *g, const char *name, td_dtype dt) {
  Tensorflow__NodeDef *nd = add_node(g, name, "Placeholder", 0);
  td_test_attr_type(nd, "dtype", dt);
}

static void add_table(graph *g, const char *name, const char *op, td_dtype k, td_dtype v, const char *shared) {
  Tensorflow__NodeDef *nd = add_node(g, name, op, 0);
  td_test_attr_type(nd, "key_dtype", k);
  td_test_attr_type(nd, "value_dtype", v);
  if (shared) td_test_attr_str(nd, "shared_name", shared);
}

static void add_find(graph *g, const char *name, const char *op, const char *table, const char *keys,
                     const char *dflt, td_dtype k, td_dtype v) {
  Tensorflow__NodeDef *nd = add_node(g, name, op, 3, table, keys, dflt);
  td_test_attr_type(nd, "Tin", k);
  td_test_attr_type(nd, "Tout", v);
}

static void add_init(graph *g, const char *name, const char *op, const char *table, const char *keys,
                     const char *values, td_dtype k, td_dtype v) {
  Tensorflow__NodeDef *nd = add_node(g, name, op, 3, table, keys, values);
  const int v2_import = strstr(op, "Import") || strstr(op, "Insert");
  td_test_attr_type(nd, v2_import ? "Tin" : "Tkey", k);
  td_test_attr_type(nd, v2_import ? "Tout" : "Tval", v);
}

typedef struct session {
  Tensorflow__GraphDef gd;
  td_session *s;
} session;

static void open_session(graph *g, session *s) {
  tensorflow__graph_def__init(&s->gd);
  s->gd.n_node = (size_t)g->n;
  s->gd.node = g->nodes;
  td_graph *gr;
  td_status st = {0};
  if (td_graph_import(&s->gd, &gr, &st) != TD_OK) fail_msg("import: %s", st.msg);
  if (td_session_new(gr, NULL, &s->s, &st) != TD_OK) fail_msg("session: %s", st.msg);
}

static void close_session(graph *g, session *s) {
  td_session_free(s->s);
  for (int i = 0; i < g->n; i++) td_test_node_free(g->nodes[i]);
  g->n = 0;
}

static td_code run_target(session *s, const char *target, td_status *st) {
  return td_session_run(s->s, NULL, NULL, 0, NULL, NULL, 0, (const char *const[]){target}, 1, st);
}

static td_code fetch1(session *s, const char *feed, td_tensor in, const char *fetch, td_tensor *out, td_status *st) {
  td_code rc = td_session_run(s->s, (const char *const[]){feed}, &in, feed ? 1 : 0, (const char *const[]){fetch},
                              out, 1, NULL, 0, st);
  td_tensor_release(&in);
  return rc;
}

static td_tensor strs(int n, const char *const *v) {
  int64_t d = n;
  return td_test_tensor(TD_DT_STRING, 1, &d, v);
}

static td_tensor i64s(int n, const int64_t *v) {
  int64_t d = n;
  return td_test_tensor(TD_DT_INT64, 1, &d, v);
}

#define STRS(...) strs(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__})
#define I64S(...) i64s(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__})

static void expect_i64(const td_tensor *t, int n, const int64_t *v) {
  assert_int_equal(t->dtype, TD_DT_INT64);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) assert_int_equal(td_i64(t)[i], v[i]);
}

static void expect_str(const td_tensor *t, int n, const char *const *v) {
  assert_int_equal(t->dtype, TD_DT_STRING);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    td_string s = td_str(t)[i];
    if (s.len != strlen(v[i]) || memcmp(s.len ? s.data : "", v[i], s.len))
      fail_msg("element %d: got '%.*s' want '%s'", i, (int)s.len, s.data, v[i]);
  }
}

#define EXPECT_I64(t, ...) \
  expect_i64(t, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})
#define EXPECT_STR(t, ...) \
  expect_str(t, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__})

static void expect_error(td_code rc, const td_status *st, td_code code, const char *want) {
  if (rc != code) fail_msg("code %d (%s), want %d", rc, st->msg, code);
  size_t n = strlen(want);
  if (strncmp(st->msg, want, n) != 0 || (st->msg[n] != 0 && st->msg[n] != '\n'))
    fail_msg("message:\n  got  '%s'\n  want '%s'", st->msg, want);
}

/* Writes text into a fresh temp file; returns its heap path. */
static char *temp_file(const char *text) {
  char *path = td_xstrdup("/tmp/td_table_test_XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  size_t n = strlen(text);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
  return path;
}

/* ---------------------------------------------------------------- tests */

static void test_string_to_int64_initialize_and_find(void **state) {
  (void)state;
  graph g = {0};
  add_table(&g, "table", "HashTableV2", TD_DT_STRING, TD_DT_INT64, NULL);
  add_const(&g, "keys", STRS("apple", "banana", ""));
  add_const(&g, "vals", I64S(10, 20, 30));
  add_init(&g, "init", "InitializeTableV2", "table", "keys", "vals", TD_DT_STRING, TD_DT_INT64);
  add_placeholder(&g, "q", TD_DT_STRING);
  add_const(&g, "dflt", td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){-1}));
  add_find(&g, "find", "LookupTableFindV2", "table", "q", "dflt", TD_DT_STRING, TD_DT_INT64);
  add_node(&g, "size", "LookupTableSizeV2", 1, "table");
  add_placeholder(&g, "qi", TD_DT_INT64);
  add_find(&g, "find_int", "LookupTableFindV2", "table", "qi", "dflt", TD_DT_INT64, TD_DT_INT64);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;

  assert_int_equal(fetch1(&s, NULL, (td_tensor){0}, "size", &out, &st), TD_OK);
  EXPECT_I64(&out, 0);
  td_tensor_release(&out);
  expect_error(fetch1(&s, "q", STRS("apple"), "find", &out, &st), &st, TD_FAILED_PRECONDITION,
               "Table not initialized.");

  assert_int_equal(run_target(&s, "init", &st), TD_OK);
  assert_int_equal(run_target(&s, "init", &st), TD_OK); /* same data again: a no-op */
  int64_t dims[2] = {2, 2};
  td_tensor q = td_test_tensor(TD_DT_STRING, 2, dims, (const char *[]){"banana", "cherry", "", "apple"});
  assert_int_equal(fetch1(&s, "q", q, "find", &out, &st), TD_OK);
  assert_int_equal(out.shape.rank, 2);
  EXPECT_I64(&out, 20, -1, 30, 10);
  td_tensor_release(&out);
  assert_int_equal(fetch1(&s, NULL, (td_tensor){0}, "size", &out, &st), TD_OK);
  EXPECT_I64(&out, 3);
  td_tensor_release(&out);

  /* Wrong key type. */
  expect_error(fetch1(&s, "qi", I64S(1), "find_int", &out, &st), &st, TD_INVALID_ARGUMENT,
               "Key must be type string but got int64");
  close_session(&g, &s);
}

static void test_v1_int64_to_string_and_different_reinit(void **state) {
  (void)state;
  graph g = {0};
  add_table(&g, "table", "HashTable", TD_DT_INT64, TD_DT_STRING, "shared_vocab");
  add_const(&g, "keys", I64S(3, 1, 2));
  add_const(&g, "vals", STRS("three", "one", "two"));
  add_const(&g, "keys2", I64S(3));
  add_const(&g, "vals2", STRS("tres"));
  add_init(&g, "init", "InitializeTable", "table", "keys", "vals", TD_DT_INT64, TD_DT_STRING);
  add_init(&g, "init2", "InitializeTable", "table", "keys2", "vals2", TD_DT_INT64, TD_DT_STRING);
  add_placeholder(&g, "q", TD_DT_INT64);
  add_const(&g, "dflt", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){"UNK"}));
  add_find(&g, "find", "LookupTableFind", "table", "q", "dflt", TD_DT_INT64, TD_DT_STRING);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;
  assert_int_equal(run_target(&s, "init", &st), TD_OK);
  expect_error(run_target(&s, "init2", &st), &st, TD_FAILED_PRECONDITION,
               "Table was already initialized with different data.");
  assert_int_equal(fetch1(&s, "q", I64S(1, 2, 3, 4, -9), "find", &out, &st), TD_OK);
  EXPECT_STR(&out, "one", "two", "three", "UNK", "UNK");
  td_tensor_release(&out);
  close_session(&g, &s);
}

static void test_duplicate_key_with_different_value(void **state) {
  (void)state;
  graph g = {0};
  add_table(&g, "table", "HashTableV2", TD_DT_STRING, TD_DT_INT64, NULL);
  add_const(&g, "keys", STRS("a", "b", "a"));
  add_const(&g, "vals", I64S(1, 2, 7));
  add_init(&g, "init", "InitializeTableV2", "table", "keys", "vals", TD_DT_STRING, TD_DT_INT64);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  expect_error(run_target(&s, "init", &st), &st, TD_FAILED_PRECONDITION,
               "HashTable has different value for same key. Key a has 1 and trying to add value 7");
  close_session(&g, &s);
}

static void test_text_file_whole_line_to_line_number(void **state) {
  (void)state;
  char *path = temp_file("apple\nbanana\r\ncherry\nlast without newline");
  graph g = {0};
  add_table(&g, "table", "HashTableV2", TD_DT_STRING, TD_DT_INT64, NULL);
  add_const(&g, "file", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){path}));
  Tensorflow__NodeDef *init = add_node(&g, "init", "InitializeTableFromTextFileV2", 2, "table", "file");
  td_test_attr_int(init, "key_index", -2);
  td_test_attr_int(init, "value_index", -1);
  add_placeholder(&g, "q", TD_DT_STRING);
  add_const(&g, "dflt", td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){-1}));
  add_find(&g, "find", "LookupTableFindV2", "table", "q", "dflt", TD_DT_STRING, TD_DT_INT64);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;
  if (run_target(&s, "init", &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(fetch1(&s, "q", STRS("cherry", "banana", "apple", "durian", "last without newline"), "find",
                          &out, &st),
                   TD_OK);
  EXPECT_I64(&out, 2, 1, 0, -1, 3);
  td_tensor_release(&out);
  close_session(&g, &s);
  unlink(path);
  free(path);
}

/* Columns: key_index 1 (int64), value_index 0 (string); offset shifts line numbers; vocab_size. */
static void test_text_file_columns_and_vocab_size(void **state) {
  (void)state;
  char *path = temp_file("zero,0\none,1\ntwo,2\nthree,3\n");
  graph g = {0};
  add_table(&g, "table", "HashTableV2", TD_DT_INT64, TD_DT_STRING, NULL);
  add_const(&g, "file", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){path}));
  Tensorflow__NodeDef *init = add_node(&g, "init", "InitializeTableFromTextFileV2", 2, "table", "file");
  td_test_attr_int(init, "key_index", 1);
  td_test_attr_int(init, "value_index", 0);
  td_test_attr_int(init, "vocab_size", 3);
  td_test_attr_str(init, "delimiter", ",");
  add_placeholder(&g, "q", TD_DT_INT64);
  add_const(&g, "dflt", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){"?"}));
  add_find(&g, "find", "LookupTableFindV2", "table", "q", "dflt", TD_DT_INT64, TD_DT_STRING);
  add_node(&g, "size", "LookupTableSizeV2", 1, "table");
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;
  if (run_target(&s, "init", &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(fetch1(&s, "q", I64S(0, 1, 2, 3), "find", &out, &st), TD_OK);
  EXPECT_STR(&out, "zero", "one", "two", "?");
  td_tensor_release(&out);
  assert_int_equal(fetch1(&s, NULL, (td_tensor){0}, "size", &out, &st), TD_OK);
  EXPECT_I64(&out, 3);
  td_tensor_release(&out);
  close_session(&g, &s);
  unlink(path);
  free(path);
}

static td_code init_from_text(const char *text, td_dtype k, td_dtype v, int64_t key_index, int64_t value_index,
                              int64_t vocab_size, char **path_out, td_status *st) {
  char *path = temp_file(text);
  graph g = {0};
  add_table(&g, "table", "HashTableV2", k, v, NULL);
  add_const(&g, "file", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){path}));
  Tensorflow__NodeDef *init = add_node(&g, "init", "InitializeTableFromTextFileV2", 2, "table", "file");
  td_test_attr_int(init, "key_index", key_index);
  td_test_attr_int(init, "value_index", value_index);
  td_test_attr_int(init, "vocab_size", vocab_size);
  session s;
  open_session(&g, &s);
  td_code rc = run_target(&s, "init", st);
  close_session(&g, &s);
  unlink(path);
  *path_out = path;
  return rc;
}

static void test_text_file_errors(void **state) {
  (void)state;
  td_status st = {0};
  char *path, want[512];

  td_code rc = init_from_text("a\n\nb\n", TD_DT_STRING, TD_DT_INT64, -2, -1, -1, &path, &st);
  snprintf(want, sizeof want, "Invalid content in %s: empty line found at position 3.", path);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, want);
  free(path);

  rc = init_from_text("a\nb\n", TD_DT_STRING, TD_DT_INT64, -2, -1, 3, &path, &st);
  snprintf(want, sizeof want, "Invalid vocab_size in %s: expected 3 but got 2", path);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, want);
  free(path);

  rc = init_from_text("x\t1\ny\tnope\n", TD_DT_STRING, TD_DT_INT64, 0, 1, -1, &path, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Field 1 in line 1 is not a valid int64."); /* never the bytes */
  free(path);

  rc = init_from_text("x\t1\ny\n", TD_DT_STRING, TD_DT_INT64, 0, 1, -1, &path, &st);
  snprintf(want, sizeof want, "Invalid number of columns in %s line 1 : expected 1 got 1", path);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, want);
  free(path);

  rc = init_from_text("dup\nx\ndup\n", TD_DT_STRING, TD_DT_INT64, -2, -1, -1, &path, &st);
  expect_error(rc, &st, TD_FAILED_PRECONDITION,
               "HashTable has different value for same key. Key dup has 0 and trying to add value 2");
  free(path);

  rc = init_from_text("a\n", TD_DT_STRING, TD_DT_STRING, -2, -1, -1, &path, &st);
  expect_error(rc, &st, TD_INVALID_ARGUMENT, "Value index for line number requires table value dtype of int64, got string");
  free(path);

  /* string → float from column 1 works, and float parsing is TF's. */
  rc = init_from_text("w\t0.25\nv\t-1e3\n", TD_DT_STRING, TD_DT_FLOAT, 0, 1, -1, &path, &st);
  assert_int_equal(rc, TD_OK);
  free(path);

  rc = init_from_text("a\n", TD_DT_STRING, TD_DT_INT64, -2, -1, -1, &path, &st);
  assert_int_equal(rc, TD_OK);
  free(path);
}

static void test_string_to_float_and_int64_to_int64(void **state) {
  (void)state;
  graph g = {0};
  add_table(&g, "tf", "HashTableV2", TD_DT_STRING, TD_DT_FLOAT, NULL);
  add_const(&g, "fk", STRS("w", "v"));
  add_const(&g, "fv", td_test_tensor(TD_DT_FLOAT, 1, (int64_t[]){2}, (float[]){0.25f, -3.5f}));
  add_init(&g, "finit", "InitializeTableV2", "tf", "fk", "fv", TD_DT_STRING, TD_DT_FLOAT);
  add_placeholder(&g, "fq", TD_DT_STRING);
  /* A default per key (same shape as the keys). */
  add_const(&g, "fd", td_test_tensor(TD_DT_FLOAT, 1, (int64_t[]){3}, (float[]){7.0f, 8.0f, 9.0f}));
  add_find(&g, "ffind", "LookupTableFindV2", "tf", "fq", "fd", TD_DT_STRING, TD_DT_FLOAT);

  add_table(&g, "ti", "HashTableV2", TD_DT_INT64, TD_DT_INT64, NULL);
  add_const(&g, "ik", I64S(-5, 1LL << 40));
  add_const(&g, "iv", I64S(50, 4));
  add_init(&g, "iinit", "LookupTableImportV2", "ti", "ik", "iv", TD_DT_INT64, TD_DT_INT64);
  add_placeholder(&g, "iq", TD_DT_INT64);
  add_const(&g, "id", td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){0}));
  add_find(&g, "ifind", "LookupTableFindV2", "ti", "iq", "id", TD_DT_INT64, TD_DT_INT64);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;
  if (run_target(&s, "finit", &st) != TD_OK) fail_msg("%s", st.msg);
  if (run_target(&s, "iinit", &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(fetch1(&s, "fq", STRS("v", "x", "w"), "ffind", &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_FLOAT);
  assert_true(td_f32(&out)[0] == -3.5f && td_f32(&out)[1] == 8.0f && td_f32(&out)[2] == 0.25f);
  td_tensor_release(&out);
  assert_int_equal(fetch1(&s, "iq", I64S(1LL << 40, 2, -5), "ifind", &out, &st), TD_OK);
  EXPECT_I64(&out, 4, 0, 50);
  td_tensor_release(&out);
  close_session(&g, &s);
}

static void test_mutable_insert_export(void **state) {
  (void)state;
  graph g = {0};
  add_table(&g, "table", "MutableHashTableV2", TD_DT_STRING, TD_DT_STRING, NULL);
  add_const(&g, "k1", STRS("a", "b"));
  add_const(&g, "v1", STRS("A", "B"));
  add_const(&g, "k2", STRS("b", "c"));
  add_const(&g, "v2", STRS("BB", "C"));
  add_init(&g, "ins1", "LookupTableInsertV2", "table", "k1", "v1", TD_DT_STRING, TD_DT_STRING);
  add_init(&g, "ins2", "LookupTableInsertV2", "table", "k2", "v2", TD_DT_STRING, TD_DT_STRING);
  add_placeholder(&g, "q", TD_DT_STRING);
  add_const(&g, "dflt", td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){"-"}));
  add_find(&g, "find", "LookupTableFindV2", "table", "q", "dflt", TD_DT_STRING, TD_DT_STRING);
  Tensorflow__NodeDef *ex = add_node(&g, "export", "LookupTableExportV2", 1, "table");
  td_test_attr_type(ex, "Tkeys", TD_DT_STRING);
  td_test_attr_type(ex, "Tvalues", TD_DT_STRING);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  td_tensor out;
  assert_int_equal(fetch1(&s, "q", STRS("a"), "find", &out, &st), TD_OK); /* empty mutable table: defaults */
  EXPECT_STR(&out, "-");
  td_tensor_release(&out);
  assert_int_equal(run_target(&s, "ins1", &st), TD_OK);
  assert_int_equal(run_target(&s, "ins2", &st), TD_OK);
  assert_int_equal(fetch1(&s, "q", STRS("a", "b", "c", "d"), "find", &out, &st), TD_OK);
  EXPECT_STR(&out, "A", "BB", "C", "-");
  td_tensor_release(&out);
  td_tensor kv[2];
  assert_int_equal(td_session_run(s.s, NULL, NULL, 0, (const char *const[]){"export:0", "export:1"}, kv, 2, NULL, 0,
                                  &st),
                   TD_OK);
  EXPECT_STR(&kv[0], "a", "b", "c");
  EXPECT_STR(&kv[1], "A", "BB", "C");
  td_tensor_release(&kv[0]);
  td_tensor_release(&kv[1]);
  close_session(&g, &s);
}

/* Many threads look up through one callable while nothing writes. */
typedef struct lookup_thread {
  td_callable *c;
  int failures;
} lookup_thread;

static void *lookup_worker(void *arg) {
  lookup_thread *lt = arg;
  for (int it = 0; it < 200; it++) {
    char key[16];
    snprintf(key, sizeof key, "w%d", it % 150);
    td_tensor q = STRS(key), out;
    td_status st = {0};
    if (td_callable_run(lt->c, &q, &out, &st) != TD_OK) lt->failures++;
    else {
      int64_t want = it % 150 < 100 ? it % 150 : -1;
      if (td_i64(&out)[0] != want) lt->failures++;
      td_tensor_release(&out);
    }
    td_tensor_release(&q);
  }
  return NULL;
}

static void test_concurrent_lookups(void **state) {
  (void)state;
  const char *keys[100];
  char buf[100][8];
  int64_t vals[100];
  for (int i = 0; i < 100; i++) {
    snprintf(buf[i], sizeof buf[i], "w%d", i);
    keys[i] = buf[i];
    vals[i] = i;
  }
  graph g = {0};
  add_table(&g, "table", "HashTableV2", TD_DT_STRING, TD_DT_INT64, "big");
  add_const(&g, "keys", strs(100, keys));
  add_const(&g, "vals", i64s(100, vals));
  add_init(&g, "init", "InitializeTableV2", "table", "keys", "vals", TD_DT_STRING, TD_DT_INT64);
  add_placeholder(&g, "q", TD_DT_STRING);
  add_const(&g, "dflt", td_test_tensor(TD_DT_INT64, 0, NULL, (int64_t[]){-1}));
  add_find(&g, "find", "LookupTableFindV2", "table", "q", "dflt", TD_DT_STRING, TD_DT_INT64);
  session s;
  open_session(&g, &s);
  td_status st = {0};
  assert_int_equal(run_target(&s, "init", &st), TD_OK);
  td_callable *c;
  assert_int_equal(td_session_make_callable(s.s, (const char *const[]){"q"}, 1, (const char *const[]){"find"}, 1,
                                            NULL, 0, &c, &st),
                   TD_OK);
  pthread_t th[4];
  lookup_thread lt[4];
  for (int i = 0; i < 4; i++) {
    lt[i] = (lookup_thread){c, 0};
    pthread_create(&th[i], NULL, lookup_worker, &lt[i]);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(lt[i].failures, 0);
  }
  td_callable_free(c);
  close_session(&g, &s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_string_to_int64_initialize_and_find),
      cmocka_unit_test(test_v1_int64_to_string_and_different_reinit),
      cmocka_unit_test(test_duplicate_key_with_different_value),
      cmocka_unit_test(test_text_file_whole_line_to_line_number),
      cmocka_unit_test(test_text_file_columns_and_vocab_size),
      cmocka_unit_test(test_text_file_errors),
      cmocka_unit_test(test_string_to_float_and_int64_to_int64),
      cmocka_unit_test(test_mutable_insert_export),
      cmocka_unit_test(test_concurrent_lookups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
