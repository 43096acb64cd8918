/* tflite_graph.c — GraphDef building blocks for the TFLite translator (see
 * tflite_internal.h): node/attr construction, constants (dequantized when quantized),
 * per-tensor values, the quantization grid and fused activations. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_internal.h"
#include "util/mem.h"

const char *tx_str(td_tfl_tx *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[512];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  char *s;
  if (n >= 0 && (size_t)n < sizeof buf) {
    s = td_xstrdup(buf);
  } else {
    va_start(ap, fmt);
    s = td_xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  if (x->npool == x->pool_cap) {
    x->pool_cap = x->pool_cap ? 2 * x->pool_cap : 64;
    x->pool = td_xrealloc(x->pool, x->pool_cap * sizeof *x->pool);
  }
  x->pool[x->npool++] = s;
  return s;
}

td_dtype tx_dtype(int t) {
  static const td_dtype map[] = {
      [TD_TFL_FLOAT32] = TD_DT_FLOAT,     [TD_TFL_FLOAT16] = TD_DT_HALF,     [TD_TFL_INT32] = TD_DT_INT32,
      [TD_TFL_UINT8] = TD_DT_UINT8,       [TD_TFL_INT64] = TD_DT_INT64,      [TD_TFL_STRING] = TD_DT_STRING,
      [TD_TFL_BOOL] = TD_DT_BOOL,         [TD_TFL_INT16] = TD_DT_INT16,      [TD_TFL_COMPLEX64] = TD_DT_COMPLEX64,
      [TD_TFL_INT8] = TD_DT_INT8,         [TD_TFL_FLOAT64] = TD_DT_DOUBLE,   [TD_TFL_COMPLEX128] = TD_DT_COMPLEX128,
      [TD_TFL_UINT64] = TD_DT_UINT64,     [TD_TFL_UINT32] = TD_DT_UINT32,    [TD_TFL_UINT16] = TD_DT_UINT16,
      [TD_TFL_BFLOAT16] = TD_DT_BFLOAT16,
  };
  if (t < 0 || (size_t)t >= sizeof map / sizeof *map) return TD_DT_INVALID;
  return map[t];
}

int tx_is_quant(const td_tfl_tensor *t) {
  return t->q.n > 0 && (t->type == TD_TFL_UINT8 || t->type == TD_TFL_INT8 || t->type == TD_TFL_INT16 ||
                        t->type == TD_TFL_INT32 || t->type == TD_TFL_INT64);
}

/* ---- nodes and attrs ---- */

Tensorflow__NodeDef *tx_node_named(td_tfl_tx *x, const char *op, const char *name) {
  Tensorflow__NodeDef *nd = td_xmalloc(sizeof *nd);
  tensorflow__node_def__init(nd);
  nd->name = td_xstrdup(name);
  nd->op = td_xstrdup(op);
  td_strmap_put(&x->used, name, NULL);
  Tensorflow__GraphDef *g = x->gd;
  g->node = td_xrealloc(g->node, (g->n_node + 1) * sizeof *g->node);
  g->node[g->n_node++] = nd;
  return nd;
}

Tensorflow__NodeDef *tx_node(td_tfl_tx *x, const char *op, const char *hint) {
  char name[160];
  snprintf(name, sizeof name, "tflite/op%d/%s_%d", x->op_index, hint ? hint : op, x->counter++);
  return tx_node_named(x, op, name);
}

void tx_in(Tensorflow__NodeDef *nd, const char *tensor) {
  nd->input = td_xrealloc(nd->input, (nd->n_input + 1) * sizeof *nd->input);
  nd->input[nd->n_input++] = td_xstrdup(tensor);
}

td_tfl_val tx_out(td_tfl_tx *x, const Tensorflow__NodeDef *nd, int k, td_dtype dt) {
  return (td_tfl_val){tx_str(x, "%s:%d", nd->name, k), dt};
}

/* ---- constants ---- */

td_code tx_const(td_tfl_tx *x, const td_tensor *t, td_tfl_val *out, td_status *st) {
  Tensorflow__NodeDef *nd = tx_node(x, "Const", "const");
  td_node_attr_type(nd, "dtype", t->dtype);
  Tensorflow__AttrValue *a = td_node_attr_new(nd, "value");
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
  TD_TRY(td_tensor_to_proto(t, t->dtype != TD_DT_STRING, &a->tensor, st));
  *out = tx_out(x, nd, 0, t->dtype);
  return TD_OK;
}

