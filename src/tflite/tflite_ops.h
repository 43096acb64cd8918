/* tflite_ops.h — private to src/tflite: helpers shared by the operator translators
 * (tflite_ops_nn.c: elementwise, dense, convolution, pooling; tflite_ops_array.c: shapes, data
 * movement, reductions, ParseExample) and their entry points, which tflite_ops.c's table
 * dispatches to. Each translator reads its inputs' values (tx_value), adds TF nodes and binds
 * its outputs (tx_set). Thread affinity: the translating thread. */
#ifndef TD_TFLITE_TFLITE_OPS_H
#define TD_TFLITE_TFLITE_OPS_H

#include <string.h>

#include "tflite/tflite_internal.h"

typedef td_code (*op_fn)(td_tfl_tx *x, const td_tfl_op *op, const char *tf_op, td_status *st);

static inline td_fb *FB(td_tfl_tx *x) { return (td_fb *)&x->m->fb; }
static inline int opt_i32(td_tfl_tx *x, const td_tfl_op *op, int id, int def) { return td_fb_i32(FB(x), &op->options, id, def); }
static inline int opt_i8(td_tfl_tx *x, const td_tfl_op *op, int id, int def) { return td_fb_i8(FB(x), &op->options, id, (int8_t)def); }
static inline int opt_bool(td_tfl_tx *x, const td_tfl_op *op, int id) { return td_fb_u8(FB(x), &op->options, id, 0) != 0; }
static inline float opt_f32(td_tfl_tx *x, const td_tfl_op *op, int id, float def) { return td_fb_f32(FB(x), &op->options, id, def); }

static inline td_code need(const td_tfl_op *op, int nin, int nout, td_status *st) {
  if (op->nin < nin || op->nout < nout)
    return td_status_set(st, TD_INVALID_ARGUMENT, "operator has %d inputs and %d outputs, needs at least %d and %d",
                         op->nin, op->nout, nin, nout);
  for (int i = 0; i < nin; i++)
    if (op->in[i] < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "required input %d is omitted", i);
  return TD_OK;
}

static inline td_code IN(td_tfl_tx *x, const td_tfl_op *op, int k, td_tfl_val *v, td_status *st) {
  return tx_value(x, op->in[k], v, st);
}

static inline const td_tfl_tensor *T(td_tfl_tx *x, int i) { return &x->sg->tensors[i]; }

/* Representation dtype of TFLite tensor i: float for quantized tensors. */
static inline td_dtype rep_dtype(td_tfl_tx *x, int i) {
  const td_tfl_tensor *t = T(x, i);
  return tx_is_quant(t) ? TD_DT_FLOAT : tx_dtype(t->type);
}

static inline td_tfl_val cast(td_tfl_tx *x, td_tfl_val v, td_dtype to) {
  if (v.dt == to) return v;
  Tensorflow__NodeDef *c = tx_node(x, "Cast", NULL);
  tx_in(c, v.name);
  td_node_attr_type(c, "SrcT", v.dt);
  td_node_attr_type(c, "DstT", to);
  return tx_out(x, c, 0, to);
}

/* Sets output 0 after the fused activation. */
static inline td_code finish(td_tfl_tx *x, const td_tfl_op *op, td_tfl_val v, int act, td_status *st) {
  TD_TRY(tx_activation(x, act, &v, st));
  tx_set(x, op->out[0], v);
  return TD_OK;
}

/* ---- builtins described by data ----
 * Many builtins are one TF node over the operator's inputs: each input wired as is or cast,
 * type attrs naming an input's dtype, scalar attrs read from option fields, output 0 typed like
 * an input. Such a builtin is a table row with a tx_simple spec instead of a function
 * (tflite_ops.c); tx_simple_op builds it. */
enum { TX_KEEP, TX_TO_I32, TX_LIKE0, TX_LIKE1, TX_LIKE2 };                 /* tx_simple.cast[i] */
enum { TX_OUT_IN0, TX_OUT_IN1, TX_OUT_IN2, TX_OUT_I32, TX_OUT_DECLARED }; /* tx_simple.out */
typedef struct tx_attr {
  const char *name; /* NULL ends the list */
  char kind;        /* 't': dtype of input src; 'o': output 0's declared dtype;
                       'i' / 'b' / 'f': option field src as int32 / bool / float32 */
  int src;
  float def; /* default of an absent 'i' / 'f' option */
} tx_attr;
typedef struct tx_simple {
  int nin;               /* inputs required, wired in order */
  unsigned char cast[4]; /* per input: TX_KEEP, TX_TO_I32 or TX_LIKEk (cast to input k's dtype) */
  tx_attr attrs[5];
  unsigned char out; /* dtype of output 0: TX_OUT_INk, int32, or the output tensor's declared type */
} tx_simple;
td_code tx_simple_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, const tx_simple *spec, td_status *st);

/* tflite_ops_nn.c */
td_code tfl_binary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_conv2d(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_fully_connected(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_hard_swish(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_pool(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_prelu(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_relu_n1(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_softmax(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_transpose_conv(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_unary(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);

/* tflite_ops_array.c */
td_code tfl_add_n(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_cast_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_concat(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_gather(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_pack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_pad(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_parse_example(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_reshape(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_resize(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_split(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_squeeze(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_strided_slice(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_top_k(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);
td_code tfl_unpack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st);

#endif
