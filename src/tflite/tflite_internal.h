/* tflite_internal.h — private to src/tflite: the TFLite → TF GraphDef translator.
 *
 * A TFLite subgraph becomes a TF GraphDef that the engine's existing kernels run. Every
 * TFLite tensor gets a "value": a TF tensor name plus its dtype. Quantized tensors
 * (uint8/int8/int16/int32 with scales) are carried as float32 real values: constants are
 * dequantized when the graph is built (per-channel along quantized_dimension), each op runs
 * its float kernel, and an op whose output tensor is quantized rounds its result onto that
 * tensor's grid (fake quantization: clamp(round_half_away(x/s)+zp)-zp)·s), so values match
 * TFLite's integer kernels to about one quantization step. Quantized model inputs/outputs
 * keep their integer dtype at the boundary (dequantized on entry, quantized on exit).
 *
 * Ownership: everything hangs off td_tfl_tx and is freed by tx_release; the GraphDef nodes
 * are heap protobuf-c messages (freed with the GraphDef). Thread affinity: one thread.
 */
#ifndef TD_TFLITE_TFLITE_INTERNAL_H
#define TD_TFLITE_TFLITE_INTERNAL_H

#include "engine/engine.h"
#include "engine/node_attrs.h"
#include "tflite/tflite_model.h"
#include "util/strmap.h"

typedef struct td_tfl_val {
  const char *name; /* TF tensor name (pooled string), NULL = not produced yet */
  td_dtype dt;
} td_tfl_val;

typedef struct td_tfl_tx {
  const td_tfl_model *m;
  const td_tfl_subgraph *sg;
  Tensorflow__GraphDef *gd;
  td_tfl_val *vals;  /* per TFLite tensor */
  char **pool;       /* strings to free */
  size_t npool, pool_cap;
  int counter;
  int op_index;      /* operator being translated */
  td_strmap used;    /* node names taken */
  char *missing;     /* "ADD, FOO (custom)" list of unsupported ops, heap */
} td_tfl_tx;

/* ---- tflite_graph.c ---- */
const char *tx_str(td_tfl_tx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
td_dtype tx_dtype(int tfl_type); /* TD_DT_INVALID when unmapped */
int tx_is_quant(const td_tfl_tensor *t);
/* New node (unique name derived from hint under the current op). */
Tensorflow__NodeDef *tx_node(td_tfl_tx *x, const char *op, const char *hint);
Tensorflow__NodeDef *tx_node_named(td_tfl_tx *x, const char *op, const char *name);
void tx_in(Tensorflow__NodeDef *nd, const char *tensor);
td_tfl_val tx_out(td_tfl_tx *x, const Tensorflow__NodeDef *nd, int k, td_dtype dt);
/* Const nodes. */
td_code tx_const(td_tfl_tx *x, const td_tensor *t, td_tfl_val *out, td_status *st);
td_tfl_val tx_const_i32(td_tfl_tx *x, int rank, const int64_t *dims, const int32_t *v);
td_tfl_val tx_scalar_f32(td_tfl_tx *x, float v);
td_tfl_val tx_scalar_i32(td_tfl_tx *x, int32_t v);
/* Generic node with attr T = dt and inputs; returns output 0 with dtype out_dt. */
td_tfl_val tx_op(td_tfl_tx *x, const char *op, td_dtype t_attr, td_dtype out_dt, int nin, const td_tfl_val *in);
/* Value of TFLite tensor i (materializes constants). */
td_code tx_value(td_tfl_tx *x, int i, td_tfl_val *out, td_status *st);
/* Binds TFLite tensor i to v, applying its quantization grid when it is quantized. */
void tx_set(td_tfl_tx *x, int i, td_tfl_val v);
/* Applies a fused activation (0 NONE, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6, 4 TANH, 5 SIGN_BIT). */
td_code tx_activation(td_tfl_tx *x, int act, td_tfl_val *v, td_status *st);
/* Boundary conversions for quantized model inputs/outputs (per-tensor scale/zero point). */
td_tfl_val tx_dequantize_in(td_tfl_tx *x, const td_tfl_tensor *tt, td_tfl_val v);
td_tfl_val tx_quantize_out(td_tfl_tx *x, const td_tfl_tensor *tt, td_tfl_val v);
/* Integer vector held by a constant TFLite tensor (int32/int64); -1 when not constant. */
int tx_const_ints(const td_tfl_tx *x, int i, int64_t *out, int max);

/* ---- tflite_ops.c ---- */
/* Translates operator k of x->sg; an op with no translation appends its name to x->missing
 * and returns TD_OK (so every unsupported op is listed). */
td_code tx_operator(td_tfl_tx *x, int k, td_status *st);
/* The builtin codes tx_operator translates (for docs/tests), terminated by -1. */
const int *td_tfl_supported_builtins(void);

#endif
