/* test_rest_fast.c — the REST predict fast path (http/rest_fast.h, simdjson) against the pull
 * reader it stands in for: every body below is converted with the fast path on and off, for
 * every input dtype, and the outcomes must be identical (status code and text, or shape and
 * bytes). Hard numbers (subnormals, 17-digit values, exponents, -0 vs -0.0, out of range,
 * huge integers) are also checked against hand-derived values; float output formatting is
 * compared with glibc's snprintf over millions of floats (TF's WriteDecimal rule). */
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

#include "http/rest_fast.h"
#include "http/rest_json.h"
#include "json/json.h"
#include "util/budget.h"

/* ---- one conversion ---- */
typedef struct outcome {
  td_code code;
  char msg[1024];
  int n;
  td_shape shape[2];
  td_dtype dtype[2];
  unsigned char bytes[2][512];
  size_t nbytes[2];
  int used_fast;  /* the scan took the fast path */
  int used_dense; /* ... and the dense reader read the body (not simdjson's DOM) */
} outcome;

static const char *const aliases2[] = {"a", "b"};

/* Scan + inputs of body with n_in inputs of dtype (aliases "x", or "a" and "b"). */
static void convert(const char *body, td_dtype dtype, int n_in, int fast, outcome *o) {
  memset(o, 0, sizeof *o);
  td_rest_fast_set_enabled(fast);
  td_sig_tensor in[2];
  memset(in, 0, sizeof in);
  for (int j = 0; j < n_in; j++) {
    in[j].alias = n_in == 1 ? "x" : aliases2[j];
    in[j].tensor_name = in[j].alias;
    in[j].dtype = dtype;
    in[j].shape.rank = -1;
  }
  td_signature sig;
  memset(&sig, 0, sizeof sig);
  sig.key = "serving_default";
  sig.num_inputs = n_in;
  sig.inputs = in;
  td_budget budget;
  td_budget_init(&budget, strlen(body), 0, TD_INVALID_ARGUMENT);
  td_rest_predict_req req;
  td_status st;
  td_status_clear(&st);
  o->code = td_rest_predict_scan(body, strlen(body), &req, &st);
  if (o->code == TD_OK) {
    o->used_fast = req.fast_doc != NULL;
    o->used_dense = td_rest_fast_is_dense(req.fast_doc);
    req.budget = &budget;
    td_named_tensor *t = NULL;
    o->code = td_rest_predict_inputs(&req, &sig, &t, &o->n, &st);
    if (o->code == TD_OK) {
      for (int j = 0; j < o->n; j++) {
        o->shape[j] = t[j].tensor.shape;
        o->dtype[j] = t[j].tensor.dtype;
        if (t[j].tensor.dtype == TD_DT_STRING) { /* the strings' bytes, NUL-separated */
          size_t nb = 0;
          for (int64_t i = 0; i < td_tensor_num_elements(&t[j].tensor); i++) {
            const td_string *str = &td_str(&t[j].tensor)[i];
            assert_true(nb + str->len + 1 <= sizeof o->bytes[j]);
            memcpy(o->bytes[j] + nb, str->data, str->len);
            nb += str->len;
            o->bytes[j][nb++] = 0;
          }
          o->nbytes[j] = nb;
        } else {
          size_t nb = td_tensor_nbytes(&t[j].tensor);
          assert_true(nb <= sizeof o->bytes[j]);
          memcpy(o->bytes[j], t[j].tensor.data, nb);
          o->nbytes[j] = nb;
        }
      }
      td_rest_inputs_free(t, o->n);
    }
  }
  if (o->code != TD_OK) snprintf(o->msg, sizeof o->msg, "%s", st.msg);
  td_rest_predict_req_free(&req);
  td_rest_fast_set_enabled(1);
}

/* Converts body both ways and requires the same outcome; returns whether the dense reader took
 * the body. */
