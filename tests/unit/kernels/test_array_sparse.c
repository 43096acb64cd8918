/* test_array_sparse.c — SparseReshape, SparseFillEmptyRows, SparseToDense, SparseSegment
 * Sum/Mean/SqrtN (+WithNumSegments), Cumsum/Cumprod: TF documentation examples, pass-through
 * cases, strings, and error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "kernels/test_array_util.h"

static void test_sparse_reshape(void **state) {
  td_tensor a[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(5, 3), A_I64(0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 2, 3)),
                    at_vec_i64(3, A_I64(2, 3, 6)), at_vec_i64(2, A_I64(9, -1))};
  td_tensor out[2];
  td_status st;
  assert_int_equal(at_run(td_test_node_new("SparseReshape"), a, 3, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(5, 2), A_I64(0, 0, 0, 1, 1, 2, 4, 2, 8, 1));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(2), A_I64(9, 4));
  /* same shape: pass-through */
  td_tensor b[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(1, 1)), at_vec_i64(2, A_I64(2, 2)),
                    at_vec_i64(2, A_I64(2, 2))};
  assert_int_equal(at_run(td_test_node_new("SparseReshape"), b, 3, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(1, 1));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(2), A_I64(2, 2));
  /* no entries, rank change */
  td_tensor c[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_vec_i64(2, A_I64(4, 3)),
                    at_vec_i64(1, A_I64(-1))};
  assert_int_equal(at_run(td_test_node_new("SparseReshape"), c, 3, out, 2, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(0, 1), NULL);
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(1), A_I64(12));
  td_tensor d[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_vec_i64(2, A_I64(4, 3)),
                    at_vec_i64(2, A_I64(5, -1))};
  at_expect_error(td_test_node_new("SparseReshape"), d, 3, 2, TD_INVALID_ARGUMENT,
                  "Input to reshape is a SparseTensor with 12 dense values, but the requested shape requires a multiple of 5");
  td_tensor e[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_vec_i64(2, A_I64(4, 3)),
                    at_vec_i64(2, A_I64(-1, -1))};
  at_expect_error(td_test_node_new("SparseReshape"), e, 3, 2, TD_INVALID_ARGUMENT,
                  "only one output dimension may be -1, not both 0 and 1");
  td_tensor f[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_vec_i64(2, A_I64(4, 3)),
                    at_vec_i64(2, A_I64(5, 2))};
  at_expect_error(td_test_node_new("SparseReshape"), f, 3, 2, TD_INVALID_ARGUMENT,
                  "Input to reshape is a tensor with 12 dense values, but the requested shape has 10");
  td_tensor g[3] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 3), NULL), at_vec_i64(2, A_I64(4, 3)),
                    at_vec_i64(2, A_I64(3, 4))};
  at_expect_error(td_test_node_new("SparseReshape"), g, 3, 2, TD_INVALID_ARGUMENT,
                  "Input tensor rank must match input shape length");
}

static Tensorflow__NodeDef *sfer_node(td_dtype t) { return at_node("SparseFillEmptyRows", t); }

