/* test_loop_split.c — a While loop whose rows are independent runs on row ranges in parallel
 * (opt_loop_split.c, kernels/while_split.c):
 *   - the Keras-shaped loop of rnn_graph_build.h (lists in and out, h, W, U) gets the classes
 *     INV / LIST / ROW its variables have, and, at 37 rows over 3 threads, gives the values of
 *     the whole loop on one thread (and of a double-precision reference), with and without a
 *     bias, the outputs stacked after the loop; too few rows or one thread run it whole;
 *   - loops that are not row-wise run whole, with the same values: a product over the batch
 *     dim (h as MatMul's right operand), a condition that reads h, an element-wise operand of
 *     h's rank (a [B,H] constant), a split along dim 0, a stateful op in the body, a body
 *     without a row product (element-wise only), and an element_shape pinning the rows;
 *   - the parts' failure is the run's error, the whole loop's text, and nothing leaks (ASan).
 * Tolerance 1e-5 against the whole loop (the parts' GEMMs block differently), 2e-4 against the
 * reference (the engine's tanh is a float approximation). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/kernels/while_split.h"
#include "engine/opt_loop_split.h"
#include "engine/testing.h"
#include "graph_build.h"
#include "rnn_graph_build.h"
#include "util/mem.h"

enum { T = 6, D = 4, H = 5 };

static float val(int which, int i) { return (float)(((i * 7 + which * 13) % 23) - 11) / 6.0f; }

typedef struct loop_run {
  td_graph *g;
  td_session *s;
  td_callable *c;
} loop_run;

static void open_run(gbuild *b, int threads, const char *const *feeds, int nfeeds, const char *const *fetches,
                     int nfetches, loop_run *r) {
  td_status st = {0};
  assert_int_equal(td_graph_import(&b->gd, &r->g, &st), TD_OK);
  td_session_options so = {.intra_op_threads = threads};
  assert_int_equal(td_session_new(r->g, &so, &r->s, &st), TD_OK);
  if (td_session_make_callable(r->s, feeds, nfeeds, fetches, nfetches, NULL, 0, &r->c, &st) != TD_OK)
    fail_msg("%s", st.msg);
}

static void close_run(loop_run *r) {
  td_callable_free(r->c);
  td_session_free(r->s);
}

/* Runs the graph twice (the second run on recycled storage) with `threads`; returns how many
 * of the runs were split. */
static long run_twice(gbuild *b, int threads, const char *const *feeds, const td_tensor *fv, int nfeeds,
                      const char *const *fetches, td_tensor *out, int nfetches) {
  loop_run r;
  open_run(b, threads, feeds, nfeeds, fetches, nfetches, &r);
  long before = td_while_split_runs();
  td_status st = {0};
  for (int k = 0; k < 2; k++) {
    if (td_callable_run(r.c, fv, out, &st) != TD_OK) fail_msg("run: %s", st.msg);
    if (k == 0)
      for (int i = 0; i < nfetches; i++) td_tensor_release(&out[i]);
  }
  close_run(&r);
  return td_while_split_runs() - before;
}

/* ---- the Keras-shaped loop ---- */

static float g_u[H * H], g_bias[H];

static void keras_loop(gbuild *b, int with_bias) {
  for (int i = 0; i < H * H; i++) g_u[i] = val(6, i) / 4;
  for (int i = 0; i < H; i++) g_bias[i] = val(5, i) / 2;
  rnn_loop_graph(b, &(rnn_loop_spec){.input_dim = D, .units = H, .u = g_u, .bias = with_bias ? g_bias : NULL,
                                     .cond_name = "cond", .body_name = "body"});
}

