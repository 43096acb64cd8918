/* test_tflite_ops.c — TFLite builtins translated onto the engine's kernels, each in a model
 * built with tflite_builder.h and run through td_model_load(prefer_tflite_model): CONV_2D
 * (OHWI filter, bias, VALID), DEPTHWISE_CONV_2D (depth multiplier 2), FULLY_CONNECTED with a
 * fused RELU, MAX/AVERAGE_POOL_2D (SAME window clipping), per-channel int8 CONV_2D, SOFTMAX,
 * TRANSPOSE + GATHER, STRIDED_SLICE, PACK, MEAN. Expected values are worked out by hand in the
 * comments. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/model.h"
#include "tflite/tflite_model.h"
#include "tflite_builder.h"
#include "tflite_test_util.h"
#include "util/mem.h"

static uint64_t fbits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Builds, loads and runs tm on one input; returns the single output (owned). */
static td_tensor run1(const t_model *tm, td_dtype in_dt, int rank, const int64_t *dims, const void *data) {
  size_t len;
  uint8_t *bytes = build_model(tm, &len);
  td_model *m = NULL;
  td_status st = {0};
  td_code code = tb_load_model(bytes, len, &m, &st);
  if (code != TD_OK) fprintf(stderr, "load: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  const td_signature *sig = td_model_find_signature(m, "serving_default");
  assert_non_null(sig);
  td_shape s = td_shape_make(rank, dims);
  td_tensor in = td_tensor_borrow(in_dt, &s, (void *)data);
  td_tensor out = {0};
  code = td_model_run(m, sig, &in, &out, &st);
  if (code != TD_OK) fprintf(stderr, "run: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  td_model_free(m);
  free(bytes);
  return out;
}

static void expect_f32(const td_tensor *t, const float *want, int n) {
  assert_int_equal(t->dtype, TD_DT_FLOAT);
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int i = 0; i < n; i++) {
    if (fabsf(td_f32(t)[i] - want[i]) > 1e-5f) fprintf(stderr, "element %d: got %g want %g\n", i, td_f32(t)[i], want[i]);
    assert_true(fabsf(td_f32(t)[i] - want[i]) <= 1e-5f);
  }
}

static const float IMG9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void test_conv2d(void **state) {
  (void)state;
  /* x [1,3,3,1] = 1..9; filter OHWI [2,2,2,1]: ch0 all ones, ch1 [1,0,0,-1]; bias [0.5, 0];
   * VALID stride 1 → ch0 = window sums + 0.5 = 12.5 16.5 24.5 28.5, ch1 = tl - br = -4 */
  static const float W[8] = {1, 1, 1, 1, 1, 0, 0, -1};
  static const float B[2] = {0.5f, 0};
  t_model m = {.version = 3, .ncodes = 1, .codes = {3}, .ntensors = 4, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 4, {1, 3, 3, 1}};
  m.t[1] = (t_tensor){"w", TD_TFL_FLOAT32, 4, {2, 2, 2, 1}, W, sizeof W};
  m.t[2] = (t_tensor){"b", TD_TFL_FLOAT32, 1, {2}, B, sizeof B};
  m.t[3] = (t_tensor){"y", TD_TFL_FLOAT32, 4, {1, 2, 2, 2}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 3, .nout = 1, .in = {0, 1, 2}, .out = {3}, .opt_type = 1, .nopt = 4,
                    .opt = {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 1, 0}}};
  m.out[0] = 3;
  int64_t d[4] = {1, 3, 3, 1};
  td_tensor y = run1(&m, TD_DT_FLOAT, 4, d, IMG9);
  static const float want[8] = {12.5f, -4, 16.5f, -4, 24.5f, -4, 28.5f, -4};
  expect_f32(&y, want, 8);
  assert_int_equal(y.shape.rank, 4);
  assert_int_equal(y.shape.dim[1], 2);
  assert_int_equal(y.shape.dim[3], 2);
  td_tensor_release(&y);
}

