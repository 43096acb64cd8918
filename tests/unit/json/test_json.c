/* test_json.c — the JSON pull reader and writer helpers: number classification and exact
 * values, NaN/Infinity tokens, string unescaping (incl. surrogate pairs), rapidjson error
 * texts and offsets, iterative skipping of 500000-deep nesting, float formatting
 * (TF Serving's WriteDecimal), escaping and compact re-printing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"

static td_json_number parse_number(const char *text) {
  td_json_reader r;
  td_json_reader_init(&r, text, strlen(text));
  td_json_number n;
  memset(&n, 0, sizeof n);
  assert_int_equal(td_json_read_number(&r, &n), 0);
  td_json_reader_free(&r);
  return n;
}

static void test_numbers(void **state) {
  (void)state;
  td_json_number n = parse_number("42");
  assert_false(n.is_double);
  assert_true(td_json_number_is_int32(&n));
  assert_int_equal(td_json_number_int64(&n), 42);
  n = parse_number("-2147483648");
  assert_true(td_json_number_is_int32(&n));
  assert_false(td_json_number_is_uint32(&n));
  n = parse_number("2147483648");
  assert_false(td_json_number_is_int32(&n));
  assert_true(td_json_number_is_uint32(&n));
  n = parse_number("-9223372036854775808");
  assert_true(td_json_number_is_int64(&n));
  assert_true(td_json_number_int64(&n) == INT64_MIN);
  n = parse_number("18446744073709551615");
  assert_false(td_json_number_is_int64(&n));
  assert_true(td_json_number_is_uint64(&n));
  assert_true(td_json_number_uint64(&n) == UINT64_MAX);
  n = parse_number("18446744073709551616"); /* beyond uint64: a double */
  assert_true(n.is_double);
  assert_true(n.d == 18446744073709551616.0);
  n = parse_number("-9223372036854775809");
  assert_true(n.is_double);
  n = parse_number("1.0");
  assert_true(n.is_double);
  assert_false(td_json_number_is_int32(&n));
  assert_true(n.d == 1.0);
  n = parse_number("1e2");
  assert_true(n.is_double && n.d == 100.0);
  n = parse_number("-0.007");
  assert_true(n.d == -0.007);
  n = parse_number("5.003");
  assert_true(n.d == 5.003);
  n = parse_number("1.7976931348623157e308");
  assert_true(n.d == DBL_MAX);
  n = parse_number("2.2250738585072014e-308");
  assert_true(n.d == DBL_MIN);
  n = parse_number("0.1234567890123456789012");
  assert_true(n.d == strtod("0.1234567890123456789012", NULL));
  n = parse_number("123456789012345678901234567890");
  assert_true(n.d == 123456789012345678901234567890.0);
  n = parse_number("NaN");
  assert_true(n.is_double && isnan(n.d));
  n = parse_number("Infinity");
  assert_true(isinf(n.d) && n.d > 0);
  n = parse_number("-Infinity");
  assert_true(isinf(n.d) && n.d < 0);
  n = parse_number("-Inf");
  assert_true(isinf(n.d) && n.d < 0);
}

/* Exhaustive-ish: the fast path agrees with strtod on many generated decimals. */
static void test_number_fast_path_matches_strtod(void **state) {
  (void)state;
  char text[64];
  unsigned seed = 12345;
  for (int i = 0; i < 200000; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned m = seed >> 4;
    int e = (int)(seed % 40) - 20;
    snprintf(text, sizeof text, "%u.%03ue%d", m % 100000, m % 1000, e);
    td_json_number n = parse_number(text);
    assert_true(n.d == strtod(text, NULL));
    snprintf(text, sizeof text, "0.%u", m);
    n = parse_number(text);
    assert_true(n.d == strtod(text, NULL));
  }
}

/* 16-19 significant digits (what float data from Python/JS clients looks like: x/255 printed
 * as a shortest round-trip double) with exponents around the extended-precision path's range,
 * plus decimals that sit exactly on or next to a midpoint between two doubles. */
