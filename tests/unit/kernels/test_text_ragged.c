/* test_text_ragged.c — RaggedTensorToTensor (ROW_SPLITS, FIRST_DIM_SIZE + VALUE_ROWIDS, two
 * ragged levels, uniform inner dims, string values as in Keras TextVectorization's padding,
 * truncation by `shape`), RaggedTensorToSparse, RaggedGather, RaggedRange and the
 * RaggedTensorToVariant / FromVariant round trip (batched and not). Expected
 * tensors are derived by hand (the dense forms of the ragged lists written in comments);
 * RaggedRange's float row matches numpy float32 accumulation.
 */
#include "text_test_util.h"

static const char *kSplits[] = {"ROW_SPLITS", "ROW_SPLITS"};
static const char *kRowIds[] = {"FIRST_DIM_SIZE", "VALUE_ROWIDS"};

/* parts[0..np) are the row partition tensors. */
static td_code to_tensor(td_tensor shape, td_tensor values, td_tensor dflt, td_tensor *parts, int np, const char **types,
                         td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedTensorToTensor");
  td_test_attr_type(nd, "T", values.dtype);
  td_test_attr_type(nd, "Tindex", parts[0].dtype);
  td_test_attr_type(nd, "Tshape", shape.dtype);
  td_test_attr_int(nd, "num_row_partition_tensors", np);
  tt_attr_strs(nd, "row_partition_types", (size_t)np, types);
  td_tensor ins[6] = {shape, values, dflt};
  for (int i = 0; i < np; i++) ins[3 + i] = parts[i];
  return tt_run(nd, ins, 3 + np, out, 1, st);
}

