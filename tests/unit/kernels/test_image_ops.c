/* test_image_ops.c — the image kernels other than decoding, on hand-worked cases (each expected
 * value derived in a comment) and Python references: NonMaxSuppressionV2..V5 on TF's documented
 * three-cluster boxes (soft-NMS scores from a Python transcription of the documented
 * algorithm), CombinedNonMaxSuppression, CropAndResize (bilinear / nearest / extrapolation),
 * ImageProjectiveTransformV3 in every fill mode and both interpolations, AdjustContrastv2,
 * AdjustHue / AdjustSaturation against Python's colorsys, ReadFile's assets-only rule,
 * SampleDistortedBoundingBoxV2's invariants (determinism per seed, bounds, area and aspect ranges,
 * whole-image fallback), and error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/test_array_util.h"

static void expect_floats(td_tensor *t, int64_t n, const float *want, float tol) {
  assert_int_equal(td_tensor_num_elements(t), n);
  for (int64_t i = 0; i < n; i++) {
    float g = (float)td_tensor_get_double(t, i);
    if (!(fabsf(g - want[i]) <= tol)) {
      fprintf(stderr, "  element %lld: got %.7g want %.7g\n", (long long)i, g, want[i]);
      fail();
    }
  }
  td_tensor_release(t);
}

/* ---- NMS ---- */

static const float kBoxes[24] = {0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, -0.1f, 1, 0.9f, 0, 10, 1, 11, 0, 10.1f, 1, 11.1f, 0, 100, 1, 101};
static const float kScores[6] = {0.9f, 0.75f, 0.6f, 0.95f, 0.5f, 0.3f};

static td_tensor boxes(void) { return at_tensor(TD_DT_FLOAT, 2, A_DIMS(6, 4), kBoxes); }
static td_tensor scores(void) { return at_tensor(TD_DT_FLOAT, 1, A_DIMS(6), kScores); }

static void test_nms(void **state) {
  (void)state;
  /* Clusters {3, 4} around x=10, {0, 1, 2} around x=0, {5}: IoU(0, 1) = 0.9/1.1 > 0.5. */
  Tensorflow__NodeDef *nd = td_test_node_new("NonMaxSuppressionV2");
  td_tensor in2[4] = {boxes(), scores(), at_i32s(3), at_f32s(0.5f)};
  td_tensor out = at_run1(nd, in2, 4);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(3), A_I32(3, 0, 5));

  /* V3: score_threshold 0.4 drops box 5. */
  nd = td_test_node_new("NonMaxSuppressionV3");
  td_tensor in3[5] = {boxes(), scores(), at_i32s(6), at_f32s(0.5f), at_f32s(0.4f)};
  out = at_run1(nd, in3, 5);
  at_expect(&out, TD_DT_INT32, 1, A_DIMS(2), A_I32(3, 0));

  /* V4 padded to 5 with valid_outputs 2. */
  nd = td_test_node_new("NonMaxSuppressionV4");
  td_test_attr_bool(nd, "pad_to_max_output_size", 1);
  td_tensor in4[5] = {boxes(), scores(), at_i32s(5), at_f32s(0.5f), at_f32s(0.4f)};
  td_tensor o4[2];
  td_status st;
  assert_int_equal(at_run(nd, in4, 5, o4, 2, &st), TD_OK);
  at_expect(&o4[0], TD_DT_INT32, 1, A_DIMS(5), A_I32(3, 0, 0, 0, 0));
  at_expect(&o4[1], TD_DT_INT32, 0, NULL, A_I32(2));

  /* V5 soft-NMS (sigma 0.5, iou_threshold 1): every box survives with decayed scores, e.g. box 1
   * = 0.75 * exp(-(0.818^2)) = 0.384 after box 0. */
  nd = td_test_node_new("NonMaxSuppressionV5");
  td_tensor in5[6] = {boxes(), scores(), at_i32s(6), at_f32s(1.0f), at_f32s(0.0f), at_f32s(0.5f)};
  td_tensor o5[3];
  assert_int_equal(at_run(nd, in5, 6, o5, 3, &st), TD_OK);
  at_expect(&o5[0], TD_DT_INT32, 1, A_DIMS(6), A_I32(3, 0, 1, 5, 4, 2));
  expect_floats(&o5[1], 6, A_F32(0.95f, 0.9f, 0.38400352f, 0.3f, 0.25600235f, 0.19697242f), 1e-6f);
  at_expect(&o5[2], TD_DT_INT32, 0, NULL, A_I32(6));

  /* Errors. */
  nd = td_test_node_new("NonMaxSuppressionV2");
  td_tensor e1[4] = {boxes(), scores(), at_i32s(3), at_f32s(1.5f)};
  at_expect_error(nd, e1, 4, 1, TD_INVALID_ARGUMENT, "iou_threshold must be in [0, 1]");
  nd = td_test_node_new("NonMaxSuppressionV2");
  td_tensor e2[4] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 3), A_F32(0, 0, 0, 0, 0, 0)), scores(), at_i32s(3), at_f32s(0.5f)};
  at_expect_error(nd, e2, 4, 1, TD_INVALID_ARGUMENT, "boxes must have 4 columns");
  nd = td_test_node_new("NonMaxSuppressionV2");
  td_tensor e3[4] = {boxes(), at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2)), at_i32s(3), at_f32s(0.5f)};
  at_expect_error(nd, e3, 4, 1, TD_INVALID_ARGUMENT, "scores has incompatible shape");
}

