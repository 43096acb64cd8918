/* image_adjust.c — colour adjustments on float images (rows in image.def): AdjustContrastv2
 * (per image and channel: (x - mean) * factor + mean, the mean over height and width),
 * AdjustSaturation and AdjustHue (RGB -> HSV, scale s clamped to [0, 1] / shift h modulo 1,
 * HSV -> RGB), as tf.image documents them. Images are [..., height, width, channels] with 3
 * channels for hue/saturation; half and bfloat16 images compute in float. Reentrant. */
#include <math.h>
#include <stdlib.h>

#include "engine/kernel.h"

static int is_real_float(td_dtype dt) {
  return dt == TD_DT_FLOAT || dt == TD_DT_HALF || dt == TD_DT_BFLOAT16 || dt == TD_DT_DOUBLE;
}

static td_code scalar_float(td_kctx *c, int i, const char *what, float *v) {
  const td_tensor *t = td_k_input(c, i);
  char buf[64];
  if (t->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be scalar: %s", what, td_shape_str(&t->shape, buf, sizeof buf));
  *v = (float)td_tensor_get_double(t, 0);
  return TD_OK;
}

td_code td_k_adjust_contrastv2(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  char buf[200];
  if (in->shape.rank < 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be at least 3-D, got shape%s", td_shape_str(&in->shape, buf, sizeof buf));
  if (!is_real_float(in->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "AdjustContrastv2 expects a float image");
  float f = 0;
  TD_TRY(scalar_float(c, 1, "contrast_factor", &f));
  int r = in->shape.rank;
  int64_t hw = in->shape.dim[r - 3] * in->shape.dim[r - 2], ch = in->shape.dim[r - 1];
  int64_t total = td_tensor_num_elements(in), imgs = (hw * ch) != 0 ? total / (hw * ch) : 0;
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, in->dtype, &in->shape, &out));
  for (int64_t b = 0; b < imgs; b++)
    for (int64_t k = 0; k < ch; k++) {
      int64_t base = b * hw * ch + k;
      double sum = 0;
      for (int64_t p = 0; p < hw; p++) sum += (float)td_tensor_get_double(in, base + p * ch);
      float mean = (float)(sum / (double)hw);
      for (int64_t p = 0; p < hw; p++) {
        float x = (float)td_tensor_get_double(in, base + p * ch);
        td_tensor_set_double(out, base + p * ch, (x - mean) * f + mean);
      }
    }
  return TD_OK;
}

static void rgb_to_hsv(float r, float g, float b, float *h, float *s, float *v) {
  float mx = fmaxf(r, fmaxf(g, b)), mn = fminf(r, fminf(g, b)), range = mx - mn;
  *v = mx;
  *s = mx > 0 ? range / mx : 0;
  float hh = 0;
  if (range > 0) {
    if (r == mx) hh = (g - b) / range;
    else if (g == mx) hh = 2.0f + (b - r) / range;
    else hh = 4.0f + (r - g) / range;
    hh /= 6.0f;
    if (hh < 0) hh += 1.0f;
  }
  *h = hh;
}

static void hsv_to_rgb(float h, float s, float v, float *r, float *g, float *b) {
  float h6 = (h - floorf(h)) * 6.0f;
  int i = (int)floorf(h6);
  float f = h6 - (float)i;
  float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (i % 6) {
    case 0: *r = v, *g = t, *b = p; break;
    case 1: *r = q, *g = v, *b = p; break;
    case 2: *r = p, *g = v, *b = t; break;
    case 3: *r = p, *g = q, *b = v; break;
    case 4: *r = t, *g = p, *b = v; break;
    default: *r = v, *g = p, *b = q; break;
  }
}

static td_code adjust_hsv(td_kctx *c, int hue) {
  const td_tensor *in = td_k_input(c, 0);
  char buf[200];
  if (in->shape.rank < 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be at least 3-D, got shape%s", td_shape_str(&in->shape, buf, sizeof buf));
  if (in->shape.dim[in->shape.rank - 1] != 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must have 3 channels but instead has %lld channels.",
                     (long long)in->shape.dim[in->shape.rank - 1]);
  if (!is_real_float(in->dtype)) return td_k_fail(c, TD_INVALID_ARGUMENT, "%s expects a float image", td_node_op(td_k_node(c)));
  float amount = 0;
  TD_TRY(scalar_float(c, 1, hue ? "delta" : "scale", &amount));
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, in->dtype, &in->shape, &out));
  int64_t px = td_tensor_num_elements(in) / 3;
  for (int64_t i = 0; i < px; i++) {
    float rgb[3], h, s, v;
    for (int k = 0; k < 3; k++) rgb[k] = (float)td_tensor_get_double(in, 3 * i + k);
    rgb_to_hsv(rgb[0], rgb[1], rgb[2], &h, &s, &v);
    if (hue) {
      h += amount;
      h -= floorf(h);
    } else {
      s *= amount;
      s = s < 0 ? 0 : s > 1 ? 1 : s;
    }
    hsv_to_rgb(h, s, v, &rgb[0], &rgb[1], &rgb[2]);
    for (int k = 0; k < 3; k++) td_tensor_set_double(out, 3 * i + k, rgb[k]);
  }
  return TD_OK;
}

td_code td_k_adjust_hue(td_kctx *c) { return adjust_hsv(c, 1); }
td_code td_k_adjust_saturation(td_kctx *c) { return adjust_hsv(c, 0); }
