/* tflite_ops.c — TFLite builtin (and ParseExample custom) operators → TF nodes the engine's
 * kernels run. One table row per builtin; option tables are read with their schema field ids
 * (../shared/reference/tflite-format.md §3). Semantics that differ between TFLite and TF are
 * bridged here: filter layouts (OHWI → HWIO, [1,H,W,C·M] → [H,W,C,M]), FULLY_CONNECTED's
 * flattening and keep_num_dims, SOFTMAX's beta, STRIDED_SLICE's `offset`, fused activations.
 * Quantized tensors arrive and leave as float real values (tflite_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_internal.h"
#include "util/mem.h"

typedef td_code (*op_fn)(td_tfl_tx *x, const td_tfl_op *op, const char *tf_op, td_status *st);

static td_fb *FB(td_tfl_tx *x) { return (td_fb *)&x->m->fb; }
static int opt_i32(td_tfl_tx *x, const td_tfl_op *op, int id, int def) { return td_fb_i32(FB(x), &op->options, id, def); }
static int opt_i8(td_tfl_tx *x, const td_tfl_op *op, int id, int def) { return td_fb_i8(FB(x), &op->options, id, (int8_t)def); }
static int opt_bool(td_tfl_tx *x, const td_tfl_op *op, int id) { return td_fb_u8(FB(x), &op->options, id, 0) != 0; }
static float opt_f32(td_tfl_tx *x, const td_tfl_op *op, int id, float def) { return td_fb_f32(FB(x), &op->options, id, def); }

static td_code need(const td_tfl_op *op, int nin, int nout, td_status *st) {
  if (op->nin < nin || op->nout < nout)
    return td_status_set(st, TD_INVALID_ARGUMENT, "operator has %d inputs and %d outputs, needs at least %d and %d",
                         op->nin, op->nout, nin, nout);
  for (int i = 0; i < nin; i++)
    if (op->in[i] < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "required input %d is omitted", i);
  return TD_OK;
}

static td_code IN(td_tfl_tx *x, const td_tfl_op *op, int k, td_tfl_val *v, td_status *st) {
  return tx_value(x, op->in[k], v, st);
}

static const td_tfl_tensor *T(td_tfl_tx *x, int i) { return &x->sg->tensors[i]; }

/* Representation dtype of TFLite tensor i: float for quantized tensors. */
static td_dtype rep_dtype(td_tfl_tx *x, int i) {
  const td_tfl_tensor *t = T(x, i);
  return tx_is_quant(t) ? TD_DT_FLOAT : tx_dtype(t->type);
}

static td_tfl_val cast(td_tfl_tx *x, td_tfl_val v, td_dtype to) {
  if (v.dt == to) return v;
  Tensorflow__NodeDef *c = tx_node(x, "Cast", NULL);
  tx_in(c, v.name);
  tx_attr_type(c, "SrcT", v.dt);
  tx_attr_type(c, "DstT", to);
  return tx_out(x, c, 0, to);
}

/* Sets output 0 after the fused activation. */
static td_code finish(td_tfl_tx *x, const td_tfl_op *op, td_tfl_val v, int act, td_status *st) {
  TD_TRY(tx_activation(x, act, &v, st));
  tx_set(x, op->out[0], v);
  return TD_OK;
}

/* ---- elementwise ---- */

static td_code unary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  int logical = !strcmp(tf, "LogicalNot");
  td_tfl_val v = tx_op(x, tf, logical ? TD_DT_INVALID : a.dt, a.dt, 1, &a);
  return finish(x, op, v, 0, st);
}

static td_code binary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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

static td_code leaky_relu(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, "LeakyRelu", NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_float(nd, "alpha", opt_f32(x, op, 0, 0.2f));
  return finish(x, op, tx_out(x, nd, 0, a.dt), 0, st);
}

static td_code relu_n1(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  return finish(x, op, a, 2, st);
}