static void test_depthwise(void **state) {
  (void)state;
  /* x [1,2,2,2]: ch0 1 2 3 4, ch1 10 20 30 40 (NHWC interleaved); filter [1,2,2,4], oc = ic·2+m:
   * oc0 = 1s, oc1 = 2s, oc2 = 0.5s, oc3 = 1 at (0,0) only → [10, 20, 50, 10] */
  static const float X[8] = {1, 10, 2, 20, 3, 30, 4, 40};
  static const float W[16] = {1, 2, 0.5f, 1, 1, 2, 0.5f, 0, 1, 2, 0.5f, 0, 1, 2, 0.5f, 0};
  t_model m = {.version = 3, .ncodes = 1, .codes = {4}, .ntensors = 3, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 4, {1, 2, 2, 2}};
  m.t[1] = (t_tensor){"w", TD_TFL_FLOAT32, 4, {1, 2, 2, 4}, W, sizeof W};
  m.t[2] = (t_tensor){"y", TD_TFL_FLOAT32, 4, {1, 1, 1, 4}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 3, .nout = 1, .in = {0, 1, -1}, .out = {2}, .opt_type = 2, .nopt = 5,
                    .opt = {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 4, 2}, {4, 1, 0}}};
  m.out[0] = 2;
  int64_t d[4] = {1, 2, 2, 2};
  td_tensor y = run1(&m, TD_DT_FLOAT, 4, d, X);
  static const float want[4] = {10, 20, 50, 10};
  expect_f32(&y, want, 4);
  td_tensor_release(&y);
}

static void test_fully_connected_relu(void **state) {
  (void)state;
  /* x [[1,2,3],[4,5,6]], W [[1,0,-1],[.5,.5,.5]], b [1,-1] → [[-1,2],[-1,6.5]] → RELU */
  static const float X[6] = {1, 2, 3, 4, 5, 6};
  static const float W[6] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
  static const float B[2] = {1, -1};
  t_model m = {.version = 3, .ncodes = 1, .codes = {9}, .ntensors = 4, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 2, {2, 3}};
  m.t[1] = (t_tensor){"w", TD_TFL_FLOAT32, 2, {2, 3}, W, sizeof W};
  m.t[2] = (t_tensor){"b", TD_TFL_FLOAT32, 1, {2}, B, sizeof B};
  m.t[3] = (t_tensor){"y", TD_TFL_FLOAT32, 2, {2, 2}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 3, .nout = 1, .in = {0, 1, 2}, .out = {3}, .opt_type = 8, .nopt = 1,
                    .opt = {{0, 1, 1}}};
  m.out[0] = 3;
  int64_t d[2] = {2, 3};
  td_tensor y = run1(&m, TD_DT_FLOAT, 2, d, X);
  static const float want[4] = {0, 2, 0, 6.5f};
  expect_f32(&y, want, 4);
  td_tensor_release(&y);
}

static void test_pools(void **state) {
  (void)state;
  /* MAX 2x2 stride 1 VALID on 1..9 → 5 6 8 9; AVERAGE 2x2 stride 2 SAME → windows clipped to
   * the image: (1,2,4,5)=3, (3,6)=4.5, (7,8)=7.5, (9)=9; output = max + avg via ADD */
  t_model m = {.version = 3, .ncodes = 2, .codes = {17, 1}, .ntensors = 2, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 4, {1, 3, 3, 1}};
  m.t[1] = (t_tensor){"y", TD_TFL_FLOAT32, 4, {1, 2, 2, 1}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 1, .nout = 1, .in = {0}, .out = {1}, .opt_type = 5, .nopt = 6,
                    .opt = {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 4, 2}, {4, 4, 2}, {5, 1, 0}}};
  m.out[0] = 1;
  int64_t d[4] = {1, 3, 3, 1};
  td_tensor y = run1(&m, TD_DT_FLOAT, 4, d, IMG9);
  static const float want_max[4] = {5, 6, 8, 9};
  expect_f32(&y, want_max, 4);
  td_tensor_release(&y);
  m.ops[0].opcode = 1;
  m.ops[0].opt[0].v = 0; /* SAME */
  m.ops[0].opt[1].v = 2;
  m.ops[0].opt[2].v = 2;
  y = run1(&m, TD_DT_FLOAT, 4, d, IMG9);
  static const float want_avg[4] = {3, 4.5f, 7.5f, 9};
  expect_f32(&y, want_avg, 4);
  td_tensor_release(&y);
}

