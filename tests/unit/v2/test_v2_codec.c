/* test_v2_codec.c — the V2 front end's codecs without a server: datatype table, the raw tensor
 * layout (binary extension / raw_*_contents, incl. BYTES length prefixes and every malformed
 * length), the JSON request header scan, the repository load/unload body scan, JSON data
 * decoding (nested and flat, ranges, counts, budget), and the JSON output writer. Expected values
 * are hand-derived. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "v2/v2_internal.h"
#include "v2/v2_json.h"

static void test_datatypes(void **state) {
  static const struct {
    const char *name;
    td_dtype dt;
  } rows[] = {{"BOOL", TD_DT_BOOL},     {"UINT8", TD_DT_UINT8}, {"UINT64", TD_DT_UINT64}, {"INT8", TD_DT_INT8},
              {"INT64", TD_DT_INT64},   {"FP16", TD_DT_HALF},   {"FP32", TD_DT_FLOAT},    {"FP64", TD_DT_DOUBLE},
              {"BF16", TD_DT_BFLOAT16}, {"BYTES", TD_DT_STRING}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    td_dtype dt;
    assert_true(td_v2_dtype(rows[i].name, strlen(rows[i].name), &dt));
    assert_int_equal(dt, rows[i].dt);
    assert_string_equal(td_v2_datatype(rows[i].dt), rows[i].name);
  }
  td_dtype dt;
  assert_false(td_v2_dtype("fp32", 4, &dt));
  assert_false(td_v2_dtype("FP3", 3, &dt));
  assert_null(td_v2_datatype(TD_DT_RESOURCE));
}

static void test_shape(void **state) {
  td_shape s;
  td_status st = {0};
  int64_t ok[] = {2, 3};
  assert_int_equal(td_v2_shape("x", ok, 2, &s, &st), TD_OK);
  assert_int_equal(s.rank, 2);
  assert_int_equal(td_shape_num_elements(&s), 6);
  int64_t neg[] = {2, -1};
  assert_int_equal(td_v2_shape("x", neg, 2, &s, &st), TD_INVALID_ARGUMENT);
  int64_t big[] = {1LL << 40, 1LL << 40};
  assert_int_equal(td_v2_shape("x", big, 2, &s, &st), TD_INVALID_ARGUMENT);
  int64_t deep[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  assert_int_equal(td_v2_shape("x", deep, 9, &s, &st), TD_INVALID_ARGUMENT);
}

static void test_raw_numeric(void **state) {
  td_status st = {0};
  td_budget b;
  td_budget_init(&b, 100, 0, TD_INVALID_ARGUMENT);
  float v[3] = {1.5f, -2.0f, 0.25f};
  td_shape s = td_shape_vector(3);
  td_tensor t;
  assert_int_equal(td_v2_tensor_from_raw("x", TD_DT_FLOAT, &s, (const uint8_t *)v, sizeof v, &b, &t, &st), TD_OK);
  assert_true(td_f32(&t)[0] == 1.5f && td_f32(&t)[1] == -2.0f && td_f32(&t)[2] == 0.25f);
  assert_int_equal(td_v2_raw_size(&t), 12);
  td_buf out;
  td_buf_init(&out);
  td_v2_tensor_to_raw(&t, &out);
  assert_int_equal(out.len, 12);
  assert_memory_equal(out.data, v, 12);
  td_buf_release(&out);
  td_tensor_release(&t);
  /* one byte short / long */
  assert_int_equal(td_v2_tensor_from_raw("x", TD_DT_FLOAT, &s, (const uint8_t *)v, 11, &b, &t, &st),
                   TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "unexpected size 11"));
  assert_non_null(strstr(st.msg, "expecting 12"));
  /* BOOL bytes normalize to 0/1 */
  uint8_t bools[2] = {0, 7};
  td_shape s2 = td_shape_vector(2);
  assert_int_equal(td_v2_tensor_from_raw("b", TD_DT_BOOL, &s2, bools, 2, &b, &t, &st), TD_OK);
  assert_int_equal(td_u8(&t)[1], 1);
  td_tensor_release(&t);
  /* an aligned view borrows the bytes (no copy, no charge); BOOL is always copied */
  int64_t used = b.used;
  assert_int_equal(td_v2_tensor_view_raw("x", TD_DT_FLOAT, &s, (const uint8_t *)v, sizeof v, &b, &t, &st), TD_OK);
  assert_ptr_equal(t.data, v);
  assert_null(t.buf);
  assert_int_equal(b.used, used);
  td_tensor_release(&t);
  assert_int_equal(td_v2_tensor_view_raw("b", TD_DT_BOOL, &s2, bools, 2, &b, &t, &st), TD_OK);
  assert_ptr_not_equal(t.data, bools);
  td_tensor_release(&t);
  assert_int_equal(td_v2_tensor_view_raw("x", TD_DT_FLOAT, &s, (const uint8_t *)v + 1, 11, &b, &t, &st),
                   TD_INVALID_ARGUMENT);
  /* a huge shape with few bytes never allocates */
  int64_t dims[1] = {1LL << 50};
  td_shape huge = td_shape_make(1, dims);
  assert_int_equal(td_v2_tensor_from_raw("x", TD_DT_FLOAT, &huge, (const uint8_t *)v, 12, &b, &t, &st),
                   TD_INVALID_ARGUMENT);
}

