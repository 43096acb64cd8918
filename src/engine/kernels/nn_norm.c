/* nn_norm.c — FusedBatchNorm / V2 / V3 (forward; inference and training statistics) and LRN.
 *
 * x is rank 4 (NHWC / NCHW) or 5 (NDHWC / NCDHW) and viewed as [outer, C, inner]: channels-last
 * is inner = 1, channels-first is outer = N. x/y may be float, half or bfloat16 (converted through
 * float); scale/offset/mean/variance (U) are float.
 *
 *   inference (is_training=false): y = (x - mean) * (rsqrt(variance + eps) * scale) + offset;
 *     batch_mean / batch_variance / reserve_space_1 / reserve_space_2 forward mean / variance.
 *   training: batch statistics over all non-channel dims (biased variance normalizes y);
 *     batch_variance is the unbiased variance; with exponential_avg_factor f != 1 the
 *     batch_mean/variance outputs are (1-f)*input + f*batch. reserve_space_1/2 hold the batch
 *     mean and biased variance. reserve_space_3 (V3) is TF's CPU dummy: a scalar 0.
 *
 * LRN (float NHWC): y = x / (bias + alpha * sum_{|d'-d| <= depth_radius} x[d']^2)^beta.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"

enum { BN_X, BN_SCALE, BN_OFFSET, BN_MEAN, BN_VAR };
enum { BN_Y, BN_BATCH_MEAN, BN_BATCH_VAR, BN_RESERVE_1, BN_RESERVE_2, BN_RESERVE_3 };

typedef struct bn_shape {
  int64_t outer, c, inner;
} bn_shape;

/* x element i as float / stores float v as x's dtype. */
static float load_elem(const td_tensor *t, int64_t i) {
  switch (t->dtype) {
    case TD_DT_HALF: return td_half_to_float(((const uint16_t *)t->data)[i]);
    case TD_DT_BFLOAT16: return td_bf16_to_float(((const uint16_t *)t->data)[i]);
    default: return td_f32(t)[i];
  }
}

static void store_elem(td_tensor *t, int64_t i, float v) {
  switch (t->dtype) {
    case TD_DT_HALF: ((uint16_t *)t->data)[i] = td_float_to_half(v); break;
    case TD_DT_BFLOAT16: ((uint16_t *)t->data)[i] = td_float_to_bf16(v); break;
    default: td_f32(t)[i] = v; break;
  }
}

/* Parses data_format and x's rank into the [outer, C, inner] view. */
static td_code bn_layout(td_kctx *c, const td_tensor *x, bn_shape *bs) {
  static const struct {
    const char *name;
    int rank, channels_first;
  } formats[] = {{"NHWC", 4, 0}, {"NCHW", 4, 1}, {"NDHWC", 5, 0}, {"NCDHW", 5, 1}};
  const td_node *n = td_k_node(c);
  char sbuf[96];
  int fmt = -1;
  if (!td_node_attr(n, "data_format")) fmt = x->shape.rank == 5 ? 2 : 0;
  for (int i = 0; fmt < 0 && i < 4; i++)
    if (td_attr_str_eq(n, "data_format", formats[i].name)) fmt = i;
  if (fmt < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data format for %s", td_node_op(n));
  /* TF accepts a 4-D format name for 5-D x (and vice versa) by rank: follow the rank. */
  int rank = x->shape.rank, first = formats[fmt].channels_first;
  if (rank != 4 && rank != 5)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input must be 4 or 5-dimensional%s",
                     td_shape_str(&x->shape, sbuf, sizeof sbuf));
  int cdim = first ? 1 : rank - 1;
  bs->c = x->shape.dim[cdim];
  bs->outer = bs->inner = 1;
  for (int d = 0; d < cdim; d++) bs->outer *= x->shape.dim[d];
  for (int d = cdim + 1; d < rank; d++) bs->inner *= x->shape.dim[d];
  return TD_OK;
}

/* scale/offset (and, when need_stats, mean/variance) must be float vectors of length C. */
static td_code bn_check_params(td_kctx *c, int64_t channels, int need_stats) {
  static const char *names[] = {"x", "scale", "offset", "mean", "variance"};
  char sbuf[96];
  for (int i = BN_SCALE; i <= BN_VAR; i++) {
    const td_tensor *t = td_k_input(c, i);
    TD_TRY(td_nn_require_float(c, t, names[i]));
    if (t->shape.rank != 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be 1-dimensional%s", names[i],
                       td_shape_str(&t->shape, sbuf, sizeof sbuf));
    if (i >= BN_MEAN && !need_stats && t->shape.dim[0] == 0) continue;
    if (t->shape.dim[0] != channels)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "%s must have the same number of elements as the channels of x, got "
                       "%lld and %lld",
                       names[i], (long long)t->shape.dim[0], (long long)channels);
  }
  return TD_OK;
}

