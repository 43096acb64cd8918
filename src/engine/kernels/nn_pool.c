/* nn_pool.c — MaxPool, MaxPoolV2, AvgPool, MaxPool3D and AvgPool3D (float32, channels-last or
 * channels-first).
 *
 * Windows use TF's geometry (nn.h). Padding never contributes values: MaxPool takes the max of
 * the in-image taps, AvgPool divides by the number of in-image taps (as TF does for SAME). A
 * window with no in-image taps (only possible with large explicit padding) yields lowest() for
 * max and 0 for avg. The loops run one output pixel at a time with the channel loop innermost;
 * channels-last input takes pool_nhwc, whose per-tap loops are unit-stride and vectorize,
 * split by image over the intra-op threads for large batches.
 */
#include <float.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/kernels/nn.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG } pool_kind;

/* Element strides of an [n, d, h, w, c]-indexed tensor in the window's layout. */
typedef struct pool_strides {
  int64_t n, d, h, w, c;
} pool_strides;

static pool_strides layout_strides(int nchw, int64_t d, int64_t h, int64_t w, int64_t c) {
  if (nchw) return (pool_strides){c * d * h * w, h * w, w, 1, d * h * w};
  return (pool_strides){d * h * w * c, h * w * c, w * c, c, 1};
}

/* Clips the window [start, start + k) of output index o to [0, in). */
static void window_range(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in,
                         int64_t *lo, int64_t *hi) {
  int64_t a = o * stride - pad, b = a + k;
  *lo = a < 0 ? 0 : a;
  *hi = b > in ? in : b;
}

/* Channels-last fast path: every tap is a contiguous run of ic floats, so the per-tap loops
 * are unit-stride over non-aliasing buffers and vectorize (max compiles to maxps, which keeps
 * the generic path's "NaN taps are skipped" rule: o = v > o ? v : o). */
static inline void max_tap(float *restrict o, const float *restrict i, int64_t n) {
  for (int64_t c = 0; c < n; c++) o[c] = i[c] > o[c] ? i[c] : o[c];
}
static inline void add_tap(float *restrict o, const float *restrict i, int64_t n) {
  for (int64_t c = 0; c < n; c++) o[c] += i[c];
}
static void scale_row(float *restrict o, float s, int64_t n) {
  for (int64_t c = 0; c < n; c++) o[c] *= s;
}

/* The tap loops compiled three times (AVX-512, AVX2, baseline) and picked at run time
 * (pool_nhwc below): 8/16-wide max/add where the CPU has them. Runtime dispatch through a
 * function pointer instead of target_clones, whose ifunc resolver runs before ThreadSanitizer's
 * runtime is up (TSan binaries would not start). */
static inline __attribute__((always_inline)) void pool_nhwc_body(pool_kind kind, const td_nn_window *w,
                                                                 const float *in, float *out) {
  int64_t ch = w->ic;
  float init = kind == POOL_MAX ? -FLT_MAX : 0.0f;
  for (int64_t n = 0; n < w->n; n++)
    for (int64_t oz = 0; oz < w->od; oz++) {
      int64_t z0, z1;
      window_range(oz, w->sd, w->pad_front, w->kd, w->id, &z0, &z1);
      for (int64_t oy = 0; oy < w->oh; oy++) {
        int64_t y0, y1;
        window_range(oy, w->sh, w->pad_t, w->kh, w->ih, &y0, &y1);
        float *orow = out + (((n * w->od + oz) * w->oh + oy) * w->ow) * ch;
        for (int64_t ox = 0; ox < w->ow; ox++) {
          int64_t x0, x1;
          window_range(ox, w->sw, w->pad_l, w->kw, w->iw, &x0, &x1);
          float *o = orow + ox * ch;
          for (int64_t c = 0; c < ch; c++) o[c] = init;
          for (int64_t z = z0; z < z1; z++)
            for (int64_t y = y0; y < y1; y++) {
              const float *irow = in + (((n * w->id + z) * w->ih + y) * w->iw) * ch;
              if (kind == POOL_MAX) /* branch outside the tap loops so both inline */
                for (int64_t x = x0; x < x1; x++) max_tap(o, irow + x * ch, ch);
              else
                for (int64_t x = x0; x < x1; x++) add_tap(o, irow + x * ch, ch);
            }
          int64_t count = (z1 > z0 ? z1 - z0 : 0) * (y1 > y0 ? y1 - y0 : 0) *
                          (x1 > x0 ? x1 - x0 : 0);
          if (kind == POOL_AVG && count > 0) scale_row(o, 1.0f / (float)count, ch);
        }
      }
    }
}

