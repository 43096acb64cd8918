/* test_rest_json.c — the REST JSON codec against TF Serving's conformance cases (§1.11 #1-#30
 * of the API reference) as tables: predict requests (tensor dumps or exact error texts),
 * predict / classify / regress responses, classify/regress examples (decoded back with
 * protobuf-c), error / status / metadata JSON (metadata compared key-sorted against the
 * fixture files), truncation and byte-flip robustness, 500000-deep nesting, and a
 * throughput measurement on a 1000x784 float body. */
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
#include <time.h>

#include "http/rest_fast.h"
#include "http/rest_json.h"
#include "json/json.h"
#include "model/savedmodel.h"
#include "util/file.h"
#include "util/mem.h"

/* ---- helpers ---- */
#define MAX_IN 4
typedef struct sig_spec {
  int n;
  const char *alias[MAX_IN]; /* sorted */
  td_dtype dtype[MAX_IN];
} sig_spec;

static td_signature make_sig(const sig_spec *s, td_sig_tensor *storage) {
  td_signature sig;
  memset(&sig, 0, sizeof sig);
  sig.key = "serving_default";
  sig.method_name = "tensorflow/serving/predict";
  for (int i = 0; i < s->n; i++) {
    memset(&storage[i], 0, sizeof storage[i]);
    storage[i].alias = s->alias[i];
    storage[i].tensor_name = s->alias[i];
    storage[i].dtype = s->dtype[i];
    storage[i].shape.rank = -1;
  }
  sig.num_inputs = s->n;
  sig.inputs = storage;
  return sig;
}

/* "alias[shape]=v,v;" for every tensor; floats as %.9g, strings quoted. */
static void dump_tensors(const td_named_tensor *t, int n, td_buf *out) {
  for (int j = 0; j < n; j++) {
    char shape[128];
    td_buf_printf(out, "%s%s=", t[j].name, td_shape_str(&t[j].tensor.shape, shape, sizeof shape));
    int64_t count = td_tensor_num_elements(&t[j].tensor);
    for (int64_t i = 0; i < count; i++) {
      if (i) td_buf_putc(out, ',');
      switch (t[j].tensor.dtype) {
      case TD_DT_FLOAT: td_buf_printf(out, "%.9g", td_f32(&t[j].tensor)[i]); break;
      case TD_DT_DOUBLE: td_buf_printf(out, "%.17g", td_f64(&t[j].tensor)[i]); break;
      case TD_DT_STRING: td_buf_printf(out, "\"%.*s\"", (int)td_str(&t[j].tensor)[i].len, td_str(&t[j].tensor)[i].data); break;
      case TD_DT_BOOL: td_buf_puts(out, td_u8(&t[j].tensor)[i] ? "true" : "false"); break;
      case TD_DT_UINT64: td_buf_printf(out, "%llu", (unsigned long long)((uint64_t *)t[j].tensor.data)[i]); break;
      default: td_buf_printf(out, "%lld", (long long)td_tensor_get_int(&t[j].tensor, i)); break;
      }
    }
    td_buf_putc(out, ';');
  }
}

/* Runs scan + inputs; returns the code, fills msg or the dump. */
static td_code run_predict(const sig_spec *spec, const char *body, size_t len, td_buf *result, int *row) {
  td_sig_tensor storage[MAX_IN];
  td_signature sig = make_sig(spec, storage);
  td_rest_predict_req req;
  td_status st;
  td_status_clear(&st);
  td_code code = td_rest_predict_scan(body, len, &req, &st);
  if (code == TD_OK) {
    td_named_tensor *in = NULL;
    int n = 0;
    code = td_rest_predict_inputs(&req, &sig, &in, &n, &st);
    if (code == TD_OK) dump_tensors(in, n, result);
    td_rest_inputs_free(in, n);
    if (row) *row = req.row_format;
  }
  if (code != TD_OK) td_buf_puts(result, st.msg);
  td_rest_predict_req_free(&req);
  return code;
}

#define SIG1(a, t) {1, {a}, {t}}
static const sig_spec F = SIG1("x", TD_DT_FLOAT), I32 = SIG1("x", TD_DT_INT32), STR = SIG1("x", TD_DT_STRING);
static const sig_spec AB = {2, {"a", "b"}, {TD_DT_INT32, TD_DT_FLOAT}};
static const sig_spec FOUR = {4, {"double_tensor", "float_tensor", "int32_tensor", "str_tensor"},
                              {TD_DT_DOUBLE, TD_DT_FLOAT, TD_DT_INT32, TD_DT_STRING}};