static void test_sparse_fill_empty_rows(void **state) {
  td_tensor a[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(6, 2), A_I64(0, 0, 1, 0, 1, 3, 1, 4, 3, 2, 3, 3)),
                    at_tensor(TD_DT_STRING, 1, A_DIMS(6), A_STR("a", "b", "c", "d", "e", "f")),
                    at_vec_i64(2, A_I64(5, 6)), at_tensor(TD_DT_STRING, 0, NULL, A_STR("x"))};
  td_tensor out[4];
  td_status st;
  assert_int_equal(at_run(sfer_node(TD_DT_STRING), a, 4, out, 4, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(8, 2), A_I64(0, 0, 1, 0, 1, 3, 1, 4, 2, 0, 3, 2, 3, 3, 4, 0));
  at_expect(&out[1], TD_DT_STRING, 1, A_DIMS(8), A_STR("a", "b", "c", "d", "x", "e", "f", "x"));
  at_expect(&out[2], TD_DT_BOOL, 1, A_DIMS(5), A_U8(0, 0, 1, 0, 1));
  at_expect(&out[3], TD_DT_INT64, 1, A_DIMS(6), A_I64(0, 1, 2, 3, 5, 6));
  /* unordered rows */
  td_tensor b[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(1, 0, 0, 1)), at_vec_i64(2, A_I64(1, 2)),
                    at_vec_i64(2, A_I64(3, 2)), at_i64s(9)};
  assert_int_equal(at_run(sfer_node(TD_DT_INT64), b, 4, out, 4, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(3, 2), A_I64(0, 1, 1, 0, 2, 0));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(3), A_I64(2, 1, 9));
  at_expect(&out[2], TD_DT_BOOL, 1, A_DIMS(3), A_U8(0, 0, 1));
  at_expect(&out[3], TD_DT_INT64, 1, A_DIMS(2), A_I64(1, 0));
  /* ordered, no empty rows: pass-through */
  td_tensor c[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(2, 1), A_I64(0, 1)), at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(3, 4)),
                    at_vec_i64(1, A_I64(2)), at_f32s(0)};
  assert_int_equal(at_run(sfer_node(TD_DT_FLOAT), c, 4, out, 4, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(2, 1), A_I64(0, 1));
  at_expect(&out[1], TD_DT_FLOAT, 1, A_DIMS(2), A_F32(3, 4));
  at_expect(&out[2], TD_DT_BOOL, 1, A_DIMS(2), A_U8(0, 0));
  at_expect(&out[3], TD_DT_INT64, 1, A_DIMS(2), A_I64(0, 1));
  /* all empty */
  td_tensor d[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_tensor(TD_DT_INT64, 1, A_DIMS(0), NULL),
                    at_vec_i64(2, A_I64(2, 3)), at_i64s(-1)};
  assert_int_equal(at_run(sfer_node(TD_DT_INT64), d, 4, out, 4, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(0, 0, 1, 0));
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(2), A_I64(-1, -1));
  at_expect(&out[2], TD_DT_BOOL, 1, A_DIMS(2), A_U8(1, 1));
  at_expect(&out[3], TD_DT_INT64, 1, A_DIMS(0), NULL);
  /* zero rows */
  td_tensor e[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(0, 2), NULL), at_tensor(TD_DT_INT64, 1, A_DIMS(0), NULL),
                    at_vec_i64(2, A_I64(0, 3)), at_i64s(-1)};
  assert_int_equal(at_run(sfer_node(TD_DT_INT64), e, 4, out, 4, &st), TD_OK);
  at_expect(&out[0], TD_DT_INT64, 2, A_DIMS(0, 2), NULL);
  at_expect(&out[1], TD_DT_INT64, 1, A_DIMS(0), NULL);
  at_expect(&out[2], TD_DT_BOOL, 1, A_DIMS(0), NULL);
  at_expect(&out[3], TD_DT_INT64, 1, A_DIMS(0), NULL);
  /* errors */
  td_tensor f[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(3, 0)), at_vec_i64(1, A_I64(1)),
                    at_vec_i64(2, A_I64(3, 3)), at_i64s(0)};
  at_expect_error(sfer_node(TD_DT_INT64), f, 4, 4, TD_INVALID_ARGUMENT, "indices(0, 0) is invalid: 3 >= 3");
  td_tensor g[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(0, 0)), at_vec_i64(2, A_I64(1, 1)),
                    at_vec_i64(2, A_I64(3, 3)), at_i64s(0)};
  at_expect_error(sfer_node(TD_DT_INT64), g, 4, 4, TD_INVALID_ARGUMENT,
                  "The length of `values` (2) must match the first dimension of `indices` (1).");
  td_tensor h[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(0, 0)), at_vec_i64(1, A_I64(1)),
                    at_vec_i64(2, A_I64(3, 3)), at_vec_i64(1, A_I64(0))};
  at_expect_error(sfer_node(TD_DT_INT64), h, 4, 4, TD_INVALID_ARGUMENT, "default_value must be a scalar, saw: [1]");
}

static Tensorflow__NodeDef *std_node(td_dtype t) {
  Tensorflow__NodeDef *nd = at_node("SparseToDense", t);
  td_test_attr_type(nd, "Tindices", TD_DT_INT64);
  return nd;
}

