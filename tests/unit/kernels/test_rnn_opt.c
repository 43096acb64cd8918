/* test_rnn_opt.c — the recurrent-loop rewrites of opt_rnn.c / opt_rnn_fuse.c against the
 * unrewritten graph (td_rnn_opt_enabled = 0) and against hand-written C math:
 *   - a Keras LSTM cell (Split(4) → σ/σ/tanh/σ, c' = f*c + i*g, h' = o*tanh c') becomes one step
 *     with the same c', h';
 *   - a Keras GRU cell (reset_after: two Split(3), z/r gates, 1 - z) likewise;
 *   - a one-row cell state [1,H] broadcasts over the rows as the unfused ops do;
 *   - a cell whose intermediate is also fetched is left alone;
 *   - a While loop's MatMul(TensorListGetItem(x, t), W) takes rows of one GEMM computed before
 *     the loop (hoisting counted by td_rnn_hoisted_uses) and gives the per-step results, also
 *     when it is part of a fused BiasAdd(AddV2(MatMul, MatMul)) step;
 *   - BiasAdd(MatMul) / BiasAdd(AddV2(MatMul, MatMul)) with a fed bias become one step each;
 *   - steps with enough rows split them over the intra-op threads (an odd count over 3) and give
 *     the results of the unfused graph and of one thread;
 *   - a fused BiasAdd(MatMul(s)) step feeding a fused LSTM cell becomes one lstm_step, split over
 *     the threads by rows the same way;
 *   - a Keras-shaped LSTM While loop (W, U, bias passed through as loop variables) gives the
 *     unrewritten loop's sequence and state with every step's x_t·W hoisted, over 1 or 3
 *     threads, also when the body reads the same item every step.
 * Tolerances: 1e-5 between rewritten and unrewritten graphs (same functions, FMA contraction
 * and GEMM blocking may differ in the last bits), 2e-4 against the double-precision reference
 * (the engine's sigmoid/tanh are float approximations). */
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
#include "engine/opt_rnn.h"
#include "engine/testing.h"
#include "graph_build.h"
#include "kernels/nn_test_util.h"
#include "rnn_graph_build.h"
#include "util/mem.h"

enum { B = 3, H = 5, T = 7, D = 4 };

static float val(int which, int i) { return (float)(((i * 7 + which * 13) % 23) - 11) / 6.0f; }
static double sig(double x) { return 1 / (1 + exp(-x)); }

static void placeholder(gbuild *b, const char *name, td_dtype dt) {
  td_test_attr_type(gb_add(b, gb_node(name, "Placeholder", NULL)), "dtype", dt);
}

static void split(gbuild *b, const char *name, const char *value, int n) {
  Tensorflow__NodeDef *s = gb_typed(gb_add(b, gb_node(name, "Split", "axis", value, NULL)), TD_DT_FLOAT);
  td_test_attr_int(s, "num_split", n);
}

static int run_threads; /* the sessions' intra-op threads (0: the default) */

/* Builds a graph, runs feeds → fetches once with the rewrites on or off; returns the step count. */
static int run_graph(gbuild *b, int opt, const char *const *feeds, const td_tensor *fv, int nfeeds,
                     const char *const *fetches, td_tensor *out, int nfetches) {
  td_rnn_opt_enabled = opt;
  td_graph *g;
  td_session *s;
  td_status st = {0};
  assert_int_equal(td_graph_import(&b->gd, &g, &st), TD_OK);
  td_session_options so = {.intra_op_threads = run_threads};
  assert_int_equal(td_session_new(g, &so, &s, &st), TD_OK);
  td_callable *c = NULL;
  if (td_session_make_callable(s, feeds, nfeeds, fetches, nfetches, NULL, 0, &c, &st) != TD_OK) fail_msg("%s", st.msg);
  int steps = td_callable_num_steps(c);
  for (int r = 0; r < 2; r++) { /* twice: the second run uses the memory plan and the recycled buffers */
    if (td_callable_run(c, fv, out, &st) != TD_OK) fail_msg("run: %s", st.msg);
    if (r == 0)
      for (int i = 0; i < nfetches; i++) td_tensor_release(&out[i]);
  }
  td_callable_free(c);
  td_session_free(s);
  td_rnn_opt_enabled = 1;
  return steps;
}

/* ---- LSTM cell ---- */