static td_code hard_swish(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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

static td_code prelu(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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

static td_code softmax(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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

static td_code fully_connected(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  tx_attr_type(mm, "T", a.dt);
  tx_attr_bool(mm, "transpose_b", 1);
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
    tx_attr_type(ss, "T", TD_DT_INT32);
    tx_attr_type(ss, "Index", TD_DT_INT32);
    Tensorflow__NodeDef *cc = tx_node(x, "ConcatV2", NULL);
    tx_in(cc, tx_out(x, ss, 0, TD_DT_INT32).name);
    tx_in(cc, tx_const_i32(x, 1, &one, &units).name);
    tx_in(cc, tx_scalar_i32(x, 0).name);
    tx_attr_type(cc, "T", TD_DT_INT32);
    tx_attr_int(cc, "N", 2);
    td_tfl_val rr[2] = {v, tx_out(x, cc, 0, TD_DT_INT32)};
    v = tx_op(x, "Reshape", v.dt, v.dt, 2, rr);
  }
  tx_set(x, op->out[0], v);
  return TD_OK;
}

static const char *padding_name(int p) { return p == 1 ? "VALID" : "SAME"; }

static td_code conv2d(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  tx_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, sh, sw, 1}, dil[4] = {1, dh, dw, 1};
  tx_attr_ints(nd, "strides", strides, 4);
  tx_attr_ints(nd, "dilations", dil, 4);
  tx_attr_str(nd, "padding", padding_name(pad));
  td_tfl_val v = tx_out(x, nd, 0, a.dt);
  td_code code = TD_OK;
  v = bias_add(x, op, 2, v, st, &code);
  TD_TRY(code);
  return finish(x, op, v, act, st);
}

static td_code transpose_conv(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  tx_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, opt_i32(x, op, 2, 1), opt_i32(x, op, 1, 1), 1};
  tx_attr_ints(nd, "strides", strides, 4);
  tx_attr_str(nd, "padding", padding_name(opt_i8(x, op, 0, 0)));
  td_tfl_val v = tx_out(x, nd, 0, a.dt);
  td_code code = TD_OK;
  v = bias_add(x, op, 3, v, st, &code);
  TD_TRY(code);
  return finish(x, op, v, opt_i8(x, op, 3, 0), st);
}

static td_code pool(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  int64_t strides[4] = {1, opt_i32(x, op, 2, 1), opt_i32(x, op, 1, 1), 1};
  int64_t ksize[4] = {1, opt_i32(x, op, 4, 1), opt_i32(x, op, 3, 1), 1};
  tx_attr_ints(nd, "strides", strides, 4);
  tx_attr_ints(nd, "ksize", ksize, 4);
  tx_attr_str(nd, "padding", padding_name(opt_i8(x, op, 0, 0)));
  return finish(x, op, tx_out(x, nd, 0, a.dt), opt_i8(x, op, 5, 0), st);
}

static td_code batch_matmul(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, b;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &b, st));
  b = cast(x, b, a.dt);
  Tensorflow__NodeDef *nd = tx_node(x, "BatchMatMulV2", NULL);
  tx_in(nd, a.name);
  tx_in(nd, b.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_bool(nd, "adj_x", opt_bool(x, op, 0));
  tx_attr_bool(nd, "adj_y", opt_bool(x, op, 1));
  return finish(x, op, tx_out(x, nd, 0, a.dt), 0, st);
}

/* ---- shape / data movement ---- */

