/* test_tflite_reader.c — the TFLite reader (src/tflite/): FlatBuffers written here by a small
 * test-only forward builder (float ADD + fused RELU, a quantized uint8 → int8 chain, an
 * unsupported-op model), FlexBuffer maps, the three TF Serving fixtures when ../shared is
 * present, and hostile bytes: every truncation of a real and of a built file, and flipped bytes,
 * must give an error or a valid model — never a crash (run under ASan). Expected values are
 * hand-derived. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "model/savedmodel.h"
#include "tflite/fb.h"
#include "tflite/tflite.h"
#include "tflite/tflite_model.h"
#include "util/file.h"
#include "util/mem.h"

#include "tflite_builder.h"
#include "tflite_test_util.h"

/* y = relu(x + w), x float [2] input, w = [1, 2] constant. */
static const float W[2] = {1.f, 2.f};
static t_model add_relu_model(void) {
  t_model m = {.version = 3, .ncodes = 1, .codes = {0 /* ADD */}, .ntensors = 3, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 1, {2}, NULL, 0, 0, 0};
  m.t[1] = (t_tensor){"w", TD_TFL_FLOAT32, 1, {2}, W, sizeof W, 0, 0};
  m.t[2] = (t_tensor){"y:0", TD_TFL_FLOAT32, 1, {2}, NULL, 0, 0, 0};
  m.ops[0] = (t_op){.opcode = 0, .nin = 2, .nout = 1, .in = {0, 1}, .out = {2}, .opt_type = 11, .nopt = 1,
                    .opt = {{0, 1, 1 /* RELU */}}};
  m.in[0] = 0;
  m.out[0] = 2;
  return m;
}

/* uint8 x (s 0.5, zp 10) → DEQUANTIZE → MUL by 3 → QUANTIZE to int8 (s 0.25, zp -3). */
static const float THREE = 3.f;
static t_model quant_model(void) {
  t_model m = {.version = 3, .ncodes = 3, .codes = {6 /* DEQUANTIZE */, 18 /* MUL */, 114 /* QUANTIZE */},
               .ntensors = 5, .nops = 3, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"q_in", TD_TFL_UINT8, 1, {2}, NULL, 0, 0.5f, 10};
  m.t[1] = (t_tensor){"f_in", TD_TFL_FLOAT32, 1, {2}, NULL, 0, 0, 0};
  m.t[2] = (t_tensor){"three", TD_TFL_FLOAT32, 0, {0}, &THREE, 4, 0, 0};
  m.t[3] = (t_tensor){"f_out", TD_TFL_FLOAT32, 1, {2}, NULL, 0, 0, 0};
  m.t[4] = (t_tensor){"q_out", TD_TFL_INT8, 1, {2}, NULL, 0, 0.25f, -3};
  m.ops[0] = (t_op){.opcode = 0, .nin = 1, .nout = 1, .in = {0}, .out = {1}};
  m.ops[1] = (t_op){.opcode = 1, .nin = 2, .nout = 1, .in = {1, 2}, .out = {3}, .opt_type = 21, .nopt = 1, .opt = {{0, 1, 0}}};
  m.ops[2] = (t_op){.opcode = 2, .nin = 1, .nout = 1, .in = {3}, .out = {4}};
  m.in[0] = 0;
  m.out[0] = 4;
  return m;
}

/* ======================= helpers ======================= */

/* ======================= tests ======================= */