static int assert_same(const char *body, td_dtype dtype, int n_in) {
  outcome fast, pull;
  convert(body, dtype, n_in, 1, &fast);
  convert(body, dtype, n_in, 0, &pull);
  assert_false(pull.used_fast);
  if (fast.code != pull.code || strcmp(fast.msg, pull.msg) || fast.n != pull.n)
    fail_msg("%s as %s: fast %d '%s' vs pull %d '%s'", body, td_dtype_name(dtype), fast.code, fast.msg, pull.code,
             pull.msg);
  for (int j = 0; j < fast.n; j++) {
    assert_int_equal(fast.shape[j].rank, pull.shape[j].rank);
    for (int d = 0; d < fast.shape[j].rank; d++) assert_true(fast.shape[j].dim[d] == pull.shape[j].dim[d]);
    assert_int_equal(fast.dtype[j], pull.dtype[j]);
    assert_int_equal(fast.nbytes[j], pull.nbytes[j]);
    if (memcmp(fast.bytes[j], pull.bytes[j], fast.nbytes[j]))
      fail_msg("%s as %s: values differ between the paths", body, td_dtype_name(dtype));
  }
  return fast.used_dense;
}

/* ---- fast path == pull reader ---- */
static const char *const one_input_bodies[] = {
    /* dense numeric data: the fast path's business */
    "{\"instances\": [[0.0, 0.011764705882352941, 1.0], [0.5, 0.9921568627450981, 0.25]]}",
    "{\"instances\": [1, 2, 3]}",
    "{\"instances\": [[[1.5]], [[2.5]]], \"signature_name\": \"serving_default\"}",
    "{\"signature_name\": \"serving_default\", \"instances\": [[1e5, 2.5E-3, -0.007]]}",
    "{\"inputs\": [[1, 2], [3, 4]]}",
    "{\"inputs\": 7}",
    "{\"inputs\": {\"x\": [1.25, -2]}}",
    "{\"instances\": [-0, -0.0, 0, 0.0, -0e3]}",
    "{\"instances\": [4.9406564584124654e-324, 2.2250738585072014e-308, 1.7976931348623157e308]}",
    "{\"instances\": [1e-45, 1.4e-45, 7e-46, 1.17549435e-38, 3.4028235e38, 3.4028236e38, 1e39]}",
    "{\"instances\": [0.1, 0.2, 0.30000000000000004, 123456789.123456789, 9007199254740993]}",
    "{\"instances\": [2147483647, -2147483648, 2147483648, 9223372036854775807, -9223372036854775808]}",
    "{\"instances\": [9223372036854775808, 18446744073709551615]}",
    "{\"instances\": [18446744073709551616, -9223372036854775809]}",
    "{\"instances\": [1e400]}",
    "{\"instances\": [true, false, true]}",
    "{\"instances\": [[true], [false]]}",
    "  \n{\"instances\": [1, 2]}  \n",
    "{\"instances\": [1, 2]} trailing bytes are ignored",
    "{\"instances\": [1, 2], \"instances\": [3]}",
    "{\"inputs\": [1], \"inputs\": [[2]]}",
    /* everything else: the pull reader's errors, whichever path scanned */
    "{\"instances\": [NaN, Infinity, -Infinity]}",
    "{\"instances\": [[1, 2], [3]]}",
    "{\"instances\": [[1, 2], [3, 4, 5]]}",
    "{\"instances\": [[1, 2], 3]}",
    "{\"instances\": [1, [2]]}",
    "{\"instances\": [[[1]], [[2, 3]]]}",
    "{\"instances\": [[], []]}",
    "{\"instances\": []}",
    "{\"instances\": [1, \"two\"]}",
    "{\"instances\": [1, null]}",
    "{\"instances\": [1, {\"b64\": \"AAAA\"}]}",
    "{\"instances\": [{\"x\": [1, 2]}, {\"x\": [3, 4]}]}",
    "{\"instances\": [{\"x\": 1}, {\"y\": 2}]}",
    "{\"instances\": {\"x\": [1]}}",
    "{\"instances\": 5}",
    "{\"inputs\": {\"y\": [1]}}",
    "{\"inputs\": [[1, 2], [3]]}",
    "{\"inputs\": [1, 2], \"instances\": [1, 2]}",
    "{\"signature_name\": 5, \"instances\": [1]}",
    "{\"foo\": [1]}",
    "[1, 2]",
    "{\"instances\": [1, 2,]}",
    "{\"instances\": [1 2]}",
    "{\"instances\": [01]}",
    "{\"instances\": [1.]}",
    "{\"instances\": [-]}",
    "{\"instances\": [1, 2]",
    "{\"instances\": [\"\\u00e9\", \"\xff\"]}",
    "\xef\xbb\xbf{\"instances\": [1]}",
    "",
    "{\"instances\": [[[[[[[[[1]]]]]]]]]}",
    "{\"instances\": [[[[[[[[1]]]]]]]]}",
    "{\"inputs\": [[[[[[[[[1]]]]]]]]]}",
};

