/* test_string_ops.c — string kernels through the real engine: StringToHashBucketFast (values
 * from TF's own tests/docs), AsString formats, StringToNumber parsing rules, web-safe base64,
 * StringJoin and Substr. Expected outputs and TF error texts are written out literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"

static td_tensor strs(int n, const char *const *v) {
  int64_t d = n;
  return td_test_tensor(TD_DT_STRING, 1, &d, v);
}
#define STRS(...) strs(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), (const char *[]){__VA_ARGS__})

/* Runs a one-output node on n inputs (inputs are released). */
static td_code run1(Tensorflow__NodeDef *nd, td_tensor *in, int n, td_tensor *out, td_status *st) {
  td_code rc = td_test_run_op(nd, in, n, out, 1, st);
  for (int i = 0; i < n; i++) td_tensor_release(&in[i]);
  td_test_node_free(nd);
  return rc;
}

static void expect_str(const td_tensor *t, int n, const char *const *v) {
  assert_int_equal(t->dtype, TD_DT_STRING);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    td_string s = td_str(t)[i];
    if (s.len != strlen(v[i]) || memcmp(s.len ? s.data : "", v[i], s.len))
      fail_msg("element %d: got '%.*s' want '%s'", i, (int)s.len, s.data, v[i]);
  }
}
#define EXPECT_STR(t, ...) \
  expect_str(t, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)), (const char *[]){__VA_ARGS__})

static void expect_error(td_code rc, const td_status *st, td_code code, const char *want) {
  if (rc != code) fail_msg("code %d (%s), want %d", rc, st->msg, code);
  size_t n = strlen(want);
  if (strncmp(st->msg, want, n) != 0 || (st->msg[n] != 0 && st->msg[n] != '\n'))
    fail_msg("message:\n  got  '%s'\n  want '%s'", st->msg, want);
}

/* ---------------------------------------------------------------- hashing */

static td_code hash_buckets(td_tensor in, int64_t buckets, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StringToHashBucketFast");
  td_test_attr_int(nd, "num_buckets", buckets);
  return run1(nd, &in, 1, out, st);
}

