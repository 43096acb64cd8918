/* test_control_flow.c — TF1 control flow on hand-built graphs, run by the dataflow executor:
 * tf.cond (Switch/Merge, both branches, dead-branch state writes skipped), tf.while_loop
 * (Enter/Merge/LoopCond/Switch/NextIteration/Exit summing 0..n-1, zero iterations, a nested
 * loop), TensorArrayV3 map_fn-style (scatter, read and write in a loop, gather, size), and
 * errors (the iteration guard, a dead fetch, concurrent runs sharing a callable). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "graph_build.h"
#include "util/mem.h"

extern int64_t td_dataflow_max_iterations; /* exec_dataflow.c's guard (engine/session.h) */

/* ---- building GraphDefs ---- */
static void add_input(Tensorflow__NodeDef *nd, const char *in) {
  nd->input = td_xrealloc(nd->input, (nd->n_input + 1) * sizeof *nd->input);
  nd->input[nd->n_input++] = td_xstrdup(in);
}

/* Adds node `name` = op(inputs..., NULL) with type attr T (INVALID = none). */
static Tensorflow__NodeDef *add(gbuild *b, const char *name, const char *op, td_dtype T, ...) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  free(nd->name);
  nd->name = td_xstrdup(name);
  va_list ap;
  va_start(ap, T);
  for (const char *in; (in = va_arg(ap, const char *));) add_input(nd, in);
  va_end(ap);
  if (T != TD_DT_INVALID) td_test_attr_type(nd, "T", T);
  b->gd.node = td_xrealloc(b->gd.node, (b->gd.n_node + 1) * sizeof *b->gd.node);
  b->gd.node[b->gd.n_node++] = nd;
  return nd;
}

static void add_const(gbuild *b, const char *name, td_dtype dt, int rank, const int64_t *dims, const void *v,
                      const char *ctrl) {
  Tensorflow__NodeDef *nd = add(b, name, "Const", TD_DT_INVALID, ctrl, NULL);
  td_tensor t = td_test_tensor(dt, rank, dims, v);
  td_test_attr_type(nd, "dtype", dt);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
}

static void add_i32(gbuild *b, const char *name, int32_t v, const char *ctrl) {
  add_const(b, name, TD_DT_INT32, 0, NULL, &v, ctrl);
}

static void add_placeholder(gbuild *b, const char *name, td_dtype dt) {
  td_test_attr_type(add(b, name, "Placeholder", TD_DT_INVALID, NULL), "dtype", dt);
}

static void add_enter(gbuild *b, const char *name, const char *in, td_dtype T, const char *frame, int is_constant) {
  Tensorflow__NodeDef *nd = add(b, name, "Enter", T, in, NULL);
  td_test_attr_str(nd, "frame_name", frame);
  td_test_attr_bool(nd, "is_constant", is_constant);
}

/* One while-loop variable "<v>/...": Enter(init) → Merge(enter, next) → Switch(merge, cond);
 * the body sees "<v>/body" (Identity of the true output), "<next>" feeds NextIteration and
 * "<v>/exit" is the result. */
static void loop_var(gbuild *b, const char *v, const char *init, td_dtype T, const char *frame, const char *cond,
                     const char *next) {
  char n[6][64];
  const char *suffix[6] = {"enter", "merge", "switch", "body", "next", "exit"};
  for (int i = 0; i < 6; i++) snprintf(n[i], sizeof n[i], "%s/%s", v, suffix[i]);
  char sw1[80], sw0[80];
  snprintf(sw1, sizeof sw1, "%s:1", n[2]);
  snprintf(sw0, sizeof sw0, "%s:0", n[2]);
  add_enter(b, n[0], init, T, frame, 0);
  td_test_attr_int(add(b, n[1], "Merge", T, n[0], n[4], NULL), "N", 2);
  add(b, n[2], "Switch", T, n[1], cond, NULL);
  add(b, n[3], "Identity", T, sw1, NULL);
  add(b, n[4], "NextIteration", T, next, NULL);
  add(b, n[5], "Exit", T, sw0, NULL);
}

static td_tensor scalar_i32(int32_t v) { return td_test_tensor(TD_DT_INT32, 0, NULL, &v); }
static td_tensor scalar_bool(int v) {
  uint8_t b = (uint8_t)v;
  return td_test_tensor(TD_DT_BOOL, 0, NULL, &b);
}

