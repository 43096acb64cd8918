/* tflite_ops_array.c — the TFLite shape, data-movement, indexing and casting / (de)quantizing
 * operators that need code (RESHAPE's shape input or new_shape option, STRIDED_SLICE's
 * `offset`, variadic and multi-output ops, ...) and the ParseExample / ParseExampleV2 custom
 * ops, as TF nodes; the one-node ones are data rows in tflite_ops.c. Quantized tensors arrive
 * and leave as float real values (tflite_internal.h). */
#include <stdlib.h>
#include <string.h>

#include "tflite/tflite_ops.h"
#include "util/mem.h"

/* ---- shape / data movement ---- */

td_code tfl_reshape(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_type(nd, "Tshape", s.dt);
  (void)in;
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

/* PAD is a data row; PADV2 with its constant_values input and MIRROR_PAD's mode need code. */
td_code tfl_pad(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  static const tx_simple pad = {2, {0}, {{"T", 't', 0}, {"Tpaddings", 't', 1}}, TX_OUT_IN0};
  int v2 = !strcmp(tf, "PadV2") && op->nin > 2 && op->in[2] >= 0, mirror = !strcmp(tf, "MirrorPad");
  if (!v2 && !mirror) return tx_simple_op(x, op, "Pad", &pad, st);
  TD_TRY(need(op, v2 ? 3 : 2, 1, st));
  td_tfl_val a, p, c;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &p, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, p.name);
  if (v2) {
    TD_TRY(IN(x, op, 2, &c, st));
    tx_in(nd, cast(x, c, a.dt).name);
  }
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_type(nd, "Tpaddings", p.dt);
  if (mirror) td_node_attr_str(nd, "mode", opt_i8(x, op, 0, 0) == 1 ? "SYMMETRIC" : "REFLECT");
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

td_code tfl_squeeze(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_ints(nd, "squeeze_dims", dims, v.n);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

/* Wires every input of a variadic op (CONCATENATION, PACK, ADD_N) into nd, cast to the first
 * input's dtype, and sets attrs T and N. */
static td_code wire_all(td_tfl_tx *x, const td_tfl_op *op, Tensorflow__NodeDef *nd, td_dtype *dt, td_status *st) {
  TD_TRY(need(op, 1, 1, st));
  *dt = TD_DT_INVALID;
  for (int i = 0; i < op->nin; i++) {
    td_tfl_val a;
    TD_TRY(IN(x, op, i, &a, st));
    if (*dt == TD_DT_INVALID) *dt = a.dt;
    tx_in(nd, cast(x, a, *dt).name);
  }
  td_node_attr_type(nd, "T", *dt);
  td_node_attr_int(nd, "N", op->nin);
  return TD_OK;
}

td_code tfl_concat(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  Tensorflow__NodeDef *nd = tx_node(x, "ConcatV2", NULL);
  td_dtype dt;
  TD_TRY(wire_all(x, op, nd, &dt, st));
  tx_in(nd, tx_scalar_i32(x, opt_i32(x, op, 0, 0)).name);
  return finish(x, op, tx_out(x, nd, 0, dt), opt_i8(x, op, 1, 0), st);
}

td_code tfl_pack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  Tensorflow__NodeDef *nd = tx_node(x, "Pack", NULL);
  td_dtype dt;
  TD_TRY(wire_all(x, op, nd, &dt, st));
  td_node_attr_int(nd, "axis", opt_i32(x, op, 1, 0));
  tx_set(x, op->out[0], tx_out(x, nd, 0, dt));
  return TD_OK;
}

/* Multi-output ops: sets outputs 0..nout-1 from node nd. */
static void set_all(td_tfl_tx *x, const td_tfl_op *op, const Tensorflow__NodeDef *nd, td_dtype dt) {
  for (int k = 0; k < op->nout; k++) tx_set(x, op->out[k], tx_out(x, nd, k, dt));
}

td_code tfl_unpack(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  Tensorflow__NodeDef *nd = tx_node(x, "Unpack", NULL);
  tx_in(nd, a.name);
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_int(nd, "num", op->nout);
  td_node_attr_int(nd, "axis", opt_i32(x, op, 1, 0));
  set_all(x, op, nd, a.dt);
  return TD_OK;
}

td_code tfl_split(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
    td_node_attr_type(nd, "Tlen", b.dt);
    dt = a.dt;
  } else { /* axis, value */
    tx_in(nd, cast(x, a, TD_DT_INT32).name);
    tx_in(nd, b.name);
    dt = b.dt;
  }
  td_node_attr_type(nd, "T", dt);
  td_node_attr_int(nd, "num_split", op->nout);
  set_all(x, op, nd, dt);
  return TD_OK;
}