static void test_raw_bytes(void **state) {
  td_status st = {0};
  td_budget b;
  td_budget_init(&b, 100, 0, TD_INVALID_ARGUMENT);
  const uint8_t raw[] = {2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 3, 0, 0, 0, 'a', 0, 'b'};
  td_shape s = td_shape_vector(3);
  td_tensor t;
  assert_int_equal(td_v2_tensor_from_raw("s", TD_DT_STRING, &s, raw, sizeof raw, &b, &t, &st), TD_OK);
  assert_int_equal(td_str(&t)[0].len, 2);
  assert_memory_equal(td_str(&t)[0].data, "hi", 2);
  assert_int_equal(td_str(&t)[1].len, 0);
  assert_int_equal(td_str(&t)[2].len, 3);
  assert_memory_equal(td_str(&t)[2].data, "a\0b", 3);
  td_buf out;
  td_buf_init(&out);
  td_v2_tensor_to_raw(&t, &out);
  assert_int_equal(out.len, sizeof raw);
  assert_memory_equal(out.data, raw, sizeof raw);
  td_buf_release(&out);
  td_tensor_release(&t);
  /* truncated prefix, truncated data, wrong element count */
  assert_int_equal(td_v2_tensor_from_raw("s", TD_DT_STRING, &s, raw, 16, &b, &t, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_v2_tensor_from_raw("s", TD_DT_STRING, &s, raw, 12, &b, &t, &st), TD_INVALID_ARGUMENT);
  td_shape s2 = td_shape_vector(2);
  assert_int_equal(td_v2_tensor_from_raw("s", TD_DT_STRING, &s2, raw, sizeof raw, &b, &t, &st),
                   TD_INVALID_ARGUMENT);
  const uint8_t liar[] = {0xff, 0xff, 0xff, 0xff, 'x'};
  td_shape s1 = td_shape_vector(1);
  assert_int_equal(td_v2_tensor_from_raw("s", TD_DT_STRING, &s1, liar, sizeof liar, &b, &t, &st),
                   TD_INVALID_ARGUMENT);
}

static void test_scan(void **state) {
  const char *body =
      "{\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}}],\"id\":\"7\","
      "\"parameters\":{\"signature_name\":\"sig\",\"other\":[1,{\"a\":2}],\"binary_data_output\":false},"
      "\"inputs\":[{\"data\":[[1,2]],\"shape\":[1,2],\"name\":\"x\",\"datatype\":\"INT32\"},"
      "{\"name\":\"z\",\"datatype\":\"FP32\",\"shape\":[],\"parameters\":{\"binary_data_size\":4}}]}";
  v2_json_req req;
  td_status st = {0};
  assert_int_equal(v2_json_scan(body, strlen(body), &req, &st), TD_OK);
  assert_string_equal(req.id, "7");
  assert_string_equal(req.signature_name, "sig");
  assert_int_equal(req.binary_output, 0);
  assert_int_equal(req.n_inputs, 2);
  assert_string_equal(req.inputs[0].name, "x");
  assert_string_equal(req.inputs[0].datatype, "INT32");
  assert_int_equal(req.inputs[0].n_dims, 2);
  assert_int_equal(req.inputs[0].binary_size, -1);
  assert_int_equal(req.inputs[1].binary_size, 4);
  assert_int_equal(req.inputs[1].n_dims, 0);
  assert_int_equal(req.n_outputs, 1);
  assert_int_equal(req.outputs[0].binary, 1);
  /* decode input 0's data */
  td_shape s = td_shape_make(2, req.inputs[0].dims);
  td_budget b;
  td_budget_init(&b, strlen(body), 0, TD_INVALID_ARGUMENT);
  td_tensor t;
  assert_int_equal(v2_json_decode_data("x", TD_DT_INT32, &s, body, req.inputs[0].data_start, req.inputs[0].data_end,
                                       &b, &t, &st),
                   TD_OK);
  assert_int_equal(td_i32(&t)[0], 1);
  assert_int_equal(td_i32(&t)[1], 2);
  td_tensor_release(&t);
  v2_json_req_free(&req);

  static const struct {
    const char *body, *error;
  } bad[] = {
      {"{\"inputs\":[", "JSON Parse error"},
      {"[1]", "must be an object"},
      {"{\"id\":\"1\"}", "no 'inputs'"},
      {"{\"inputs\":[{\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}", "missing 'name'"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"data\":[1]}]}", "missing 'datatype'"},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1]}]}", "missing 'shape'"},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1]}]}", "has no 'data'"},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1],\"data\":[1]}]}", "non-negative"},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data\":[1]}]}",
       "more than 8"},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1],"
       "\"parameters\":{\"binary_data_size\":4}}]}",
       "both"},
      {"{\"inputs\":[],\"parameters\":{\"binary_data_output\":1}}", "must be a boolean"},
      {"{\"inputs\":[],\"outputs\":[{}]}", "missing 'name'"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&st, 0, sizeof st);
    assert_int_equal(v2_json_scan(bad[i].body, strlen(bad[i].body), &req, &st), TD_INVALID_ARGUMENT);
    if (!strstr(st.msg, bad[i].error)) fail_msg("case %zu: '%s' lacks '%s'", i, st.msg, bad[i].error);
    v2_json_req_free(&req);
  }
}

