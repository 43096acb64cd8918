/* test_nn_fused.c — Conv2DBackpropInput / Conv3DBackpropInputV2 against a naive scatter-add of
 * out_backprop through the filter (random geometries: SAME/VALID/EXPLICIT, strides, dilations,
 * NHWC and NCHW), the grappler-fused _FusedConv2D / _FusedDepthwiseConv2dNative / _FusedMatMul
 * against a naive conv / matmul followed by the epilogue written out here (BiasAdd, Relu, Relu6,
 * Elu, LeakyRelu, FusedBatchNorm, Add, Tanh, GeluExact), MaxPoolWithArgmax and Dilation2D on
 * hand-worked cases, and the error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/kernels/nn.h"
#include "kernels/nn_test_util.h"
#include "kernels/test_array_util.h"

/* ---- Conv2DBackpropInput ---- */

typedef struct bp_case {
  int64_t n, h, w, c, kh, kw, oc, sh, sw, dh, dw;
  const char *padding;
  int64_t pads[4];
  int nchw;
} bp_case;

static void check_backprop(const bp_case *k) {
  int64_t pt, pl;
  int64_t oh = nn_ref_window(k->padding, k->h, k->kh, k->dh, k->sh, k->pads[0], k->pads[1], &pt);
  int64_t ow = nn_ref_window(k->padding, k->w, k->kw, k->dw, k->sw, k->pads[2], k->pads[3], &pl);
  assert_true(oh > 0 && ow > 0);
  int64_t ydims[4] = {k->n, oh, ow, k->oc}, xdims[4] = {k->n, k->h, k->w, k->c};
  if (k->nchw) ydims[1] = k->oc, ydims[2] = oh, ydims[3] = ow, xdims[1] = k->c, xdims[2] = k->h, xdims[3] = k->w;
  td_tensor dy = nn_random_tensor(4, ydims), f = nn_random_tensor(4, A_DIMS(k->kh, k->kw, k->c, k->oc));
  td_tensor want = td_test_tensor(TD_DT_FLOAT, 4, xdims, NULL);
  for (int64_t n = 0; n < k->n; n++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++)
        for (int64_t ky = 0; ky < k->kh; ky++)
          for (int64_t kx = 0; kx < k->kw; kx++) {
            int64_t iy = oy * k->sh - pt + ky * k->dh, ix = ox * k->sw - pl + kx * k->dw;
            if (iy < 0 || iy >= k->h || ix < 0 || ix >= k->w) continue;
            for (int64_t ci = 0; ci < k->c; ci++)
              for (int64_t o = 0; o < k->oc; o++)
                td_f32(&want)[nn_idx(k->nchw, n, iy, ix, ci, k->h, k->w, k->c)] +=
                    td_f32(&dy)[nn_idx(k->nchw, n, oy, ox, o, oh, ow, k->oc)] * td_f32(&f)[((ky * k->kw + kx) * k->c + ci) * k->oc + o];
          }
  Tensorflow__NodeDef *nd = td_test_node_new("Conv2DBackpropInput");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  nn_hw_attr(nd, "strides", k->nchw, k->sh, k->sw);
  nn_hw_attr(nd, "dilations", k->nchw, k->dh, k->dw);
  td_test_attr_str(nd, "padding", k->padding);
  if (k->nchw) td_test_attr_str(nd, "data_format", "NCHW");
  if (!strcmp(k->padding, "EXPLICIT")) {
    int64_t p[8] = {0, 0, k->pads[0], k->pads[1], k->pads[2], k->pads[3], 0, 0};
    if (k->nchw) p[2] = 0, p[3] = 0, p[4] = k->pads[0], p[5] = k->pads[1], p[6] = k->pads[2], p[7] = k->pads[3];
    td_test_attr_ints(nd, "explicit_paddings", p, 8);
  }
  int32_t sizes[4];
  for (int i = 0; i < 4; i++) sizes[i] = (int32_t)xdims[i];
  td_tensor ins[3] = {at_vec_i32(4, sizes), f, dy};
  td_tensor out = at_run1(nd, ins, 3);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-5f * (float)(k->kh * k->kw * k->oc)));
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void test_conv2d_backprop_input(void **state) {
  (void)state;
  /* Keras Conv2DTranspose(k=3, strides=2, SAME) on 4x4 -> 8x8 */
  bp_case fixed = {1, 8, 8, 2, 3, 3, 3, 2, 2, 1, 1, "SAME", {0}, 0};
  check_backprop(&fixed);
  static const char *pads[] = {"SAME", "VALID", "EXPLICIT"};
  for (int it = 0; it < 60; it++) {
    bp_case k = {0};
    k.n = nn_rand_range(1, 2);
    k.c = nn_rand_range(1, 4);
    k.oc = nn_rand_range(1, 5);
    k.kh = nn_rand_range(1, 4), k.kw = nn_rand_range(1, 4);
    k.sh = nn_rand_range(1, 3), k.sw = nn_rand_range(1, 3);
    k.dh = nn_rand_range(0, 3) == 0 ? 2 : 1, k.dw = nn_rand_range(0, 3) == 0 ? 2 : 1;
    k.padding = pads[nn_rand_range(0, 2)];
    for (int i = 0; i < 4; i++) k.pads[i] = nn_rand_range(0, 2);
    k.nchw = nn_rand_range(0, 3) == 0;
    k.h = nn_rand_range((k.kh - 1) * k.dh + 1, 11);
    k.w = nn_rand_range((k.kw - 1) * k.dw + 1, 11);
    check_backprop(&k);
  }
}