static void test_reader_fields(void **state) {
  (void)state;
  t_model tm = add_relu_model();
  size_t len;
  uint8_t *bytes = build_model(&tm, &len);
  td_tfl_model *m;
  td_status st = {0};
  assert_int_equal(td_tfl_model_parse(bytes, len, "built", &m, &st), TD_OK);
  assert_int_equal(m->version, 3);
  assert_string_equal(m->description, "built by test_tflite_reader");
  assert_int_equal(m->nsub, 1);
  const td_tfl_subgraph *sg = &m->subs[0];
  assert_string_equal(sg->name, "main");
  assert_int_equal(sg->ntensors, 3);
  assert_string_equal(sg->tensors[1].name, "w");
  assert_int_equal(sg->tensors[1].rank, 1);
  assert_int_equal(sg->tensors[1].dims[0], 2);
  assert_int_equal(sg->tensors[1].nbytes, 8);
  float w[2];
  memcpy(w, sg->tensors[1].data, 8);
  assert_true(w[0] == 1.f && w[1] == 2.f);
  assert_null(sg->tensors[0].data);
  assert_int_equal(sg->nops, 1);
  assert_int_equal(sg->ops[0].builtin, 0);
  assert_int_equal(sg->ops[0].options_type, 11);
  assert_int_equal(td_fb_i8(&m->fb, &sg->ops[0].options, 0, 0), 1);
  assert_true(td_fb_ok(&m->fb));
  td_tfl_model_free(m);

  t_model qm = quant_model();
  free(bytes);
  bytes = build_model(&qm, &len);
  assert_int_equal(td_tfl_model_parse(bytes, len, "built", &m, &st), TD_OK);
  assert_int_equal(m->subs[0].tensors[0].q.n, 1);
  assert_true(m->subs[0].tensors[0].q.scale[0] == 0.5f);
  assert_int_equal(m->subs[0].tensors[4].q.zero_point[0], -3);
  assert_int_equal(m->subs[0].ops[2].builtin, 114);
  assert_string_equal(td_tfl_builtin_name(114), "QUANTIZE");
  td_tfl_model_free(m);
  free(bytes);
}

static void test_run_add_relu(void **state) {
  (void)state;
  t_model tm = add_relu_model();
  size_t len;
  uint8_t *bytes = build_model(&tm, &len);
  td_model *m;
  td_status st = {0};
  assert_int_equal(tb_load_model(bytes, len, &m, &st), TD_OK);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  assert_non_null(sig);
  assert_string_equal(sig->method_name, "tensorflow/serving/predict");
  assert_int_equal(sig->num_inputs, 1);
  assert_string_equal(sig->inputs[0].alias, "x");
  assert_string_equal(sig->outputs[0].alias, "y"); /* ":0" dropped from the key */
  assert_string_equal(sig->outputs[0].tensor_name, "y:0"); /* TFLite's name; node "y" output 0 */
  float xv[3] = {-5.f, 1.f, 100.f};
  td_shape s = td_shape_vector(2);
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, xv);
  td_tensor out = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_FLOAT);
  assert_true(td_f32(&out)[0] == 0.f && td_f32(&out)[1] == 3.f); /* relu(-5+1), relu(1+2) */
  td_tensor_release(&out);
  td_model_free(m);
  free(bytes);
}