static td_code reshape(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a, s;
  TD_TRY(IN(x, op, 0, &a, st));
  if (op->nin > 1 && op->in[1] >= 0 && T(x, op->in[1])->rank == 1) {
    TD_TRY(IN(x, op, 1, &s, st));
  } else {
    td_fb_vec v = td_fb_vector(FB(x), &op->options, 0, 4);
    int32_t dims[TD_TFL_MAX_RANK];
    if (v.n > TD_TFL_MAX_RANK) return td_status_set(st, TD_INVALID_ARGUMENT, "RESHAPE new_shape has rank %u", v.n);
    for (uint32_t i = 0; i < v.n; i++) dims[i] = td_fb_vec_i32(FB(x), &v, i);
    int64_t n = v.n;
    if (!v.n) { /* no shape anywhere: the output tensor's static shape */
      const td_tfl_tensor *ot = T(x, op->out[0]);
      n = ot->rank;
      for (int i = 0; i < ot->rank; i++) dims[i] = (int32_t)ot->dims[i];
    }
    s = tx_const_i32(x, 1, &n, dims);
  }
  td_tfl_val in[2] = {a, s};
  Tensorflow__NodeDef *nd = tx_node(x, "Reshape", NULL);
  tx_in(nd, a.name);
  tx_in(nd, s.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, "Tshape", s.dt);
  (void)in;
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

/* op(x, idx) with attrs T and idx_attr = idx dtype (+ bool attr from option 0 when keep). */
static td_code with_index(td_tfl_tx *x, const td_tfl_op *op, const char *tf, const char *idx_attr, int keep_dims,
                          int has_t, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, i;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &i, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, i.name);
  if (has_t) tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, idx_attr, i.dt);
  if (keep_dims) tx_attr_bool(nd, "keep_dims", opt_bool(x, op, 0));
  td_dtype out = rep_dtype(x, op->out[0]);
  tx_set(x, op->out[0], tx_out(x, nd, 0, out == TD_DT_BOOL ? TD_DT_BOOL : a.dt));
  return TD_OK;
}

static td_code reduce(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  int logical = !strcmp(tf, "Any") || !strcmp(tf, "All");
  return with_index(x, op, tf, "Tidx", 1, !logical, st);
}
static td_code pad(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  if (!strcmp(tf, "PadV2") && op->nin > 2 && op->in[2] >= 0) {
    TD_TRY(need(op, 3, 1, st));
    td_tfl_val a, p, c;
    TD_TRY(IN(x, op, 0, &a, st));
    TD_TRY(IN(x, op, 1, &p, st));
    TD_TRY(IN(x, op, 2, &c, st));
    Tensorflow__NodeDef *nd = tx_node(x, "PadV2", NULL);
    tx_in(nd, a.name);
    tx_in(nd, p.name);
    tx_in(nd, cast(x, c, a.dt).name);
    tx_attr_type(nd, "T", a.dt);
    tx_attr_type(nd, "Tpaddings", p.dt);
    tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
    return TD_OK;
  }
  if (!strcmp(tf, "MirrorPad")) {
    TD_TRY(need(op, 2, 1, st));
    td_tfl_val a, p;
    TD_TRY(IN(x, op, 0, &a, st));
    TD_TRY(IN(x, op, 1, &p, st));
    Tensorflow__NodeDef *nd = tx_node(x, "MirrorPad", NULL);
    tx_in(nd, a.name);
    tx_in(nd, p.name);
    tx_attr_type(nd, "T", a.dt);
    tx_attr_type(nd, "Tpaddings", p.dt);
    tx_attr_str(nd, "mode", opt_i8(x, op, 0, 0) == 1 ? "SYMMETRIC" : "REFLECT");
    tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
    return TD_OK;
  }
  return with_index(x, op, "Pad", "Tpaddings", 0, 1, st);
}
static td_code transpose(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  return with_index(x, op, "Transpose", "Tperm", 0, 1, st);
}
static td_code expand_dims(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  return with_index(x, op, "ExpandDims", "Tdim", 0, 1, st);
}
static td_code idx_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  /* Tile (Tmultiples), ReverseV2 / Cumsum (Tidx), BroadcastTo (Tidx) */
  const char *attr = !strcmp(tf, "Tile") ? "Tmultiples" : "Tidx";
  TD_TRY(with_index(x, op, tf, attr, 0, 1, st));
  if (!strcmp(tf, "Cumsum")) { /* exclusive / reverse options */
    Tensorflow__NodeDef *nd = x->gd->node[x->gd->n_node - 1];
    for (size_t i = x->gd->n_node; i-- > 0;)
      if (!strcmp(x->gd->node[i]->op, "Cumsum")) {
        nd = x->gd->node[i];
        break;
      }
    tx_attr_bool(nd, "exclusive", opt_bool(x, op, 0));
    tx_attr_bool(nd, "reverse", opt_bool(x, op, 1));
  }
  return TD_OK;
}

