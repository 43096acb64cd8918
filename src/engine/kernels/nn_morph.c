/* nn_morph.c — MaxPoolWithArgmax and Dilation2D (float32 NHWC; rows in nn.def).
 *
 * MaxPoolWithArgmax: max over each in-image window tap (TF geometry, SAME/VALID) and the flat
 * index of the first maximal tap in scan order, ((b * H + y) * W + x) * C + c with
 * include_batch_in_index, else (y * W + x) * C + c; Targmax int64 (default) or int32.
 * Dilation2D: greyscale morphological dilation, out[b, y, x, c] = max over in-image taps
 * (dy, dx) of in[b, y*sh - pad_t + dy*rh, x*sw - pad_l + dx*rw, c] + filter[dy, dx, c]
 * (windows with no in-image tap give lowest float). Reentrant; no state.
 */
#include <float.h>
#include <string.h>

#include "engine/kernels/nn.h"

td_code td_k_nn_max_pool_with_argmax(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  const td_node *nd = td_k_node(c);
  char buf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "tensor_in must be 4-dimensional: %s", td_shape_str(&in->shape, buf, sizeof buf));
  td_dtype adt = td_attr_type(nd, "Targmax", TD_DT_INT64);
  if (adt != TD_DT_INT64 && adt != TD_DT_INT32) return td_k_fail(c, TD_INVALID_ARGUMENT, "Targmax must be int32 or int64");
  int incl = td_attr_bool(nd, "include_batch_in_index", false);
  td_nn_window w;
  td_nn_window_reset(&w, 2, 0);
  int64_t k[2], s[2];
  TD_TRY(td_nn_spatial_list(c, "ksize", NULL, 0, 2, 0, "ksize", k));
  TD_TRY(td_nn_spatial_list(c, "strides", NULL, 0, 2, 0, "strides", s));
  td_nn_padding pad;
  TD_TRY(td_nn_padding_attr(c, 0, &pad));
  td_nn_window_input(&w, &in->shape);
  w.kh = k[0], w.kw = k[1], w.sh = s[0], w.sw = s[1];
  TD_TRY(td_nn_window_solve(c, &w, pad, NULL));
  TD_TRY(td_nn_check_output_size(c, &w, w.ic));
  td_shape os = td_nn_window_output(&w, w.ic);
  td_tensor *out, *arg;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &os, &out));
  TD_TRY(td_k_alloc_output_uninit(c, 1, adt, &os, &arg));
  const float *x = td_f32(in);
  float *o = td_f32(out);
  int64_t i = 0;
  for (int64_t b = 0; b < w.n; b++)
    for (int64_t oy = 0; oy < w.oh; oy++)
      for (int64_t ox = 0; ox < w.ow; ox++)
        for (int64_t ch = 0; ch < w.ic; ch++, i++) {
          float best = -FLT_MAX;
          int64_t bi = -1;
          for (int64_t ky = 0; ky < w.kh; ky++) {
            int64_t y = oy * w.sh - w.pad_t + ky;
            if (y < 0 || y >= w.ih) continue;
            for (int64_t kx = 0; kx < w.kw; kx++) {
              int64_t xx = ox * w.sw - w.pad_l + kx;
              if (xx < 0 || xx >= w.iw) continue;
              int64_t idx = ((b * w.ih + y) * w.iw + xx) * w.ic + ch;
              if (bi < 0 || x[idx] > best) best = x[idx], bi = idx;
            }
          }
          o[i] = best;
          int64_t ai = bi < 0 ? 0 : incl ? bi : bi - b * w.ih * w.iw * w.ic;
          if (adt == TD_DT_INT64) td_i64(arg)[i] = ai;
          else td_i32(arg)[i] = (int32_t)ai;
        }
  return TD_OK;
}

td_code td_k_nn_dilation2d(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0), *f = td_k_input(c, 1);
  char buf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  TD_TRY(td_nn_require_float(c, f, "filter"));
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 4-dimensional%s", td_shape_str(&in->shape, buf, sizeof buf));
  if (f->shape.rank != 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "filter must be 3-dimensional: %s", td_shape_str(&f->shape, buf, sizeof buf));
  if (f->shape.dim[2] != in->shape.dim[3])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input and filter must have the same depth: %lld vs %lld",
                     (long long)in->shape.dim[3], (long long)f->shape.dim[2]);
  td_nn_window w;
  td_nn_window_reset(&w, 2, 0);
  int64_t s[2], r[2];
  TD_TRY(td_nn_spatial_list(c, "strides", NULL, 0, 2, 0, "strides", s));
  TD_TRY(td_nn_spatial_list(c, "rates", NULL, 0, 2, 0, "rates", r));
  td_nn_padding pad;
  TD_TRY(td_nn_padding_attr(c, 0, &pad));
  td_nn_window_input(&w, &in->shape);
  w.kh = f->shape.dim[0], w.kw = f->shape.dim[1], w.sh = s[0], w.sw = s[1], w.dh = r[0], w.dw = r[1];
  TD_TRY(td_nn_window_solve(c, &w, pad, NULL));
  TD_TRY(td_nn_check_output_size(c, &w, w.ic));
  td_shape os = td_nn_window_output(&w, w.ic);
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &os, &out));
  const float *x = td_f32(in), *fl = td_f32(f);
  float *o = td_f32(out);
  int64_t i = 0;
  for (int64_t b = 0; b < w.n; b++)
    for (int64_t oy = 0; oy < w.oh; oy++)
      for (int64_t ox = 0; ox < w.ow; ox++)
        for (int64_t ch = 0; ch < w.ic; ch++, i++) {
          float best = -FLT_MAX;
          for (int64_t ky = 0; ky < w.kh; ky++) {
            int64_t y = oy * w.sh - w.pad_t + ky * w.dh;
            if (y < 0 || y >= w.ih) continue;
            for (int64_t kx = 0; kx < w.kw; kx++) {
              int64_t xx = ox * w.sw - w.pad_l + kx * w.dw;
              if (xx < 0 || xx >= w.iw) continue;
              float v = x[((b * w.ih + y) * w.iw + xx) * w.ic + ch] + fl[(ky * w.kw + kx) * w.ic + ch];
              if (v > best) best = v;
            }
          }
          o[i] = best;
        }
  return TD_OK;
}