/* y = (x - mean) * factor + offset, per channel. */
static void bn_apply(const td_tensor *x, td_tensor *y, const bn_shape *bs, const float *mean,
                     const float *factor, const float *offset) {
  int fast = x->dtype == TD_DT_FLOAT;
  int64_t i = 0;
  for (int64_t o = 0; o < bs->outer; o++)
    for (int64_t ch = 0; ch < bs->c; ch++)
      for (int64_t k = 0; k < bs->inner; k++, i++) {
        float v = fast ? td_f32(x)[i] : load_elem(x, i);
        float r = (v - mean[ch]) * factor[ch] + offset[ch];
        if (fast) td_f32(y)[i] = r;
        else store_elem(y, i, r);
      }
}

/* Batch mean and biased variance per channel (two passes, double accumulators); -1 on OOM. */
static int bn_moments(const td_tensor *x, const bn_shape *bs, float *mean, float *var) {
  if (bs->c <= 0) return 0;
  double *acc = calloc((size_t)bs->c, sizeof *acc);
  if (!acc) return -1;
  double count = (double)(bs->outer * bs->inner);
  int64_t i = 0;
  for (int64_t o = 0; o < bs->outer; o++)
    for (int64_t ch = 0; ch < bs->c; ch++)
      for (int64_t k = 0; k < bs->inner; k++, i++) acc[ch] += load_elem(x, i);
  for (int64_t ch = 0; ch < bs->c; ch++) mean[ch] = (float)(acc[ch] / count), acc[ch] = 0;
  i = 0;
  for (int64_t o = 0; o < bs->outer; o++)
    for (int64_t ch = 0; ch < bs->c; ch++)
      for (int64_t k = 0; k < bs->inner; k++, i++) {
        double d = (double)load_elem(x, i) - mean[ch];
        acc[ch] += d * d;
      }
  for (int64_t ch = 0; ch < bs->c; ch++) var[ch] = (float)(acc[ch] / count);
  free(acc);
  return 0;
}

static td_code alloc_vec(td_kctx *c, int i, int64_t n, td_tensor **out) {
  td_shape s = td_shape_vector(n);
  return td_k_alloc_output(c, i, TD_DT_FLOAT, &s, out);
}

static td_code bn_training(td_kctx *c, const td_tensor *x, td_tensor *y, const bn_shape *bs,
                           float eps, float factor) {
  int64_t ch = bs->c, count = bs->outer * bs->inner;
  td_tensor *bmean, *bvar, *r1, *r2;
  TD_TRY(alloc_vec(c, BN_BATCH_MEAN, ch, &bmean));
  TD_TRY(alloc_vec(c, BN_BATCH_VAR, ch, &bvar));
  TD_TRY(alloc_vec(c, BN_RESERVE_1, ch, &r1));
  TD_TRY(alloc_vec(c, BN_RESERVE_2, ch, &r2));
  float *mean = td_f32(r1), *var = td_f32(r2);
  for (int64_t i = 0; i < ch; i++) mean[i] = var[i] = NAN;
  if (count > 0 && bn_moments(x, bs, mean, var) != 0)
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "FusedBatchNorm: out of memory");
  const float *old_mean = td_f32(td_k_input(c, BN_MEAN)), *old_var = td_f32(td_k_input(c, BN_VAR));
  double adjust = (double)count / (double)(count > 1 ? count - 1 : 1);
  for (int64_t i = 0; i < ch; i++) {
    float m = mean[i], v = (float)(var[i] * adjust);
    if (factor != 1.0f) {
      m = (1.0f - factor) * old_mean[i] + factor * m;
      v = (1.0f - factor) * old_var[i] + factor * v;
    }
    td_f32(bmean)[i] = m;
    td_f32(bvar)[i] = v;
  }
  if (count == 0) return TD_OK;
  float *fac = malloc((size_t)ch * sizeof *fac);
  if (!fac) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "FusedBatchNorm: out of memory");
  const float *scale = td_f32(td_k_input(c, BN_SCALE));
  for (int64_t i = 0; i < ch; i++) fac[i] = scale[i] / sqrtf(var[i] + eps);
  bn_apply(x, y, bs, mean, fac, td_f32(td_k_input(c, BN_OFFSET)));
  free(fac);
  return TD_OK;
}

