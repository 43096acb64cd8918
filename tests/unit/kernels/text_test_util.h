/* text_test_util.h — helpers for the text / ragged kernel tests (test_text_*.c): tensor
 * constructors, expectations on string / int / float outputs and TF error texts, a
 * list(string) attr, and a runner that frees its inputs and NodeDef. Test thread only. */
#ifndef TD_TESTS_TEXT_TEST_UTIL_H
#define TD_TESTS_TEXT_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"

#define NARGS(type, ...) (int)(sizeof((type[]){__VA_ARGS__}) / sizeof(type))

static inline td_tensor tt_vec(td_dtype dt, int64_t n, const void *v) { return td_test_tensor(dt, 1, &n, v); }
#define STRS(...) tt_vec(TD_DT_STRING, NARGS(const char *, __VA_ARGS__), (const char *[]){__VA_ARGS__})
#define I32S(...) tt_vec(TD_DT_INT32, NARGS(int32_t, __VA_ARGS__), (int32_t[]){__VA_ARGS__})
#define I64S(...) tt_vec(TD_DT_INT64, NARGS(int64_t, __VA_ARGS__), (int64_t[]){__VA_ARGS__})
#define F32S(...) tt_vec(TD_DT_FLOAT, NARGS(float, __VA_ARGS__), (float[]){__VA_ARGS__})
static inline td_tensor tt_str(const char *s) { return td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){s}); }
static inline td_tensor tt_i32(int32_t v) { return td_test_tensor(TD_DT_INT32, 0, NULL, &v); }
static inline td_tensor tt_i64(int64_t v) { return td_test_tensor(TD_DT_INT64, 0, NULL, &v); }
static inline td_tensor tt_empty(td_dtype dt) { return tt_vec(dt, 0, NULL); }

/* Runs nd on in[0..nin) (released, nd freed) fetching nout outputs. */
static inline td_code tt_run(Tensorflow__NodeDef *nd, td_tensor *in, int nin, td_tensor *out, int nout, td_status *st) {
  td_code rc = td_test_run_op(nd, in, nin, out, nout, st);
  for (int i = 0; i < nin; i++) td_tensor_release(&in[i]);
  td_test_node_free(nd);
  return rc;
}
static inline void tt_release(td_tensor *t, int n) {
  for (int i = 0; i < n; i++) td_tensor_release(&t[i]);
}

/* A list(string) attr (e.g. row_partition_types). */
static inline void tt_attr_strs(Tensorflow__NodeDef *nd, const char *name, size_t n, const char *const *v) {
  Tensorflow__NodeDef__AttrEntry *e = malloc(sizeof *e);
  tensorflow__node_def__attr_entry__init(e);
  e->key = strdup(name);
  e->value = malloc(sizeof *e->value);
  tensorflow__attr_value__init(e->value);
  e->value->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
  e->value->list = malloc(sizeof *e->value->list);
  tensorflow__attr_value__list_value__init(e->value->list);
  e->value->list->n_s = n;
  e->value->list->s = calloc(n + 1, sizeof *e->value->list->s);
  for (size_t i = 0; i < n; i++) {
    e->value->list->s[i].len = strlen(v[i]);
    e->value->list->s[i].data = (uint8_t *)strdup(v[i]);
  }
  nd->attr = realloc(nd->attr, (nd->n_attr + 1) * sizeof *nd->attr);
  nd->attr[nd->n_attr++] = e;
}

static inline void tt_expect_shape(const td_tensor *t, int rank, const int64_t *dims) {
  assert_int_equal(t->shape.rank, rank);
  for (int i = 0; i < rank; i++)
    if (t->shape.dim[i] != dims[i]) fail_msg("dim %d: got %lld want %lld", i, (long long)t->shape.dim[i], (long long)dims[i]);
}
#define EXPECT_SHAPE(t, ...) tt_expect_shape(t, NARGS(int64_t, __VA_ARGS__), (int64_t[]){__VA_ARGS__})

/* Strings given with explicit lengths are not needed here: expectations are NUL-free. */
static inline void tt_expect_str(const td_tensor *t, int n, const char *const *v) {
  assert_int_equal(t->dtype, TD_DT_STRING);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    td_string s = td_str(t)[i];
    if (s.len != strlen(v[i]) || memcmp(s.len ? s.data : "", v[i], s.len))
      fail_msg("element %d: got '%.*s' want '%s'", i, (int)s.len, s.data ? s.data : "", v[i]);
  }
}
#define EXPECT_STR(t, ...) tt_expect_str(t, NARGS(const char *, __VA_ARGS__), (const char *[]){__VA_ARGS__})

static inline void tt_expect_int(const td_tensor *t, td_dtype dt, int n, const int64_t *v) {
  assert_int_equal(t->dtype, dt);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    int64_t got = dt == TD_DT_INT32 ? td_i32(t)[i] : dt == TD_DT_BOOL ? td_u8(t)[i] : td_i64(t)[i];
    if (got != v[i]) fail_msg("element %d: got %lld want %lld", i, (long long)got, (long long)v[i]);
  }
}
#define EXPECT_I64(t, ...) tt_expect_int(t, TD_DT_INT64, NARGS(int64_t, __VA_ARGS__), (int64_t[]){__VA_ARGS__})
#define EXPECT_I32(t, ...) tt_expect_int(t, TD_DT_INT32, NARGS(int64_t, __VA_ARGS__), (int64_t[]){__VA_ARGS__})
#define EXPECT_BOOL(t, ...) tt_expect_int(t, TD_DT_BOOL, NARGS(int64_t, __VA_ARGS__), (int64_t[]){__VA_ARGS__})

static inline void tt_expect_f32(const td_tensor *t, int n, const float *v) {
  assert_int_equal(t->dtype, TD_DT_FLOAT);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++)
    if (td_f32(t)[i] != v[i]) fail_msg("element %d: got %.9g want %.9g", i, td_f32(t)[i], v[i]);
}
#define EXPECT_F32(t, ...) tt_expect_f32(t, NARGS(float, __VA_ARGS__), (float[]){__VA_ARGS__})

static inline void tt_expect_error(td_code rc, const td_status *st, td_code code, const char *want) {
  if (rc != code) fail_msg("code %d (%s), want %d", rc, st->msg, code);
  size_t n = strlen(want);
  if (strncmp(st->msg, want, n) != 0 || (st->msg[n] != 0 && st->msg[n] != '\n'))
    fail_msg("message:\n  got  '%s'\n  want '%s'", st->msg, want);
}

#endif