static td_code squeeze(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  td_fb_vec v = td_fb_vector(FB(x), &op->options, 0, 4);
  int64_t dims[TD_TFL_MAX_RANK];
  if (v.n > TD_TFL_MAX_RANK) return td_status_set(st, TD_INVALID_ARGUMENT, "SQUEEZE lists %u dims", v.n);
  for (uint32_t i = 0; i < v.n; i++) dims[i] = td_fb_vec_i32(FB(x), &v, i);
  Tensorflow__NodeDef *nd = tx_node(x, "Squeeze", NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_ints(nd, "squeeze_dims", dims, v.n);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code concat(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  Tensorflow__NodeDef *nd = tx_node(x, "ConcatV2", NULL);
  td_dtype dt = TD_DT_INVALID;
  for (int i = 0; i < op->nin; i++) {
    td_tfl_val a;
    TD_TRY(IN(x, op, i, &a, st));
    if (dt == TD_DT_INVALID) dt = a.dt;
    tx_in(nd, cast(x, a, dt).name);
  }
  tx_in(nd, tx_scalar_i32(x, opt_i32(x, op, 0, 0)).name);
  tx_attr_type(nd, "T", dt);
  tx_attr_int(nd, "N", op->nin);
  return finish(x, op, tx_out(x, nd, 0, dt), opt_i8(x, op, 1, 0), st);
}

static td_code pack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  Tensorflow__NodeDef *nd = tx_node(x, "Pack", NULL);
  td_dtype dt = TD_DT_INVALID;
  for (int i = 0; i < op->nin; i++) {
    td_tfl_val a;
    TD_TRY(IN(x, op, i, &a, st));
    if (dt == TD_DT_INVALID) dt = a.dt;
    tx_in(nd, cast(x, a, dt).name);
  }
  tx_attr_type(nd, "T", dt);
  tx_attr_int(nd, "N", op->nin);
  tx_attr_int(nd, "axis", opt_i32(x, op, 1, 0));
  tx_set(x, op->out[0], tx_out(x, nd, 0, dt));
  return TD_OK;
}

/* Multi-output ops: sets outputs 0..nout-1 from node nd. */
static void set_all(td_tfl_tx *x, const td_tfl_op *op, const Tensorflow__NodeDef *nd, td_dtype dt) {
  for (int k = 0; k < op->nout; k++) tx_set(x, op->out[k], tx_out(x, nd, k, dt));
}

static td_code unpack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, "Unpack", NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_int(nd, "num", op->nout);
  tx_attr_int(nd, "axis", opt_i32(x, op, 1, 0));
  set_all(x, op, nd, a.dt);
  return TD_OK;
}

static td_code split(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  int v = !strcmp(tf, "SplitV");
  TD_TRY(need(op, v ? 3 : 2, 1, st));
  td_tfl_val a, b, c;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &b, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  td_dtype dt;
  if (v) { /* value, size_splits, axis */
    TD_TRY(IN(x, op, 2, &c, st));
    tx_in(nd, a.name);
    tx_in(nd, b.name);
    tx_in(nd, cast(x, c, TD_DT_INT32).name);
    tx_attr_type(nd, "Tlen", b.dt);
    dt = a.dt;
  } else { /* axis, value */
    tx_in(nd, cast(x, a, TD_DT_INT32).name);
    tx_in(nd, b.name);
    dt = b.dt;
  }
  tx_attr_type(nd, "T", dt);
  tx_attr_int(nd, "num_split", op->nout);
  set_all(x, op, nd, dt);
  return TD_OK;
}