/* A Keras LSTM cell on the nodes "z" (gates) and "c" (state), up to c_new, h_new. */
static void lstm_cell_ops(gbuild *b) {
  int32_t axis = -1;
  gb_add(b, gb_const("axis", TD_DT_INT32, 0, NULL, &axis));
  split(b, "gates", "z", 4);
  gb_typed(gb_add(b, gb_node("i", "Sigmoid", "gates:0", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("f", "Sigmoid", "gates:1", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("g", "Tanh", "gates:2", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("o", "Sigmoid", "gates:3", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("fc", "Mul", "c", "f", NULL)), TD_DT_FLOAT); /* operands in either order */
  gb_typed(gb_add(b, gb_node("ig", "Mul", "i", "g", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("c_new", "AddV2", "ig", "fc", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("tc", "Tanh", "c_new", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("h_new", "Mul", "o", "tc", NULL)), TD_DT_FLOAT);
}

static void lstm_graph(gbuild *b, int fetch_gate) {
  gb_init(b);
  placeholder(b, "z", TD_DT_FLOAT);
  placeholder(b, "c", TD_DT_FLOAT);
  lstm_cell_ops(b);
  (void)fetch_gate;
}

static void lstm_run(int fetch_gate, int opt, td_tensor *out, int *steps) {
  float z[B * 4 * H], c[B * H];
  for (int i = 0; i < B * 4 * H; i++) z[i] = val(0, i);
  for (int i = 0; i < B * H; i++) c[i] = val(1, i);
  int64_t zd[2] = {B, 4 * H}, cd[2] = {B, H};
  td_tensor fv[2] = {td_test_tensor(TD_DT_FLOAT, 2, zd, z), td_test_tensor(TD_DT_FLOAT, 2, cd, c)};
  gbuild b;
  lstm_graph(&b, fetch_gate);
  const char *feeds[2] = {"z", "c"}, *fetches[3] = {"c_new", "h_new", "i"};
  *steps = run_graph(&b, opt, feeds, fv, 2, fetches, out, fetch_gate ? 3 : 2);
  gb_free(&b);
  for (int i = 0; i < 2; i++) td_tensor_release(&fv[i]);
}

static void test_lstm_cell_fused(void **state) {
  (void)state;
  td_tensor on[2], off[2];
  int son, soff;
  lstm_run(0, 1, on, &son);
  lstm_run(0, 0, off, &soff);
  assert_int_equal(soff, 10); /* Split, 4 gates, 2 Mul, AddV2, Tanh, Mul */
  assert_int_equal(son, 1);   /* one fused step */
  for (int k = 0; k < 2; k++) rnn_assert_close(&on[k], &off[k], 1e-5);
  for (int bb = 0; bb < B; bb++)
    for (int j = 0; j < H; j++) {
      const int r = bb * 4 * H;
      double i = sig(val(0, r + j)), f = sig(val(0, r + H + j)), g = tanh(val(0, r + 2 * H + j));
      double o = sig(val(0, r + 3 * H + j));
      double cn = f * val(1, bb * H + j) + i * g, hn = o * tanh(cn);
      assert_float_equal(td_f32(&on[0])[bb * H + j], cn, 2e-4);
      assert_float_equal(td_f32(&on[1])[bb * H + j], hn, 2e-4);
    }
  for (int k = 0; k < 2; k++) {
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
  }
}

/* A one-row state [1,H] broadcast over the B rows, as the unfused Mul would: same results. */
static void test_lstm_cell_state_broadcast(void **state) {
  (void)state;
  float z[B * 4 * H], c[H];
  for (int i = 0; i < B * 4 * H; i++) z[i] = val(0, i);
  for (int i = 0; i < H; i++) c[i] = val(1, i);
  int64_t zd[2] = {B, 4 * H}, cd[2] = {1, H};
  td_tensor fv[2] = {td_test_tensor(TD_DT_FLOAT, 2, zd, z), td_test_tensor(TD_DT_FLOAT, 2, cd, c)};
  const char *feeds[2] = {"z", "c"}, *fetches[2] = {"c_new", "h_new"};
  td_tensor on[2], off[2];
  gbuild b;
  lstm_graph(&b, 0);
  assert_int_equal(run_graph(&b, 1, feeds, fv, 2, fetches, on, 2), 1);
  assert_int_equal(run_graph(&b, 0, feeds, fv, 2, fetches, off, 2), 10);
  gb_free(&b);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(on[k].shape.dim[0], B);
    rnn_assert_close(&on[k], &off[k], 1e-5);
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
    td_tensor_release(&fv[k]);
  }
}

static void test_lstm_cell_shared_gate_not_fused(void **state) {
  (void)state;
  td_tensor on[3], off[3];
  int son, soff;
  lstm_run(1, 1, on, &son);
  lstm_run(1, 0, off, &soff);
  assert_int_equal(son, soff); /* gate i is fetched too: the pattern is left alone */
  for (int k = 0; k < 3; k++) {
    rnn_assert_close(&on[k], &off[k], 0);
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
  }
}

/* ---- GRU cell (Keras reset_after=True) ---- */

static void gru_graph(gbuild *b) {
  gb_init(b);
  placeholder(b, "xz", TD_DT_FLOAT);
  placeholder(b, "hz", TD_DT_FLOAT);
  placeholder(b, "h", TD_DT_FLOAT);
  int32_t axis = -1;
  float one = 1.0f;
  gb_add(b, gb_const("axis", TD_DT_INT32, 0, NULL, &axis));
  gb_add(b, gb_const("one", TD_DT_FLOAT, 0, NULL, &one));
  split(b, "xs", "xz", 3);
  split(b, "hs", "hz", 3);
  gb_typed(gb_add(b, gb_node("za", "AddV2", "xs:0", "hs:0", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("zg", "Sigmoid", "za", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("ra", "AddV2", "hs:1", "xs:1", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("rg", "Sigmoid", "ra", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("rh", "Mul", "rg", "hs:2", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("ha", "AddV2", "xs:2", "rh", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("hh", "Tanh", "ha", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("zh", "Mul", "zg", "h", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("omz", "Sub", "one", "zg", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("omzh", "Mul", "omz", "hh", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(b, gb_node("h_new", "AddV2", "zh", "omzh", NULL)), TD_DT_FLOAT);
}

static void test_gru_cell_fused(void **state) {
  (void)state;
  float xz[B * 3 * H], hz[B * 3 * H], h[B * H];
  for (int i = 0; i < B * 3 * H; i++) xz[i] = val(2, i), hz[i] = val(3, i);
  for (int i = 0; i < B * H; i++) h[i] = val(4, i);
  int64_t zd[2] = {B, 3 * H}, hd[2] = {B, H};
  td_tensor fv[3] = {td_test_tensor(TD_DT_FLOAT, 2, zd, xz), td_test_tensor(TD_DT_FLOAT, 2, zd, hz),
                     td_test_tensor(TD_DT_FLOAT, 2, hd, h)};
  const char *feeds[3] = {"xz", "hz", "h"}, *fetches[1] = {"h_new"};
  td_tensor on, off;
  gbuild b;
  gru_graph(&b);
  int son = run_graph(&b, 1, feeds, fv, 3, fetches, &on, 1);
  int soff = run_graph(&b, 0, feeds, fv, 3, fetches, &off, 1);
  gb_free(&b);
  assert_int_equal(soff, 13);
  assert_int_equal(son, 1);
  rnn_assert_close(&on, &off, 1e-5);
  for (int bb = 0; bb < B; bb++)
    for (int j = 0; j < H; j++) {
      const float *x = xz + bb * 3 * H, *r = hz + bb * 3 * H;
      double z = sig((double)x[j] + r[j]), rr = sig((double)x[H + j] + r[H + j]);
      double hh = tanh(x[2 * H + j] + rr * r[2 * H + j]);
      double want = z * h[bb * H + j] + (1 - z) * hh;
      assert_float_equal(td_f32(&on)[bb * H + j], want, 2e-4);
    }
  /* a cell input of the wrong shape fails with INVALID_ARGUMENT, no crash */
  int64_t bad[2] = {B, H + 1};
  td_tensor_release(&fv[2]);
  fv[2] = td_test_tensor(TD_DT_FLOAT, 2, bad, xz);
  td_graph *g;
  td_session *s;
  td_status st = {0};
  gru_graph(&b);
  assert_int_equal(td_graph_import(&b.gd, &g, &st), TD_OK);
  assert_int_equal(td_session_new(g, NULL, &s, &st), TD_OK);
  td_callable *c = NULL;
  assert_int_equal(td_session_make_callable(s, feeds, 3, fetches, 1, NULL, 0, &c, &st), TD_OK);
  td_tensor res;
  assert_int_equal(td_callable_run(c, fv, &res, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "fused GRU cell"));
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
  td_tensor_release(&on);
  td_tensor_release(&off);
  for (int i = 0; i < 3; i++) td_tensor_release(&fv[i]);
}

/* ---- hoisting: h_t = tanh(x_t·W + h_{t-1}·U) over a While ---- */

static const float kBias[H] = {0.25f, -0.5f, 0.125f, 0.0f, -0.375f};

/* x_t·W with W fed, U a Const; with_bias: z = BiasAdd(AddV2(h·U, x_t·W), bias) (one fused
 * accumulating step, the hoisted x_t·W included), else z = AddV2(h·U, x_t·W). */
static void loop_graph(gbuild *b, int with_bias) {
  float u[H * H];
  for (int i = 0; i < H * H; i++) u[i] = val(6, i) / 4;
  rnn_loop_graph(b, &(rnn_loop_spec){.input_dim = D, .units = H, .u = u, .bias = with_bias ? kBias : NULL,
                                     .recurrent_first = 1, .cond_name = "cond", .body_name = "body"});
}

static void loop_check(int with_bias) {
  float x[T * B * D], h0[B * H], w[D * H];
  for (int i = 0; i < T * B * D; i++) x[i] = val(7, i) / 2;
  for (int i = 0; i < B * H; i++) h0[i] = val(8, i) / 4;
  for (int i = 0; i < D * H; i++) w[i] = val(9, i) / 4;
  int32_t steps = T - 2; /* fewer iterations than list items: the hoisted rows are indexed by item */
  int64_t xd[3] = {T, B, D}, hd[2] = {B, H}, wd[2] = {D, H};
  td_tensor fv[4] = {td_test_tensor(TD_DT_FLOAT, 3, xd, x), td_test_tensor(TD_DT_INT32, 0, NULL, &steps),
                     td_test_tensor(TD_DT_FLOAT, 2, hd, h0), td_test_tensor(TD_DT_FLOAT, 2, wd, w)};
  const char *feeds[4] = {"x", "steps", "h0", "W"}, *fetches[2] = {"stack:0", "loop:4"};
  td_tensor on[2], off[2];
  gbuild b;
  loop_graph(&b, with_bias);
  long before = td_rnn_hoisted_uses(), conds = td_rnn_cond_evals();
  run_graph(&b, 1, feeds, fv, 4, fetches, on, 2);
  long used = td_rnn_hoisted_uses() - before;
  assert_int_equal(td_rnn_cond_evals() - conds, 2 * (steps + 1)); /* Less(i, steps) without its callable */
  run_graph(&b, 0, feeds, fv, 4, fetches, off, 2);
  assert_int_equal(td_rnn_hoisted_uses() - before, used); /* off: nothing hoisted */
  assert_int_equal(td_rnn_cond_evals() - conds, 2 * (steps + 1));
  gb_free(&b);
  assert_int_equal(used, 2 * steps); /* two runs, every step's x_t·W precomputed */
  for (int k = 0; k < 2; k++) rnn_assert_close(&on[k], &off[k], 1e-5);
  double h[B][H];
  for (int bb = 0; bb < B; bb++)
    for (int j = 0; j < H; j++) h[bb][j] = h0[bb * H + j];
  for (int t = 0; t < steps; t++) {
    double nh[B][H];
    for (int bb = 0; bb < B; bb++)
      for (int j = 0; j < H; j++) {
        double z = with_bias ? kBias[j] : 0;
        for (int d = 0; d < D; d++) z += (double)x[(t * B + bb) * D + d] * w[d * H + j];
        for (int k = 0; k < H; k++) z += h[bb][k] * (val(6, k * H + j) / 4);
        nh[bb][j] = tanh(z);
        assert_float_equal(td_f32(&on[0])[(t * B + bb) * H + j], nh[bb][j], 2e-4);
      }
    memcpy(h, nh, sizeof h);
  }
  for (int k = 0; k < 2; k++) {
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
  }
  for (int i = 0; i < 4; i++) td_tensor_release(&fv[i]);
}

static void test_loop_input_projection_hoisted(void **state) {
  (void)state;
  loop_check(0);
}

static void test_loop_hoisted_into_fused_matmul_bias(void **state) {
  (void)state;
  loop_check(1);
}

/* A condition operand of the wrong dtype at run time: the condition's callable runs and reports
 * TF's error, with the rewrites on or off. */
static void test_loop_condition_fallback(void **state) {
  (void)state;
  float x[T * B * D] = {0}, h0[B * H] = {0}, w[D * H] = {0};
  int32_t steps = 3;
  int64_t steps64 = 3; /* the loop variable the condition compares: int64 where the graph says int32 */
  int64_t xd[3] = {T, B, D}, hd[2] = {B, H}, wd[2] = {D, H};
  td_tensor fv[5] = {td_test_tensor(TD_DT_FLOAT, 3, xd, x), td_test_tensor(TD_DT_INT32, 0, NULL, &steps),
                     td_test_tensor(TD_DT_FLOAT, 2, hd, h0), td_test_tensor(TD_DT_FLOAT, 2, wd, w),
                     td_test_tensor(TD_DT_INT64, 0, NULL, &steps64)};
  const char *feeds[5] = {"x", "steps", "h0", "W", "in_steps"}, *fetches[1] = {"loop:4"};
  for (int opt = 1; opt >= 0; opt--) {
    gbuild b;
    loop_graph(&b, 0);
    /* the loop's `steps` from an untyped placeholder, so the bad dtype reaches the condition */
    Tensorflow__NodeDef *w8 = b.gd.node[b.gd.n_node - 2];
    assert_string_equal(w8->op, "StatelessWhile");
    free(w8->input[1]);
    w8->input[1] = td_xstrdup("in_steps");
    gb_add(&b, gb_node("in_steps", "Placeholder", NULL));
    td_rnn_opt_enabled = opt;
    td_graph *g;
    td_session *s;
    td_status st = {0};
    assert_int_equal(td_graph_import(&b.gd, &g, &st), TD_OK);
    assert_int_equal(td_session_new(g, NULL, &s, &st), TD_OK);
    td_callable *c = NULL;
    long conds = td_rnn_cond_evals();
    if (td_session_make_callable(s, feeds, 5, fetches, 1, NULL, 0, &c, &st) != TD_OK) fail_msg("%s", st.msg);
    td_tensor out;
    assert_int_equal(td_callable_run(c, fv, &out, &st), TD_INVALID_ARGUMENT);
    assert_int_equal(td_rnn_cond_evals(), conds); /* nothing evaluated without the callable */
    assert_non_null(strstr(st.msg, "int64")); /* the condition callable's own error */
    assert_non_null(strstr(st.msg, "loop"));
    td_callable_free(c);
    td_session_free(s);
    gb_free(&b);
    td_rnn_opt_enabled = 1;
  }
  for (int i = 0; i < 5; i++) td_tensor_release(&fv[i]);
}

/* BiasAdd(MatMul) and BiasAdd(AddV2(MatMul, MatMul)) with a fed bias, outside any loop */
static void test_matmul_bias_fused(void **state) {
  (void)state;
  enum { M = 2, K = 3, K2 = 4, N = 6 };
  float a[M * K], bw[K * N], a2[M * K2], b2[K2 * N], bias[N];
  for (int i = 0; i < M * K; i++) a[i] = val(10, i);
  for (int i = 0; i < K * N; i++) bw[i] = val(11, i);
  for (int i = 0; i < M * K2; i++) a2[i] = val(12, i);
  for (int i = 0; i < K2 * N; i++) b2[i] = val(13, i);
  for (int i = 0; i < N; i++) bias[i] = val(14, i);
  int64_t ad[2] = {M, K}, bd[2] = {K, N}, a2d[2] = {M, K2}, b2d[2] = {K2, N}, nd = N;
  td_tensor fv[5] = {td_test_tensor(TD_DT_FLOAT, 2, ad, a), td_test_tensor(TD_DT_FLOAT, 2, bd, bw),
                     td_test_tensor(TD_DT_FLOAT, 2, a2d, a2), td_test_tensor(TD_DT_FLOAT, 2, b2d, b2),
                     td_test_tensor(TD_DT_FLOAT, 1, &nd, bias)};
  const char *feeds[5] = {"a", "b", "a2", "b2", "bias"}, *fetches[2] = {"one", "two"};
  gbuild g;
  gb_init(&g);
  for (int i = 0; i < 5; i++) placeholder(&g, feeds[i], TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("m1", "MatMul", "a", "b", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("one", "BiasAdd", "m1", "bias", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("p1", "MatMul", "a", "b", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("p2", "MatMul", "a2", "b2", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("s", "AddV2", "p1", "p2", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&g, gb_node("two", "BiasAdd", "s", "bias", NULL)), TD_DT_FLOAT);
  td_tensor on[2], off[2];
  int son = run_graph(&g, 1, feeds, fv, 5, fetches, on, 2), soff = run_graph(&g, 0, feeds, fv, 5, fetches, off, 2);
  gb_free(&g);
  assert_int_equal(soff, 6);
  assert_int_equal(son, 2);
  for (int k = 0; k < 2; k++) rnn_assert_close(&on[k], &off[k], 1e-5);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      double p = bias[j], q;
      for (int k = 0; k < K; k++) p += (double)a[i * K + k] * bw[k * N + j];
      q = p;
      for (int k = 0; k < K2; k++) q += (double)a2[i * K2 + k] * b2[k * N + j];
      assert_float_equal(td_f32(&on[0])[i * N + j], p, 1e-5);
      assert_float_equal(td_f32(&on[1])[i * N + j], q, 1e-5);
    }
  for (int k = 0; k < 2; k++) {
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
  }
  for (int i = 0; i < 5; i++) td_tensor_release(&fv[i]);
}

/* Cells and bias starts big enough to split their rows (nn_rnn_cell.c: 16k cell elements, 64k
 * for the bias add), 259 rows over 3 threads: the same values as the unfused graph and as the
 * fused step on one thread. */
static void compare_split(gbuild *b, const char *const *feeds, const td_tensor *fv, int nfeeds,
                          const char *const *fetches, int nfetches) {
  td_tensor split3[2], one[2], off[2];
  run_threads = 3;
  assert_int_equal(run_graph(b, 1, feeds, fv, nfeeds, fetches, split3, nfetches), 1);
  run_graph(b, 0, feeds, fv, nfeeds, fetches, off, nfetches);
  run_threads = 1;
  run_graph(b, 1, feeds, fv, nfeeds, fetches, one, nfetches);
  run_threads = 0;
  for (int k = 0; k < nfetches; k++) {
    rnn_assert_close(&split3[k], &off[k], 1e-5);
    rnn_assert_close(&split3[k], &one[k], 0); /* rows are independent: the split changes no bit */
    td_tensor_release(&split3[k]), td_tensor_release(&one[k]), td_tensor_release(&off[k]);
  }
}

static void test_steps_split_over_threads(void **state) {
  (void)state;
  enum { R = 259, U = 64, N = 260, K = 8 };
  gbuild b;
  td_tensor lstm[2] = {nn_random_tensor(2, (int64_t[]){R, 4 * U}), nn_random_tensor(2, (int64_t[]){R, U})};
  const char *lfeeds[2] = {"z", "c"}, *lfetches[2] = {"c_new", "h_new"};
  lstm_graph(&b, 0);
  compare_split(&b, lfeeds, lstm, 2, lfetches, 2);
  gb_free(&b);
  td_tensor gru[3] = {nn_random_tensor(2, (int64_t[]){R, 3 * U}), nn_random_tensor(2, (int64_t[]){R, 3 * U}),
                      nn_random_tensor(2, (int64_t[]){R, U})};
  const char *gfeeds[3] = {"xz", "hz", "h"}, *gfetches[1] = {"h_new"};
  gru_graph(&b);
  compare_split(&b, gfeeds, gru, 3, gfetches, 1);
  gb_free(&b);
  int64_t nd = N;
  float bias[N];
  for (int i = 0; i < N; i++) bias[i] = val(14, i);
  td_tensor mm[3] = {nn_random_tensor(2, (int64_t[]){R, K}), nn_random_tensor(2, (int64_t[]){K, N}),
                     td_test_tensor(TD_DT_FLOAT, 1, &nd, bias)};
  const char *mfeeds[3] = {"a", "b", "bias"}, *mfetches[1] = {"one"};
  gb_init(&b);
  for (int i = 0; i < 3; i++) placeholder(&b, mfeeds[i], TD_DT_FLOAT);
  gb_typed(gb_add(&b, gb_node("m1", "MatMul", "a", "b", NULL)), TD_DT_FLOAT);
  gb_typed(gb_add(&b, gb_node("one", "BiasAdd", "m1", "bias", NULL)), TD_DT_FLOAT);
  compare_split(&b, mfeeds, mm, 3, mfetches, 1);
  gb_free(&b);
  for (int i = 0; i < 2; i++) td_tensor_release(&lstm[i]);
  for (int i = 0; i < 3; i++) td_tensor_release(&gru[i]), td_tensor_release(&mm[i]);
}

/* z = BiasAdd(AddV2(MatMul(a, b), MatMul(a2, b2)), bias) (or BiasAdd(MatMul(a, b), bias))
 * feeding an LSTM cell: one lstm_step (the product and the cell in one pass per thread's rows),
 * with the unfused graph's values, split over 3 threads or not; also with a one-row state. */
static void test_lstm_step_fused(void **state) {
  (void)state;
  enum { R = 259, U = 64, K = 16, K2 = 64 };
  for (int two = 0; two < 2; two++)
    for (int bcast = 0; bcast < 2; bcast++) {
      gbuild b;
      gb_init(&b);
      const char *feeds[6] = {"a", "b", "a2", "b2", "bias", "c"};
      int64_t nb = 4 * U;
      td_tensor fv[6] = {nn_random_tensor(2, (int64_t[]){R, K}), nn_random_tensor(2, (int64_t[]){K, 4 * U}),
                         nn_random_tensor(2, (int64_t[]){R, K2}), nn_random_tensor(2, (int64_t[]){K2, 4 * U}),
                         nn_random_tensor(1, &nb), nn_random_tensor(2, (int64_t[]){bcast ? 1 : R, U})};
      for (int i = 0; i < 6; i++) placeholder(&b, feeds[i], TD_DT_FLOAT);
      gb_typed(gb_add(&b, gb_node("p1", "MatMul", "a", "b", NULL)), TD_DT_FLOAT);
      if (two) {
        gb_typed(gb_add(&b, gb_node("p2", "MatMul", "a2", "b2", NULL)), TD_DT_FLOAT);
        gb_typed(gb_add(&b, gb_node("s", "AddV2", "p1", "p2", NULL)), TD_DT_FLOAT);
      }
      gb_typed(gb_add(&b, gb_node("z", "BiasAdd", two ? "s" : "p1", "bias", NULL)), TD_DT_FLOAT);
      lstm_cell_ops(&b);
      const char *fetches[2] = {"c_new", "h_new"};
      td_tensor on[2];
      assert_int_equal(run_graph(&b, 1, feeds, fv, 6, fetches, on, 2), 1); /* one step */
      for (int k = 0; k < 2; k++) td_tensor_release(&on[k]);
      compare_split(&b, feeds, fv, 6, fetches, 2);
      gb_free(&b);
      for (int i = 0; i < 6; i++) td_tensor_release(&fv[i]);
    }
}

/* ---- a Keras-shaped LSTM While loop: hoisted x_t·W feeding one lstm_step per iteration ---- */

/* Which item step i reads: x_i, item 0 every step, or x_{steps-1-i} (go_backwards). */
enum { ORDER_FORWARD, ORDER_SAME_ITEM, ORDER_REVERSE };

/* x [T,rows,D] → LSTM(H) over steps; W [D,4H], U [H,4H], bias [4H] fed and passed through the
 * loop as Keras does; the body reads items in `order`. */
static void lstm_loop_graph(gbuild *b, int units, int order) {
  static const char *const args[] = {"i", "steps", "out_ta", "in_ta", "h", "c", "W", "U", "bias"};
  static const td_dtype types[] = {TD_DT_INT32, TD_DT_INT32, TD_DT_VARIANT, TD_DT_VARIANT, TD_DT_FLOAT,
                                   TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_FLOAT, TD_DT_FLOAT};
  enum { NARGS = 9 };
  gb_init(b);
  const char *feeds[] = {"x", "h0", "c0", "W", "U", "bias"};
  for (int i = 0; i < 6; i++) placeholder(b, feeds[i], TD_DT_FLOAT);
  placeholder(b, "steps", TD_DT_INT32);
  int64_t two = 2;
  int32_t in_shape[2] = {-1, D}, out_shape[2] = {-1, units}, zero = 0, one = 1, axis = -1;
  gb_add(b, gb_const("in_shape", TD_DT_INT32, 1, &two, in_shape));
  gb_add(b, gb_const("out_shape", TD_DT_INT32, 1, &two, out_shape));
  gb_add(b, gb_const("zero", TD_DT_INT32, 0, NULL, &zero));
  td_test_attr_type(rnn_float_elements(gb_add(b, gb_node("in_ta", "TensorListFromTensor", "x", "in_shape", NULL))),
                    "shape_type", TD_DT_INT32);
  td_test_attr_type(rnn_float_elements(gb_add(b, gb_node("out_ta", "TensorListReserve", "out_shape", "steps", NULL))),
                    "shape_type", TD_DT_INT32);
  Tensorflow__FunctionDef *cond = gb_fn_new(b, "lcond");
  for (int k = 0; k < NARGS; k++) gb_fn_in(cond, args[k], types[k]);
  gb_fn_node(cond, gb_typed(gb_node("lt", "Less", "i", "steps", NULL), TD_DT_INT32));
  gb_fn_out(cond, "go", TD_DT_BOOL, "lt:z:0");
  Tensorflow__FunctionDef *f = gb_fn_new(b, "lbody");
  for (int k = 0; k < NARGS; k++) gb_fn_in(f, args[k], types[k]);
  gb_fn_node(f, gb_const("elem_shape", TD_DT_INT32, 1, &two, in_shape));
  gb_fn_node(f, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(f, gb_const("first", TD_DT_INT32, 0, NULL, &zero));
  gb_fn_node(f, gb_const("axis", TD_DT_INT32, 0, NULL, &axis));
  gb_fn_node(f, gb_typed(gb_node("left", "Sub", "steps", "i", NULL), TD_DT_INT32));
  gb_fn_node(f, gb_typed(gb_node("back", "Sub", "left:z:0", "one:output:0", NULL), TD_DT_INT32));
  const char *index = order == ORDER_SAME_ITEM ? "first:output:0" : order == ORDER_REVERSE ? "back:z:0" : "i";
  gb_fn_node(f, rnn_float_elements(gb_node("x_t", "TensorListGetItem", "in_ta", index, "elem_shape:output:0", NULL)));
  gb_fn_node(f, gb_typed(gb_node("mx", "MatMul", "x_t:item:0", "W", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("mh", "MatMul", "h", "U", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("z", "AddV2", "mx:product:0", "mh:product:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("zb", "BiasAdd", "z:z:0", "bias", NULL), TD_DT_FLOAT));
  td_test_attr_int(gb_fn_node(f, gb_typed(gb_node("gates", "Split", "axis:output:0", "zb:output:0", NULL), TD_DT_FLOAT)),
                   "num_split", 4);
  gb_fn_node(f, gb_typed(gb_node("gi", "Sigmoid", "gates:output:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("gf", "Sigmoid", "gates:output:1", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("gg", "Tanh", "gates:output:2", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("go", "Sigmoid", "gates:output:3", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("fc", "Mul", "gf:y:0", "c", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("ig", "Mul", "gi:y:0", "gg:y:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("c_new", "AddV2", "fc:z:0", "ig:z:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("tc", "Tanh", "c_new:z:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, gb_typed(gb_node("h_new", "Mul", "go:y:0", "tc:y:0", NULL), TD_DT_FLOAT));
  gb_fn_node(f, rnn_float_elements(gb_node("set", "TensorListSetItem", "out_ta", "i", "h_new:z:0", NULL)));
  gb_fn_node(f, gb_typed(gb_node("i1", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  const char *rets[NARGS] = {"i1:z:0", "steps", "set:output_handle:0", "in_ta", "h_new:z:0", "c_new:z:0", "W", "U", "bias"};
  for (int k = 0; k < NARGS; k++) {
    char name[32];
    snprintf(name, sizeof name, "%s_out", args[k]);
    gb_fn_out(f, name, types[k], rets[k]);
  }
  Tensorflow__NodeDef *w8 =
      gb_add(b, gb_node("loop", "StatelessWhile", "zero", "steps", "out_ta", "in_ta", "h0", "c0", "W", "U", "bias", NULL));
  td_test_attr_types(w8, "T", types, NARGS);
  gb_attr_func(w8, "cond", "lcond");
  gb_attr_func(w8, "body", "lbody");
  td_test_attr_int(rnn_float_elements(gb_add(b, gb_node("stack", "TensorListStack", "loop:2", "out_shape", NULL))),
                   "num_elements", -1);
}

static void lstm_loop_check(int rows, int units, int order, int threads) {
  int32_t steps = T - 1;
  td_tensor fv[7] = {nn_random_tensor(3, (int64_t[]){T, rows, D}), nn_random_tensor(2, (int64_t[]){rows, units}),
                     nn_random_tensor(2, (int64_t[]){rows, units}), nn_random_tensor(2, (int64_t[]){D, 4 * units}),
                     nn_random_tensor(2, (int64_t[]){units, 4 * units}), nn_random_tensor(1, (int64_t[]){4 * units}),
                     td_test_tensor(TD_DT_INT32, 0, NULL, &steps)};
  const char *feeds[7] = {"x", "h0", "c0", "W", "U", "bias", "steps"}, *fetches[2] = {"stack:0", "loop:5"};
  gbuild b;
  lstm_loop_graph(&b, units, order);
  td_tensor on[2], off[2];
  run_threads = threads;
  long before = td_rnn_hoisted_uses();
  run_graph(&b, 1, feeds, fv, 7, fetches, on, 2);
  long used = td_rnn_hoisted_uses() - before;
  run_graph(&b, 0, feeds, fv, 7, fetches, off, 2);
  run_threads = 0;
  gb_free(&b);
  /* two runs, every step's x_t·W precomputed (a split loop hoists per part: each part counts) */
  assert_true(used >= 2 * steps && used % (2 * steps) == 0);
  for (int k = 0; k < 2; k++) {
    rnn_assert_close(&on[k], &off[k], 1e-5);
    td_tensor_release(&on[k]);
    td_tensor_release(&off[k]);
  }
  for (int i = 0; i < 7; i++) td_tensor_release(&fv[i]);
}

static void test_lstm_loop_hoisted(void **state) {
  (void)state;
  lstm_loop_check(B, H, ORDER_FORWARD, 1);
  lstm_loop_check(1, 16, ORDER_FORWARD, 1);    /* one row: h·U is a GEMV */
  lstm_loop_check(100, 16, ORDER_FORWARD, 3);  /* rows over threads (a split loop or a split step) */
  lstm_loop_check(B, H, ORDER_SAME_ITEM, 1);   /* item 0 every step: its rows every time */
  lstm_loop_check(100, 16, ORDER_SAME_ITEM, 3);
  lstm_loop_check(B, H, ORDER_REVERSE, 1);
}

/* Products held a chunk of items at a time (td_rnn_hoist_chunk_bytes lowered to one item, then
 * to two of an LSTM's B x 4H items): the same values in every order — forward (a new chunk from
 * each item past the held one), backward (a chunk ending at it), one item throughout — with a
 * split loop's gathered parts, and the tanh loop against its double-precision reference. */
static void test_hoisting_in_chunks(void **state) {
  (void)state;
  size_t saved = td_rnn_hoist_chunk_bytes;
  size_t sizes[2] = {1, 2 * B * 4 * H * sizeof(float)};
  for (int k = 0; k < 2; k++) {
    td_rnn_hoist_chunk_bytes = sizes[k];
    loop_check(1);
    for (int order = ORDER_FORWARD; order <= ORDER_REVERSE; order++) {
      lstm_loop_check(B, H, order, 1);
      lstm_loop_check(100, 16, order, 3);
    }
  }
  td_rnn_hoist_chunk_bytes = saved;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lstm_cell_fused),
      cmocka_unit_test(test_lstm_cell_shared_gate_not_fused),
      cmocka_unit_test(test_lstm_cell_state_broadcast),
      cmocka_unit_test(test_gru_cell_fused),
      cmocka_unit_test(test_loop_input_projection_hoisted),
      cmocka_unit_test(test_loop_hoisted_into_fused_matmul_bias),
      cmocka_unit_test(test_matmul_bias_fused),
      cmocka_unit_test(test_loop_condition_fallback),
      cmocka_unit_test(test_steps_split_over_threads),
      cmocka_unit_test(test_lstm_step_fused),
      cmocka_unit_test(test_lstm_loop_hoisted),
      cmocka_unit_test(test_hoisting_in_chunks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
