/* test_math_reduce.c — Sum / Mean / Prod / Max / Min / All / Any, ArgMax / ArgMin and TopKV2
 * against naive reference loops: many axis sets (scalar or vector, negative, unordered,
 * multi-group patterns needing several passes), keep_dims, empty tensors and empty
 * reductions, every supported dtype, ties, and TF's error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/math_test_util.h"

enum { R_SUM, R_MEAN, R_PROD, R_MAX, R_MIN, R_ALL, R_ANY };
static const char *kRedNames[] = {"Sum", "Mean", "Prod", "Max", "Min", "All", "Any"};

typedef struct axes_case {
  int rank;
  int64_t dims[6];
  int naxes; /* -1: scalar axis tensor holding axes[0] */
  int64_t axes[6];
} axes_case;

static const axes_case kCases[] = {
    {3, {2, 3, 4}, 0, {0}},        {3, {2, 3, 4}, 1, {0}},         {3, {2, 3, 4}, 1, {1}},
    {3, {2, 3, 4}, -1, {2}},       {3, {2, 3, 4}, 1, {-1}},        {3, {2, 3, 4}, 2, {0, 2}},
    {3, {2, 3, 4}, 3, {2, 0, 1}},  {3, {2, 3, 4}, 2, {1, 2}},      {1, {37}, 1, {0}},
    {0, {0}, 0, {0}},              {3, {3, 0, 2}, 1, {1}},         {3, {3, 0, 2}, 1, {0}},
    {3, {2, 1, 3}, 1, {1}},        {4, {4, 5, 6, 3}, 2, {0, 2}},   {4, {4, 5, 6, 3}, 2, {1, 3}},
    {4, {4, 5, 6, 3}, 4, {0, 1, 2, 3}}, {5, {2, 3, 2, 3, 2}, 3, {0, 2, 4}},
    {2, {1, 1}, 1, {0}},           {2, {70, 3}, 1, {0}},
    /* middle-axis reductions by inner width: 16 (one full lane block), 37 (two blocks and 5
     * columns), 64 (the widest lane case), 70 (the row-buffer path), empty reduced axis, and a
     * narrow width whose slab is too big for the lanes */
    {3, {3, 39, 16}, 1, {1}},      {3, {2, 5, 37}, 1, {1}},        {3, {2, 3, 64}, 1, {1}},
    {3, {2, 4, 70}, 1, {1}},       {3, {2, 0, 20}, 1, {1}},
    {3, {1, 2100, 20}, 1, {1}}, /* inner width 20 but a [2100, 20] slab over 128 KiB: buffer path */
};

static void reduce_ref(int op, const td_tensor *x, const int *red, int keep, td_tensor *want_vals,
                       double *acc, int64_t *cnt, int64_t nout) {
  (void)want_vals;
  (void)keep;
  for (int64_t o = 0; o < nout; o++) {
    cnt[o] = 0;
    acc[o] = op == R_PROD || op == R_ALL ? 1 : op == R_MAX ? -INFINITY : op == R_MIN ? INFINITY : 0;
  }
  int64_t n = td_tensor_num_elements(x);
  int rank = x->shape.rank;
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, oidx = 0, mul = 1;
    for (int d = rank - 1; d >= 0; d--) {
      int64_t coord = rem % x->shape.dim[d];
      rem /= x->shape.dim[d];
      if (!red[d]) {
        oidx += coord * mul;
        mul *= x->shape.dim[d];
      }
    }
    double v = td_tensor_get_double(x, i);
    switch (op) {
      case R_SUM: case R_MEAN: acc[oidx] += v; break;
      case R_PROD: acc[oidx] *= v; break;
      case R_MAX: acc[oidx] = fmax(acc[oidx], v); break;
      case R_MIN: acc[oidx] = fmin(acc[oidx], v); break;
      case R_ALL: acc[oidx] = acc[oidx] && v; break;
      case R_ANY: acc[oidx] = acc[oidx] || v; break;
    }
    cnt[oidx]++;
  }
}