static const struct predict_case {
  const char *name;
  const sig_spec *sig;
  const char *body;
  td_code code;
  const char *want; /* tensor dump on success, exact message on error */
} predict_cases[] = {
    /* #1-#9: accepted requests */
    {"1 int32 rows", &I32, "{\"instances\": [[1,2],[3,4],[5,6]]}", TD_OK, "x[3,2]=1,2,3,4,5,6;"},
    {"2 float mix", &F, "{\"instances\": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}", TD_OK,
     "x[7]=1,2,3,4,5.00299978,0.00700000022,0;"},
    {"3 big int as float", &F, "{\"instances\": [1435774380]}", TD_OK, "x[1]=1.43577434e+09;"},
    {"3 big real as float", &F, "{\"instances\": [1435774380.0]}", TD_OK, "x[1]=1.43577434e+09;"},
    {"4 DBL_MAX", &F, "{\"instances\": [1.7976931348623157e+308]}", TD_OK, "x[1]=inf;"},
    {"4 -DBL_MAX", &F, "{\"instances\": [-1.7976931348623157e+308]}", TD_OK, "x[1]=-inf;"},
    {"4 DBL_MIN", &F, "{\"instances\": [2.2250738585072014e-308]}", TD_OK, "x[1]=0;"},
    {"5 b64 strings", &STR, "{\"instances\": [{\"b64\":\"aGVsbG8=\"},{\"b64\":\"d29ybGQ=\"}]}", TD_OK,
     "x[2]=\"hello\",\"world\";"},
    {"6 named b64", &(sig_spec)SIG1("default", TD_DT_STRING),
     "{\"instances\":[{\"default\":[[{\"b64\":\"aGVsbG8=\"}],[{\"b64\":\"d29ybGQ=\"}]]}]}", TD_OK,
     "default[1,2,1]=\"hello\",\"world\";"},
    {"7 four inputs", &FOUR,
     "{\"instances\": [{\"int32_tensor\": [[1, 2], [3, 4], [5, 6]], \"str_tensor\": [\"foo\", \"bar\"], "
     "\"float_tensor\": [1.0, NaN], \"double_tensor\": [Infinity]}, {\"int32_tensor\": [[7, 8], [9, 10], [11, 12]], "
     "\"str_tensor\": [\"baz\", \"bat\"], \"float_tensor\": [2.0, -Infinity], \"double_tensor\": [-Infinity]}]}",
     TD_OK,
     "double_tensor[2,1]=inf,-inf;float_tensor[2,2]=1,nan,2,-inf;int32_tensor[2,3,2]=1,2,3,4,5,6,7,8,9,10,11,12;"
     "str_tensor[2,2]=\"foo\",\"bar\",\"baz\",\"bat\";"},
    {"8 columnar named", &(sig_spec)SIG1("int_tensor", TD_DT_INT32), "{\"inputs\": {\"int_tensor\": [[[1,2],[3,4],[5,6]]]}}",
     TD_OK, "int_tensor[1,3,2]=1,2,3,4,5,6;"},
    {"8 columnar plain", &(sig_spec)SIG1("int_tensor", TD_DT_INT32), "{\"inputs\": [[[1,2],[3,4],[5,6]]]}", TD_OK,
     "int_tensor[1,3,2]=1,2,3,4,5,6;"},
    {"9 columnar b64 scalar", &(sig_spec)SIG1("bin_tensor", TD_DT_STRING),
     "{\"inputs\": {\"bin_tensor\": {\"b64\":\"aGVsbG8=\"}}}", TD_OK, "bin_tensor[]=\"hello\";"},
    {"9 columnar bare b64", &(sig_spec)SIG1("bin_tensor", TD_DT_STRING), "{\"inputs\": {\"b64\":\"aGVsbG8\"}}", TD_OK,
     "bin_tensor[]=\"hello\";"},
    {"columnar scalar", &F, "{\"inputs\": 3.5}", TD_OK, "x[]=3.5;"},
    {"columnar empty list", &F, "{\"inputs\": []}", TD_OK, "x[0]=;"},
    {"row empty instances", &F, "{\"instances\": [[], []]}", TD_OK, "x[2,0]=;"},
    {"columnar two inputs", &AB, "{\"inputs\": {\"b\": [1.5, 2], \"a\": [[1], [2]], \"extra\": \"ignored\"}}", TD_OK,
     "a[2,1]=1,2;b[2]=1.5,2;"},
    {"row two inputs", &AB, "{\"instances\": [{\"a\": 1, \"b\": 0.5}, {\"b\": 1e1, \"a\": -7}]}", TD_OK,
     "a[2]=1,-7;b[2]=0.5,10;"},
    {"trailing bytes ignored", &F, "{\"instances\": [1]} trailing garbage", TD_OK, "x[1]=1;"},
    {"escaped key", &F, "{\"inst\\u0061nces\": [2]}", TD_OK, "x[1]=2;"},
    {"string escapes", &STR, "{\"inputs\": [\"a\\nb\", \"\\u00e9\"]}", TD_OK, "x[2]=\"a\nb\",\"\xc3\xa9\";"},
    {"uint8 wraps", &(sig_spec)SIG1("x", TD_DT_UINT8), "{\"inputs\": [1, 300]}", TD_OK, "x[2]=1,44;"},
    {"int8 negative", &(sig_spec)SIG1("x", TD_DT_INT8), "{\"inputs\": [-5]}", TD_OK, "x[1]=-5;"},
    {"int64 extremes", &(sig_spec)SIG1("x", TD_DT_INT64), "{\"inputs\": [-9223372036854775808, 9223372036854775807]}",
     TD_OK, "x[2]=-9223372036854775808,9223372036854775807;"},
    {"uint64 max", &(sig_spec)SIG1("x", TD_DT_UINT64), "{\"inputs\": [18446744073709551615]}", TD_OK,
     "x[1]=18446744073709551615;"},
    {"bool", &(sig_spec)SIG1("x", TD_DT_BOOL), "{\"inputs\": [true, false]}", TD_OK, "x[2]=true,false;"},
    {"double precise", &(sig_spec)SIG1("x", TD_DT_DOUBLE), "{\"inputs\": [0.1, -2]}", TD_OK,
     "x[2]=0.10000000000000001,-2;"},
    /* #10-#18 and the other §1.6 errors */
    {"10 empty body", &F, "", TD_INVALID_ARGUMENT, "JSON Parse error: The document is empty"}, /* TF: no offset */
    {"11 not json", &F, "instances = [1, 2]", TD_INVALID_ARGUMENT, "JSON Parse error: Invalid value. at offset: 0"},
    {"12 signature_name number", &F, "{\"signature_name\": 5, \"instances\": [1]}", TD_INVALID_ARGUMENT,
     "'signature_name' key must be a string value."},
    {"12 signature_name only", &F, "{\"signature_name\": 100}", TD_INVALID_ARGUMENT,
     "'signature_name' key must be a string value."},
    {"13 both keys", &F, "{\"instances\": [1], \"inputs\": [1]}", TD_INVALID_ARGUMENT,
     "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist "},
    {"missing keys", &F, "{\"signature_name\": \"x\"}", TD_INVALID_ARGUMENT, "Missing 'inputs' or 'instances' key"},
    {"not object", &F, "[1, 2]", TD_INVALID_ARGUMENT, "JSON Value: [1,2] Is not object"},
    {"14 tensor size", &I32, "{\"instances\": [[1,2],[3,4],[5,6,7]]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3"},
    {"15 shape", &I32, "{\"instances\": [[1,2],[3,4],[[5,6]]]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]"},
    {"15 scalar then list", &I32, "{\"instances\": [1,[1]]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [] but got: [1]"},
    {"16 int32 strings", &I32, "{\"instances\": [[1,2],[\"a\",\"b\"]]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"a\" Type: String is not "
     "of expected type: int32"},
    {"16 float strings", &F, "{\"instances\": [\"x\", \"y\"]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"x\" Type: String is not "
     "of expected type: float"},
    {"17 object then list", &F, "{\"instances\": [{\"x\": [1]}, [2]]}", TD_INVALID_ARGUMENT,
     "Expecting object but got list at item 1 of input list"},
    {"17 list then object", &F, "{\"instances\": [[1], {\"x\": [2]}]}", TD_INVALID_ARGUMENT,
     "Expecting value/list but got object at item 1 of input list"},
    {"instances not list", &F, "{\"instances\": 5}", TD_INVALID_ARGUMENT, "Expecting 'instances' to be an list/array"},
    {"instances empty", &F, "{\"instances\": []}", TD_INVALID_ARGUMENT, "No values in 'instances' array"},
    {"plain list, two inputs", &AB, "{\"instances\": [1, 2]}", TD_INVALID_ARGUMENT,
     "instances is a plain list, but expecting list of objects as multiple input tensors required as per "
     "tensorinfo_map"},
    {"keys must be equal", &AB, "{\"instances\": [{\"a\": 1}]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 0 of 'instances' list. JSON object: {\"a\":1} keys must be equal to: a,b"},
    {"unknown key", &AB, "{\"instances\": [{\"a\": 1, \"b\": 2, \"c\": 3}]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 0 key: c of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have "
     "named input: c"},
    {"keyed element error", &AB, "{\"instances\": [{\"a\": 1.5, \"b\": 2}]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 0 key: a of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: 1.5 Type: Number "
     "is not of expected type: int32"},
    {"columnar missing input", &AB, "{\"inputs\": {\"a\": [1]}}", TD_INVALID_ARGUMENT,
     "Missing named input: b in 'inputs' object."},
    {"columnar plain, two inputs", &AB, "{\"inputs\": [1]}", TD_INVALID_ARGUMENT,
     "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map"},
    {"ragged", &F, "{\"inputs\": [[1,2],[3]]}", TD_INVALID_ARGUMENT,
     "Encountered list at unexpected size: 1 at level: 1 expected size: 2"},
    {"ragged before bad leaf", &F, "{\"inputs\": [[1,2],[3,\"a\",4]]}", TD_INVALID_ARGUMENT,
     "Encountered list at unexpected size: 3 at level: 1 expected size: 2"},
    {"too deep", &F, "{\"inputs\": [[1,2],[3,[4]]]}", TD_INVALID_ARGUMENT,
     "Encountered list at unexpected level: 2 expected < 2"},
    {"too shallow", &F, "{\"inputs\": [[1,2],3]}", TD_INVALID_ARGUMENT,
     "JSON Value: 3 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"},
    {"int from real", &I32, "{\"inputs\": [1.0]}", TD_INVALID_ARGUMENT,
     "JSON Value: 1.0 Type: Number is not of expected type: int32"},
    {"int32 overflow", &I32, "{\"inputs\": [2147483648]}", TD_INVALID_ARGUMENT,
     "JSON Value: 2147483648 Type: Number is not of expected type: int32"},
    {"uint32 negative", &(sig_spec)SIG1("x", TD_DT_UINT32), "{\"inputs\": [-1]}", TD_INVALID_ARGUMENT,
     "JSON Value: -1 Type: Number is not of expected type: uint32"},
    {"bool from number", &(sig_spec)SIG1("x", TD_DT_BOOL), "{\"inputs\": [1]}", TD_INVALID_ARGUMENT,
     "JSON Value: 1 Type: Number is not of expected type: bool"},
    {"float from null", &F, "{\"inputs\": [null]}", TD_INVALID_ARGUMENT,
     "JSON Value: null Type: Null is not of expected type: float"},
    {"string from true", &STR, "{\"inputs\": true}", TD_INVALID_ARGUMENT,
     "JSON Value: true Type: True is not of expected type: string"},
    {"half unimplemented", &(sig_spec)SIG1("x", TD_DT_HALF), "{\"inputs\": [1]}", TD_UNIMPLEMENTED,
     "Conversion of JSON Value: 1 to type: half"},
    {"half unimplemented row", &(sig_spec)SIG1("x", TD_DT_HALF), "{\"instances\": [1]}", TD_INVALID_ARGUMENT,
     "Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 1 to type: "
     "half"},
    {"bad base64", &STR, "{\"inputs\": [{\"b64\": \"a$==\"}]}", TD_INVALID_ARGUMENT, "Unable to base64 decode"},
    {"malformed b64 object", &STR, "{\"inputs\": [{\"b64\": 1}]}", TD_INVALID_ARGUMENT,
     "JSON Value: {\"b64\":1} not formatted correctly for base64 data"},
    {"b64 object plus key", &STR, "{\"inputs\": {\"x\": [{\"b64\": \"aGk=\", \"y\": 1}]}}", TD_INVALID_ARGUMENT,
     "JSON Value: {\"b64\":\"aGk=\",\"y\":1} not formatted correctly for base64 data"},
    {"parse error deep inside", &F, "{\"instances\": [1, 2}", TD_INVALID_ARGUMENT,
     "JSON Parse error: Missing a comma or ']' after an array element. at offset: 19"},
    {"rank too large", &F, "{\"inputs\": [[[[[[[[[1]]]]]]]]]}", TD_INVALID_ARGUMENT,
     "JSON list nesting exceeds the maximum tensor rank: 8"},
    {"huge declared shape", &F,
     "{\"inputs\": [[[[[[[[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],2],3],4],5],"
     "6],7],8]}",
     TD_INVALID_ARGUMENT, "JSON Value: 2 found at incorrect level: 8 in the JSON DOM. Expected at level: 8"},
};

