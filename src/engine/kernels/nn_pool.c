/* nn_pool.c — MaxPool, MaxPoolV2 and AvgPool (float32, NHWC or NCHW).
 *
 * Windows use TF's geometry (nn.h). Padding never contributes values: MaxPool takes the max of
 * the in-image taps, AvgPool divides by the number of in-image taps (as TF does for SAME). A
 * window with no in-image taps (only possible with large explicit padding) yields lowest() for
 * max and 0 for avg. The loops run one output pixel at a time with the channel loop innermost,
 * which is contiguous (vectorizable) for NHWC.
 */
#include <float.h>
#include <string.h>

#include "engine/kernels/nn.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG } pool_kind;

/* Element strides of an [n, h, w, c]-indexed tensor in the window's layout. */
typedef struct pool_strides {
  int64_t n, h, w, c;
} pool_strides;

static pool_strides layout_strides(int nchw, int64_t h, int64_t w, int64_t c) {
  if (nchw) return (pool_strides){c * h * w, w, 1, h * w};
  return (pool_strides){h * w * c, w * c, c, 1};
}

static void pool_compute(pool_kind kind, const td_nn_window *w, const float *in, float *out) {
  pool_strides si = layout_strides(w->nchw, w->ih, w->iw, w->ic);
  pool_strides so = layout_strides(w->nchw, w->oh, w->ow, w->ic);
  for (int64_t n = 0; n < w->n; n++) {
    for (int64_t oy = 0; oy < w->oh; oy++) {
      int64_t y0 = oy * w->sh - w->pad_t, y1 = y0 + w->kh;
      if (y0 < 0) y0 = 0;
      if (y1 > w->ih) y1 = w->ih;
      for (int64_t ox = 0; ox < w->ow; ox++) {
        int64_t x0 = ox * w->sw - w->pad_l, x1 = x0 + w->kw;
        if (x0 < 0) x0 = 0;
        if (x1 > w->iw) x1 = w->iw;
        float *o = out + n * so.n + oy * so.h + ox * so.w;
        float init = kind == POOL_MAX ? -FLT_MAX : 0.0f;
        for (int64_t c = 0; c < w->ic; c++) o[c * so.c] = init;
        for (int64_t y = y0; y < y1; y++) {
          for (int64_t x = x0; x < x1; x++) {
            const float *i = in + n * si.n + y * si.h + x * si.w;
            if (kind == POOL_MAX) {
              for (int64_t c = 0; c < w->ic; c++) {
                float v = i[c * si.c];
                if (v > o[c * so.c]) o[c * so.c] = v;
              }
            } else {
              for (int64_t c = 0; c < w->ic; c++) o[c * so.c] += i[c * si.c];
            }
          }
        }
        int64_t count = (y1 > y0 ? y1 - y0 : 0) * (x1 > x0 ? x1 - x0 : 0);
        if (kind == POOL_AVG && count > 0) {
          float inv = 1.0f / (float)count;
          for (int64_t c = 0; c < w->ic; c++) o[c * so.c] *= inv;
        }
      }
    }
  }
}

/* Reads an int32/int64 list input (MaxPoolV2's ksize / strides) into v[4]. */
static td_code list_input(td_kctx *c, int i, const char *what, int64_t v[4]) {
  const td_tensor *t = td_k_input(c, i);
  if (t->dtype != TD_DT_INT32 && t->dtype != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be int32, got %s", what,
                     td_dtype_name(t->dtype));
  if (t->shape.rank != 1 || t->shape.dim[0] != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Sliding window %s field must specify 4 dimensions",
                     what);
  for (int k = 0; k < 4; k++) v[k] = td_tensor_get_int(t, k);
  return TD_OK;
}

/* Shared driver: attrs (or V2 inputs) → geometry → output. */
static td_code pool_run(td_kctx *c, pool_kind kind, int v2) {
  const td_tensor *in = td_k_input(c, 0);
  char sbuf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  td_nn_window w;
  memset(&w, 0, sizeof w);
  TD_TRY(td_nn_data_format(c, &w.nchw));
  if (in->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 4-dimensional%s",
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  int64_t ksize[4], strides[4];
  if (v2) {
    TD_TRY(list_input(c, 1, "ksize", ksize));
    TD_TRY(list_input(c, 2, "strides", strides));
    TD_TRY(td_nn_hw_list(c, NULL, ksize, 4, w.nchw, "ksize", &w.kh, &w.kw));
    TD_TRY(td_nn_hw_list(c, NULL, strides, 4, w.nchw, "strides", &w.sh, &w.sw));
  } else {
    const int64_t *v = NULL;
    if (td_attr_list_int(td_k_node(c), "ksize", &v) != 4)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Sliding window ksize field must specify 4 dimensions");
    if (td_attr_list_int(td_k_node(c), "strides", &v) != 4)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Sliding window strides field must specify 4 dimensions");
    TD_TRY(td_nn_hw_list(c, "ksize", NULL, 0, w.nchw, "ksize", &w.kh, &w.kw));
    TD_TRY(td_nn_hw_list(c, "strides", NULL, 0, w.nchw, "strides", &w.sh, &w.sw));
  }
  w.dh = w.dw = 1;
  td_nn_padding pad;
  int64_t pads[4] = {0, 0, 0, 0};
  TD_TRY(td_nn_padding_attr(c, kind == POOL_MAX && !v2, &pad));
  if (pad == TD_NN_EXPLICIT) TD_TRY(td_nn_explicit_pads(c, w.nchw, pads));
  td_nn_window_input(&w, &in->shape);
  TD_TRY(td_nn_window_solve(c, &w, pad, pads));
  TD_TRY(td_nn_check_output_size(c, &w, w.ic));
  td_shape oshape = td_nn_window_output(&w, w.ic);
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &oshape, &out));
  if (td_shape_num_elements(&oshape) == 0) return TD_OK;
  pool_compute(kind, &w, td_f32(in), td_f32(out));
  return TD_OK;
}

td_code td_k_nn_max_pool(td_kctx *c) { return pool_run(c, POOL_MAX, 0); }
td_code td_k_nn_max_pool_v2(td_kctx *c) { return pool_run(c, POOL_MAX, 1); }
td_code td_k_nn_avg_pool(td_kctx *c) { return pool_run(c, POOL_AVG, 0); }
