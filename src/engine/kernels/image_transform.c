/* image_transform.c — geometric image ops on NHWC batches (rows in image.def):
 * ImageProjectiveTransformV2/V3 and CropAndResize.
 *
 * ImageProjectiveTransform: output pixel (x, y) samples the input at ((a0 x + a1 y + a2) / k,
 * (b0 x + b1 y + b2) / k), k = c0 x + c1 y + 1, with the 8 transform numbers [a0 a1 a2 b0 b1 b2
 * c0 c1] per image (or one row shared by the batch). Coordinates are mapped by fill_mode as TF
 * does (REFLECT d c b a | a b c d | d c b a; WRAP with TF's period quirk; NEAREST clamps;
 * CONSTANT keeps them), then read with NEAREST (round half away from zero) or BILINEAR, taps
 * outside the image giving fill_value (V2: 0). Arithmetic in float; integer outputs truncate.
 *
 * CropAndResize: boxes [y1 x1 y2 x2] normalized, sampled at crop_size points (bilinear or
 * nearest); points outside the image get extrapolation_value. Output float32.
 * Reentrant; no state.
 */
#include <math.h>
#include <string.h>

#include "engine/kernel.h"

/* ---- ImageProjectiveTransform ---- */

typedef enum fill_mode { FILL_REFLECT, FILL_WRAP, FILL_CONSTANT, FILL_NEAREST } fill_mode;

static float map_coord(float in, int64_t len, fill_mode m) {
  float lenf = (float)len;
  switch (m) {
    case FILL_REFLECT:
      if (in < 0) {
        if (len <= 1) {
          in = 0;
        } else {
          float sz2 = 2.0f * lenf;
          if (in < -sz2) in = sz2 * (float)(int64_t)(-in / sz2) + in;
          in = in < -lenf ? in + sz2 : -in - 1;
        }
      } else if (in > lenf - 1) {
        if (len <= 1) {
          in = 0;
        } else {
          float sz2 = 2.0f * lenf;
          in -= sz2 * (float)(int64_t)(in / sz2);
          if (in >= lenf) in = sz2 - in - 1;
        }
      }
      break;
    case FILL_WRAP:
      if (in < 0) {
        if (len <= 1) in = 0;
        else in += lenf * (float)((int64_t)(-in / (float)(len - 1)) + 1);
      } else if (in > lenf - 1) {
        if (len <= 1) in = 0;
        else in -= lenf * (float)(int64_t)(in / (float)(len - 1));
      }
      break;
    case FILL_CONSTANT:
      return in;
    case FILL_NEAREST:
      break;
  }
  return in < 0 ? 0 : in > lenf - 1 ? lenf - 1 : in;
}

typedef struct xform_img {
  const td_tensor *in;
  int64_t h, w, ch;
  float fill;
} xform_img;

static float read_px(const xform_img *im, int64_t b, int64_t y, int64_t x, int64_t c) {
  if (y < 0 || y >= im->h || x < 0 || x >= im->w) return im->fill;
  return (float)td_tensor_get_double(im->in, ((b * im->h + y) * im->w + x) * im->ch + c);
}

static td_code parse_fill_mode(td_kctx *c, fill_mode *m) {
  const td_node *n = td_k_node(c);
  static const char *names[] = {"REFLECT", "WRAP", "CONSTANT", "NEAREST"};
  size_t len = 0;
  const char *s = td_attr_str(n, "fill_mode", &len);
  if (!s) {
    *m = FILL_CONSTANT;
    return TD_OK;
  }
  for (int i = 0; i < 4; i++)
    if (td_attr_str_eq(n, "fill_mode", names[i])) {
      *m = (fill_mode)i;
      return TD_OK;
    }
  return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid fill_mode: %.*s", (int)len, s);
}