static void test_conv3d_backprop_input(void **state) {
  (void)state;
  /* [1, 3, 4, 4, 2] input, 2x2x2 filter to 3 channels, strides 1,2,2, VALID. */
  int64_t D = 3, H = 4, W = 4, C = 2, O = 3, od = 2, oh = 2, ow = 2;
  td_tensor dy = nn_random_tensor(5, A_DIMS(1, od, oh, ow, O)), f = nn_random_tensor(5, A_DIMS(2, 2, 2, C, O));
  td_tensor want = td_test_tensor(TD_DT_FLOAT, 5, A_DIMS(1, D, H, W, C), NULL);
  for (int64_t z = 0; z < od; z++)
    for (int64_t y = 0; y < oh; y++)
      for (int64_t x = 0; x < ow; x++)
        for (int64_t kz = 0; kz < 2; kz++)
          for (int64_t ky = 0; ky < 2; ky++)
            for (int64_t kx = 0; kx < 2; kx++)
              for (int64_t ci = 0; ci < C; ci++)
                for (int64_t o = 0; o < O; o++)
                  td_f32(&want)[(((z + kz) * H + y * 2 + ky) * W + x * 2 + kx) * C + ci] +=
                      td_f32(&dy)[((z * oh + y) * ow + x) * O + o] * td_f32(&f)[(((kz * 2 + ky) * 2 + kx) * C + ci) * O + o];
  Tensorflow__NodeDef *nd = td_test_node_new("Conv3DBackpropInputV2");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "strides", A_I64(1, 1, 2, 2, 1), 5);
  td_test_attr_str(nd, "padding", "VALID");
  td_tensor ins[3] = {at_vec_i32(5, A_I32(1, 3, 4, 4, 2)), f, dy};
  td_tensor out = at_run1(nd, ins, 3);
  assert_true(td_shape_equal(&out.shape, &want.shape));
  assert_true(nn_close(td_f32(&out), td_f32(&want), td_tensor_num_elements(&want), 1e-5f));
  td_tensor_release(&out);
  td_tensor_release(&want);
}

static void test_backprop_errors(void **state) {
  (void)state;
  Tensorflow__NodeDef *nd = td_test_node_new("Conv2DBackpropInput");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "strides", A_I64(1, 1, 1, 1), 4);
  td_test_attr_str(nd, "padding", "VALID");
  td_tensor ins[3] = {at_vec_i32(4, A_I32(1, 5, 5, 1)), nn_random_tensor(4, A_DIMS(3, 3, 1, 2)), nn_random_tensor(4, A_DIMS(1, 4, 4, 2))};
  at_expect_error(nd, ins, 3, 1, TD_INVALID_ARGUMENT,
                  "Size of out_backprop doesn't match computed: actual = [1,4,4,2], computed = [1,3,3,2]");
  nd = td_test_node_new("Conv2DBackpropInput");
  td_test_attr_str(nd, "padding", "SAME");
  td_tensor b2[3] = {at_vec_i32(3, A_I32(1, 5, 5)), nn_random_tensor(4, A_DIMS(3, 3, 1, 2)), nn_random_tensor(4, A_DIMS(1, 5, 5, 2))};
  at_expect_error(nd, b2, 3, 1, TD_INVALID_ARGUMENT, "input_sizes must be a 4-element int vector");
}

/* ---- fused ops ---- */

