/* test_math_unary.c — element-wise unary ops, Softmax / LogSoftmax, Cast, ZerosLike and
 * OnesLike against naive reference loops over random inputs and every supported dtype, plus
 * special values (NaN, inf, ties for banker's rounding, out-of-range casts) and errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/math_test_util.h"

typedef struct un_op {
  const char *name;
  double (*rf)(double);
  int64_t (*ri)(int64_t); /* NULL = floats only */
  int out_bool;
  double lo, hi;
} un_op;

static double f_neg(double x) { return -x; }
static double f_abs(double x) { return fabs(x); }
static double f_square(double x) { return x * x; }
static double f_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : x; }
static double f_relu(double x) { return x < 0 ? 0 : x; }
static double f_relu6(double x) { return x < 0 ? 0 : x > 6 ? 6 : x; }
static double f_round(double x) { return nearbyint(x); }
static double f_rsqrt(double x) { return 1 / sqrt(x); }
static double f_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double f_elu(double x) { return x < 0 ? expm1(x) : x; }
static double f_selu(double x) {
  return x < 0 ? 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717 * expm1(x)
               : 1.0507009873554804934193349852946 * x;
}
static double f_leaky(double x) { return x > 0 ? x : (double)0.2f * x; } /* alpha is a float attr */
static double f_softplus(double x) { return log1p(exp(x)); }
static double f_softsign(double x) { return x / (1 + fabs(x)); }
static double f_recip(double x) { return 1 / x; }
static double f_isnan(double x) { return isnan(x) != 0; }
static double f_isinf(double x) { return isinf(x) != 0; }
static double f_isfinite(double x) { return isfinite(x) != 0; }
static int64_t i_neg(int64_t x) { return -x; }
static int64_t i_abs(int64_t x) { return x < 0 ? -x : x; }
static int64_t i_square(int64_t x) { return x * x; }
static int64_t i_sign(int64_t x) { return (x > 0) - (x < 0); }
static int64_t i_relu(int64_t x) { return x < 0 ? 0 : x; }
static int64_t i_relu6(int64_t x) { return x < 0 ? 0 : x > 6 ? 6 : x; }
static int64_t i_id(int64_t x) { return x; }

static const un_op kOps[] = {
    {"Neg", f_neg, i_neg, 0, -50, 50},          {"Abs", f_abs, i_abs, 0, -50, 50},
    {"Square", f_square, i_square, 0, -30, 30}, {"Sign", f_sign, i_sign, 0, -3, 3},
    {"Relu", f_relu, i_relu, 0, -10, 10},       {"Relu6", f_relu6, i_relu6, 0, -10, 10},
    {"Round", f_round, i_id, 0, -10, 10},       {"Sqrt", sqrt, NULL, 0, 0.01, 100},
    {"Rint", f_round, i_id, 0, -10, 10},
    {"Rsqrt", f_rsqrt, NULL, 0, 0.01, 100},     {"Exp", exp, NULL, 0, -5, 5},
    {"Expm1", expm1, NULL, 0, -2, 2},           {"Log", log, NULL, 0, 0.01, 100},
    {"Log1p", log1p, NULL, 0, -0.9, 10},        {"Tanh", tanh, NULL, 0, -5, 5},
    {"Sigmoid", f_sigmoid, NULL, 0, -10, 10},   {"Elu", f_elu, NULL, 0, -5, 5},
    {"Selu", f_selu, NULL, 0, -5, 5},           {"LeakyRelu", f_leaky, NULL, 0, -5, 5},
    {"Softplus", f_softplus, NULL, 0, -30, 30}, {"Softsign", f_softsign, NULL, 0, -5, 5},
    {"Floor", floor, NULL, 0, -10, 10},         {"Ceil", ceil, NULL, 0, -10, 10},
    {"Reciprocal", f_recip, NULL, 0, 0.5, 10},  {"Inv", f_recip, NULL, 0, -10, -0.5},
    {"Erf", erf, NULL, 0, -3, 3},               {"Sin", sin, NULL, 0, -3, 3},
    {"Cos", cos, NULL, 0, -3, 3},               {"Tan", tan, NULL, 0, -1, 1},
    {"Asin", asin, NULL, 0, -0.99, 0.99},
    {"Acos", acos, NULL, 0, -0.99, 0.99},
    {"Atan", atan, NULL, 0, -5, 5},
    {"Sinh", sinh, NULL, 0, -3, 3},
    {"Cosh", cosh, NULL, 0, -3, 3},
    {"Asinh", asinh, NULL, 0, -5, 5},
    {"Acosh", acosh, NULL, 0, 1.01, 5},
    {"Atanh", atanh, NULL, 0, -0.9, 0.9},
    {"Erfc", erfc, NULL, 0, -2, 2},
    {"IsNan", f_isnan, NULL, 1, -1, 1},         {"IsInf", f_isinf, NULL, 1, -1, 1},
    {"IsFinite", f_isfinite, NULL, 1, -1, 1},
};
static const td_dtype kTypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_BFLOAT16,
                                  TD_DT_INT32, TD_DT_INT64, TD_DT_INT8};

