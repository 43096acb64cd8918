/* nn_common.c — attribute parsing and window geometry shared by the nn kernels (see nn.h);
 * 2-D and 3-D windows (3-D adds the depth fields, which stay neutral for 2-D).
 *
 * Invariants: every list attr is validated (length, positivity, < 2^31) before use, so the
 * geometry arithmetic in td_nn_window_solve cannot overflow for any tensor that fits in memory.
 * Messages follow TF's wording where TF has one.
 */
#include <string.h>

#include "engine/kernels/nn.h"

#define NN_ATTR_MAX ((int64_t)INT32_MAX)

void td_nn_window_reset(td_nn_window *w, int spatial, int nchw) {
  memset(w, 0, sizeof *w);
  w->spatial = spatial;
  w->nchw = nchw;
  w->id = w->kd = w->sd = w->dd = w->od = 1;
}

td_code td_nn_data_format(td_kctx *c, int spatial, int *nchw) {
  const char *last = spatial == 3 ? "NDHWC" : "NHWC", *first = spatial == 3 ? "NCDHW" : "NCHW";
  const td_node *n = td_k_node(c);
  size_t len = 0;
  const char *s = td_attr_str(n, "data_format", &len);
  if (!s || (len == strlen(last) && memcmp(s, last, len) == 0)) {
    *nchw = 0;
    return TD_OK;
  }
  if (len == strlen(first) && memcmp(s, first, len) == 0) {
    *nchw = 1;
    return TD_OK;
  }
  return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data format: %.*s (expected %s or %s)",
                   (int)(len > 64 ? 64 : len), s, last, first);
}

td_code td_nn_padding_attr(td_kctx *c, int allow_explicit, td_nn_padding *out) {
  static const struct {
    const char *name;
    td_nn_padding pad;
  } kinds[] = {{"VALID", TD_NN_VALID}, {"SAME", TD_NN_SAME}, {"EXPLICIT", TD_NN_EXPLICIT}};
  const td_node *n = td_k_node(c);
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (td_attr_str_eq(n, "padding", kinds[i].name)) {
      if (kinds[i].pad == TD_NN_EXPLICIT && !allow_explicit) break;
      *out = kinds[i].pad;
      return TD_OK;
    }
  }
  size_t len = 0;
  const char *s = td_attr_str(n, "padding", &len);
  return td_k_fail(c, TD_INVALID_ARGUMENT, "Unsupported padding '%.*s' for %s",
                   s ? (int)(len > 64 ? 64 : len) : 0, s ? s : "", td_node_op(n));
}

td_code td_nn_spatial_list(td_kctx *c, const char *name, const int64_t *vals, size_t nvals,
                           int spatial, int nchw, const char *what, int64_t *out) {
  const int64_t *v = vals;
  size_t nv = nvals, want = (size_t)spatial + 2;
  if (!vals) {
    nv = td_attr_list_int(td_k_node(c), name, &v);
    if (nv == 0) {
      for (int i = 0; i < spatial; i++) out[i] = 1;
      return TD_OK;
    }
  }
  if (nv != want)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Sliding window %s field must specify %zu dimensions",
                     what, want);
  int first_spatial = nchw ? 2 : 1, channel = nchw ? 1 : spatial + 1;
  if (v[0] != 1 || v[channel] != 1)
    return td_k_fail(c, TD_UNIMPLEMENTED,
                     "Current implementation does not yet support %s in the batch and depth "
                     "dimensions.",
                     what);
  for (int i = 0; i < spatial; i++) {
    int64_t x = v[first_spatial + i];
    if (x <= 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Row and column %s should be larger than 0.", what);
    if (x > NN_ATTR_MAX)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Row and column %s are too large.", what);
    out[i] = x;
  }
  return TD_OK;
}

td_code td_nn_explicit_pads(td_kctx *c, int nchw, int64_t pads[4]) {
  const int64_t *v = NULL;
  size_t nv = td_attr_list_int(td_k_node(c), "explicit_paddings", &v);
  if (nv != 8)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "explicit_paddings attribute must contain 8 values, but got: %zu", nv);
  for (size_t i = 0; i < 8; i++) {
    if (v[i] < 0)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "All elements of explicit_paddings must be nonnegative");
    if (v[i] > NN_ATTR_MAX)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "explicit_paddings value %lld is too large",
                       (long long)v[i]);
  }
  int hi = nchw ? 2 : 1, wi = nchw ? 3 : 2, ci = nchw ? 1 : 3;
  if (v[0] || v[1] || v[2 * ci] || v[2 * ci + 1])
    return td_k_fail(c, TD_UNIMPLEMENTED,
                     "Nonzero explicit padding in the batch or depth dimensions is not supported");
  pads[0] = v[2 * hi];
  pads[1] = v[2 * hi + 1];
  pads[2] = v[2 * wi];
  pads[3] = v[2 * wi + 1];
  return TD_OK;
}