/* ---- tf.cond ---- */
static void build_cond(gbuild *b) {
  gb_init(b);
  add_placeholder(b, "x", TD_DT_FLOAT);
  add_placeholder(b, "p", TD_DT_BOOL);
  float ten = 10, hundred = 100, zero = 0, one = 1;
  add(b, "cond/Switch", "Switch", TD_DT_FLOAT, "x", "p", NULL);
  add(b, "cond/switch_t", "Identity", TD_DT_FLOAT, "cond/Switch:1", NULL);
  add(b, "cond/switch_f", "Identity", TD_DT_FLOAT, "cond/Switch:0", NULL);
  add_const(b, "cond/ten", TD_DT_FLOAT, 0, NULL, &ten, "^cond/switch_t");
  add_const(b, "cond/hundred", TD_DT_FLOAT, 0, NULL, &hundred, "^cond/switch_f");
  add(b, "cond/t", "AddV2", TD_DT_FLOAT, "cond/switch_t", "cond/ten", NULL);
  add(b, "cond/f", "AddV2", TD_DT_FLOAT, "cond/switch_f", "cond/hundred", NULL);
  td_test_attr_int(add(b, "cond/Merge", "Merge", TD_DT_FLOAT, "cond/t", "cond/f", NULL), "N", 2);
  /* a state write only in the true branch: v += 1 */
  Tensorflow__NodeDef *v = add(b, "v", "VarHandleOp", TD_DT_INVALID, NULL);
  td_test_attr_type(v, "dtype", TD_DT_FLOAT);
  td_test_attr_str(v, "shared_name", "v");
  add_const(b, "zero", TD_DT_FLOAT, 0, NULL, &zero, NULL);
  td_test_attr_type(add(b, "init", "AssignVariableOp", TD_DT_INVALID, "v", "zero", NULL), "dtype", TD_DT_FLOAT);
  add_const(b, "one", TD_DT_FLOAT, 0, NULL, &one, NULL);
  add(b, "inc/Switch", "Switch", TD_DT_FLOAT, "one", "p", NULL);
  td_test_attr_type(add(b, "inc", "AssignAddVariableOp", TD_DT_INVALID, "v", "inc/Switch:1", NULL), "dtype",
                    TD_DT_FLOAT);
  td_test_attr_type(add(b, "read", "ReadVariableOp", TD_DT_INVALID, "v", NULL), "dtype", TD_DT_FLOAT);
}

static void test_cond_both_branches(void **state) {
  (void)state;
  gbuild b;
  build_cond(&b);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"x", "p"}, *fetches[] = {"cond/Merge:0", "cond/Merge:1"};
  td_callable *c;
  c = gb_callable(s, feeds, 2, fetches, 2);
  float xv = 1.5f;
  for (int p = 0; p < 2; p++) {
    td_tensor in[2] = {td_test_tensor(TD_DT_FLOAT, 0, NULL, &xv), scalar_bool(p)}, out[2];
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    assert_true(td_f32(&out[0])[0] == (p ? 11.5f : 101.5f));
    assert_int_equal(td_i32(&out[1])[0], p ? 0 : 1);
    for (int i = 0; i < 2; i++) td_tensor_release(&in[i]), td_tensor_release(&out[i]);
  }
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

static void test_cond_dead_branch_state_write_skipped(void **state) {
  (void)state;
  gbuild b;
  build_cond(&b);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *init[] = {"init"}, *pf[] = {"p"}, *inc[] = {"inc"}, *rd[] = {"read"};
  assert_int_equal(td_session_run(s, NULL, NULL, 0, NULL, NULL, 0, init, 1, &st), TD_OK);
  int pattern[] = {0, 1, 0, 1, 1};
  for (int k = 0; k < 5; k++) {
    td_tensor p = scalar_bool(pattern[k]);
    assert_int_equal(td_session_run(s, pf, &p, 1, NULL, NULL, 0, inc, 1, &st), TD_OK);
    td_tensor_release(&p);
  }
  td_tensor v;
  assert_int_equal(td_session_run(s, NULL, NULL, 0, rd, &v, 1, NULL, 0, &st), TD_OK);
  assert_true(td_f32(&v)[0] == 3.0f);
  td_tensor_release(&v);
  /* fetching the untaken side of a Switch is an error, not a crash */
  const char *dead[] = {"cond/t"}, *xp[] = {"x", "p"};
  float xv = 0;
  td_tensor in[2] = {td_test_tensor(TD_DT_FLOAT, 0, NULL, &xv), scalar_bool(0)}, out;
  assert_int_equal(td_session_run(s, xp, in, 2, dead, &out, 1, NULL, 0, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "does not have value"));
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_session_free(s);
  gb_free(&b);
}

