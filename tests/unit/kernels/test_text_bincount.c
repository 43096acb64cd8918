/* test_text_bincount.c — Bincount, DenseBincount (1-D / 2-D input, weights, binary_output,
 * int32 / int64 indices) and RaggedBincount, as Keras TextVectorization's count / multi_hot
 * modes use them. Expected bins are np.bincount-style counts written out by hand (values >=
 * size dropped); error texts are TF's.
 */
#include "text_test_util.h"

static td_code bincount(td_tensor arr, int32_t size, td_tensor w, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("Bincount");
  td_test_attr_type(nd, "T", w.dtype);
  td_tensor ins[3] = {arr, tt_i32(size), w};
  return tt_run(nd, ins, 3, out, 1, st);
}

static void test_bincount(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* np.bincount([1,1,2,5])[:4] = [0,2,1,0] */
  assert_int_equal(bincount(I32S(1, 1, 2, 5), 4, tt_empty(TD_DT_INT32), &out, &st), TD_OK);
  EXPECT_I32(&out, 0, 2, 1, 0);
  td_tensor_release(&out);
  assert_int_equal(bincount(I32S(1, 1, 2, 5), 4, F32S(0.5f, 1, 2, 3), &out, &st), TD_OK);
  EXPECT_F32(&out, 0, 1.5f, 2, 0);
  td_tensor_release(&out);
  assert_int_equal(bincount(tt_empty(TD_DT_INT32), 3, tt_empty(TD_DT_FLOAT), &out, &st), TD_OK);
  EXPECT_F32(&out, 0, 0, 0);
  td_tensor_release(&out);
  assert_int_equal(bincount(I32S(0, 1), 0, tt_empty(TD_DT_INT64), &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 0);
  td_tensor_release(&out);
  tt_expect_error(bincount(I32S(1, -1), 4, tt_empty(TD_DT_INT32), &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Input arr must be non-negative!");
  tt_expect_error(bincount(I32S(1), -1, tt_empty(TD_DT_INT32), &out, &st), &st, TD_INVALID_ARGUMENT,
                  "size (-1) must be non-negative");
  tt_expect_error(bincount(I32S(1, 2), 4, F32S(1), &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Input indices and weights must have the same shape: [2] vs [1]");
}

static td_code dense(td_tensor in, int64_t size, td_tensor w, int binary, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("DenseBincount");
  td_test_attr_type(nd, "Tidx", in.dtype);
  td_test_attr_type(nd, "T", w.dtype);
  if (binary) td_test_attr_bool(nd, "binary_output", 1);
  td_tensor sz = in.dtype == TD_DT_INT32 ? tt_i32((int32_t)size) : tt_i64(size);
  td_tensor ins[3] = {in, sz, w};
  return tt_run(nd, ins, 3, out, 1, st);
}

static void test_dense_bincount(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  int64_t d[2] = {2, 3};
  /* rows [1,1,3] and [0,2,2]: counts [[0,2,0,1],[1,0,2,0]], multi-hot [[0,1,0,1],[1,0,1,0]]. */
  assert_int_equal(dense(td_test_tensor(TD_DT_INT64, 2, d, (int64_t[]){1, 1, 3, 0, 2, 2}), 4, tt_empty(TD_DT_FLOAT), 0, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 4);
  EXPECT_F32(&out, 0, 2, 0, 1, 1, 0, 2, 0);
  td_tensor_release(&out);
  assert_int_equal(dense(td_test_tensor(TD_DT_INT32, 2, d, (int32_t[]){1, 1, 3, 0, 2, 2}), 4, tt_empty(TD_DT_FLOAT), 1, &out, &st),
                   TD_OK);
  EXPECT_F32(&out, 0, 1, 0, 1, 1, 0, 1, 0);
  td_tensor_release(&out);
  /* Weights (int64), values beyond size dropped (row 0's 3 with size 3). */
  assert_int_equal(dense(td_test_tensor(TD_DT_INT32, 2, d, (int32_t[]){1, 1, 3, 0, 2, 2}), 3,
                         td_test_tensor(TD_DT_INT64, 2, d, (int64_t[]){1, 2, 4, 8, 16, 32}), 0, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 3);
  EXPECT_I64(&out, 0, 3, 0, 8, 0, 48);
  td_tensor_release(&out);
  /* 1-D. */
  assert_int_equal(dense(I32S(2, 0, 2), 3, tt_empty(TD_DT_INT32), 0, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 3);
  EXPECT_I32(&out, 1, 0, 2);
  td_tensor_release(&out);
  int64_t d3[3] = {1, 1, 1};
  tt_expect_error(dense(td_test_tensor(TD_DT_INT32, 3, d3, (int32_t[]){0}), 3, tt_empty(TD_DT_INT32), 0, &out, &st), &st,
                  TD_INVALID_ARGUMENT, "Shape must be at most rank 2 but is rank 3");
  tt_expect_error(dense(I64S(0, -2), 3, tt_empty(TD_DT_INT32), 0, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Input arr must be non-negative!");
}

static void test_ragged_bincount(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* rows [1,1,3], [0,2] → [[0,2,0,1],[1,0,1,0]] */
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedBincount");
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_tensor in[4] = {I64S(0, 3, 5), I64S(1, 1, 3, 0, 2), tt_i64(4), tt_empty(TD_DT_FLOAT)};
  assert_int_equal(tt_run(nd, in, 4, &out, 1, &st), TD_OK);
  EXPECT_SHAPE(&out, 2, 4);
  EXPECT_F32(&out, 0, 2, 0, 1, 1, 0, 1, 0);
  td_tensor_release(&out);
  nd = td_test_node_new("RaggedBincount");
  td_test_attr_type(nd, "Tidx", TD_DT_INT32);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_bool(nd, "binary_output", 1);
  td_tensor in2[4] = {I64S(0, 3, 3), I32S(1, 1, 3), tt_i32(4), tt_empty(TD_DT_FLOAT)};
  assert_int_equal(tt_run(nd, in2, 4, &out, 1, &st), TD_OK);
  EXPECT_F32(&out, 0, 1, 0, 1, 0, 0, 0, 0);
  td_tensor_release(&out);
  nd = td_test_node_new("RaggedBincount");
  td_test_attr_type(nd, "Tidx", TD_DT_INT32);
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_tensor in3[4] = {I64S(0, 3, 4), I32S(1, 1, 3), tt_i32(4), tt_empty(TD_DT_FLOAT)};
  tt_expect_error(tt_run(nd, in3, 4, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Splits must end with the number of values, got 4 instead of 3");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bincount),
      cmocka_unit_test(test_dense_bincount),
      cmocka_unit_test(test_ragged_bincount),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