td_tfl_val tx_const_i32(td_tfl_tx *x, int rank, const int64_t *dims, const int32_t *v) {
  td_shape s = td_shape_make(rank, dims);
  td_tensor t = td_tensor_borrow(TD_DT_INT32, &s, (void *)v);
  td_tfl_val out = {0};
  if (tx_const(x, &t, &out, NULL) != TD_OK) abort(); /* int tensors always encode */
  return out;
}

td_tfl_val tx_scalar_f32(td_tfl_tx *x, float v) {
  td_shape s = td_shape_scalar();
  td_tensor t = td_tensor_borrow(TD_DT_FLOAT, &s, &v);
  td_tfl_val out = {0};
  if (tx_const(x, &t, &out, NULL) != TD_OK) abort();
  return out;
}

td_tfl_val tx_scalar_i32(td_tfl_tx *x, int32_t v) { return tx_const_i32(x, 0, NULL, &v); }

td_tfl_val tx_op(td_tfl_tx *x, const char *op, td_dtype t_attr, td_dtype out_dt, int nin, const td_tfl_val *in) {
  Tensorflow__NodeDef *nd = tx_node(x, op, NULL);
  for (int i = 0; i < nin; i++) tx_in(nd, in[i].name);
  if (t_attr != TD_DT_INVALID) td_node_attr_type(nd, "T", t_attr);
  return tx_out(x, nd, 0, out_dt);
}

static int64_t raw_int(const uint8_t *p, int type) {
  switch (type) {
    case TD_TFL_UINT8: return p[0];
    case TD_TFL_INT8: return (int8_t)p[0];
    case TD_TFL_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case TD_TFL_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    default: { int64_t v; memcpy(&v, p, 8); return v; }
  }
}

/* The constant bytes of TFLite tensor i as a td_tensor (dequantized to float when quantized). */
static td_code const_tensor(td_tfl_tx *x, int i, td_tensor *out, td_status *st) {
  const td_tfl_tensor *tt = &x->sg->tensors[i];
  td_shape s = td_shape_make(tt->rank, tt->dims);
  int64_t n = td_shape_num_elements(&s);
  if (n < 0 || n > ((int64_t)1 << 31))
    return td_status_set(st, TD_INVALID_ARGUMENT, "constant tensor '%s' has an invalid shape", tt->name);
  if (tt->type == TD_TFL_STRING) {
    /* i32 N, N+1 i32 offsets from the payload start, bytes */
    const uint8_t *d = tt->data;
    size_t len = tt->nbytes;
    int32_t cnt;
    if (len < 4) return td_status_set(st, TD_DATA_LOSS, "string tensor '%s' is truncated", tt->name);
    memcpy(&cnt, d, 4);
    if (cnt < 0 || (uint64_t)cnt != (uint64_t)n || (uint64_t)(cnt + 2) * 4 > len)
      return td_status_set(st, TD_DATA_LOSS, "string tensor '%s' holds %d strings for shape of %lld", tt->name, cnt,
                           (long long)n);
    TD_TRY(td_tensor_alloc(out, TD_DT_STRING, &s, st));
    for (int32_t k = 0; k < cnt; k++) {
      int32_t a, b;
      memcpy(&a, d + 4 + 4 * (size_t)k, 4);
      memcpy(&b, d + 8 + 4 * (size_t)k, 4);
      if (a < 0 || b < a || (size_t)b > len) {
        td_tensor_release(out);
        return td_status_set(st, TD_DATA_LOSS, "string tensor '%s' has a bad offset", tt->name);
      }
      td_tensor_set_string(out, k, (const char *)d + a, (size_t)(b - a));
    }
    return TD_OK;
  }
  if (tx_is_quant(tt)) {
    TD_TRY(td_tensor_alloc(out, TD_DT_FLOAT, &s, st));
    size_t es = td_tfl_type_size(tt->type);
    int axis = tt->q.n > 1 ? tt->q.axis : -1;
    if (axis >= tt->rank || (axis >= 0 && tt->dims[axis] != tt->q.n)) {
      td_tensor_release(out);
      return td_status_set(st, TD_INVALID_ARGUMENT, "tensor '%s': %d scales do not match quantized_dimension %d",
                           tt->name, tt->q.n, tt->q.axis);
    }
    int64_t inner = 1;
    for (int d = axis + 1; axis >= 0 && d < tt->rank; d++) inner *= tt->dims[d];
    float *f = td_f32(out);
    for (int64_t k = 0; k < n; k++) {
      int c = axis >= 0 ? (int)((k / inner) % tt->dims[axis]) : 0;
      f[k] = (float)((double)tt->q.scale[c] * (double)(raw_int(tt->data + (size_t)k * es, tt->type) - tt->q.zero_point[c]));
    }
    return TD_OK;
  }
  td_dtype dt = tx_dtype(tt->type);
  if (dt == TD_DT_INVALID || !td_dtype_size(dt))
    return td_status_set(st, TD_UNIMPLEMENTED, "constant tensor '%s' has type %s, which tensord does not support",
                         tt->name, td_tfl_type_name(tt->type));
  TD_TRY(td_tensor_alloc(out, dt, &s, st));
  memcpy(out->data, tt->data, (size_t)n * td_dtype_size(dt)); /* size checked by the reader */
  return TD_OK;
}