static void set_fused_ops(Tensorflow__NodeDef *nd, const char *const *ops, size_t n) {
  td_test_attr_ints(nd, "fused_ops", NULL, 0);
  Tensorflow__AttrValue__ListValue *l = nd->attr[nd->n_attr - 1]->value->list;
  l->n_s = n;
  l->s = calloc(n + 1, sizeof *l->s);
  for (size_t i = 0; i < n; i++) {
    l->s[i].len = strlen(ops[i]);
    l->s[i].data = (uint8_t *)strdup(ops[i]);
  }
}

/* Naive SAME stride-1 NHWC conv (depthwise: filter [kh, kw, c, 1]). */
static void naive_conv(const float *x, const float *f, int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t oc,
                       int depthwise, float *out) {
  int64_t p = (k - 1) / 2;
  for (int64_t b = 0; b < n; b++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t xx = 0; xx < w; xx++)
        for (int64_t o = 0; o < oc; o++) {
          double s = 0;
          for (int64_t ky = 0; ky < k; ky++)
            for (int64_t kx = 0; kx < k; kx++) {
              int64_t iy = y - p + ky, ix = xx - p + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const float *px = x + ((b * h + iy) * w + ix) * c;
              if (depthwise) s += (double)px[o] * f[(ky * k + kx) * c + o];
              else
                for (int64_t ci = 0; ci < c; ci++) s += (double)px[ci] * f[((ky * k + kx) * c + ci) * oc + o];
            }
          out[((b * h + y) * w + xx) * oc + o] = (float)s;
        }
}

typedef enum ref_act { R_NONE, R_RELU, R_RELU6, R_ELU, R_LEAKY, R_TANH, R_GELU } ref_act;

static float ref_activate(ref_act a, float x) {
  switch (a) {
    case R_RELU: return x > 0 ? x : 0;
    case R_RELU6: return x > 6 ? 6 : x > 0 ? x : 0;
    case R_ELU: return x > 0 ? x : expf(x) - 1;
    case R_LEAKY: return x > 0 ? x : 0.3f * x;
    case R_TANH: return tanhf(x);
    case R_GELU: return 0.5f * x * (1 + erff(x / sqrtf(2)));
    default: return x;
  }
}

typedef struct fused_case {
  const char *ops[3];
  size_t nops;
  int bn, add;
  ref_act act;
} fused_case;

