/* nn_fused.c — grappler's fused ops: _FusedConv2D, _FusedDepthwiseConv2dNative (also under the
 * tfjs name FusedDepthwiseConv2dNative) and _FusedMatMul (float32).
 *
 * fused_ops names the epilogue applied, in order, to the conv / matmul result, consuming the
 * num_args extra inputs: BiasAdd (bias [channels]), FusedBatchNorm (scale, offset, mean,
 * variance; y = (x - mean) * scale / sqrt(variance + epsilon) + offset), Add (a tensor of the
 * output's shape), then at most one activation: Relu, Relu6, Elu, LeakyRelu (leakyrelu_alpha),
 * Sigmoid, Tanh, GeluExact, GeluApproximate. A plain BiasAdd[+Relu|Relu6] goes into the
 * convolution's own fused epilogue (oneDNN post-ops); everything else runs in place on the output
 * after it. Channel of element i: i % oc (channels-last) or (i / pixels) % oc (NCHW).
 * Reentrant; no state.
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "engine/kernels/nn.h"

typedef enum post_act { PA_NONE, PA_RELU, PA_RELU6, PA_ELU, PA_LEAKY, PA_SIGMOID, PA_TANH, PA_GELU, PA_GELU_TANH } post_act;

typedef struct epilogue {
  const td_tensor *bias;   /* BiasAdd */
  const td_tensor *bn[4];  /* FusedBatchNorm scale, offset, mean, variance (bn[0] NULL = none) */
  const td_tensor *addend; /* Add */
  post_act act;
  float alpha, eps;
} epilogue;

static const struct {
  const char *name;
  post_act act;
} acts[] = {{"Relu", PA_RELU}, {"Relu6", PA_RELU6}, {"Elu", PA_ELU}, {"LeakyRelu", PA_LEAKY}, {"Sigmoid", PA_SIGMOID},
            {"Tanh", PA_TANH}, {"GeluExact", PA_GELU}, {"GeluApproximate", PA_GELU_TANH}};

static int op_is(const ProtobufCBinaryData *s, const char *name) {
  return s->len == strlen(name) && memcmp(s->data, name, s->len) == 0;
}

/* Parses fused_ops / num_args against inputs first_arg.. into e. */
static td_code parse_epilogue(td_kctx *c, int first_arg, epilogue *e) {
  const td_node *n = td_k_node(c);
  memset(e, 0, sizeof *e);
  e->alpha = td_attr_float(n, "leakyrelu_alpha", 0.2f);
  e->eps = td_attr_float(n, "epsilon", 0.0001f);
  const Tensorflow__AttrValue *av = td_node_attr(n, "fused_ops");
  size_t nops = av && av->list ? av->list->n_s : 0;
  int64_t num_args = td_attr_int(n, "num_args", 0);
  int nin = td_k_num_inputs(c);
  if (num_args < 0 || first_arg + num_args != nin)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: num_args %lld does not match %d extra inputs", td_node_op(n),
                     (long long)num_args, nin - first_arg);
  int arg = first_arg;
  for (size_t i = 0; i < nops; i++) {
    const ProtobufCBinaryData *s = &av->list->s[i];
    int need = op_is(s, "BiasAdd") || op_is(s, "Add") || op_is(s, "AddV2") ? 1 : op_is(s, "FusedBatchNorm") ? 4 : 0;
    if (need && arg + need > nin)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: fused op %.*s needs %d more args", td_node_op(n), (int)s->len,
                       (const char *)s->data, need);
    if (op_is(s, "BiasAdd") && !e->bias && !e->bn[0] && !e->addend && e->act == PA_NONE) {
      e->bias = td_k_input(c, arg++);
      continue;
    }
    if (op_is(s, "FusedBatchNorm") && !e->bias && !e->bn[0] && !e->addend && e->act == PA_NONE) {
      for (int k = 0; k < 4; k++) e->bn[k] = td_k_input(c, arg++);
      continue;
    }
    if ((op_is(s, "Add") || op_is(s, "AddV2")) && !e->addend && e->act == PA_NONE) {
      e->addend = td_k_input(c, arg++);
      continue;
    }
    post_act a = PA_NONE;
    for (size_t k = 0; k < sizeof acts / sizeof acts[0]; k++)
      if (op_is(s, acts[k].name)) a = acts[k].act;
    if (a == PA_NONE || e->act != PA_NONE)
      return td_k_fail(c, TD_UNIMPLEMENTED, "%s: unsupported fusion of %.*s (fused_ops entry %zu)", td_node_op(n),
                       (int)s->len, (const char *)s->data, i);
    e->act = a;
  }
  if (arg != nin) return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: %d unused fused args", td_node_op(n), nin - arg);
  return TD_OK;
}

/* Validates per-channel args (float [oc]) and the addend (float, the output's shape). */
static td_code check_args(td_kctx *c, const epilogue *e, const td_shape *out, int64_t oc) {
  char b1[96], b2[96];
  for (int k = 0; k < 5; k++) {
    const td_tensor *t = k == 0 ? e->bias : e->bn[k - 1];
    if (!t) continue;
    if (t->dtype != TD_DT_FLOAT || t->shape.rank != 1 || t->shape.dim[0] != oc)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: fused arg must be float [%lld], got %s %s", td_node_op(td_k_node(c)),
                       (long long)oc, td_dtype_name(t->dtype), td_shape_str(&t->shape, b1, sizeof b1));
  }
  if (e->addend && (e->addend->dtype != TD_DT_FLOAT || !td_shape_equal(&e->addend->shape, out)))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s: fused Add operand must be float of the output's shape %s, got %s",
                     td_node_op(td_k_node(c)), td_shape_str(out, b1, sizeof b1),
                     td_shape_str(&e->addend->shape, b2, sizeof b2));
  return TD_OK;
}