static void test_sparse_to_dense(void **state) {
  td_tensor a[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(0, 1, 2, 0)), at_vec_i64(2, A_I64(3, 2)),
                    at_vec_i32(2, A_I32(5, 6)), at_i32s(-1)};
  td_tensor out = at_run1(std_node(TD_DT_INT32), a, 4);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(-1, 5, -1, -1, 6, -1));
  td_tensor b[4] = {at_vec_i64(2, A_I64(1, 3)), at_vec_i64(1, A_I64(4)), at_tensor(TD_DT_STRING, 0, NULL, A_STR("on")),
                    at_tensor(TD_DT_STRING, 0, NULL, A_STR(""))};
  out = at_run1(std_node(TD_DT_STRING), b, 4);
  at_expect(&out, TD_DT_STRING, 1, A_DIMS(4), A_STR("", "on", "", "on"));
  td_tensor c[4] = {at_tensor(TD_DT_INT64, 2, A_DIMS(1, 2), A_I64(0, 2)), at_vec_i64(2, A_I64(3, 2)),
                    at_vec_i32(1, A_I32(5)), at_i32s(0)};
  at_expect_error(std_node(TD_DT_INT32), c, 4, 1, TD_INVALID_ARGUMENT, "indices[0] is out of bounds");
  td_tensor d[4] = {at_vec_i64(2, A_I64(3, 1)), at_vec_i64(1, A_I64(4)), at_i32s(1), at_i32s(0)};
  at_expect_error(std_node(TD_DT_INT32), d, 4, 1, TD_INVALID_ARGUMENT, "indices[1] is out of order");
  td_tensor e[4] = {at_vec_i64(2, A_I64(1, 1)), at_vec_i64(1, A_I64(4)), at_i32s(1), at_i32s(0)};
  at_expect_error(std_node(TD_DT_INT32), e, 4, 1, TD_INVALID_ARGUMENT, "indices[1] is repeated");
  td_tensor f[4] = {at_vec_i64(2, A_I64(3, 1)), at_vec_i64(1, A_I64(4)), at_i32s(1), at_i32s(0)};
  Tensorflow__NodeDef *nd = std_node(TD_DT_INT32);
  td_test_attr_bool(nd, "validate_indices", 0);
  out = at_run1(nd, f, 4);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(4), A_I32(0, 1, 0, 1));
}

static Tensorflow__NodeDef *seg_node(const char *op, td_dtype t) { return at_node(op, t); }

static void test_sparse_segment(void **state) {
  const float data[] = {1, 2, 3, 4, -1, -2, -3, -4, 5, 6, 7, 8};
  td_tensor a[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 4), data), at_vec_i32(3, A_I32(0, 1, 2)),
                    at_vec_i32(3, A_I32(0, 0, 1))};
  td_tensor out = at_run1(seg_node("SparseSegmentSum", TD_DT_FLOAT), a, 3);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(2, 4), A_F32(0, 0, 0, 0, 5, 6, 7, 8));
  td_tensor b[3] = {at_tensor(TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(1, 2, 3, 4, 5, 6)), at_vec_i64(2, A_I64(0, 2)),
                    at_vec_i64(2, A_I64(0, 2))};
  Tensorflow__NodeDef *nd = seg_node("SparseSegmentSum", TD_DT_INT32);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  td_test_attr_type(nd, "Tsegmentids", TD_DT_INT64);
  out = at_run1(nd, b, 3);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(3, 2), A_I32(1, 2, 0, 0, 5, 6)); /* gap row stays 0 */
  td_tensor c[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 2), A_F32(1, 2, 3, 4, 5, 6)), at_vec_i32(3, A_I32(0, 1, 2)),
                    at_vec_i32(3, A_I32(0, 0, 0))};
  out = at_run1(seg_node("SparseSegmentMean", TD_DT_FLOAT), c, 3);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(1, 2), A_F32(3, 4));
  td_tensor d[3] = {at_tensor(TD_DT_DOUBLE, 2, A_DIMS(2, 1), A_F64(1, 3)), at_vec_i32(2, A_I32(0, 1)),
                    at_vec_i32(2, A_I32(0, 0))};
  out = at_run1(seg_node("SparseSegmentSqrtN", TD_DT_DOUBLE), d, 3);
  at_expect(&out, TD_DT_DOUBLE, 2, A_DIMS(1, 1), ((const double[]){4.0 / sqrt(2.0)}));
  td_tensor e[4] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 1), A_F32(1, 3)), at_vec_i32(2, A_I32(1, 1)),
                    at_vec_i32(2, A_I32(1, 1)), at_i32s(4)};
  out = at_run1(seg_node("SparseSegmentSumWithNumSegments", TD_DT_FLOAT), e, 4);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(4, 1), A_F32(0, 6, 0, 0));
  td_tensor f[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(3, 2), NULL), at_vec_i32(0, NULL), at_vec_i32(0, NULL)};
  out = at_run1(seg_node("SparseSegmentMean", TD_DT_FLOAT), f, 3);
  at_expect(&out, TD_DT_FLOAT, 2, A_DIMS(0, 2), NULL);
  /* 21 rows into one segment (first group 5, then 2×8): close to the exact sum */
  int64_t n = 21;
  td_tensor big = at_tensor(TD_DT_FLOAT, 1, &n, NULL);
  double want = 0;
  for (int i = 0; i < n; i++) td_f32(&big)[i] = (float)(i * 0.37 - 2.0), want += td_f32(&big)[i];
  int32_t idx[21], seg[21];
  for (int i = 0; i < n; i++) idx[i] = i, seg[i] = 0;
  td_tensor g[3] = {big, at_vec_i32(n, idx), at_vec_i32(n, seg)};
  out = at_run1(seg_node("SparseSegmentSum", TD_DT_FLOAT), g, 3);
  assert_true(fabs(td_f32(&out)[0] - want) < 1e-4);
  td_tensor_release(&out);
  /* errors */
  td_tensor h[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 2), NULL), at_vec_i32(2, A_I32(0, 2)), at_vec_i32(2, A_I32(0, 1))};
  at_expect_error(seg_node("SparseSegmentSum", TD_DT_FLOAT), h, 3, 1, TD_INVALID_ARGUMENT,
                  "Bad: indices[1] == 2 out of range [0, 2)");
  td_tensor k[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 2), NULL), at_vec_i32(2, A_I32(0, 1)), at_vec_i32(2, A_I32(1, 0))};
  at_expect_error(seg_node("SparseSegmentSum", TD_DT_FLOAT), k, 3, 1, TD_INVALID_ARGUMENT, "segment ids are not increasing");
  td_tensor m[3] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 2), NULL), at_vec_i32(2, A_I32(0, 1)), at_vec_i32(1, A_I32(0))};
  at_expect_error(seg_node("SparseSegmentMean", TD_DT_FLOAT), m, 3, 1, TD_INVALID_ARGUMENT,
                  "segment_ids and indices should have same size.");
  td_tensor p[3] = {at_tensor(TD_DT_INT32, 2, A_DIMS(2, 2), NULL), at_vec_i32(1, A_I32(0)), at_vec_i32(1, A_I32(0))};
  at_expect_error(seg_node("SparseSegmentMean", TD_DT_INT32), p, 3, 1, TD_INVALID_ARGUMENT, "does not support dtype int32");
}