__attribute__((target("avx512f"))) static void pool_nhwc_avx512(pool_kind kind, const td_nn_window *w,
                                                                  const float *in, float *out) {
  pool_nhwc_body(kind, w, in, out);
}
__attribute__((target("avx2"))) static void pool_nhwc_avx2(pool_kind kind, const td_nn_window *w, const float *in,
                                                           float *out) {
  pool_nhwc_body(kind, w, in, out);
}
static void pool_nhwc_base(pool_kind kind, const td_nn_window *w, const float *in, float *out) {
  pool_nhwc_body(kind, w, in, out);
}

typedef void (*pool_nhwc_fn)(pool_kind, const td_nn_window *, const float *, float *);

/* Resolved on first use; a race only makes two threads store the same pointer. */
static pool_nhwc_fn pool_nhwc_resolve(void) {
  static _Atomic(pool_nhwc_fn) impl;
  pool_nhwc_fn f = atomic_load_explicit(&impl, memory_order_relaxed);
  if (f) return f;
  __builtin_cpu_init();
  f = __builtin_cpu_supports("avx512f") ? pool_nhwc_avx512
      : __builtin_cpu_supports("avx2")  ? pool_nhwc_avx2
                                        : pool_nhwc_base;
  atomic_store_explicit(&impl, f, memory_order_relaxed);
  return f;
}

static void pool_nhwc(pool_kind kind, const td_nn_window *w, const float *in, float *out) {
  pool_nhwc_resolve()(kind, w, in, out);
}

void td_nn_max_pool_nhwc(const td_nn_window *w, const float *in, float *out) { pool_nhwc(POOL_MAX, w, in, out); }

/* Channels-last pooling split by image across the intra-op threads (OpenMP) when there is
 * enough work to pay for waking them: the images are independent. */
#define POOL_PARALLEL_MIN_WORK (1 << 16) /* output floats x taps */
static void pool_nhwc_parallel(pool_kind kind, const td_nn_window *w, const float *in, float *out, int threads) {
  int64_t in_image = w->id * w->ih * w->iw * w->ic, out_image = w->od * w->oh * w->ow * w->ic;
  int64_t work = w->n * out_image * w->kd * w->kh * w->kw;
  if (threads < 2 || w->n < 2 || work < POOL_PARALLEL_MIN_WORK) {
    pool_nhwc(kind, w, in, out);
    return;
  }
  int64_t chunks = w->n < threads ? w->n : threads;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t t = 0; t < chunks; t++) {
    td_nn_window part = *w;
    int64_t first = w->n * t / chunks;
    part.n = w->n * (t + 1) / chunks - first;
    pool_nhwc(kind, &part, in + first * in_image, out + first * out_image);
  }
}