static void test_predict_cases(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof predict_cases / sizeof *predict_cases; i++) {
    const struct predict_case *c = &predict_cases[i];
    td_buf result;
    td_buf_init(&result);
    td_code code = run_predict(c->sig, c->body, strlen(c->body), &result, NULL);
    const char *got = result.data ? result.data : "";
    if (code != c->code || strcmp(got, c->want) != 0) {
      print_error("case '%s': code %d (want %d)\n  got:  %s\n  want: %s\n", c->name, code, c->code, got, c->want);
      failures++;
    }
    td_buf_release(&result);
  }
  assert_int_equal(failures, 0);
}

static void test_scan_fields(void **state) {
  (void)state;
  td_rest_fast_set_enabled(0); /* the pull reader's spans (the fast path leaves them unset) */
  const char *body = "{\"signature_name\": \"my\\u0073ig\", \"inputs\": [1, 2]}";
  td_rest_predict_req req;
  td_status st;
  assert_int_equal(td_rest_predict_scan(body, strlen(body), &req, &st), TD_OK);
  assert_string_equal(req.signature_name, "mysig");
  assert_int_equal(req.row_format, 0);
  assert_int_equal(req.value_end - req.value_start, 6);
  assert_memory_equal(body + req.value_start, "[1, 2]", 6);
  td_rest_predict_req_free(&req);
  body = "{\"instances\": [1, 2, 3]}";
  assert_int_equal(td_rest_predict_scan(body, strlen(body), &req, &st), TD_OK);
  assert_null(req.signature_name);
  assert_int_equal(req.row_format, 1);
  assert_int_equal(req.num_instances, 3);
  td_rest_predict_req_free(&req);
  /* both / neither key: deferred until the signature is known (TF resolves it first) */
  body = "{\"instances\": [1], \"inputs\": [2]}";
  assert_int_equal(td_rest_predict_scan(body, strlen(body), &req, &st), TD_OK);
  assert_int_equal(req.layout_error, TD_REST_BOTH_KEYS);
  td_rest_predict_req_free(&req);
  body = "{}";
  assert_int_equal(td_rest_predict_scan(body, strlen(body), &req, &st), TD_OK);
  assert_int_equal(req.layout_error, TD_REST_NO_KEY);
  td_sig_tensor none[1];
  td_signature empty = make_sig(&(sig_spec){0, {NULL}, {0}}, none);
  td_named_tensor *in = NULL;
  int n = 0;
  assert_int_equal(td_rest_predict_inputs(&req, &empty, &in, &n, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Failed to get input map for signature: DEFAULT");
  td_rest_predict_req_free(&req);
  td_rest_fast_set_enabled(1);
}

/* #18: 500000 '[' inside an unrelated key are skipped; under signature_name they are an error. */
static char *deep_body(const char *key, size_t depth) {
  td_buf b;
  td_buf_init(&b);
  td_buf_printf(&b, "{\"instances\": [1.0], \"%s\": ", key);
  td_buf_reserve(&b, 2 * depth + 8);
  memset(b.data + b.len, '[', depth);
  memset(b.data + b.len + depth, ']', depth);
  b.len += 2 * depth;
  td_buf_puts(&b, "}");
  return td_buf_detach(&b, NULL);
}

static void test_deep_nesting(void **state) {
  (void)state;
  char *body = deep_body("nested", 500000);
  td_buf result;
  td_buf_init(&result);
  assert_int_equal(run_predict(&F, body, strlen(body), &result, NULL), TD_OK);
  assert_string_equal(result.data, "x[1]=1;");
  free(body);
  body = deep_body("signature_name", 500000);
  td_buf_reset(&result);
  assert_int_equal(run_predict(&F, body, strlen(body), &result, NULL), TD_INVALID_ARGUMENT);
  assert_string_equal(result.data, "'signature_name' key must be a string value.");
  free(body);
  /* deep nesting inside the instances value itself: a clear error, no crash */
  td_buf b;
  td_buf_init(&b);
  td_buf_puts(&b, "{\"instances\": ");
  for (int i = 0; i < 200000; i++) td_buf_putc(&b, '[');
  for (int i = 0; i < 200000; i++) td_buf_putc(&b, ']');
  td_buf_puts(&b, "}");
  td_buf_reset(&result);
  assert_int_equal(run_predict(&F, b.data, b.len, &result, NULL), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(result.data, "maximum tensor rank"));
  td_buf_release(&b);
  td_buf_release(&result);
}

/* Every prefix and many random byte flips of valid requests: an answer, never a crash. */
static void test_truncation_and_flips(void **state) {
  (void)state;
  static const char *bodies[] = {
      "{\"signature_name\": \"serving_default\", \"instances\": [{\"a\": [1, 2], \"b\": {\"b64\": \"aGVsbG8=\"}}, "
      "{\"a\": [3, 4], \"b\": \"x\\u00e9\\ud83d\\ude00\"}]}",
      "{\"inputs\": {\"a\": [[1.5, -2e3, NaN], [Infinity, -Infinity, 0]], \"b\": [\"s\", {\"b64\": \"d29ybGQ\"}]}}",
  };
  static const sig_spec sigs[] = {{2, {"a", "b"}, {TD_DT_INT32, TD_DT_STRING}},
                                  {2, {"a", "b"}, {TD_DT_FLOAT, TD_DT_STRING}}};
  unsigned seed = 7;
  long oks = 0, errors = 0;
  for (size_t k = 0; k < 2; k++) {
    size_t len = strlen(bodies[k]);
    td_buf result;
    td_buf_init(&result);
    assert_int_equal(run_predict(&sigs[k], bodies[k], len, &result, NULL), TD_OK);
    for (size_t cut = 0; cut < len; cut++) {
      char *copy = td_xmalloc(cut + 1); /* exact size: ASan catches any over-read */
      memcpy(copy, bodies[k], cut);
      td_buf_reset(&result);
      td_code code = run_predict(&sigs[k], copy, cut, &result, NULL);
      assert_int_not_equal(code, TD_OK); /* every proper prefix of an object is incomplete */
      assert_true(result.len > 0);
      free(copy);
    }
    for (int iter = 0; iter < 3000; iter++) {
      char *copy = td_xmalloc(len);
      memcpy(copy, bodies[k], len);
      for (int flips = 0; flips < 1 + iter % 3; flips++) {
        seed = seed * 1103515245u + 12345u;
        size_t pos = (seed >> 8) % len;
        seed = seed * 1103515245u + 12345u;
        static const char interesting[] = "[]{}\",:\\0eE.-+ntfNI\x01\xff";
        copy[pos] = (seed >> 9) % 2 ? interesting[(seed >> 12) % (sizeof interesting - 1)] : (char)(seed >> 16);
      }
      td_buf_reset(&result);
      if (run_predict(&sigs[k], copy, len, &result, NULL) == TD_OK) oks++;
      else errors++;
      free(copy);
    }
    td_buf_release(&result);
  }
  print_message("flips: %ld accepted, %ld rejected\n", oks, errors);
  assert_true(errors > 0);
}

/* ---- responses ---- */
static td_tensor make_tensor(td_dtype dt, int rank, const int64_t *dims, const void *values) {
  td_shape s = td_shape_make(rank, dims);
  td_tensor t;
  assert_int_equal(td_tensor_alloc(&t, dt, &s, NULL), TD_OK);
  int64_t n = td_tensor_num_elements(&t);
  if (dt == TD_DT_STRING) {
    const char *const *strs = values;
    for (int64_t i = 0; i < n; i++) td_tensor_set_string(&t, i, strs[i], strlen(strs[i]));
  } else if (n) {
    memcpy(t.data, values, td_tensor_nbytes(&t));
  }
  return t;
}

static void expect_response(int row, td_named_tensor *outs, int n, td_code want_code, const char *want) {
  td_buf out;
  td_buf_init(&out);
  td_status st;
  td_status_clear(&st);
  td_code code = td_rest_predict_response(row, outs, n, &out, &st);
  if (code != want_code) print_error("code %d: %s\n", code, st.msg);
  assert_int_equal(code, want_code);
  assert_string_equal(code == TD_OK ? out.data : st.msg, want);
  td_buf_release(&out);
}

static void test_predict_responses(void **state) {
  (void)state;
  /* #19 */
  float f19[] = {9000000, 999999, .5f, .0003f, .00003f, 555557.5f};
  td_named_tensor o = {"y", make_tensor(TD_DT_FLOAT, 2, (int64_t[]){2, 3}, f19)};
  expect_response(1, &o, 1, TD_OK, "{\"predictions\": [[9e+06, 999999.0, 0.5], [0.0003, 3e-05, 555557.5]]}");
  expect_response(0, &o, 1, TD_OK, "{\"outputs\": [[9e+06, 999999.0, 0.5], [0.0003, 3e-05, 555557.5]]}");
  td_tensor_release(&o.tensor);
  /* #20 */
  float f20[] = {NAN, INFINITY, 3, -INFINITY};
  o.tensor = make_tensor(TD_DT_FLOAT, 2, (int64_t[]){2, 2}, f20);
  expect_response(1, &o, 1, TD_OK, "{\"predictions\": [[NaN, Infinity], [3.0, -Infinity]]}");
  td_tensor_release(&o.tensor);
  /* #21 */
  const char *s21[] = {"hello", "world", "tf", "serving"};
  td_named_tensor sb = {"str_tensor_bytes", make_tensor(TD_DT_STRING, 2, (int64_t[]){2, 2}, s21)};
  expect_response(1, &sb, 1, TD_OK,
                  "{\"predictions\": [[{\"b64\": \"aGVsbG8=\"}, {\"b64\": \"d29ybGQ=\"}], [{\"b64\": \"dGY=\"}, "
                  "{\"b64\": \"c2VydmluZw==\"}]]}");
  td_tensor_release(&sb.tensor);
  /* #22: several outputs */
  double d22[] = {8, 9};
  int32_t i22[] = {1, 2, 3, 4};
  const char *s22[] = {"a\"", "b"};
  uint8_t b22[] = {1, 0};
  td_named_tensor many[4] = {
      {"bool_tensor", make_tensor(TD_DT_BOOL, 1, (int64_t[]){2}, b22)},
      {"double_scalar_tensor", make_tensor(TD_DT_DOUBLE, 1, (int64_t[]){2}, d22)},
      {"int_tensor", make_tensor(TD_DT_INT32, 2, (int64_t[]){2, 2}, i22)},
      {"str_tensor", make_tensor(TD_DT_STRING, 1, (int64_t[]){2}, s22)},
  };
  expect_response(1, many, 4, TD_OK,
                  "{\"predictions\": [{\"bool_tensor\": true, \"double_scalar_tensor\": 8.0, \"int_tensor\": [1, 2], "
                  "\"str_tensor\": \"a\\\"\"}, {\"bool_tensor\": false, \"double_scalar_tensor\": 9.0, \"int_tensor\": "
                  "[3, 4], \"str_tensor\": \"b\"}]}");
  expect_response(0, many, 4, TD_OK,
                  "{\"outputs\": {\"bool_tensor\": [true, false], \"double_scalar_tensor\": [8.0, 9.0], \"int_tensor\": "
                  "[[1, 2], [3, 4]], \"str_tensor\": [\"a\\\"\", \"b\"]}}");
  /* #23 */
  int32_t i23[] = {5};
  td_named_tensor bad[2] = {many[1], {"other", make_tensor(TD_DT_INT32, 1, (int64_t[]){1}, i23)}};
  expect_response(1, bad, 2, TD_INVALID_ARGUMENT, "Tensor name: other has inconsistent batch size: 1 expecting: 2");
  td_tensor_release(&bad[1].tensor);
  float scalar = 1.5f;
  td_named_tensor sc = {"scalar", make_tensor(TD_DT_FLOAT, 0, NULL, &scalar)};
  expect_response(1, &sc, 1, TD_INVALID_ARGUMENT, "Tensor name: scalar has no shape information ");
  expect_response(0, &sc, 1, TD_OK, "{\"outputs\": 1.5}");
  td_tensor_release(&sc.tensor);
  float c23[] = {1, 2};
  td_named_tensor cx = {"c", make_tensor(TD_DT_COMPLEX64, 1, (int64_t[]){1}, c23)};
  expect_response(1, &cx, 1, TD_INVALID_ARGUMENT, "Failed to write JSON value for tensor type: complex64");
  td_tensor_release(&cx.tensor);
  /* #24 */
  td_named_tensor empty = {"e", make_tensor(TD_DT_FLOAT, 2, (int64_t[]){0, 2}, NULL)};
  expect_response(1, &empty, 1, TD_OK, "{\"predictions\": []}");
  expect_response(0, &empty, 1, TD_OK, "{\"outputs\": []}");
  td_tensor_release(&empty.tensor);
  expect_response(1, NULL, 0, TD_INVALID_ARGUMENT, "Cannot convert empty tensor map to JSON");
  int64_t i64[] = {-9223372036854775807LL - 1};
  td_named_tensor big = {"big", make_tensor(TD_DT_INT64, 1, (int64_t[]){1}, i64)};
  expect_response(1, &big, 1, TD_OK, "{\"predictions\": [-9223372036854775808]}");
  td_tensor_release(&big.tensor);
  for (int j = 0; j < 4; j++) td_tensor_release(&many[j].tensor);
}

static void test_classify_regress_error_responses(void **state) {
  (void)state;
  /* #28 */
  td_class classes[] = {{{"car", 3}, 0.2f}, {{"bike", 4}, 0.7f}, {{"bus", 3}, 0.1f},
                        {{"car", 3}, 0.3f}, {{"bike", 4}, 0.5f}, {{"bus", 3}, 0.2f}};
  td_classify_result r;
  memset(&r, 0, sizeof r);
  r.n_examples = 2;
  r.n_classes = 3;
  r.classes = classes;
  td_buf out;
  td_buf_init(&out);
  td_status st;
  assert_int_equal(td_rest_classify_response(&r, &out, &st), TD_OK);
  assert_string_equal(out.data, "{\"results\": [[[\"car\", 0.2], [\"bike\", 0.7], [\"bus\", 0.1]], [[\"car\", 0.3], "
                                "[\"bike\", 0.5], [\"bus\", 0.2]]]}");
  td_buf_reset(&out);
  td_class unlabeled = {{NULL, 0}, 12};
  r.n_examples = 1;
  r.n_classes = 1;
  r.classes = &unlabeled;
  assert_int_equal(td_rest_classify_response(&r, &out, &st), TD_OK);
  assert_string_equal(out.data, "{\"results\": [[[\"\", 12.0]]]}");
  r.n_examples = 0;
  assert_int_equal(td_rest_classify_response(&r, &out, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Cannot convert empty ClassificationResults to JSON");
  /* #29 */
  td_buf_reset(&out);
  float v[] = {0.2f, INFINITY, 1.0f, -INFINITY, NAN};
  assert_int_equal(td_rest_regress_response(v, 5, &out, &st), TD_OK);
  assert_string_equal(out.data, "{\"results\": [0.2, Infinity, 1.0, -Infinity, NaN]}");
  assert_int_equal(td_rest_regress_response(v, 0, &out, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Cannot convert empty RegressionResults to JSON");
  /* #30 */
  td_buf_reset(&out);
  td_rest_error_json("Bad key: \"key\"", &out);
  assert_string_equal(out.data, "{\"error\": \"Bad key: \\\"key\\\"\"}");
  td_buf_release(&out);
}

/* ---- classify / regress examples ---- */
static Tensorflow__Example *example_at(const td_tensor *t, int64_t i) {
  return tensorflow__example__unpack(NULL, td_str(t)[i].len, (const uint8_t *)td_str(t)[i].data);
}

/* Last entry wins (proto map merge semantics). */
static const Tensorflow__Feature *feature(const Tensorflow__Example *ex, const char *name) {
  const Tensorflow__Feature *f = NULL;
  for (size_t i = 0; i < ex->features->n_feature; i++)
    if (strcmp(ex->features->feature[i]->key, name) == 0) f = ex->features->feature[i]->value;
  return f;
}

static void test_examples(void **state) {
  (void)state;
  /* #25 */
  const char *body = "{\"signature_name\": \"classify_x_to_y\", \"examples\": [{\"names\": [\"foo\", \"bar\"], "
                     "\"ratings\": [8.0, 9.0], \"age\": 20}, {\"x\": 10, \"empty\": []}]}";
  char *sig = NULL;
  td_tensor ex;
  td_status st;
  assert_int_equal(td_rest_examples_parse(body, strlen(body), "classify", &sig, &ex, &st), TD_OK);
  assert_string_equal(sig, "classify_x_to_y");
  assert_int_equal(ex.dtype, TD_DT_STRING);
  assert_int_equal(ex.shape.rank, 1);
  assert_int_equal(ex.shape.dim[0], 2);
  Tensorflow__Example *e = example_at(&ex, 0);
  assert_non_null(e);
  const Tensorflow__Feature *f = feature(e, "names");
  assert_int_equal(f->kind_case, TENSORFLOW__FEATURE__KIND_BYTES_LIST);
  assert_int_equal(f->bytes_list->n_value, 2);
  assert_memory_equal(f->bytes_list->value[1].data, "bar", 3);
  f = feature(e, "ratings");
  assert_int_equal(f->kind_case, TENSORFLOW__FEATURE__KIND_FLOAT_LIST);
  assert_true(f->float_list->n_value == 2 && f->float_list->value[1] == 9.0f);
  f = feature(e, "age");
  assert_int_equal(f->kind_case, TENSORFLOW__FEATURE__KIND_INT64_LIST);
  assert_true(f->int64_list->n_value == 1 && f->int64_list->value[0] == 20);
  tensorflow__example__free_unpacked(e, NULL);
  e = example_at(&ex, 1);
  assert_int_equal(feature(e, "empty")->kind_case, TENSORFLOW__FEATURE__KIND__NOT_SET);
  tensorflow__example__free_unpacked(e, NULL);
  td_tensor_release(&ex);
  free(sig);
  /* #26: context merged into every example (example wins on duplicates) */
  body = "{\"context\": {\"blob\": {\"b64\": \"aGVsbG8=\"}, \"shared\": \"ctx\"}, \"examples\": [{\"flags\": [1, true, "
         "false], \"score\": -Infinity, \"shared\": \"mine\"}]}";
  assert_int_equal(td_rest_examples_parse(body, strlen(body), "regress", &sig, &ex, &st), TD_OK);
  assert_null(sig);
  e = example_at(&ex, 0);
  f = feature(e, "blob");
  assert_true(f->kind_case == TENSORFLOW__FEATURE__KIND_BYTES_LIST && f->bytes_list->value[0].len == 5);
  assert_memory_equal(f->bytes_list->value[0].data, "hello", 5);
  f = feature(e, "flags");
  assert_int_equal(f->int64_list->n_value, 3);
  assert_true(f->int64_list->value[0] == 1 && f->int64_list->value[1] == 1 && f->int64_list->value[2] == 0);
  f = feature(e, "score");
  assert_true(f->kind_case == TENSORFLOW__FEATURE__KIND_FLOAT_LIST && isinf(f->float_list->value[0]) &&
              f->float_list->value[0] < 0);
  assert_memory_equal(feature(e, "shared")->bytes_list->value[0].data, "mine", 4);
  tensorflow__example__free_unpacked(e, NULL);
  td_tensor_release(&ex);
}

static const struct {
  const char *body, *want;
} example_errors[] = {
    /* #27 */
    {"{\"examples\": [{\"names\": [10, null]}]}", "Feature: names has element with unexpected JSON type: Null"},
    {"{\"examples\": [{\"names\": [10, 10.0]}]}", "Unexpected element type in feature: names expecting type: int64"},
    {"{\"examples\": [{\"names\": [10, {\"test\": 10}]}]}", "Feature: names has element with unexpected JSON type: Object"},
    {"{\"examples\": [{\"names\": [[10], 20]}]}", "Feature: names has element with unexpected JSON type: Array"},
    {"{\"examples\": [{\"names\": [20, 18446744073709551603]}]}",
     "Feature: names has uint64_t element. Only int64_t is supported."},
    {"{\"examples\": [{\"names\": [\"a\", 1]}]}", "Unexpected element type in feature: names expecting type: bytes"},
    {"{\"examples\": [{\"names\": [1.5, \"a\"]}]}", "Unexpected element type in feature: names expecting type: float"},
    {"{\"signature_name\": \"s\", \"inputs\": 1}",
     "JSON Value: {\"signature_name\":\"s\",\"inputs\":1} When method is classify, key 'examples' is expected and was "
     "not found"},
    {"{\"examples\": 5}", "Expecting 'examples' value to be an list/array"},
    {"{\"examples\": []}", "'examples' value is an empty array"},
    {"{\"examples\": [5]}", "Example must be JSON object but got JSON Number"},
    {"{\"context\": [1], \"examples\": [{}]}", "Example must be JSON object but got JSON Array"},
    {"{\"signature_name\": [], \"examples\": [{}]}", "'signature_name' key must be a string value."},
    {"{\"examples\": [{\"b\": {\"b64\": \"!!\"}}]}", "Unable to base64 decode"},
    {"[]", "JSON Value: [] Is not object"},
    {"", "JSON Parse error: The document is empty"}, /* ParseJson: no offset for an empty body */
    {" ", "JSON Parse error: The document is empty. at offset: 1"},
    {"{\"examples\": [{]}", "JSON Parse error: Missing a name for object member. at offset: 15"},
};

static void test_example_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof example_errors / sizeof *example_errors; i++) {
    char *sig = NULL;
    td_tensor ex;
    td_status st;
    td_status_clear(&st);
    td_code code = td_rest_examples_parse(example_errors[i].body, strlen(example_errors[i].body), "classify", &sig, &ex, &st);
    if (code == TD_OK || strcmp(st.msg, example_errors[i].want) != 0) print_error("case %zu: %s\n", i, st.msg);
    assert_int_equal(code, TD_INVALID_ARGUMENT);
    assert_string_equal(st.msg, example_errors[i].want);
    assert_null(sig);
    assert_null(ex.buf);
  }
}

/* ---- semantic JSON comparison: canonical text with object keys sorted ---- */
typedef struct member {
  char *key, *value;
} member;

static int member_cmp(const void *a, const void *b) {
  return strcmp(((const member *)a)->key, ((const member *)b)->key);
}

static char *canonical(td_json_reader *r) {
  td_buf out;
  td_buf_init(&out);
  int t = td_json_peek(r);
  if (t == TD_JSON_OBJECT) {
    member *ms = NULL;
    size_t n = 0, cap = 0;
    td_json_iter it = TD_JSON_ITER_INIT;
    td_json_str key;
    while (td_json_object_next(r, &it, &key) == 1) {
      TD_GROW(ms, cap, n + 1);
      ms[n].key = td_xstrndup(key.data, key.len);
      ms[n].value = canonical(r);
      n++;
    }
    if (n) qsort(ms, n, sizeof *ms, member_cmp);
    td_buf_putc(&out, '{');
    for (size_t i = 0; i < n; i++) {
      td_buf_printf(&out, "%s\"%s\":%s", i ? "," : "", ms[i].key, ms[i].value);
      free(ms[i].key);
      free(ms[i].value);
    }
    free(ms);
    td_buf_putc(&out, '}');
  } else if (t == TD_JSON_ARRAY) {
    td_json_iter it = TD_JSON_ITER_INIT;
    td_buf_putc(&out, '[');
    for (int i = 0; td_json_array_next(r, &it) == 1; i++) {
      char *v = canonical(r);
      td_buf_printf(&out, "%s%s", i ? "," : "", v);
      free(v);
    }
    td_buf_putc(&out, ']');
  } else if (t == TD_JSON_STRING) {
    td_json_str s;
    assert_int_equal(td_json_read_string(r, &s), 0);
    td_json_write_string(&out, s.data, s.len);
  } else if (t == TD_JSON_NUMBER) {
    td_json_number n;
    assert_int_equal(td_json_read_number(r, &n), 0);
    td_buf_printf(&out, "%.17g", n.d);
  } else {
    td_json_type lit;
    assert_int_equal(td_json_read_literal(r, &lit), 0);
    td_buf_puts(&out, td_json_type_name(lit));
  }
  return td_buf_detach(&out, NULL);
}

static char *canonical_text(const char *text, size_t len) {
  td_json_reader r;
  td_json_reader_init(&r, text, len);
  char *c = canonical(&r);
  assert_null(r.err);
  td_json_reader_free(&r);
  return c;
}

static void assert_json_equivalent(const char *got, size_t got_len, const char *want, size_t want_len) {
  char *a = canonical_text(got, got_len), *b = canonical_text(want, want_len);
  if (strcmp(a, b) != 0) print_error("got:  %s\nwant: %s\n", a, b);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

static void test_status_json(void **state) {
  (void)state;
  Tensorflow__Serving__StatusProto status = TENSORFLOW__SERVING__STATUS_PROTO__INIT;
  Tensorflow__Serving__ModelVersionStatus v1 = TENSORFLOW__SERVING__MODEL_VERSION_STATUS__INIT, v2 = v1;
  v1.version = 124;
  v1.state = TENSORFLOW__SERVING__MODEL_VERSION_STATUS__STATE__END;
  Tensorflow__Serving__StatusProto failed = status;
  failed.error_code = TENSORFLOW__ERROR__CODE__NOT_FOUND;
  failed.error_message = "gone";
  v1.status = &failed;
  v2.version = 123;
  v2.state = TENSORFLOW__SERVING__MODEL_VERSION_STATUS__STATE__AVAILABLE;
  v2.status = &status;
  Tensorflow__Serving__ModelVersionStatus *list[] = {&v1, &v2};
  Tensorflow__Serving__GetModelStatusResponse resp = TENSORFLOW__SERVING__GET_MODEL_STATUS_RESPONSE__INIT;
  resp.n_model_version_status = 2;
  resp.model_version_status = list;
  td_buf out;
  td_buf_init(&out);
  td_rest_status_json(&resp, &out);
  const char *want = "{\"model_version_status\": [{\"version\": \"124\", \"state\": \"END\", \"status\": {\"error_code\": "
                     "\"NOT_FOUND\", \"error_message\": \"gone\"}}, {\"version\": \"123\", \"state\": \"AVAILABLE\", "
                     "\"status\": {\"error_code\": \"OK\", \"error_message\": \"\"}}]}";
  assert_string_equal(out.data, want);
  td_buf_reset(&out);
  resp.n_model_version_status = 0;
  td_rest_status_json(&resp, &out);
  assert_string_equal(out.data, "{\"model_version_status\": []}");
  td_buf_release(&out);
}

/* Builds the metadata response TF Serving would return for a fixture SavedModel. */
static void check_metadata(const char *model_dir, const char *name, const char *fixture) {
  Tensorflow__SavedModel *sm = NULL;
  td_status st;
  assert_int_equal(td_savedmodel_read(model_dir, &sm, &st), TD_OK);
  const char *tags[] = {"serve"};
  const Tensorflow__MetaGraphDef *mg = NULL;
  assert_int_equal(td_savedmodel_meta_graph(sm, tags, 1, &mg, &st), TD_OK);
  Tensorflow__Serving__SignatureDefMap map = TENSORFLOW__SERVING__SIGNATURE_DEF_MAP__INIT;
  Tensorflow__Serving__SignatureDefMap__SignatureDefEntry *entries = td_xcalloc(mg->n_signature_def, sizeof *entries);
  Tensorflow__Serving__SignatureDefMap__SignatureDefEntry **ptrs = td_xcalloc(mg->n_signature_def, sizeof *ptrs);
  for (size_t i = 0; i < mg->n_signature_def; i++) {
    tensorflow__serving__signature_def_map__signature_def_entry__init(&entries[i]);
    entries[i].key = mg->signature_def[i]->key;
    entries[i].value = mg->signature_def[i]->value;
    ptrs[i] = &entries[i];
  }
  map.n_signature_def = mg->n_signature_def;
  map.signature_def = ptrs;
  size_t len = tensorflow__serving__signature_def_map__get_packed_size(&map);
  uint8_t *packed = td_xmalloc(len);
  tensorflow__serving__signature_def_map__pack(&map, packed);
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = "type.googleapis.com/tensorflow.serving.SignatureDefMap";
  any.value.data = packed;
  any.value.len = len;
  Tensorflow__Serving__GetModelMetadataResponse__MetadataEntry entry =
      TENSORFLOW__SERVING__GET_MODEL_METADATA_RESPONSE__METADATA_ENTRY__INIT;
  entry.key = "signature_def";
  entry.value = &any;
  Tensorflow__Serving__GetModelMetadataResponse__MetadataEntry *eptr = &entry;
  Google__Protobuf__Int64Value version = GOOGLE__PROTOBUF__INT64_VALUE__INIT;
  version.value = 123;
  Tensorflow__Serving__ModelSpec spec = TENSORFLOW__SERVING__MODEL_SPEC__INIT;
  spec.name = (char *)name;
  spec.version_choice_case = TENSORFLOW__SERVING__MODEL_SPEC__VERSION_CHOICE_VERSION;
  spec.version = &version;
  Tensorflow__Serving__GetModelMetadataResponse resp = TENSORFLOW__SERVING__GET_MODEL_METADATA_RESPONSE__INIT;
  resp.model_spec = &spec;
  resp.n_metadata = 1;
  resp.metadata = &eptr;
  td_buf out;
  td_buf_init(&out);
  assert_int_equal(td_rest_metadata_json(&resp, &out, &st), TD_OK);
  char *want = NULL;
  size_t want_len = 0;
  assert_int_equal(td_read_file(fixture, &want, &want_len, &st), TD_OK);
  assert_json_equivalent(out.data, out.len, want, want_len);
  free(want);
  /* An Any of another type is an internal error. */
  any.type_url = "type.googleapis.com/other";
  td_buf_reset(&out);
  assert_int_equal(td_rest_metadata_json(&resp, &out, &st), TD_INTERNAL);
  td_buf_release(&out);
  free(packed);
  free(ptrs);
  free(entries);
  td_savedmodel_free(sm);
}

static void test_metadata_json(void **state) {
  (void)state;
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  check_metadata(TD_FIXTURES "/tfserving_testdata/saved_model_half_plus_two_cpu/00000123", "default",
                 TD_FIXTURES "/tfserving_testdata/half_plus_two_model_metadata.json");
  check_metadata(TD_FIXTURES "/tfserving_testdata/saved_model_half_plus_two_2_versions/00000123",
                 "saved_model_half_plus_two_2_versions",
                 TD_FIXTURES "/tfserving_testdata/saved_model_half_plus_two_2_versions_metadata.json");
}

/* ---- throughput on a 1000x784 float body (MNIST-sized batch) ---- */
static void test_throughput(void **state) {
  (void)state;
  td_buf body;
  td_buf_init(&body);
  td_buf_puts(&body, "{\"instances\": [");
  unsigned seed = 1;
  for (int i = 0; i < 1000; i++) {
    td_buf_puts(&body, i ? ", [" : "[");
    for (int j = 0; j < 784; j++) {
      seed = seed * 1103515245u + 12345u;
      td_buf_printf(&body, j ? ", %.6f" : "%.6f", (double)(seed >> 8) / (1 << 24));
    }
    td_buf_putc(&body, ']');
  }
  td_buf_puts(&body, "]}");
  static const sig_spec sig = SIG1("x", TD_DT_FLOAT);
  td_sig_tensor storage[1];
  td_signature s = make_sig(&sig, storage);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int reps = 3;
  for (int k = 0; k < reps; k++) {
    td_rest_predict_req req;
    td_status st;
    assert_int_equal(td_rest_predict_scan(body.data, body.len, &req, &st), TD_OK);
    td_named_tensor *in;
    int n;
    assert_int_equal(td_rest_predict_inputs(&req, &s, &in, &n, &st), TD_OK);
    assert_int_equal(in[0].tensor.shape.dim[0], 1000);
    assert_int_equal(in[0].tensor.shape.dim[1], 784);
    td_rest_inputs_free(in, n);
    td_rest_predict_req_free(&req);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  print_message("1000x784 float body: %.1f MB, %.1f ms per request, %.1f MB/s\n", (double)body.len / 1e6,
                secs / reps * 1e3, (double)body.len * reps / secs / 1e6);
  td_buf_release(&body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_predict_cases),
      cmocka_unit_test(test_scan_fields),
      cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_truncation_and_flips),
      cmocka_unit_test(test_predict_responses),
      cmocka_unit_test(test_classify_regress_error_responses),
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_example_errors),
      cmocka_unit_test(test_status_json),
      cmocka_unit_test(test_metadata_json),
      cmocka_unit_test(test_throughput),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
