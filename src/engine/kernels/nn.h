/* nn.h — shared pieces of the neural-network kernel family (nn_*.c; rows in nn.def).
 *
 * Window geometry follows TF's GetWindowedOutputSizeVerbose: for each spatial dim,
 *   VALID:    out = ceil((in - eff_k + 1) / stride), no padding
 *   SAME:     out = ceil(in / stride), pad_total = max((out-1)*stride + eff_k - in, 0),
 *             pad_before = pad_total / 2
 *   EXPLICIT: out = (in + before + after - eff_k) / stride + 1
 * with eff_k = (k-1)*dilation + 1. Geometry is always expressed in NHWC terms; `nchw` only says
 * how the caller's tensors are laid out. All sizes are validated (positive, < 2^31 for attrs)
 * before any arithmetic that could overflow.
 *
 * Convolutions run through oneDNN (nn_dnnl.c) with a direct im2col + sgemm fallback
 * (nn_conv.c); both compute the same td_nn_conv geometry and apply a fused bias + activation
 * (td_k_fusion) when the callable folded one into the step. Thread-safe: nothing here keeps
 * global mutable state except the oneDNN on/off switch (an atomic, for tests).
 */
#ifndef TD_ENGINE_KERNELS_NN_H
#define TD_ENGINE_KERNELS_NN_H

#include <stdint.h>

#include "engine/kernel.h"

typedef enum td_nn_padding { TD_NN_VALID, TD_NN_SAME, TD_NN_EXPLICIT } td_nn_padding;

/* A 2-D or 3-D sliding window over an N[D]HWC-ordered batch. 2-D windows keep the depth fields
 * at their neutral values (id = kd = sd = dd = od = 1, no depth padding), so one loop nest
 * serves both; td_nn_window_reset sets those defaults. */
typedef struct td_nn_window {
  int spatial;                    /* 2 or 3 spatial dims */
  int64_t n, id, ih, iw, ic;      /* input batch, depth, height, width, channels */
  int64_t kd, kh, kw;             /* window (filter) size */
  int64_t sd, sh, sw;             /* strides */
  int64_t dd, dh, dw;             /* dilations (1 = none) */
  int64_t pad_front, pad_back, pad_t, pad_b, pad_l, pad_r;
  int64_t od, oh, ow;             /* output depth, height, width */
  int nchw;                       /* caller tensors are channels-first (NCHW / NCDHW) */
} td_nn_window;

/* A grouped 2-D/3-D convolution: filter is TF's [D]HWIO [kd, kh, kw, ic/groups, oc]; output channel o
 * belongs to group o / (oc/groups). Depthwise conv with multiplier m is groups = ic, oc = ic*m. */
typedef struct td_nn_conv {
  td_nn_window w;
  int64_t oc;
  int64_t groups;
} td_nn_conv;

/* ---- attribute parsing (nn_common.c) ---- */
/* Zeroes w and sets the neutral depth fields; spatial is 2 or 3. */
void td_nn_window_reset(td_nn_window *w, int spatial, int nchw);
/* data_format "NHWC" (default) or "NCHW" (spatial 2), "NDHWC" (default) or "NCDHW" (spatial 3);
 * anything else fails. *nchw = channels-first. */
td_code td_nn_data_format(td_kctx *c, int spatial, int *nchw) TD_MUST_CHECK;
/* padding "VALID" / "SAME" / "EXPLICIT" (EXPLICIT only if allow_explicit). */
td_code td_nn_padding_attr(td_kctx *c, int allow_explicit, td_nn_padding *out) TD_MUST_CHECK;
/* A (spatial+2)-entry int list (attr `name`, or `vals` if non-NULL with `nvals` entries) in
 * data_format order → its spatial entries out[0..spatial) (d, h, w or h, w); the batch and
 * channel entries must equal 1 (`what` names the list in TF's messages: "strides",
 * "dilations", "ksize"). Absent attr → all 1. */
td_code td_nn_spatial_list(td_kctx *c, const char *name, const int64_t *vals, size_t nvals,
                           int spatial, int nchw, const char *what, int64_t *out) TD_MUST_CHECK;
/* explicit_paddings (8 values, data_format order) → top/bottom/left/right. */
td_code td_nn_explicit_pads(td_kctx *c, int nchw, int64_t pads[4]) TD_MUST_CHECK;
/* Fills od/oh/ow and pads of w (whose input sizes, window, strides and dilations are set) for
 * `pad`; explicit_pads (top, bottom, left, right) is used only for TD_NN_EXPLICIT (2-D). */
td_code td_nn_window_solve(td_kctx *c, td_nn_window *w, td_nn_padding pad,
                           const int64_t explicit_pads[4]) TD_MUST_CHECK;
/* Reads n/[id]/ih/iw/ic from a rank-(spatial+2) shape in the window's layout. */
void td_nn_window_input(td_nn_window *w, const td_shape *s);
/* Fails if n*od*oh*ow*channels could overflow int64 (huge explicit pads / windows). */
td_code td_nn_check_output_size(td_kctx *c, const td_nn_window *w, int64_t channels) TD_MUST_CHECK;
/* Output shape [n, (od,) oh, ow, c] (channels second when nchw). */
td_shape td_nn_window_output(const td_nn_window *w, int64_t c);
/* Requires a float32 tensor (message names the op and arg). */
td_code td_nn_require_float(td_kctx *c, const td_tensor *t, const char *arg) TD_MUST_CHECK;

