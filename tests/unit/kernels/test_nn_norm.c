/* test_nn_norm.c — FusedBatchNorm / V2 / V3 against naive loops: inference and training,
 * NHWC / NCHW / NDHWC, every output (batch stats, reserve spaces), exponential averaging,
 * half-precision x, and TF's shape errors; LRN against its formula. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/nn_test_util.h"

typedef struct bn_case {
  const char *op;
  int rank;
  int64_t dims[5];
  int channels_first, training;
  float eps, factor;
} bn_case;

static int64_t case_channels(const bn_case *k) {
  return k->dims[k->channels_first ? 1 : k->rank - 1];
}

static const char *case_format(const bn_case *k) {
  if (k->rank == 5) return k->channels_first ? "NCDHW" : "NDHWC";
  return k->channels_first ? "NCHW" : "NHWC";
}

/* Channel of flat element i. */
static int64_t channel_of(const bn_case *k, int64_t i) {
  int64_t inner = 1;
  int cdim = k->channels_first ? 1 : k->rank - 1;
  for (int d = cdim + 1; d < k->rank; d++) inner *= k->dims[d];
  return (i / inner) % k->dims[cdim];
}

static Tensorflow__NodeDef *bn_node(const bn_case *k, td_dtype t) {
  Tensorflow__NodeDef *nd = td_test_node_new(k->op);
  td_test_attr_type(nd, "T", t);
  if (strcmp(k->op, "FusedBatchNorm") != 0) td_test_attr_type(nd, "U", TD_DT_FLOAT);
  td_test_attr_float(nd, "epsilon", k->eps);
  td_test_attr_str(nd, "data_format", case_format(k));
  td_test_attr_bool(nd, "is_training", k->training);
  if (k->factor != 1.0f) td_test_attr_float(nd, "exponential_avg_factor", k->factor);
  return nd;
}

static void check_case(const bn_case *k) {
  int64_t ch = case_channels(k);
  int nout = strcmp(k->op, "FusedBatchNormV3") == 0 ? 6 : 5;
  td_tensor in[5], out[6] = {{0}};
  in[0] = nn_random_tensor(k->rank, k->dims);
  for (int i = 1; i < 5; i++) in[i] = nn_random_tensor(1, &ch);
  for (int64_t c = 0; c < ch; c++) td_f32(&in[4])[c] = fabsf(td_f32(&in[4])[c]) + 0.1f;
  const float *x = td_f32(&in[0]), *scale = td_f32(&in[1]), *offset = td_f32(&in[2]);
  const float *mean_in = td_f32(&in[3]), *var_in = td_f32(&in[4]);
  int64_t total = td_tensor_num_elements(&in[0]), count = ch ? total / ch : 0;

  double mean[16] = {0}, var[16] = {0};
  if (k->training) {
    for (int64_t i = 0; i < total; i++) mean[channel_of(k, i)] += x[i];
    for (int64_t c = 0; c < ch; c++) mean[c] /= (double)count;
    for (int64_t i = 0; i < total; i++) {
      double d = x[i] - mean[channel_of(k, i)];
      var[channel_of(k, i)] += d * d;
    }
    for (int64_t c = 0; c < ch; c++) var[c] /= (double)count;
  } else {
    for (int64_t c = 0; c < ch; c++) mean[c] = mean_in[c], var[c] = var_in[c];
  }
  td_tensor want = td_test_tensor(TD_DT_FLOAT, k->rank, k->dims, NULL);
  for (int64_t i = 0; i < total; i++) {
    int64_t c = channel_of(k, i);
    td_f32(&want)[i] = (float)((x[i] - mean[c]) / sqrt(var[c] + k->eps) * scale[c] + offset[c]);
  }

  Tensorflow__NodeDef *nd = bn_node(k, TD_DT_FLOAT);
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, 5, out, nout, &st);
  if (code != TD_OK) fprintf(stderr, "unexpected failure: %s\n", st.msg);
  assert_int_equal(code, TD_OK);
  assert_true(td_shape_equal(&out[0].shape, &want.shape));
  assert_true(nn_close(td_f32(&out[0]), td_f32(&want), total, 1e-5f));
  float bm[16], bv[16], r1[16], r2[16];
  for (int64_t c = 0; c < ch; c++) {
    double unbiased = k->training ? var[c] * count / (count > 1 ? count - 1 : 1) : var[c];
    double f = k->training ? k->factor : 1.0;
    bm[c] = (float)((1 - f) * mean_in[c] + f * mean[c]);
    bv[c] = (float)((1 - f) * var_in[c] + f * unbiased);
    r1[c] = (float)mean[c];
    r2[c] = (float)var[c];
  }
  assert_true(nn_close(td_f32(&out[1]), bm, ch, 1e-5f));
  assert_true(nn_close(td_f32(&out[2]), bv, ch, 1e-5f));
  assert_true(nn_close(td_f32(&out[3]), r1, ch, 1e-5f));
  assert_true(nn_close(td_f32(&out[4]), r2, ch, 1e-5f));
  if (nout == 6) assert_int_equal(out[5].dtype, TD_DT_FLOAT);
  td_test_node_free(nd);
  for (int i = 0; i < 5; i++) td_tensor_release(&in[i]);
  for (int i = 0; i < nout; i++) td_tensor_release(&out[i]);
  td_tensor_release(&want);
}