static const td_dtype dtypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32, TD_DT_INT64, TD_DT_BOOL,
                                  TD_DT_INT8,  TD_DT_UINT8,  TD_DT_STRING};

static void test_same_as_pull_reader(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof one_input_bodies / sizeof *one_input_bodies; i++)
    for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++) assert_same(one_input_bodies[i], dtypes[k], 1);
}

static void test_same_as_pull_reader_two_inputs(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "{\"inputs\": {\"a\": [1, 2], \"b\": [[3.5], [4.5]]}}",
      "{\"inputs\": {\"b\": 1, \"a\": 2, \"c\": \"ignored\"}}",
      "{\"inputs\": {\"a\": [1, 2]}}",
      "{\"inputs\": {\"a\": [1, 2], \"b\": [[1], [2, 3]]}}",
      "{\"inputs\": [1, 2]}",
      "{\"instances\": [{\"a\": 1, \"b\": 2}, {\"a\": 3, \"b\": 4}]}",
      "{\"instances\": [1, 2]}",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
    for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++) assert_same(bodies[i], dtypes[k], 2);
}

/* Mutations of valid bodies (truncations, bytes replaced by JSON-significant ones): whatever
 * they become, both paths agree. Deterministic (xorshift). */
static void test_mutations_agree(void **state) {
  (void)state;
  static const char *const seeds[] = {
      "{\"instances\": [[0.0, 0.25, 1e-3], [1, -2, 3.5]], \"signature_name\": \"s\"}",
      "{\"inputs\": {\"x\": [[true, false]], \"y\": [1]}}",
      "{\"signature_name\": \"serving_default\", \"inputs\": [[[1.5, 2]], [[3, -0.0]]]}",
      "{\"inputs\": {\"x\": [[1, -0.5e-3], [2E+2, 0]], \"y\": [1]}, \"signature_name\": \"s\"}",
  };
  static const char alphabet[] = "[]{},:\" 0123456789.-eE+tfnNI\\";
  static const td_dtype kinds[] = {TD_DT_FLOAT, TD_DT_INT64, TD_DT_BOOL, TD_DT_STRING};
  uint64_t s = 0x9E3779B97F4A7C15ull;
  char body[256];
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
    size_t n = strlen(seeds[i]);
    for (size_t cut = 0; cut <= n; cut++) { /* every truncation */
      memcpy(body, seeds[i], cut);
      body[cut] = 0;
      assert_same(body, kinds[cut % 4], 1);
    }
    for (int m = 0; m < 1500; m++) { /* one to three replaced bytes */
      memcpy(body, seeds[i], n + 1);
      int edits = 1 + m % 3;
      for (int e = 0; e < edits; e++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        body[s % n] = alphabet[(s >> 32) % (sizeof alphabet - 1)];
      }
      assert_same(body, kinds[m % 4], 1);
    }
  }
}

/* ---- the dense reader (rest_dense.h): what it takes, what it leaves to simdjson ---- */
static const td_dtype dense_dtypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32, TD_DT_INT64, TD_DT_BOOL};

/* Every body agrees with the pull reader for every numeric dtype, and was (want_dense) or was not
 * read by the dense reader. */
static void assert_reader(const char *const *bodies, size_t n, int n_in, int want_dense) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < sizeof dense_dtypes / sizeof *dense_dtypes; k++)
      if (assert_same(bodies[i], dense_dtypes[k], n_in) != want_dense)
        fail_msg("%s: %s", bodies[i], want_dense ? "not read by the dense reader" : "the dense reader took it");
}

