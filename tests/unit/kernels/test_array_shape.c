/* test_array_shape.c — Reshape, Shape, ShapeN, Size, Rank, ExpandDims, Squeeze, Fill, Range:
 * expected values, zero-copy forwarding, empty tensors and TF's error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/test_array_util.h"

static void test_reshape(void **state) {
  /* int32 [2,3] → [3,-1] */
  td_tensor in[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_vec_i32(2, A_I32(3, -1))};
  td_tensor out = at_run1(at_node("Reshape", TD_DT_INT32), in, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(0, 1, 2, 3, 4, 5));
  /* strings, int64 shape, to scalar-free rank 3 */
  td_tensor s[2] = {at_tensor(TD_DT_STRING, 1, A_DIMS(4), A_STR("a", "bb", "", "d")),
                    at_vec_i64(3, A_I64(2, 1, 2))};
  Tensorflow__NodeDef *nd = at_node("Reshape", TD_DT_STRING);
  td_test_attr_type(nd, "Tshape", TD_DT_INT64);
  out = at_run1(nd, s, 2);
  at_expect(&out, TD_DT_STRING, 3, A_DIMS(2, 1, 2), A_STR("a", "bb", "", "d"));
  /* to a scalar */
  td_tensor sc[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 1), A_F32(2.5f)), at_vec_i32(0, NULL)};
  out = at_run1(at_node("Reshape", TD_DT_FLOAT), sc, 2);
  at_expect(&out, TD_DT_FLOAT, 0, NULL, A_F32(2.5f));
  /* empty input with -1 next to a zero dim */
  td_tensor e[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(0, 4), NULL), at_vec_i32(3, A_I32(0, -1, 2))};
  out = at_run1(at_node("Reshape", TD_DT_FLOAT), e, 2);
  at_expect(&out, TD_DT_FLOAT, 3, A_DIMS(0, 2, 2), NULL);
}

static void test_reshape_errors(void **state) {
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(2, 5))};
  at_expect_error(at_node("Reshape", TD_DT_INT32), a, 2, 1, TD_INVALID_ARGUMENT,
                  "Input to reshape is a tensor with 12 values, but the requested shape has 10");
  td_tensor b[2] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(5, -1))};
  at_expect_error(at_node("Reshape", TD_DT_INT32), b, 2, 1, TD_INVALID_ARGUMENT,
                  "Input to reshape is a tensor with 12 values, but the requested shape requires a multiple of 5");
  td_tensor c[2] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(-1, -1))};
  at_expect_error(at_node("Reshape", TD_DT_INT32), c, 2, 1, TD_INVALID_ARGUMENT,
                  "Only one input size may be -1, not both 0 and 1");
  td_tensor d[2] = {at_iota_i32(2, A_DIMS(3, 4)), at_vec_i32(2, A_I32(-3, 4))};
  at_expect_error(at_node("Reshape", TD_DT_INT32), d, 2, 1, TD_INVALID_ARGUMENT, "Size 0 must be non-negative, not -3");
  td_tensor e[2] = {at_iota_i32(1, A_DIMS(4)), at_tensor(TD_DT_INT32, 2, A_DIMS(1, 2), A_I32(2, 2))};
  at_expect_error(at_node("Reshape", TD_DT_INT32), e, 2, 1, TD_INVALID_ARGUMENT, "sizes input must be 1-D, not [1,2]");
}

static void test_shape_size_rank(void **state) {
  td_tensor a[1] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(2, 0, 5), NULL)};
  td_tensor out = at_run1(at_node("Shape", TD_DT_FLOAT), a, 1);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(3), A_I32(2, 0, 5));

  td_tensor b[1] = {at_iota_str(2, A_DIMS(3, 7))};
  Tensorflow__NodeDef *nd = at_node("Shape", TD_DT_STRING);
  td_test_attr_type(nd, "out_type", TD_DT_INT64);
  out = at_run1(nd, b, 1);
  at_expect(&out, TD_DT_INT64, 1, A_DIMS(2), A_I64(3, 7));

  td_tensor c[1] = {at_f32s(1.0f)};
  out = at_run1(at_node("Shape", TD_DT_FLOAT), c, 1);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(0), NULL);

  td_tensor d[1] = {at_iota_i32(3, A_DIMS(2, 3, 4))};
  out = at_run1(at_node("Size", TD_DT_INT32), d, 1);
  at_expect(&out, TD_DT_INT32, 0, NULL, A_I32(24));
  td_tensor d2[1] = {at_iota_i32(3, A_DIMS(2, 3, 4))};
  nd = at_node("Size", TD_DT_INT32);
  td_test_attr_type(nd, "out_type", TD_DT_INT64);
  out = at_run1(nd, d2, 1);
  at_expect(&out, TD_DT_INT64, 0, NULL, A_I64(24));

  td_tensor e[1] = {at_iota_i32(3, A_DIMS(2, 3, 4))};
  out = at_run1(at_node("Rank", TD_DT_INT32), e, 1);
  at_expect(&out, TD_DT_INT32, 0, NULL, A_I32(3));
}