/* ---- tf.while_loop: i, s = 0, 0; while i < n: s += i; i += 1 ---- */
static void build_sum_loop(gbuild *b) {
  gb_init(b);
  add_placeholder(b, "n", TD_DT_INT32);
  add_i32(b, "zero", 0, NULL);
  add_enter(b, "loop/n", "n", TD_DT_INT32, "loop", 1);
  loop_var(b, "i", "zero", TD_DT_INT32, "loop", "loop/cond", "i/add");
  loop_var(b, "s", "zero", TD_DT_INT32, "loop", "loop/cond", "s/add");
  add(b, "loop/less", "Less", TD_DT_INT32, "i/merge", "loop/n", NULL);
  add(b, "loop/cond", "LoopCond", TD_DT_INVALID, "loop/less", NULL);
  add_i32(b, "i/one", 1, "^i/body");
  add(b, "i/add", "AddV2", TD_DT_INT32, "i/body", "i/one", NULL);
  add(b, "s/add", "AddV2", TD_DT_INT32, "s/body", "i/body", NULL);
}

static td_code run_sum(td_callable *c, int32_t n, int32_t *sum, int32_t *count, td_status *st) {
  td_tensor in = scalar_i32(n), out[2];
  td_code code = td_callable_run(c, &in, out, st);
  td_tensor_release(&in);
  if (code != TD_OK) return code;
  *sum = td_i32(&out[0])[0];
  *count = td_i32(&out[1])[0];
  td_tensor_release(&out[0]);
  td_tensor_release(&out[1]);
  return TD_OK;
}

static void test_while_sum(void **state) {
  (void)state;
  gbuild b;
  build_sum_loop(&b);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"n"}, *fetches[] = {"s/exit", "i/exit"};
  td_callable *c;
  c = gb_callable(s, feeds, 1, fetches, 2);
  /* the Const "zero" is folded (pre-filled); everything else is a step */
  assert_int_equal(td_callable_num_steps(c), 18);
  FILE *devnull = fopen("/dev/null", "w");
  td_callable_dump(c, devnull);
  fclose(devnull);
  int32_t sum, count;
  const int32_t ns[] = {10, 0, 1, 1000};
  for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
    assert_int_equal(run_sum(c, ns[k], &sum, &count, &st), TD_OK);
    assert_int_equal(sum, ns[k] * (ns[k] - 1) / 2 > 0 ? ns[k] * (ns[k] - 1) / 2 : 0);
    assert_int_equal(count, ns[k]);
  }
  /* the guard: a loop running past the limit fails instead of hanging */
  int64_t saved = td_dataflow_max_iterations;
  td_dataflow_max_iterations = 100;
  assert_int_equal(run_sum(c, 1000, &sum, &count, &st), TD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(st.msg, "iterations"));
  td_dataflow_max_iterations = saved;
  assert_int_equal(run_sum(c, 5, &sum, &count, &st), TD_OK);
  assert_int_equal(sum, 10);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* A loop inside tf.cond's untaken branch: its exits come out dead, the Merge takes the other side. */
static void test_while_inside_dead_branch(void **state) {
  (void)state;
  gbuild b;
  build_sum_loop(&b);
  /* rewire: the loop's init comes through a Switch on p (loop runs only when p) */
  add_placeholder(&b, "p", TD_DT_BOOL);
  add(&b, "c/Switch", "Switch", TD_DT_INT32, "zero", "p", NULL);
  add(&b, "c/f", "Identity", TD_DT_INT32, "c/Switch:0", NULL);
  for (size_t i = 0; i < b.gd.n_node; i++) {
    Tensorflow__NodeDef *nd = b.gd.node[i];
    if (!strcmp(nd->op, "Enter") && !strcmp(nd->input[0], "zero")) {
      free(nd->input[0]);
      nd->input[0] = td_xstrdup("c/Switch:1");
    }
  }
  td_test_attr_int(add(&b, "c/Merge", "Merge", TD_DT_INT32, "s/exit", "c/f", NULL), "N", 2);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"n", "p"}, *fetches[] = {"c/Merge:0", "c/Merge:1"};
  td_callable *c;
  c = gb_callable(s, feeds, 2, fetches, 2);
  for (int p = 0; p < 2; p++) {
    td_tensor in[2] = {scalar_i32(4), scalar_bool(p)}, out[2];
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    assert_int_equal(td_i32(&out[0])[0], p ? 6 : 0);
    assert_int_equal(td_i32(&out[1])[0], p ? 0 : 1);
    for (int i = 0; i < 2; i++) td_tensor_release(&in[i]), td_tensor_release(&out[i]);
  }
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* Nested: total = sum over i < n of (sum over j < i of 1) = n(n-1)/2, the inner loop per outer
 * iteration in its own frame. */
