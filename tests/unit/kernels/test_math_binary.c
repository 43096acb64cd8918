/* test_math_binary.c — broadcasting binary math ops (arithmetic, comparisons, logical) against
 * a naive reference loop over random inputs: many shape pairs (same shape, scalars, bias rows,
 * two-sided broadcasts, rank 8, empty tensors) and each supported dtype; plus TF's integer
 * semantics (wrapping, truncating Div, flooring FloorDiv/FloorMod), NaN propagation, string
 * equality and the error cases. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/math_test_util.h"

typedef struct bin_op {
  const char *name;
  double (*rf)(double x, double y);                 /* float reference; NULL = ints only */
  int (*ri)(int64_t x, int64_t y, int64_t *z);      /* int reference; NULL = floats only */
  int out_bool, whole, nonzero_y;
  double lo, hi, ylo, yhi;
} bin_op;

static double f_add(double x, double y) { return x + y; }
static double f_sub(double x, double y) { return x - y; }
static double f_mul(double x, double y) { return x * y; }
static double f_div(double x, double y) { return x / y; }
static double f_floordiv(double x, double y) { return floor(x / y); }
static double f_floormod(double x, double y) { return x - floor(x / y) * y; }
static double f_truncmod(double x, double y) { return fmod(x, y); }
static double f_max(double x, double y) { return x > y ? x : y; }
static double f_min(double x, double y) { return x < y ? x : y; }
static double f_pow(double x, double y) { return pow(x, y); }
static double f_sqdiff(double x, double y) { return (x - y) * (x - y); }
static double f_divnonan(double x, double y) { return y == 0 ? 0 : x / y; }
static double f_eq(double x, double y) { return x == y; }
static double f_ne(double x, double y) { return x != y; }
static double f_lt(double x, double y) { return x < y; }
static double f_le(double x, double y) { return x <= y; }
static double f_gt(double x, double y) { return x > y; }
static double f_ge(double x, double y) { return x >= y; }
static int i_add(int64_t x, int64_t y, int64_t *z) { return *z = x + y, 0; }
static int i_sub(int64_t x, int64_t y, int64_t *z) { return *z = x - y, 0; }
static int i_mul(int64_t x, int64_t y, int64_t *z) { return *z = x * y, 0; }
static int i_div(int64_t x, int64_t y, int64_t *z) { return *z = x / y, 0; }
static int i_floordiv(int64_t x, int64_t y, int64_t *z) {
  int64_t q = x / y;
  if (q * y != x && ((x < 0) != (y < 0))) q--;
  return *z = q, 0;
}
static int i_floormod(int64_t x, int64_t y, int64_t *z) {
  int64_t q;
  i_floordiv(x, y, &q);
  return *z = x - q * y, 0;
}
static int i_truncmod(int64_t x, int64_t y, int64_t *z) { return *z = x % y, 0; }
static int i_max(int64_t x, int64_t y, int64_t *z) { return *z = x > y ? x : y, 0; }
static int i_min(int64_t x, int64_t y, int64_t *z) { return *z = x < y ? x : y, 0; }
static int i_pow(int64_t x, int64_t y, int64_t *z) {
  int64_t r = 1;
  for (int64_t i = 0; i < y; i++) r *= x;
  return *z = r, 0;
}
static int i_sqdiff(int64_t x, int64_t y, int64_t *z) { return *z = (x - y) * (x - y), 0; }
static int i_eq(int64_t x, int64_t y, int64_t *z) { return *z = x == y, 0; }
static int i_ne(int64_t x, int64_t y, int64_t *z) { return *z = x != y, 0; }
static int i_lt(int64_t x, int64_t y, int64_t *z) { return *z = x < y, 0; }
static int i_le(int64_t x, int64_t y, int64_t *z) { return *z = x <= y, 0; }
static int i_gt(int64_t x, int64_t y, int64_t *z) { return *z = x > y, 0; }
static int i_ge(int64_t x, int64_t y, int64_t *z) { return *z = x >= y, 0; }
static int i_and(int64_t x, int64_t y, int64_t *z) { return *z = x && y, 0; }
static int i_or(int64_t x, int64_t y, int64_t *z) { return *z = x || y, 0; }

