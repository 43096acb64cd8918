/* test_sparse_cross.c — SparseCross through the real engine.
 *
 * Expected values: the hashed single-cross values 1971693436396284976 / 4847552627144134031
 * (and 83 / 31 with 100 buckets) are the literals of TF's sparse_cross_op_test.py
 * (test_hashed_zero_bucket_no_hash_key, test_hashed_zero_bucket, test_hashed_no_hash_key,
 * test_hashed_output); they pin the algorithm (FingerprintCat64 chain from hash_key over
 * Fingerprint64 of each string feature). The string crosses are TF's test_simple / test_dense
 * outputs. The int64 and 1000-bucket values were computed by hand with tools/farmhash_ref.py
 * and the same chain (int64 features enter the chain as their own value). SparseCrossV2 (string
 * crosses with a separator input) is checked on hand-written cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"

#define DEFAULT_HASH_KEY 0xDECAFCAFFEll

/* A [rows]-sized sparse column given per-row feature counts: indices (b, k), values, shape. */
typedef struct sparse_col {
  td_tensor indices, values, shape;
} sparse_col;

static sparse_col sparse_strings(int batch, const int *counts, const char *const *values) {
  int64_t total = 0, width = 0;
  for (int b = 0; b < batch; b++) {
    total += counts[b];
    if (counts[b] > width) width = counts[b];
  }
  int64_t ind[64], dims[2] = {total, 2}, sh[2] = {batch, width}, two = 2;
  int64_t at = 0;
  for (int b = 0; b < batch; b++)
    for (int k = 0; k < counts[b]; k++, at++) {
      ind[2 * at] = b;
      ind[2 * at + 1] = k;
    }
  sparse_col c = {td_test_tensor(TD_DT_INT64, 2, dims, ind), td_test_tensor(TD_DT_STRING, 1, &total, values),
                  td_test_tensor(TD_DT_INT64, 1, &two, sh)};
  return c;
}

static Tensorflow__NodeDef *cross_node(int n, const td_dtype *sparse_types, int ndense, const td_dtype *dense_types,
                                       td_dtype out_type, int64_t num_buckets, int64_t hash_key) {
  Tensorflow__NodeDef *nd = td_test_node_new("SparseCross");
  td_test_attr_int(nd, "N", n);
  td_test_attr_types(nd, "sparse_types", sparse_types, (size_t)n);
  td_test_attr_types(nd, "dense_types", dense_types, (size_t)ndense);
  td_test_attr_type(nd, "out_type", out_type);
  td_test_attr_type(nd, "internal_type", out_type == TD_DT_INT64 ? TD_DT_INT64 : TD_DT_STRING);
  td_test_attr_bool(nd, "hashed_output", out_type == TD_DT_INT64);
  td_test_attr_int(nd, "num_buckets", num_buckets);
  td_test_attr_int(nd, "hash_key", hash_key);
  return nd;
}

/* Runs nd on in[0..nin) (released) into out[0..3). */
static td_code run_cross(Tensorflow__NodeDef *nd, td_tensor *in, int nin, td_tensor *out, td_status *st) {
  td_code rc = td_test_run_op(nd, in, nin, out, 3, st);
  for (int i = 0; i < nin; i++) td_tensor_release(&in[i]);
  td_test_node_free(nd);
  return rc;
}

/* Three single-feature sparse string columns (TF's hashed tests). */
static int64_t hashed_three(int64_t num_buckets, int64_t hash_key) {
  const td_dtype st3[3] = {TD_DT_STRING, TD_DT_STRING, TD_DT_STRING};
  const int one[1] = {1};
  sparse_col a = sparse_strings(1, one, (const char *[]){"batch1-FC1-F1"});
  sparse_col b = sparse_strings(1, one, (const char *[]){"batch1-FC2-F1"});
  sparse_col c = sparse_strings(1, one, (const char *[]){"batch1-FC3-F1"});
  td_tensor in[9] = {a.indices, b.indices, c.indices, a.values, b.values, c.values, a.shape, b.shape, c.shape};
  td_tensor out[3];
  td_status st = {0};
  td_code rc = run_cross(cross_node(3, st3, 0, NULL, TD_DT_INT64, num_buckets, hash_key), in, 9, out, &st);
  if (rc != TD_OK) fail_msg("SparseCross failed: %s", st.msg);
  assert_int_equal(out[1].dtype, TD_DT_INT64);
  assert_int_equal(td_tensor_num_elements(&out[1]), 1);
  assert_int_equal(td_i64(&out[0])[0], 0);
  assert_int_equal(td_i64(&out[0])[1], 0);
  assert_int_equal(td_i64(&out[2])[0], 1);
  assert_int_equal(td_i64(&out[2])[1], 1);
  int64_t v = td_i64(&out[1])[0];
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
  return v;
}