static void test_run_quantized(void **state) {
  (void)state;
  t_model qm = quant_model();
  size_t len;
  uint8_t *bytes = build_model(&qm, &len);
  td_model *m;
  td_status st = {0};
  assert_int_equal(tb_load_model(bytes, len, &m, &st), TD_OK);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  assert_non_null(sig);
  assert_int_equal(sig->inputs[0].dtype, TD_DT_UINT8);
  assert_int_equal(sig->outputs[0].dtype, TD_DT_INT8);
  /* q 14 → 0.5·(14-10) = 2 → ·3 = 6 → 6/0.25 - 3 = 21; q 6 → -2 → -6 → -27; q 255 → 122.5 →
   * 367.5 → 1467 clamps to 127; q 0 → -5 → -15 → -63 */
  uint8_t xv[4] = {14, 6, 255, 0};
  td_shape s = td_shape_vector(4);
  td_tensor in = td_tensor_borrow(TD_DT_UINT8, &s, xv);
  td_tensor out = {0};
  assert_int_equal(td_model_run(m, sig, &in, &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_INT8);
  const int8_t *q = out.data;
  assert_int_equal(q[0], 21);
  assert_int_equal(q[1], -27);
  assert_int_equal(q[2], 127);
  assert_int_equal(q[3], -63);
  td_tensor_release(&out);
  td_model_free(m);
  free(bytes);
}

static void test_unsupported_ops_listed(void **state) {
  (void)state;
  t_model tm = add_relu_model();
  tm.ncodes = 3;
  tm.codes[0] = 16;  /* LSTM */
  tm.codes[1] = 27;  /* SVDF */
  tm.codes[2] = 0;
  tm.nops = 3;
  tm.ops[1] = tm.ops[0];
  tm.ops[1].opcode = 1;
  tm.ops[2] = tm.ops[0];
  tm.ops[2].opcode = 2;
  tm.ops[0].opt_type = 0;
  tm.ops[1].opt_type = 0;
  size_t len;
  uint8_t *bytes = build_model(&tm, &len);
  Tensorflow__SavedModel *sm = NULL;
  td_status st = {0};
  assert_int_equal(td_tflite_saved_model_from_bytes(bytes, len, "m", NULL, 0, &sm, &st), TD_UNIMPLEMENTED);
  assert_non_null(strstr(st.msg, "LSTM, SVDF"));
  assert_null(sm);
  free(bytes);
}

static void test_bad_version_and_indices(void **state) {
  (void)state;
  t_model tm = add_relu_model();
  tm.version = 2;
  size_t len;
  uint8_t *bytes = build_model(&tm, &len);
  td_tfl_model *m = NULL;
  td_status st = {0};
  assert_int_equal(td_tfl_model_parse(bytes, len, "m", &m, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "should be '3'"));
  free(bytes);
  tm = add_relu_model();
  tm.ops[0].in[1] = 7; /* no such tensor */
  bytes = build_model(&tm, &len);
  assert_int_equal(td_tfl_model_parse(bytes, len, "m", &m, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "tensor 7"));
  free(bytes);
  tm = add_relu_model();
  tm.ops[0].opcode = 5; /* no such opcode */
  bytes = build_model(&tm, &len);
  assert_int_equal(td_tfl_model_parse(bytes, len, "m", &m, &st), TD_INVALID_ARGUMENT);
  free(bytes);
  tm = add_relu_model();
  tm.t[1].nbytes = 4; /* shape [2] needs 8 bytes */
  bytes = build_model(&tm, &len);
  assert_int_equal(td_tfl_model_parse(bytes, len, "m", &m, &st), TD_INVALID_ARGUMENT);
  free(bytes);
}

static void test_flexbuffer_map(void **state) {
  (void)state;
  /* {"num_sparse": 7}: key, keys vector, map prefix (keys offset, keys width, size), value,
   * type byte, root slot, root type (MAP, width 1), root width */
  uint8_t fx[21] = {'n', 'u', 'm', '_', 's', 'p', 'a', 'r', 's', 'e', 0, 1, 12, 1, 1, 1, 7, 4, 2, 36, 1};
  td_flex root = td_flex_root(fx, sizeof fx);
  assert_false(root.bad);
  assert_int_equal(root.type, TD_FLEX_MAP);
  assert_int_equal(td_flex_map_size(&root), 1);
  assert_string_equal(td_flex_map_key(&root, 0), "num_sparse");
  td_flex v = td_flex_map_get(&root, "num_sparse");
  assert_int_equal(td_flex_int(&v, -1), 7);
  v = td_flex_map_get(&root, "other");
  assert_true(v.bad);
  assert_int_equal(td_flex_int(&v, -1), -1);
  /* every truncation and every corrupted byte: no crash, no out-of-bounds read */
  for (size_t n = 0; n < sizeof fx; n++) {
    td_flex r = td_flex_root(fx, n);
    td_flex g = td_flex_map_get(&r, "num_sparse");
    (void)td_flex_int(&g, 0);
  }
  for (size_t i = 0; i < sizeof fx; i++)
    for (int val = 0; val < 256; val += 17) {
      uint8_t c[21];
      memcpy(c, fx, sizeof c);
      c[i] = (uint8_t)val;
      td_flex r = td_flex_root(c, sizeof c);
      for (uint32_t k = 0; k < td_flex_map_size(&r) && k < 4; k++) {
        (void)td_flex_map_key(&r, k);
        td_flex e = td_flex_map_value(&r, k);
        size_t l;
        (void)td_flex_bytes(&e, &l);
        (void)td_flex_int(&e, 0);
      }
    }
}

/* Converting every prefix must fail without crashing, unless the cut drops only trailing padding
 * (zero bytes after the last string's NUL): then the model is intact. Flipped bytes must give an
 * error or a model, never a crash. Returns how many prefixes converted. */
static int hammer(const uint8_t *bytes, size_t len) {
  int ok = 0;
  size_t pad = 0;
  while (pad < len && bytes[len - 1 - pad] == 0) pad++;
  for (size_t n = 0; n < len; n++) {
    Tensorflow__SavedModel *sm = NULL;
    td_status st = {0};
    if (td_tflite_saved_model_from_bytes(bytes, n, "trunc", NULL, 0, &sm, &st) == TD_OK) {
      ok++;
      assert_true(pad >= 2 && n >= len - pad + 1); /* only padding after the NUL was cut */
      td_savedmodel_free(sm);
    } else {
      assert_true(st.msg[0] != 0);
    }
  }
  uint8_t *c = td_xmalloc(len);
  for (size_t i = 0; i < len; i++)
    for (int k = 0; k < 3; k++) {
      static const uint8_t vals[3] = {0x00, 0xff, 0x80};
      memcpy(c, bytes, len);
      c[i] = (uint8_t)(c[i] ^ vals[k]) == c[i] ? (uint8_t)(c[i] + 1) : vals[k];
      Tensorflow__SavedModel *sm = NULL;
      td_status st = {0};
      if (td_tflite_saved_model_from_bytes(c, len, "flip", NULL, 0, &sm, &st) == TD_OK) td_savedmodel_free(sm);
    }
  free(c);
  return ok;
}

static void test_hostile_built(void **state) {
  (void)state;
  t_model tm = quant_model();
  size_t len;
  uint8_t *bytes = build_model(&tm, &len);
  int ok = hammer(bytes, len);
  assert_int_equal(ok, 0); /* the builder writes the last-referenced object at the very end */
  free(bytes);
}

static const char *const FIXTURE_DIRS[] = {"saved_model_half_plus_two_tflite", "saved_model_half_plus_two_tflite_with_sigdef",
                                           "parse_example_tflite"};

static void test_fixtures(void **state) {
  (void)state;
  for (size_t i = 0; i < 3; i++) {
    char *path = td_xasprintf("%s/tfserving_testdata/%s/00000123/model.tflite", TD_FIXTURES, FIXTURE_DIRS[i]);
    if (!td_is_file(path)) {
      free(path);
      skip();
    }
    td_tfl_model *m;
    td_status st = {0};
    assert_int_equal(td_tfl_model_read(path, &m, &st), TD_OK);
    assert_int_equal(m->version, 3);
    const td_tfl_subgraph *sg = &m->subs[0];
    if (i < 2) {
      assert_int_equal(sg->nops, 2);
      assert_int_equal(sg->ntensors, 5);
      assert_string_equal(sg->tensors[sg->out[0]].name, "y");
      int has_sig = td_tfl_model_metadata(m, "signature_defs_metadata") != NULL;
      assert_int_equal(has_sig, i == 1);
    } else {
      assert_int_equal(sg->ops[0].builtin, 32);
      assert_string_equal(sg->ops[0].custom_code, "ParseExampleV2");
      assert_int_equal(sg->ops[0].custom_options_len, 21);
      td_flex r = td_flex_root(sg->ops[0].custom_options, sg->ops[0].custom_options_len);
      td_flex v = td_flex_map_get(&r, "num_sparse");
      assert_int_equal(td_flex_int(&v, -1), 0);
      assert_int_equal(sg->tensors[0].type, TD_TFL_STRING);
      assert_int_equal(sg->tensors[0].sig_dims[0], -1);
    }
    td_tfl_model_free(m);
    char *data;
    size_t len;
    assert_int_equal(td_read_file(path, &data, &len, &st), TD_OK);
    int ok = hammer((const uint8_t *)data, len);
    printf("# %s: %zu bytes, %d truncations still parse\n", FIXTURE_DIRS[i], len, ok);
    free(data);
    free(path);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reader_fields),
      cmocka_unit_test(test_run_add_relu),
      cmocka_unit_test(test_run_quantized),
      cmocka_unit_test(test_unsupported_ops_listed),
      cmocka_unit_test(test_bad_version_and_indices),
      cmocka_unit_test(test_flexbuffer_map),
      cmocka_unit_test(test_hostile_built),
      cmocka_unit_test(test_fixtures),
  };
  return cmocka_run_group_tests(tests, tb_setup_tmp, tb_teardown_tmp);
}