static const bin_op kOps[] = {
    {"Add", f_add, i_add, 0, 0, 0, -50, 50, -50, 50},
    {"AddV2", f_add, i_add, 0, 0, 0, -50, 50, -50, 50},
    {"Sub", f_sub, i_sub, 0, 0, 0, -50, 50, -50, 50},
    {"Mul", f_mul, i_mul, 0, 0, 0, -20, 20, -20, 20},
    {"Div", f_div, i_div, 0, 1, 1, -60, 60, -9, 9},
    {"RealDiv", f_div, NULL, 0, 0, 1, -60, 60, -9, 9},
    {"DivNoNan", f_divnonan, NULL, 0, 1, 0, -60, 60, -2, 2},
    {"Atan2", atan2, NULL, 0, 0, 0, -5, 5, -5, 5},
    {"FloorDiv", f_floordiv, i_floordiv, 0, 1, 1, -60, 60, -9, 9},
    {"FloorMod", f_floormod, i_floormod, 0, 1, 1, -60, 60, -9, 9},
    {"Mod", f_truncmod, i_truncmod, 0, 1, 1, -60, 60, -9, 9},
    {"TruncateMod", f_truncmod, i_truncmod, 0, 1, 1, -60, 60, -9, 9},
    {"Maximum", f_max, i_max, 0, 0, 0, -50, 50, -50, 50},
    {"Minimum", f_min, i_min, 0, 0, 0, -50, 50, -50, 50},
    {"Pow", f_pow, i_pow, 0, 1, 0, -4, 4, 0, 4},
    {"SquaredDifference", f_sqdiff, i_sqdiff, 0, 0, 0, -10, 10, -10, 10},
    {"Equal", f_eq, i_eq, 1, 1, 0, -2, 2, -2, 2},
    {"NotEqual", f_ne, i_ne, 1, 1, 0, -2, 2, -2, 2},
    {"Less", f_lt, i_lt, 1, 1, 0, -2, 2, -2, 2},
    {"LessEqual", f_le, i_le, 1, 1, 0, -2, 2, -2, 2},
    {"Greater", f_gt, i_gt, 1, 1, 0, -2, 2, -2, 2},
    {"GreaterEqual", f_ge, i_ge, 1, 1, 0, -2, 2, -2, 2},
};

static const td_dtype kTypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32, TD_DT_INT64,
                                  TD_DT_HALF,  TD_DT_BFLOAT16, TD_DT_UINT8, TD_DT_INT16};

typedef struct shape_pair {
  int ra;
  int64_t a[8];
  int rb;
  int64_t b[8];
} shape_pair;

static const shape_pair kShapes[] = {
    {2, {2, 3}, 2, {2, 3}},
    {0, {0}, 1, {4}},
    {1, {4}, 0, {0}},
    {0, {0}, 0, {0}},
    {2, {5, 3}, 1, {3}},
    {1, {3}, 2, {5, 3}},
    {2, {3, 1}, 2, {1, 4}},
    {3, {2, 1, 4}, 2, {3, 1}},
    {4, {2, 3, 4, 5}, 4, {1, 3, 1, 5}},
    {4, {2, 3, 4, 5}, 4, {2, 1, 4, 1}},
    {2, {0, 3}, 1, {3}},
    {1, {0}, 0, {0}},
    {3, {1, 1, 1}, 3, {2, 1, 3}},
    {5, {2, 3, 1, 1, 4}, 3, {1, 2, 1}},
    {8, {2, 1, 2, 1, 2, 1, 2, 1}, 8, {1, 2, 1, 2, 1, 2, 1, 2}},
    {2, {7, 33}, 2, {7, 1}},
};