static void test_to_tensor(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* [[1,2],[],[3,4,5]] with the natural shape. */
  td_tensor p[2] = {I64S(0, 2, 2, 5)};
  assert_int_equal(to_tensor(tt_i64(-1), F32S(1, 2, 3, 4, 5), td_test_tensor(TD_DT_FLOAT, 0, NULL, (float[]){0}), p, 1,
                             kSplits, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 3, 3);
  EXPECT_F32(&out, 1, 2, 0, 0, 0, 0, 3, 4, 5);
  td_tensor_release(&out);
  /* shape [2,2]: truncated rows and columns. */
  p[0] = I32S(0, 2, 2, 5);
  assert_int_equal(to_tensor(I32S(2, 2), I64S(1, 2, 3, 4, 5), tt_i64(9), p, 1, kSplits, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 2, 2);
  EXPECT_I64(&out, 1, 2, 9, 9);
  td_tensor_release(&out);
  /* shape [-1, 4]: padded to 4 columns. */
  p[0] = I64S(0, 2, 2, 5);
  assert_int_equal(to_tensor(I64S(-1, 4), I32S(1, 2, 3, 4, 5), tt_i32(0), p, 1, kSplits, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 3, 4);
  EXPECT_I32(&out, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4, 5, 0);
  td_tensor_release(&out);
  /* Strings (TextVectorization: output_sequence_length 3, pad ""). */
  p[0] = I64S(0, 1, 3, 3);
  assert_int_equal(to_tensor(I64S(-1, 3), STRS("a", "bé", "c"), tt_str(""), p, 1, kSplits, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 3, 3);
  EXPECT_STR(&out, "a", "", "", "bé", "c", "", "", "", "");
  td_tensor_release(&out);
  /* FIRST_DIM_SIZE 4 + VALUE_ROWIDS [0,0,2,2,2]: [[1,2],[],[3,4,5],[]]. */
  td_tensor q[2] = {tt_i64(4), I64S(0, 0, 2, 2, 2)};
  assert_int_equal(to_tensor(tt_i64(-1), I64S(1, 2, 3, 4, 5), tt_i64(0), q, 2, kRowIds, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 4, 3);
  EXPECT_I64(&out, 1, 2, 0, 0, 0, 0, 3, 4, 5, 0, 0, 0);
  td_tensor_release(&out);
  /* Two ragged levels: [[[1],[2,3]],[[4]]] → [2,2,2]. */
  td_tensor r[2] = {I64S(0, 2, 3), I64S(0, 1, 3, 4)};
  assert_int_equal(to_tensor(tt_i64(-1), I64S(1, 2, 3, 4), tt_i64(0), r, 2, kSplits, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 2, 2, 2);
  EXPECT_I64(&out, 1, 0, 2, 3, 4, 0, 0, 0);
  td_tensor_release(&out);
  /* Uniform inner dim: values [[1,2],[3,4],[5,6]], rows [[v0],[v1,v2]], default row [7,8]. */
  int64_t vd[2] = {3, 2};
  p[0] = I64S(0, 1, 3);
  assert_int_equal(to_tensor(tt_i64(-1), td_test_tensor(TD_DT_FLOAT, 2, vd, (float[]){1, 2, 3, 4, 5, 6}), F32S(7, 8), p, 1,
                             kSplits, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 2, 2);
  EXPECT_F32(&out, 1, 2, 7, 8, 3, 4, 5, 6);
  td_tensor_release(&out);
  /* default_value [[5],[6]] broadcast over 2x2 value rows (TF's ragged_to_tensor_op_test):
   * [[[[1,2],[3,4]]], []] → [[[[1,2],[3,4]]], [[[5,5],[6,6]]]]. */
  int64_t v4[3] = {1, 2, 2}, d21[2] = {2, 1};
  p[0] = I64S(0, 1, 1);
  assert_int_equal(to_tensor(tt_i64(-1), td_test_tensor(TD_DT_INT32, 3, v4, (int32_t[]){1, 2, 3, 4}),
                             td_test_tensor(TD_DT_INT32, 2, d21, (int32_t[]){5, 6}), p, 1, kSplits, &out, &st),
                   TD_OK);
  EXPECT_SHAPE(&out, 2, 1, 2, 2);
  EXPECT_I32(&out, 1, 2, 3, 4, 5, 5, 6, 6);
  td_tensor_release(&out);
  p[0] = I64S(0, 1, 1);
  tt_expect_error(to_tensor(tt_i64(-1), td_test_tensor(TD_DT_INT32, 3, v4, (int32_t[]){1, 2, 3, 4}), I32S(5, 6, 7), p, 1,
                            kSplits, &out, &st),
                  &st, TD_INVALID_ARGUMENT, "default_value.shape=[3] and rt_input.flat_values.shape=[1,2,2] are incompatible");
  /* Empty ragged tensor: one empty row. */
  p[0] = I64S(0, 0);
  assert_int_equal(to_tensor(I64S(-1, 2), tt_empty(TD_DT_INT64), tt_i64(5), p, 1, kSplits, &out, &st), TD_OK);
  EXPECT_SHAPE(&out, 1, 2);
  EXPECT_I64(&out, 5, 5);
  td_tensor_release(&out);
  /* Splits that do not cover the values. */
  p[0] = I64S(0, 2, 4);
  tt_expect_error(to_tensor(tt_i64(-1), I64S(1, 2, 3), tt_i64(0), p, 1, kSplits, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "The row partitions describe 4 values, but values has 3");
  p[0] = I64S(0, 3, 2);
  tt_expect_error(to_tensor(tt_i64(-1), I64S(1, 2), tt_i64(0), p, 1, kSplits, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "Ragged splits must be sorted in ascending order.");
  td_tensor q2[2] = {tt_i64(2), I64S(0, 3)};
  tt_expect_error(to_tensor(tt_i64(-1), I64S(1, 2), tt_i64(0), q2, 2, kRowIds, &out, &st), &st, TD_INVALID_ARGUMENT,
                  "value_rowids[1] = 3 is not in [0, 2)");
}

static void test_to_sparse(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  /* [[a,b],[],[c]] */
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedTensorToSparse");
  td_test_attr_int(nd, "RAGGED_RANK", 1);
  td_test_attr_type(nd, "T", TD_DT_STRING);
  td_tensor in[2] = {I64S(0, 2, 2, 3), STRS("a", "b", "c")};
  assert_int_equal(tt_run(nd, in, 2, out, 3, &st), TD_OK);
  EXPECT_SHAPE(&out[0], 3, 2);
  EXPECT_I64(&out[0], 0, 0, 0, 1, 2, 0);
  EXPECT_STR(&out[1], "a", "b", "c");
  EXPECT_I64(&out[2], 3, 2);
  tt_release(out, 3);
  /* Two levels with an inner dim: [[[v0],[v1,v2]]], v = [[1,2],[3,4],[5,6]] (int32 splits). */
  nd = td_test_node_new("RaggedTensorToSparse");
  td_test_attr_int(nd, "RAGGED_RANK", 2);
  td_test_attr_type(nd, "Tsplits", TD_DT_INT32);
  int64_t vd[2] = {3, 2};
  td_tensor in2[3] = {I32S(0, 2), I32S(0, 1, 3), td_test_tensor(TD_DT_INT64, 2, vd, (int64_t[]){1, 2, 3, 4, 5, 6})};
  assert_int_equal(tt_run(nd, in2, 3, out, 3, &st), TD_OK);
  EXPECT_SHAPE(&out[0], 6, 4);
  EXPECT_I64(&out[0], 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1);
  EXPECT_I64(&out[1], 1, 2, 3, 4, 5, 6);
  EXPECT_I64(&out[2], 1, 2, 2, 2);
  tt_release(out, 3);
  nd = td_test_node_new("RaggedTensorToSparse");
  td_test_attr_int(nd, "RAGGED_RANK", 1);
  td_tensor in3[2] = {I64S(0, 2, 5), I64S(1, 2, 3)};
  tt_expect_error(tt_run(nd, in3, 2, out, 3, &st), &st, TD_INVALID_ARGUMENT,
                  "Final value of ragged splits must match the length the corresponding values.");
}

static td_code gather(td_tensor splits, td_tensor values, td_tensor indices, int orr, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedGather");
  td_test_attr_int(nd, "PARAMS_RAGGED_RANK", 1);
  td_test_attr_int(nd, "OUTPUT_RAGGED_RANK", orr);
  td_test_attr_type(nd, "Tvalues", values.dtype);
  td_test_attr_type(nd, "Tindices", indices.dtype);
  td_test_attr_type(nd, "Tsplits", splits.dtype);
  td_tensor ins[3] = {splits, values, indices};
  return tt_run(nd, ins, 3, out, orr + 1, st);
}

static void test_gather(void **state) {
  (void)state;
  td_tensor out[3];
  td_status st = {0};
  /* params [[1,2],[],[3,4,5]]; gather [2,0] → [[3,4,5],[1,2]]. */
  assert_int_equal(gather(I64S(0, 2, 2, 5), I64S(1, 2, 3, 4, 5), I32S(2, 0), 1, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 3, 5);
  EXPECT_I64(&out[1], 3, 4, 5, 1, 2);
  tt_release(out, 2);
  /* 2-D indices [[2],[1]] → [[[3,4,5]],[[]]]. */
  int64_t d[2] = {2, 1};
  assert_int_equal(gather(I32S(0, 2, 2, 5), STRS("a", "b", "c", "d", "e"), td_test_tensor(TD_DT_INT64, 2, d, (int64_t[]){2, 1}),
                          2, out, &st),
                   TD_OK);
  EXPECT_I32(&out[0], 0, 1, 2);
  EXPECT_I32(&out[1], 0, 3, 3);
  EXPECT_STR(&out[2], "c", "d", "e");
  tt_release(out, 3);
  /* Scalar index → the row itself (no splits). */
  assert_int_equal(gather(I64S(0, 2, 2, 5), I64S(1, 2, 3, 4, 5), tt_i64(0), 0, out, &st), TD_OK);
  EXPECT_I64(&out[0], 1, 2);
  tt_release(out, 1);
  /* Empty indices. */
  assert_int_equal(gather(I64S(0, 2, 2, 5), I64S(1, 2, 3, 4, 5), tt_empty(TD_DT_INT32), 1, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0);
  EXPECT_SHAPE(&out[1], 0);
  tt_release(out, 2);
  tt_expect_error(gather(I64S(0, 2, 2, 5), I64S(1, 2, 3, 4, 5), I32S(0, 3), 1, out, &st), &st, TD_INVALID_ARGUMENT,
                  "indices[1] = 3 is not in [0, 3)");
}

static td_code range(td_tensor s, td_tensor l, td_tensor d, td_dtype sdt, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedRange");
  td_test_attr_type(nd, "T", s.dtype);
  if (sdt) td_test_attr_type(nd, "Tsplits", sdt);
  td_tensor ins[3] = {s, l, d};
  return tt_run(nd, ins, 3, out, 2, st);
}

static void test_range(void **state) {
  (void)state;
  td_tensor out[2];
  td_status st = {0};
  /* [range(0,4,2), range(5,1,-1), range(8,8,1)] = [[0,2],[5,4,3,2],[]] */
  assert_int_equal(range(I32S(0, 5, 8), I32S(4, 1, 8), I32S(2, -1, 1), 0, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 2, 6, 6);
  EXPECT_I32(&out[1], 0, 2, 5, 4, 3, 2);
  tt_release(out, 2);
  /* Scalars broadcast; int32 splits: [range(0,3), range(1,3)] */
  assert_int_equal(range(I64S(0, 1), tt_i64(3), tt_i64(1), TD_DT_INT32, out, &st), TD_OK);
  EXPECT_I32(&out[0], 0, 3, 5);
  EXPECT_I64(&out[1], 0, 1, 2, 1, 2);
  tt_release(out, 2);
  /* Float: ceil(1 / 0.3) = 4 values, accumulated in float32 (numpy: 0, 0.3, 0.6, 0.90000004). */
  assert_int_equal(range(F32S(0), F32S(1), F32S(0.3f), 0, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 4);
  EXPECT_F32(&out[1], 0.0f, 0.3f, 0.3f + 0.3f, 0.3f + 0.3f + 0.3f);
  tt_release(out, 2);
  tt_expect_error(range(I32S(0), I32S(3), I32S(0), 0, out, &st), &st, TD_INVALID_ARGUMENT, "Requires delta != 0");
  tt_expect_error(range(I32S(0, 1), I32S(3, 4, 5), I32S(1), 0, out, &st), &st, TD_INVALID_ARGUMENT,
                  "starts, limits, and deltas must have the same shape");
}

/* RaggedTensorToVariant over splits[0..nlev) + values. */
static td_code to_variant(td_tensor *in, int nlev, int batched, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedTensorToVariant");
  td_test_attr_int(nd, "RAGGED_RANK", nlev);
  td_test_attr_bool(nd, "batched_input", batched);
  td_test_attr_type(nd, "Tvalues", in[nlev].dtype);
  if (nlev) td_test_attr_type(nd, "Tsplits", in[0].dtype);
  return tt_run(nd, in, nlev + 1, out, 1, st);
}

static td_code from_variant(td_tensor enc, int irr, int orr, td_dtype vdt, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedTensorFromVariant");
  td_test_attr_int(nd, "input_ragged_rank", irr);
  td_test_attr_int(nd, "output_ragged_rank", orr);
  td_test_attr_type(nd, "Tvalues", vdt);
  return tt_run(nd, &enc, 1, out, orr + 1, st);
}

static void test_variant(void **state) {
  (void)state;
  td_tensor enc, out[3];
  td_status st = {0};
  /* Whole tensor as one scalar variant, and back: [[1,2],[],[3]]. */
  td_tensor in[3] = {I64S(0, 2, 2, 3), I32S(1, 2, 3)};
  assert_int_equal(to_variant(in, 1, 0, &enc, &st), TD_OK);
  assert_int_equal(enc.dtype, TD_DT_VARIANT);
  assert_int_equal(enc.shape.rank, 0);
  assert_int_equal(from_variant(enc, 1, 1, TD_DT_INT32, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 2, 2, 3);
  EXPECT_I32(&out[1], 1, 2, 3);
  tt_release(out, 2);
  /* Batched: one element per row (ragged_rank 0 each), stacked back by FromVariant. */
  td_tensor in2[2] = {I64S(0, 2, 2, 3), STRS("a", "bé", "c")};
  assert_int_equal(to_variant(in2, 1, 1, &enc, &st), TD_OK);
  EXPECT_SHAPE(&enc, 3);
  assert_int_equal(from_variant(enc, 0, 1, TD_DT_STRING, out, &st), TD_OK);
  EXPECT_I64(&out[0], 0, 2, 2, 3);
  EXPECT_STR(&out[1], "a", "bé", "c");
  tt_release(out, 2);
  /* Two levels, batched: [[[1],[2,3]],[[4]]] → rows [[1],[2,3]] and [[4]] → back. */
  td_tensor in3[3] = {I32S(0, 2, 3), I32S(0, 1, 3, 4), I64S(1, 2, 3, 4)};
  assert_int_equal(to_variant(in3, 2, 1, &enc, &st), TD_OK);
  EXPECT_SHAPE(&enc, 2);
  Tensorflow__NodeDef *nd = td_test_node_new("RaggedTensorFromVariant");
  td_test_attr_int(nd, "input_ragged_rank", 1);
  td_test_attr_int(nd, "output_ragged_rank", 2);
  td_test_attr_type(nd, "Tvalues", TD_DT_INT64);
  td_test_attr_type(nd, "Tsplits", TD_DT_INT32);
  td_tensor e1 = td_tensor_ref(&enc);
  assert_int_equal(tt_run(nd, &e1, 1, out, 3, &st), TD_OK);
  EXPECT_I32(&out[0], 0, 2, 3);
  EXPECT_I32(&out[1], 0, 1, 3, 4);
  EXPECT_I64(&out[2], 1, 2, 3, 4);
  tt_release(out, 3);
  /* Wrong ragged rank for the elements; wrong values dtype. */
  td_tensor e2 = td_tensor_ref(&enc);
  tt_expect_error(from_variant(e2, 2, 3, TD_DT_INT64, out, &st), &st, TD_INVALID_ARGUMENT,
                  "Encoded input RaggedTensor has ragged_rank=1, expected 2");
  tt_expect_error(from_variant(enc, 1, 2, TD_DT_FLOAT, out, &st), &st, TD_INVALID_ARGUMENT,
                  "Expected values dtype float, found int64");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_to_tensor),
      cmocka_unit_test(test_to_sparse),
      cmocka_unit_test(test_gather),
      cmocka_unit_test(test_range),
      cmocka_unit_test(test_variant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