static void test_nested_while(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  add_placeholder(&b, "n", TD_DT_INT32);
  add_i32(&b, "zero", 0, NULL);
  add_enter(&b, "outer/n", "n", TD_DT_INT32, "outer", 1);
  loop_var(&b, "i", "zero", TD_DT_INT32, "outer", "outer/cond", "i/add");
  loop_var(&b, "t", "zero", TD_DT_INT32, "outer", "outer/cond", "t/add");
  add(&b, "outer/less", "Less", TD_DT_INT32, "i/merge", "outer/n", NULL);
  add(&b, "outer/cond", "LoopCond", TD_DT_INVALID, "outer/less", NULL);
  add_i32(&b, "i/one", 1, "^i/body");
  add(&b, "i/add", "AddV2", TD_DT_INT32, "i/body", "i/one", NULL);
  /* inner loop in frame "inner": j, k = 0, 0; while j < i: j += 1; k += 1 */
  add_i32(&b, "inner/zero", 0, "^i/body");
  add_enter(&b, "inner/lim", "i/body", TD_DT_INT32, "inner", 1);
  loop_var(&b, "j", "inner/zero", TD_DT_INT32, "inner", "inner/cond", "j/add");
  loop_var(&b, "k", "inner/zero", TD_DT_INT32, "inner", "inner/cond", "k/add");
  add(&b, "inner/less", "Less", TD_DT_INT32, "j/merge", "inner/lim", NULL);
  add(&b, "inner/cond", "LoopCond", TD_DT_INVALID, "inner/less", NULL);
  add_i32(&b, "j/one", 1, "^j/body");
  add(&b, "j/add", "AddV2", TD_DT_INT32, "j/body", "j/one", NULL);
  add(&b, "k/add", "AddV2", TD_DT_INT32, "k/body", "j/one", NULL);
  add(&b, "t/add", "AddV2", TD_DT_INT32, "t/body", "k/exit", NULL);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"n"}, *fetches[] = {"t/exit", "i/exit"};
  td_callable *c;
  c = gb_callable(s, feeds, 1, fetches, 2);
  int32_t total, count;
  assert_int_equal(run_sum(c, 7, &total, &count, &st), TD_OK);
  assert_int_equal(total, 21);
  assert_int_equal(count, 7);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* ---- TensorArray map_fn: y[i] = x[i] + x[i] over a scattered array, gathered back ---- */