static td_code gather(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val p, i;
  TD_TRY(IN(x, op, 0, &p, st));
  TD_TRY(IN(x, op, 1, &i, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, p.name);
  tx_in(nd, i.name);
  tx_attr_type(nd, "Tparams", p.dt);
  tx_attr_type(nd, "Tindices", i.dt);
  if (!strcmp(tf, "GatherV2")) {
    tx_in(nd, tx_scalar_i32(x, opt_i32(x, op, 0, 0)).name);
    tx_attr_type(nd, "Taxis", TD_DT_INT32);
    tx_attr_int(nd, "batch_dims", opt_i32(x, op, 1, 0));
  }
  tx_set(x, op->out[0], tx_out(x, nd, 0, p.dt));
  return TD_OK;
}

static td_code strided_slice(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 4, 1, st));
  td_tfl_val a, b, e, s;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &b, st));
  TD_TRY(IN(x, op, 2, &e, st));
  TD_TRY(IN(x, op, 3, &s, st));
  e = cast(x, e, b.dt);
  s = cast(x, s, b.dt);
  if (opt_bool(x, op, 5)) { /* offset: end is relative to begin */
    td_tfl_val in[2] = {b, e};
    e = tx_op(x, "AddV2", b.dt, b.dt, 2, in);
  }
  Tensorflow__NodeDef *nd = tx_node(x, "StridedSlice", NULL);
  tx_in(nd, a.name);
  tx_in(nd, b.name);
  tx_in(nd, e.name);
  tx_in(nd, s.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, "Index", b.dt);
  static const char *const masks[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"};
  for (int k = 0; k < 5; k++) tx_attr_int(nd, masks[k], opt_i32(x, op, k, 0));
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code slice(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 3, 1, st));
  td_tfl_val a, b, s;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &b, st));
  TD_TRY(IN(x, op, 2, &s, st));
  Tensorflow__NodeDef *nd = tx_node(x, "Slice", NULL);
  tx_in(nd, a.name);
  tx_in(nd, b.name);
  tx_in(nd, cast(x, s, b.dt).name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, "Index", b.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code shape_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  td_dtype out = tx_dtype(T(x, op->out[0])->type);
  if (!strcmp(tf, "Shape")) tx_attr_type(nd, "out_type", out);
  tx_set(x, op->out[0], tx_out(x, nd, 0, !strcmp(tf, "Shape") ? out : TD_DT_INT32));
  return TD_OK;
}

static td_code cast_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  tx_set(x, op->out[0], cast(x, a, rep_dtype(x, op->out[0])));
  return TD_OK;
}

/* QUANTIZE / DEQUANTIZE: values are real numbers already; the output grid (if any) applies. */
static td_code requant(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  tx_set(x, op->out[0], cast(x, a, rep_dtype(x, op->out[0])));
  return TD_OK;
}

static td_code arg_minmax(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, d;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &d, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, d.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, "Tidx", d.dt);
  td_dtype out = tx_dtype(T(x, op->out[0])->type);
  tx_attr_type(nd, "output_type", out);
  tx_set(x, op->out[0], tx_out(x, nd, 0, out));
  return TD_OK;
}

static td_code resize(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, s;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &s, st));
  int bil = !strcmp(tf, "ResizeBilinear");
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, cast(x, s, TD_DT_INT32).name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_bool(nd, "align_corners", opt_bool(x, op, bil ? 2 : 0));
  tx_attr_bool(nd, "half_pixel_centers", opt_bool(x, op, bil ? 3 : 1));
  td_tfl_val v = tx_out(x, nd, 0, bil ? TD_DT_FLOAT : a.dt);
  tx_set(x, op->out[0], cast(x, v, rep_dtype(x, op->out[0])));
  return TD_OK;
}

static td_code block_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_int(nd, "block_size", opt_i32(x, op, 0, 2));
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code space_batch(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 3, 1, st));
  td_tfl_val a, b, p;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &b, st));
  TD_TRY(IN(x, op, 2, &p, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, b.name);
  tx_in(nd, p.name);
  tx_attr_type(nd, "T", a.dt);
  tx_attr_type(nd, "Tblock_shape", b.dt);
  tx_attr_type(nd, !strcmp(tf, "SpaceToBatchND") ? "Tpaddings" : "Tcrops", p.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code select_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 3, 1, st));
  td_tfl_val c, a, b;
  TD_TRY(IN(x, op, 0, &c, st));
  TD_TRY(IN(x, op, 1, &a, st));
  TD_TRY(IN(x, op, 2, &b, st));
  Tensorflow__NodeDef *nd = tx_node(x, "SelectV2", NULL);
  tx_in(nd, c.name);
  tx_in(nd, a.name);
  tx_in(nd, cast(x, b, a.dt).name);
  tx_attr_type(nd, "T", a.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

static td_code fill(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val d, v;
  TD_TRY(IN(x, op, 0, &d, st));
  TD_TRY(IN(x, op, 1, &v, st));
  Tensorflow__NodeDef *nd = tx_node(x, "Fill", NULL);
  tx_in(nd, d.name);
  tx_in(nd, v.name);
  tx_attr_type(nd, "T", v.dt);
  tx_attr_type(nd, "index_type", d.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, v.dt));
  return TD_OK;
}

