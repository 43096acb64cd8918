/* tflite_ops_nn.c — TFLite elementwise, activation, FULLY_CONNECTED, CONV_2D /
 * DEPTHWISE_CONV_2D / TRANSPOSE_CONV, pooling and BATCH_MATMUL operators as TF nodes (filter
 * layouts OHWI → HWIO and [1,H,W,C·M] → [H,W,C,M]; FULLY_CONNECTED's flattening and
 * keep_num_dims; SOFTMAX's beta; fused activations). LEAKY_RELU and BATCH_MATMUL are data rows
 * in tflite_ops.c. Quantized tensors arrive and leave as float real values (tflite_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_ops.h"

/* ---- elementwise ---- */

td_code tfl_unary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  int logical = !strcmp(tf, "LogicalNot");
  td_tfl_val v = tx_op(x, tf, logical ? TD_DT_INVALID : a.dt, a.dt, 1, &a);
  return finish(x, op, v, 0, st);
}

td_code tfl_binary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val ab[2];
  TD_TRY(IN(x, op, 0, &ab[0], st));
  TD_TRY(IN(x, op, 1, &ab[1], st));
  if (ab[0].dt != ab[1].dt) ab[1] = cast(x, ab[1], ab[0].dt);
  td_dtype out = rep_dtype(x, op->out[0]);
  int logical = !strncmp(tf, "Logical", 7);
  if (!strcmp(tf, "RealDiv") && ab[0].dt != TD_DT_FLOAT && ab[0].dt != TD_DT_DOUBLE && ab[0].dt != TD_DT_HALF) tf = "Div";
  td_tfl_val v = tx_op(x, tf, logical ? TD_DT_INVALID : ab[0].dt, out == TD_DT_BOOL ? TD_DT_BOOL : ab[0].dt, 2, ab);
  int act = 0;
  if (!strcmp(tf, "AddV2") || !strcmp(tf, "Sub") || !strcmp(tf, "Mul") || !strcmp(tf, "RealDiv") || !strcmp(tf, "Div"))
    act = opt_i8(x, op, 0, 0);
  return finish(x, op, v, act, st);
}

td_code tfl_relu_n1(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  return finish(x, op, a, 2, st);
}

td_code tfl_hard_swish(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf; /* x · relu6(x + 3) / 6 */
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  td_tfl_val p[2] = {a, tx_scalar_f32(x, 3.f)};
  td_tfl_val r = tx_op(x, "AddV2", a.dt, a.dt, 2, p);
  r = tx_op(x, "Relu6", a.dt, a.dt, 1, &r);
  td_tfl_val m[2] = {a, r};
  r = tx_op(x, "Mul", a.dt, a.dt, 2, m);
  td_tfl_val d[2] = {r, tx_scalar_f32(x, 6.f)};
  return finish(x, op, tx_op(x, "RealDiv", a.dt, a.dt, 2, d), 0, st);
}

td_code tfl_prelu(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf; /* max(0,x) + alpha·min(0,x) */
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, al;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &al, st));
  td_tfl_val pos = tx_op(x, "Relu", a.dt, a.dt, 1, &a);
  td_tfl_val na = tx_op(x, "Neg", a.dt, a.dt, 1, &a);
  td_tfl_val neg = tx_op(x, "Relu", a.dt, a.dt, 1, &na);
  td_tfl_val m[2] = {al, neg};
  td_tfl_val s = tx_op(x, "Mul", a.dt, a.dt, 2, m);
  td_tfl_val d[2] = {pos, s};
  return finish(x, op, tx_op(x, "Sub", a.dt, a.dt, 2, d), 0, st);
}

td_code tfl_softmax(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  float beta = strcmp(tf, "Softmax") ? 1.f : opt_f32(x, op, 0, 1.f);
  if (beta != 1.f) {
    td_tfl_val m[2] = {a, tx_scalar_f32(x, beta)};
    a = tx_op(x, "Mul", a.dt, a.dt, 2, m);
  }
  return finish(x, op, tx_op(x, tf, a.dt, a.dt, 1, &a), 0, st);
}

/* ---- dense / conv / pool ---- */