static void test_tensor_array_map(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  add_placeholder(&b, "x", TD_DT_FLOAT);
  add_placeholder(&b, "n", TD_DT_INT32);
  add_i32(&b, "zero", 0, NULL);
  add_i32(&b, "step", 1, NULL);
  td_test_attr_type(add(&b, "idx", "Range", TD_DT_INVALID, "zero", "n", "step", NULL), "Tidx", TD_DT_INT32);
  td_test_attr_type(add(&b, "in_ta", "TensorArrayV3", TD_DT_INVALID, "n", NULL), "dtype", TD_DT_FLOAT);
  td_test_attr_type(add(&b, "out_ta", "TensorArrayV3", TD_DT_INVALID, "n", NULL), "dtype", TD_DT_FLOAT);
  add(&b, "scatter", "TensorArrayScatterV3", TD_DT_FLOAT, "in_ta", "idx", "x", "in_ta:1", NULL);
  add_enter(&b, "loop/n", "n", TD_DT_INT32, "loop", 1);
  add_enter(&b, "loop/in_ta", "in_ta", TD_DT_RESOURCE, "loop", 1);
  add_enter(&b, "loop/in_flow", "scatter", TD_DT_FLOAT, "loop", 1);
  add_enter(&b, "loop/out_ta", "out_ta", TD_DT_RESOURCE, "loop", 1);
  loop_var(&b, "i", "zero", TD_DT_INT32, "loop", "loop/cond", "i/add");
  loop_var(&b, "f", "out_ta:1", TD_DT_FLOAT, "loop", "loop/cond", "write");
  add(&b, "loop/less", "Less", TD_DT_INT32, "i/merge", "loop/n", NULL);
  add(&b, "loop/cond", "LoopCond", TD_DT_INVALID, "loop/less", NULL);
  add_i32(&b, "i/one", 1, "^i/body");
  add(&b, "i/add", "AddV2", TD_DT_INT32, "i/body", "i/one", NULL);
  td_test_attr_type(add(&b, "read", "TensorArrayReadV3", TD_DT_INVALID, "loop/in_ta", "i/body", "loop/in_flow", NULL),
                    "dtype", TD_DT_FLOAT);
  add(&b, "twice", "AddV2", TD_DT_FLOAT, "read", "read", NULL);
  add(&b, "write", "TensorArrayWriteV3", TD_DT_FLOAT, "loop/out_ta", "i/body", "twice", "f/body", NULL);
  td_test_attr_type(add(&b, "gather", "TensorArrayGatherV3", TD_DT_INVALID, "out_ta", "idx", "f/exit", NULL), "dtype",
                    TD_DT_FLOAT);
  add(&b, "size", "TensorArraySizeV3", TD_DT_INVALID, "out_ta", "f/exit", NULL);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"x", "n"}, *fetches[] = {"gather", "size"};
  td_callable *c;
  c = gb_callable(s, feeds, 2, fetches, 2);
  float xv[4][2] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
  int64_t dims[2] = {4, 2};
  for (int rep = 0; rep < 2; rep++) { /* a fresh TensorArray per run */
    td_tensor in[2] = {td_test_tensor(TD_DT_FLOAT, 2, dims, xv), scalar_i32(4)}, out[2];
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    assert_int_equal(out[0].shape.rank, 2);
    assert_int_equal(out[0].shape.dim[0], 4);
    assert_int_equal(out[0].shape.dim[1], 2);
    for (int i = 0; i < 8; i++) assert_true(td_f32(&out[0])[i] == 2 * xv[i / 2][i % 2]);
    assert_int_equal(td_i32(&out[1])[0], 4);
    for (int i = 0; i < 2; i++) td_tensor_release(&in[i]), td_tensor_release(&out[i]);
  }
  /* n larger than x's rows: scatter rejects the mismatch */
  td_tensor in[2] = {td_test_tensor(TD_DT_FLOAT, 2, dims, xv), scalar_i32(5)}, out[2];
  assert_int_not_equal(td_callable_run(c, in, out, &st), TD_OK);
  for (int i = 0; i < 2; i++) td_tensor_release(&in[i]);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* A deadline stops a long loop between nodes. */
static void test_while_deadline(void **state) {
  (void)state;
  gbuild b;
  build_sum_loop(&b);
  td_session *s = gb_session(&b, NULL);
  const char *feeds[] = {"n"}, *fetches[] = {"s/exit", "i/exit"};
  td_callable *c = gb_callable(s, feeds, 1, fetches, 2);
  td_status st = {0};
  td_tensor in = scalar_i32(2000000000), out[2];
  td_run_options opt = {.deadline_ns = td_deadline_after_ms(20)};
  assert_int_equal(td_callable_run_opts(c, &in, out, &opt, &st), TD_DEADLINE_EXCEEDED);
  td_tensor_release(&in);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* TensorArray rules outside loops (static executor): write once, read only written indices. */
static void test_tensor_array_errors(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  float v = 2.5f;
  add_i32(&b, "two", 2, NULL);
  add_i32(&b, "i0", 0, NULL);
  add_i32(&b, "i1", 1, NULL);
  add_i32(&b, "i5", 5, NULL);
  add_const(&b, "v", TD_DT_FLOAT, 0, NULL, &v, NULL);
  td_test_attr_type(add(&b, "ta", "TensorArrayV3", TD_DT_INVALID, "two", NULL), "dtype", TD_DT_FLOAT);
  add(&b, "w0", "TensorArrayWriteV3", TD_DT_FLOAT, "ta", "i0", "v", "ta:1", NULL);
  add(&b, "w0again", "TensorArrayWriteV3", TD_DT_FLOAT, "ta", "i0", "v", "w0", NULL);
  add(&b, "w5", "TensorArrayWriteV3", TD_DT_FLOAT, "ta", "i5", "v", "ta:1", NULL);
  td_test_attr_type(add(&b, "r0", "TensorArrayReadV3", TD_DT_INVALID, "ta", "i0", "w0", NULL), "dtype", TD_DT_FLOAT);
  td_test_attr_type(add(&b, "r1", "TensorArrayReadV3", TD_DT_INVALID, "ta", "i1", "w0", NULL), "dtype", TD_DT_FLOAT);
  add(&b, "size", "TensorArraySizeV3", TD_DT_INVALID, "ta", "w0", NULL);
  add(&b, "close", "TensorArrayCloseV3", TD_DT_INVALID, "ta", "^r0", NULL);
  add(&b, "v_as_handle", "TensorArraySizeV3", TD_DT_INVALID, "v", "w0", NULL);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  td_tensor out[2];
  const char *ok[] = {"r0", "size"}, *close[] = {"close"};
  assert_int_equal(td_session_run(s, NULL, NULL, 0, ok, out, 2, close, 1, &st), TD_OK);
  assert_true(td_f32(&out[0])[0] == 2.5f);
  assert_int_equal(td_i32(&out[1])[0], 2);
  td_tensor_release(&out[0]);
  td_tensor_release(&out[1]);
  const struct {
    const char *fetch, *msg;
  } bad[] = {{"w0again", "already been written"}, {"w5", "not resizeable"}, {"r1", "not yet been written"},
             {"v_as_handle", "handle"}};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    const char *f[] = {bad[k].fetch};
    assert_int_not_equal(td_session_run(s, NULL, NULL, 0, f, out, 1, NULL, 0, &st), TD_OK);
    if (!strstr(st.msg, bad[k].msg)) print_error("%s: %s\n", bad[k].fetch, st.msg);
    assert_non_null(strstr(st.msg, bad[k].msg));
  }
  td_session_free(s);
  gb_free(&b);
}