static float activate(post_act a, float x, float alpha) {
  switch (a) {
    case PA_RELU: return x < 0 ? 0 : x;
    case PA_RELU6: return x < 0 ? 0 : x > 6 ? 6 : x;
    case PA_ELU: return x < 0 ? expm1f(x) : x;
    case PA_LEAKY: return x < 0 ? alpha * x : x;
    case PA_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case PA_TANH: return tanhf(x);
    case PA_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case PA_GELU_TANH: return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    default: return x;
  }
}

/* In place over n elements; add_bias = 0 when the producer already added it. */
static void apply(const epilogue *e, int add_bias, float *out, int64_t n, int64_t oc, int64_t pixels, int nchw) {
  const float *bias = add_bias && e->bias ? td_f32(e->bias) : NULL;
  const float *add = e->addend ? td_f32(e->addend) : NULL;
  for (int64_t i = 0; i < n; i++) {
    int64_t ch = nchw ? (i / pixels) % oc : i % oc;
    float x = out[i];
    if (bias) x += bias[ch];
    if (e->bn[0]) {
      float sc = td_f32(e->bn[0])[ch], off = td_f32(e->bn[1])[ch], mean = td_f32(e->bn[2])[ch], var = td_f32(e->bn[3])[ch];
      x = (x - mean) * (sc / sqrtf(var + e->eps)) + off;
    }
    if (add) x += add[i];
    out[i] = activate(e->act, x, e->alpha);
  }
}

static td_code fused_conv(td_kctx *c, int depthwise) {
  epilogue e;
  TD_TRY(parse_epilogue(c, 2, &e));
  /* Only bias [+ Relu/Relu6] fits the convolution's epilogue; the rest runs afterwards. */
  int direct = !e.bn[0] && !e.addend && (e.act == PA_NONE || e.act == PA_RELU || e.act == PA_RELU6);
  td_fusion f = {e.bias, TD_ACT_NONE};
  if (direct) f.act = e.act == PA_RELU ? TD_ACT_RELU : e.act == PA_RELU6 ? TD_ACT_RELU6 : TD_ACT_NONE;
  int use_f = e.bias || f.act != TD_ACT_NONE;
  /* Check the per-channel args before the conv: its output channel count is the filter's. */
  const td_tensor *flt = td_k_input(c, 1);
  if (flt->shape.rank == 4) {
    int64_t oc = depthwise ? flt->shape.dim[2] * flt->shape.dim[3] : flt->shape.dim[3];
    td_shape dummy = td_shape_vector(oc);
    epilogue chk = e;
    chk.addend = NULL;
    TD_TRY(check_args(c, &chk, &dummy, oc));
  }
  td_tensor *out = NULL;
  td_nn_conv g;
  TD_TRY(td_nn_conv2d_run(c, depthwise, use_f ? &f : NULL, &out, &g));
  if (direct) return TD_OK;
  TD_TRY(check_args(c, &e, &out->shape, g.oc));
  int64_t n = td_tensor_num_elements(out), pixels = g.w.oh * g.w.ow;
  epilogue rest = e;
  apply(&rest, 0, td_f32(out), n, g.oc, pixels ? pixels : 1, g.w.nchw);
  return TD_OK;
}

td_code td_k_nn_fused_conv2d(td_kctx *c) { return fused_conv(c, 0); }
td_code td_k_nn_fused_depthwise_conv2d(td_kctx *c) { return fused_conv(c, 1); }

td_code td_k_nn_fused_matmul(td_kctx *c) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  const td_node *nd = td_k_node(c);
  char b1[96], b2[96];
  TD_TRY(td_nn_require_float(c, a, "a"));
  TD_TRY(td_nn_require_float(c, b, "b"));
  if (a->shape.rank != 2 || b->shape.rank != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "In[0] and In[1] has different ndims: %s vs. %s",
                     td_shape_str(&a->shape, b1, sizeof b1), td_shape_str(&b->shape, b2, sizeof b2));
  int ta = td_attr_bool(nd, "transpose_a", false), tb = td_attr_bool(nd, "transpose_b", false);
  int64_t m = a->shape.dim[ta ? 1 : 0], k = a->shape.dim[ta ? 0 : 1];
  int64_t kb = b->shape.dim[tb ? 1 : 0], n = b->shape.dim[tb ? 0 : 1];
  if (k != kb)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: %s, In[1]: %s",
                     td_shape_str(&a->shape, b1, sizeof b1), td_shape_str(&b->shape, b2, sizeof b2));
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
    return td_k_fail(c, TD_UNIMPLEMENTED, "_FusedMatMul: matrix too large");
  epilogue e;
  TD_TRY(parse_epilogue(c, 2, &e));
  td_shape os = td_shape_make(2, (const int64_t[]){m, n});
  TD_TRY(check_args(c, &e, &os, n));
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &os, &out));
  if (m == 0 || n == 0) return TD_OK;
  if (k > 0)
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                td_f32(a), (int)a->shape.dim[1], td_f32(b), (int)b->shape.dim[1], 0.0f, td_f32(out), (int)n);
  apply(&e, 1, td_f32(out), m * n, n, 1, 0);
  return TD_OK;
}