static void test_dense_reader_takes_dense_bodies(void **state) {
  (void)state;
  static const char *const dense[] = {
      "{\"instances\": [[0.0, 0.011764705882352941, 1.0], [0.5, 0.9921568627450981, 0.25]]}",
      "{\"signature_name\": \"serving_default\", \"instances\": [[1e5, 2.5E-3, -0.007, 1E+2, 5e-0]]}",
      "{\"instances\":[[[1,2]],[[3,4]]],\"signature_name\":\"s\"}",
      " \t\r\n{ \"inputs\" : [ [ 1 , 2 ] , [ 3 , 4 ] ] } \n",
      "{\"inputs\": 7}",
      "{\"inputs\": -0.25e1}",
      "{\"inputs\": {\"x\": [1.25, -2]}}",
      "{\"instances\": [-0, -0.0, 0, 0.0, -0e3, 0e0, 0.000]}",
      "{\"instances\": [4.9406564584124654e-324, 2.2250738585072014e-308, 1.7976931348623157e308]}",
      "{\"instances\": [1e-45, 1.4e-45, 7e-46, 1.17549435e-38, 3.4028235e38, 3.4028236e38, 1e39]}",
      "{\"instances\": [0.1, 0.2, 0.30000000000000004, 123456789.123456789, 9007199254740993]}",
      "{\"instances\": [2147483647, -2147483648, 2147483648, 9223372036854775807, -9223372036854775808]}",
      "{\"instances\": [9007199254740992, -9007199254740992, 9007199254740993]}",
      "{\"instances\": [9223372036854775808, 18446744073709551615, 18446744073709551616]}",
      "{\"instances\": [1000000000000000000000000000000, 0.0000000000000000000000000000001]}",
      "{\"instances\": [[[[[[[[1]]]]]]]]}",
      "{\"instances\": [[[[[[[[[1]]]]]]]]]}",
  };
  assert_reader(dense, sizeof dense / sizeof *dense, 1, 1);
  /* Left to simdjson's DOM (and the pull reader), whatever the dtype; both paths still agree. */
  static const char *const not_dense[] = {
      "{\"instances\": [1, 2]} trailing bytes",
      "{\"instances\": [1, 2], \"instances\": [3]}",
      "{\"inputs\": {\"x\": [1], \"x\": [2]}}",
      "{\"instances\": [1, 2], \"extra\": 1}",
      "{\"signature_name\": \"serving_\\u0064efault\", \"instances\": [1]}",
      "{\"signature_name\": \"caf\xc3\xa9\", \"instances\": [1]}",
      "{\"instances\": [true, false]}",
      "{\"instances\": [1, null]}",
      "{\"instances\": [NaN]}",
      "{\"instances\": [1e400]}",
      "{\"instances\": [-1e400]}",
      "{\"instances\": 5}",
      "{\"instances\": []}",
      "{\"instances\": [[1, 2], [3]]}",
      "{\"instances\": [[1, 2], [3, 4, 5]]}",
      "{\"instances\": [[[1, 2], [3, 4]], [[5, 6], [7]]]}",
      "{\"instances\": [[[1, 2], [3, 4]], [[5, 6]]]}",
      "{\"instances\": [[1], 2]}",
      "{\"instances\": [1, [2]]}",
      "{\"instances\": [01]}",
      "{\"instances\": [1.]}",
      "{\"instances\": [.5]}",
      "{\"instances\": [+1]}",
      "{\"instances\": [1e]}",
      "{\"instances\": [1e+]}",
      "{\"instances\": [-]}",
      "{\"instances\": [1,]}",
      "{\"instances\": [1 2]}",
      "{\"instances\": [1, 2]",
      "{\"inputs\": {}}",
      "{\"inputs\": {\"b64\": \"AAAA\"}}",
      "{}",
      "{\"instances\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
  };
  assert_reader(not_dense, sizeof not_dense / sizeof *not_dense, 1, 0);
}

/* Random dense bodies (shapes, layouts, number spellings): the dense reader takes every one and
 * agrees with the pull reader for every numeric dtype. Deterministic (xorshift). */
static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return rng_state;
}

