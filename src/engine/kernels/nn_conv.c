/* nn_conv.c — Conv2D and DepthwiseConv2dNative (float32, NHWC or NCHW).
 *
 * Both ops are one grouped convolution (see td_nn_conv in nn.h): Conv2D with filter
 * [kh, kw, ic/groups, oc] (groups = ic / filter in-depth, as TF allows), depthwise with filter
 * [kh, kw, ic, m] = groups ic, oc = ic*m. The work goes to oneDNN (nn_dnnl.c) and falls back to
 * td_nn_conv_direct here (im2col + cblas_sgemm, scratch bounded to ~4 MiB per block) when oneDNN
 * declines. Shapes are validated before anything is allocated; empty outputs return early.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"

#define IM2COL_BLOCK_BYTES ((int64_t)4 << 20)

/* Fills patch rows [r0, r0+rows) of image `img` (NHWC) for group g: row r = output pixel, column
 * (ky*kw + kx)*ig + ci; out-of-image taps are 0. */
static void im2col(const td_nn_conv *g, const float *img, int64_t grp, int64_t r0, int64_t rows,
                   float *patch) {
  const td_nn_window *w = &g->w;
  int64_t ig = w->ic / g->groups, k = w->kh * w->kw * ig;
  for (int64_t r = 0; r < rows; r++) {
    int64_t oy = (r0 + r) / w->ow, ox = (r0 + r) % w->ow;
    float *dst = patch + r * k;
    for (int64_t ky = 0; ky < w->kh; ky++) {
      int64_t iy = oy * w->sh - w->pad_t + ky * w->dh;
      for (int64_t kx = 0; kx < w->kw; kx++, dst += ig) {
        int64_t ix = ox * w->sw - w->pad_l + kx * w->dw;
        if (iy < 0 || iy >= w->ih || ix < 0 || ix >= w->iw) {
          memset(dst, 0, (size_t)ig * sizeof *dst);
          continue;
        }
        memcpy(dst, img + (iy * w->iw + ix) * w->ic + grp * ig, (size_t)ig * sizeof *dst);
      }
    }
  }
}

int td_nn_conv_direct(const td_nn_conv *g, const float *in, const float *filter, float *out) {
  const td_nn_window *w = &g->w;
  int64_t groups = g->groups, ig = w->ic / groups, og = g->oc / groups;
  int64_t k = w->kh * w->kw * ig, pixels = w->oh * w->ow;
  if (k > INT32_MAX || g->oc > INT32_MAX) return -1; /* cblas takes int sizes */
  int pointwise = w->kh == 1 && w->kw == 1 && w->sh == 1 && w->sw == 1 && groups == 1 &&
                  w->pad_t == 0 && w->pad_b == 0 && w->pad_l == 0 && w->pad_r == 0;
  int64_t block = IM2COL_BLOCK_BYTES / (k * (int64_t)sizeof(float));
  if (block < 1) block = 1;
  if (block > pixels) block = pixels;
  if (block > INT32_MAX) block = INT32_MAX;
  float *patch = NULL;
  if (!pointwise) {
    patch = malloc((size_t)(block * k) * sizeof *patch);
    if (!patch) return -1;
  }
  for (int64_t n = 0; n < w->n; n++) {
    const float *img = in + n * w->ih * w->iw * w->ic;
    for (int64_t r0 = 0; r0 < pixels; r0 += block) {
      int64_t rows = pixels - r0 < block ? pixels - r0 : block;
      for (int64_t grp = 0; grp < groups; grp++) {
        const float *a = img + r0 * w->ic; /* pointwise: the input rows are the patch */
        if (!pointwise) {
          im2col(g, img, grp, r0, rows, patch);
          a = patch;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)og, (int)k, 1.0f,
                    a, (int)k, filter + grp * og, (int)g->oc, 0.0f,
                    out + (n * pixels + r0) * g->oc + grp * og, (int)g->oc);
      }
    }
  }
  free(patch);
  return 0;
}