static void test_combined_nms(void **state) {
  (void)state;
  /* 3 boxes shared by 2 classes: IoU(b0, b1) = 0.818, IoU(b0, b2) = 0.333, IoU(b1, b2) = 0.429.
   * class 0 (0.9, 0.8, 0.1 > 0.15?): b0 kept, b1 suppressed, b2 below threshold;
   * class 1 (0.2, 0.7, 0.6): b1, then b2 (0.429 <= 0.5), then the per-class cap of 2.
   * Merged by score: (0.9, c0, b0), (0.7, c1, b1), (0.6, c1, b2); boxes clipped to [0, 1]. */
  Tensorflow__NodeDef *nd = td_test_node_new("CombinedNonMaxSuppression");
  td_tensor ins[6] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 3, 1, 4), A_F32(0, 0, 1, 1, 0, 0.1f, 1, 1.1f, 0, 0.5f, 1, 1.5f)),
                      at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 3, 2), A_F32(0.9f, 0.2f, 0.8f, 0.7f, 0.1f, 0.6f)),
                      at_i32s(2),
                      at_i32s(4),
                      at_f32s(0.5f),
                      at_f32s(0.15f)};
  td_tensor out[4];
  td_status st;
  assert_int_equal(at_run(nd, ins, 6, out, 4, &st), TD_OK);
  at_expect_shape(&out[0], 3, A_DIMS(1, 4, 4));
  expect_floats(&out[0], 16, A_F32(0, 0, 1, 1, 0, 0.1f, 1, 1, 0, 0.5f, 1, 1, 0, 0, 0, 0), 1e-7f);
  expect_floats(&out[1], 4, A_F32(0.9f, 0.7f, 0.6f, 0), 1e-7f);
  expect_floats(&out[2], 4, A_F32(0, 1, 1, 0), 0);
  at_expect(&out[3], TD_DT_INT32, 1, A_DIMS(1), A_I32(3));
}

/* ---- CropAndResize ---- */

static td_tensor crop(const float *box4n, int64_t nbox, int32_t ch, int32_t cw, const char *method, float extrap) {
  float img[9];
  for (int i = 0; i < 9; i++) img[i] = (float)i; /* v(y, x) = 3y + x */
  int32_t idx[4] = {0, 0, 0, 0};
  Tensorflow__NodeDef *nd = td_test_node_new("CropAndResize");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  if (method) td_test_attr_str(nd, "method", method);
  td_test_attr_float(nd, "extrapolation_value", extrap);
  td_tensor ins[4] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 3, 3, 1), img), at_tensor(TD_DT_FLOAT, 2, A_DIMS(nbox, 4), box4n),
                      at_vec_i32(nbox, idx), at_vec_i32(2, A_I32(ch, cw))};
  return at_run1(nd, ins, 4);
}