static td_code projective(td_kctx *c, int v3) {
  const td_tensor *img = td_k_input(c, 0), *tr = td_k_input(c, 1), *os = td_k_input(c, 2);
  const td_node *n = td_k_node(c);
  char buf[200];
  if (img->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input images must have rank 4, got shape %s", td_shape_str(&img->shape, buf, sizeof buf));
  if (tr->shape.rank != 2 || (tr->shape.dim[0] != img->shape.dim[0] && tr->shape.dim[0] != 1) || tr->shape.dim[1] != 8)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Input transform should be num_images x 8 or 1 x 8, got shape %s", td_shape_str(&tr->shape, buf, sizeof buf));
  if (tr->dtype != TD_DT_FLOAT) return td_k_fail(c, TD_INVALID_ARGUMENT, "transforms must be float32");
  if (os->shape.rank != 1 || os->shape.dim[0] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output shape must be 1-dimensional with 2 elements, got shape %s",
                     td_shape_str(&os->shape, buf, sizeof buf));
  int64_t oh = td_tensor_get_int(os, 0), ow = td_tensor_get_int(os, 1);
  if (oh <= 0 || ow <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "output dimensions must be positive");
  int bilinear;
  if (td_attr_str_eq(n, "interpolation", "NEAREST")) bilinear = 0;
  else if (td_attr_str_eq(n, "interpolation", "BILINEAR")) bilinear = 1;
  else return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid interpolation, expected NEAREST or BILINEAR");
  fill_mode mode = FILL_CONSTANT;
  TD_TRY(parse_fill_mode(c, &mode));
  xform_img im = {img, img->shape.dim[1], img->shape.dim[2], img->shape.dim[3], 0.0f};
  if (v3) {
    const td_tensor *fv = td_k_input(c, 3);
    if (fv->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "fill_value must be a scalar");
    im.fill = (float)td_tensor_get_double(fv, 0);
  }
  int64_t nb = img->shape.dim[0];
  td_shape s = td_shape_make(4, (const int64_t[]){nb, oh, ow, im.ch});
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, img->dtype, &s, &out));
  const float *t = td_f32(tr);
  int64_t o = 0;
  for (int64_t b = 0; b < nb; b++) {
    const float *a = t + (tr->shape.dim[0] == 1 ? 0 : b * 8);
    for (int64_t y = 0; y < oh; y++)
      for (int64_t x = 0; x < ow; x++) {
        float xf = (float)x, yf = (float)y;
        float k = a[6] * xf + a[7] * yf + 1.0f;
        for (int64_t ch = 0; ch < im.ch; ch++, o++) {
          float v = im.fill;
          if (k != 0.0f) {
            float ix = map_coord((a[0] * xf + a[1] * yf + a[2]) / k, im.w, mode);
            float iy = map_coord((a[3] * xf + a[4] * yf + a[5]) / k, im.h, mode);
            if (!bilinear) {
              v = read_px(&im, b, (int64_t)roundf(iy), (int64_t)roundf(ix), ch);
            } else {
              float y0 = floorf(iy), x0 = floorf(ix), y1 = y0 + 1, x1 = x0 + 1;
              int64_t yi = (int64_t)y0, xi = (int64_t)x0;
              float top = (x1 - ix) * read_px(&im, b, yi, xi, ch) + (ix - x0) * read_px(&im, b, yi, xi + 1, ch);
              float bot = (x1 - ix) * read_px(&im, b, yi + 1, xi, ch) + (ix - x0) * read_px(&im, b, yi + 1, xi + 1, ch);
              v = (y1 - iy) * top + (iy - y0) * bot;
            }
          }
          td_tensor_set_double(out, o, v);
        }
      }
  }
  return TD_OK;
}

td_code td_k_image_projective_transform_v2(td_kctx *c) { return projective(c, 0); }
td_code td_k_image_projective_transform_v3(td_kctx *c) { return projective(c, 1); }

/* ---- CropAndResize ---- */