/* ---- layout helpers (nn_common.c) ---- */
/* [n, c, pixels] <-> [n, pixels, c] transposes (dst must not alias src). */
void td_nn_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t hw);
void td_nn_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t hw);

/* ---- fused epilogues (td_k_fusion; nn_common.c, also used by MatMul) ---- */
/* Validates a fusion (NULL passes) for an output with `channels` channels: the bias must be
 * float32 [channels] (BiasAdd's messages; `out` names the output shape in them). */
td_code td_nn_fusion_check(td_kctx *c, const td_fusion *f, const td_shape *out,
                           int64_t channels) TD_MUST_CHECK;
/* out[r, j] = bias[j] for a [rows, ch] row-major block (before a beta=1 gemm). */
void td_nn_fill_bias(const float *bias, float *out, int64_t rows, int64_t ch);
/* In place on a [rows, ch] block: adds bias (when add_bias and f->bias) then applies f->act,
 * with Relu / Relu6's semantics (NaN stays NaN). NULL f = nothing. */
void td_nn_epilogue(const td_fusion *f, int add_bias, float *out, int64_t rows, int64_t ch);

/* ---- convolution ---- */
/* Direct convolution (im2col + cblas_sgemm), N[D]HWC in/out, [D]HWIO filter (nn_conv.c), with
 * the fused epilogue f (NULL = none) applied per block. `out` need not be zeroed. Returns 0,
 * or -1 if a scratch allocation failed. */
int td_nn_conv_direct(const td_nn_conv *g, const float *in, const float *filter,
                      const td_fusion *f, float *out);
/* oneDNN convolution with per-node cached primitives and reordered weights (nn_dnnl.c).
 * in/out use the geometry's layout (channels-last or channels-first). Returns 0 on success, -1 if oneDNN could not
 * handle it (the caller falls back to td_nn_conv_direct). */
int td_nn_conv_dnnl(td_kctx *c, const td_nn_conv *g, const float *in, const float *filter,
                    const td_fusion *f, float *out);
/* Float [m,k]·[k,n] with constant plain weights b through oneDNN (math_matmul.c): a 1x1
 * convolution over m pixels whose HWIO filter [1,1,k,n] is b's own layout, so nn_dnnl.c caches
 * the plan per m and the reordered weights per b. Epilogue f (NULL = none). 0 on success, -1 if
 * oneDNN declined. */
int td_nn_matmul_dnnl(td_kctx *c, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                      const td_fusion *f, float *out);
/* Conv2D (depthwise: DepthwiseConv2dNative) of inputs 0 and 1 with the node's conv attrs and
 * the epilogue f (NULL = none) into output 0 (nn_conv.c); *out and *g (either may be NULL)
 * receive the output and its geometry. For the grappler-fused ops (nn_fused.c). */
td_code td_nn_conv2d_run(td_kctx *c, int depthwise, const td_fusion *f, td_tensor **out,
                         td_nn_conv *g) TD_MUST_CHECK;
/* Conv2D's geometry from inputs 0 (input) and 1 (filter) and the node's attrs, validated with
 * TF's messages, output size checked (nn_conv.c). */
td_code td_nn_conv2d_geometry(td_kctx *c, td_nn_conv *g) TD_MUST_CHECK;
/* Max pooling of a channels-last block (w->nchw = 0) with the window w (nn_pool.c). */
void td_nn_max_pool_nhwc(const td_nn_window *w, const float *in, float *out);
/* The fused step of Conv2D (+ its fused BiasAdd / Relu) → MaxPool that opt_nn_fuse.c builds:
 * inputs x, filter and an int64 [5] constant (pool kh, kw, sh, sw, SAME = 1 / VALID = 0);
 * convolves batch chunks into a cache-sized buffer and pools each (nn_conv_pool.c). */
td_code td_k_nn_conv2d_max_pool(td_kctx *c);
/* Exact GELU fused by opt_nn_fuse.c (nn_fused_ew.c): inputs x and the scalar constant c;
 * y = (0.5 * x) * (1 + erf(x * c)) (mul) or erf(x / c) (div). */
td_code td_k_nn_gelu_mul(td_kctx *c);
td_code td_k_nn_gelu_div(td_kctx *c);
/* LayerNorm (moments form) fused by opt_nn_fuse.c (nn_fused_ew.c): inputs x, axes (the last),
 * eps, gamma [n], beta [n]. */
td_code td_k_nn_layer_norm(td_kctx *c);

/* Test hook: 0 disables the oneDNN path process-wide (default 1). */
void td_nn_set_dnnl_enabled(int on);
int td_nn_dnnl_enabled(void);
/* Test hook: 0 keeps plans created from now on off Winograd (default 1: chosen by shape). */
void td_nn_set_winograd_enabled(int on);
/* Test hook: how many times oneDNN weights were reordered (cache misses), process-wide. */
long td_nn_dnnl_weight_reorders(void);
/* Test hook: how many convolution plans oneDNN built with Winograd, process-wide. */
long td_nn_dnnl_winograd_plans(void);

#endif