static void test_number_long_mantissas_match_strtod(void **state) {
  (void)state;
  char text[80];
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 400000; i++) {
    seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
    uint64_t lo = 1000000000000000ull; /* 16 digits .. 19 digits */
    for (uint64_t k = seed % 4; k > 0; k--) lo *= 10;
    uint64_t m = lo + (seed >> 8) % (9 * lo);
    int e = (int)((seed >> 3) % 64) - 40;
    snprintf(text, sizeof text, "%llue%d", (unsigned long long)m, e);
    td_json_number n = parse_number(text);
    assert_true(n.d == strtod(text, NULL));
    snprintf(text, sizeof text, "%.17g", (double)(seed % 256) / 255.0 * (double)(1 + seed % 7));
    n = parse_number(text);
    assert_true(n.d == strtod(text, NULL));
  }
  /* Integers read eight digits at a time, around the 19-digit and uint64 limits. */
  static const struct { const char *text; uint64_t mag; } ints[] = {
      {"12345678", 12345678}, {"123456789", 123456789}, {"1234567890123456", 1234567890123456ull},
      {"9999999999999999999", 9999999999999999999ull}, {"18446744073709551615", 18446744073709551615ull},
      {"10000000000000000000", 10000000000000000000ull}};
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    td_json_number n = parse_number(ints[i].text);
    assert_false(n.is_double);
    assert_true(n.mag == ints[i].mag);
  }
  td_json_number big = parse_number("18446744073709551616");
  assert_true(big.is_double && big.d == 18446744073709551616.0);
  /* 2^53 + 1 and 2^54 + 2 (exact ties, round to even), 2^53 + 3 (tie, rounds up), and a tie
   * pushed over by a far digit. */
  static const char *ties[] = {"9007199254740993", "9007199254740993.0", "18014398509481986.0",
                               "9007199254740995.0", "9007199254740993.0000000001", "0.9007199254740993e16",
                               "900719925474099.3e1", "4503599627370496.5", "4503599627370497.5"};
  for (size_t i = 0; i < sizeof ties / sizeof ties[0]; i++) {
    td_json_number n = parse_number(ties[i]);
    assert_true(n.d == strtod(ties[i], NULL));
  }
}

/* The float-data fast path agrees with td_json_read_number where it applies and leaves
 * everything else (untouched reader) to it; skipping takes a fast path for plain numbers with
 * the same errors. */
static void test_plain_double_fast_path(void **state) {
  (void)state;
  static const char *plain[] = {"0", "-0", "0.0", "-0.0", "5", "0.011764705882352941", "0.00392156862745098",
                                "123456789.123456789", "-17.25", "1234567890123456789", "0.000000000000000000001",
                                "4503599627370497.25", "0.12345678901234567890" /* a dropped zero is exact */};
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
    td_json_reader r;
    td_json_reader_init(&r, plain[i], strlen(plain[i]));
    double d = 42;
    assert_true(td_json_peek(&r) == TD_JSON_NUMBER);
    assert_int_equal(td_json_read_plain_double(&r, &d), 1);
    assert_true(r.p == r.end);
    td_json_number n = parse_number(plain[i]);
    assert_true(d == n.d && signbit(d) == signbit(n.d));
    td_json_reader_free(&r);
  }
  static const char *other[] = {"1e5", "2.5E-3", "NaN", "-Infinity", "12345678901234567890", "0.12345678901234567891",
                                "1.", "-", "01", "0.000000000000000000000000000001" /* beyond 1e-27 */,
                                "9007199254740993.0", "4503599627370497.5" /* exact ties between two doubles */};
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
    td_json_reader r;
    td_json_reader_init(&r, other[i], strlen(other[i]));
    double d = 42;
    const char *start = r.p;
    int took = td_json_read_plain_double(&r, &d);
    if (!strcmp(other[i], "01")) { /* "0" is a plain number; the "1" after it is the caller's problem */
      assert_int_equal(took, 1);
      assert_true(d == 0.0 && r.p == start + 1);
    } else {
      assert_int_equal(took, 0);
      assert_true(r.p == start && d == 42);
    }
    td_json_reader_free(&r);
  }
  /* skip: plain numbers fast, errors as before */
  static const struct { const char *text; int ok; } skips[] = {
      {"[0.5, -1, 0, 12.75, 1e3, -2.5E-2]", 1}, {"[1.]", 0}, {"[-]", 0}, {"[01]", 0}, {"[1e]", 0}};
  for (size_t i = 0; i < sizeof skips / sizeof skips[0]; i++) {
    td_json_reader r;
    td_json_reader_init(&r, skips[i].text, strlen(skips[i].text));
    assert_int_equal(td_json_skip(&r) == 0, skips[i].ok);
    if (skips[i].ok) assert_true(r.p == r.end);
    td_json_reader_free(&r);
  }
}