static void check_unary(const un_op *op, td_dtype dt, int rank, const int64_t *dims) {
  int is_f = mt_is_float(dt);
  td_tensor x = mt_random(dt, rank, dims, op->lo, op->hi, 0, 0);
  int64_t n = td_tensor_num_elements(&x);
  if (is_f && op->out_bool && n >= 3) {
    td_tensor_set_double(&x, 0, NAN);
    td_tensor_set_double(&x, 1, INFINITY);
    td_tensor_set_double(&x, 2, -INFINITY);
  }
  td_tensor y;
  td_status st = {0};
  td_code code = mt_run(op->name, &x, 1, &y, 1, &st);
  if (code != TD_OK) fail_msg("%s %s: %s", op->name, td_dtype_name(dt), st.msg);
  assert_true(td_shape_equal(&x.shape, &y.shape));
  assert_int_equal(y.dtype, op->out_bool ? TD_DT_BOOL : dt);
  for (int64_t i = 0; i < n; i++) {
    if (is_f) {
      double v = td_tensor_get_double(&x, i), want = op->rf(v), got = td_tensor_get_double(&y, i);
      /* half/bf16 inputs near a kink or tiny outputs: allow one output ulp of absolute error */
      if (!mt_close(op->out_bool ? TD_DT_INT64 : dt, got, want, mt_tol(dt) * 1e-2))
        fail_msg("%s %s elem %lld: f(%.9g) got %.9g want %.9g", op->name, td_dtype_name(dt),
                 (long long)i, v, got, want);
    } else {
      int64_t v = td_tensor_get_int(&x, i), want = mt_wrap(dt, op->ri(v));
      int64_t got = td_tensor_get_int(&y, i);
      if (got != want)
        fail_msg("%s %s elem %lld: f(%lld) got %lld want %lld", op->name, td_dtype_name(dt),
                 (long long)i, (long long)v, (long long)got, (long long)want);
    }
  }
  td_tensor_release(&x);
  td_tensor_release(&y);
}

static void test_unary_reference(void **state) {
  (void)state;
  int64_t d1[] = {37}, d3[] = {2, 3, 5}, d0[] = {0, 4};
  for (size_t o = 0; o < sizeof kOps / sizeof kOps[0]; o++)
    for (size_t t = 0; t < sizeof kTypes / sizeof kTypes[0]; t++) {
      td_dtype dt = kTypes[t];
      if (!mt_is_float(dt) && !kOps[o].ri) continue;
      check_unary(&kOps[o], dt, 1, d1);
      check_unary(&kOps[o], dt, 3, d3);
      check_unary(&kOps[o], dt, 0, NULL);
      check_unary(&kOps[o], dt, 2, d0);
    }
}

static td_tensor run1(const char *op, td_dtype dt, int n, const void *vals) {
  int64_t d = n;
  td_tensor x = td_test_tensor(dt, 1, &d, vals), y;
  td_status st = {0};
  MT_ASSERT_OK(mt_run(op, &x, 1, &y, 1, &st), &st);
  td_tensor_release(&x);
  return y;
}