static td_tfl_val transpose_const(td_tfl_tx *x, td_tfl_val v, const int32_t *perm, int n) {
  int64_t d = n;
  td_tfl_val in[2] = {v, tx_const_i32(x, 1, &d, perm)};
  return tx_op(x, "Transpose", v.dt, v.dt, 2, in); /* folded when v is constant */
}

static td_tfl_val bias_add(td_tfl_tx *x, const td_tfl_op *op, int k, td_tfl_val v, td_status *st, td_code *code) {
  if (op->nin <= k || op->in[k] < 0) return v;
  td_tfl_val b;
  *code = IN(x, op, k, &b, st);
  if (*code != TD_OK) return v;
  b = cast(x, b, v.dt);
  td_tfl_val in[2] = {v, b};
  return tx_op(x, "BiasAdd", v.dt, v.dt, 2, in);
}

td_code tfl_fully_connected(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, w;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &w, st));
  const td_tfl_tensor *wt = T(x, op->in[1]);
  if (wt->rank != 2) return td_status_set(st, TD_INVALID_ARGUMENT, "FULLY_CONNECTED weights must be 2-D");
  if (opt_i8(x, op, 1, 0) != 0) return td_status_set(st, TD_UNIMPLEMENTED, "FULLY_CONNECTED with shuffled weights");
  w = cast(x, w, a.dt);
  int32_t flat[2] = {-1, (int32_t)wt->dims[1]};
  int64_t two = 2;
  td_tfl_val r[2] = {a, tx_const_i32(x, 1, &two, flat)};
  td_tfl_val a2 = tx_op(x, "Reshape", a.dt, a.dt, 2, r);
  Tensorflow__NodeDef *mm = tx_node(x, "MatMul", NULL);
  tx_in(mm, a2.name);
  tx_in(mm, w.name);
  td_node_attr_type(mm, "T", a.dt);
  td_node_attr_bool(mm, "transpose_b", 1);
  td_tfl_val v = tx_out(x, mm, 0, a.dt);
  td_code code = TD_OK;
  v = bias_add(x, op, 2, v, st, &code);
  TD_TRY(code);
  int act = opt_i8(x, op, 0, 0);
  TD_TRY(tx_activation(x, act, &v, st));
  if (opt_bool(x, op, 2)) { /* keep_num_dims: x's shape with the last dim replaced by units */
    td_tfl_val sh = tx_op(x, "Shape", a.dt, TD_DT_INT32, 1, &a);
    int32_t b0 = 0, e0 = -1, s1 = 1, units = (int32_t)wt->dims[0];
    int64_t one = 1;
    Tensorflow__NodeDef *ss = tx_node(x, "StridedSlice", NULL);
    tx_in(ss, sh.name);
    tx_in(ss, tx_const_i32(x, 1, &one, &b0).name);
    tx_in(ss, tx_const_i32(x, 1, &one, &e0).name);
    tx_in(ss, tx_const_i32(x, 1, &one, &s1).name);
    td_node_attr_type(ss, "T", TD_DT_INT32);
    td_node_attr_type(ss, "Index", TD_DT_INT32);
    Tensorflow__NodeDef *cc = tx_node(x, "ConcatV2", NULL);
    tx_in(cc, tx_out(x, ss, 0, TD_DT_INT32).name);
    tx_in(cc, tx_const_i32(x, 1, &one, &units).name);
    tx_in(cc, tx_scalar_i32(x, 0).name);
    td_node_attr_type(cc, "T", TD_DT_INT32);
    td_node_attr_int(cc, "N", 2);
    td_tfl_val rr[2] = {v, tx_out(x, cc, 0, TD_DT_INT32)};
    v = tx_op(x, "Reshape", v.dt, v.dt, 2, rr);
  }
  tx_set(x, op->out[0], v);
  return TD_OK;
}

static const char *padding_name(int p) { return p == 1 ? "VALID" : "SAME"; }

