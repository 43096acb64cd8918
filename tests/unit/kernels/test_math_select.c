/* test_math_select.c — BiasAdd (NHWC/NCHW, V1), AddN, Select, SelectV2 and ClipByValue
 * against naive reference loops over random inputs and dtypes, including strings for the
 * selects, empty tensors, and TF's error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/math_test_util.h"

static const td_dtype kTypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32, TD_DT_INT64,
                                  TD_DT_HALF, TD_DT_UINT8};

static void expect_equal_elem(const td_tensor *got, int64_t i, double want) {
  double g = td_tensor_get_double(got, i);
  if (mt_is_float(got->dtype) ? !mt_close(got->dtype, g, want, 0) : g != want)
    fail_msg("%s elem %lld: got %g want %g", td_dtype_name(got->dtype), (long long)i, g, want);
}

static void bias_case(td_dtype dt, int rank, const int64_t *dims, int nchw, const char *op) {
  int cdim = (nchw && rank >= 3) ? 1 : rank - 1;
  int64_t C = dims[cdim];
  td_tensor in[2] = {mt_random(dt, rank, dims, 0, 60, 1, 0), mt_random(dt, 1, &C, 0, 60, 1, 0)};
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "T", dt);
  if (nchw) td_test_attr_str(nd, "data_format", "NCHW");
  td_tensor out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run_nd(nd, in, 2, &out, 1, &st), &st);
  assert_true(td_shape_equal(&out.shape, &in[0].shape));
  int64_t inner = 1;
  for (int i = cdim + 1; i < rank; i++) inner *= dims[i];
  int64_t n = td_tensor_num_elements(&out);
  for (int64_t i = 0; i < n; i++) {
    int64_t ch = (i / inner) % C;
    double want = td_tensor_get_double(&in[0], i) + td_tensor_get_double(&in[1], ch);
    if (dt == TD_DT_UINT8) want = (double)(uint8_t)(int)want;
    expect_equal_elem(&out, i, want);
  }
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_bias_add(void **state) {
  (void)state;
  int64_t d2[] = {5, 7}, d3[] = {2, 3, 4}, d4[] = {2, 3, 4, 5}, d0[] = {0, 3}, d5[] = {1, 2, 3, 2, 17};
  for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
    td_dtype dt = kTypes[t];
    bias_case(dt, 2, d2, 0, "BiasAdd");
    bias_case(dt, 3, d3, 0, "BiasAdd");
    bias_case(dt, 4, d4, 0, "BiasAdd");
    bias_case(dt, 4, d4, 1, "BiasAdd");
    bias_case(dt, 2, d2, 1, "BiasAdd"); /* NCHW on rank 2 uses the last dim */
    bias_case(dt, 3, d3, 1, "BiasAdd");
    bias_case(dt, 5, d5, 1, "BiasAdd");
    bias_case(dt, 2, d0, 0, "BiasAdd");
    bias_case(dt, 4, d4, 0, "BiasAddV1");
  }
  td_status st = {0};
  td_tensor out;
  int64_t d1 = 4, dw[] = {3, 5}, db = 4;
  td_tensor bad[2] = {mt_tensor(TD_DT_FLOAT, 1, &d1), mt_tensor(TD_DT_FLOAT, 1, &db)};
  mt_assert_fails(mt_run("BiasAdd", bad, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Input tensor must be at least 2D: [4]");
  mt_release(bad, 2);
  td_tensor bad2[2] = {mt_tensor(TD_DT_FLOAT, 2, dw), mt_tensor(TD_DT_FLOAT, 1, &db)};
  mt_assert_fails(mt_run("BiasAdd", bad2, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Must provide as many biases as the last dimension of the input tensor: [4] vs. [3,5]");
  td_tensor_release(&bad2[1]);
  bad2[1] = mt_tensor(TD_DT_FLOAT, 2, dw);
  mt_assert_fails(mt_run("BiasAdd", bad2, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Biases must be 1D: [3,5]");
  mt_release(bad2, 2);
}

static void test_add_n(void **state) {
  (void)state;
  int64_t dims[] = {3, 4, 5};
  for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
    td_dtype dt = kTypes[t];
    for (int n = 1; n <= 4; n++) {
      td_tensor in[4];
      for (int k = 0; k < n; k++) in[k] = mt_random(dt, 3, dims, 0, 50, 1, 0);
      Tensorflow__NodeDef *nd = td_test_node_new("AddN");
      td_test_attr_type(nd, "T", dt);
      td_test_attr_int(nd, "N", n);
      td_tensor out;
      td_status st = {0};
      MT_ASSERT_OK(mt_run_nd(nd, in, n, &out, 1, &st), &st);
      for (int64_t i = 0; i < 60; i++) {
        double want = 0;
        for (int k = 0; k < n; k++) want += td_tensor_get_double(&in[k], i);
        if (dt == TD_DT_UINT8) want = (double)(uint8_t)(int)want;
        expect_equal_elem(&out, i, want);
      }
      mt_release(in, n);
      td_tensor_release(&out);
    }
  }
  int64_t a[] = {2, 3}, b[] = {3};
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, a), mt_tensor(TD_DT_FLOAT, 1, b)}, out;
  Tensorflow__NodeDef *nd = td_test_node_new("AddN");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_int(nd, "N", 2);
  td_status st = {0};
  mt_assert_fails(mt_run_nd(nd, in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "must have the same size and shape.  Input 0: [2,3] != input 1: [3]");
  mt_release(in, 2);
}

/* Select / SelectV2 on random data: cond shape rc/dc, t shape rt/dt_, e shape re/de. */
static void select_case(const char *op, td_dtype dt, int rc, const int64_t *dc, int rt,
                        const int64_t *dtd, int re, const int64_t *de, int v1_vector) {
  td_tensor in[3] = {mt_random(TD_DT_BOOL, rc, dc, 0, 1, 1, 0),
                     mt_random(dt, rt, dtd, -50, 50, 1, 0), mt_random(dt, re, de, -50, 50, 1, 0)};
  td_tensor out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run(op, in, 3, &out, 1, &st), &st);
  /* expected shape: broadcast of the three (Select V1 vector cond: t's shape) */
  td_shape os = in[1].shape;
  if (!v1_vector) {
    os.rank = rc > rt ? rc : rt;
    if (re > os.rank) os.rank = re;
    const td_shape *sh[3] = {&in[0].shape, &in[1].shape, &in[2].shape};
    for (int i = 0; i < os.rank; i++) {
      os.dim[i] = 1;
      for (int k = 0; k < 3; k++) {
        int j = i - (os.rank - sh[k]->rank);
        if (j >= 0 && sh[k]->dim[j] != 1) os.dim[i] = sh[k]->dim[j];
      }
    }
  }
  assert_true(td_shape_equal(&out.shape, &os));
  int64_t n = td_tensor_num_elements(&out), inner = n / (os.rank ? (os.dim[0] ? os.dim[0] : 1) : 1);
  for (int64_t i = 0; i < n; i++) {
    int64_t ic = v1_vector ? i / inner : mt_bcast_index(&in[0].shape, &os, i);
    int pick = td_u8(&in[0])[ic];
    const td_tensor *src = pick ? &in[1] : &in[2];
    int64_t is = mt_bcast_index(&src->shape, &os, i);
    if (dt == TD_DT_STRING) {
      assert_int_equal(td_str(&out)[i].len, td_str(src)[is].len);
      assert_memory_equal(td_str(&out)[i].data, td_str(src)[is].data, td_str(src)[is].len);
    } else {
      expect_equal_elem(&out, i, td_tensor_get_double(src, is));
    }
  }
  mt_release(in, 3);
  td_tensor_release(&out);
}

static void test_select(void **state) {
  (void)state;
  int64_t s23[] = {2, 3}, s2[] = {2}, s4[] = {4}, s31[] = {3, 1}, s14[] = {1, 4}, s0[] = {0, 3};
  int64_t s234[] = {2, 3, 4};
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_INT64, TD_DT_HALF, TD_DT_BOOL, TD_DT_INT8, TD_DT_DOUBLE};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    td_dtype dt = types[t];
    select_case("Select", dt, 2, s23, 2, s23, 2, s23, 0);
    select_case("Select", dt, 0, NULL, 2, s23, 2, s23, 0);
    select_case("Select", dt, 1, s2, 3, s234, 3, s234, 1);
    select_case("Select", dt, 2, s0, 2, s0, 2, s0, 0);
    select_case("SelectV2", dt, 2, s31, 2, s14, 1, s4, 0);
    select_case("SelectV2", dt, 0, NULL, 2, s23, 0, NULL, 0);
    select_case("SelectV2", dt, 3, s234, 1, s4, 2, s14, 0);
    select_case("SelectV2", dt, 2, s0, 1, s0 + 1, 0, NULL, 0);
  }
  /* strings: deep-copied */
  const char *tv[] = {"a", "bb", "ccc", "dddd"}, *ev[] = {"w", "xx", "yyy", "zzzz"};
  uint8_t cv[] = {1, 0, 0, 1};
  int64_t d4 = 4;
  td_tensor in[3] = {td_test_tensor(TD_DT_BOOL, 1, &d4, cv), td_test_tensor(TD_DT_STRING, 1, &d4, tv),
                     td_test_tensor(TD_DT_STRING, 1, &d4, ev)};
  td_tensor out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run("SelectV2", in, 3, &out, 1, &st), &st);
  mt_release(in, 3);
  const char *want[] = {"a", "xx", "yyy", "dddd"};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(td_str(&out)[i].len, strlen(want[i]));
    assert_memory_equal(td_str(&out)[i].data, want[i], strlen(want[i]));
  }
  td_tensor_release(&out);
  /* errors */
  td_tensor bad[3] = {mt_tensor(TD_DT_BOOL, 1, s2), mt_tensor(TD_DT_FLOAT, 1, s4), mt_tensor(TD_DT_FLOAT, 1, s2)};
  mt_assert_fails(mt_run("Select", bad, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "'then' and 'else' must have the same size.  but received: [4] vs. [2]");
  mt_assert_fails(mt_run("SelectV2", bad, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "must be broadcastable");
  mt_release(bad, 3);
  td_tensor bad2[3] = {mt_tensor(TD_DT_BOOL, 1, s2), mt_tensor(TD_DT_FLOAT, 2, s31), mt_tensor(TD_DT_FLOAT, 2, s31)};
  mt_assert_fails(mt_run("Select", bad2, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Number of batches of 'then' must match size of 'condition'");
  mt_release(bad2, 3);
}

static void test_clip_by_value(void **state) {
  (void)state;
  int64_t d[] = {4, 5};
  for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
    td_dtype dt = kTypes[t];
    for (int mode = 0; mode < 3; mode++) {
      td_tensor in[3] = {mt_random(dt, 2, d, 0, 100, 1, 0),
                         mode == 1 ? mt_random(dt, 2, d, 10, 40, 1, 0) : mt_random(dt, 0, NULL, 20, 30, 1, 0),
                         mode >= 1 ? mt_random(dt, 2, d, 50, 90, 1, 0) : mt_random(dt, 0, NULL, 60, 70, 1, 0)};
      td_tensor out;
      td_status st = {0};
      MT_ASSERT_OK(mt_run("ClipByValue", in, 3, &out, 1, &st), &st);
      for (int64_t i = 0; i < 20; i++) {
        double x = td_tensor_get_double(&in[0], i);
        double lo = td_tensor_get_double(&in[1], in[1].shape.rank ? i : 0);
        double hi = td_tensor_get_double(&in[2], in[2].shape.rank ? i : 0);
        expect_equal_elem(&out, i, x < lo ? lo : x > hi ? hi : x);
      }
      mt_release(in, 3);
      td_tensor_release(&out);
    }
  }
  int64_t d2 = 2;
  td_tensor bad[3] = {mt_tensor(TD_DT_FLOAT, 2, d), mt_tensor(TD_DT_FLOAT, 1, &d2), mt_tensor(TD_DT_FLOAT, 0, NULL)};
  td_tensor out;
  td_status st = {0};
  mt_assert_fails(mt_run("ClipByValue", bad, 3, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "clip_value_min and clip_value_max must be either scalars or have the same shape as t");
  mt_release(bad, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bias_add),
      cmocka_unit_test(test_add_n),
      cmocka_unit_test(test_select),
      cmocka_unit_test(test_clip_by_value),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