/* Decodes `data` (a JSON value) for dt/dims; returns the code, *t on success. */
static td_code decode(const char *data, td_dtype dt, int rank, const int64_t *dims, td_tensor *t, td_status *st) {
  td_shape s = td_shape_make(rank, dims);
  td_budget b;
  td_budget_init(&b, strlen(data), 0, TD_INVALID_ARGUMENT);
  return v2_json_decode_data("x", dt, &s, data, 0, strlen(data), &b, t, st);
}

/* The repository load/unload body: empty, or {"parameters": {...}}; overrides flagged. */
static void test_scan_repository(void **state) {
  (void)state;
  static const struct {
    const char *body;
    td_code code;
    int overrides;
    const char *msg; /* prefix, when an error */
  } rows[] = {
      {"", TD_OK, 0, NULL},
      {"{}", TD_OK, 0, NULL},
      {"{\"parameters\":{\"unload_dependents\":true}}", TD_OK, 0, NULL},
      {"{\"other\":[1,{\"config\":1}],\"parameters\":{}}", TD_OK, 0, NULL},
      {"{\"parameters\":{\"a\":1,\"config\":\"{}\"}}", TD_OK, 1, NULL},
      {"{\"parameters\":{\"file:1/model.savedmodel/saved_model.pb\":\"eA==\"}}", TD_OK, 1, NULL},
      {"{\"parameters\":{\"files\":1,\"configs\":2}}", TD_OK, 0, NULL},
      {"[1]", TD_INVALID_ARGUMENT, 0, "the repository request must be an object"},
      {"{\"parameters\":3}", TD_INVALID_ARGUMENT, 0, "'parameters' must be an object"},
      {"{\"parameters\":{\"a\":", TD_INVALID_ARGUMENT, 0, "JSON Parse error"},
      {"{\"parameters\":{}", TD_INVALID_ARGUMENT, 0, "JSON Parse error"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    td_status st = {0};
    int overrides = -1;
    td_code code = v2_json_scan_repository(rows[i].body, strlen(rows[i].body), &overrides, &st);
    if (code != rows[i].code) fail_msg("%s: code %d, want %d (%s)", rows[i].body, code, rows[i].code, st.msg);
    if (code == TD_OK) assert_int_equal(overrides, rows[i].overrides);
    else assert_memory_equal(st.msg, rows[i].msg, strlen(rows[i].msg));
  }
}

static void test_decode(void **state) {
  td_status st = {0};
  td_tensor t;
  int64_t d22[] = {2, 2}, d4[] = {4}, d3[] = {3};
  /* nested and flat give the same row-major tensor */
  assert_int_equal(decode("[[1.5,2],[3,-4e2]]", TD_DT_FLOAT, 2, d22, &t, &st), TD_OK);
  float want[] = {1.5f, 2.0f, 3.0f, -400.0f};
  assert_memory_equal(t.data, want, sizeof want);
  td_tensor_release(&t);
  assert_int_equal(decode("[1.5,2,3,-4e2]", TD_DT_FLOAT, 2, d22, &t, &st), TD_OK);
  assert_memory_equal(t.data, want, sizeof want);
  td_tensor_release(&t);
  /* counts */
  assert_int_equal(decode("[1,2,3]", TD_DT_FLOAT, 2, d22, &t, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "'data' holds 3"));
  assert_int_equal(decode("[1,2,3,4,5]", TD_DT_FLOAT, 1, d4, &t, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "more than 4"));
  int64_t huge[] = {1000000};
  assert_int_equal(decode("[1]", TD_DT_FLOAT, 1, huge, &t, &st), TD_INVALID_ARGUMENT);
  /* types and ranges */
  assert_int_equal(decode("[true,false,true]", TD_DT_BOOL, 1, d3, &t, &st), TD_OK);
  assert_int_equal(td_u8(&t)[0] + td_u8(&t)[1] * 2 + td_u8(&t)[2] * 4, 5);
  td_tensor_release(&t);
  assert_int_equal(decode("[1,0,1]", TD_DT_BOOL, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(decode("[127,-128,5]", TD_DT_INT8, 1, d3, &t, &st), TD_OK);
  assert_int_equal(((int8_t *)t.data)[1], -128);
  td_tensor_release(&t);
  assert_int_equal(decode("[128,0,0]", TD_DT_INT8, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "range of INT8"));
  assert_int_equal(decode("[-1,0,0]", TD_DT_UINT8, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(decode("[1.5,0,0]", TD_DT_INT32, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(decode("[18446744073709551615,0,1]", TD_DT_UINT64, 1, d3, &t, &st), TD_OK);
  assert_true(((uint64_t *)t.data)[0] == UINT64_MAX);
  td_tensor_release(&t);
  assert_int_equal(decode("[-9223372036854775808,0,1]", TD_DT_INT64, 1, d3, &t, &st), TD_OK);
  assert_true(td_i64(&t)[0] == INT64_MIN);
  td_tensor_release(&t);
  assert_int_equal(decode("[\"a\",\"\\u00e9\",\"\"]", TD_DT_STRING, 1, d3, &t, &st), TD_OK);
  assert_int_equal(td_str(&t)[1].len, 2);
  td_tensor_release(&t);
  assert_int_equal(decode("[\"a\",1,\"\"]", TD_DT_STRING, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(decode("[1,\"a\",3]", TD_DT_DOUBLE, 1, d3, &t, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "expected a number"));
  assert_int_equal(decode("5", TD_DT_DOUBLE, 0, d3, &t, &st), TD_INVALID_ARGUMENT);
  /* half: JSON numbers round to fp16 */
  assert_int_equal(decode("[1.0,0.5,65504]", TD_DT_HALF, 1, d3, &t, &st), TD_OK);
  assert_true(td_tensor_get_double(&t, 2) == 65504.0);
  td_tensor_release(&t);
  /* deep nesting is bounded, never recursive */
  char deep[300];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  deep[200] = 0;
  int64_t d0[] = {0};
  assert_int_equal(decode(deep, TD_DT_FLOAT, 1, d0, &t, &st), TD_INVALID_ARGUMENT);
}

static void test_write(void **state) {
  td_status st = {0};
  td_tensor t;
  int64_t d[] = {2, 2};
  td_shape s = td_shape_make(2, d);
  assert_int_equal(td_tensor_alloc(&t, TD_DT_FLOAT, &s, &st), TD_OK);
  td_f32(&t)[0] = 2.5f, td_f32(&t)[1] = 3.0f, td_f32(&t)[2] = -0.125f, td_f32(&t)[3] = 1e20f;
  td_buf out;
  td_buf_init(&out);
  v2_json_write_shape(&t.shape, &out);
  v2_json_write_data(&t, &out);
  assert_string_equal(out.data, "[2,2][2.5,3.0,-0.125,1e+20]");
  td_tensor_release(&t);
  td_buf_reset(&out);
  s = td_shape_vector(2);
  assert_int_equal(td_tensor_alloc(&t, TD_DT_STRING, &s, &st), TD_OK);
  td_tensor_set_string(&t, 0, "a\"b", 3);
  v2_json_write_data(&t, &out);
  assert_string_equal(out.data, "[\"a\\\"b\",\"\"]");
  td_tensor_release(&t);
  td_buf_release(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_datatypes), cmocka_unit_test(test_shape),  cmocka_unit_test(test_raw_numeric),
      cmocka_unit_test(test_raw_bytes), cmocka_unit_test(test_scan),   cmocka_unit_test(test_decode),
      cmocka_unit_test(test_write),            cmocka_unit_test(test_scan_repository),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