static void test_crop_and_resize(void **state) {
  (void)state;
  /* The whole image at 3x3 is the image; the top-left quarter at 2x2 samples (0..1, 0..1). */
  td_tensor t = crop(A_F32(0, 0, 1, 1), 1, 3, 3, NULL, 0);
  expect_floats(&t, 9, A_F32(0, 1, 2, 3, 4, 5, 6, 7, 8), 1e-6f);
  t = crop(A_F32(0, 0, 0.5f, 0.5f), 1, 2, 2, NULL, 0);
  expect_floats(&t, 4, A_F32(0, 1, 3, 4), 1e-6f);
  /* Box [.25, .75] samples at 0.5 and 1.5: bilinear of 3y + x is exact. */
  t = crop(A_F32(0.25f, 0.25f, 0.75f, 0.75f), 1, 2, 2, "bilinear", 0);
  expect_floats(&t, 4, A_F32(2, 3, 5, 6), 1e-6f);
  /* nearest rounds 0.5 -> 1, 1.5 -> 2. */
  t = crop(A_F32(0.25f, 0.25f, 0.75f, 0.75f), 1, 2, 2, "nearest", 0);
  expect_floats(&t, 4, A_F32(4, 5, 7, 8), 0);
  /* y from -2 (outside: extrapolation) to 0; a 1x1 crop samples the box centre (1, 1). */
  t = crop(A_F32(-1, 0, 0, 1), 1, 2, 2, NULL, -1);
  expect_floats(&t, 4, A_F32(-1, -1, 0, 2), 1e-6f);
  t = crop(A_F32(0, 0, 1, 1), 1, 1, 1, NULL, 0);
  expect_floats(&t, 1, A_F32(4), 1e-6f);

  Tensorflow__NodeDef *nd = td_test_node_new("CropAndResize");
  td_tensor bad[4] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 2, 2, 1), A_F32(0, 0, 0, 0)), at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 4), A_F32(0, 0, 1, 1)),
                      at_vec_i32(1, A_I32(1)), at_vec_i32(2, A_I32(2, 2))};
  at_expect_error(nd, bad, 4, 1, TD_INVALID_ARGUMENT, "box_index has values outside [0, batch_size)");
}

/* ---- ImageProjectiveTransformV3 ---- */

static td_tensor xform(td_dtype dt, int64_t h, int64_t w, const float *img, const float *t8, int32_t oh, int32_t ow,
                       const char *interp, const char *fill, float fill_value) {
  Tensorflow__NodeDef *nd = td_test_node_new("ImageProjectiveTransformV3");
  td_test_attr_type(nd, "dtype", dt);
  td_test_attr_str(nd, "interpolation", interp);
  td_test_attr_str(nd, "fill_mode", fill);
  td_tensor im = td_test_tensor(dt, 4, A_DIMS(1, h, w, 1), NULL);
  for (int64_t i = 0; i < h * w; i++) td_tensor_set_double(&im, i, img[i]);
  td_tensor ins[4] = {im, at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 8), t8), at_vec_i32(2, A_I32(oh, ow)), at_f32s(fill_value)};
  return at_run1(nd, ins, 4);
}

static void test_projective_transform(void **state) {
  (void)state;
  /* Row [10 20 30 40], sampled at x - 2: x = -2, -1, 0, 1 after mapping:
   * REFLECT (d c b a | a b c d): -2 -> b, -1 -> a;  WRAP: -2 -> c, -1 -> d;
   * NEAREST clamps to a; CONSTANT gives fill_value 7. */
  const float row[4] = {10, 20, 30, 40}, shift[8] = {1, 0, -2, 0, 1, 0, 0, 0};
  static const struct {
    const char *mode;
    float want[4];
  } modes[] = {{"REFLECT", {20, 10, 10, 20}}, {"WRAP", {30, 40, 10, 20}}, {"NEAREST", {10, 10, 10, 20}}, {"CONSTANT", {7, 7, 10, 20}}};
  for (size_t m = 0; m < 4; m++) {
    td_tensor t = xform(TD_DT_FLOAT, 1, 4, row, shift, 1, 4, "NEAREST", modes[m].mode, 7);
    expect_floats(&t, 4, modes[m].want, 0);
  }
  /* Bilinear 2x upscale of [[0 10] [20 30]] into 3x3 (samples at 0, 0.5, 1): taps past the edge
   * carry zero weight at integer coordinates. Also through uint8. */
  const float sq[4] = {0, 10, 20, 30}, half[8] = {0.5f, 0, 0, 0, 0.5f, 0, 0, 0};
  const float up[9] = {0, 5, 10, 10, 15, 20, 20, 25, 30};
  td_tensor t = xform(TD_DT_FLOAT, 2, 2, sq, half, 3, 3, "BILINEAR", "CONSTANT", 0);
  expect_floats(&t, 9, up, 1e-6f);
  t = xform(TD_DT_UINT8, 2, 2, sq, half, 3, 3, "BILINEAR", "CONSTANT", 0);
  assert_int_equal(t.dtype, TD_DT_UINT8);
  expect_floats(&t, 9, up, 0);
  /* A projective row c0 = -1: k = 1 - x is 0 at x = 1 (fill), negative at x = 2 (x' = -2, fill). */
  const float r3[3] = {1, 2, 3}, proj[8] = {1, 0, 0, 0, 1, 0, -1, 0};
  t = xform(TD_DT_FLOAT, 1, 3, r3, proj, 1, 3, "NEAREST", "CONSTANT", -9);
  expect_floats(&t, 3, A_F32(1, -9, -9), 0);

  Tensorflow__NodeDef *nd = td_test_node_new("ImageProjectiveTransformV3");
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  td_test_attr_str(nd, "interpolation", "BICUBIC");
  td_tensor bad[4] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 1, 1, 1), A_F32(0)), at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 8), shift),
                      at_vec_i32(2, A_I32(1, 1)), at_f32s(0)};
  at_expect_error(nd, bad, 4, 1, TD_INVALID_ARGUMENT, "Invalid interpolation");
  nd = td_test_node_new("ImageProjectiveTransformV3");
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  td_test_attr_str(nd, "interpolation", "NEAREST");
  td_tensor bad2[4] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 1, 1, 1), A_F32(0)), at_tensor(TD_DT_FLOAT, 2, A_DIMS(1, 6), shift),
                       at_vec_i32(2, A_I32(1, 1)), at_f32s(0)};
  at_expect_error(nd, bad2, 4, 1, TD_INVALID_ARGUMENT, "Input transform should be num_images x 8 or 1 x 8");
}