static void test_bn_inference(void **state) {
  static const char *ops[] = {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"};
  for (int op = 0; op < 3; op++)
    for (int cf = 0; cf <= 1; cf++) {
      bn_case k = {.op = ops[op], .rank = 4, .dims = {2, 5, 3, 8}, .channels_first = cf,
                   .eps = 0.001f, .factor = 1.0f};
      if (cf) k.dims[1] = 3, k.dims[3] = 8;
      check_case(&k);
    }
  bn_case five = {.op = "FusedBatchNormV3", .rank = 5, .dims = {2, 3, 2, 4, 3},
                  .eps = 0.0001f, .factor = 1.0f};
  check_case(&five);
  bn_case one = {.op = "FusedBatchNormV3", .rank = 4, .dims = {1, 1, 1, 1}, .eps = 0.5f,
                 .factor = 1.0f};
  check_case(&one);
}

static void test_bn_training(void **state) {
  bn_case a = {.op = "FusedBatchNormV3", .rank = 4, .dims = {3, 4, 5, 3}, .training = 1,
               .eps = 0.001f, .factor = 1.0f};
  bn_case b = {.op = "FusedBatchNormV3", .rank = 4, .dims = {2, 8, 3, 3}, .channels_first = 1,
               .training = 1, .eps = 0.01f, .factor = 0.25f};
  bn_case c = {.op = "FusedBatchNorm", .rank = 4, .dims = {1, 1, 1, 4}, .training = 1,
               .eps = 0.001f, .factor = 1.0f}; /* count 1: unbiased variance divides by 1 */
  check_case(&a);
  check_case(&b);
  check_case(&c);
}

static void test_bn_half(void **state) {
  /* V3 with T=half, U=float in inference mode. */
  int64_t dims[4] = {1, 2, 2, 2}, two = 2;
  uint16_t xh[8];
  float xf[8];
  for (int i = 0; i < 8; i++) {
    xh[i] = td_float_to_half((float)i * 0.5f - 1.0f);
    xf[i] = td_half_to_float(xh[i]);
  }
  float scale[2] = {2, 0.5f}, offset[2] = {1, -1}, mean[2] = {0.25f, -0.5f}, var[2] = {1, 4};
  td_tensor in[5] = {td_test_tensor(TD_DT_HALF, 4, dims, xh),
                     td_test_tensor(TD_DT_FLOAT, 1, &two, scale),
                     td_test_tensor(TD_DT_FLOAT, 1, &two, offset),
                     td_test_tensor(TD_DT_FLOAT, 1, &two, mean),
                     td_test_tensor(TD_DT_FLOAT, 1, &two, var)};
  bn_case k = {.op = "FusedBatchNormV3", .rank = 4, .eps = 0.0f, .factor = 1.0f};
  Tensorflow__NodeDef *nd = bn_node(&k, TD_DT_HALF);
  td_tensor out[6] = {{0}};
  td_status st = {0};
  assert_int_equal(td_test_run_op(nd, in, 5, out, 6, &st), TD_OK);
  assert_int_equal(out[0].dtype, TD_DT_HALF);
  for (int i = 0; i < 8; i++) {
    int c = i % 2;
    float want = (xf[i] - mean[c]) / sqrtf(var[c]) * scale[c] + offset[c];
    float got = td_half_to_float(((uint16_t *)out[0].data)[i]);
    assert_true(fabsf(got - want) <= 2e-3f * (1 + fabsf(want)));
  }
  td_test_node_free(nd);
  for (int i = 0; i < 5; i++) td_tensor_release(&in[i]);
  for (int i = 0; i < 6; i++) td_tensor_release(&out[i]);
}

static void expect_error(const int64_t *xdims, int xrank, const int64_t *sdims, int srank,
                         const char *needle) {
  bn_case k = {.op = "FusedBatchNormV3", .rank = 4, .eps = 0.001f, .factor = 1.0f};
  Tensorflow__NodeDef *nd = bn_node(&k, TD_DT_FLOAT);
  int64_t four = 4;
  td_tensor in[5] = {nn_random_tensor(xrank, xdims), nn_random_tensor(srank, sdims),
                     nn_random_tensor(1, &four), nn_random_tensor(1, &four),
                     nn_random_tensor(1, &four)};
  td_tensor out[6] = {{0}};
  td_status st = {0};
  td_code code = td_test_run_op(nd, in, 5, out, 6, &st);
  if (code == TD_OK || !strstr(st.msg, needle))
    fprintf(stderr, "expected error containing '%s', got %d '%s'\n", needle, code, st.msg);
  assert_int_equal(code, TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, needle));
  td_test_node_free(nd);
  for (int i = 0; i < 5; i++) td_tensor_release(&in[i]);
}

