/* test_nn_resize.c — ResizeBilinear / ResizeBicubic / ResizeNearestNeighbor: hand-computed values for each
 * coordinate mode (legacy, align_corners, half_pixel_centers), random up/down-sampling against a
 * reference loop, non-float inputs (uint8 bilinear → float, int32 nearest → int32) and TF's
 * errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "kernels/nn_test_util.h"

static Tensorflow__NodeDef *resize_node(const char *op, td_dtype t, int align, int half) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_test_attr_type(nd, "T", t);
  if (align) td_test_attr_bool(nd, "align_corners", 1);
  if (half) td_test_attr_bool(nd, "half_pixel_centers", 1);
  return nd;
}

/* Runs op on images with size (oh, ow); returns the code, output in *out. */
static td_code run_resize(const char *op, const td_tensor *images, int32_t oh, int32_t ow,
                          int align, int half, td_tensor *out, td_status *st) {
  int64_t two = 2;
  int32_t sz[2] = {oh, ow};
  td_tensor in[2] = {td_tensor_ref(images), td_test_tensor(TD_DT_INT32, 1, &two, sz)};
  Tensorflow__NodeDef *nd = resize_node(op, images->dtype, align, half);
  td_code code = td_test_run_op(nd, in, 2, out, 1, st);
  td_test_node_free(nd);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  return code;
}

static float scale_of(int64_t in, int64_t out, int align) {
  return (align && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
}

/* Reference bilinear, straight from TF's formulas, per output element. */
static td_tensor bilinear_reference(const td_tensor *img, int64_t oh, int64_t ow, int align,
                                    int half) {
  int64_t n = img->shape.dim[0], ih = img->shape.dim[1], iw = img->shape.dim[2];
  int64_t c = img->shape.dim[3];
  int64_t dims[4] = {n, oh, ow, c};
  td_tensor out = td_test_tensor(TD_DT_FLOAT, 4, dims, NULL);
  float sy = scale_of(ih, oh, align), sx = scale_of(iw, ow, align);
  for (int64_t b = 0; b < n; b++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t x = 0; x < ow; x++)
        for (int64_t ch = 0; ch < c; ch++) {
          float fy = half ? ((float)y + 0.5f) * sy - 0.5f : (float)y * sy;
          float fx = half ? ((float)x + 0.5f) * sx - 0.5f : (float)x * sx;
          int64_t y0 = (int64_t)floorf(fy), x0 = (int64_t)floorf(fx);
          int64_t y1 = (int64_t)ceilf(fy), x1 = (int64_t)ceilf(fx);
          float ly = fy - floorf(fy), lx = fx - floorf(fx);
          if (y0 < 0) y0 = 0;
          if (x0 < 0) x0 = 0;
          if (y1 > ih - 1) y1 = ih - 1;
          if (x1 > iw - 1) x1 = iw - 1;
#define PX(yy, xx) (float)td_tensor_get_double(img, ((b * ih + (yy)) * iw + (xx)) * c + ch)
          float top = PX(y0, x0) + (PX(y0, x1) - PX(y0, x0)) * lx;
          float bot = PX(y1, x0) + (PX(y1, x1) - PX(y1, x0)) * lx;
#undef PX
          td_f32(&out)[((b * oh + y) * ow + x) * c + ch] = top + (bot - top) * ly;
        }
  return out;
}

static void test_bilinear_exact(void **state) {
  int64_t dims[4] = {1, 2, 2, 1};
  float v[4] = {0, 1, 2, 3};
  td_tensor img = td_test_tensor(TD_DT_FLOAT, 4, dims, v), out = {0};
  td_status st = {0};
  assert_int_equal(run_resize("ResizeBilinear", &img, 3, 3, 1, 0, &out, &st), TD_OK);
  float align[9] = {0, 0.5f, 1, 1, 1.5f, 2, 2, 2.5f, 3};
  assert_true(nn_close(td_f32(&out), align, 9, 1e-6f));
  td_tensor_release(&out);
  assert_int_equal(run_resize("ResizeBilinear", &img, 1, 4, 0, 1, &out, &st), TD_OK);
  /* row 0 only (1 output row: src y = 0.5 → lerp 0.5 between rows 0 and 1 = [1, 2]). */
  float half[4] = {1, 1.25f, 1.75f, 2};
  assert_true(nn_close(td_f32(&out), half, 4, 1e-6f));
  td_tensor_release(&out);
  assert_int_equal(run_resize("ResizeBilinear", &img, 4, 4, 0, 0, &out, &st), TD_OK);
  float legacy_row0[4] = {0, 0.5f, 1, 1}; /* src x = 0, .5, 1, 1.5 → clamps at the edge */
  assert_true(nn_close(td_f32(&out), legacy_row0, 4, 1e-6f));
  td_tensor_release(&out);
  td_tensor_release(&img);
}

static void test_bilinear_random(void **state) {
  for (int i = 0; i < 40; i++) {
    int64_t dims[4] = {nn_rand_range(1, 2), nn_rand_range(1, 9), nn_rand_range(1, 9), 0};
    static const int64_t channels[] = {1, 3, 8};
    dims[3] = channels[nn_rand_range(0, 2)];
    int mode = (int)nn_rand_range(0, 2); /* legacy, align, half */
    int32_t oh = (int32_t)nn_rand_range(1, 12), ow = (int32_t)nn_rand_range(1, 12);
    td_tensor img = nn_random_tensor(4, dims), out = {0};
    td_tensor want = bilinear_reference(&img, oh, ow, mode == 1, mode == 2);
    td_status st = {0};
    assert_int_equal(run_resize("ResizeBilinear", &img, oh, ow, mode == 1, mode == 2, &out, &st),
                     TD_OK);
    assert_true(td_shape_equal(&out.shape, &want.shape));
    assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-5f));
    td_tensor_release(&img);
    td_tensor_release(&out);
    td_tensor_release(&want);
  }
}