static void check_cum(const char *op, int exclusive, int reverse, const float *want) {
  td_tensor a[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(4), A_F32(1, 2, 3, 4)), at_i32s(0)};
  Tensorflow__NodeDef *nd = at_node(op, TD_DT_FLOAT);
  if (exclusive) td_test_attr_bool(nd, "exclusive", 1);
  if (reverse) td_test_attr_bool(nd, "reverse", 1);
  td_tensor out = at_run1(nd, a, 2);
  at_expect(&out, TD_DT_FLOAT, 1, A_DIMS(4), want);
}

static void test_cumsum(void **state) {
  check_cum("Cumsum", 0, 0, A_F32(1, 3, 6, 10));
  check_cum("Cumsum", 1, 0, A_F32(0, 1, 3, 6));
  check_cum("Cumsum", 0, 1, A_F32(10, 9, 7, 4));
  check_cum("Cumsum", 1, 1, A_F32(9, 7, 4, 0));
  check_cum("Cumprod", 0, 0, A_F32(1, 2, 6, 24));
  check_cum("Cumprod", 1, 1, A_F32(24, 12, 4, 1));
  td_tensor a[2] = {at_iota_i32(2, A_DIMS(2, 3)), at_i32s(-2)};
  td_tensor out = at_run1(at_node("Cumsum", TD_DT_INT32), a, 2);
  at_expect(&out, TD_DT_INT32, 2, A_DIMS(2, 3), A_I32(0, 1, 2, 3, 5, 7));
  td_tensor b[2] = {at_tensor(TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(1, 2, 3, 4)), at_i64s(1)};
  Tensorflow__NodeDef *nd = at_node("Cumsum", TD_DT_INT64);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  out = at_run1(nd, b, 2);
  at_expect(&out, TD_DT_INT64, 2, A_DIMS(2, 2), A_I64(1, 3, 3, 7));
  td_tensor c[2] = {at_iota_i32(1, A_DIMS(3)), at_i32s(1)};
  at_expect_error(at_node("Cumsum", TD_DT_INT32), c, 2, 1, TD_INVALID_ARGUMENT,
                  "ScanOp: Expected scan axis in the range [-1, 1), but got 1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_reshape), cmocka_unit_test(test_sparse_fill_empty_rows),
      cmocka_unit_test(test_sparse_to_dense), cmocka_unit_test(test_sparse_segment),
      cmocka_unit_test(test_cumsum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