static td_shape bcast_shape(const td_shape *a, const td_shape *b) {
  td_shape o = {0};
  o.rank = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < o.rank; i++) {
    int ia = i - (o.rank - a->rank), ib = i - (o.rank - b->rank);
    int64_t da = ia >= 0 ? a->dim[ia] : 1, db = ib >= 0 ? b->dim[ib] : 1;
    o.dim[i] = da == 1 ? db : da;
  }
  return o;
}

static int64_t checked_elems;

static void check_one(const bin_op *op, td_dtype dt, const shape_pair *sp) {
  int is_f = mt_is_float(dt), is_u = dt == TD_DT_UINT8;
  double lo = op->lo, ylo = op->ylo;
  if (is_u) lo = lo < 0 ? 0 : lo, ylo = ylo < 0 ? 0 : ylo;
  td_tensor in[2] = {mt_random(dt, sp->ra, sp->a, lo, op->hi, op->whole, 0),
                     mt_random(dt, sp->rb, sp->b, ylo, op->yhi, op->whole, op->nonzero_y)};
  if (!strcmp(op->name, "DivNoNan") && td_tensor_num_elements(&in[1]) > 1)
    td_tensor_set_double(&in[1], 0, 0.0);
  td_tensor out;
  td_status st = {0};
  td_code code = mt_run(op->name, in, 2, &out, 1, &st);
  if (code != TD_OK) fail_msg("%s %s: %s", op->name, td_dtype_name(dt), st.msg);
  td_shape want_shape = bcast_shape(&in[0].shape, &in[1].shape);
  assert_true(td_shape_equal(&out.shape, &want_shape));
  assert_int_equal(out.dtype, op->out_bool ? TD_DT_BOOL : dt);
  int64_t n = td_tensor_num_elements(&out);
  checked_elems += n;
  for (int64_t i = 0; i < n; i++) {
    int64_t ia = mt_bcast_index(&in[0].shape, &out.shape, i);
    int64_t ib = mt_bcast_index(&in[1].shape, &out.shape, i);
    if (is_f) {
      double x = td_tensor_get_double(&in[0], ia), y = td_tensor_get_double(&in[1], ib);
      double want = op->rf(x, y), got = td_tensor_get_double(&out, i);
      if (!mt_close(op->out_bool ? TD_DT_INT64 : dt, got, want, 0))
        fail_msg("%s %s elem %lld: f(%g,%g) got %.9g want %.9g", op->name, td_dtype_name(dt),
                 (long long)i, x, y, got, want);
    } else {
      int64_t x = td_tensor_get_int(&in[0], ia), y = td_tensor_get_int(&in[1], ib), want;
      op->ri(x, y, &want);
      if (!op->out_bool) want = mt_wrap(dt, want);
      int64_t got = op->out_bool ? td_u8(&out)[i] : td_tensor_get_int(&out, i);
      if (got != want)
        fail_msg("%s %s elem %lld: f(%lld,%lld) got %lld want %lld", op->name,
                 td_dtype_name(dt), (long long)i, (long long)x, (long long)y, (long long)got,
                 (long long)want);
    }
  }
  mt_release(in, 2);
  td_tensor_release(&out);
}

static void test_binary_reference(void **state) {
  (void)state;
  for (size_t o = 0; o < sizeof kOps / sizeof kOps[0]; o++)
    for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
      td_dtype dt = kTypes[t];
      if (mt_is_float(dt) ? !kOps[o].rf : !kOps[o].ri) continue;
      for (size_t s = 0; s < sizeof kShapes / sizeof kShapes[0]; s++)
        check_one(&kOps[o], dt, &kShapes[s]);
    }
  print_message("checked %lld output elements\n", (long long)checked_elems);
  assert_true(checked_elems > 100000);
}