static void test_hashed_matches_tf(void **state) {
  (void)state;
  assert_int_equal(hashed_three(0, DEFAULT_HASH_KEY), 1971693436396284976ll);
  assert_int_equal(hashed_three(0, DEFAULT_HASH_KEY + 1), 4847552627144134031ll);
  assert_int_equal(hashed_three(100, DEFAULT_HASH_KEY), 83);
  assert_int_equal(hashed_three(100, DEFAULT_HASH_KEY + 1), 31);
}

static void expect_strings(const td_tensor *t, int n, const char *const *want) {
  assert_int_equal(t->dtype, TD_DT_STRING);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    td_string s = td_str(t)[i];
    if (s.len != strlen(want[i]) || memcmp(s.len ? s.data : "", want[i], s.len))
      fail_msg("value %d: got '%.*s' want '%s'", i, (int)s.len, s.data, want[i]);
  }
}

static void expect_i64(const td_tensor *t, int n, const int64_t *want) {
  assert_int_equal(t->dtype, TD_DT_INT64);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++)
    if (td_i64(t)[i] != want[i]) fail_msg("element %d: got %lld want %lld", i, (long long)td_i64(t)[i], (long long)want[i]);
}

/* TF's test_simple: 2 sparse string columns, rows of 1 and 2 features. */
static void test_string_sparse(void **state) {
  (void)state;
  const td_dtype st2[2] = {TD_DT_STRING, TD_DT_STRING};
  const int counts[2] = {1, 2};
  sparse_col a = sparse_strings(2, counts, (const char *[]){"batch1-FC1-F1", "batch2-FC1-F1", "batch2-FC1-F2"});
  sparse_col b = sparse_strings(2, counts, (const char *[]){"batch1-FC2-F1", "batch2-FC2-F1", "batch2-FC2-F2"});
  td_tensor in[6] = {a.indices, b.indices, a.values, b.values, a.shape, b.shape};
  td_tensor out[3];
  td_status st = {0};
  if (run_cross(cross_node(2, st2, 0, NULL, TD_DT_STRING, 0, 0), in, 6, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_i64(&out[0], 10, (const int64_t[]){0, 0, 1, 0, 1, 1, 1, 2, 1, 3});
  expect_strings(&out[1], 5,
                 (const char *[]){"batch1-FC1-F1_X_batch1-FC2-F1", "batch2-FC1-F1_X_batch2-FC2-F1",
                                  "batch2-FC1-F1_X_batch2-FC2-F2", "batch2-FC1-F2_X_batch2-FC2-F1",
                                  "batch2-FC1-F2_X_batch2-FC2-F2"});
  expect_i64(&out[2], 2, (const int64_t[]){2, 4});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

/* TF's test_dense: two [2,2] dense string columns. */
static void test_string_dense(void **state) {
  (void)state;
  const td_dtype st2[2] = {TD_DT_STRING, TD_DT_STRING};
  int64_t dims[2] = {2, 2};
  td_tensor in[2] = {
      td_test_tensor(TD_DT_STRING, 2, dims,
                     (const char *[]){"batch1-FC1-F1", "batch1-FC1-F2", "batch2-FC1-F1", "batch2-FC1-F2"}),
      td_test_tensor(TD_DT_STRING, 2, dims,
                     (const char *[]){"batch1-FC2-F1", "batch1-FC2-F2", "batch2-FC2-F1", "batch2-FC2-F2"})};
  td_tensor out[3];
  td_status st = {0};
  if (run_cross(cross_node(0, NULL, 2, st2, TD_DT_STRING, 0, 0), in, 2, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_strings(&out[1], 8,
                 (const char *[]){"batch1-FC1-F1_X_batch1-FC2-F1", "batch1-FC1-F1_X_batch1-FC2-F2",
                                  "batch1-FC1-F2_X_batch1-FC2-F1", "batch1-FC1-F2_X_batch1-FC2-F2",
                                  "batch2-FC1-F1_X_batch2-FC2-F1", "batch2-FC1-F1_X_batch2-FC2-F2",
                                  "batch2-FC1-F2_X_batch2-FC2-F1", "batch2-FC1-F2_X_batch2-FC2-F2"});
  expect_i64(&out[0], 16, (const int64_t[]){0, 0, 0, 1, 0, 2, 0, 3, 1, 0, 1, 1, 1, 2, 1, 3});
  expect_i64(&out[2], 2, (const int64_t[]){2, 4});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

/* int64 sparse column (rows [11], [333,-5]) x dense strings [[a,b],[c,d]]: sparse columns come
 * first; ints print in decimal (string output) or enter the hash chain as themselves. */
static void mixed_inputs(td_tensor *in) {
  int64_t ind[6] = {0, 0, 1, 0, 1, 1}, idims[2] = {3, 2}, three = 3, two = 2, sh[2] = {2, 2}, ddims[2] = {2, 2};
  in[0] = td_test_tensor(TD_DT_INT64, 2, idims, ind);
  in[1] = td_test_tensor(TD_DT_INT64, 1, &three, (const int64_t[]){11, 333, -5});
  in[2] = td_test_tensor(TD_DT_INT64, 1, &two, sh);
  in[3] = td_test_tensor(TD_DT_STRING, 2, ddims, (const char *[]){"a", "b", "c", "d"});
}

static void test_mixed_int_string(void **state) {
  (void)state;
  const td_dtype sparse_t[1] = {TD_DT_INT64}, dense_t[1] = {TD_DT_STRING};
  td_tensor in[4], out[3];
  td_status st = {0};
  mixed_inputs(in);
  if (run_cross(cross_node(1, sparse_t, 1, dense_t, TD_DT_STRING, 0, 0), in, 4, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_strings(&out[1], 6, (const char *[]){"11_X_a", "11_X_b", "333_X_c", "333_X_d", "-5_X_c", "-5_X_d"});
  expect_i64(&out[0], 12, (const int64_t[]){0, 0, 0, 1, 1, 0, 1, 1, 1, 2, 1, 3});
  expect_i64(&out[2], 2, (const int64_t[]){2, 4});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);

  mixed_inputs(in);
  if (run_cross(cross_node(1, sparse_t, 1, dense_t, TD_DT_INT64, 1000, DEFAULT_HASH_KEY), in, 4, out, &st) != TD_OK)
    fail_msg("%s", st.msg);
  expect_i64(&out[1], 6, (const int64_t[]){955, 794, 662, 127, 828, 187});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

/* A row with no features in one column yields no crosses; the census C1_X_C1 shape (the same
 * dense column twice, 1000 buckets). */
static void test_empty_row_and_self_cross(void **state) {
  (void)state;
  const td_dtype st2[2] = {TD_DT_STRING, TD_DT_STRING};
  const int ca[3] = {1, 0, 2}, cb[3] = {1, 1, 1};
  sparse_col a = sparse_strings(3, ca, (const char *[]){"x", "y", "z"});
  sparse_col b = sparse_strings(3, cb, (const char *[]){"p", "q", "r"});
  td_tensor in[6] = {a.indices, b.indices, a.values, b.values, a.shape, b.shape}, out[3];
  td_status st = {0};
  if (run_cross(cross_node(2, st2, 0, NULL, TD_DT_STRING, 0, 0), in, 6, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_strings(&out[1], 3, (const char *[]){"x_X_p", "y_X_r", "z_X_r"});
  expect_i64(&out[0], 6, (const int64_t[]){0, 0, 2, 0, 2, 1});
  expect_i64(&out[2], 2, (const int64_t[]){3, 2});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);

  int64_t one_by_one[2] = {1, 1};
  td_tensor d[2] = {td_test_tensor(TD_DT_STRING, 2, one_by_one, (const char *[]){"be589b51"}),
                    td_test_tensor(TD_DT_STRING, 2, one_by_one, (const char *[]){"be589b51"})};
  if (run_cross(cross_node(0, NULL, 2, st2, TD_DT_INT64, 1000, DEFAULT_HASH_KEY), d, 2, out, &st) != TD_OK)
    fail_msg("%s", st.msg);
  expect_i64(&out[1], 1, (const int64_t[]){747});
  expect_i64(&out[2], 2, (const int64_t[]){1, 1});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

static void expect_error(td_code rc, const td_status *st, const char *want) {
  if (rc != TD_INVALID_ARGUMENT) fail_msg("code %d (%s), want INVALID_ARGUMENT", rc, st->msg);
  if (strncmp(st->msg, want, strlen(want)) != 0) fail_msg("message:\n  got  '%s'\n  want '%s'", st->msg, want);
}

static void test_errors(void **state) {
  (void)state;
  const td_dtype st1[1] = {TD_DT_STRING}, st2[2] = {TD_DT_STRING, TD_DT_STRING};
  td_tensor out[3];
  td_status st = {0};
  /* Dense batch sizes disagree. */
  int64_t d21[2] = {2, 1}, d11[2] = {1, 1};
  td_tensor in[4] = {td_test_tensor(TD_DT_STRING, 2, d21, (const char *[]){"a", "b"}),
                     td_test_tensor(TD_DT_STRING, 2, d11, (const char *[]){"c"})};
  expect_error(run_cross(cross_node(0, NULL, 2, st2, TD_DT_INT64, 10, 1), in, 2, out, &st), &st,
               "Expected batch size 2 got 1 at dense tensor 1");
  /* Dense input not a matrix. */
  int64_t three = 3;
  in[0] = td_test_tensor(TD_DT_STRING, 1, &three, (const char *[]){"a", "b", "c"});
  expect_error(run_cross(cross_node(0, NULL, 1, st1, TD_DT_INT64, 10, 1), in, 1, out, &st), &st,
               "Dense inputs should be a matrix but received shape [3] at position 0");
  /* Sparse indices with 3 columns; values/indices row mismatch; shape of rank 3. */
  int64_t i13[2] = {1, 3}, two = 2, one = 1;
  in[0] = td_test_tensor(TD_DT_INT64, 2, i13, (const int64_t[]){0, 0, 0});
  in[1] = td_test_tensor(TD_DT_STRING, 1, &one, (const char *[]){"a"});
  in[2] = td_test_tensor(TD_DT_INT64, 1, &two, (const int64_t[]){1, 1});
  expect_error(run_cross(cross_node(1, st1, 0, NULL, TD_DT_INT64, 10, 1), in, 3, out, &st), &st,
               "Expected D2 of index to be 2 got 3 at position 0");
  int64_t i12[2] = {1, 2};
  in[0] = td_test_tensor(TD_DT_INT64, 2, i12, (const int64_t[]){0, 0});
  in[1] = td_test_tensor(TD_DT_STRING, 1, &two, (const char *[]){"a", "b"});
  in[2] = td_test_tensor(TD_DT_INT64, 1, &two, (const int64_t[]){1, 1});
  expect_error(run_cross(cross_node(1, st1, 0, NULL, TD_DT_INT64, 10, 1), in, 3, out, &st), &st,
               "Expected size of values to be 1 got 2 at position 0");
  in[0] = td_test_tensor(TD_DT_INT64, 2, i12, (const int64_t[]){0, 0});
  in[1] = td_test_tensor(TD_DT_STRING, 1, &one, (const char *[]){"a"});
  in[2] = td_test_tensor(TD_DT_INT64, 1, &three, (const int64_t[]){1, 1, 1});
  expect_error(run_cross(cross_node(1, st1, 0, NULL, TD_DT_INT64, 10, 1), in, 3, out, &st), &st,
               "shape should imply a 2D tensor, but got [3] at position 0");
  /* Negative batch size from the shape input: no crash, clean error. */
  in[0] = td_test_tensor(TD_DT_INT64, 2, i12, (const int64_t[]){0, 0});
  in[1] = td_test_tensor(TD_DT_STRING, 1, &one, (const char *[]){"a"});
  in[2] = td_test_tensor(TD_DT_INT64, 1, &two, (const int64_t[]){-4, 1});
  expect_error(run_cross(cross_node(1, st1, 0, NULL, TD_DT_INT64, 10, 1), in, 3, out, &st), &st,
               "Expected a non-negative batch size, got -4");
}

/* Indices that are out of order or point past the batch are skipped (as TF's row scan does),
 * never read out of bounds. */
static void test_unsorted_indices_are_safe(void **state) {
  (void)state;
  const td_dtype st1[1] = {TD_DT_STRING};
  int64_t i32[2] = {3, 2}, three = 3, two = 2;
  td_tensor in[3] = {td_test_tensor(TD_DT_INT64, 2, i32, (const int64_t[]){1, 0, 0, 0, 7, 0}),
                     td_test_tensor(TD_DT_STRING, 1, &three, (const char *[]){"a", "b", "c"}),
                     td_test_tensor(TD_DT_INT64, 1, &two, (const int64_t[]){2, 1})};
  td_tensor out[3];
  td_status st = {0};
  if (run_cross(cross_node(1, st1, 0, NULL, TD_DT_STRING, 0, 0), in, 3, out, &st) != TD_OK) fail_msg("%s", st.msg);
  /* Row 0 scan stops at once (first index is batch 1); row 1 takes "a". */
  expect_strings(&out[1], 1, (const char *[]){"a"});
  expect_i64(&out[0], 2, (const int64_t[]){1, 0});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

/* SparseCrossV2: the string crosser with the separator from the trailing scalar input. */
static td_code cross_v2(const char *sep, int sep_rank, td_tensor *out, td_status *st) {
  const td_dtype types[2] = {TD_DT_STRING, TD_DT_INT64};
  const int counts[2] = {1, 2};
  sparse_col a = sparse_strings(2, counts, (const char *[]){"a", "b", "c"});
  int64_t dims[2] = {2, 1}, one = 1;
  td_tensor in[5] = {a.indices, a.values, a.shape, td_test_tensor(TD_DT_INT64, 2, dims, (const int64_t[]){7, -8}),
                     td_test_tensor(TD_DT_STRING, sep_rank, &one, (const char *[]){sep})};
  Tensorflow__NodeDef *nd = td_test_node_new("SparseCrossV2");
  td_test_attr_int(nd, "N", 1);
  td_test_attr_types(nd, "sparse_types", types, 1);
  td_test_attr_types(nd, "dense_types", types + 1, 1);
  return run_cross(nd, in, 5, out, st);
}

static void test_v2_separator(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  if (cross_v2("_Y_", 0, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_strings(&out[1], 3, (const char *[]){"a_Y_7", "b_Y_-8", "c_Y_-8"});
  expect_i64(&out[0], 6, (const int64_t[]){0, 0, 1, 0, 1, 1});
  expect_i64(&out[2], 2, (const int64_t[]){2, 2});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
  if (cross_v2("", 0, out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_strings(&out[1], 3, (const char *[]){"a7", "b-8", "c-8"});
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
  expect_error(cross_v2("_", 1, out, &st), &st, "Input separator should be a scalar but received shape [1]");
}

/* 100000 x 100000 crosses in one row: the output would be 160 GB; a clean RESOURCE_EXHAUSTED. */
static void test_huge_cross_fails_cleanly(void **state) {
  (void)state;
  enum { W = 100000 };
  const char **v = calloc(W, sizeof *v);
  for (int i = 0; i < W; i++) v[i] = "f";
  int64_t dims[2] = {1, W};
  const td_dtype st2[2] = {TD_DT_STRING, TD_DT_STRING};
  td_tensor in[2] = {td_test_tensor(TD_DT_STRING, 2, dims, v), td_test_tensor(TD_DT_STRING, 2, dims, v)}, out[3];
  free(v);
  td_status st = {0};
  td_code rc = run_cross(cross_node(0, NULL, 2, st2, TD_DT_INT64, 10, 1), in, 2, out, &st);
  if (rc != TD_RESOURCE_EXHAUSTED) fail_msg("code %d (%s), want RESOURCE_EXHAUSTED", rc, st.msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hashed_matches_tf),   cmocka_unit_test(test_string_sparse),
      cmocka_unit_test(test_string_dense),        cmocka_unit_test(test_mixed_int_string),
      cmocka_unit_test(test_empty_row_and_self_cross), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_unsorted_indices_are_safe), cmocka_unit_test(test_huge_cross_fails_cleanly),
      cmocka_unit_test(test_v2_separator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