static void test_hash_bucket_fast(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* TF's string_to_hash_bucket_op_test: Fingerprint64 mod 10 of a..d. */
  assert_int_equal(hash_buckets(STRS("a", "b", "c", "d"), 10, &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_INT64);
  assert_int_equal(td_i64(&out)[0], 9);
  assert_int_equal(td_i64(&out)[1], 2);
  assert_int_equal(td_i64(&out)[2], 2);
  assert_int_equal(td_i64(&out)[3], 5);
  td_tensor_release(&out);
  /* tf.strings.to_hash_bucket_fast docs example. */
  int64_t dims[2] = {1, 3};
  assert_int_equal(hash_buckets(td_test_tensor(TD_DT_STRING, 2, dims, (const char *[]){"Hello", "TensorFlow", "2.x"}),
                                3, &out, &st),
                   TD_OK);
  assert_int_equal(out.shape.rank, 2);
  assert_int_equal(td_i64(&out)[0], 0);
  assert_int_equal(td_i64(&out)[1], 2);
  assert_int_equal(td_i64(&out)[2], 2);
  td_tensor_release(&out);
  /* Fingerprint64("") = 0x9ae16a3b2f90404f. */
  assert_int_equal(hash_buckets(STRS(""), 1000003, &out, &st), TD_OK);
  assert_int_equal(td_i64(&out)[0], (int64_t)(0x9ae16a3b2f90404fULL % 1000003));
  td_tensor_release(&out);
}

/* ---------------------------------------------------------------- AsString */

typedef struct as_opts {
  int64_t precision, width;
  int scientific, shortest;
  const char *fill;
} as_opts;

static td_code as_string(td_tensor in, as_opts o, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("AsString");
  td_test_attr_type(nd, "T", in.dtype);
  if (o.precision) td_test_attr_int(nd, "precision", o.precision);
  if (o.width) td_test_attr_int(nd, "width", o.width);
  if (o.scientific) td_test_attr_bool(nd, "scientific", 1);
  if (o.shortest) td_test_attr_bool(nd, "shortest", 1);
  if (o.fill) td_test_attr_str(nd, "fill", o.fill);
  return run1(nd, &in, 1, out, st);
}

#define NOOPTS ((as_opts){-1, -1, 0, 0, NULL})

static td_tensor floats(int n, const float *v) {
  int64_t d = n;
  return td_test_tensor(TD_DT_FLOAT, 1, &d, v);
}

static void test_as_string_floats(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  const float v[3] = {3.5f, -0.25f, 1e10f};
  assert_int_equal(as_string(floats(3, v), NOOPTS, &out, &st), TD_OK);
  EXPECT_STR(&out, "3.500000", "-0.250000", "10000000000.000000");
  td_tensor_release(&out);
  assert_int_equal(as_string(floats(3, v), (as_opts){2, -1, 0, 0, NULL}, &out, &st), TD_OK);
  EXPECT_STR(&out, "3.50", "-0.25", "10000000000.00");
  td_tensor_release(&out);
  assert_int_equal(as_string(floats(3, v), (as_opts){-1, -1, 1, 0, NULL}, &out, &st), TD_OK);
  EXPECT_STR(&out, "3.500000e+00", "-2.500000e-01", "1.000000e+10");
  td_tensor_release(&out);
  assert_int_equal(as_string(floats(3, v), (as_opts){-1, -1, 0, 1, NULL}, &out, &st), TD_OK);
  EXPECT_STR(&out, "3.5", "-0.25", "1e+10");
  td_tensor_release(&out);
  assert_int_equal(as_string(floats(2, v), (as_opts){1, 8, 0, 0, "0"}, &out, &st), TD_OK);
  EXPECT_STR(&out, "000003.5", "-00000.2");
  td_tensor_release(&out);
  double d = 0.1;
  assert_int_equal(as_string(td_test_tensor(TD_DT_DOUBLE, 0, NULL, &d), (as_opts){17, -1, 0, 0, NULL}, &out, &st),
                   TD_OK);
  EXPECT_STR(&out, "0.10000000000000001");
  td_tensor_release(&out);
  expect_error(as_string(floats(1, v), (as_opts){-1, -1, 1, 1, NULL}, &out, &st), &st, TD_INVALID_ARGUMENT,
               "Cannot select both scientific and shortest notation");
}

static void test_as_string_ints_and_bools(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  int64_t d3 = 3;
  const int32_t iv[3] = {42, -7, 0};
  assert_int_equal(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), NOOPTS, &out, &st), TD_OK);
  EXPECT_STR(&out, "42", "-7", "0");
  td_tensor_release(&out);
  assert_int_equal(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){-1, 5, 0, 0, NULL}, &out, &st), TD_OK);
  EXPECT_STR(&out, "   42", "   -7", "    0");
  td_tensor_release(&out);
  assert_int_equal(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){-1, 5, 0, 0, "0"}, &out, &st), TD_OK);
  EXPECT_STR(&out, "00042", "-0007", "00000");
  td_tensor_release(&out);
  assert_int_equal(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){-1, 4, 0, 0, "-"}, &out, &st), TD_OK);
  EXPECT_STR(&out, "42  ", "-7  ", "0   ");
  td_tensor_release(&out);
  const int64_t lv[1] = {INT64_MIN};
  assert_int_equal(as_string(td_test_tensor(TD_DT_INT64, 0, NULL, lv), NOOPTS, &out, &st), TD_OK);
  EXPECT_STR(&out, "-9223372036854775808");
  td_tensor_release(&out);
  int64_t d2 = 2;
  const uint8_t bv[2] = {1, 0};
  assert_int_equal(as_string(td_test_tensor(TD_DT_BOOL, 1, &d2, bv), NOOPTS, &out, &st), TD_OK);
  EXPECT_STR(&out, "true", "false");
  td_tensor_release(&out);
  expect_error(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){2, -1, 0, 0, NULL}, &out, &st), &st,
               TD_INVALID_ARGUMENT, "precision not supported for dtype int32");
  expect_error(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){-1, -1, 0, 0, "x"}, &out, &st), &st,
               TD_INVALID_ARGUMENT, "Fill argument not supported: \"x\"");
  expect_error(as_string(td_test_tensor(TD_DT_INT32, 1, &d3, iv), (as_opts){-1, -1, 0, 0, "00"}, &out, &st), &st,
               TD_INVALID_ARGUMENT, "Fill string must be one or fewer characters");
}