static void test_bilinear_uint8(void **state) {
  int64_t dims[4] = {2, 3, 4, 3};
  uint8_t px[72];
  for (int i = 0; i < 72; i++) px[i] = (uint8_t)(i * 37 % 256);
  td_tensor img = td_test_tensor(TD_DT_UINT8, 4, dims, px), out = {0};
  td_tensor want = bilinear_reference(&img, 5, 2, 0, 1);
  td_status st = {0};
  assert_int_equal(run_resize("ResizeBilinear", &img, 5, 2, 0, 1, &out, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_FLOAT);
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-6f));
  td_tensor_release(&img);
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void test_nearest(void **state) {
  int64_t dims[4] = {1, 1, 5, 1};
  int32_t v[5] = {10, 11, 12, 13, 14};
  td_tensor img = td_test_tensor(TD_DT_INT32, 4, dims, v), out = {0};
  td_status st = {0};
  static const struct {
    int32_t ow;
    int align, half;
    int32_t want[8];
  } cases[] = {
      {2, 0, 0, {10, 12}},             /* scale 2.5: floor(0), floor(2.5) */
      {2, 0, 1, {11, 13}},             /* (i+.5)*2.5 = 1.25, 3.75 */
      {2, 1, 0, {10, 14}},             /* align: scale 4, round(0), round(4) */
      {8, 0, 0, {10, 10, 11, 11, 12, 13, 13, 14}}, /* scale .625 */
      {8, 0, 1, {10, 10, 11, 12, 12, 13, 14, 14}},
      {8, 1, 0, {10, 11, 11, 12, 12, 13, 13, 14}}, /* scale 4/7, round */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(run_resize("ResizeNearestNeighbor", &img, 1, cases[i].ow, cases[i].align,
                                cases[i].half, &out, &st),
                     TD_OK);
    assert_int_equal(out.dtype, TD_DT_INT32);
    assert_int_equal(out.shape.dim[2], cases[i].ow);
    for (int32_t x = 0; x < cases[i].ow; x++) {
      if (td_i32(&out)[x] != cases[i].want[x])
        fprintf(stderr, "case %zu x=%d got %d want %d\n", i, x, td_i32(&out)[x], cases[i].want[x]);
      assert_int_equal(td_i32(&out)[x], cases[i].want[x]);
    }
    td_tensor_release(&out);
  }
  td_tensor_release(&img);
}