static void test_bn_errors(void **state) {
  int64_t x4[4] = {1, 2, 2, 4}, x3[3] = {2, 2, 4}, s4 = 4, s3 = 3, s22[2] = {2, 2};
  expect_error(x3, 3, &s4, 1, "input must be 4 or 5-dimensional");
  expect_error(x4, 4, s22, 2, "scale must be 1-dimensional");
  expect_error(x4, 4, &s3, 1,
               "scale must have the same number of elements as the channels of x, got 3 and 4");
}

static void check_lrn(int64_t radius, float bias, float alpha, float beta, int set_attrs) {
  int64_t dims[4] = {2, 3, 2, 7};
  td_tensor x = nn_random_tensor(4, dims), out = {0};
  Tensorflow__NodeDef *nd = td_test_node_new("LRN");
  if (set_attrs) {
    td_test_attr_int(nd, "depth_radius", radius);
    td_test_attr_float(nd, "bias", bias);
    td_test_attr_float(nd, "alpha", alpha);
    td_test_attr_float(nd, "beta", beta);
  }
  td_status st = {0};
  assert_int_equal(td_test_run_op(nd, &x, 1, &out, 1, &st), TD_OK);
  for (int64_t i = 0; i < 2 * 3 * 2 * 7; i++) {
    int64_t d = i % 7, row = i - d;
    double sum = 0;
    for (int64_t k = d - radius; k <= d + radius; k++)
      if (k >= 0 && k < 7) sum += (double)td_f32(&x)[row + k] * td_f32(&x)[row + k];
    double want = td_f32(&x)[i] / pow(bias + alpha * sum, beta);
    assert_true(fabs(td_f32(&out)[i] - want) <= 1e-5 * (1 + fabs(want)));
  }
  td_test_node_free(nd);
  td_tensor_release(&x);
  td_tensor_release(&out);
}

static void test_lrn(void **state) {
  check_lrn(5, 1.0f, 1.0f, 0.5f, 0); /* TF defaults */
  check_lrn(2, 2.0f, 1e-4f, 0.75f, 1);
  check_lrn(0, 1.0f, 0.5f, 1.0f, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bn_inference),
      cmocka_unit_test(test_bn_training),
      cmocka_unit_test(test_bn_half),
      cmocka_unit_test(test_bn_errors),
      cmocka_unit_test(test_lrn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