static void test_strings(void **state) {
  (void)state;
  const char *text = "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"";
  td_json_reader r;
  td_json_reader_init(&r, text, strlen(text));
  td_json_str s;
  assert_int_equal(td_json_read_string(&r, &s), 0);
  const char want[] = "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  assert_int_equal(s.len, sizeof want - 1);
  assert_memory_equal(s.data, want, s.len);
  td_json_reader_free(&r);
  /* no escapes: points into the input */
  td_json_reader_init(&r, "\"plain\"", 7);
  assert_int_equal(td_json_read_string(&r, &s), 0);
  assert_ptr_equal(s.data, r.begin + 1);
  assert_int_equal(s.len, 5);
  td_json_reader_free(&r);
}

static const struct {
  const char *text;
  const char *error; /* NULL: the value skips fine */
} error_cases[] = {
    {"", "JSON Parse error: The document is empty. at offset: 0"},
    {"   ", "JSON Parse error: The document is empty. at offset: 3"},
    {"instances = [1, 2]", "JSON Parse error: Invalid value. at offset: 0"},
    {"{\"a\" 1}", "JSON Parse error: Missing a colon after a name of object member. at offset: 5"},
    {"{1: 2}", "JSON Parse error: Missing a name for object member. at offset: 1"},
    {"{\"a\": 1 \"b\": 2}", "JSON Parse error: Missing a comma or '}' after an object member. at offset: 8"},
    {"[1 2]", "JSON Parse error: Missing a comma or ']' after an array element. at offset: 3"},
    {"[1,]", "JSON Parse error: Invalid value. at offset: 3"},
    {"{\"a\": 1,}", "JSON Parse error: Missing a name for object member. at offset: 8"},
    {"\"abc", "JSON Parse error: Missing a closing quotation mark in string. at offset: 4"},
    {"\"a\\qb\"", "JSON Parse error: Invalid escape character in string. at offset: 2"},
    {"\"\\u12G4\"", "JSON Parse error: Incorrect hex digit after \\u escape in string. at offset: 1"},
    {"\"\\ud800x\"", "JSON Parse error: The surrogate pair in string is invalid. at offset: 1"},
    {"\"a\x01\"", "JSON Parse error: Invalid encoding in string. at offset: 2"},
    {"[1.]", "JSON Parse error: Miss fraction part in number. at offset: 3"},
    {"[1e+]", "JSON Parse error: Miss exponent in number. at offset: 4"},
    {"[1e999]", "JSON Parse error: Number too big to be stored in double. at offset: 1"},
    {"[tru]", "JSON Parse error: Invalid value. at offset: 4"},
    {"[Infinit]", "JSON Parse error: Invalid value. at offset: 4"},
    {"[-]", "JSON Parse error: Invalid value. at offset: 2"},
    {"[", "JSON Parse error: Invalid value. at offset: 1"},
    {"{\"a\": [1, {\"b\": null}], \"c\": true} trailing", NULL},
    {"[NaN, Inf, -Infinity, 1e-400, 0, -0.0]", NULL},
};

static void test_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof error_cases / sizeof *error_cases; i++) {
    td_json_reader r;
    td_json_reader_init(&r, error_cases[i].text, strlen(error_cases[i].text));
    int rc = td_json_skip(&r);
    if (!error_cases[i].error) {
      assert_int_equal(rc, 0);
    } else {
      if (rc != -1) print_error("case %zu: no error\n", i);
      assert_int_equal(rc, -1);
      td_status st;
      td_status_clear(&st);
      assert_int_equal(td_json_error_status(&r, &st), TD_INVALID_ARGUMENT);
      if (strcmp(st.msg, error_cases[i].error) != 0) print_error("case %zu: %s\n", i, st.msg);
      assert_string_equal(st.msg, error_cases[i].error);
    }
    td_json_reader_free(&r);
  }
}

static void test_deep_nesting_skip(void **state) {
  (void)state;
  size_t depth = 500000;
  size_t n = depth * 2 + 2;
  char *text = malloc(n + 1);
  memset(text, '[', depth);
  memset(text + depth, ']', depth);
  text[2 * depth] = 0;
  td_json_reader r;
  td_json_reader_init(&r, text, 2 * depth);
  size_t s, e;
  assert_int_equal(td_json_skip_span(&r, &s, &e), 0);
  assert_int_equal(s, 0);
  assert_int_equal(e, 2 * depth);
  td_json_reader_free(&r);
  /* unbalanced: error, no crash */
  td_json_reader_init(&r, text, 2 * depth - 1);
  assert_int_equal(td_json_skip(&r), -1);
  td_json_reader_free(&r);
  free(text);
}