static void check_fused_conv(const fused_case *fc, int depthwise) {
  int64_t n = 2, h = 6, w = 5, c = 3, k = 3, oc = depthwise ? 3 : 4;
  td_tensor x = nn_random_tensor(4, A_DIMS(n, h, w, c));
  td_tensor f = nn_random_tensor(4, depthwise ? A_DIMS(k, k, c, 1) : A_DIMS(k, k, c, oc));
  int64_t total = n * h * w * oc;
  float *want = malloc((size_t)total * sizeof *want);
  naive_conv(td_f32(&x), td_f32(&f), n, h, w, c, k, oc, depthwise, want);
  td_tensor args[4];
  int nargs = 0;
  if (fc->bn) {
    args[0] = nn_random_tensor(1, A_DIMS(oc));                  /* scale */
    args[1] = nn_random_tensor(1, A_DIMS(oc));                  /* offset */
    args[2] = nn_random_tensor(1, A_DIMS(oc));                  /* mean */
    args[3] = nn_random_tensor(1, A_DIMS(oc));                  /* variance */
    for (int i = 0; i < oc; i++) td_f32(&args[3])[i] = fabsf(td_f32(&args[3])[i]) + 0.1f;
    nargs = 4;
  } else {
    args[nargs++] = nn_random_tensor(1, A_DIMS(oc)); /* bias */
    if (fc->add) args[nargs++] = nn_random_tensor(4, A_DIMS(n, h, w, oc));
  }
  for (int64_t i = 0; i < total; i++) {
    int64_t ch = i % oc;
    float v = want[i];
    if (fc->bn) {
      float sc = td_f32(&args[0])[ch], off = td_f32(&args[1])[ch], mean = td_f32(&args[2])[ch], var = td_f32(&args[3])[ch];
      v = (v - mean) * sc / sqrtf(var + 0.001f) + off;
    } else {
      v += td_f32(&args[0])[ch];
      if (fc->add) v += td_f32(&args[1])[i];
    }
    want[i] = ref_activate(fc->act, v);
  }
  Tensorflow__NodeDef *nd = td_test_node_new(depthwise ? "_FusedDepthwiseConv2dNative" : "_FusedConv2D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "strides", A_I64(1, 1, 1, 1), 4);
  td_test_attr_str(nd, "padding", "SAME");
  td_test_attr_int(nd, "num_args", nargs);
  td_dtype types[4] = {TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_FLOAT};
  td_test_attr_types(nd, "TArgs", types, (size_t)nargs);
  td_test_attr_float(nd, "epsilon", 0.001f);
  td_test_attr_float(nd, "leakyrelu_alpha", 0.3f);
  set_fused_ops(nd, fc->ops, fc->nops);
  td_tensor ins[6] = {x, f};
  for (int i = 0; i < nargs; i++) ins[2 + i] = args[i];
  td_tensor out = at_run1(nd, ins, 2 + nargs);
  at_expect_shape(&out, 4, A_DIMS(n, h, w, oc));
  assert_true(nn_close(td_f32(&out), want, total, 1e-5f * 27));
  td_tensor_release(&out);
  free(want);
}

static void test_fused_conv2d(void **state) {
  (void)state;
  static const fused_case cases[] = {
      {{"BiasAdd"}, 1, 0, 0, R_NONE},
      {{"BiasAdd", "Relu"}, 2, 0, 0, R_RELU},
      {{"BiasAdd", "Relu6"}, 2, 0, 0, R_RELU6},
      {{"BiasAdd", "Elu"}, 2, 0, 0, R_ELU},
      {{"BiasAdd", "LeakyRelu"}, 2, 0, 0, R_LEAKY},
      {{"FusedBatchNorm"}, 1, 1, 0, R_NONE},
      {{"FusedBatchNorm", "Relu"}, 2, 1, 0, R_RELU},
      {{"BiasAdd", "Add", "Relu"}, 3, 0, 1, R_RELU},
  };
  for (int dnnl = 0; dnnl < 2; dnnl++) {
    td_nn_set_dnnl_enabled(dnnl);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_fused_conv(&cases[i], 0);
    check_fused_conv(&cases[2], 1);
    check_fused_conv(&cases[3], 1);
  }
  td_nn_set_dnnl_enabled(1);

  /* An unknown fused op is UNIMPLEMENTED, naming it. */
  Tensorflow__NodeDef *nd = td_test_node_new("_FusedConv2D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "strides", A_I64(1, 1, 1, 1), 4);
  td_test_attr_str(nd, "padding", "SAME");
  td_test_attr_int(nd, "num_args", 1);
  td_dtype t1[1] = {TD_DT_FLOAT};
  td_test_attr_types(nd, "TArgs", t1, 1);
  const char *ops[2] = {"BiasAdd", "Swish"};
  set_fused_ops(nd, ops, 2);
  td_tensor ins[3] = {nn_random_tensor(4, A_DIMS(1, 3, 3, 1)), nn_random_tensor(4, A_DIMS(1, 1, 1, 2)), nn_random_tensor(1, A_DIMS(2))};
  at_expect_error(nd, ins, 3, 1, TD_UNIMPLEMENTED, "unsupported fusion of Swish");
}

static void test_fused_matmul(void **state) {
  (void)state;
  int64_t m = 5, k = 7, n = 4;
  static const struct {
    const char *act;
    ref_act r;
  } acts[] = {{NULL, R_NONE}, {"Relu", R_RELU}, {"Tanh", R_TANH}, {"GeluExact", R_GELU}};
  for (size_t a = 0; a < 4; a++) {
    td_tensor x = nn_random_tensor(2, A_DIMS(m, k)), wt = nn_random_tensor(2, A_DIMS(n, k)), b = nn_random_tensor(1, A_DIMS(n));
    float want[20];
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = td_f32(&b)[j];
        for (int64_t q = 0; q < k; q++) s += (double)td_f32(&x)[i * k + q] * td_f32(&wt)[j * k + q];
        want[i * n + j] = ref_activate(acts[a].r, (float)s);
      }
    Tensorflow__NodeDef *nd = td_test_node_new("_FusedMatMul");
    td_test_attr_type(nd, "T", TD_DT_FLOAT);
    td_test_attr_bool(nd, "transpose_b", 1);
    td_test_attr_int(nd, "num_args", 1);
    const char *ops[2] = {"BiasAdd", acts[a].act};
    set_fused_ops(nd, ops, acts[a].act ? 2 : 1);
    td_tensor ins[3] = {x, wt, b};
    td_tensor out = at_run1(nd, ins, 3);
    at_expect_shape(&out, 2, A_DIMS(m, n));
    assert_true(nn_close(td_f32(&out), want, m * n, 1e-5f));
    td_tensor_release(&out);
  }
  Tensorflow__NodeDef *nd = td_test_node_new("_FusedMatMul");
  td_test_attr_int(nd, "num_args", 1);
  const char *ops[1] = {"BiasAdd"};
  set_fused_ops(nd, ops, 1);
  td_tensor bad[3] = {nn_random_tensor(2, A_DIMS(2, 3)), nn_random_tensor(2, A_DIMS(2, 3)), nn_random_tensor(1, A_DIMS(3))};
  at_expect_error(nd, bad, 3, 1, TD_INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: [2,3], In[1]: [2,3]");
}

/* ---- MaxPoolWithArgmax / Dilation2D ---- */

static void test_max_pool_with_argmax(void **state) {
  (void)state;
  /* 2 images of 3x3x1 (second = first + 100 mirrored), 2x2 window, stride 2, SAME: windows
   * rows {0,1} x cols {0,1}, {2}, row {2} x {0,1}, {2}. */
  float img[18] = {1, 9, 2, 4, 3, 8, 7, 5, 6};
  for (int i = 0; i < 9; i++) img[9 + i] = 100 + img[8 - i];
  for (int incl = 0; incl < 2; incl++) {
    Tensorflow__NodeDef *nd = td_test_node_new("MaxPoolWithArgmax");
    td_test_attr_type(nd, "T", TD_DT_FLOAT);
    td_test_attr_ints(nd, "ksize", A_I64(1, 2, 2, 1), 4);
    td_test_attr_ints(nd, "strides", A_I64(1, 2, 2, 1), 4);
    td_test_attr_str(nd, "padding", "SAME");
    td_test_attr_bool(nd, "include_batch_in_index", incl);
    td_tensor ins[1] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(2, 3, 3, 1), img)};
    td_tensor out[2];
    td_status st;
    assert_int_equal(at_run(nd, ins, 1, out, 2, &st), TD_OK);
    /* image 0: 9 @1, 8 @5, 7 @6, 6 @8; image 1 by index: 106 105 107 / 108 103 104 / 102 109 101
     * gives 108 @3, 107 @2, 109 @7, 101 @8 (plus 9 with include_batch_in_index). */
    at_expect(&out[0], TD_DT_FLOAT, 4, A_DIMS(2, 2, 2, 1), A_F32(9, 8, 7, 6, 108, 107, 109, 101));
    int64_t o = incl ? 9 : 0;
    at_expect(&out[1], TD_DT_INT64, 4, A_DIMS(2, 2, 2, 1), A_I64(1, 5, 6, 8, o + 3, o + 2, o + 7, o + 8));
  }
}

