/* rnn_graph_build.h — the Keras-shaped recurrent loop the RNN unit tests build (test_rnn_loop.c,
 * test_rnn_opt.c, test_loop_split.c): h_t = tanh(x_t·W + h_{t-1}·U [+ bias]) as a StatelessWhile over TensorLists
 * (TensorListGetItem, two MatMuls, AddV2, optional BiasAdd, Tanh, TensorListSetItem), the
 * outputs stacked by TensorListStack after the loop.
 *
 * Graph: Placeholders x [T,B,D] (float), steps (int32), h0 [B,H] (float), and W [D,H] unless it
 * is a Const; Const U [H,H]; "loop" = StatelessWhile with loop variables (i, steps, out_ta, in_ta,
 * h, W, U), so "loop:4" is the last h; "stack" = TensorListStack("loop:2") [steps,B,H].
 * The While and the stack are the graph's last two nodes. rnn_assert_close compares the float
 * results these tests fetch. Header-only: include after <cmocka.h> and graph_build.h.
 * Thread affinity: the test thread.
 */
#ifndef TD_TESTS_UNIT_RNN_GRAPH_BUILD_H
#define TD_TESTS_UNIT_RNN_GRAPH_BUILD_H

#include <stdint.h>
#include <stdio.h>

#include "graph_build.h"

typedef struct rnn_loop_spec {
  int input_dim, units;    /* D, H */
  const float *w;          /* [D,H] input kernel as Const "W"; NULL: "W" is a float Placeholder */
  const float *u;          /* [H,H] recurrent kernel, Const "U" */
  const float *bias;       /* [H]: z = BiasAdd(z, bias) in the body; NULL: no bias */
  int recurrent_first;     /* z = AddV2(h·U, x_t·W), else AddV2(x_t·W, h·U) (the rewrites see either) */
  const char *cond_name;   /* the loop's functions' names in the library */
  const char *body_name;
  int parallel_iterations; /* the While's attr; 0: not set */
} rnn_loop_spec;

static inline Tensorflow__NodeDef *rnn_float_elements(Tensorflow__NodeDef *nd) {
  td_test_attr_type(nd, "element_dtype", TD_DT_FLOAT);
  return nd;
}

/* Fails the test unless a and b are float tensors of one shape whose elements differ by at most
 * tol (absolute). */
static inline void rnn_assert_close(const td_tensor *a, const td_tensor *b, double tol) {
  assert_int_equal(a->dtype, TD_DT_FLOAT);
  assert_int_equal(b->dtype, TD_DT_FLOAT);
  assert_true(td_shape_equal(&a->shape, &b->shape));
  for (int64_t i = 0; i < td_tensor_num_elements(a); i++) assert_float_equal(td_f32(a)[i], td_f32(b)[i], tol);
}

