/* test_array_concat.c — ConcatV2, Concat, Pack, Unpack, Split, SplitV: expected values for
 * numeric and string tensors, negative axes, empty inputs, FunctionDef-style multi outputs,
 * and TF's error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/test_array_util.h"

static Tensorflow__NodeDef *n_node(const char *op, td_dtype t, const char *n_attr, int64_t n) {
  Tensorflow__NodeDef *nd = at_node(op, t);
  td_test_attr_int(nd, n_attr, n);
  return nd;
}

static void test_concat_v2(void **state) {
  td_tensor a[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_tensor(TD_DT_INT32, 2, A_DIMS(2, 1), A_I32(10, 11)), at_i32s(1)};
  td_tensor out = at_run1(n_node("ConcatV2", TD_DT_INT32, "N", 2), a, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 10, 2, 3, 11));
  td_tensor b[4] = {at_iota_i32(2, A_DIMS(1, 2)), at_tensor(TD_DT_INT32, 2, A_DIMS(0, 2), NULL),
                    at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(7, 8, 9, 10)), at_i64s(-2)};
  Tensorflow__NodeDef *nd = n_node("ConcatV2", TD_DT_INT32, "N", 3);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  out = at_run1(nd, b, 4);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(0, 1, 7, 8, 9, 10));
  td_tensor c[3] = {at_tensor(TD_DT_STRING, 2, A_DIMS(2, 1), A_STR("a", "b")),
                    at_tensor(TD_DT_STRING, 2, A_DIMS(2, 2), A_STR("c", "d", "e", "f")), at_i32s(-1)};
  out = at_run1(n_node("ConcatV2", TD_DT_STRING, "N", 2), c, 3);
  at_expect(&out, TD_DT_STRING, 2, A_DIMS(2, 3), A_STR("a", "c", "d", "b", "e", "f"));
  td_tensor d[2] = {at_iota_i32(1, A_DIMS(3)), at_i32s(0)};
  out = at_run1(n_node("ConcatV2", TD_DT_INT32, "N", 1), d, 2);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(3), A_I32(0, 1, 2));
  td_tensor e[3] = {at_tensor(TD_DT_DOUBLE, 1, A_DIMS(1), A_F64(1.5)), at_tensor(TD_DT_DOUBLE, 1, A_DIMS(2), A_F64(2, 3)),
                    at_i32s(0)};
  out = at_run1(n_node("ConcatV2", TD_DT_DOUBLE, "N", 2), e, 3);
  at_expect(&out, TD_DT_DOUBLE, 1, A_DIMS(3), A_F64(1.5, 2, 3));
}

static void test_concat_v1_and_errors(void **state) {
  td_tensor a[3] = {at_i32s(0), at_iota_i32(2, A_DIMS(1, 2)), at_iota_i32(2, A_DIMS(1, 2))};
  td_tensor out = at_run1(n_node("Concat", TD_DT_INT32, "N", 2), a, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 1, 0, 1));
  td_tensor b[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_iota_i32(2, A_DIMS(3, 3)), at_i32s(0)};
  at_expect_error(n_node("ConcatV2", TD_DT_INT32, "N", 2), b, 3, 1, TD_INVALID_ARGUMENT,
                  "ConcatOp : Dimension 1 in both shapes must be equal: shape[0] = [2,2] vs. shape[1] = [3,3]");
  td_tensor c[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_iota_i32(1, A_DIMS(2)), at_i32s(0)};
  at_expect_error(n_node("ConcatV2", TD_DT_INT32, "N", 2), c, 3, 1, TD_INVALID_ARGUMENT,
                  "ConcatOp : Ranks of all input tensors should match: shape[0] = [2,2] vs. shape[1] = [2]");
  td_tensor d[3] = {at_iota_i32(2, A_DIMS(2, 2)), at_iota_i32(2, A_DIMS(2, 2)), at_i32s(2)};
  at_expect_error(n_node("ConcatV2", TD_DT_INT32, "N", 2), d, 3, 1, TD_INVALID_ARGUMENT,
                  "ConcatOp : Expected concatenating dimensions in the range [-2, 2), but got 2");
  td_tensor e[3] = {at_iota_i32(1, A_DIMS(2)), at_iota_i32(1, A_DIMS(2)), at_vec_i32(2, A_I32(0, 0))};
  at_expect_error(n_node("ConcatV2", TD_DT_INT32, "N", 2), e, 3, 1, TD_INVALID_ARGUMENT,
                  "axis tensor should be a scalar integer, but got shape [2]");
}

static void test_pack(void **state) {
  td_tensor a[3] = {at_vec_i32(2, A_I32(1, 2)), at_vec_i32(2, A_I32(3, 4)), at_vec_i32(2, A_I32(5, 6))};
  td_tensor out = at_run1(n_node("Pack", TD_DT_INT32, "N", 3), a, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(1, 2, 3, 4, 5, 6));
  td_tensor b[3] = {at_vec_i32(2, A_I32(1, 2)), at_vec_i32(2, A_I32(3, 4)), at_vec_i32(2, A_I32(5, 6))};
  Tensorflow__NodeDef *nd = n_node("Pack", TD_DT_INT32, "N", 3);
  td_test_attr_int(nd, "axis", -1);
  out = at_run1(nd, b, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(1, 3, 5, 2, 4, 6));
  td_tensor c[2] = {at_tensor(TD_DT_STRING, 0, NULL, A_STR("x")), at_tensor(TD_DT_STRING, 0, NULL, A_STR("yy"))};
  out = at_run1(n_node("Pack", TD_DT_STRING, "N", 2), c, 2);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(2), A_STR("x", "yy"));
  td_tensor d[1] = {at_iota_i32(1, A_DIMS(3))};
  out = at_run1(n_node("Pack", TD_DT_INT32, "N", 1), d, 1);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(1, 3), A_I32(0, 1, 2));
  td_tensor e[2] = {at_vec_i32(2, A_I32(1, 2)), at_vec_i32(3, A_I32(3, 4, 5))};
  at_expect_error(n_node("Pack", TD_DT_INT32, "N", 2), e, 2, 1, TD_INVALID_ARGUMENT,
                  "Shapes of all inputs must match: values[0].shape = [2] != values[1].shape = [3]");
  td_tensor f[2] = {at_vec_i32(2, A_I32(1, 2)), at_vec_i32(2, A_I32(3, 4))};
  nd = n_node("Pack", TD_DT_INT32, "N", 2);
  td_test_attr_int(nd, "axis", 2);
  at_expect_error(nd, f, 2, 1, TD_INVALID_ARGUMENT, "axis = 2 not in [-2, 2)");
}

static void test_unpack(void **state) {
  td_tensor a[1] = {at_iota_i32(2, A_DIMS(3, 2))};
  Tensorflow__NodeDef *nd = n_node("Unpack", TD_DT_INT32, "num", 3);
  td_tensor out[3];
  td_status st;
  assert_int_equal(at_run(nd, a, 1, out, 3, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 1, A_DIMS(2), A_I32(0, 1));
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(2), A_I32(2, 3));
  at_expect(&out[2], TD_DT_INT32, 1, A_DIMS(2), A_I32(4, 5));
  td_tensor b[1] = {at_iota_str(2, A_DIMS(3, 2))};
  nd = n_node("Unpack", TD_DT_STRING, "num", 2);
  td_test_attr_int(nd, "axis", -1);
  assert_int_equal(at_run(nd, b, 1, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_STRING, 1, A_DIMS(3), A_STR("s0", "s2", "s4"));
  at_expect(&out[1], TD_DT_STRING, 1, A_DIMS(3), A_STR("s1", "s3", "s5"));
  td_tensor c[1] = {at_iota_i32(2, A_DIMS(3, 2))};
  at_expect_error(n_node("Unpack", TD_DT_INT32, "num", 2), c, 1, 2, TD_INVALID_ARGUMENT,
                  "Input shape axis 0 must equal 2, got shape [3,2]");
}

static void test_split(void **state) {
  td_tensor a[2] = {at_i32s(1), at_iota_i32(2, A_DIMS(2, 4))};
  td_tensor out[4];
  td_status st;
  assert_int_equal(at_run(n_node("Split", TD_DT_INT32, "num_split", 2), a, 2, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(0, 1, 4, 5));
  at_expect(&out[1], TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(2, 3, 6, 7));
  td_tensor b[2] = {at_i32s(-2), at_iota_str(2, A_DIMS(2, 1))};
  assert_int_equal(at_run(n_node("Split", TD_DT_STRING, "num_split", 2), b, 2, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_STRING, 2, A_DIMS(1, 1), A_STR("s0"));
  at_expect(&out[1], TD_DT_STRING, 2, A_DIMS(1, 1), A_STR("s1"));
  td_tensor c[2] = {at_i32s(0), at_iota_i32(1, A_DIMS(5))};
  at_expect_error(n_node("Split", TD_DT_INT32, "num_split", 2), c, 2, 2, TD_INVALID_ARGUMENT,
                  "Number of ways to split should evenly divide the split dimension, but got split_dim 0 (size = 5) and num_split 2");
  td_tensor d[2] = {at_i32s(2), at_iota_i32(1, A_DIMS(4))};
  at_expect_error(n_node("Split", TD_DT_INT32, "num_split", 2), d, 2, 2, TD_INVALID_ARGUMENT,
                  "-input rank(-1) <= split_dim < input rank (1), but got 2");
}

static void test_split_v(void **state) {
  td_tensor a[3] = {at_iota_i32(2, A_DIMS(2, 5)), at_vec_i64(3, A_I64(1, -1, 2)), at_i32s(1)};
  td_tensor out[3];
  td_status st;
  assert_int_equal(at_run(n_node("SplitV", TD_DT_INT32, "num_split", 3), a, 3, out, 3, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 2, A_DIMS(2, 1), A_I32(0, 5));
  at_expect(&out[1], TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(1, 2, 6, 7));
  at_expect(&out[2], TD_DT_INT32, 2, A_DIMS(2, 2), A_I32(3, 4, 8, 9));
  td_tensor b[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i32(2, A_I32(3, 0)), at_i32s(0)};
  Tensorflow__NodeDef *nd = n_node("SplitV", TD_DT_INT32, "num_split", 2);
  td_test_attr_type(nd, "Tlen", TD_DT_INT32);
  assert_int_equal(at_run(nd, b, 3, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 1, A_DIMS(3), A_I32(0, 1, 2));
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(0), NULL);
  td_tensor c[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i64(2, A_I64(-1, -1)), at_i32s(0)};
  at_expect_error(n_node("SplitV", TD_DT_INT32, "num_split", 2), c, 3, 2, TD_INVALID_ARGUMENT,
                  "There can only be one -1 in the input.");
  td_tensor d[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i64(2, A_I64(1, 1)), at_i32s(0)};
  at_expect_error(n_node("SplitV", TD_DT_INT32, "num_split", 2), d, 3, 2, TD_INVALID_ARGUMENT,
                  "Determined shape must either match input shape along split_dim exactly if fully specified");
  td_tensor e[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i64(2, A_I64(4, -1)), at_i32s(0)};
  at_expect_error(n_node("SplitV", TD_DT_INT32, "num_split", 2), e, 3, 2, TD_INVALID_ARGUMENT,
                  "Determined shape must either match");
  td_tensor f[3] = {at_iota_i32(1, A_DIMS(3)), at_vec_i64(3, A_I64(1, 1, 1)), at_i32s(0)};
  at_expect_error(n_node("SplitV", TD_DT_INT32, "num_split", 2), f, 3, 2, TD_INVALID_ARGUMENT,
                  "size of the split_tensor must be 1-D and have the same elements as outputs got 1 -D and 3 elements");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concat_v2), cmocka_unit_test(test_concat_v1_and_errors), cmocka_unit_test(test_pack),
      cmocka_unit_test(test_unpack),    cmocka_unit_test(test_split),                cmocka_unit_test(test_split_v),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