td_code tx_value(td_tfl_tx *x, int i, td_tfl_val *out, td_status *st) {
  if (i < 0 || i >= x->sg->ntensors) return td_status_set(st, TD_INVALID_ARGUMENT, "tensor index %d out of range", i);
  if (!x->vals[i].name) {
    const td_tfl_tensor *tt = &x->sg->tensors[i];
    if (!tt->data)
      return td_status_set(st, TD_INVALID_ARGUMENT, "tensor %d ('%s') is read before any operator produces it", i,
                           tt->name);
    td_tensor t = {0};
    TD_TRY(const_tensor(x, i, &t, st));
    td_code code = tx_const(x, &t, &x->vals[i], st);
    td_tensor_release(&t);
    TD_TRY(code);
  }
  *out = x->vals[i];
  return TD_OK;
}

/* Half-away-from-zero rounding of float v: Sign(v)·Floor(|v| + 0.5). */
static td_tfl_val round_away(td_tfl_tx *x, td_tfl_val v) {
  td_tfl_val a = tx_op(x, "Abs", TD_DT_FLOAT, TD_DT_FLOAT, 1, &v);
  td_tfl_val h[2] = {a, tx_scalar_f32(x, 0.5f)};
  td_tfl_val s = tx_op(x, "AddV2", TD_DT_FLOAT, TD_DT_FLOAT, 2, h);
  td_tfl_val f = tx_op(x, "Floor", TD_DT_FLOAT, TD_DT_FLOAT, 1, &s);
  td_tfl_val sg = tx_op(x, "Sign", TD_DT_FLOAT, TD_DT_FLOAT, 1, &v);
  td_tfl_val m[2] = {sg, f};
  return tx_op(x, "Mul", TD_DT_FLOAT, TD_DT_FLOAT, 2, m);
}

static void qrange(int type, double *lo, double *hi) {
  switch (type) {
    case TD_TFL_UINT8: *lo = 0, *hi = 255; break;
    case TD_TFL_INT8: *lo = -128, *hi = 127; break;
    case TD_TFL_INT16: *lo = -32768, *hi = 32767; break;
    case TD_TFL_INT32: *lo = -2147483648.0, *hi = 2147483647.0; break;
    default: *lo = -9.2e18, *hi = 9.2e18; break;
  }
}

/* round_away(v / s) clamped to the type's range, minus zp: the integer grid offset as float. */
static td_tfl_val quant_steps(td_tfl_tx *x, const td_tfl_tensor *tt, td_tfl_val v, int with_zp) {
  float s = tt->q.scale[0];
  double zp = (double)tt->q.zero_point[0];
  if (v.dt != TD_DT_FLOAT) {
    Tensorflow__NodeDef *c = tx_node(x, "Cast", NULL);
    tx_in(c, v.name);
    td_node_attr_type(c, "SrcT", v.dt);
    td_node_attr_type(c, "DstT", TD_DT_FLOAT);
    v = tx_out(x, c, 0, TD_DT_FLOAT);
  }
  td_tfl_val d[2] = {v, tx_scalar_f32(x, s)};
  td_tfl_val q = round_away(x, tx_op(x, "RealDiv", TD_DT_FLOAT, TD_DT_FLOAT, 2, d));
  double lo, hi;
  qrange(tt->type, &lo, &hi);
  double off = with_zp ? 0 : zp;
  if (with_zp) {
    td_tfl_val a[2] = {q, tx_scalar_f32(x, (float)zp)};
    q = tx_op(x, "AddV2", TD_DT_FLOAT, TD_DT_FLOAT, 2, a);
  }
  td_tfl_val cl[3] = {q, tx_scalar_f32(x, (float)(lo - off)), tx_scalar_f32(x, (float)(hi - off))};
  return tx_op(x, "ClipByValue", TD_DT_FLOAT, TD_DT_FLOAT, 3, cl);
}