/* Initializes b with the loop graph described by spec. */
static inline void rnn_loop_graph(gbuild *b, const rnn_loop_spec *spec) {
  static const char *const args[] = {"i", "steps", "out_ta", "in_ta", "h", "W", "U"};
  static const td_dtype types[] = {TD_DT_INT32, TD_DT_INT32, TD_DT_VARIANT, TD_DT_VARIANT,
                                   TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_FLOAT};
  enum { NARGS = 7 };
  const int D = spec->input_dim, H = spec->units;
  gb_init(b);
  td_test_attr_type(gb_add(b, gb_node("x", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  td_test_attr_type(gb_add(b, gb_node("steps", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(b, gb_node("h0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  int64_t wd[2] = {D, H}, ud[2] = {H, H}, two = 2, hdim = H;
  if (spec->w)
    gb_add(b, gb_const("W", TD_DT_FLOAT, 2, wd, spec->w));
  else
    td_test_attr_type(gb_add(b, gb_node("W", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  int32_t in_shape[2] = {-1, D}, out_shape[2] = {-1, H}, zero = 0, one = 1;
  gb_add(b, gb_const("U", TD_DT_FLOAT, 2, ud, spec->u));
  gb_add(b, gb_const("in_shape", TD_DT_INT32, 1, &two, in_shape));
  gb_add(b, gb_const("out_shape", TD_DT_INT32, 1, &two, out_shape));
  gb_add(b, gb_const("zero", TD_DT_INT32, 0, NULL, &zero));
  Tensorflow__NodeDef *ft =
      rnn_float_elements(gb_add(b, gb_node("in_ta", "TensorListFromTensor", "x", "in_shape", NULL)));
  td_test_attr_type(ft, "shape_type", TD_DT_INT32);
  Tensorflow__NodeDef *rs =
      rnn_float_elements(gb_add(b, gb_node("out_ta", "TensorListReserve", "out_shape", "steps", NULL)));
  td_test_attr_type(rs, "shape_type", TD_DT_INT32);

  Tensorflow__FunctionDef *cond = gb_fn_new(b, spec->cond_name);
  for (int k = 0; k < NARGS; k++) gb_fn_in(cond, args[k], types[k]);
  gb_fn_node(cond, gb_typed(gb_node("lt", "Less", "i", "steps", NULL), TD_DT_INT32));
  gb_fn_out(cond, "go", TD_DT_BOOL, "lt:z:0");

  Tensorflow__FunctionDef *body = gb_fn_new(b, spec->body_name);
  for (int k = 0; k < NARGS; k++) gb_fn_in(body, args[k], types[k]);
  gb_fn_node(body, gb_const("elem_shape", TD_DT_INT32, 1, &two, in_shape));
  gb_fn_node(body, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(body, rnn_float_elements(gb_node("x_t", "TensorListGetItem", "in_ta", "i", "elem_shape:output:0", NULL)));
  gb_fn_node(body, gb_typed(gb_node("mx", "MatMul", "x_t:item:0", "W", NULL), TD_DT_FLOAT));
  gb_fn_node(body, gb_typed(gb_node("mh", "MatMul", "h", "U", NULL), TD_DT_FLOAT));
  const char *mx = "mx:product:0", *mh = "mh:product:0";
  gb_fn_node(body, gb_typed(gb_node("z", "AddV2", spec->recurrent_first ? mh : mx,
                                    spec->recurrent_first ? mx : mh, NULL),
                            TD_DT_FLOAT));
  if (spec->bias) {
    gb_fn_node(body, gb_const("bias", TD_DT_FLOAT, 1, &hdim, spec->bias));
    gb_fn_node(body, gb_typed(gb_node("zb", "BiasAdd", "z:z:0", "bias:output:0", NULL), TD_DT_FLOAT));
  }
  gb_fn_node(body, gb_typed(gb_node("h_new", "Tanh", spec->bias ? "zb:output:0" : "z:z:0", NULL), TD_DT_FLOAT));
  gb_fn_node(body, rnn_float_elements(gb_node("set", "TensorListSetItem", "out_ta", "i", "h_new:y:0", NULL)));
  gb_fn_node(body, gb_typed(gb_node("i1", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  const char *rets[NARGS] = {"i1:z:0", "steps", "set:output_handle:0", "in_ta", "h_new:y:0", "W", "U"};
  for (int k = 0; k < NARGS; k++) {
    char name[32];
    snprintf(name, sizeof name, "%s_out", args[k]);
    gb_fn_out(body, name, types[k], rets[k]);
  }

  Tensorflow__NodeDef *w8 =
      gb_add(b, gb_node("loop", "StatelessWhile", "zero", "steps", "out_ta", "in_ta", "h0", "W", "U", NULL));
  td_test_attr_types(w8, "T", types, NARGS);
  gb_attr_func(w8, "cond", spec->cond_name);
  gb_attr_func(w8, "body", spec->body_name);
  if (spec->parallel_iterations) td_test_attr_int(w8, "parallel_iterations", spec->parallel_iterations);
  Tensorflow__NodeDef *st =
      rnn_float_elements(gb_add(b, gb_node("stack", "TensorListStack", "loop:2", "out_shape", NULL)));
  td_test_attr_int(st, "num_elements", -1);
}

#endif