static void test_logical(void **state) {
  (void)state;
  static const bin_op ops[] = {{"LogicalAnd", NULL, i_and, 1, 0, 0, 0, 1, 0, 1},
                               {"LogicalOr", NULL, i_or, 1, 0, 0, 0, 1, 0, 1},
                               {"Equal", NULL, i_eq, 1, 0, 0, 0, 1, 0, 1},
                               {"NotEqual", NULL, i_ne, 1, 0, 0, 0, 1, 0, 1}};
  for (size_t o = 0; o < 4; o++)
    for (size_t s = 0; s < sizeof kShapes / sizeof kShapes[0]; s++)
      check_one(&ops[o], TD_DT_BOOL, &kShapes[s]);
}

/* Runs a 1-D x 1-D op on given values; returns the output. */
static td_tensor run_vals(const char *op, td_dtype dt, int n, const void *x, const void *y) {
  int64_t d = n;
  td_tensor in[2] = {td_test_tensor(dt, 1, &d, x), td_test_tensor(dt, 1, &d, y)}, out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run(op, in, 2, &out, 1, &st), &st);
  mt_release(in, 2);
  return out;
}

static void test_int_semantics(void **state) {
  (void)state;
  int32_t x[] = {INT32_MAX, INT32_MIN, -7, 7, -7, 7, 0};
  int32_t y[] = {1, -1, 2, -2, -2, 2, 5};
  td_tensor o = run_vals("Add", TD_DT_INT32, 1, x, y);
  assert_int_equal(td_i32(&o)[0], INT32_MIN); /* wraps */
  td_tensor_release(&o);
  o = run_vals("Div", TD_DT_INT32, 7, x, y);
  int32_t div_want[] = {INT32_MAX, INT32_MIN, -3, -3, 3, 3, 0};
  assert_memory_equal(td_i32(&o), div_want, sizeof div_want);
  td_tensor_release(&o);
  o = run_vals("FloorDiv", TD_DT_INT32, 7, x, y);
  int32_t fdiv_want[] = {INT32_MAX, INT32_MIN, -4, -4, 3, 3, 0};
  assert_memory_equal(td_i32(&o), fdiv_want, sizeof fdiv_want);
  td_tensor_release(&o);
  o = run_vals("FloorMod", TD_DT_INT32, 7, x, y);
  int32_t fmod_want[] = {0, 0, 1, -1, -1, 1, 0};
  assert_memory_equal(td_i32(&o), fmod_want, sizeof fmod_want);
  td_tensor_release(&o);
  int64_t x64[] = {INT64_MIN, 3}, y64[] = {-1, 40};
  o = run_vals("Div", TD_DT_INT64, 2, x64, y64);
  assert_true(td_i64(&o)[0] == INT64_MIN && td_i64(&o)[1] == 0);
  td_tensor_release(&o);
  o = run_vals("Pow", TD_DT_INT64, 2, (int64_t[]){2, 3}, (int64_t[]){62, 40});
  assert_true(td_i64(&o)[0] == (INT64_C(1) << 62));
  td_tensor_release(&o);
}

static void test_float_semantics(void **state) {
  (void)state;
  float x[] = {NAN, 1, -7.5f, 7.5f, 1, -1};
  float y[] = {1, NAN, 2, -2, 0, 0};
  td_tensor o = run_vals("Maximum", TD_DT_FLOAT, 2, x, y);
  assert_true(isnan(td_f32(&o)[0]) && isnan(td_f32(&o)[1]));
  td_tensor_release(&o);
  o = run_vals("Minimum", TD_DT_FLOAT, 2, x, y);
  assert_true(isnan(td_f32(&o)[0]) && isnan(td_f32(&o)[1]));
  td_tensor_release(&o);
  o = run_vals("FloorMod", TD_DT_FLOAT, 4, x, y);
  assert_true(td_f32(&o)[2] == 0.5f && td_f32(&o)[3] == -0.5f);
  td_tensor_release(&o);
  o = run_vals("RealDiv", TD_DT_FLOAT, 6, x, y);
  assert_true(isinf(td_f32(&o)[4]) && td_f32(&o)[4] > 0 && td_f32(&o)[5] < 0);
  td_tensor_release(&o);
  o = run_vals("DivNoNan", TD_DT_FLOAT, 6, x, y);
  assert_true(td_f32(&o)[4] == 0 && td_f32(&o)[5] == 0);
  td_tensor_release(&o);
}