static void test_special_values(void **state) {
  (void)state;
  float r[] = {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.7f};
  float rw[] = {0, 2, 2, -0.0f, -2, -2, 4};
  td_tensor y = run1("Round", TD_DT_FLOAT, 7, r);
  assert_memory_equal(td_f32(&y), rw, sizeof rw);
  td_tensor_release(&y);
  int32_t iv[] = {INT32_MIN, -5, 0, 7};
  y = run1("Abs", TD_DT_INT32, 4, iv);
  assert_int_equal(td_i32(&y)[0], INT32_MIN); /* wraps like TF */
  assert_int_equal(td_i32(&y)[1], 5);
  td_tensor_release(&y);
  y = run1("Neg", TD_DT_INT32, 4, iv);
  assert_int_equal(td_i32(&y)[0], INT32_MIN);
  td_tensor_release(&y);
  float big[] = {100.0f, -100.0f, NAN};
  y = run1("Softplus", TD_DT_FLOAT, 3, big);
  assert_true(td_f32(&y)[0] == 100.0f && td_f32(&y)[1] >= 0 && td_f32(&y)[1] < 1e-30f);
  td_tensor_release(&y);
  y = run1("Sigmoid", TD_DT_FLOAT, 3, big);
  assert_true(td_f32(&y)[0] == 1.0f && td_f32(&y)[1] == 0.0f && isnan(td_f32(&y)[2]));
  td_tensor_release(&y);
  uint8_t b[] = {1, 0, 1};
  y = run1("LogicalNot", TD_DT_BOOL, 3, b);
  assert_true(td_u8(&y)[0] == 0 && td_u8(&y)[1] == 1 && td_u8(&y)[2] == 0);
  td_tensor_release(&y);
  /* LeakyRelu alpha attr */
  int64_t d = 2;
  float lv[] = {-2, 3};
  td_tensor x = td_test_tensor(TD_DT_FLOAT, 1, &d, lv);
  Tensorflow__NodeDef *nd = td_test_node_new("LeakyRelu");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_float(nd, "alpha", 0.5f);
  td_status st = {0};
  MT_ASSERT_OK(mt_run_nd(nd, &x, 1, &y, 1, &st), &st);
  assert_true(td_f32(&y)[0] == -1.0f && td_f32(&y)[1] == 3.0f);
  td_tensor_release(&y);
  td_tensor_release(&x);
  /* no kernel for int Sqrt */
  int32_t one = 1;
  x = td_test_tensor(TD_DT_INT32, 1, &d, (int32_t[]){one, one});
  mt_assert_fails(mt_run("Sqrt", &x, 1, &y, 1, &st), &st, TD_INVALID_ARGUMENT, "No OpKernel");
  td_tensor_release(&x);
}

/* Exp / Tanh / Sigmoid on float use inline polynomial approximations: sweep their range. */
static void test_fast_float_accuracy(void **state) {
  (void)state;
  const int64_t n = 200003;
  td_tensor x = mt_tensor(TD_DT_FLOAT, 1, &n), y;
  for (int64_t i = 0; i < n; i++) td_f32(&x)[i] = (float)(-110.0 + 220.0 * (double)i / (double)(n - 1));
  td_f32(&x)[0] = NAN, td_f32(&x)[1] = INFINITY, td_f32(&x)[2] = -INFINITY, td_f32(&x)[3] = 1e-5f;
  const char *ops[] = {"Exp", "Tanh", "Sigmoid"};
  double (*refs[])(double) = {exp, tanh, f_sigmoid};
  for (int o = 0; o < 3; o++) {
    td_status st = {0};
    MT_ASSERT_OK(mt_run(ops[o], &x, 1, &y, 1, &st), &st);
    for (int64_t i = 0; i < n; i++) {
      double v = td_f32(&x)[i], want = (float)refs[o](v), got = td_f32(&y)[i];
      if (isnan(want) ? !isnan(got) : isinf(want) ? got != want : fabs(got - want) > 8e-7 * fabs(want) + 1e-37)
        fail_msg("%s(%.9g) = %.9g want %.9g", ops[o], v, got, want);
    }
    td_tensor_release(&y);
  }
  td_tensor_release(&x);
}

static void softmax_case(td_dtype dt, int rank, const int64_t *dims, int log_mode) {
  td_tensor x = mt_random(dt, rank, dims, -20, 20, 0, 0), y;
  td_status st = {0};
  MT_ASSERT_OK(mt_run(log_mode ? "LogSoftmax" : "Softmax", &x, 1, &y, 1, &st), &st);
  assert_true(td_shape_equal(&x.shape, &y.shape));
  int64_t n = dims[rank - 1], total = td_tensor_num_elements(&x);
  for (int64_t r = 0; n > 0 && r < total / n; r++) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, td_tensor_get_double(&x, r * n + i));
    for (int64_t i = 0; i < n; i++) s += exp(td_tensor_get_double(&x, r * n + i) - m);
    for (int64_t i = 0; i < n; i++) {
      double v = td_tensor_get_double(&x, r * n + i) - m;
      double want = log_mode ? v - log(s) : exp(v) / s;
      double got = td_tensor_get_double(&y, r * n + i);
      if (!mt_close(dt, got, want, mt_tol(dt)))
        fail_msg("%s %s [%lld,%lld] got %.9g want %.9g", log_mode ? "LogSoftmax" : "Softmax",
                 td_dtype_name(dt), (long long)r, (long long)i, got, want);
    }
  }
  td_tensor_release(&x);
  td_tensor_release(&y);
}