void tx_set(td_tfl_tx *x, int i, td_tfl_val v) {
  const td_tfl_tensor *tt = &x->sg->tensors[i];
  if (tx_is_quant(tt) && tt->q.n == 1 && tt->q.scale[0] > 0 && isfinite(tt->q.scale[0])) {
    td_tfl_val q = quant_steps(x, tt, v, 0);
    td_tfl_val m[2] = {q, tx_scalar_f32(x, tt->q.scale[0])};
    v = tx_op(x, "Mul", TD_DT_FLOAT, TD_DT_FLOAT, 2, m);
  }
  x->vals[i] = v;
}

/* The integer tensor the boundary output of quantized tensor tt holds for real value v. */
td_tfl_val tx_quantize_out(td_tfl_tx *x, const td_tfl_tensor *tt, td_tfl_val v) {
  td_tfl_val q = quant_steps(x, tt, v, 1);
  Tensorflow__NodeDef *c = tx_node(x, "Cast", NULL);
  tx_in(c, q.name);
  td_node_attr_type(c, "SrcT", TD_DT_FLOAT);
  td_node_attr_type(c, "DstT", tx_dtype(tt->type));
  return tx_out(x, c, 0, tx_dtype(tt->type));
}

/* Real value of a quantized boundary input v (integer dtype). */
td_tfl_val tx_dequantize_in(td_tfl_tx *x, const td_tfl_tensor *tt, td_tfl_val v) {
  Tensorflow__NodeDef *c = tx_node(x, "Cast", NULL);
  tx_in(c, v.name);
  td_node_attr_type(c, "SrcT", v.dt);
  td_node_attr_type(c, "DstT", TD_DT_FLOAT);
  td_tfl_val f = tx_out(x, c, 0, TD_DT_FLOAT);
  td_tfl_val s[2] = {f, tx_scalar_f32(x, (float)tt->q.zero_point[0])};
  f = tx_op(x, "Sub", TD_DT_FLOAT, TD_DT_FLOAT, 2, s);
  td_tfl_val m[2] = {f, tx_scalar_f32(x, tt->q.scale[0])};
  return tx_op(x, "Mul", TD_DT_FLOAT, TD_DT_FLOAT, 2, m);
}

td_code tx_activation(td_tfl_tx *x, int act, td_tfl_val *v, td_status *st) {
  switch (act) {
    case 0: return TD_OK;
    case 1: *v = tx_op(x, "Relu", v->dt, v->dt, 1, v); return TD_OK;
    case 3: *v = tx_op(x, "Relu6", v->dt, v->dt, 1, v); return TD_OK;
    case 4: *v = tx_op(x, "Tanh", v->dt, v->dt, 1, v); return TD_OK;
    case 2: {
      td_tfl_val c[3] = {*v, tx_scalar_f32(x, -1.f), tx_scalar_f32(x, 1.f)};
      *v = tx_op(x, "ClipByValue", v->dt, v->dt, 3, c);
      return TD_OK;
    }
    default:
      return td_status_set(st, TD_UNIMPLEMENTED, "fused activation %d is not supported", act);
  }
}

int tx_const_ints(const td_tfl_tx *x, int i, int64_t *out, int max) {
  if (i < 0 || i >= x->sg->ntensors) return -1;
  const td_tfl_tensor *tt = &x->sg->tensors[i];
  if (!tt->data || (tt->type != TD_TFL_INT32 && tt->type != TD_TFL_INT64) || tt->rank > 1) return -1;
  int64_t n = tt->rank ? tt->dims[0] : 1;
  if (n > max) return -1;
  size_t es = td_tfl_type_size(tt->type);
  for (int64_t k = 0; k < n; k++) out[k] = raw_int(tt->data + (size_t)k * es, tt->type);
  return (int)n;
}