static void test_keras_loop_classes(void **state) {
  (void)state;
  gbuild b;
  keras_loop(&b, 1);
  loop_run r;
  const char *feeds[4] = {"x", "steps", "h0", "W"}, *fetches[2] = {"stack:0", "loop:4"};
  open_run(&b, 2, feeds, 4, fetches, 2, &r);
  td_callable *body = td_test_function_of(r.c, "loop", "body", 0), *cond = td_test_function_of(r.c, "loop", "cond", 0);
  td_loop_split ls;
  assert_int_equal(td_loop_split_analyze(body, cond, &ls), 1);
  /* (i, steps, out_ta, in_ta, h, W, U) */
  const unsigned char want[7] = {TD_SPLIT_INV, TD_SPLIT_INV, TD_SPLIT_LIST, TD_SPLIT_LIST, TD_SPLIT_ROW,
                                 TD_SPLIT_INV, TD_SPLIT_INV};
  assert_int_equal(ls.nvars, 7);
  assert_memory_equal(ls.cls, want, 7);
  int ranks[7] = {0, 0, 2, 2, 2, 2, 2};
  unsigned char cls[7];
  assert_int_equal(td_loop_split_classes(&ls, ranks, cls), 1);
  assert_memory_equal(cls, want, 7);
  td_loop_split_free(&ls);
  close_run(&r);
  gb_free(&b);
}

static void keras_check(int batch, int with_bias, int threads, long want_splits) {
  float *x = td_xmalloc(sizeof(float) * T * batch * D), *h0 = td_xmalloc(sizeof(float) * batch * H), w[D * H];
  for (int i = 0; i < T * batch * D; i++) x[i] = val(7, i) / 2;
  for (int i = 0; i < batch * H; i++) h0[i] = val(8, i) / 4;
  for (int i = 0; i < D * H; i++) w[i] = val(9, i) / 4;
  int32_t steps = T - 1; /* fewer iterations than items: the last output item stays unset */
  int64_t xd[3] = {T, batch, D}, hd[2] = {batch, H}, wd[2] = {D, H};
  td_tensor fv[4] = {td_test_tensor(TD_DT_FLOAT, 3, xd, x), td_test_tensor(TD_DT_INT32, 0, NULL, &steps),
                     td_test_tensor(TD_DT_FLOAT, 2, hd, h0), td_test_tensor(TD_DT_FLOAT, 2, wd, w)};
  const char *feeds[4] = {"x", "steps", "h0", "W"}, *fetches[2] = {"stack:0", "loop:4"};
  td_tensor split[2], whole[2];
  gbuild b;
  keras_loop(&b, with_bias);
  assert_int_equal(run_twice(&b, threads, feeds, fv, 4, fetches, split, 2), want_splits);
  assert_int_equal(run_twice(&b, 1, feeds, fv, 4, fetches, whole, 2), 0);
  gb_free(&b);
  for (int k = 0; k < 2; k++) rnn_assert_close(&split[k], &whole[k], 1e-5);
  assert_int_equal(split[0].shape.dim[0], steps);
  double *h = td_xmalloc(sizeof(double) * batch * H), *nh = td_xmalloc(sizeof(double) * batch * H);
  for (int i = 0; i < batch * H; i++) h[i] = h0[i];
  for (int t = 0; t < steps; t++) {
    for (int r = 0; r < batch; r++)
      for (int j = 0; j < H; j++) {
        double z = with_bias ? g_bias[j] : 0;
        for (int d = 0; d < D; d++) z += (double)x[(t * batch + r) * D + d] * w[d * H + j];
        for (int k = 0; k < H; k++) z += h[r * H + k] * g_u[k * H + j];
        nh[r * H + j] = tanh(z);
        assert_float_equal(td_f32(&split[0])[(t * batch + r) * H + j], nh[r * H + j], 2e-4);
      }
    memcpy(h, nh, sizeof(double) * batch * H);
  }
  for (int i = 0; i < batch * H; i++) assert_float_equal(td_f32(&split[1])[i], h[i], 2e-4);
  free(h), free(nh), free(x), free(h0);
  for (int k = 0; k < 2; k++) td_tensor_release(&split[k]), td_tensor_release(&whole[k]);
  for (int i = 0; i < 4; i++) td_tensor_release(&fv[i]);
}

static void test_keras_loop_split_values(void **state) {
  (void)state;
  keras_check(37, 0, 3, 2); /* 3 parts of 12-13 rows, both runs split */
  keras_check(37, 1, 3, 2); /* the bias fuses the products into one step */
  keras_check(16, 1, 2, 2); /* 2 parts of 8 rows */
}

static void test_keras_loop_runs_whole(void **state) {
  (void)state;
  keras_check(15, 1, 2, 0); /* fewer than 2 x 8 rows */
  keras_check(37, 1, 1, 0); /* one thread */
}