static void test_softmax(void **state) {
  (void)state;
  int64_t a[] = {3, 7}, b[] = {1, 1}, c[] = {2, 0}, d[] = {5}, e[] = {2, 3, 40};
  int64_t f[] = {4, 128}, g[] = {3, 16}, h[] = {2, 33}; /* float's 16-lane path: full blocks, remainders */
  const td_dtype types[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF, TD_DT_BFLOAT16};
  for (int t = 0; t < 4; t++)
    for (int lm = 0; lm < 2; lm++) {
      softmax_case(types[t], 2, a, lm);
      softmax_case(types[t], 2, b, lm);
      softmax_case(types[t], 2, c, lm);
      softmax_case(types[t], 1, d, lm);
      softmax_case(types[t], 3, e, lm);
      softmax_case(types[t], 2, f, lm);
      softmax_case(types[t], 2, g, lm);
      softmax_case(types[t], 2, h, lm);
    }
  float big[] = {1000, 1000, -1000};
  td_tensor y = run1("Softmax", TD_DT_FLOAT, 3, big);
  assert_true(fabsf(td_f32(&y)[0] - 0.5f) < 1e-6f && td_f32(&y)[2] == 0);
  td_tensor_release(&y);
  td_tensor x = mt_tensor(TD_DT_FLOAT, 0, NULL);
  td_status st = {0};
  mt_assert_fails(mt_run("Softmax", &x, 1, &y, 1, &st), &st, TD_INVALID_ARGUMENT,
                  "logits must have >= 1 dimension, got []");
  td_tensor_release(&x);
}

/* ---- Cast ---- */
static const td_dtype kCastTypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_HALF,   TD_DT_BFLOAT16,
                                      TD_DT_INT8,  TD_DT_INT16,  TD_DT_INT32,  TD_DT_INT64,
                                      TD_DT_UINT8, TD_DT_UINT16, TD_DT_UINT32, TD_DT_UINT64,
                                      TD_DT_BOOL};

static td_code run_cast(const td_tensor *x, td_dtype dst, td_tensor *y, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("Cast");
  td_test_attr_type(nd, "SrcT", x->dtype);
  td_test_attr_type(nd, "DstT", dst);
  return mt_run_nd(nd, x, 1, y, 1, st);
}

static int is_unsigned(td_dtype dt) {
  return dt == TD_DT_UINT8 || dt == TD_DT_UINT16 || dt == TD_DT_UINT32 || dt == TD_DT_UINT64;
}