static void pool_compute(pool_kind kind, const td_nn_window *w, const float *in, float *out, int threads) {
  if (!w->nchw) {
    pool_nhwc_parallel(kind, w, in, out, threads);
    return;
  }
  pool_strides si = layout_strides(w->nchw, w->id, w->ih, w->iw, w->ic);
  pool_strides so = layout_strides(w->nchw, w->od, w->oh, w->ow, w->ic);
  float init = kind == POOL_MAX ? -FLT_MAX : 0.0f;
  for (int64_t n = 0; n < w->n; n++)
    for (int64_t oz = 0; oz < w->od; oz++) {
      int64_t z0, z1;
      window_range(oz, w->sd, w->pad_front, w->kd, w->id, &z0, &z1);
      for (int64_t oy = 0; oy < w->oh; oy++) {
        int64_t y0, y1;
        window_range(oy, w->sh, w->pad_t, w->kh, w->ih, &y0, &y1);
        for (int64_t ox = 0; ox < w->ow; ox++) {
          int64_t x0, x1;
          window_range(ox, w->sw, w->pad_l, w->kw, w->iw, &x0, &x1);
          float *o = out + n * so.n + oz * so.d + oy * so.h + ox * so.w;
          for (int64_t c = 0; c < w->ic; c++) o[c * so.c] = init;
          for (int64_t z = z0; z < z1; z++)
            for (int64_t y = y0; y < y1; y++)
              for (int64_t x = x0; x < x1; x++) {
                const float *i = in + n * si.n + z * si.d + y * si.h + x * si.w;
                if (kind == POOL_MAX) {
                  for (int64_t c = 0; c < w->ic; c++) {
                    float v = i[c * si.c];
                    if (v > o[c * so.c]) o[c * so.c] = v;
                  }
                } else {
                  for (int64_t c = 0; c < w->ic; c++) o[c * so.c] += i[c * si.c];
                }
              }
          int64_t count = (z1 > z0 ? z1 - z0 : 0) * (y1 > y0 ? y1 - y0 : 0) *
                          (x1 > x0 ? x1 - x0 : 0);
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
static td_code pool_run(td_kctx *c, pool_kind kind, int spatial, int v2) {
  const td_tensor *in = td_k_input(c, 0);
  int rank = spatial + 2, nchw = 0;
  char sbuf[96];
  TD_TRY(td_nn_require_float(c, in, "input"));
  TD_TRY(td_nn_data_format(c, spatial, &nchw));
  td_nn_window w;
  td_nn_window_reset(&w, spatial, nchw);
  if (in->shape.rank != rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be %d-dimensional%s", rank,
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  int64_t ksize[3], strides[3];
  if (v2) {
    int64_t kv[4], sv[4];
    TD_TRY(list_input(c, 1, "ksize", kv));
    TD_TRY(list_input(c, 2, "strides", sv));
    TD_TRY(td_nn_spatial_list(c, NULL, kv, 4, 2, nchw, "ksize", ksize));
    TD_TRY(td_nn_spatial_list(c, NULL, sv, 4, 2, nchw, "strides", strides));
  } else {
    static const char *lists[] = {"ksize", "strides"};
    const int64_t *v = NULL;
    for (int i = 0; i < 2; i++)
      if (td_attr_list_int(td_k_node(c), lists[i], &v) != (size_t)rank)
        return td_k_fail(c, TD_INVALID_ARGUMENT,
                         "Sliding window %s field must specify %d dimensions", lists[i], rank);
    TD_TRY(td_nn_spatial_list(c, "ksize", NULL, 0, spatial, nchw, "ksize", ksize));
    TD_TRY(td_nn_spatial_list(c, "strides", NULL, 0, spatial, nchw, "strides", strides));
  }
  int o = spatial - 2;
  if (spatial == 3) w.kd = ksize[0], w.sd = strides[0];
  w.kh = ksize[o], w.kw = ksize[o + 1];
  w.sh = strides[o], w.sw = strides[o + 1];
  w.dh = w.dw = 1;
  td_nn_padding pad;
  int64_t pads[4] = {0, 0, 0, 0};
  TD_TRY(td_nn_padding_attr(c, kind == POOL_MAX && !v2 && spatial == 2, &pad));
  if (pad == TD_NN_EXPLICIT) TD_TRY(td_nn_explicit_pads(c, nchw, pads));
  td_nn_window_input(&w, &in->shape);
  TD_TRY(td_nn_window_solve(c, &w, pad, pads));
  TD_TRY(td_nn_check_output_size(c, &w, w.ic));
  td_shape oshape = td_nn_window_output(&w, w.ic);
  td_tensor *out = NULL;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &oshape, &out));
  if (td_shape_num_elements(&oshape) == 0) return TD_OK;
  pool_compute(kind, &w, td_f32(in), td_f32(out), td_k_threads(c));
  return TD_OK;
}

td_code td_k_nn_max_pool(td_kctx *c) { return pool_run(c, POOL_MAX, 2, 0); }
td_code td_k_nn_max_pool_v2(td_kctx *c) { return pool_run(c, POOL_MAX, 2, 1); }
td_code td_k_nn_avg_pool(td_kctx *c) { return pool_run(c, POOL_AVG, 2, 0); }
td_code td_k_nn_max_pool3d(td_kctx *c) { return pool_run(c, POOL_MAX, 3, 0); }
td_code td_k_nn_avg_pool3d(td_kctx *c) { return pool_run(c, POOL_AVG, 3, 0); }