static void test_shape_n(void **state) {
  td_tensor in[3] = {at_iota_i32(2, A_DIMS(2, 3)), at_iota_i32(1, A_DIMS(5)), at_iota_i32(0, NULL)};
  Tensorflow__NodeDef *nd = at_node("ShapeN", TD_DT_INT32);
  td_test_attr_int(nd, "N", 3);
  td_tensor out[3];
  td_status st;
  assert_int_equal(at_run(nd, in, 3, out, 3, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT32, 1, A_DIMS(2), A_I32(2, 3));
  at_expect(&out[1], TD_DT_INT32, 1, A_DIMS(1), A_I32(5));
  at_expect(&out[2], TD_DT_INT32, 1, A_DIMS(0), NULL);
}

static void test_expand_dims(void **state) {
  static const struct { int32_t dim; int rank; int64_t dims[3]; } cases[] = {
      {0, 3, {1, 2, 3}}, {1, 3, {2, 1, 3}}, {2, 3, {2, 3, 1}}, {-1, 3, {2, 3, 1}}, {-3, 3, {1, 2, 3}}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    td_tensor in[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_i32s(cases[i].dim)};
    td_tensor out = at_run1(at_node("ExpandDims", TD_DT_INT32), in, 2);
    at_expect(&out, TD_DT_INT32, cases[i].rank, cases[i].dims, A_I32(0, 1, 2, 3, 4, 5));
  }
  td_tensor s[2] = {at_tensor(TD_DT_STRING, 0, NULL, A_STR("x")), at_vec_i64(1, A_I64(0))};
  Tensorflow__NodeDef *nd = at_node("ExpandDims", TD_DT_STRING);
  td_test_attr_type(nd, "Tdim", TD_DT_INT64);
  td_tensor out = at_run1(nd, s, 2);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(1), A_STR("x"));

  td_tensor bad[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_i32s(3)};
  at_expect_error(at_node("ExpandDims", TD_DT_INT32), bad, 2, 1, TD_INVALID_ARGUMENT,
                  "Tried to expand dim index 3 for tensor with 2 dimensions.");
  td_tensor bad2[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_iota_i32(1, A_DIMS(2))};
  at_expect_error(at_node("ExpandDims", TD_DT_INT32), bad2, 2, 1, TD_INVALID_ARGUMENT,
                  "'dim' must be a tensor with a single value");
}

static void test_squeeze(void **state) {
  td_tensor a[1] = {at_iota_i32(4, A_DIMS(1, 2, 1, 3))};
  td_tensor out = at_run1(at_node("Squeeze", TD_DT_INT32), a, 1);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 2, 3, 4, 5));

  td_tensor b[1] = {at_iota_i32(4, A_DIMS(1, 2, 1, 3))};
  Tensorflow__NodeDef *nd = at_node("Squeeze", TD_DT_INT32);
  td_test_attr_ints(nd, "squeeze_dims", A_I64(-2), 1);
  out = at_run1(nd, b, 1);
  at_expect(&out, TD_DT_INT32, 3, A_DIMS(1, 2, 3), A_I32(0, 1, 2, 3, 4, 5));

  td_tensor c[1] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 0, 1), NULL)};
  out = at_run1(at_node("Squeeze", TD_DT_FLOAT), c, 1);
  at_expect(&out, TD_DT_FLOAT, 1, A_DIMS(0), NULL);

  td_tensor d[1] = {at_iota_i32(2, A_DIMS(1, 2))};
  nd = at_node("Squeeze", TD_DT_INT32);
  td_test_attr_ints(nd, "squeeze_dims", A_I64(1), 1);
  at_expect_error(nd, d, 1, 1, TD_INVALID_ARGUMENT, "Can not squeeze dim[1], expected a dimension of 1, got 2");
  td_tensor e[1] = {at_iota_i32(2, A_DIMS(1, 2))};
  nd = at_node("Squeeze", TD_DT_INT32);
  td_test_attr_ints(nd, "squeeze_dims", A_I64(2), 1);
  at_expect_error(nd, e, 1, 1, TD_INVALID_ARGUMENT, "Tried to squeeze dim index 2 for tensor with 2 dimensions.");
}