static td_code range(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 3, 1, st));
  td_tfl_val in[3];
  for (int i = 0; i < 3; i++) TD_TRY(IN(x, op, i, &in[i], st));
  Tensorflow__NodeDef *nd = tx_node(x, "Range", NULL);
  for (int i = 0; i < 3; i++) tx_in(nd, cast(x, in[i], in[0].dt).name);
  tx_attr_type(nd, "Tidx", in[0].dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, in[0].dt));
  return TD_OK;
}

static td_code top_k(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 2, 2, st));
  td_tfl_val a, k;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &k, st));
  Tensorflow__NodeDef *nd = tx_node(x, "TopKV2", NULL);
  tx_in(nd, a.name);
  tx_in(nd, cast(x, k, TD_DT_INT32).name);
  tx_attr_type(nd, "T", a.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  tx_set(x, op->out[1], cast(x, tx_out(x, nd, 1, TD_DT_INT32), rep_dtype(x, op->out[1])));
  return TD_OK;
}

static td_code one_hot(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 4, 1, st));
  td_tfl_val in[4];
  for (int i = 0; i < 4; i++) TD_TRY(IN(x, op, i, &in[i], st));
  Tensorflow__NodeDef *nd = tx_node(x, "OneHot", NULL);
  tx_in(nd, in[0].name);
  tx_in(nd, cast(x, in[1], TD_DT_INT32).name);
  tx_in(nd, in[2].name);
  tx_in(nd, cast(x, in[3], in[2].dt).name);
  tx_attr_type(nd, "T", in[2].dt);
  tx_attr_type(nd, "TI", in[0].dt);
  tx_attr_int(nd, "axis", opt_i32(x, op, 0, -1));
  tx_set(x, op->out[0], tx_out(x, nd, 0, in[2].dt));
  return TD_OK;
}

static td_code add_n(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  Tensorflow__NodeDef *nd = tx_node(x, "AddN", NULL);
  td_dtype dt = TD_DT_INVALID;
  for (int i = 0; i < op->nin; i++) {
    td_tfl_val a;
    TD_TRY(IN(x, op, i, &a, st));
    if (dt == TD_DT_INVALID) dt = a.dt;
    tx_in(nd, cast(x, a, dt).name);
  }
  tx_attr_type(nd, "T", dt);
  tx_attr_int(nd, "N", op->nin);
  tx_set(x, op->out[0], tx_out(x, nd, 0, dt));
  return TD_OK;
}

static td_code gather_nd(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  return gather(x, op, tf, st);
}

/* ---- custom: ParseExample / ParseExampleV2 ---- */