/* ---------------------------------------------------------------- StringToNumber */

static td_code to_number(td_tensor in, td_dtype dt, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("StringToNumber");
  if (dt != TD_DT_INVALID) td_test_attr_type(nd, "out_type", dt);
  return run1(nd, &in, 1, out, st);
}

static void test_string_to_number(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  /* Default out_type is float. */
  assert_int_equal(to_number(STRS("1.5", " -2 ", "1e3", "INF", "0x10", "+.5"), TD_DT_INVALID, &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_FLOAT);
  const float *f = td_f32(&out);
  assert_true(f[0] == 1.5f && f[1] == -2.0f && f[2] == 1000.0f && isinf(f[3]) && f[4] == 16.0f && f[5] == 0.5f);
  td_tensor_release(&out);
  assert_int_equal(to_number(STRS("0.1", "nan"), TD_DT_DOUBLE, &out, &st), TD_OK);
  assert_true(td_f64(&out)[0] == 0.1 && isnan(td_f64(&out)[1]));
  td_tensor_release(&out);
  assert_int_equal(to_number(STRS("42", " -7 ", "2147483647", "-2147483648"), TD_DT_INT32, &out, &st), TD_OK);
  assert_true(td_i32(&out)[0] == 42 && td_i32(&out)[1] == -7 && td_i32(&out)[2] == INT32_MAX &&
              td_i32(&out)[3] == INT32_MIN);
  td_tensor_release(&out);
  assert_int_equal(to_number(STRS("-9223372036854775808", "9223372036854775807"), TD_DT_INT64, &out, &st), TD_OK);
  assert_true(td_i64(&out)[0] == INT64_MIN && td_i64(&out)[1] == INT64_MAX);
  td_tensor_release(&out);

  expect_error(to_number(STRS("2147483648"), TD_DT_INT32, &out, &st), &st, TD_INVALID_ARGUMENT,
               "StringToNumberOp could not correctly convert string: 2147483648");
  expect_error(to_number(STRS("+5"), TD_DT_INT64, &out, &st), &st, TD_INVALID_ARGUMENT,
               "StringToNumberOp could not correctly convert string: +5");
  expect_error(to_number(STRS("1.5x"), TD_DT_FLOAT, &out, &st), &st, TD_INVALID_ARGUMENT,
               "StringToNumberOp could not correctly convert string: 1.5x");
  expect_error(to_number(STRS(""), TD_DT_FLOAT, &out, &st), &st, TD_INVALID_ARGUMENT,
               "StringToNumberOp could not correctly convert string: ");
  expect_error(to_number(STRS("infinity"), TD_DT_FLOAT, &out, &st), &st, TD_INVALID_ARGUMENT,
               "StringToNumberOp could not correctly convert string: infinity");
}

/* ---------------------------------------------------------------- base64 */

static td_code b64(const char *op, td_tensor in, int pad, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  if (pad) td_test_attr_bool(nd, "pad", 1);
  return run1(nd, &in, 1, out, st);
}

static void test_base64(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  assert_int_equal(b64("EncodeBase64", STRS("hello", "", "\xfb\xff", "abc"), 0, &out, &st), TD_OK);
  EXPECT_STR(&out, "aGVsbG8", "", "-_8", "YWJj");
  td_tensor_release(&out);
  assert_int_equal(b64("EncodeBase64", STRS("hello", "h", "abc"), 1, &out, &st), TD_OK);
  EXPECT_STR(&out, "aGVsbG8=", "aA==", "YWJj");
  td_tensor_release(&out);
  assert_int_equal(b64("DecodeBase64", STRS("aGVsbG8=", "aGVsbG8", "-_8", "", "aA==", "YWJj"), 0, &out, &st), TD_OK);
  EXPECT_STR(&out, "hello", "hello", "\xfb\xff", "", "h", "abc");
  td_tensor_release(&out);
  expect_error(b64("DecodeBase64", STRS("aGVsb"), 0, &out, &st), &st, TD_INVALID_ARGUMENT,
               "Base64 string length cannot be 1 modulo 4.");
  expect_error(b64("DecodeBase64", STRS("aGV+"), 0, &out, &st), &st, TD_INVALID_ARGUMENT,
               "Invalid character found in base64.");
  expect_error(b64("DecodeBase64", STRS("a==="), 0, &out, &st), &st, TD_INVALID_ARGUMENT,
               "Invalid character found in base64.");
}

/* ---------------------------------------------------------------- StringJoin / Substr */

static void test_string_join(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  Tensorflow__NodeDef *nd = td_test_node_new("StringJoin");
  td_test_attr_int(nd, "N", 3);
  td_test_attr_str(nd, "separator", "-");
  td_tensor in[3] = {STRS("a", "b"), td_test_tensor(TD_DT_STRING, 0, NULL, (const char *[]){"x"}), STRS("1", "")};
  assert_int_equal(run1(nd, in, 3, &out, &st), TD_OK);
  EXPECT_STR(&out, "a-x-1", "b-x-");
  td_tensor_release(&out);

  nd = td_test_node_new("StringJoin");
  td_test_attr_int(nd, "N", 2);
  td_tensor in2[2] = {STRS("a", "b"), STRS("1", "2", "3")};
  expect_error(run1(nd, in2, 2, &out, &st), &st, TD_INVALID_ARGUMENT, "Input shapes do not match: [2] vs. [3]");
}

static td_code substr(td_tensor in, td_tensor pos, td_tensor len, td_tensor *out, td_status *st) {
  Tensorflow__NodeDef *nd = td_test_node_new("Substr");
  td_test_attr_type(nd, "T", pos.dtype);
  td_tensor ins[3] = {in, pos, len};
  return run1(nd, ins, 3, out, st);
}

static void test_substr(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  int32_t p = 1, l = 3;
  assert_int_equal(substr(STRS("hello", "abcd", "x"), td_test_tensor(TD_DT_INT32, 0, NULL, &p),
                          td_test_tensor(TD_DT_INT32, 0, NULL, &l), &out, &st),
                   TD_OK);
  EXPECT_STR(&out, "ell", "bcd", "");
  td_tensor_release(&out);
  int64_t d = 2;
  const int64_t pv[2] = {-3, 5}, lv[2] = {2, 1};
  assert_int_equal(substr(STRS("hello", "hello"), td_test_tensor(TD_DT_INT64, 1, &d, pv),
                          td_test_tensor(TD_DT_INT64, 1, &d, lv), &out, &st),
                   TD_OK);
  EXPECT_STR(&out, "ll", "");
  td_tensor_release(&out);
  p = 6;
  expect_error(substr(STRS("hello"), td_test_tensor(TD_DT_INT32, 0, NULL, &p), td_test_tensor(TD_DT_INT32, 0, NULL, &l),
                      &out, &st),
               &st, TD_INVALID_ARGUMENT, "pos 6 out of range for stringb'hello' at index 0");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_bucket_fast),
      cmocka_unit_test(test_as_string_floats),
      cmocka_unit_test(test_as_string_ints_and_bools),
      cmocka_unit_test(test_string_to_number),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_string_join),
      cmocka_unit_test(test_substr),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