/* ---- colour ---- */

static void test_adjust(void **state) {
  (void)state;
  /* Contrast: mean of [1 2 3 6] is 3; (x - 3) * 2 + 3. */
  Tensorflow__NodeDef *nd = td_test_node_new("AdjustContrastv2");
  td_tensor c[2] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 2, 2, 1), A_F32(1, 2, 3, 6)), at_f32s(2)};
  td_tensor t = at_run1(nd, c, 2);
  expect_floats(&t, 4, A_F32(-1, 1, 3, 9), 1e-6f);

  /* Expected values: Python colorsys rgb_to_hsv / hsv_to_rgb. */
  const float px[9] = {0.2f, 0.4f, 0.8f, 0.9f, 0.1f, 0.3f, 0.5f, 0.5f, 0.5f};
  static const struct {
    const char *op;
    float amount, want[9];
  } cases[] = {
      {"AdjustSaturation", 0.5f, {0.5f, 0.6f, 0.8f, 0.9f, 0.5f, 0.6f, 0.5f, 0.5f, 0.5f}},
      {"AdjustSaturation", 3.0f, {0.0f, 0.2666667f, 0.8f, 0.9f, 0.0f, 0.225f, 0.5f, 0.5f, 0.5f}},
      {"AdjustHue", 0.25f, {0.8f, 0.2f, 0.7f, 0.7f, 0.9f, 0.1f, 0.5f, 0.5f, 0.5f}},
  };
  for (size_t i = 0; i < 3; i++) {
    nd = td_test_node_new(cases[i].op);
    td_tensor in[2] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 3, 3), px), at_f32s(cases[i].amount)};
    t = at_run1(nd, in, 2);
    expect_floats(&t, 9, cases[i].want, 2e-6f);
  }
  nd = td_test_node_new("AdjustHue");
  td_tensor bad[2] = {at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 1, 2), A_F32(0, 0)), at_f32s(0.1f)};
  at_expect_error(nd, bad, 2, 1, TD_INVALID_ARGUMENT, "input must have 3 channels but instead has 2 channels.");
}

/* ---- ReadFile ---- */

static td_tensor path_tensor(const char *p) {
  const char *v[1] = {p};
  return td_test_tensor(TD_DT_STRING, 0, NULL, v);
}

static void test_read_file(void **state) {
  (void)state;
  char root[] = "/tmp/td_readfile_XXXXXX", dir[256], file[300], outside[300], dotdot[400];
  assert_non_null(mkdtemp(root));
  snprintf(dir, sizeof dir, "%s/assets", root);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(file, sizeof file, "%s/vocab.txt", dir);
  snprintf(outside, sizeof outside, "%s/secret.txt", root);
  snprintf(dotdot, sizeof dotdot, "%s/../secret.txt", dir);
  FILE *f = fopen(file, "wb");
  fwrite("a\nb\0c", 1, 5, f);
  fclose(f);
  f = fopen(outside, "wb");
  fputs("no", f);
  fclose(f);

  Tensorflow__NodeDef *nd = td_test_node_new("ReadFile");
  td_tensor in[1] = {path_tensor(file)};
  td_tensor t = at_run1(nd, in, 1);
  assert_int_equal(t.dtype, TD_DT_STRING);
  assert_int_equal(td_str(&t)[0].len, 5);
  assert_memory_equal(td_str(&t)[0].data, "a\nb\0c", 5);
  td_tensor_release(&t);

  nd = td_test_node_new("ReadFile");
  td_tensor o[1] = {path_tensor(outside)};
  at_expect_error(nd, o, 1, 1, TD_PERMISSION_DENIED, "outside the model's assets directory");
  nd = td_test_node_new("ReadFile");
  td_tensor d[1] = {path_tensor(dotdot)};
  at_expect_error(nd, d, 1, 1, TD_PERMISSION_DENIED, "outside the model's assets directory");
  nd = td_test_node_new("ReadFile");
  td_tensor m[1] = {path_tensor("/nonexistent/assets/x")};
  at_expect_error(nd, m, 1, 1, TD_NOT_FOUND, "No such file or directory");
  unlink(file);
  unlink(outside);
  rmdir(dir);
  rmdir(root);
}