td_code tfl_conv2d(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  int depthwise = !strcmp(tf, "DepthwiseConv2dNative");
  td_tfl_val a, w;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &w, st));
  w = cast(x, w, a.dt);
  const td_tfl_tensor *wt = T(x, op->in[1]), *it = T(x, op->in[0]);
  if (wt->rank != 4 || it->rank != 4)
    return td_status_set(st, TD_INVALID_ARGUMENT, "%s needs 4-D input and filter", depthwise ? "DEPTHWISE_CONV_2D" : "CONV_2D");
  int pad = opt_i8(x, op, 0, 0), sw = opt_i32(x, op, 1, 1), sh = opt_i32(x, op, 2, 1);
  int act = opt_i8(x, op, depthwise ? 4 : 3, 0);
  int dw = opt_i32(x, op, depthwise ? 5 : 4, 1), dh = opt_i32(x, op, depthwise ? 6 : 5, 1);
  if (depthwise) { /* [1,kh,kw,C·M] → [kh,kw,C,M] */
    int64_t cin = it->dims[3], cout = wt->dims[3];
    if (cin <= 0 || cout % cin)
      return td_status_set(st, TD_INVALID_ARGUMENT, "DEPTHWISE_CONV_2D: %lld output channels for %lld input channels",
                           (long long)cout, (long long)cin);
    int32_t shape[4] = {(int32_t)wt->dims[1], (int32_t)wt->dims[2], (int32_t)cin, (int32_t)(cout / cin)};
    int64_t four = 4;
    td_tfl_val r[2] = {w, tx_const_i32(x, 1, &four, shape)};
    w = tx_op(x, "Reshape", w.dt, w.dt, 2, r);
  } else { /* OHWI → HWIO */
    static const int32_t perm[4] = {1, 2, 3, 0};
    w = transpose_const(x, w, perm, 4);
  }
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, w.name);
  td_node_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, sh, sw, 1}, dil[4] = {1, dh, dw, 1};
  td_node_attr_ints(nd, "strides", strides, 4);
  td_node_attr_ints(nd, "dilations", dil, 4);
  td_node_attr_str(nd, "padding", padding_name(pad));
  td_tfl_val v = tx_out(x, nd, 0, a.dt);
  td_code code = TD_OK;
  v = bias_add(x, op, 2, v, st, &code);
  TD_TRY(code);
  return finish(x, op, v, act, st);
}

td_code tfl_transpose_conv(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf; /* inputs: output_shape, weights [Cout,kh,kw,Cin], input, optional bias */
  TD_TRY(need(op, 3, 1, st));
  td_tfl_val shape, w, a;
  TD_TRY(IN(x, op, 0, &shape, st));
  TD_TRY(IN(x, op, 1, &w, st));
  TD_TRY(IN(x, op, 2, &a, st));
  w = cast(x, w, a.dt);
  static const int32_t perm[4] = {1, 2, 0, 3};
  w = transpose_const(x, w, perm, 4);
  Tensorflow__NodeDef *nd = tx_node(x, "Conv2DBackpropInput", NULL);
  tx_in(nd, cast(x, shape, TD_DT_INT32).name);
  tx_in(nd, w.name);
  tx_in(nd, a.name);
  td_node_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, opt_i32(x, op, 2, 1), opt_i32(x, op, 1, 1), 1};
  td_node_attr_ints(nd, "strides", strides, 4);
  td_node_attr_str(nd, "padding", padding_name(opt_i8(x, op, 0, 0)));
  td_tfl_val v = tx_out(x, nd, 0, a.dt);
  td_code code = TD_OK;
  v = bias_add(x, op, 3, v, st, &code);
  TD_TRY(code);
  return finish(x, op, v, opt_i8(x, op, 3, 0), st);
}

td_code tfl_pool(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  td_node_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, opt_i32(x, op, 2, 1), opt_i32(x, op, 1, 1), 1};
  int64_t ksize[4] = {1, opt_i32(x, op, 4, 1), opt_i32(x, op, 3, 1), 1};
  td_node_attr_ints(nd, "strides", strides, 4);
  td_node_attr_ints(nd, "ksize", ksize, 4);
  td_node_attr_str(nd, "padding", padding_name(opt_i8(x, op, 0, 0)));
  return finish(x, op, tx_out(x, nd, 0, a.dt), opt_i8(x, op, 5, 0), st);
}