static void test_nearest_multichannel(void **state) {
  /* Upsampling by 2 (legacy): each pixel (all channels) repeats in a 2x2 block. */
  int64_t dims[4] = {2, 2, 3, 3};
  td_tensor img = nn_random_tensor(4, dims), out = {0};
  td_status st = {0};
  assert_int_equal(run_resize("ResizeNearestNeighbor", &img, 4, 6, 0, 0, &out, &st), TD_OK);
  for (int64_t b = 0; b < 2; b++)
    for (int64_t y = 0; y < 4; y++)
      for (int64_t x = 0; x < 6; x++)
        for (int64_t c = 0; c < 3; c++)
          assert_true(td_f32(&out)[((b * 4 + y) * 6 + x) * 3 + c] ==
                      td_f32(&img)[((b * 2 + y / 2) * 3 + x / 2) * 3 + c]);
  td_tensor_release(&img);
  td_tensor_release(&out);
}

/* Cubic convolution kernel W(d) evaluated directly (the kernel uses TF's 1024-entry table). */
static double cubic_w(double d, double a) {
  d = fabs(d);
  if (d <= 1) return ((a + 2) * d - (a + 3)) * d * d + 1;
  if (d < 2) return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  return 0;
}

static td_tensor bicubic_reference(const td_tensor *img, int64_t oh, int64_t ow, int align,
                                   int half) {
  int64_t n = img->shape.dim[0], ih = img->shape.dim[1], iw = img->shape.dim[2];
  int64_t c = img->shape.dim[3];
  int64_t dims[4] = {n, oh, ow, c};
  td_tensor out = td_test_tensor(TD_DT_FLOAT, 4, dims, NULL);
  double a = half ? -0.5 : -0.75;
  float sy = scale_of(ih, oh, align), sx = scale_of(iw, ow, align);
  for (int64_t b = 0; b < n; b++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t x = 0; x < ow; x++)
        for (int64_t ch = 0; ch < c; ch++) {
          double fy = half ? (y + 0.5) * sy - 0.5 : (double)y * sy;
          double fx = half ? (x + 0.5) * sx - 0.5 : (double)x * sx;
          int64_t by = (int64_t)floor(fy), bx = (int64_t)floor(fx);
          double acc = 0, wsum_y = 0, wsum_x = 0, wy[4], wx[4];
          int64_t iy[4], ix[4];
          for (int k = 0; k < 4; k++) {
            int64_t ty = by - 1 + k, tx = bx - 1 + k;
            iy[k] = ty < 0 ? 0 : ty >= ih ? ih - 1 : ty;
            ix[k] = tx < 0 ? 0 : tx >= iw ? iw - 1 : tx;
            wy[k] = (!half || iy[k] == ty) ? cubic_w(fy - ty, a) : 0;
            wx[k] = (!half || ix[k] == tx) ? cubic_w(fx - tx, a) : 0;
            wsum_y += wy[k], wsum_x += wx[k];
          }
          for (int ky = 0; ky < 4; ky++)
            for (int kx = 0; kx < 4; kx++)
              acc += wy[ky] / (half ? wsum_y : 1) * wx[kx] / (half ? wsum_x : 1) *
                     td_f32(img)[((b * ih + iy[ky]) * iw + ix[kx]) * c + ch];
          td_f32(&out)[((b * oh + y) * ow + x) * c + ch] = (float)acc;
        }
  return out;
}

