/* test_array_util.h — helpers for the array kernel tests (test_array_*.c): build a node,
 * run it on owned inputs (which are released), and compare outputs with expected dtype,
 * shape and values (strings by content). Header-only; include after cmocka.h. */
#ifndef TD_TESTS_ARRAY_TEST_UTIL_H
#define TD_TESTS_ARRAY_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"

#define A_DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define A_I32(...) ((const int32_t[]){__VA_ARGS__})
#define A_I64(...) ((const int64_t[]){__VA_ARGS__})
#define A_F32(...) ((const float[]){__VA_ARGS__})
#define A_F64(...) ((const double[]){__VA_ARGS__})
#define A_U8(...) ((const uint8_t[]){__VA_ARGS__})
#define A_STR(...) ((const char *[]){__VA_ARGS__})

static inline td_tensor at_tensor(td_dtype dt, int rank, const int64_t *dims, const void *v) {
  return td_test_tensor(dt, rank, dims, v);
}
static inline td_tensor at_i32s(int32_t v) { return td_test_tensor(TD_DT_INT32, 0, NULL, &v); }
static inline td_tensor at_i64s(int64_t v) { return td_test_tensor(TD_DT_INT64, 0, NULL, &v); }
static inline td_tensor at_f32s(float v) { return td_test_tensor(TD_DT_FLOAT, 0, NULL, &v); }
static inline td_tensor at_vec_i32(int64_t n, const int32_t *v) { return td_test_tensor(TD_DT_INT32, 1, &n, v); }
static inline td_tensor at_vec_i64(int64_t n, const int64_t *v) { return td_test_tensor(TD_DT_INT64, 1, &n, v); }

/* A node with attr T (skipped when t == TD_DT_INVALID). */
static inline Tensorflow__NodeDef *at_node(const char *op, td_dtype t) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  if (t != TD_DT_INVALID) td_test_attr_type(nd, "T", t);
  return nd;
}

/* Runs nd (freed) on ins (released); st receives the status. */
static inline td_code at_run(Tensorflow__NodeDef *nd, td_tensor *ins, int nin, td_tensor *outs, int nout,
                             td_status *st) {
  td_status_clear(st);
  for (int i = 0; i < nout; i++) memset(&outs[i], 0, sizeof outs[i]);
  td_code rc = td_test_run_op(nd, ins, nin, outs, nout, st);
  if (rc != TD_OK) fprintf(stderr, "  [op %s] %s: %s\n", nd->op, td_code_name(rc), st->msg);
  td_test_node_free(nd);
  for (int i = 0; i < nin; i++) td_tensor_release(&ins[i]);
  return rc;
}

/* Runs a single-output op and returns its output (test fails if the op fails). */
static inline td_tensor at_run1(Tensorflow__NodeDef *nd, td_tensor *ins, int nin) {
  td_status st;
  td_tensor out;
  td_code rc = at_run(nd, ins, nin, &out, 1, &st);
  assert_int_equal(rc, TD_OK);
  return out;
}

/* Runs nd expecting failure with `code` and a message containing `needle`. */
static inline void at_expect_error(Tensorflow__NodeDef *nd, td_tensor *ins, int nin, int nout, td_code code,
                                   const char *needle) {
  td_status st;
  td_tensor outs[8];
  td_status_clear(&st);
  for (int i = 0; i < nout; i++) memset(&outs[i], 0, sizeof outs[i]);
  td_code rc = td_test_run_op(nd, ins, nin, outs, nout, &st);
  td_test_node_free(nd);
  for (int i = 0; i < nin; i++) td_tensor_release(&ins[i]);
  if (rc != code || !strstr(st.msg, needle)) {
    fprintf(stderr, "  expected %s containing \"%s\", got %s: \"%s\"\n", td_code_name(code), needle,
            td_code_name(rc), st.msg);
    if (rc == TD_OK)
      for (int i = 0; i < nout; i++) td_tensor_release(&outs[i]);
  }
  assert_int_equal(rc, code);
  assert_non_null(strstr(st.msg, needle));
}

static inline void at_expect_shape(const td_tensor *t, int rank, const int64_t *dims) {
  if (t->shape.rank != rank) fprintf(stderr, "  rank %d, want %d\n", t->shape.rank, rank);
  assert_int_equal(t->shape.rank, rank);
  for (int k = 0; k < rank; k++) {
    if (t->shape.dim[k] != dims[k])
      fprintf(stderr, "  dim %d is %lld, want %lld\n", k, (long long)t->shape.dim[k], (long long)dims[k]);
    assert_int_equal(t->shape.dim[k], dims[k]);
  }
}

/* Checks dtype, shape and values (bytes; strings by content), then releases *t. */
static inline void at_expect(td_tensor *t, td_dtype dt, int rank, const int64_t *dims, const void *values) {
  assert_int_equal(t->dtype, dt);
  at_expect_shape(t, rank, dims);
  int64_t n = td_tensor_num_elements(t);
  if (dt == TD_DT_STRING) {
    const char *const *v = values;
    for (int64_t i = 0; i < n; i++) {
      const td_string *s = &((const td_string *)t->data)[i];
      if (s->len != strlen(v[i]) || (s->len && memcmp(s->data, v[i], s->len))) {
        fprintf(stderr, "  string %lld is \"%.*s\", want \"%s\"\n", (long long)i, (int)s->len,
                s->data ? s->data : "", v[i]);
        fail();
      }
    }
  } else if (n > 0) {
    size_t es = td_dtype_size(dt);
    for (int64_t i = 0; i < n; i++) {
      if (memcmp((const char *)t->data + i * (int64_t)es, (const char *)values + i * (int64_t)es, es)) {
        td_tensor want = *t;
        want.data = (void *)values;
        fprintf(stderr, "  element %lld is %g, want %g\n", (long long)i, td_tensor_get_double(t, i),
                td_tensor_get_double(&want, i));
        fail();
      }
    }
  }
  td_tensor_release(t);
}

/* Deterministic RNG for reference-loop tests. */
static _Thread_local uint64_t at_rng_state = 0x9e3779b97f4a7c15ull;
static inline uint32_t at_rand(void) {
  at_rng_state = at_rng_state * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(at_rng_state >> 33);
}
static inline int64_t at_rand_range(int64_t lo, int64_t hi) { return lo + (int64_t)(at_rand() % (uint32_t)(hi - lo + 1)); }

/* An int32 tensor 0, 1, 2, ... of the given shape. */
static inline td_tensor at_iota_i32(int rank, const int64_t *dims) {
  td_tensor t = td_test_tensor(TD_DT_INT32, rank, dims, NULL);
  for (int64_t i = 0; i < td_tensor_num_elements(&t); i++) td_i32(&t)[i] = (int32_t)i;
  return t;
}

/* A string tensor "s0", "s1", ... of the given shape. */
static inline td_tensor at_iota_str(int rank, const int64_t *dims) {
  td_tensor t;
  td_shape shape = td_shape_make(rank, dims);
  if (td_tensor_alloc(&t, TD_DT_STRING, &shape, NULL) != TD_OK) abort();
  char buf[32];
  for (int64_t i = 0; i < td_tensor_num_elements(&t); i++) {
    snprintf(buf, sizeof buf, "s%lld", (long long)i);
    td_tensor_set_string(&t, i, buf, strlen(buf));
  }
  return t;
}

/* 1 if string element i of t is "s<v>". */
static inline int at_str_is(const td_tensor *t, int64_t i, int64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "s%lld", (long long)v);
  const td_string *s = &((const td_string *)t->data)[i];
  return s->len == strlen(buf) && memcmp(s->data, buf, s->len) == 0;
}

#endif