static void test_iteration(void **state) {
  (void)state;
  const char *text = "{\"a\": [1, 2], \"b\\u0021\": {\"c\": \"x\"}, \"d\": null}";
  td_json_reader r;
  td_json_reader_init(&r, text, strlen(text));
  td_json_iter it = TD_JSON_ITER_INIT;
  td_json_str key;
  int count = 0;
  while (td_json_object_next(&r, &it, &key) == 1) {
    if (count == 0) {
      assert_int_equal(key.len, 1);
      assert_int_equal(td_json_peek(&r), TD_JSON_ARRAY);
      td_json_iter a = TD_JSON_ITER_INIT;
      int64_t sum = 0;
      while (td_json_array_next(&r, &a) == 1) {
        td_json_number n;
        assert_int_equal(td_json_read_number(&r, &n), 0);
        sum += td_json_number_int64(&n);
      }
      assert_int_equal(sum, 3);
    } else {
      if (count == 1) assert_memory_equal(key.data, "b!", 2);
      assert_int_equal(td_json_skip(&r), 0);
    }
    count++;
  }
  assert_int_equal(count, 3);
  assert_null(r.err);
  td_json_reader_free(&r);
}

static char *fmt_float(float v) {
  static td_buf b;
  td_buf_release(&b);
  td_json_write_float(&b, v);
  return b.data;
}

static char *fmt_double(double v) {
  static td_buf b;
  td_buf_release(&b);
  td_json_write_double(&b, v);
  return b.data;
}

static void test_float_format(void **state) {
  (void)state;
  assert_string_equal(fmt_float(9000000.0f), "9e+06");
  assert_string_equal(fmt_float(999999.0f), "999999.0");
  assert_string_equal(fmt_float(0.5f), "0.5");
  assert_string_equal(fmt_float(0.0003f), "0.0003");
  assert_string_equal(fmt_float(0.00003f), "3e-05");
  assert_string_equal(fmt_float(555557.5f), "555557.5");
  assert_string_equal(fmt_float(3.0f), "3.0");
  assert_string_equal(fmt_float(2.5f), "2.5");
  assert_string_equal(fmt_float(0.2f), "0.2");
  assert_string_equal(fmt_float(3.14159265f), "3.14159274");
  assert_string_equal(fmt_float(1435774380.0f), "1.43577434e+09");
  assert_string_equal(fmt_float(NAN), "NaN");
  assert_string_equal(fmt_float(INFINITY), "Infinity");
  assert_string_equal(fmt_float(-INFINITY), "-Infinity");
  assert_string_equal(fmt_float(-0.0f), "-0.0");
  assert_string_equal(fmt_double(8.0), "8.0");
  assert_string_equal(fmt_double(0.1), "0.1");
  assert_string_equal(fmt_double(0.1 + 0.2), "0.30000000000000004");
  assert_string_equal(fmt_double(1e300), "1e+300");
  fmt_float(0);
  fmt_double(0);
}

static void test_write_string_and_compact(void **state) {
  (void)state;
  td_buf b;
  td_buf_init(&b);
  td_json_write_string(&b, "Bad key: \"key\"\n\x01\\", 17);
  assert_string_equal(b.data, "\"Bad key: \\\"key\\\"\\n\\u0001\\\\\"");
  td_buf_reset(&b);
  const char *v = "[ 1 ,\n \"a b\\\" c\" , { \"k\" : null } ]";
  td_json_write_compact(&b, v, strlen(v), 256);
  assert_string_equal(b.data, "[1,\"a b\\\" c\",{\"k\":null}]");
  td_buf_reset(&b);
  td_json_write_compact(&b, v, strlen(v), 4);
  assert_string_equal(b.data, "[1,\"");
  td_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_number_fast_path_matches_strtod),
      cmocka_unit_test(test_number_long_mantissas_match_strtod),
      cmocka_unit_test(test_plain_double_fast_path),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_deep_nesting_skip),
      cmocka_unit_test(test_iteration),
      cmocka_unit_test(test_float_format),
      cmocka_unit_test(test_write_string_and_compact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
