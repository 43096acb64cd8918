/* nn_conv_backprop.c — Conv2DBackpropInput (Keras Conv2DTranspose) and Conv3DBackpropInputV2
 * (float32, channels-last or -first, groups = 1 or grouped when the filter in-depth divides the
 * input depth).
 *
 * The result is the gradient of a forward convolution with input shape `input_sizes`: the
 * forward geometry (td_nn_window_solve: strides, dilations, SAME/VALID/EXPLICIT) must reproduce
 * out_backprop's spatial sizes. Computed as a GEMM per block of out_backprop pixels,
 * cols[pixel, tap*ig + ci] = sum_o dy[pixel, o] * filter[tap, ci, o] (cblas_sgemm, B transposed),
 * then col2im scatter-adds each column into the input pixel its tap reads in the forward pass
 * (taps falling in the padding are dropped). Scratch is bounded to ~4 MiB per block.
 */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"

#define COL_BLOCK_BYTES ((int64_t)4 << 20)

/* Scatter-adds cols rows [r0, r0+rows) (group grp) into the NDHWC image dx. */
static void col2im(const td_nn_conv *g, const float *cols, int64_t grp, int64_t r0, int64_t rows, float *dx) {
  const td_nn_window *w = &g->w;
  int64_t ig = w->ic / g->groups, k = w->kd * w->kh * w->kw * ig, plane = w->oh * w->ow;
  for (int64_t r = 0; r < rows; r++) {
    int64_t oz = (r0 + r) / plane, oy = (r0 + r) % plane / w->ow, ox = (r0 + r) % w->ow;
    const float *src = cols + r * k;
    for (int64_t kz = 0; kz < w->kd; kz++) {
      int64_t iz = oz * w->sd - w->pad_front + kz * w->dd;
      for (int64_t ky = 0; ky < w->kh; ky++) {
        int64_t iy = oy * w->sh - w->pad_t + ky * w->dh;
        for (int64_t kx = 0; kx < w->kw; kx++, src += ig) {
          int64_t ix = ox * w->sw - w->pad_l + kx * w->dw;
          if (iz < 0 || iz >= w->id || iy < 0 || iy >= w->ih || ix < 0 || ix >= w->iw) continue;
          float *d = dx + ((iz * w->ih + iy) * w->iw + ix) * w->ic + grp * ig;
          for (int64_t ci = 0; ci < ig; ci++) d[ci] += src[ci];
        }
      }
    }
  }
}

