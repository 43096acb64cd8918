/* nn_resize.c — ResizeBilinear, ResizeBicubic and ResizeNearestNeighbor (NHWC images,
 * size = [h, w] int32).
 *
 * Coordinate mapping follows TF's image_resizer_state.h / resize_*_op.cc in float arithmetic:
 *   scale = (align_corners && out > 1) ? (in-1)/(out-1) : in/out
 *   bilinear: src = half_pixel ? (i+0.5)*scale-0.5 : i*scale; lower = max(floor(src), 0),
 *             upper = min(ceil(src), in-1), lerp = src - floor(src)
 *   nearest:  src = half_pixel ? (i+0.5)*scale : i*scale; idx = min(align ? round : floor, in-1),
 *             clamped at 0 when half_pixel.
 *   bicubic:  src as bilinear; taps floor(src)-1 .. floor(src)+2 clamped to the image, weights
 *             from TF's 1024-entry cubic table (a = -0.75; Keys a = -0.5 with half_pixel, where
 *             out-of-image taps get weight 0 and the rest are renormalized).
 * Bilinear and bicubic read any real dtype (converted to float once) and output float; nearest
 * copies elements of any fixed-size dtype unchanged.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"

typedef struct resize_geom {
  int64_t n, ih, iw, c, oh, ow;
  float sy, sx;
  int align, half_pixel;
} resize_geom;

typedef struct lerp_tap {
  int64_t lower, upper;
  float lerp;
} lerp_tap;

static float resize_scale(int64_t in, int64_t out, int align) {
  return (align && out > 1) ? (float)(in - 1) / (float)(out - 1) : (float)in / (float)out;
}

/* TF's ImageResizerState::ValidateAndCalculateOutputSize. */
static td_code resize_setup(td_kctx *c, resize_geom *g) {
  const td_node *n = td_k_node(c);
  const td_tensor *in = td_k_input(c, 0), *size = td_k_input(c, 1);
  char sbuf[96];
  g->align = td_attr_bool(n, "align_corners", false);
  g->half_pixel = td_attr_bool(n, "half_pixel_centers", false);
  if (g->align && g->half_pixel)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "If half_pixel_centers is True, align_corners must be False.");
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 4-dimensional%s",
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  if (size->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape_t must be 1-dimensional%s",
                     td_shape_str(&size->shape, sbuf, sizeof sbuf));
  if (size->shape.dim[0] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape_t must have two elements%s",
                     td_shape_str(&size->shape, sbuf, sizeof sbuf));
  if (size->dtype != TD_DT_INT32)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "size must be int32, got %s",
                     td_dtype_name(size->dtype));
  g->n = in->shape.dim[0];
  g->ih = in->shape.dim[1];
  g->iw = in->shape.dim[2];
  g->c = in->shape.dim[3];
  if (g->ih > INT32_MAX || g->iw > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input sizes must be between 0 and max int32");
  g->oh = td_i32(size)[0];
  g->ow = td_i32(size)[1];
  if (g->oh <= 0 || g->ow <= 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output dimensions must be positive");
  if (g->c <= 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "image must have at least one channel");
  if (g->ih <= 0 || g->iw <= 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input image must be of non-zero size");
  if ((double)g->n * (double)g->c * (double)g->oh * (double)g->ow > 4e18)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output size is too large");
  g->sy = resize_scale(g->ih, g->oh, g->align);
  g->sx = resize_scale(g->iw, g->ow, g->align);
  return TD_OK;
}

static void lerp_taps(int64_t out, int64_t in, float scale, int half_pixel, lerp_tap *t) {
  for (int64_t i = 0; i < out; i++) {
    float src = half_pixel ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
    float f = floorf(src);
    int64_t up = (int64_t)ceilf(src);
    t[i].lower = f > 0 ? (int64_t)f : 0;
    t[i].upper = up < in - 1 ? up : in - 1;
    t[i].lerp = src - f;
  }
}

static int64_t nearest_index(int64_t i, int64_t in, float scale, const resize_geom *g) {
  float src = g->half_pixel ? ((float)i + 0.5f) * scale : (float)i * scale;
  int64_t idx = (int64_t)(g->align ? roundf(src) : floorf(src));
  if (idx > in - 1) idx = in - 1;
  if (g->half_pixel && idx < 0) idx = 0;
  return idx;
}

/* Validates the images dtype for the float-output resizes and allocates the float output. */
static td_code float_resize_begin(td_kctx *c, const resize_geom *g, td_tensor **out) {
  const td_tensor *in = td_k_input(c, 0);
  if (in->dtype == TD_DT_STRING || in->dtype == TD_DT_RESOURCE || in->dtype == TD_DT_VARIANT ||
      in->dtype == TD_DT_COMPLEX64 || in->dtype == TD_DT_COMPLEX128 || !td_dtype_valid(in->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: unsupported images type %s",
                     td_node_op(td_k_node(c)), td_dtype_name(in->dtype));
  int64_t dims[4] = {g->n, g->oh, g->ow, g->c};
  td_shape oshape = td_shape_make(4, dims);
  return td_k_alloc_output(c, 0, TD_DT_FLOAT, &oshape, out);
}

/* The images as float: the tensor's own data, or a converted copy put in *owned (NULL on OOM). */
static const float *images_as_float(const td_tensor *in, float **owned) {
  *owned = NULL;
  if (in->dtype == TD_DT_FLOAT) return td_f32(in);
  int64_t total = td_tensor_num_elements(in);
  *owned = malloc((size_t)total * sizeof **owned);
  if (*owned)
    for (int64_t i = 0; i < total; i++) (*owned)[i] = (float)td_tensor_get_double(in, i);
  return *owned;
}

td_code td_k_nn_resize_bilinear(td_kctx *c) {
  resize_geom g;
  TD_TRY(resize_setup(c, &g));
  td_tensor *out = NULL;
  TD_TRY(float_resize_begin(c, &g, &out));
  if (g.n == 0) return TD_OK;
  float *converted = NULL;
  const float *src = images_as_float(td_k_input(c, 0), &converted);
  lerp_tap *ys = malloc((size_t)g.oh * sizeof *ys), *xs = malloc((size_t)g.ow * sizeof *xs);
  if (!ys || !xs || !src) {
    free(ys), free(xs), free(converted);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "ResizeBilinear: out of memory");
  }
  lerp_taps(g.oh, g.ih, g.sy, g.half_pixel, ys);
  lerp_taps(g.ow, g.iw, g.sx, g.half_pixel, xs);
  float *o = td_f32(out);
  for (int64_t b = 0; b < g.n; b++) {
    const float *img = src + b * g.ih * g.iw * g.c;
    for (int64_t y = 0; y < g.oh; y++) {
      const float *top = img + ys[y].lower * g.iw * g.c, *bot = img + ys[y].upper * g.iw * g.c;
      float yl = ys[y].lerp;
      for (int64_t x = 0; x < g.ow; x++, o += g.c) {
        int64_t l = xs[x].lower * g.c, r = xs[x].upper * g.c;
        float xl = xs[x].lerp;
        for (int64_t ch = 0; ch < g.c; ch++) {
          float t = top[l + ch] + (top[r + ch] - top[l + ch]) * xl;
          float bt = bot[l + ch] + (bot[r + ch] - bot[l + ch]) * xl;
          o[ch] = t + (bt - t) * yl;
        }
      }
    }
  }
  free(ys), free(xs), free(converted);
  return TD_OK;
}

/* ---- bicubic ---- */

#define CUBIC_TABLE 1024

typedef struct cubic_tap {
  int64_t idx[4];
  float w[4];
} cubic_tap;

/* TF's InitCoeffsTable: t[2i] = W(x), t[2i+1] = W(x+1) for x = i/1024. */
static void cubic_table(double a, float *t) {
  for (int i = 0; i <= CUBIC_TABLE; i++) {
    float x = (float)(i * 1.0 / CUBIC_TABLE);
    t[i * 2] = (float)(((a + 2) * x - (a + 3)) * x * x + 1);
    x += 1.0f;
    t[i * 2 + 1] = (float)(((a * x - 5 * a) * x + 8 * a) * x - 4 * a);
  }
}

static int64_t clamp_index(int64_t v, int64_t limit) {
  return v < 0 ? 0 : v > limit - 1 ? limit - 1 : v;
}

/* TF's GetWeightsAndIndices for output position i. */
static void cubic_taps(int64_t i, float scale, int64_t limit, int keys, const float *table,
                       cubic_tap *t) {
  float src = keys ? ((float)i + 0.5f) * scale - 0.5f : (float)i * scale;
  int64_t base = (int64_t)floorf(src);
  long offset = lrintf((src - (float)base) * CUBIC_TABLE);
  if (offset < 0) offset = 0;
  if (offset > CUBIC_TABLE) offset = CUBIC_TABLE;
  const float w[4] = {table[offset * 2 + 1], table[offset * 2],
                      table[(CUBIC_TABLE - offset) * 2], table[(CUBIC_TABLE - offset) * 2 + 1]};
  float sum = 0;
  for (int k = 0; k < 4; k++) {
    t->idx[k] = clamp_index(base - 1 + k, limit);
    /* Keys mode drops taps that fell outside the image (and renormalizes below). */
    t->w[k] = !keys || t->idx[k] == base - 1 + k ? w[k] : 0.0f;
    sum += t->w[k];
  }
  if (keys && fabsf(sum) >= 1000.0f * FLT_MIN)
    for (int k = 0; k < 4; k++) t->w[k] *= 1.0f / sum;
}

td_code td_k_nn_resize_bicubic(td_kctx *c) {
  resize_geom g;
  TD_TRY(resize_setup(c, &g));
  td_tensor *out = NULL;
  TD_TRY(float_resize_begin(c, &g, &out));
  if (g.n == 0) return TD_OK;
  float *converted = NULL, table[(CUBIC_TABLE + 1) * 2];
  const float *src = images_as_float(td_k_input(c, 0), &converted);
  cubic_tap *ys = malloc((size_t)g.oh * sizeof *ys), *xs = malloc((size_t)g.ow * sizeof *xs);
  if (!ys || !xs || !src) {
    free(ys), free(xs), free(converted);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "ResizeBicubic: out of memory");
  }
  cubic_table(g.half_pixel ? -0.5 : -0.75, table);
  for (int64_t y = 0; y < g.oh; y++) cubic_taps(y, g.sy, g.ih, g.half_pixel, table, &ys[y]);
  for (int64_t x = 0; x < g.ow; x++) cubic_taps(x, g.sx, g.iw, g.half_pixel, table, &xs[x]);
  float *o = td_f32(out);
  for (int64_t b = 0; b < g.n; b++) {
    const float *img = src + b * g.ih * g.iw * g.c;
    for (int64_t y = 0; y < g.oh; y++) {
      const cubic_tap *ty = &ys[y];
      const float *rows[4];
      for (int k = 0; k < 4; k++) rows[k] = img + ty->idx[k] * g.iw * g.c;
      for (int64_t x = 0; x < g.ow; x++, o += g.c) {
        const cubic_tap *tx = &xs[x];
        for (int64_t ch = 0; ch < g.c; ch++) {
          float col[4]; /* vertical pass per tap column, then horizontal (TF's order) */
          for (int j = 0; j < 4; j++) {
            int64_t off = tx->idx[j] * g.c + ch;
            col[j] = rows[0][off] * ty->w[0] + rows[1][off] * ty->w[1] + rows[2][off] * ty->w[2] +
                     rows[3][off] * ty->w[3];
          }
          o[ch] = col[0] * tx->w[0] + col[1] * tx->w[1] + col[2] * tx->w[2] + col[3] * tx->w[3];
        }
      }
    }
  }
  free(ys), free(xs), free(converted);
  return TD_OK;
}

/* ---- nearest ---- */

td_code td_k_nn_resize_nearest(td_kctx *c) {
  resize_geom g;
  TD_TRY(resize_setup(c, &g));
  const td_tensor *in = td_k_input(c, 0);
  size_t esz = td_dtype_size(in->dtype);
  if (esz == 0 || in->dtype == TD_DT_STRING || in->dtype == TD_DT_RESOURCE ||
      in->dtype == TD_DT_VARIANT)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ResizeNearestNeighbor: unsupported images type %s",
                     td_dtype_name(in->dtype));
  int64_t dims[4] = {g.n, g.oh, g.ow, g.c};
  td_shape oshape = td_shape_make(4, dims);
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output(c, 0, in->dtype, &oshape, &out));
  if (g.n == 0) return TD_OK;
  int64_t *xs = malloc((size_t)g.ow * sizeof *xs);
  if (!xs) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "ResizeNearestNeighbor: out of memory");
  for (int64_t x = 0; x < g.ow; x++) xs[x] = nearest_index(x, g.iw, g.sx, &g);
  size_t pix = (size_t)g.c * esz;
  const unsigned char *src = in->data;
  unsigned char *o = out->data;
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t y = 0; y < g.oh; y++) {
      const unsigned char *row = src + ((size_t)(b * g.ih + nearest_index(y, g.ih, g.sy, &g)) *
                                        (size_t)g.iw) * pix;
      for (int64_t x = 0; x < g.ow; x++, o += pix) memcpy(o, row + (size_t)xs[x] * pix, pix);
    }
  free(xs);
  return TD_OK;
}