static void test_dilation2d(void **state) {
  (void)state;
  /* 1x4x4x1 input 0..15, 2x2 filter [[0, 1], [2, -5]], rates 2, stride 1, VALID -> 2x2:
   * out[y, x] = max(in[y, x] + 0, in[y, x+2] + 1, in[y+2, x] + 2, in[y+2, x+2] - 5). */
  float in[16];
  for (int i = 0; i < 16; i++) in[i] = (float)i;
  Tensorflow__NodeDef *nd = td_test_node_new("Dilation2D");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_ints(nd, "strides", A_I64(1, 1, 1, 1), 4);
  td_test_attr_ints(nd, "rates", A_I64(1, 2, 2, 1), 4);
  td_test_attr_str(nd, "padding", "VALID");
  td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 4, 4, 1), in), at_tensor(TD_DT_FLOAT, 3, A_DIMS(2, 2, 1), A_F32(0, 1, 2, -5))};
  td_tensor out = at_run1(nd, ins, 2);
  /* (0,0): max(0, 3, 10, 5) = 10; (0,1): max(1, 4, 11, 6) = 11; (1,0): 14; (1,1): 15 */
  at_expect(&out, TD_DT_FLOAT, 4, A_DIMS(1, 2, 2, 1), A_F32(10, 11, 14, 15));

  nd = td_test_node_new("Dilation2D");
  td_test_attr_str(nd, "padding", "SAME");
  td_tensor bad[2] = {at_tensor(TD_DT_FLOAT, 4, A_DIMS(1, 4, 4, 1), in), at_tensor(TD_DT_FLOAT, 3, A_DIMS(1, 1, 2), A_F32(0, 1))};
  at_expect_error(nd, bad, 2, 1, TD_INVALID_ARGUMENT, "input and filter must have the same depth: 1 vs 2");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv2d_backprop_input),
      cmocka_unit_test(test_conv3d_backprop_input),
      cmocka_unit_test(test_backprop_errors),
      cmocka_unit_test(test_fused_conv2d),
      cmocka_unit_test(test_fused_matmul),
      cmocka_unit_test(test_max_pool_with_argmax),
      cmocka_unit_test(test_dilation2d),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