static void test_cast(void **state) {
  (void)state;
  int64_t d[] = {4, 9};
  size_t nt = sizeof kCastTypes / sizeof kCastTypes[0];
  for (size_t s = 0; s < nt; s++) {
    td_dtype src = kCastTypes[s];
    td_tensor x = mt_random(src, 2, d, is_unsigned(src) ? 0 : -100, 100, 0, 0);
    for (size_t t = 0; t < nt; t++) {
      td_dtype dst = kCastTypes[t];
      td_tensor y;
      td_status st = {0};
      if (run_cast(&x, dst, &y, &st) != TD_OK)
        fail_msg("Cast %s->%s: %s", td_dtype_name(src), td_dtype_name(dst), st.msg);
      assert_int_equal(y.dtype, dst);
      assert_true(td_shape_equal(&x.shape, &y.shape));
      for (int64_t i = 0; i < 36; i++) {
        double v = td_tensor_get_double(&x, i);
        if (dst == TD_DT_BOOL) {
          assert_int_equal(td_u8(&y)[i], v != 0);
        } else if (mt_is_float(dst)) {
          if (!mt_close(dst, td_tensor_get_double(&y, i), v, 0))
            fail_msg("Cast %s->%s: %g -> %g", td_dtype_name(src), td_dtype_name(dst), v,
                     td_tensor_get_double(&y, i));
        } else {
          int64_t want = mt_wrap(dst, (int64_t)trunc(v));
          if (td_tensor_get_int(&y, i) != want)
            fail_msg("Cast %s->%s: %g -> %lld want %lld", td_dtype_name(src), td_dtype_name(dst),
                     v, (long long)td_tensor_get_int(&y, i), (long long)want);
        }
      }
      td_tensor_release(&y);
    }
    td_tensor_release(&x);
  }
  /* x86 semantics for out-of-range float -> int, and exact int64 -> double */
  int64_t n = 4;
  float fv[] = {NAN, 1e10f, -1e10f, -2.9f};
  td_tensor x = td_test_tensor(TD_DT_FLOAT, 1, &n, fv), y;
  td_status st = {0};
  MT_ASSERT_OK(run_cast(&x, TD_DT_INT32, &y, &st), &st);
  int32_t want32[] = {INT32_MIN, INT32_MIN, INT32_MIN, -2};
  assert_memory_equal(td_i32(&y), want32, sizeof want32);
  td_tensor_release(&y);
  MT_ASSERT_OK(run_cast(&x, TD_DT_INT64, &y, &st), &st);
  assert_true(td_i64(&y)[0] == INT64_MIN && td_i64(&y)[1] == 10000000000LL && td_i64(&y)[3] == -2);
  td_tensor_release(&y);
  td_tensor_release(&x);
  int64_t iv[] = {INT64_C(9007199254740993), -1, 0, 1};
  x = td_test_tensor(TD_DT_INT64, 1, &n, iv);
  MT_ASSERT_OK(run_cast(&x, TD_DT_UINT8, &y, &st), &st);
  assert_int_equal(td_u8(&y)[1], 255);
  td_tensor_release(&y);
  MT_ASSERT_OK(run_cast(&x, TD_DT_INT64, &y, &st), &st); /* same type: forwarded */
  assert_memory_equal(td_i64(&y), iv, sizeof iv);
  td_tensor_release(&y);
  td_tensor_release(&x);
  /* Truncate=true: float -> bfloat16 drops the low 16 bits (1 + 2^-7 + 2^-8 + 2^-9 rounds up to
   * 1 + 2^-6 but truncates to 1 + 2^-7); NaN stays NaN; other destinations ignore it. */
  float tv[] = {1.0f + 0x1p-7f + 0x1p-8f + 0x1p-9f, -1.0f - 0x1p-7f - 0x1p-8f - 0x1p-9f, NAN, 3.0f};
  x = td_test_tensor(TD_DT_FLOAT, 1, &n, tv);
  for (int truncate = 0; truncate <= 1; truncate++) {
    Tensorflow__NodeDef *nd = td_test_node_new("Cast");
    td_test_attr_type(nd, "SrcT", TD_DT_FLOAT);
    td_test_attr_type(nd, "DstT", TD_DT_BFLOAT16);
    td_test_attr_bool(nd, "Truncate", truncate);
    MT_ASSERT_OK(mt_run_nd(nd, &x, 1, &y, 1, &st), &st);
    const uint16_t *b = y.data;
    assert_int_equal(b[0], truncate ? 0x3f81 : 0x3f82);
    assert_int_equal(b[1], truncate ? 0xbf81 : 0xbf82);
    assert_true((b[2] & 0x7fff) > 0x7f80); /* NaN */
    assert_int_equal(b[3], 0x4040);
    td_tensor_release(&y);
  }
  td_tensor_release(&x);
  /* unsupported */
  const char *sv[] = {"a"};
  int64_t one = 1;
  x = td_test_tensor(TD_DT_STRING, 1, &one, sv);
  mt_assert_fails(run_cast(&x, TD_DT_FLOAT, &y, &st), &st, TD_UNIMPLEMENTED,
                  "Cast string to float is not supported");
  td_tensor_release(&x);
}

static void test_zeros_ones_like(void **state) {
  (void)state;
  int64_t d[] = {3, 4};
  for (size_t t = 0; t < sizeof kCastTypes / sizeof kCastTypes[0]; t++) {
    td_dtype dt = kCastTypes[t];
    td_tensor x = mt_random(dt, 2, d, 1, 9, 1, 0), y;
    td_status st = {0};
    MT_ASSERT_OK(mt_run("ZerosLike", &x, 1, &y, 1, &st), &st);
    for (int i = 0; i < 12; i++) assert_true(td_tensor_get_double(&y, i) == 0);
    td_tensor_release(&y);
    MT_ASSERT_OK(mt_run("OnesLike", &x, 1, &y, 1, &st), &st);
    assert_int_equal(y.dtype, dt);
    for (int i = 0; i < 12; i++) assert_true(td_tensor_get_double(&y, i) == 1);
    td_tensor_release(&y);
    td_tensor_release(&x);
  }
  const char *sv[] = {"a", "b"};
  int64_t two = 2;
  td_tensor x = td_test_tensor(TD_DT_STRING, 1, &two, sv), y;
  td_status st = {0};
  MT_ASSERT_OK(mt_run("ZerosLike", &x, 1, &y, 1, &st), &st);
  assert_int_equal(td_str(&y)[0].len, 0);
  td_tensor_release(&y);
  td_tensor_release(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unary_reference), cmocka_unit_test(test_special_values),
      cmocka_unit_test(test_softmax),         cmocka_unit_test(test_cast),
      cmocka_unit_test(test_fast_float_accuracy),
      cmocka_unit_test(test_zeros_ones_like),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