td_code td_k_crop_and_resize(td_kctx *c) {
  const td_tensor *img = td_k_input(c, 0), *boxes = td_k_input(c, 1), *bi = td_k_input(c, 2), *cs = td_k_input(c, 3);
  const td_node *n = td_k_node(c);
  char buf[200];
  if (img->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input image must be 4-D%s", td_shape_str(&img->shape, buf, sizeof buf));
  int64_t nb = img->shape.dim[0], h = img->shape.dim[1], w = img->shape.dim[2], depth = img->shape.dim[3];
  if (h <= 0 || w <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "image dimensions must be positive");
  if (boxes->shape.rank != 2 || boxes->shape.dim[1] != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "boxes must be 2-D [num_boxes, 4]: %s", td_shape_str(&boxes->shape, buf, sizeof buf));
  int64_t nbox = boxes->shape.dim[0];
  if (bi->shape.rank != 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "box_index must be 1-D%s", td_shape_str(&bi->shape, buf, sizeof buf));
  if (bi->shape.dim[0] != nbox) return td_k_fail(c, TD_INVALID_ARGUMENT, "box_index has incompatible shape");
  if (cs->shape.rank != 1 || cs->shape.dim[0] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "crop_size must be a length-2 vector, got shape %s", td_shape_str(&cs->shape, buf, sizeof buf));
  int64_t ch = td_tensor_get_int(cs, 0), cw = td_tensor_get_int(cs, 1);
  if (ch <= 0 || cw <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "crop dimensions must be positive");
  int nearest;
  if (td_attr_str_eq(n, "method", "bilinear")) nearest = 0;
  else if (td_attr_str_eq(n, "method", "nearest")) nearest = 1;
  else return td_k_fail(c, TD_INVALID_ARGUMENT, "method must be 'bilinear' or 'nearest'");
  float extrap = td_attr_float(n, "extrapolation_value", 0.0f);
  for (int64_t b = 0; b < nbox; b++) {
    int64_t k = td_tensor_get_int(bi, b);
    if (k < 0 || k >= nb) return td_k_fail(c, TD_INVALID_ARGUMENT, "box_index has values outside [0, batch_size)");
  }
  td_shape s = td_shape_make(4, (const int64_t[]){nbox, ch, cw, depth});
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &s, &out));
  float *o = td_f32(out);
#define PX(b, y, x, d) ((float)td_tensor_get_double(img, (((b) * h + (y)) * w + (x)) * depth + (d)))
  for (int64_t bx = 0; bx < nbox; bx++) {
    float y1 = (float)td_tensor_get_double(boxes, bx * 4), x1 = (float)td_tensor_get_double(boxes, bx * 4 + 1);
    float y2 = (float)td_tensor_get_double(boxes, bx * 4 + 2), x2 = (float)td_tensor_get_double(boxes, bx * 4 + 3);
    int64_t b = td_tensor_get_int(bi, bx);
    float hs = ch > 1 ? (y2 - y1) * (float)(h - 1) / (float)(ch - 1) : 0;
    float ws = cw > 1 ? (x2 - x1) * (float)(w - 1) / (float)(cw - 1) : 0;
    for (int64_t y = 0; y < ch; y++) {
      float iy = ch > 1 ? y1 * (float)(h - 1) + (float)y * hs : 0.5f * (y1 + y2) * (float)(h - 1);
      float *row = o + ((bx * ch + y) * cw) * depth;
      if (iy < 0 || iy > (float)(h - 1)) {
        for (int64_t i = 0; i < cw * depth; i++) row[i] = extrap;
        continue;
      }
      int64_t ty = (int64_t)floorf(iy), by = (int64_t)ceilf(iy);
      float yl = iy - (float)ty;
      for (int64_t x = 0; x < cw; x++) {
        float ix = cw > 1 ? x1 * (float)(w - 1) + (float)x * ws : 0.5f * (x1 + x2) * (float)(w - 1);
        float *px = row + x * depth;
        if (ix < 0 || ix > (float)(w - 1)) {
          for (int64_t d = 0; d < depth; d++) px[d] = extrap;
          continue;
        }
        if (nearest) {
          int64_t ny = (int64_t)roundf(iy), nx = (int64_t)roundf(ix);
          for (int64_t d = 0; d < depth; d++) px[d] = PX(b, ny, nx, d);
          continue;
        }
        int64_t lx = (int64_t)floorf(ix), rx = (int64_t)ceilf(ix);
        float xl = ix - (float)lx;
        for (int64_t d = 0; d < depth; d++) {
          float tl = PX(b, ty, lx, d), tr = PX(b, ty, rx, d), bl = PX(b, by, lx, d), br = PX(b, by, rx, d);
          float top = tl + (tr - tl) * xl, bot = bl + (br - bl) * xl;
          px[d] = top + (bot - top) * yl;
        }
      }
    }
  }
#undef PX
  return TD_OK;
}
