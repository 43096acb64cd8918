/* nn_conv.c — Conv2D, DepthwiseConv2dNative and Conv3D (float32, channels-last or -first).
 *
 * All are one grouped convolution (see td_nn_conv in nn.h): Conv2D with filter
 * [kh, kw, ic/groups, oc] (groups = ic / filter in-depth, as TF allows), depthwise with filter
 * [kh, kw, ic, m] = groups ic, oc = ic*m, Conv3D with filter [kd, kh, kw, ic/groups, oc]. The work goes to oneDNN (nn_dnnl.c) and falls back to
 * td_nn_conv_direct here (im2col + cblas_sgemm, scratch bounded to ~4 MiB per block) when oneDNN
 * declines. A fused epilogue (td_k_fusion: constant bias + Relu/Relu6) is applied by whichever
 * path runs: oneDNN as conv bias + eltwise post-op, the fallback by seeding each output block with
 * the bias (gemm beta = 1) and clamping it while hot. Shapes are validated before anything is
 * allocated; empty outputs return early.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"
#include "util/mem.h"

#define IM2COL_BLOCK_BYTES ((int64_t)4 << 20)

/* Fills patch rows [r0, r0+rows) of image `img` (N[D]HWC) for group g: row r = output pixel,
 * column ((kz*kh + ky)*kw + kx)*ig + ci; out-of-image taps are 0. */
static void im2col(const td_nn_conv *g, const float *img, int64_t grp, int64_t r0, int64_t rows,
                   float *patch) {
  const td_nn_window *w = &g->w;
  int64_t ig = w->ic / g->groups, k = w->kd * w->kh * w->kw * ig, plane = w->oh * w->ow;
  for (int64_t r = 0; r < rows; r++) {
    int64_t oz = (r0 + r) / plane, oy = (r0 + r) % plane / w->ow, ox = (r0 + r) % w->ow;
    float *dst = patch + r * k;
    for (int64_t kz = 0; kz < w->kd; kz++) {
      int64_t iz = oz * w->sd - w->pad_front + kz * w->dd;
      for (int64_t ky = 0; ky < w->kh; ky++) {
        int64_t iy = oy * w->sh - w->pad_t + ky * w->dh;
        for (int64_t kx = 0; kx < w->kw; kx++, dst += ig) {
          int64_t ix = ox * w->sw - w->pad_l + kx * w->dw;
          if (iz < 0 || iz >= w->id || iy < 0 || iy >= w->ih || ix < 0 || ix >= w->iw) {
            memset(dst, 0, (size_t)ig * sizeof *dst);
            continue;
          }
          memcpy(dst, img + ((iz * w->ih + iy) * w->iw + ix) * w->ic + grp * ig,
                 (size_t)ig * sizeof *dst);
        }
      }
    }
  }
}

int td_nn_conv_direct(const td_nn_conv *g, const float *in, const float *filter,
                      const td_fusion *f, float *out) {
  const td_nn_window *w = &g->w;
  int64_t groups = g->groups, ig = w->ic / groups, og = g->oc / groups;
  int64_t k = w->kd * w->kh * w->kw * ig, pixels = w->od * w->oh * w->ow;
  if (k <= 0 || k > INT32_MAX || g->oc > INT32_MAX) return -1; /* cblas takes int sizes */
  int pointwise = w->kd == 1 && w->kh == 1 && w->kw == 1 && w->sd == 1 && w->sh == 1 &&
                  w->sw == 1 && groups == 1 && w->pad_front == 0 && w->pad_back == 0 &&
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
  const float *bias = f && f->bias ? td_f32(f->bias) : NULL;
  for (int64_t n = 0; n < w->n; n++) {
    const float *img = in + n * w->id * w->ih * w->iw * w->ic;
    for (int64_t r0 = 0; r0 < pixels; r0 += block) {
      int64_t rows = pixels - r0 < block ? pixels - r0 : block;
      float *oblk = out + (n * pixels + r0) * g->oc;
      if (bias) td_nn_fill_bias(bias, oblk, rows, g->oc); /* gemm accumulates onto it */
      for (int64_t grp = 0; grp < groups; grp++) {
        const float *a = img + r0 * w->ic; /* pointwise: the input rows are the patch */
        if (!pointwise) {
          im2col(g, img, grp, r0, rows, patch);
          a = patch;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)og, (int)k, 1.0f,
                    a, (int)k, filter + grp * og, (int)g->oc, bias ? 1.0f : 0.0f,
                    oblk + grp * og, (int)g->oc);
      }
      td_nn_epilogue(f, 0, oblk, rows, g->oc); /* the activation, while the block is hot */
    }
  }
  free(patch);
  return 0;
}

/* Runs the fallback on the node's layout (NCHW goes through NHWC copies). */
static td_code conv_direct_any_layout(td_kctx *c, const td_nn_conv *g, const float *in,
                                      const float *filter, const td_fusion *f, float *out) {
  const td_nn_window *w = &g->w;
  if (!w->nchw) {
    if (td_nn_conv_direct(g, in, filter, f, out) == 0) return TD_OK;
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory for convolution scratch",
                     td_node_op(td_k_node(c)));
  }
  int64_t in_pixels = w->id * w->ih * w->iw, out_pixels = w->od * w->oh * w->ow;
  size_t in_n = (size_t)(w->n * in_pixels * w->ic), out_n = (size_t)(w->n * out_pixels * g->oc);
  float *in_t = malloc(in_n * sizeof *in_t), *out_t = malloc(out_n * sizeof *out_t);
  int rc = -1;
  if (in_t && out_t) {
    td_nn_nchw_to_nhwc(in, in_t, w->n, w->ic, in_pixels);
    rc = td_nn_conv_direct(g, in_t, filter, f, out_t);
    if (rc == 0) td_nn_nhwc_to_nchw(out_t, out, w->n, g->oc, out_pixels);
  }
  free(in_t);
  free(out_t);
  if (rc == 0) return TD_OK;
  return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory for convolution scratch",
                   td_node_op(td_k_node(c)));
}