static void random_number(td_buf *b) {
  static const char *const fixed[] = {"0",   "-0",    "0.0", "-0.0",        "1e0",         "-2E-2",
                                      "3e+1", "0e-7", "255", "-2147483648", "2147483648", "9007199254740993",
                                      "18446744073709551615", "123456789012345678901"};
  uint64_t r = rng();
  switch (r % 5) {
  case 0: td_buf_puts(b, fixed[(r >> 8) % (sizeof fixed / sizeof *fixed)]); break;
  case 1: td_buf_printf(b, "%lld", (long long)(int64_t)(rng() >> (r >> 8) % 64) * ((r >> 16) & 1 ? -1 : 1)); break;
  case 2: td_buf_printf(b, "%.17g", (double)(rng() >> 11) / (double)(1ull << ((r >> 8) % 60))); break;
  case 3: td_buf_printf(b, "%.*e", (int)((r >> 8) % 18), ((r >> 16) & 1 ? -1 : 1) * (double)(rng() % 100000) * 1e-3); break;
  default: td_buf_printf(b, "%d.%0*d", (int)((r >> 8) % 300), (int)((r >> 20) % 6 + 1), (int)((r >> 28) % 100000)); break;
  }
}

static void random_dense(td_buf *b, int rank, const int *dim) {
  if (rank == 0) return random_number(b);
  td_buf_putc(b, '[');
  for (int i = 0; i < dim[0]; i++) {
    if (i) td_buf_puts(b, (rng() & 3) ? ", " : ",\n ");
    random_dense(b, rank - 1, dim + 1);
  }
  td_buf_putc(b, ']');
}

static void test_dense_random_bodies_agree(void **state) {
  (void)state;
  td_buf body;
  td_buf_init(&body);
  for (int iter = 0; iter < 400; iter++) {
    int layout = (int)(rng() % 3); /* 0 instances, 1 inputs, 2 inputs {a, b} */
    int n_in = layout == 2 ? 2 : 1;
    td_buf_reset(&body);
    td_buf_puts(&body, rng() & 1 ? "{\"signature_name\": \"serving_default\", " : "{");
    td_buf_puts(&body, layout == 0 ? "\"instances\": " : layout == 1 ? "\"inputs\": " : "\"inputs\": {");
    for (int j = 0; j < n_in; j++) {
      int rank = (int)(rng() % 4), dim[3];
      if (layout == 0 && rank == 0) rank = 1;
      for (int d = 0; d < rank; d++) dim[d] = 1 + (int)(rng() % 4);
      if (layout == 2) td_buf_puts(&body, j ? ", \"b\": " : "\"a\": ");
      random_dense(&body, rank, dim);
    }
    td_buf_puts(&body, layout == 2 ? "}}" : "}");
    assert_reader((const char *const[]){body.data}, 1, n_in, 1);
  }
  td_buf_release(&body);
}