/* dx (NDHWC, zeroed by the caller) from dy (NDHWC) and the [D]HWIO filter. 0, or -1 on OOM. */
static int backprop_direct(const td_nn_conv *g, const float *dy, const float *filter, float *dx) {
  const td_nn_window *w = &g->w;
  int64_t groups = g->groups, ig = w->ic / groups, og = g->oc / groups;
  int64_t k = w->kd * w->kh * w->kw * ig, pixels = w->od * w->oh * w->ow;
  if (k > INT32_MAX || g->oc > INT32_MAX) return -1;
  int64_t block = COL_BLOCK_BYTES / (k * (int64_t)sizeof(float));
  if (block < 1) block = 1;
  if (block > pixels) block = pixels;
  if (block > INT32_MAX) block = INT32_MAX;
  float *cols = malloc((size_t)(block * k) * sizeof *cols);
  if (!cols) return -1;
  for (int64_t n = 0; n < w->n; n++) {
    float *img = dx + n * w->id * w->ih * w->iw * w->ic;
    for (int64_t r0 = 0; r0 < pixels; r0 += block) {
      int64_t rows = pixels - r0 < block ? pixels - r0 : block;
      const float *dblk = dy + (n * pixels + r0) * g->oc;
      for (int64_t grp = 0; grp < groups; grp++) {
        /* cols[rows, k] = dy_g[rows, og] x filter_g[k, og]^T (filter rows have stride oc) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)og, 1.0f, dblk + grp * og,
                    (int)g->oc, filter + grp * og, (int)g->oc, 0.0f, cols, (int)k);
        col2im(g, cols, grp, r0, rows, img);
      }
    }
  }
  free(cols);
  return 0;
}

static td_code backprop_input(td_kctx *c, int spatial) {
  const td_tensor *sizes = td_k_input(c, 0), *f = td_k_input(c, 1), *dy = td_k_input(c, 2);
  int rank = spatial + 2, nchw = 0;
  char b1[96], b2[96];
  TD_TRY(td_nn_require_float(c, f, "filter"));
  TD_TRY(td_nn_require_float(c, dy, "out_backprop"));
  TD_TRY(td_nn_data_format(c, spatial, &nchw));
  if (sizes->shape.rank != 1 || sizes->shape.dim[0] != rank || (sizes->dtype != TD_DT_INT32 && sizes->dtype != TD_DT_INT64))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input_sizes must be a %d-element int vector, got shape %s", rank,
                     td_shape_str(&sizes->shape, b1, sizeof b1));
  if (f->shape.rank != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "filter must be %d-dimensional: %s", rank, td_shape_str(&f->shape, b1, sizeof b1));
  if (dy->shape.rank != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "out_backprop must be %d-dimensional: %s", rank,
                     td_shape_str(&dy->shape, b1, sizeof b1));
  td_shape xs = {.rank = rank};
  for (int i = 0; i < rank; i++) {
    xs.dim[i] = td_tensor_get_int(sizes, i);
    if (xs.dim[i] < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "input_sizes must be non-negative");
  }
  td_nn_conv g;
  memset(&g, 0, sizeof g);
  td_nn_window_reset(&g.w, spatial, nchw);
  int64_t strides[3], dil[3];
  TD_TRY(td_nn_spatial_list(c, "strides", NULL, 0, spatial, nchw, "strides", strides));
  TD_TRY(td_nn_spatial_list(c, "dilations", NULL, 0, spatial, nchw, "dilations", dil));
  int o = spatial - 2;
  if (spatial == 3) g.w.sd = strides[0], g.w.dd = dil[0];
  g.w.sh = strides[o], g.w.sw = strides[o + 1], g.w.dh = dil[o], g.w.dw = dil[o + 1];
  td_nn_padding pad;
  int64_t pads[4] = {0, 0, 0, 0};
  TD_TRY(td_nn_padding_attr(c, spatial == 2, &pad));
  if (pad == TD_NN_EXPLICIT) TD_TRY(td_nn_explicit_pads(c, nchw, pads));
  td_nn_window_input(&g.w, &xs);
  if (spatial == 3) g.w.kd = f->shape.dim[0];
  g.w.kh = f->shape.dim[o], g.w.kw = f->shape.dim[o + 1];
  int64_t f_in = f->shape.dim[spatial], f_out = f->shape.dim[spatial + 1];
  if (f_in <= 0 || g.w.ic % f_in != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input depth must be evenly divisible by filter depth: %lld vs %lld",
                     (long long)g.w.ic, (long long)f_in);
  g.groups = g.w.ic / f_in > 0 ? g.w.ic / f_in : 1;
  if (f_out % g.groups != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "output depth must be evenly divisible by number of groups: %lld vs %lld",
                     (long long)f_out, (long long)g.groups);
  g.oc = f_out;
  TD_TRY(td_nn_window_solve(c, &g.w, pad, pads));
  td_shape want = td_nn_window_output(&g.w, g.oc);
  if (!td_shape_equal(&want, &dy->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "%s: Size of out_backprop doesn't match computed: actual = %s, computed = %s", td_node_op(td_k_node(c)),
                     td_shape_str(&dy->shape, b1, sizeof b1), td_shape_str(&want, b2, sizeof b2));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &xs, &out)); /* zeroed: col2im accumulates */
  int64_t nx = td_shape_num_elements(&xs), ny = td_tensor_num_elements(dy);
  if (nx == 0 || ny == 0 || g.oc == 0) return TD_OK;
  const float *dyp = td_f32(dy);
  float *dx = td_f32(out), *dy_t = NULL, *dx_t = NULL;
  int rc;
  if (nchw) {
    int64_t ip = g.w.id * g.w.ih * g.w.iw, op = g.w.od * g.w.oh * g.w.ow;
    dy_t = malloc((size_t)ny * sizeof *dy_t);
    dx_t = calloc((size_t)nx, sizeof *dx_t);
    rc = -1;
    if (dy_t && dx_t) {
      td_nn_nchw_to_nhwc(dyp, dy_t, g.w.n, g.oc, op);
      rc = backprop_direct(&g, dy_t, td_f32(f), dx_t);
      if (rc == 0) td_nn_nhwc_to_nchw(dx_t, dx, g.w.n, g.w.ic, ip);
    }
  } else {
    rc = backprop_direct(&g, dyp, td_f32(f), dx);
  }
  free(dy_t);
  free(dx_t);
  if (rc != 0) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory for scratch", td_node_op(td_k_node(c)));
  return TD_OK;
}

td_code td_k_nn_conv2d_backprop_input(td_kctx *c) { return backprop_input(c, 2); }
td_code td_k_nn_conv3d_backprop_input_v2(td_kctx *c) { return backprop_input(c, 3); }