typedef enum conv_kind { CONV_2D, CONV_DEPTHWISE, CONV_3D } conv_kind;

/* Validates inputs/attrs and fills the geometry (TF's InitConv2DParameters +
 * ComputeConv2DDimension, the depthwise and Conv3D equivalents). */
static td_code conv_setup(td_kctx *c, conv_kind kind, td_nn_conv *g) {
  const td_tensor *in = td_k_input(c, 0), *f = td_k_input(c, 1);
  int spatial = kind == CONV_3D ? 3 : 2, rank = spatial + 2, nchw = 0;
  char sbuf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  TD_TRY(td_nn_require_float(c, f, "filter"));
  TD_TRY(td_nn_data_format(c, spatial, &nchw));
  memset(g, 0, sizeof *g);
  td_nn_window_reset(&g->w, spatial, nchw);
  if (in->shape.rank != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be %d-dimensional%s", rank,
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  if (f->shape.rank != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "filter must be %d-dimensional: %s", rank,
                     td_shape_str(&f->shape, sbuf, sizeof sbuf));
  int64_t strides[3], dilations[3];
  TD_TRY(td_nn_spatial_list(c, "strides", NULL, 0, spatial, nchw, "strides", strides));
  TD_TRY(td_nn_spatial_list(c, "dilations", NULL, 0, spatial, nchw, "dilations", dilations));
  int o = spatial - 2; /* index of h in the spatial lists */
  if (spatial == 3) g->w.sd = strides[0], g->w.dd = dilations[0];
  g->w.sh = strides[o], g->w.sw = strides[o + 1];
  g->w.dh = dilations[o], g->w.dw = dilations[o + 1];
  td_nn_padding pad;
  int64_t pads[4] = {0, 0, 0, 0};
  TD_TRY(td_nn_padding_attr(c, kind != CONV_3D, &pad));
  if (pad == TD_NN_EXPLICIT) TD_TRY(td_nn_explicit_pads(c, nchw, pads));

  td_nn_window_input(&g->w, &in->shape);
  if (spatial == 3) g->w.kd = f->shape.dim[0];
  g->w.kh = f->shape.dim[o];
  g->w.kw = f->shape.dim[o + 1];
  int64_t f_in = f->shape.dim[spatial], f_out = f->shape.dim[spatial + 1];
  if (kind == CONV_DEPTHWISE) {
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

static td_code conv_run(td_kctx *c, conv_kind kind, const td_fusion *f, td_tensor **out_p, td_nn_conv *gp) {
  td_nn_conv g;
  TD_TRY(conv_setup(c, kind, &g));
  TD_TRY(td_nn_check_output_size(c, &g.w, g.oc));
  td_shape oshape = td_nn_window_output(&g.w, g.oc);
  TD_TRY(td_nn_fusion_check(c, f, &oshape, g.oc));
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &oshape, &out));
  if (out_p) *out_p = out;
  if (gp) *gp = g;
  if (td_shape_num_elements(&oshape) == 0) return TD_OK;
  if (g.w.ic == 0) { /* no input channels: the answer is zeros (then the epilogue) */
    memset(out->data, 0, td_tensor_nbytes(out));
    if (!f) return TD_OK;
    float *o = td_f32(out), *v = td_xcalloc((size_t)g.oc, sizeof *v); /* v = act(0 + bias) */
    td_nn_epilogue(f, 1, v, 1, g.oc);
    int64_t total = td_shape_num_elements(&oshape), pix = total / (g.w.n * g.oc);
    for (int64_t i = 0; i < total; i++) o[i] = v[g.w.nchw ? i / pix % g.oc : i % g.oc];
    free(v);
    return TD_OK;
  }
  const float *in = td_f32(td_k_input(c, 0)), *filter = td_f32(td_k_input(c, 1));
  if (td_nn_dnnl_enabled() && td_nn_conv_dnnl(c, &g, in, filter, f, td_f32(out)) == 0)
    return TD_OK;
  return conv_direct_any_layout(c, &g, in, filter, f, td_f32(out));
}

td_code td_k_nn_conv2d(td_kctx *c) { return conv_run(c, CONV_2D, td_k_fusion(c), NULL, NULL); }
td_code td_k_nn_depthwise_conv2d(td_kctx *c) { return conv_run(c, CONV_DEPTHWISE, td_k_fusion(c), NULL, NULL); }
td_code td_k_nn_conv3d(td_kctx *c) { return conv_run(c, CONV_3D, td_k_fusion(c), NULL, NULL); }

td_code td_nn_conv2d_geometry(td_kctx *c, td_nn_conv *g) {
  TD_TRY(conv_setup(c, CONV_2D, g));
  return td_nn_check_output_size(c, &g->w, g->oc);
}

td_code td_nn_conv2d_run(td_kctx *c, int depthwise, const td_fusion *f, td_tensor **out, td_nn_conv *g) {
  return conv_run(c, depthwise ? CONV_DEPTHWISE : CONV_2D, f, out, g);
}