static td_code bn_inference(td_kctx *c, const td_tensor *x, td_tensor *y, const bn_shape *bs,
                            float eps) {
  TD_TRY(td_k_forward(c, BN_MEAN, BN_BATCH_MEAN, NULL));
  TD_TRY(td_k_forward(c, BN_VAR, BN_BATCH_VAR, NULL));
  TD_TRY(td_k_forward(c, BN_MEAN, BN_RESERVE_1, NULL));
  TD_TRY(td_k_forward(c, BN_VAR, BN_RESERVE_2, NULL));
  if (bs->outer * bs->c * bs->inner == 0) return TD_OK;
  float *fac = malloc((size_t)bs->c * sizeof *fac);
  if (!fac) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "FusedBatchNorm: out of memory");
  const float *scale = td_f32(td_k_input(c, BN_SCALE)), *var = td_f32(td_k_input(c, BN_VAR));
  for (int64_t i = 0; i < bs->c; i++) fac[i] = 1.0f / sqrtf(var[i] + eps) * scale[i];
  bn_apply(x, y, bs, td_f32(td_k_input(c, BN_MEAN)), fac, td_f32(td_k_input(c, BN_OFFSET)));
  free(fac);
  return TD_OK;
}

static td_code bn_run(td_kctx *c, int v3) {
  const td_node *n = td_k_node(c);
  const td_tensor *x = td_k_input(c, BN_X);
  if (x->dtype != TD_DT_FLOAT && x->dtype != TD_DT_HALF && x->dtype != TD_DT_BFLOAT16)
    return td_k_fail(c, TD_UNIMPLEMENTED, "%s: x of type %s is not supported", td_node_op(n),
                     td_dtype_name(x->dtype));
  bn_shape bs;
  TD_TRY(bn_layout(c, x, &bs));
  int training = td_attr_bool(n, "is_training", true);
  float eps = td_attr_float(n, "epsilon", 0.0001f);
  float factor = td_attr_float(n, "exponential_avg_factor", 1.0f);
  TD_TRY(bn_check_params(c, bs.c, !training || factor != 1.0f));
  td_tensor *y = NULL;
  TD_TRY(td_k_alloc_output(c, BN_Y, x->dtype, &x->shape, &y));
  if (v3) {
    td_tensor *r3 = NULL;
    td_shape scalar = td_shape_scalar();
    TD_TRY(td_k_alloc_output(c, BN_RESERVE_3, TD_DT_FLOAT, &scalar, &r3));
  }
  return training ? bn_training(c, x, y, &bs, eps, factor) : bn_inference(c, x, y, &bs, eps);
}

td_code td_k_nn_fused_batch_norm(td_kctx *c) { return bn_run(c, 0); }
td_code td_k_nn_fused_batch_norm_v3(td_kctx *c) { return bn_run(c, 1); }

td_code td_k_nn_lrn(td_kctx *c) {
  const td_node *n = td_k_node(c);
  const td_tensor *x = td_k_input(c, 0);
  char sbuf[96];
  TD_TRY(td_nn_require_float(c, x, "input"));
  if (x->shape.rank != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "in must be 4-dimensional%s",
                     td_shape_str(&x->shape, sbuf, sizeof sbuf));
  int64_t radius = td_attr_int(n, "depth_radius", 5);
  if (radius < 0 || radius > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "depth_radius = %lld out of range",
                     (long long)radius);
  float bias = td_attr_float(n, "bias", 1.0f), alpha = td_attr_float(n, "alpha", 1.0f);
  float beta = td_attr_float(n, "beta", 0.5f);
  td_tensor *y = NULL;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &x->shape, &y));
  int64_t depth = x->shape.dim[3], rows = depth ? td_tensor_num_elements(x) / depth : 0;
  for (int64_t r = 0; r < rows; r++) {
    const float *in = td_f32(x) + r * depth;
    float *out = td_f32(y) + r * depth;
    for (int64_t d = 0; d < depth; d++) {
      int64_t lo = d - radius > 0 ? d - radius : 0, hi = d + radius < depth - 1 ? d + radius : depth - 1;
      float sum = 0;
      for (int64_t k = lo; k <= hi; k++) sum += in[k] * in[k];
      float base = bias + alpha * sum;
      out[d] = in[d] * (beta == 0.5f ? 1.0f / sqrtf(base) : powf(base, -beta));
    }
  }
  return TD_OK;
}