/* ---- concurrent runs on one loop callable ---- */
typedef struct worker {
  td_callable *c;
  int32_t n;
  int ok;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  td_status st = {0};
  w->ok = 1;
  for (int k = 0; k < 20; k++) {
    int32_t sum, count;
    if (run_sum(w->c, w->n, &sum, &count, &st) != TD_OK || sum != w->n * (w->n - 1) / 2 || count != w->n) w->ok = 0;
  }
  return NULL;
}

static void test_concurrent_loops(void **state) {
  (void)state;
  gbuild b;
  build_sum_loop(&b);
  td_session *s = gb_session(&b, NULL);
  const char *feeds[] = {"n"}, *fetches[] = {"s/exit", "i/exit"};
  td_callable *c = gb_callable(s, feeds, 1, fetches, 2);
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){c, 50 + 10 * i, 0};
    pthread_create(&th[i], NULL, work, &w[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) assert_true(w[i].ok);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* A cycle not through NextIteration is still rejected. */
static void test_plain_cycle_rejected(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  add(&b, "a", "Identity", TD_DT_FLOAT, "b", NULL);
  add(&b, "b", "Identity", TD_DT_FLOAT, "a", NULL);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *fetches[] = {"a"};
  td_callable *c = NULL;
  assert_int_not_equal(td_session_make_callable(s, NULL, 0, fetches, 1, NULL, 0, &c, &st), TD_OK);
  assert_non_null(strstr(st.msg, "cycle"));
  td_session_free(s);
  gb_free(&b);
}

/* Malformed control flow nodes fail at make_callable, not at run time. */
static void test_malformed_switch_rejected(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  add_placeholder(&b, "x", TD_DT_FLOAT);
  add(&b, "sw", "Switch", TD_DT_FLOAT, "x", NULL);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *feeds[] = {"x"}, *fetches[] = {"sw:1"};
  td_callable *c = NULL;
  assert_int_equal(td_session_make_callable(s, feeds, 1, fetches, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "NodeDef expected 2 inputs for op Switch but 1 are specified"));
  td_session_free(s);
  gb_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cond_both_branches),
      cmocka_unit_test(test_cond_dead_branch_state_write_skipped),
      cmocka_unit_test(test_while_sum),
      cmocka_unit_test(test_while_inside_dead_branch),
      cmocka_unit_test(test_nested_while),
      cmocka_unit_test(test_tensor_array_map),
      cmocka_unit_test(test_while_deadline),
      cmocka_unit_test(test_tensor_array_errors),
      cmocka_unit_test(test_concurrent_loops),
      cmocka_unit_test(test_plain_cycle_rejected),
      cmocka_unit_test(test_malformed_switch_rejected),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