static void reduce_case(int op, td_dtype dt, const axes_case *c, int keep, td_dtype tidx) {
  td_tensor in[2];
  if (op == R_PROD) in[0] = mt_random(dt, c->rank, c->dims, mt_is_float(dt) ? 0.5 : -2, mt_is_float(dt) ? 1.5 : 2, 0, 0);
  else in[0] = mt_random(dt, c->rank, c->dims, -20, 20, 0, 0);
  int64_t na = c->naxes < 0 ? 1 : c->naxes;
  in[1] = mt_tensor(tidx, c->naxes < 0 ? 0 : 1, &na);
  for (int64_t i = 0; i < na; i++) td_tensor_set_double(&in[1], i, (double)c->axes[i]);
  Tensorflow__NodeDef *nd = td_test_node_new(kRedNames[op]);
  td_test_attr_type(nd, "T", dt);
  td_test_attr_type(nd, "Tidx", tidx);
  if (keep) td_test_attr_bool(nd, "keep_dims", 1);
  td_tensor out;
  td_status st = {0};
  if (mt_run_nd(nd, in, 2, &out, 1, &st) != TD_OK)
    fail_msg("%s %s: %s", kRedNames[op], td_dtype_name(dt), st.msg);
  int red[8] = {0};
  for (int64_t i = 0; i < na; i++) red[c->axes[i] < 0 ? c->axes[i] + c->rank : c->axes[i]] = 1;
  td_shape os = {0};
  for (int d = 0; d < c->rank; d++)
    if (!red[d] || keep) os.dim[os.rank++] = red[d] ? 1 : c->dims[d];
  assert_true(td_shape_equal(&out.shape, &os));
  assert_int_equal(out.dtype, dt);
  int64_t nout = td_shape_num_elements(&os);
  double *acc = calloc((size_t)nout + 1, sizeof *acc);
  int64_t *cnt = calloc((size_t)nout + 1, sizeof *cnt);
  reduce_ref(op, &in[0], red, keep, NULL, acc, cnt, nout);
  for (int64_t o = 0; o < nout; o++) {
    double want = acc[o], got = td_tensor_get_double(&out, o);
    if (op == R_MEAN) want = mt_is_float(dt) ? want / (double)cnt[o] : (cnt[o] ? trunc(want / (double)cnt[o]) : 0);
    if (!mt_is_float(dt) && dt != TD_DT_BOOL) {
      if (op == R_MAX && cnt[o] == 0) want = dt == TD_DT_INT32 ? INT32_MIN : (double)INT64_MIN;
      if (op == R_MIN && cnt[o] == 0) want = dt == TD_DT_INT32 ? INT32_MAX : (double)INT64_MAX;
    }
    int ok = mt_is_float(dt) ? mt_close(dt, got, want, mt_tol(dt) * (double)(cnt[o] + 1) * 20)
                             : got == want;
    if (!ok)
      fail_msg("%s %s case rank %d naxes %d keep %d out %lld: got %.9g want %.9g", kRedNames[op],
               td_dtype_name(dt), c->rank, c->naxes, keep, (long long)o, got, want);
  }
  free(acc);
  free(cnt);
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_reductions(void **state) {
  (void)state;
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_BFLOAT16, TD_DT_INT32, TD_DT_INT64};
  for (int op = R_SUM; op <= R_MIN; op++)
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
      for (size_t c = 0; c < sizeof kCases / sizeof kCases[0]; c++)
        for (int keep = 0; keep < 2; keep++)
          reduce_case(op, types[t], &kCases[c], keep, keep ? TD_DT_INT64 : TD_DT_INT32);
  for (int op = R_ALL; op <= R_ANY; op++)
    for (size_t c = 0; c < sizeof kCases / sizeof kCases[0]; c++)
      for (int keep = 0; keep < 2; keep++) reduce_case(op, TD_DT_BOOL, &kCases[c], keep, TD_DT_INT32);
}