static void test_string_equal(void **state) {
  (void)state;
  const char *a[] = {"abc", "", "x", "longer string"};
  const char *b[] = {"abc"};
  int64_t da = 4, db = 1;
  td_tensor in[2] = {td_test_tensor(TD_DT_STRING, 1, &da, a), td_test_tensor(TD_DT_STRING, 1, &db, b)},
            out;
  td_status st = {0};
  MT_ASSERT_OK(mt_run("Equal", in, 2, &out, 1, &st), &st);
  uint8_t want[] = {1, 0, 0, 0};
  assert_memory_equal(td_u8(&out), want, 4);
  td_tensor_release(&out);
  MT_ASSERT_OK(mt_run("NotEqual", in, 2, &out, 1, &st), &st);
  uint8_t want_ne[] = {0, 1, 1, 1};
  assert_memory_equal(td_u8(&out), want_ne, 4);
  td_tensor_release(&out);
  mt_release(in, 2);
}

static void test_errors(void **state) {
  (void)state;
  td_status st = {0};
  td_tensor out;
  int64_t d23[] = {2, 3}, d4[] = {4};
  td_tensor in[2] = {mt_tensor(TD_DT_FLOAT, 2, d23), mt_tensor(TD_DT_FLOAT, 1, d4)};
  mt_assert_fails(mt_run("Add", in, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Incompatible shapes: [2,3] vs. [4]");
  /* Equal with incompatible_shape_error=false gives a scalar false (NotEqual: true). */
  Tensorflow__NodeDef *nd = td_test_node_new("NotEqual");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_bool(nd, "incompatible_shape_error", 0);
  MT_ASSERT_OK(mt_run_nd(nd, in, 2, &out, 1, &st), &st);
  assert_int_equal(out.shape.rank, 0);
  assert_int_equal(td_u8(&out)[0], 1);
  td_tensor_release(&out);
  mt_release(in, 2);

  int32_t x[] = {1, 2}, z[] = {1, 0};
  int64_t d2 = 2;
  td_tensor iv[2] = {td_test_tensor(TD_DT_INT32, 1, &d2, x), td_test_tensor(TD_DT_INT32, 1, &d2, z)};
  const char *divs[] = {"Div", "FloorDiv", "FloorMod", "TruncateDiv", "Mod", "TruncateMod"};
  for (int i = 0; i < 6; i++)
    mt_assert_fails(mt_run(divs[i], iv, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                    "Integer division by zero");
  int32_t neg[] = {1, -1};
  td_tensor_release(&iv[1]);
  iv[1] = td_test_tensor(TD_DT_INT32, 1, &d2, neg);
  mt_assert_fails(mt_run("Pow", iv, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "Integers to negative integer powers are not allowed");
  td_tensor_release(&iv[1]);
  iv[1] = mt_tensor(TD_DT_FLOAT, 1, &d2);
  mt_assert_fails(mt_run("Add", iv, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT, NULL);
  mt_release(iv, 2);
  /* dtypes TF has no kernel for */
  td_tensor bv[2] = {mt_tensor(TD_DT_BOOL, 1, &d2), mt_tensor(TD_DT_BOOL, 1, &d2)};
  mt_assert_fails(mt_run("Add", bv, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "No OpKernel");
  mt_release(bv, 2);
  td_tensor iv2[2] = {mt_tensor(TD_DT_INT32, 1, &d2), mt_tensor(TD_DT_INT32, 1, &d2)};
  mt_assert_fails(mt_run("RealDiv", iv2, 2, &out, 1, &st), &st, TD_INVALID_ARGUMENT, "No OpKernel");
  mt_release(iv2, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_binary_reference), cmocka_unit_test(test_logical),
      cmocka_unit_test(test_int_semantics),    cmocka_unit_test(test_float_semantics),
      cmocka_unit_test(test_string_equal),     cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