/* Runs the fallback on the node's layout (NCHW goes through NHWC copies). */
static td_code conv_direct_any_layout(td_kctx *c, const td_nn_conv *g, const float *in,
                                      const float *filter, float *out) {
  const td_nn_window *w = &g->w;
  if (!w->nchw) {
    if (td_nn_conv_direct(g, in, filter, out) == 0) return TD_OK;
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory for convolution scratch",
                     td_node_op(td_k_node(c)));
  }
  size_t in_n = (size_t)(w->n * w->ih * w->iw * w->ic), out_n = (size_t)(w->n * w->oh * w->ow * g->oc);
  float *in_t = malloc(in_n * sizeof *in_t), *out_t = malloc(out_n * sizeof *out_t);
  int rc = -1;
  if (in_t && out_t) {
    td_nn_nchw_to_nhwc(in, in_t, w->n, w->ic, w->ih * w->iw);
    rc = td_nn_conv_direct(g, in_t, filter, out_t);
    if (rc == 0) td_nn_nhwc_to_nchw(out_t, out, w->n, g->oc, w->oh * w->ow);
  }
  free(in_t);
  free(out_t);
  if (rc == 0) return TD_OK;
  return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory for convolution scratch",
                   td_node_op(td_k_node(c)));
}

/* Validates inputs/attrs and fills the geometry (TF's InitConv2DParameters +
 * ComputeConv2DDimension, or the depthwise equivalents). */
static td_code conv_setup(td_kctx *c, int depthwise, td_nn_conv *g) {
  const td_tensor *in = td_k_input(c, 0), *f = td_k_input(c, 1);
  char sbuf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  TD_TRY(td_nn_require_float(c, f, "filter"));
  memset(g, 0, sizeof *g);
  TD_TRY(td_nn_data_format(c, &g->w.nchw));
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 4-dimensional%s",
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  if (f->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "filter must be 4-dimensional: %s",
                     td_shape_str(&f->shape, sbuf, sizeof sbuf));
  TD_TRY(td_nn_hw_list(c, "strides", NULL, 0, g->w.nchw, "strides", &g->w.sh, &g->w.sw));
  TD_TRY(td_nn_hw_list(c, "dilations", NULL, 0, g->w.nchw, "dilations", &g->w.dh, &g->w.dw));
  td_nn_padding pad;
  int64_t pads[4] = {0, 0, 0, 0};
  TD_TRY(td_nn_padding_attr(c, 1, &pad));
  if (pad == TD_NN_EXPLICIT) TD_TRY(td_nn_explicit_pads(c, g->w.nchw, pads));

  td_nn_window_input(&g->w, &in->shape);
  g->w.kh = f->shape.dim[0];
  g->w.kw = f->shape.dim[1];
  int64_t f_in = f->shape.dim[2], f_out = f->shape.dim[3];
  if (depthwise) {
    if (f_in != g->w.ic)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "input and filter must have the same depth: %lld vs %lld",
                       (long long)g->w.ic, (long long)f_in);
    g->groups = g->w.ic > 0 ? g->w.ic : 1;
    g->oc = g->w.ic * f_out;
  } else {
    if (f_in <= 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "filter depth must be stricly positive, got %lld",
                       (long long)f_in);
    if (g->w.ic % f_in != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "input depth must be evenly divisible by filter depth: %lld vs %lld",
                       (long long)g->w.ic, (long long)f_in);
    g->groups = g->w.ic / f_in > 0 ? g->w.ic / f_in : 1;
    if (f_out % g->groups != 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "output depth must be evenly divisible by number of groups: %lld vs %lld",
                       (long long)f_out, (long long)g->groups);
    g->oc = f_out;
  }
  return td_nn_window_solve(c, &g->w, pad, pads);
}

static td_code conv_run(td_kctx *c, int depthwise) {
  td_nn_conv g;
  TD_TRY(conv_setup(c, depthwise, &g));
  TD_TRY(td_nn_check_output_size(c, &g.w, g.oc));
  td_shape oshape = td_nn_window_output(&g.w, g.oc);
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &oshape, &out));
  if (td_shape_num_elements(&oshape) == 0) return TD_OK;
  /* No input channels: the (zeroed) output is the answer. */
  if (g.w.ic == 0) return TD_OK;
  const float *in = td_f32(td_k_input(c, 0)), *filter = td_f32(td_k_input(c, 1));
  if (td_nn_dnnl_enabled() && td_nn_conv_dnnl(c, &g, in, filter, td_f32(out)) == 0) return TD_OK;
  return conv_direct_any_layout(c, &g, in, filter, td_f32(out));
}

td_code td_k_nn_conv2d(td_kctx *c) { return conv_run(c, 0); }
td_code td_k_nn_depthwise_conv2d(td_kctx *c) { return conv_run(c, 1); }