static void test_reduction_special(void **state) {
  (void)state;
  /* Mean of nothing is NaN for floats; Max of nothing is -inf; NaN propagates through Max. */
  int64_t d[] = {2, 0}, ax = 1;
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, d), td_test_tensor(TD_DT_INT32, 1, &ax, (int32_t[]){1})}, out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run("Mean", in, 2, &out, 1, &st), &st);
  assert_true(out.shape.rank == 1 && out.shape.dim[0] == 2 && isnan(td_f32(&out)[0]));
  td_tensor_release(&out);
  MT_ASSERT_OK(mt_run("Max", in, 2, &out, 1, &st), &st);
  assert_true(isinf(td_f32(&out)[1]) && td_f32(&out)[1] < 0);
  td_tensor_release(&out);
  td_tensor_release(&in[0]);
  int64_t d3 = 3;
  in[0] = td_test_tensor(TD_DT_FLOAT, 1, &d3, (float[]){1, NAN, 2});
  td_tensor_release(&in[1]);
  in[1] = td_test_tensor(TD_DT_INT32, 0, NULL, (int32_t[]){0});
  MT_ASSERT_OK(mt_run("Max", in, 2, &out, 1, &st), &st);
  assert_true(out.shape.rank == 0 && isnan(td_f32(&out)[0]));
  td_tensor_release(&out);
  /* ... also column-wise (a [3, 20] Max over axis 0: the lane path), only in its column */
  int64_t d2[] = {3, 20};
  td_tensor cols[2] = {mt_random(TD_DT_FLOAT, 2, d2, -1, 1, 0, 0), td_test_tensor(TD_DT_INT32, 0, NULL, (int32_t[]){0})};
  td_f32(&cols[0])[20 + 17] = NAN;
  MT_ASSERT_OK(mt_run("Max", cols, 2, &out, 1, &st), &st);
  for (int j = 0; j < 20; j++) assert_true(j == 17 ? isnan(td_f32(&out)[j]) : !isnan(td_f32(&out)[j]));
  td_tensor_release(&out);
  mt_release(cols, 2);
  /* errors */
  td_tensor_release(&in[1]);
  in[1] = td_test_tensor(TD_DT_INT32, 0, NULL, (int32_t[]){1});
  mt_assert_fails(mt_run("Sum", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Invalid reduction dimension (1 for input with 1 dimension(s)");
  td_tensor_release(&in[1]);
  int64_t two = 2;
  in[1] = td_test_tensor(TD_DT_INT32, 1, &two, (int32_t[]){0, -1});
  mt_assert_fails(mt_run("Sum", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Axes contains duplicate dimension: 0");
  mt_release(in, 2);
}

/* ---- ArgMax / ArgMin ---- */
static void arg_case(const char *op, td_dtype dt, int rank, const int64_t *dims, int64_t axis,
                     td_dtype ot) {
  td_tensor in[2] = {mt_random(dt, rank, dims, -3, 3, 1, 0),
                     td_test_tensor(TD_DT_INT64, 0, NULL, &axis)}, out;
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "T", dt);
  td_test_attr_type(nd, "Tidx", TD_DT_INT64);
  if (ot != TD_DT_INT64) td_test_attr_type(nd, "output_type", ot);
  td_status st = {0};
  MT_ASSERT_OK(mt_run_nd(nd, in, 2, &out, 1, &st), &st);
  assert_int_equal(out.dtype, ot);
  int a = (int)(axis < 0 ? axis + rank : axis);
  int64_t O = 1, R = dims[a], I = 1;
  for (int i = 0; i < a; i++) O *= dims[i];
  for (int i = a + 1; i < rank; i++) I *= dims[i];
  assert_int_equal(td_tensor_num_elements(&out), O * I);
  int is_min = !strcmp(op, "ArgMin");
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < I; i++) {
      int64_t best = 0;
      for (int64_t r = 1; r < R; r++) {
        double v = td_tensor_get_double(&in[0], (o * R + r) * I + i);
        double b = td_tensor_get_double(&in[0], (o * R + best) * I + i);
        if (is_min ? v < b : v > b) best = r;
      }
      assert_int_equal(td_tensor_get_int(&out, o * I + i), best);
    }
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_arg_max_min(void **state) {
  (void)state;
  int64_t a[] = {3, 5}, b[] = {2, 3, 4}, c[] = {50};
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_INT32, TD_DT_INT64, TD_DT_UINT8};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
    for (int m = 0; m < 2; m++) {
      const char *op = m ? "ArgMin" : "ArgMax";
      arg_case(op, types[t], 2, a, 0, TD_DT_INT64);
      arg_case(op, types[t], 2, a, 1, TD_DT_INT32);
      arg_case(op, types[t], 2, a, -1, TD_DT_INT64);
      arg_case(op, types[t], 3, b, 1, TD_DT_INT64);
      arg_case(op, types[t], 1, c, 0, TD_DT_INT32);
    }
  int64_t e[] = {2, 0}, axis = 1;
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, e), td_test_tensor(TD_DT_INT64, 0, NULL, &axis)}, out;
  td_status st = {0};
  mt_assert_fails(mt_run("ArgMax", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Reduction axis 1 is empty in shape [2,0]");
  td_tensor_release(&in[1]);
  axis = 2;
  in[1] = td_test_tensor(TD_DT_INT64, 0, NULL, &axis);
  mt_assert_fails(mt_run("ArgMax", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Expected dimension in the range [-2, 2), but got 2");
  mt_release(in, 2);
}

/* ---- TopKV2 ---- */
static void topk_case(td_dtype dt, int rank, const int64_t *dims, int32_t k, double lo, double hi) {
  td_tensor in[2] = {mt_random(dt, rank, dims, lo, hi, !mt_is_float(dt) || hi - lo < 10, 0),
                     td_test_tensor(TD_DT_INT32, 0, NULL, &k)}, out[2];
  td_status st = {0};
  MT_ASSERT_OK(mt_run("TopKV2", in, 2, out, 2, &st), &st);
  int64_t n = dims[rank - 1], rows = n ? td_tensor_num_elements(&in[0]) / n : 0;
  assert_int_equal(out[0].shape.dim[rank - 1], k);
  assert_int_equal(out[1].dtype, TD_DT_INT32);
  int64_t *ord = malloc((size_t)(n + 1) * sizeof *ord);
  for (int64_t r = 0; r < rows; r++) {
    /* reference: stable selection sort by value desc */
    for (int64_t i = 0; i < n; i++) ord[i] = i;
    for (int64_t i = 0; i < k; i++) {
      int64_t best = i;
      for (int64_t j = i + 1; j < n; j++) {
        double vj = td_tensor_get_double(&in[0], r * n + ord[j]);
        double vb = td_tensor_get_double(&in[0], r * n + ord[best]);
        if (vj > vb || (vj == vb && ord[j] < ord[best])) best = j;
      }
      int64_t tmp = ord[i];
      ord[i] = ord[best];
      ord[best] = tmp;
      assert_int_equal(td_i32(&out[1])[r * k + i], ord[i]);
      assert_true(td_tensor_get_double(&out[0], r * k + i) == td_tensor_get_double(&in[0], r * n + ord[i]));
    }
  }
  free(ord);
  mt_release(in, 2);
  mt_release(out, 2);
}

static void test_top_k(void **state) {
  (void)state;
  int64_t a[] = {4, 10}, b[] = {2, 3, 7}, c[] = {1000}, d[] = {3, 300}, e[] = {0, 5};
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_INT32, TD_DT_INT64, TD_DT_UINT8};
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    td_dtype dt = types[t];
    topk_case(dt, 2, a, 0, 0, 5);
    topk_case(dt, 2, a, 1, 0, 5);
    topk_case(dt, 2, a, 3, 0, 5);
    topk_case(dt, 2, a, 10, 0, 5);
    topk_case(dt, 3, b, 4, 0, 3);
    topk_case(dt, 1, c, 40, 0, 200); /* insertion into a scratch k-buffer */
    topk_case(dt, 2, d, 200, 0, 100); /* merge sort */
    topk_case(dt, 2, d, 300, 0, 3);
    topk_case(dt, 2, e, 2, 0, 3);
  }
  int64_t dd[] = {2, 3};
  int32_t k = 4;
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, dd), td_test_tensor(TD_DT_INT32, 0, NULL, &k)}, out[2];
  td_status st = {0};
  mt_assert_fails(mt_run("TopKV2", in, 2, out, 2, &st), &st, TD_INVALID_ARGUMENT,
                  "input must have at least k columns. Had 3, needed 4");
  td_tensor_release(&in[1]);
  k = -1;
  in[1] = td_test_tensor(TD_DT_INT32, 0, NULL, &k);
  mt_assert_fails(mt_run("TopKV2", in, 2, out, 2, &st), &st, TD_INVALID_ARGUMENT,
                  "Need k >= 0, got -1");
  mt_release(in, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reductions), cmocka_unit_test(test_reduction_special),
      cmocka_unit_test(test_arg_max_min), cmocka_unit_test(test_top_k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