static td_code parse_example(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  int v2 = !strcmp(tf, "ParseExampleV2");
  td_flex root = td_flex_root(op->custom_options, op->custom_options_len);
  int64_t num_sparse = td_flex_int(&(td_flex){0}, 0);
  if (op->custom_options_len) {
    td_flex ns = td_flex_map_get(&root, v2 ? "num_sparse" : "Nsparse");
    num_sparse = td_flex_int(&ns, 0);
  }
  if (num_sparse < 0 || num_sparse > 1024) return td_status_set(st, TD_INVALID_ARGUMENT, "bad num_sparse");
  /* V2: serialized, names, sparse_keys, dense_keys, ragged_keys, dense_defaults...
   * V1: serialized, names, sparse_keys*Ns, dense_keys*Nd, dense_defaults*Nd */
  int ns = (int)num_sparse;
  int ndense = v2 ? op->nin - 5 : (op->nin - 2 - ns) / 2;
  if (ndense < 0 || (!v2 && 2 + ns + 2 * ndense != op->nin) || op->nout != 3 * ns + ndense)
    return td_status_set(st, TD_UNIMPLEMENTED, "%s with %d inputs and %d outputs (num_sparse %d) is not supported", tf,
                         op->nin, op->nout, ns);
  TD_TRY(need(op, op->nin, op->nout, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, "ParseExample");
  for (int i = 0; i < op->nin; i++) {
    td_tfl_val a;
    TD_TRY(IN(x, op, i, &a, st));
    tx_in(nd, a.name);
  }
  td_dtype *types = td_xcalloc((size_t)ns + (size_t)ndense + 1, sizeof *types);
  int *ranks = td_xcalloc((size_t)ndense + 1, sizeof *ranks);
  const int64_t **dims = td_xcalloc((size_t)ndense + 1, sizeof *dims);
  for (int j = 0; j < ns; j++) types[j] = tx_dtype(T(x, op->out[ns + j])->type);
  tx_attr_types(nd, "sparse_types", types, (size_t)ns);
  for (int j = 0; j < ndense; j++) {
    const td_tfl_tensor *o = T(x, op->out[3 * ns + j]);
    types[j] = tx_dtype(o->type);
    ranks[j] = o->rank > 0 ? o->rank - 1 : 0; /* dense_shape = output shape without the batch dim */
    dims[j] = o->dims + 1;
  }
  tx_attr_types(nd, "Tdense", types, (size_t)ndense);
  tx_attr_shapes(nd, "dense_shapes", (size_t)ndense, ranks, dims);
  if (v2) {
    tx_attr_int(nd, "num_sparse", ns);
    tx_attr_types(nd, "ragged_value_types", NULL, 0);
    tx_attr_types(nd, "ragged_split_types", NULL, 0);
  } else {
    tx_attr_int(nd, "Nsparse", ns);
    tx_attr_int(nd, "Ndense", ndense);
  }
  for (int k = 0; k < op->nout; k++) {
    td_dtype dt = k < ns || (k >= 2 * ns && k < 3 * ns) ? TD_DT_INT64 : tx_dtype(T(x, op->out[k])->type);
    tx_set(x, op->out[k], tx_out(x, nd, k, dt));
  }
  free(types);
  free(ranks);
  free(dims);
  return TD_OK;
}

/* ---- the table ---- */

typedef struct op_row {
  int code;
  op_fn fn;
  const char *tf;
} op_row;

static const op_row rows[] = {
    {0, binary, "AddV2"},          {1, pool, "AvgPool"},          {2, concat, NULL},
    {3, conv2d, "Conv2D"},         {4, conv2d, "DepthwiseConv2dNative"},
    {5, block_op, "DepthToSpace"}, {6, requant, NULL},            {8, unary, "Floor"},
    {9, fully_connected, NULL},    {14, unary, "Sigmoid"},        {17, pool, "MaxPool"},
    {18, binary, "Mul"},           {19, unary, "Relu"},           {20, relu_n1, NULL},
    {21, unary, "Relu6"},          {22, reshape, NULL},           {23, resize, "ResizeBilinear"},
    {25, softmax, "Softmax"},      {26, block_op, "SpaceToDepth"}, {28, unary, "Tanh"},
    {34, pad, "Pad"},              {36, gather, "GatherV2"},      {37, space_batch, "BatchToSpaceND"},
    {38, space_batch, "SpaceToBatchND"}, {39, transpose, NULL},   {40, reduce, "Mean"},
    {41, binary, "Sub"},           {42, binary, "RealDiv"},       {43, squeeze, NULL},
    {45, strided_slice, NULL},     {47, unary, "Exp"},            {48, top_k, NULL},
    {49, split, "Split"},          {50, softmax, "LogSoftmax"},   {53, cast_op, NULL},
    {54, prelu, NULL},             {55, binary, "Maximum"},       {56, arg_minmax, "ArgMax"},
    {57, binary, "Minimum"},       {58, binary, "Less"},          {59, unary, "Neg"},
    {60, pad, "PadV2"},            {61, binary, "Greater"},       {62, binary, "GreaterEqual"},
    {63, binary, "LessEqual"},     {64, select_op, NULL},         {65, slice, NULL},
    {66, unary, "Sin"},            {67, transpose_conv, NULL},    {69, idx_op, "Tile"},
    {70, expand_dims, NULL},       {71, binary, "Equal"},         {72, binary, "NotEqual"},
    {73, unary, "Log"},            {74, reduce, "Sum"},           {75, unary, "Sqrt"},
    {76, unary, "Rsqrt"},          {77, shape_op, "Shape"},       {78, binary, "Pow"},
    {79, arg_minmax, "ArgMin"},    {81, reduce, "Prod"},          {82, reduce, "Max"},
    {83, pack, NULL},              {84, binary, "LogicalOr"},     {85, one_hot, NULL},
    {86, binary, "LogicalAnd"},    {87, unary, "LogicalNot"},     {88, unpack, NULL},
    {89, reduce, "Min"},           {90, binary, "FloorDiv"},      {91, reduce, "Any"},
    {92, unary, "Square"},         {93, unary, "ZerosLike"},      {94, fill, NULL},
    {95, binary, "FloorMod"},      {96, range, NULL},             {97, resize, "ResizeNearestNeighbor"},
    {98, leaky_relu, NULL},        {99, binary, "SquaredDifference"}, {100, pad, "MirrorPad"},
    {101, unary, "Abs"},           {102, split, "SplitV"},        {104, unary, "Ceil"},
    {105, idx_op, "ReverseV2"},    {106, add_n, NULL},            {107, gather_nd, "GatherNd"},
    {108, unary, "Cos"},           {110, shape_op, "Rank"},       {111, unary, "Elu"},
    {114, requant, NULL},          {116, unary, "Round"},         {117, hard_swish, NULL},
    {123, select_op, NULL},        {126, batch_matmul, NULL},     {128, idx_op, "Cumsum"},
    {130, idx_op, "BroadcastTo"},  {140, reduce, "All"},          {158, unary, "Sign"},
};

static const op_row custom_rows[] = {
    {32, parse_example, "ParseExampleV2"},
    {32, parse_example, "ParseExample"},
};

const int *td_tfl_supported_builtins(void) {
  static int codes[sizeof rows / sizeof *rows + 1];
  for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) codes[i] = rows[i].code;
  codes[sizeof rows / sizeof *rows] = -1;
  return codes;
}