static void test_bicubic(void **state) {
  /* Same size: identity in every mode; constant images stay constant. */
  int64_t dims[4] = {2, 5, 4, 3};
  td_tensor img = nn_random_tensor(4, dims), out = {0};
  td_status st = {0};
  for (int mode = 0; mode < 3; mode++) {
    assert_int_equal(run_resize("ResizeBicubic", &img, 5, 4, mode == 1, mode == 2, &out, &st),
                     TD_OK);
    assert_true(nn_close(td_f32(&out), td_f32(&img), 2 * 5 * 4 * 3, 1e-6f));
    td_tensor_release(&out);
  }
  td_tensor flat = td_test_tensor(TD_DT_FLOAT, 4, dims, NULL);
  for (int i = 0; i < 2 * 5 * 4 * 3; i++) td_f32(&flat)[i] = 0.75f;
  assert_int_equal(run_resize("ResizeBicubic", &flat, 9, 2, 0, 1, &out, &st), TD_OK);
  for (int i = 0; i < 2 * 9 * 2 * 3; i++) assert_true(fabsf(td_f32(&out)[i] - 0.75f) < 1e-5f);
  td_tensor_release(&out);
  td_tensor_release(&flat);
  td_tensor_release(&img);
  /* Random sizes against the direct kernel formula (the table quantizes offsets to 1/1024). */
  for (int i = 0; i < 30; i++) {
    int64_t d[4] = {nn_rand_range(1, 2), nn_rand_range(1, 8), nn_rand_range(1, 8), nn_rand_range(1, 3)};
    int mode = (int)nn_rand_range(0, 2);
    int32_t oh = (int32_t)nn_rand_range(1, 11), ow = (int32_t)nn_rand_range(1, 11);
    td_tensor im = nn_random_tensor(4, d);
    td_tensor want = bicubic_reference(&im, oh, ow, mode == 1, mode == 2);
    assert_int_equal(run_resize("ResizeBicubic", &im, oh, ow, mode == 1, mode == 2, &out, &st),
                     TD_OK);
    assert_true(td_shape_equal(&out.shape, &want.shape));
    assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 3e-3f));
    td_tensor_release(&out);
    td_tensor_release(&want);
    td_tensor_release(&im);
  }
}

static void expect_error(const char *op, int rank, const int64_t *dims, int32_t oh, int32_t ow,
                         int align, int half, const char *needle) {
  td_tensor img = nn_random_tensor(rank, dims), out = {0};
  td_status st = {0};
  td_code code = run_resize(op, &img, oh, ow, align, half, &out, &st);
  if (code == TD_OK || !strstr(st.msg, needle))
    fprintf(stderr, "expected error containing '%s', got %d '%s'\n", needle, code, st.msg);
  assert_int_equal(code, TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, needle));
  td_tensor_release(&img);
}

static void test_resize_errors(void **state) {
  int64_t d4[4] = {1, 2, 2, 1}, d3[3] = {2, 2, 1}, empty[4] = {1, 0, 2, 1};
  expect_error("ResizeBilinear", 3, d3, 2, 2, 0, 0, "input must be 4-dimensional");
  expect_error("ResizeBilinear", 4, d4, 0, 2, 0, 0, "output dimensions must be positive");
  expect_error("ResizeNearestNeighbor", 4, d4, 2, 2, 1, 1,
               "If half_pixel_centers is True, align_corners must be False.");
  expect_error("ResizeNearestNeighbor", 4, empty, 2, 2, 0, 0,
               "input image must be of non-zero size");
  /* A size tensor with 3 elements. */
  int64_t three = 3;
  int32_t sz[3] = {2, 2, 2};
  td_tensor in[2] = {nn_random_tensor(4, d4), td_test_tensor(TD_DT_INT32, 1, &three, sz)};
  Tensorflow__NodeDef *nd = resize_node("ResizeBilinear", TD_DT_FLOAT, 0, 0);
  td_tensor out = {0};
  td_status st = {0};
  assert_int_equal(td_test_run_op(nd, in, 2, &out, 1, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "shape_t must have two elements"));
  td_test_node_free(nd);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bilinear_exact),
      cmocka_unit_test(test_bilinear_random),
      cmocka_unit_test(test_bilinear_uint8),
      cmocka_unit_test(test_bicubic),
      cmocka_unit_test(test_nearest),
      cmocka_unit_test(test_nearest_multichannel),
      cmocka_unit_test(test_resize_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