static void test_fill(void **state) {
  td_tensor a[2] = {at_vec_i32(2, A_I32(2, 3)), at_f32s(1.5f)};
  td_tensor out = at_run1(at_node("Fill", TD_DT_FLOAT), a, 2);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(2, 3), A_F32(1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f));

  td_tensor b[2] = {at_vec_i64(1, A_I64(3)), at_tensor(TD_DT_STRING, 0, NULL, A_STR("hey"))};
  Tensorflow__NodeDef *nd = at_node("Fill", TD_DT_STRING);
  td_test_attr_type(nd, "index_type", TD_DT_INT64);
  out = at_run1(nd, b, 2);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(3), A_STR("hey", "hey", "hey"));

  /* a large fill exercises the doubling copy */
  td_tensor c[2] = {at_vec_i32(1, A_I32(1000)), at_i64s(-7)};
  out = at_run1(at_node("Fill", TD_DT_INT64), c, 2);
  assert_int_equal(out.shape.dim[0], 1000);
  for (int i = 0; i < 1000; i++) assert_int_equal(td_i64(&out)[i], -7);
  td_tensor_release(&out);

  td_tensor d[2] = {at_vec_i32(2, A_I32(2, 0)), at_f32s(1)};
  out = at_run1(at_node("Fill", TD_DT_FLOAT), d, 2);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(2, 0), NULL);

  td_tensor e[2] = {at_vec_i32(2, A_I32(2, -1)), at_f32s(1)};
  at_expect_error(at_node("Fill", TD_DT_FLOAT), e, 2, 1, TD_INVALID_ARGUMENT, "Dimension -1 must be >= 0");
  td_tensor f[2] = {at_vec_i32(1, A_I32(2)), at_tensor(TD_DT_FLOAT, 1, A_DIMS(1), A_F32(1))};
  at_expect_error(at_node("Fill", TD_DT_FLOAT), f, 2, 1, TD_INVALID_ARGUMENT, "value must be a scalar, got shape [1]");
  td_tensor g[2] = {at_vec_i64(2, A_I64(INT64_C(1) << 40, INT64_C(1) << 40)), at_f32s(1)};
  at_expect_error(at_node("Fill", TD_DT_FLOAT), g, 2, 1, TD_INVALID_ARGUMENT, "overflow");
}

static void test_range(void **state) {
  td_tensor a[3] = {at_i32s(3), at_i32s(18), at_i32s(5)};
  td_tensor out = at_run1(at_node("Range", TD_DT_INVALID), a, 3);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(3), A_I32(3, 8, 13));

  td_tensor b[3] = {at_i64s(5), at_i64s(-2), at_i64s(-3)};
  Tensorflow__NodeDef *nd = at_node("Range", TD_DT_INVALID);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  out = at_run1(nd, b, 3);
  at_expect(&out, TD_DT_INT64, 1, A_DIMS(3), A_I64(5, 2, -1));

  td_tensor c[3] = {at_f32s(0.0f), at_f32s(1.0f), at_f32s(0.3f)};
  nd = at_node("Range", TD_DT_INVALID);
  td_test_attr_type(nd, "Tidx", TD_DT_FLOAT);
  out = at_run1(nd, c, 3);
  /* TF accumulates in float: 0, 0.3, 0.6, 0.90000004 */
  float f3 = 0.0f + 0.3f;
  float f4 = f3 + 0.3f;
  float f5 = f4 + 0.3f;
  at_expect(&out, TD_DT_FLOAT, 1, A_DIMS(4), ((const float[]){0.0f, f3, f4, f5}));

  td_tensor d[3] = {at_i32s(4), at_i32s(4), at_i32s(1)};
  out = at_run1(at_node("Range", TD_DT_INVALID), d, 3);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(0), NULL);

  td_tensor e[3] = {at_i32s(0), at_i32s(4), at_i32s(0)};
  at_expect_error(at_node("Range", TD_DT_INVALID), e, 3, 1, TD_INVALID_ARGUMENT, "Requires delta != 0: 0");
  td_tensor f[3] = {at_i32s(5), at_i32s(1), at_i32s(1)};
  at_expect_error(at_node("Range", TD_DT_INVALID), f, 3, 1, TD_INVALID_ARGUMENT,
                  "Requires start <= limit when delta > 0: 5/1");
  td_tensor g[3] = {at_i32s(1), at_i32s(5), at_i32s(-1)};
  at_expect_error(at_node("Range", TD_DT_INVALID), g, 3, 1, TD_INVALID_ARGUMENT,
                  "Requires start >= limit when delta < 0: 1/5");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reshape),     cmocka_unit_test(test_reshape_errors), cmocka_unit_test(test_shape_size_rank),
      cmocka_unit_test(test_shape_n),     cmocka_unit_test(test_expand_dims),    cmocka_unit_test(test_squeeze),
      cmocka_unit_test(test_fill),        cmocka_unit_test(test_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