/* ---- values: hand-derived ---- */
static void test_values(void **state) {
  (void)state;
  outcome o;
  convert("{\"instances\": [[0.1, -0.0, -0, 1e-45, 3.4028235e38, 3.4028236e38, 16777217, 0.011764705882352941]]}",
          TD_DT_FLOAT, 1, 1, &o);
  assert_int_equal(o.code, TD_OK);
  assert_true(o.used_fast);
  assert_int_equal(o.shape[0].rank, 2);
  assert_true(o.shape[0].dim[0] == 1 && o.shape[0].dim[1] == 8);
  const float *f = (const float *)o.bytes[0];
  assert_true(f[0] == 0.1f);
  assert_true(f[1] == 0 && signbit(f[1]));    /* -0.0 is a double: keeps its sign */
  assert_true(f[2] == 0 && !signbit(f[2]));   /* -0 is rapidjson's Int(0) */
  assert_true(f[3] == 0x1p-149f);             /* the smallest subnormal float */
  assert_true(f[4] == FLT_MAX);               /* 3.40282346...e38 is the nearest float */
  assert_true(isinf(f[5]) && f[5] > 0);       /* past FLT_MAX + half an ulp (3.40282357e38): +inf */
  assert_true(f[6] == 16777216.0f);           /* 2^24 + 1: ties to even */
  assert_true(f[7] == (float)(3.0 / 255.0));  /* a 17-digit double, then rounded to float */
  assert_true(o.used_dense);
  convert("{\"instances\": [4.9406564584124654e-324, 1.7976931348623157e308, 0.30000000000000004, "
          "9007199254740993]}",
          TD_DT_DOUBLE, 1, 1, &o);
  assert_int_equal(o.code, TD_OK);
  const double *d = (const double *)o.bytes[0];
  assert_true(d[0] == 0x1p-1074);
  assert_true(d[1] == DBL_MAX);
  assert_true(d[2] == 0.1 + 0.2);
  assert_true(d[3] == 9007199254740992.0); /* 2^53 + 1 rounds to even */
  convert("{\"instances\": [1e400]}", TD_DT_FLOAT, 1, 1, &o);
  assert_int_equal(o.code, TD_INVALID_ARGUMENT);
  assert_string_equal(o.msg, "JSON Parse error: Number too big to be stored in double. at offset: 15");
  convert("{\"instances\": [1.5]}", TD_DT_INT32, 1, 1, &o);
  assert_int_equal(o.code, TD_INVALID_ARGUMENT);
  assert_non_null(strstr(o.msg, "Type: Number is not of expected type: int32"));
  convert("{\"instances\": [[1, 2], [3]]}", TD_DT_FLOAT, 1, 1, &o);
  assert_int_equal(o.code, TD_INVALID_ARGUMENT);
  assert_non_null(strstr(o.msg, "Expecting tensor size: 2 but got: 1"));
  convert("{\"instances\": [[2147483647, -2147483648]]}", TD_DT_INT32, 1, 1, &o);
  assert_int_equal(o.code, TD_OK);
  assert_true(o.used_fast);
  assert_true(((const int32_t *)o.bytes[0])[0] == INT32_MAX && ((const int32_t *)o.bytes[0])[1] == INT32_MIN);
}

/* A large body goes through the fast path, twice in a row on one thread (the parser is reused). */
static void test_large_body(void **state) {
  (void)state;
  td_buf body;
  td_buf_init(&body);
  td_buf_puts(&body, "{\"instances\": [");
  for (int i = 0; i < 200; i++) {
    td_buf_puts(&body, i ? ", [" : "[");
    for (int k = 0; k < 784; k++) td_buf_printf(&body, k ? ", %.17g" : "%.17g", ((i * 784 + k) % 256) / 255.0);
    td_buf_putc(&body, ']');
  }
  td_buf_puts(&body, "]}");
  td_sig_tensor in = {.alias = "x", .tensor_name = "x", .dtype = TD_DT_FLOAT, .shape = {.rank = -1}};
  td_signature sig = {.key = "serving_default", .num_inputs = 1, .inputs = &in};
  for (int round = 0; round < 2; round++) {
    td_rest_predict_req req;
    td_status st;
    td_status_clear(&st);
    assert_int_equal(td_rest_predict_scan(body.data, body.len, &req, &st), TD_OK);
    assert_true(td_rest_fast_is_dense(req.fast_doc));
    assert_true(req.num_instances == 200);
    td_named_tensor *t;
    int n;
    assert_int_equal(td_rest_predict_inputs(&req, &sig, &t, &n, &st), TD_OK);
    assert_int_equal(n, 1);
    assert_true(t[0].tensor.shape.rank == 2 && t[0].tensor.shape.dim[0] == 200 && t[0].tensor.shape.dim[1] == 784);
    for (int i = 0; i < 200 * 784; i++) assert_true(td_f32(&t[0].tensor)[i] == (float)((i % 256) / 255.0));
    td_rest_inputs_free(t, n);
    td_rest_predict_req_free(&req);
  }
  td_buf_release(&body);
}