/* ---- SampleDistortedBoundingBoxV2 ---- */

static void sdbb(float min_cov, int64_t seed, const float *box, int32_t out_begin[3], int32_t out_size[3], float out_box[4]) {
  Tensorflow__NodeDef *nd = td_test_node_new("SampleDistortedBoundingBoxV2");
  td_test_attr_type(nd, "T", TD_DT_INT32);
  td_test_attr_int(nd, "seed", seed);
  td_test_attr_floats(nd, "area_range", A_F32(0.1f, 0.5f), 2);
  td_tensor ins[3] = {at_vec_i32(3, A_I32(60, 80, 3)), at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 1, 4), box), at_f32s(min_cov)};
  td_tensor out[3];
  td_status st;
  assert_int_equal(at_run(nd, ins, 3, out, 3, &st), TD_OK);
  memcpy(out_begin, out[0].data, 3 * sizeof(int32_t));
  memcpy(out_size, out[1].data, 3 * sizeof(int32_t));
  memcpy(out_box, out[2].data, 4 * sizeof(float));
  at_expect_shape(&out[2], 3, A_DIMS(1, 1, 4));
  for (int i = 0; i < 3; i++) td_tensor_release(&out[i]);
}

static void test_sample_distorted_bounding_box(void **state) {
  (void)state;
  int32_t b1[3], s1[3], b2[3], s2[3];
  float x1[4], x2[4];
  const float small[4] = {0.4f, 0.4f, 0.6f, 0.6f}, whole[4] = {0, 0, 1, 1};
  for (int64_t seed = 1; seed <= 20; seed++) {
    sdbb(0.1f, seed, small, b1, s1, x1);
    sdbb(0.1f, seed, small, b2, s2, x2);
    assert_memory_equal(b1, b2, sizeof b1); /* seeded: deterministic */
    assert_memory_equal(s1, s2, sizeof s1);
    assert_int_equal(b1[2], 0);
    assert_int_equal(s1[2], -1);
    assert_true(b1[0] >= 0 && b1[1] >= 0 && b1[0] + s1[0] <= 60 && b1[1] + s1[1] <= 80);
    double area = (double)s1[0] * s1[1] / (60.0 * 80.0);
    assert_true(area >= 0.1 - 1e-9 && area <= 0.5 + 1e-9);
    double ar = (double)s1[1] / s1[0];
    assert_true(ar > 0.7 && ar < 1.4);
    assert_true(fabsf(x1[0] - b1[0] / 60.0f) < 1e-6f && fabsf(x1[3] - (b1[1] + s1[1]) / 80.0f) < 1e-6f);
  }
  /* Covering all of a whole-image box is impossible within area_range: the whole image. */
  sdbb(1.0f, 3, whole, b1, s1, x1);
  assert_int_equal(b1[0], 0);
  assert_int_equal(b1[1], 0);
  assert_int_equal(s1[0], 60);
  assert_int_equal(s1[1], 80);

  Tensorflow__NodeDef *nd = td_test_node_new("SampleDistortedBoundingBoxV2");
  td_tensor ins[3] = {at_vec_i32(3, A_I32(6, 8, 3)), td_test_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 0, 4), NULL), at_f32s(0.1f)};
  at_expect_error(nd, ins, 3, 3, TD_INVALID_ARGUMENT, "No bounding boxes provided as input.");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nms),
      cmocka_unit_test(test_combined_nms),
      cmocka_unit_test(test_crop_and_resize),
      cmocka_unit_test(test_projective_transform),
      cmocka_unit_test(test_adjust),
      cmocka_unit_test(test_read_file),
      cmocka_unit_test(test_sample_distorted_bounding_box),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