static void test_quantized_per_channel_conv(void **state) {
  (void)state;
  /* x int8 [1,1,1,2] s .5 zp 0: q [2,4] → [1,2]; filter int8 [2,1,1,2] per-channel (axis 0)
   * s [.1,.2]: oc0 q [10,10] → [1,1], oc1 q [5,-5] → [1,-1]; bias int32 s [.05,.1] q [20,10] →
   * [1,1]; out int8 s .25 zp 1: oc0 = 1+2+1 = 4 → 17, oc1 = 1-2+1 = 0 → 1 */
  static const int8_t W[4] = {10, 10, 5, -5};
  static const int32_t B[2] = {20, 10};
  t_model m = {.version = 3, .ncodes = 1, .codes = {3}, .ntensors = 4, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_INT8, 4, {1, 1, 1, 2}, NULL, 0, 0.5f, 0};
  m.t[1] = (t_tensor){"w", TD_TFL_INT8, 4, {2, 1, 1, 2}, W, sizeof W, 0, 0, 2, {0.1f, 0.2f}, {0, 0}, 0};
  m.t[2] = (t_tensor){"b", TD_TFL_INT32, 1, {2}, B, sizeof B, 0, 0, 2, {0.05f, 0.1f}, {0, 0}, 0};
  m.t[3] = (t_tensor){"y", TD_TFL_INT8, 4, {1, 1, 1, 2}, NULL, 0, 0.25f, 1};
  m.ops[0] = (t_op){.opcode = 0, .nin = 3, .nout = 1, .in = {0, 1, 2}, .out = {3}, .opt_type = 1, .nopt = 4,
                    .opt = {{0, 1, 1}, {1, 4, 1}, {2, 4, 1}, {3, 1, 0}}};
  m.out[0] = 3;
  int64_t d[4] = {1, 1, 1, 2};
  static const int8_t X[2] = {2, 4};
  td_tensor y = run1(&m, TD_DT_INT8, 4, d, X);
  assert_int_equal(y.dtype, TD_DT_INT8);
  assert_int_equal(((int8_t *)y.data)[0], 17);
  assert_int_equal(((int8_t *)y.data)[1], 1);
  td_tensor_release(&y);
}

static void test_softmax_beta(void **state) {
  (void)state;
  /* beta 2 on [0, ln(3)/2] → softmax([0, ln 3]) = [.25, .75] */
  t_model m = {.version = 3, .ncodes = 1, .codes = {25}, .ntensors = 2, .nops = 1, .nin = 1, .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 2, {1, 2}};
  m.t[1] = (t_tensor){"y", TD_TFL_FLOAT32, 2, {1, 2}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 1, .nout = 1, .in = {0}, .out = {1}, .opt_type = 9, .nopt = 1,
                    .opt = {{0, 4, fbits(2.f)}}};
  m.out[0] = 1;
  int64_t d[2] = {1, 2};
  float X[2] = {0, logf(3.f) / 2};
  td_tensor y = run1(&m, TD_DT_FLOAT, 2, d, X);
  static const float want[2] = {0.25f, 0.75f};
  expect_f32(&y, want, 2);
  td_tensor_release(&y);
}