/* One spatial dimension of TF's GetWindowedOutputSizeVerboseV2. */
static td_code window_dim(td_kctx *c, td_nn_padding pad, int64_t in, int64_t k, int64_t dil,
                          int64_t stride, int64_t exp_before, int64_t exp_after, int64_t *out,
                          int64_t *before, int64_t *after) {
  if (k <= 0 || k > NN_ATTR_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Window size %lld must be in [1, 2^31)",
                     (long long)k);
  int64_t eff = (k - 1) * dil + 1;
  switch (pad) {
    case TD_NN_VALID:
      *out = (in - eff + stride) / stride;
      *before = *after = 0;
      break;
    case TD_NN_SAME: {
      *out = (in + stride - 1) / stride;
      int64_t total = (*out - 1) * stride + eff - in;
      if (total < 0) total = 0;
      *before = total / 2;
      *after = total - *before;
      break;
    }
    case TD_NN_EXPLICIT:
      *out = (in + exp_before + exp_after - eff + stride) / stride;
      *before = exp_before;
      *after = exp_after;
      break;
  }
  if (*out < 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Computed output size would be negative: %lld [input_size: %lld, "
                     "effective_filter_size: %lld, stride: %lld]",
                     (long long)*out, (long long)in, (long long)eff, (long long)stride);
  return TD_OK;
}

td_code td_nn_window_solve(td_kctx *c, td_nn_window *w, td_nn_padding pad,
                           const int64_t explicit_pads[4]) {
  static const int64_t no_pads[4] = {0, 0, 0, 0};
  const int64_t *ep = explicit_pads ? explicit_pads : no_pads;
  if (w->spatial == 3)
    TD_TRY(window_dim(c, pad, w->id, w->kd, w->dd, w->sd, 0, 0, &w->od, &w->pad_front,
                      &w->pad_back));
  TD_TRY(window_dim(c, pad, w->ih, w->kh, w->dh, w->sh, ep[0], ep[1], &w->oh, &w->pad_t,
                    &w->pad_b));
  TD_TRY(window_dim(c, pad, w->iw, w->kw, w->dw, w->sw, ep[2], ep[3], &w->ow, &w->pad_l,
                    &w->pad_r));
  return TD_OK;
}

void td_nn_window_input(td_nn_window *w, const td_shape *s) {
  int sp = w->nchw ? 2 : 1; /* first spatial dim */
  w->n = s->dim[0];
  w->ic = s->dim[w->nchw ? 1 : w->spatial + 1];
  if (w->spatial == 3) w->id = s->dim[sp++];
  w->ih = s->dim[sp];
  w->iw = s->dim[sp + 1];
}

td_code td_nn_check_output_size(td_kctx *c, const td_nn_window *w, int64_t channels) {
  double total = (double)w->n * (double)w->od * (double)w->oh * (double)w->ow * (double)channels;
  if (total < 4e18) return TD_OK;
  return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: output size %lld x %lld x %lld x %lld x %lld is too large",
                   td_node_op(td_k_node(c)), (long long)w->n, (long long)w->od, (long long)w->oh,
                   (long long)w->ow, (long long)channels);
}

td_shape td_nn_window_output(const td_nn_window *w, int64_t c) {
  int64_t d[5];
  int r = 0;
  d[r++] = w->n;
  if (w->nchw) d[r++] = c;
  if (w->spatial == 3) d[r++] = w->od;
  d[r++] = w->oh;
  d[r++] = w->ow;
  if (!w->nchw) d[r++] = c;
  return td_shape_make(r, d);
}

td_code td_nn_require_float(td_kctx *c, const td_tensor *t, const char *arg) {
  if (t->dtype == TD_DT_FLOAT) return TD_OK;
  return td_k_fail(c, TD_UNIMPLEMENTED, "%s: %s of type %s is not supported (float only)",
                   td_node_op(td_k_node(c)), arg, td_dtype_name(t->dtype));
}

void td_nn_nchw_to_nhwc(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; b++) {
    const float *s = src + b * c * hw;
    float *d = dst + b * c * hw;
    for (int64_t ch = 0; ch < c; ch++)
      for (int64_t p = 0; p < hw; p++) d[p * c + ch] = s[ch * hw + p];
  }
}

void td_nn_nhwc_to_nchw(const float *src, float *dst, int64_t n, int64_t c, int64_t hw) {
  for (int64_t b = 0; b < n; b++) {
    const float *s = src + b * c * hw;
    float *d = dst + b * c * hw;
    for (int64_t p = 0; p < hw; p++)
      for (int64_t ch = 0; ch < c; ch++) d[ch * hw + p] = s[p * c + ch];
  }
}

/* ---- fused epilogues ---- */

td_code td_nn_fusion_check(td_kctx *c, const td_fusion *f, const td_shape *out, int64_t channels) {
  if (!f || !f->bias) return TD_OK;
  const td_tensor *b = f->bias;
  char s1[96], s2[96];
  if (b->dtype != TD_DT_FLOAT)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "fused bias must be float, got %s",
                     td_dtype_name(b->dtype));
  if (b->shape.rank != 1 || b->shape.dim[0] != channels)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Must provide as many biases as the last dimension of the input tensor: "
                     "%s vs. %s",
                     td_shape_str(&b->shape, s1, sizeof s1), td_shape_str(out, s2, sizeof s2));
  return TD_OK;
}

void td_nn_fill_bias(const float *bias, float *out, int64_t rows, int64_t ch) {
  for (int64_t r = 0; r < rows; r++) memcpy(out + r * ch, bias, (size_t)ch * sizeof *out);
}

static void add_row(float *restrict o, const float *restrict b, int64_t n) {
  for (int64_t j = 0; j < n; j++) o[j] += b[j];
}

void td_nn_epilogue(const td_fusion *f, int add_bias, float *out, int64_t rows, int64_t ch) {
  if (!f) return;
  if (add_bias && f->bias)
    for (int64_t r = 0; r < rows; r++) add_row(out + r * ch, td_f32(f->bias), ch);
  int64_t n = rows * ch;
  if (f->act == TD_ACT_RELU) {
    for (int64_t i = 0; i < n; i++) out[i] = out[i] < 0 ? 0 : out[i];
  } else if (f->act == TD_ACT_RELU6) {
    for (int64_t i = 0; i < n; i++) out[i] = out[i] < 0 ? 0 : out[i] > 6 ? 6 : out[i];
  }
}