/* ---- loops that are not row-wise ----
 * Loop variables (i, steps, h, U, k); cond: i < steps; body: m = MatMul(h, U), then the
 * variant's op, h' = Tanh(...), i' = i + 1, k' = k + 1 (a counter the condition does not read,
 * as Keras' loop_counter: a row by the graph alone, a scalar at run time, so INV). */

enum variant {
  V_PLAIN,       /* row-wise: split */
  V_RIGHT,       /* m = MatMul(U, h): mixes rows */
  V_COND_READS,  /* cond: i < steps && Sum(h) < 1e9 (reads h) */
  V_SAME_RANK,   /* m + C with C a [B,H] constant */
  V_SPLIT_AXIS0, /* Split(0, m, 2) concatenated back on axis 0 */
  V_STATEFUL,    /* m + RandomUniform([H]) * 0 */
  V_ELEMENTWISE, /* no product: m = h * 0.5 */
};

enum { BV = 32 };

static void variant_loop(gbuild *b, enum variant v) {
  static const char *const args[] = {"i", "steps", "h", "U", "k"};
  static const td_dtype types[] = {TD_DT_INT32, TD_DT_INT32, TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_INT32};
  gb_init(b);
  td_test_attr_type(gb_add(b, gb_node("steps", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(b, gb_node("h0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  int64_t ud[2] = {v == V_RIGHT ? BV : H, v == V_RIGHT ? BV : H}, two = 2, one64 = 1;
  static float u[BV * BV], cst[BV * H];
  for (int i = 0; i < BV * BV; i++) u[i] = val(3, i) / (v == V_RIGHT ? 16 : 4);
  for (int i = 0; i < BV * H; i++) cst[i] = val(4, i) / 8;
  int32_t zero = 0, one = 1, zero_axis = 0;
  gb_add(b, gb_const("U", TD_DT_FLOAT, 2, ud, u));
  gb_add(b, gb_const("zero", TD_DT_INT32, 0, NULL, &zero));

  Tensorflow__FunctionDef *cond = gb_fn_new(b, "vcond");
  for (int k = 0; k < 5; k++) gb_fn_in(cond, args[k], types[k]);
  gb_fn_node(cond, gb_typed(gb_node("lt", "Less", "i", "steps", NULL), TD_DT_INT32));
  if (v == V_COND_READS) {
    int32_t axes[2] = {0, 1};
    float big = 1e9f;
    gb_fn_node(cond, gb_const("axes", TD_DT_INT32, 1, &two, axes));
    gb_fn_node(cond, gb_const("big", TD_DT_FLOAT, 0, NULL, &big));
    Tensorflow__NodeDef *sum = gb_typed(gb_node("sum", "Sum", "h", "axes:output:0", NULL), TD_DT_FLOAT);
    td_test_attr_type(sum, "Tidx", TD_DT_INT32);
    gb_fn_node(cond, sum);
    gb_fn_node(cond, gb_typed(gb_node("small", "Less", "sum:output:0", "big:output:0", NULL), TD_DT_FLOAT));
    gb_fn_node(cond, gb_node("both", "LogicalAnd", "lt:z:0", "small:z:0", NULL));
    gb_fn_out(cond, "go", TD_DT_BOOL, "both:z:0");
  } else {
    gb_fn_out(cond, "go", TD_DT_BOOL, "lt:z:0");
  }

  Tensorflow__FunctionDef *body = gb_fn_new(b, "vbody");
  for (int k = 0; k < 5; k++) gb_fn_in(body, args[k], types[k]);
  gb_fn_node(body, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  float half = 0.5f;
  gb_fn_node(body, gb_const("half", TD_DT_FLOAT, 0, NULL, &half));
  const char *m = "m:product:0";
  if (v == V_ELEMENTWISE)
    gb_fn_node(body, gb_typed(gb_node("m", "Mul", "h", "half:output:0", NULL), TD_DT_FLOAT)), m = "m:z:0";
  else
    gb_fn_node(body, gb_typed(gb_node("m", "MatMul", v == V_RIGHT ? "U" : "h", v == V_RIGHT ? "h" : "U", NULL),
                              TD_DT_FLOAT));
  const char *pre = m;
  if (v == V_SAME_RANK) {
    int64_t cd[2] = {BV, H};
    gb_fn_node(body, gb_const("C", TD_DT_FLOAT, 2, cd, cst));
    gb_fn_node(body, gb_typed(gb_node("plus", "AddV2", m, "C:output:0", NULL), TD_DT_FLOAT));
    pre = "plus:z:0";
  } else if (v == V_SPLIT_AXIS0) {
    gb_fn_node(body, gb_const("ax0", TD_DT_INT32, 0, NULL, &zero_axis));
    Tensorflow__NodeDef *sp = gb_typed(gb_node("halves", "Split", "ax0:output:0", m, NULL), TD_DT_FLOAT);
    td_test_attr_int(sp, "num_split", 2);
    gb_fn_node(body, sp);
    /* the halves swapped: row r of the result is row r ± B/2 of m */
    Tensorflow__NodeDef *cc = gb_typed(gb_node("swapped", "ConcatV2", "halves:output:1", "halves:output:0",
                                               "ax0:output:0", NULL), TD_DT_FLOAT);
    td_test_attr_int(cc, "N", 2);
    td_test_attr_type(cc, "Tidx", TD_DT_INT32);
    gb_fn_node(body, cc);
    pre = "swapped:output:0";
  } else if (v == V_STATEFUL) {
    int32_t hd1[1] = {H};
    float zf = 0.0f;
    gb_fn_node(body, gb_const("rshape", TD_DT_INT32, 1, &one64, hd1));
    gb_fn_node(body, gb_const("zf", TD_DT_FLOAT, 0, NULL, &zf));
    Tensorflow__NodeDef *rnd = gb_node("rnd", "RandomUniform", "rshape:output:0", NULL);
    td_test_attr_type(rnd, "dtype", TD_DT_FLOAT);
    td_test_attr_type(rnd, "T", TD_DT_INT32);
    gb_fn_node(body, rnd);
    gb_fn_node(body, gb_typed(gb_node("rz", "Mul", "rnd:output:0", "zf:output:0", NULL), TD_DT_FLOAT));
    gb_fn_node(body, gb_typed(gb_node("plus", "AddV2", m, "rz:z:0", NULL), TD_DT_FLOAT));
    pre = "plus:z:0";
  }
  gb_fn_node(body, gb_typed(gb_node("h_new", "Tanh", pre, NULL), TD_DT_FLOAT));
  gb_fn_node(body, gb_typed(gb_node("i1", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  gb_fn_node(body, gb_typed(gb_node("k1", "AddV2", "k", "one:output:0", NULL), TD_DT_INT32));
  const char *rets[5] = {"i1:z:0", "steps", "h_new:y:0", "U", "k1:z:0"};
  for (int k = 0; k < 5; k++) {
    char name[32];
    snprintf(name, sizeof name, "%s_out", args[k]);
    gb_fn_out(body, name, types[k], rets[k]);
  }
  Tensorflow__NodeDef *w8 = gb_add(b, gb_node("loop", "StatelessWhile", "zero", "steps", "h0", "U", "zero", NULL));
  td_test_attr_types(w8, "T", types, 5);
  gb_attr_func(w8, "cond", "vcond");
  gb_attr_func(w8, "body", "vbody");
}

static void test_not_row_wise_runs_whole(void **state) {
  (void)state;
  static const struct {
    enum variant v;
    long splits;
  } cases[] = {{V_PLAIN, 2},     {V_RIGHT, 0},    {V_COND_READS, 0},  {V_SAME_RANK, 0},
               {V_SPLIT_AXIS0, 0}, {V_STATEFUL, 0}, {V_ELEMENTWISE, 0}};
  float h0[BV * H];
  for (int i = 0; i < BV * H; i++) h0[i] = val(1, i) / 2;
  int32_t steps = 4;
  int64_t hd[2] = {BV, H};
  td_tensor fv[2] = {td_test_tensor(TD_DT_INT32, 0, NULL, &steps), td_test_tensor(TD_DT_FLOAT, 2, hd, h0)};
  const char *feeds[2] = {"steps", "h0"}, *fetches[1] = {"loop:2"};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    gbuild b;
    variant_loop(&b, cases[k].v);
    td_tensor two, one;
    long splits = run_twice(&b, 2, feeds, fv, 2, fetches, &two, 1);
    if (splits != cases[k].splits) fail_msg("variant %d: %ld split runs, want %ld", (int)cases[k].v, splits, cases[k].splits);
    run_twice(&b, 1, feeds, fv, 2, fetches, &one, 1);
    if (cases[k].v != V_STATEFUL) rnn_assert_close(&two, &one, 1e-5);
    td_tensor_release(&two), td_tensor_release(&one);
    gb_free(&b);
  }
  for (int i = 0; i < 2; i++) td_tensor_release(&fv[i]);
}

/* A GetItem element_shape that pins the row count ([B, D], not [-1, D]): the parts' items have
 * fewer rows, so the loop runs whole. */
static void test_pinned_element_shape_runs_whole(void **state) {
  (void)state;
  gbuild b;
  keras_loop(&b, 1);
  int pinned = 0;
  for (size_t f = 0; f < b.gd.library->n_function; f++) {
    Tensorflow__FunctionDef *fn = b.gd.library->function[f];
    for (size_t k = 0; k < fn->n_node_def; k++)
      if (!strcmp(fn->node_def[k]->name, "elem_shape")) {
        Tensorflow__TensorProto *t = NULL;
        for (size_t a = 0; a < fn->node_def[k]->n_attr; a++)
          if (!strcmp(fn->node_def[k]->attr[a]->key, "value")) t = fn->node_def[k]->attr[a]->value->tensor;
        assert_non_null(t);
        if (t->n_int_val == 2) t->int_val[0] = 32, pinned = 1;
        else if (t->tensor_content.len == 8) memcpy(t->tensor_content.data, &(int32_t){32}, 4), pinned = 1;
      }
  }
  assert_int_equal(pinned, 1);
  loop_run r;
  const char *feeds[4] = {"x", "steps", "h0", "W"}, *fetches[2] = {"stack:0", "loop:4"};
  open_run(&b, 2, feeds, 4, fetches, 2, &r);
  td_loop_split ls;
  assert_int_equal(td_loop_split_analyze(td_test_function_of(r.c, "loop", "body", 0),
                                         td_test_function_of(r.c, "loop", "cond", 0), &ls),
                   0);
  close_run(&r);
  gb_free(&b);
}

/* A loop that runs past its input list (steps > items): every part fails in GetItem, and the
 * run fails with the whole loop's error; nothing leaks (ASan). */
static void test_part_failure_is_the_error(void **state) {
  (void)state;
  enum { BB = 32 };
  float x[T * BB * D] = {0}, h0[BB * H] = {0}, w[D * H] = {0};
  int32_t steps = T + 2;
  int64_t xd[3] = {T, BB, D}, hd[2] = {BB, H}, wd[2] = {D, H};
  td_tensor fv[4] = {td_test_tensor(TD_DT_FLOAT, 3, xd, x), td_test_tensor(TD_DT_INT32, 0, NULL, &steps),
                     td_test_tensor(TD_DT_FLOAT, 2, hd, h0), td_test_tensor(TD_DT_FLOAT, 2, wd, w)};
  const char *feeds[4] = {"x", "steps", "h0", "W"}, *fetches[1] = {"stack:0"};
  td_status st[2] = {{0}, {0}};
  for (int k = 0; k < 2; k++) {
    gbuild b;
    keras_loop(&b, 1);
    loop_run r;
    open_run(&b, k == 0 ? 2 : 1, feeds, 4, fetches, 1, &r);
    td_tensor out;
    assert_int_equal(td_callable_run(r.c, fv, &out, &st[k]), TD_INVALID_ARGUMENT);
    close_run(&r);
    gb_free(&b);
  }
  assert_string_equal(st[0].msg, st[1].msg);
  for (int i = 0; i < 4; i++) td_tensor_release(&fv[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keras_loop_classes),
      cmocka_unit_test(test_keras_loop_split_values),
      cmocka_unit_test(test_keras_loop_runs_whole),
      cmocka_unit_test(test_not_row_wise_runs_whole),
      cmocka_unit_test(test_pinned_element_shape_runs_whole),
      cmocka_unit_test(test_part_failure_is_the_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