/* Two scanned requests alive at once on one thread: each keeps its own document. */
static void test_stale_document(void **state) {
  (void)state;
  const char *b1 = "{\"instances\": [[1.5, 2.5]]}", *b2 = "{\"instances\": [[7]]}";
  td_sig_tensor in = {.alias = "x", .tensor_name = "x", .dtype = TD_DT_FLOAT, .shape = {.rank = -1}};
  td_signature sig = {.key = "serving_default", .num_inputs = 1, .inputs = &in};
  td_rest_predict_req r1, r2;
  td_status st;
  td_status_clear(&st);
  assert_int_equal(td_rest_predict_scan(b1, strlen(b1), &r1, &st), TD_OK);
  assert_int_equal(td_rest_predict_scan(b2, strlen(b2), &r2, &st), TD_OK);
  td_named_tensor *t;
  int n;
  assert_int_equal(td_rest_predict_inputs(&r1, &sig, &t, &n, &st), TD_OK);
  assert_true(t[0].tensor.shape.dim[1] == 2 && td_f32(&t[0].tensor)[0] == 1.5f && td_f32(&t[0].tensor)[1] == 2.5f);
  td_rest_inputs_free(t, n);
  assert_int_equal(td_rest_predict_inputs(&r2, &sig, &t, &n, &st), TD_OK);
  assert_true(t[0].tensor.shape.dim[1] == 1 && td_f32(&t[0].tensor)[0] == 7.0f);
  td_rest_inputs_free(t, n);
  td_rest_predict_req_free(&r1);
  td_rest_predict_req_free(&r2);
}

/* ---- float output: TF's WriteDecimal, byte for byte glibc's ---- */
static void reference_float(char *out, size_t cap, float v) {
  char t[48];
  if (isnan(v)) { snprintf(out, cap, "NaN"); return; }
  if (isinf(v)) { snprintf(out, cap, v > 0 ? "Infinity" : "-Infinity"); return; }
  snprintf(t, sizeof t, "%g", (double)v);
  if (strtof(t, NULL) != v) snprintf(t, sizeof t, "%.9g", (double)v);
  snprintf(out, cap, "%s%s", t, strchr(t, '.') || strchr(t, 'e') ? "" : ".0");
}

static void check_float(td_buf *b, float v) {
  char ref[64];
  td_buf_reset(b);
  td_json_write_float(b, v);
  reference_float(ref, sizeof ref, v);
  if (strcmp(b->data, ref)) fail_msg("%a: wrote %s, printf gives %s", (double)v, b->data, ref);
}

static void test_float_text_matches_printf(void **state) {
  (void)state;
  td_buf b;
  td_buf_init(&b);
  static const float hard[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 0.1f, 1e-45f, 0x1p-149f, 0x1p-126f, FLT_MAX, FLT_MIN,
                               1048576.125f /* a tie at 9 digits: half to even */, 1234565.0f, 999999.5f,
                               9999999.0f, 0.0001f, 0.00001f, 123456.7f, 1e6f, 1e7f, 16777216.0f, 3.4028235e38f,
                               0.3f, 2.5e-5f, 1.0f / 3.0f};
  for (size_t i = 0; i < sizeof hard / sizeof *hard; i++) {
    check_float(&b, hard[i]);
    check_float(&b, -hard[i]);
  }
  check_float(&b, NAN);
  check_float(&b, INFINITY);
  check_float(&b, -INFINITY);
  /* every 65521st bit pattern (all binades, subnormals, NaN payloads) and 1M random ones */
  for (uint64_t u = 0; u <= 0xffffffffull; u += 65521) {
    uint32_t w = (uint32_t)u;
    float f;
    memcpy(&f, &w, sizeof f);
    check_float(&b, f);
  }
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < 1000000; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    uint32_t w = (uint32_t)s;
    float f;
    memcpy(&f, &w, sizeof f);
    check_float(&b, f);
  }
  /* what classifiers return: probabilities, and integers / dyadic values near ties */
  for (int i = 0; i < 100000; i++) {
    check_float(&b, (float)(i % 9973) / 9973.0f);
    check_float(&b, (float)i);
    check_float(&b, 1048576.0f + (float)i * 0.125f);
  }
  td_buf_release(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_same_as_pull_reader),      cmocka_unit_test(test_same_as_pull_reader_two_inputs),
      cmocka_unit_test(test_mutations_agree),          cmocka_unit_test(test_values),
      cmocka_unit_test(test_large_body),
      cmocka_unit_test(test_dense_reader_takes_dense_bodies), cmocka_unit_test(test_dense_random_bodies_agree),
      cmocka_unit_test(test_stale_document),           cmocka_unit_test(test_float_text_matches_printf),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