td_code tfl_gather(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val p, i;
  TD_TRY(IN(x, op, 0, &p, st));
  TD_TRY(IN(x, op, 1, &i, st));
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, p.name);
  tx_in(nd, i.name);
  td_node_attr_type(nd, "Tparams", p.dt);
  td_node_attr_type(nd, "Tindices", i.dt);
  tx_in(nd, tx_scalar_i32(x, opt_i32(x, op, 0, 0)).name); /* axis: an option in TFLite */
  td_node_attr_type(nd, "Taxis", TD_DT_INT32);
  td_node_attr_int(nd, "batch_dims", opt_i32(x, op, 1, 0));
  tx_set(x, op->out[0], tx_out(x, nd, 0, p.dt));
  return TD_OK;
}

td_code tfl_strided_slice(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_type(nd, "Index", b.dt);
  static const char *const masks[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"};
  for (int k = 0; k < 5; k++) td_node_attr_int(nd, masks[k], opt_i32(x, op, k, 0));
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  return TD_OK;
}

/* CAST, QUANTIZE and DEQUANTIZE: quantized values are real numbers already, so each is a cast to
 * the output's representation dtype (tx_set applies a quantized output's grid). */
td_code tfl_cast_op(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 1, 1, st));
  td_tfl_val a;
  TD_TRY(IN(x, op, 0, &a, st));
  tx_set(x, op->out[0], cast(x, a, rep_dtype(x, op->out[0])));
  return TD_OK;
}

td_code tfl_resize(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  TD_TRY(need(op, 2, 1, st));
  td_tfl_val a, s;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &s, st));
  int bil = !strcmp(tf, "ResizeBilinear");
  Tensorflow__NodeDef *nd = tx_node(x, tf, NULL);
  tx_in(nd, a.name);
  tx_in(nd, cast(x, s, TD_DT_INT32).name);
  td_node_attr_type(nd, "T", a.dt);
  td_node_attr_bool(nd, "align_corners", opt_bool(x, op, bil ? 2 : 0));
  td_node_attr_bool(nd, "half_pixel_centers", opt_bool(x, op, bil ? 3 : 1));
  td_tfl_val v = tx_out(x, nd, 0, bil ? TD_DT_FLOAT : a.dt);
  tx_set(x, op->out[0], cast(x, v, rep_dtype(x, op->out[0])));
  return TD_OK;
}

td_code tfl_top_k(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  TD_TRY(need(op, 2, 2, st));
  td_tfl_val a, k;
  TD_TRY(IN(x, op, 0, &a, st));
  TD_TRY(IN(x, op, 1, &k, st));
  Tensorflow__NodeDef *nd = tx_node(x, "TopKV2", NULL);
  tx_in(nd, a.name);
  tx_in(nd, cast(x, k, TD_DT_INT32).name);
  td_node_attr_type(nd, "T", a.dt);
  tx_set(x, op->out[0], tx_out(x, nd, 0, a.dt));
  tx_set(x, op->out[1], cast(x, tx_out(x, nd, 1, TD_DT_INT32), rep_dtype(x, op->out[1])));
  return TD_OK;
}

td_code tfl_add_n(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
  (void)tf;
  Tensorflow__NodeDef *nd = tx_node(x, "AddN", NULL);
  td_dtype dt;
  TD_TRY(wire_all(x, op, nd, &dt, st));
  tx_set(x, op->out[0], tx_out(x, nd, 0, dt));
  return TD_OK;
}

/* ---- custom: ParseExample / ParseExampleV2 ---- */

td_code tfl_parse_example(td_tfl_tx *x, const td_tfl_op *op, const char *tf, td_status *st) {
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
  td_node_attr_types(nd, "sparse_types", types, (size_t)ns);
  for (int j = 0; j < ndense; j++) {
    const td_tfl_tensor *o = T(x, op->out[3 * ns + j]);
    types[j] = tx_dtype(o->type);
    ranks[j] = o->rank > 0 ? o->rank - 1 : 0; /* dense_shape = output shape without the batch dim */
    dims[j] = o->dims + 1;
  }
  td_node_attr_types(nd, "Tdense", types, (size_t)ndense);
  td_node_attr_shapes(nd, "dense_shapes", (size_t)ndense, ranks, dims);
  if (v2) {
    td_node_attr_int(nd, "num_sparse", ns);
    td_node_attr_types(nd, "ragged_value_types", NULL, 0);
    td_node_attr_types(nd, "ragged_split_types", NULL, 0);
  } else {
    td_node_attr_int(nd, "Nsparse", ns);
    td_node_attr_int(nd, "Ndense", ndense);
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