static void add_missing(td_tfl_tx *x, const char *name) {
  if (x->missing) {
    /* list each name once */
    size_t n = strlen(name);
    for (const char *p = x->missing; (p = strstr(p, name)); p += n)
      if ((p == x->missing || p[-1] == ' ') && (p[n] == ',' || p[n] == 0)) return;
    char *m = td_xasprintf("%s, %s", x->missing, name);
    free(x->missing);
    x->missing = m;
  } else {
    x->missing = td_xstrdup(name);
  }
}

td_code tx_operator(td_tfl_tx *x, int k, td_status *st) {
  const td_tfl_op *op = &x->sg->ops[k];
  x->op_index = k;
  const op_row *row = NULL;
  if (op->builtin == 32) {
    for (size_t i = 0; i < sizeof custom_rows / sizeof *custom_rows; i++)
      if (op->custom_code && !strcmp(op->custom_code, custom_rows[i].tf)) row = &custom_rows[i];
  } else {
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
      if (rows[i].code == op->builtin) row = &rows[i];
  }
  if (!row) {
    char buf[160];
    const char *bn = td_tfl_builtin_name(op->builtin);
    if (op->builtin == 32)
      snprintf(buf, sizeof buf, "%.120s (custom)", op->custom_code ? op->custom_code : "");
    else if (bn)
      snprintf(buf, sizeof buf, "%s", bn);
    else
      snprintf(buf, sizeof buf, "builtin %d", op->builtin);
    add_missing(x, buf);
    return TD_OK;
  }
  if (x->missing) return TD_OK; /* only listing from here on */
  td_code code = row->fn(x, op, row->tf, st);
  if (code == TD_OK && !td_fb_ok(FB(x)))
    code = td_status_set(st, TD_DATA_LOSS, "malformed options: %s", FB(x)->why);
  if (code != TD_OK) {
    const char *bn = op->builtin == 32 ? op->custom_code : td_tfl_builtin_name(op->builtin);
    td_status_prefix(st, "TFLite operator %d (%s)", k, bn ? bn : "?");
  }
  return code;
}