static void test_transpose_gather_slice_pack_mean(void **state) {
  (void)state;
  /* x [2,3] = [[1,2,3],[4,5,6]] → TRANSPOSE [1,0] → [[1,4],[2,5],[3,6]] → GATHER idx [2,0] →
   * [[3,6],[1,4]] → STRIDED_SLICE begin [0,1] end [2,2] → [[6],[4]] → PACK (axis 0, with
   * itself) → [2,2,1] → MEAN axes [0,1] keep_dims → [[[5]]] */
  static const int32_t PERM[2] = {1, 0}, IDX[2] = {2, 0}, BEG[2] = {0, 1}, END[2] = {2, 2}, STR[2] = {1, 1},
                       AX[2] = {0, 1};
  t_model m = {.version = 3, .ncodes = 5, .codes = {39, 36, 45, 83, 40}, .ntensors = 12, .nops = 5, .nin = 1,
               .nout = 1};
  m.t[0] = (t_tensor){"x", TD_TFL_FLOAT32, 2, {2, 3}};
  m.t[1] = (t_tensor){"perm", TD_TFL_INT32, 1, {2}, PERM, sizeof PERM};
  m.t[2] = (t_tensor){"xt", TD_TFL_FLOAT32, 2, {3, 2}};
  m.t[3] = (t_tensor){"idx", TD_TFL_INT32, 1, {2}, IDX, sizeof IDX};
  m.t[4] = (t_tensor){"g", TD_TFL_FLOAT32, 2, {2, 2}};
  m.t[5] = (t_tensor){"begin", TD_TFL_INT32, 1, {2}, BEG, sizeof BEG};
  m.t[6] = (t_tensor){"end", TD_TFL_INT32, 1, {2}, END, sizeof END};
  m.t[7] = (t_tensor){"strides", TD_TFL_INT32, 1, {2}, STR, sizeof STR};
  m.t[8] = (t_tensor){"s", TD_TFL_FLOAT32, 2, {2, 1}};
  m.t[9] = (t_tensor){"p", TD_TFL_FLOAT32, 3, {2, 2, 1}};
  m.t[10] = (t_tensor){"axes", TD_TFL_INT32, 1, {2}, AX, sizeof AX};
  m.t[11] = (t_tensor){"y", TD_TFL_FLOAT32, 3, {1, 1, 1}};
  m.ops[0] = (t_op){.opcode = 0, .nin = 2, .nout = 1, .in = {0, 1}, .out = {2}};
  m.ops[1] = (t_op){.opcode = 1, .nin = 2, .nout = 1, .in = {2, 3}, .out = {4}, .opt_type = 23, .nopt = 1, .opt = {{0, 4, 0}}};
  m.ops[2] = (t_op){.opcode = 2, .nin = 4, .nout = 1, .in = {4, 5, 6, 7}, .out = {8}, .opt_type = 32, .nopt = 1,
                    .opt = {{0, 4, 0}}};
  m.ops[3] = (t_op){.opcode = 3, .nin = 2, .nout = 1, .in = {8, 8}, .out = {9}, .opt_type = 59, .nopt = 2,
                    .opt = {{0, 4, 2}, {1, 4, 0}}};
  m.ops[4] = (t_op){.opcode = 4, .nin = 2, .nout = 1, .in = {9, 10}, .out = {11}, .opt_type = 27, .nopt = 1,
                    .opt = {{0, 1, 1}}};
  m.out[0] = 11;
  int64_t d[2] = {2, 3};
  static const float X[6] = {1, 2, 3, 4, 5, 6};
  td_tensor y = run1(&m, TD_DT_FLOAT, 2, d, X);
  static const float want[1] = {5};
  expect_f32(&y, want, 1);
  assert_int_equal(y.shape.rank, 3);
  td_tensor_release(&y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv2d),
      cmocka_unit_test(test_depthwise),
      cmocka_unit_test(test_fully_connected_relu),
      cmocka_unit_test(test_pools),
      cmocka_unit_test(test_quantized_per_channel_conv),
      cmocka_unit_test(test_softmax_beta),
      cmocka_unit_test(test_transpose_gather_slice_pack_mean),
  };
  return cmocka_run_group_tests(tests, tb_setup_tmp, tb_teardown_tmp);
}
