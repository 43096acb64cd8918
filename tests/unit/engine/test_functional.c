/* test_functional.c — TF2 functional control flow on hand-built graphs with a function library:
 * a counting While (i < 10: i += 1, acc *= 2) and its zero-iteration case, a While nested in a
 * body, If with both branches, Case with an out-of-range index (the last branch runs), a
 * PartitionedCall inside a body, a body reading a variable through a resource loop variable,
 * td_session_make_function_callable, errors (a condition that is not bool-ish, a failing body
 * named in the status, the iteration guard, the deadline), and that a loop iteration does not
 * grow the body's memory plans (arena bytes independent of the iteration count). Expected
 * values are hand-derived. Also: concurrent runs sharing one While callable (and its body's
 * pooled arenas). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "graph_build.h"
#include "util/mem.h"

extern int64_t td_dataflow_max_iterations; /* the loop guard shared with exec_dataflow.c */

static td_tensor scalar_i32(int32_t v) { return td_test_tensor(TD_DT_INT32, 0, NULL, &v); }
static td_tensor scalar_f32(float v) { return td_test_tensor(TD_DT_FLOAT, 0, NULL, &v); }
static td_tensor scalar_bool(int v) {
  uint8_t b = (uint8_t)v;
  return td_test_tensor(TD_DT_BOOL, 0, NULL, &b);
}

/* A While node `name` over (i:int32, acc:float) with cond `cond` and body `body`. */
static Tensorflow__NodeDef *while_node(const char *name, const char *op, const char *cond, const char *body,
                                       const char *in0, const char *in1) {
  Tensorflow__NodeDef *w = gb_node(name, op, in0, in1, NULL);
  td_dtype T[2] = {TD_DT_INT32, TD_DT_FLOAT};
  td_test_attr_types(w, "T", T, 2);
  gb_attr_func(w, "cond", cond);
  gb_attr_func(w, "body", body);
  td_test_attr_int(w, "parallel_iterations", 10);
  return w;
}

/* cond(i, acc) = i < limit. */
static void add_cond_less(gbuild *b, const char *name, int32_t limit) {
  Tensorflow__FunctionDef *f = gb_fn_new(b, name);
  gb_fn_in(f, "i", TD_DT_INT32);
  gb_fn_in(f, "acc", TD_DT_FLOAT);
  gb_fn_node(f, gb_const("limit", TD_DT_INT32, 0, NULL, &limit));
  gb_fn_node(f, gb_typed(gb_node("Less", "Less", "i", "limit:output:0", NULL), TD_DT_INT32));
  gb_fn_out(f, "less", TD_DT_BOOL, "Less:z:0");
}

/* body(i, acc) = (i + 1, acc <acc_op> v), acc_op a binary float op such as "Mul" or "AddV2". */
static void add_counter_body(gbuild *b, const char *name, const char *acc_op, float v) {
  Tensorflow__FunctionDef *f = gb_fn_new(b, name);
  gb_fn_in(f, "i", TD_DT_INT32);
  gb_fn_in(f, "acc", TD_DT_FLOAT);
  int32_t one = 1;
  gb_fn_node(f, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(f, gb_const("v", TD_DT_FLOAT, 0, NULL, &v));
  gb_fn_node(f, gb_typed(gb_node("add", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  gb_fn_node(f, gb_typed(gb_node("step", acc_op, "acc", "v:output:0", NULL), TD_DT_FLOAT));
  gb_fn_out(f, "i_next", TD_DT_INT32, "add:z:0");
  gb_fn_out(f, "acc_next", TD_DT_FLOAT, "step:z:0");
}

/* body(i, acc) = (i + 1, acc * 2). */
static void add_body_double(gbuild *b, const char *name) { add_counter_body(b, name, "Mul", 2); }

static void build_counting(gbuild *b, const char *op) {
  gb_init(b);
  td_test_attr_type(gb_add(b, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  add_cond_less(b, "cond_lt10", 10);
  add_body_double(b, "body_double");
  gb_add(b, while_node("loop", op, "cond_lt10", "body_double", "i0", "acc0"));
}

static const char *const kLoopFeeds[] = {"i0", "acc0"};
static const char *const kLoopFetches[] = {"loop:0", "loop:1"};

static void run_loop(td_callable *c, int32_t i0, float acc0, int32_t *i, float *acc) {
  td_tensor feeds[2] = {scalar_i32(i0), scalar_f32(acc0)}, out[2];
  td_status st = {0};
  td_code code = td_callable_run(c, feeds, out, &st);
  if (code != TD_OK) fail_msg("run: %s", st.msg);
  *i = td_i32(&out[0])[0];
  *acc = td_f32(&out[1])[0];
  for (int k = 0; k < 2; k++) {
    td_tensor_release(&feeds[k]);
    td_tensor_release(&out[k]);
  }
}

static void test_while_counts(void **state) {
  (void)state;
  const char *ops[2] = {"While", "StatelessWhile"};
  for (int v = 0; v < 2; v++) {
    gbuild b;
    build_counting(&b, ops[v]);
    td_session *s = gb_session(&b, NULL);
    td_callable *c = gb_callable(s, kLoopFeeds, 2, kLoopFetches, 2);
    int32_t i;
    float acc;
    run_loop(c, 0, 1.0f, &i, &acc); /* 10 iterations: 2^10 */
    assert_int_equal(i, 10);
    assert_true(acc == 1024.0f);
    run_loop(c, 7, 0.5f, &i, &acc); /* 3 iterations */
    assert_int_equal(i, 10);
    assert_true(acc == 4.0f);
    run_loop(c, 20, 3.0f, &i, &acc); /* zero iterations: the inputs come back */
    assert_int_equal(i, 20);
    assert_true(acc == 3.0f);
    td_callable_free(c);
    td_session_free(s);
    gb_free(&b);
  }
}

/* outer(j, acc): j < 3 → (j + 1, inner(0, acc).acc) where inner(k, acc): k < 4 → (k + 1, acc + 1). */
static void test_nested_while(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("j0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  add_cond_less(&b, "cond_lt3", 3);
  add_cond_less(&b, "cond_lt4", 4);
  add_counter_body(&b, "inner_body", "AddV2", 1);
  int32_t one = 1, zero = 0;
  Tensorflow__FunctionDef *outer = gb_fn_new(&b, "outer_body");
  gb_fn_in(outer, "j", TD_DT_INT32);
  gb_fn_in(outer, "acc", TD_DT_FLOAT);
  gb_fn_node(outer, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(outer, gb_const("zero", TD_DT_INT32, 0, NULL, &zero));
  gb_fn_node(outer, gb_typed(gb_node("j1", "AddV2", "j", "one:output:0", NULL), TD_DT_INT32));
  gb_fn_node(outer, while_node("inner", "StatelessWhile", "cond_lt4", "inner_body", "zero:output:0", "acc"));
  gb_fn_out(outer, "j_next", TD_DT_INT32, "j1:z:0");
  gb_fn_out(outer, "acc_next", TD_DT_FLOAT, "inner:output:1");
  gb_add(&b, while_node("loop", "While", "cond_lt3", "outer_body", "j0", "acc0"));
  td_session *s = gb_session(&b, NULL);
  const char *feeds[2] = {"j0", "acc0"};
  td_callable *c = gb_callable(s, feeds, 2, kLoopFetches, 2);
  int32_t j;
  float acc;
  run_loop(c, 0, 0.5f, &j, &acc);
  assert_int_equal(j, 3);
  assert_true(acc == 12.5f);
  run_loop(c, 2, 0.0f, &j, &acc);
  assert_int_equal(j, 3);
  assert_true(acc == 4.0f);
  /* the inner body is its own sub-callable, named under the outer one */
  assert_non_null(td_test_function_of(c, "loop/body/inner", "body", 0));
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* If(pred, x): then = x * 2, else = x - 1; both If and StatelessIf. */
static void test_if_both_branches(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("pred", "Placeholder", NULL)), "dtype", TD_DT_BOOL);
  td_test_attr_type(gb_add(&b, gb_node("x", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  float two = 2, one = 1;
  Tensorflow__FunctionDef *t = gb_fn_new(&b, "then_fn");
  gb_fn_in(t, "x", TD_DT_FLOAT);
  gb_fn_node(t, gb_const("two", TD_DT_FLOAT, 0, NULL, &two));
  gb_fn_node(t, gb_typed(gb_node("mul", "Mul", "x", "two:output:0", NULL), TD_DT_FLOAT));
  gb_fn_out(t, "y", TD_DT_FLOAT, "mul:z:0");
  Tensorflow__FunctionDef *e = gb_fn_new(&b, "else_fn");
  gb_fn_in(e, "x", TD_DT_FLOAT);
  gb_fn_node(e, gb_const("one", TD_DT_FLOAT, 0, NULL, &one));
  gb_fn_node(e, gb_typed(gb_node("sub", "Sub", "x", "one:output:0", NULL), TD_DT_FLOAT));
  gb_fn_out(e, "y", TD_DT_FLOAT, "sub:z:0");
  const char *ops[2] = {"If", "StatelessIf"}, *names[2] = {"if1", "if2"};
  td_dtype tin[1] = {TD_DT_FLOAT};
  for (int v = 0; v < 2; v++) {
    Tensorflow__NodeDef *n = gb_add(&b, gb_node(names[v], ops[v], "pred", "x", NULL));
    td_test_attr_type(n, "Tcond", TD_DT_BOOL);
    td_test_attr_types(n, "Tin", tin, 1);
    td_test_attr_types(n, "Tout", tin, 1);
    gb_attr_func(n, "then_branch", "then_fn");
    gb_attr_func(n, "else_branch", "else_fn");
  }
  td_session *s = gb_session(&b, NULL);
  const char *feeds[2] = {"pred", "x"}, *fetches[2] = {"if1:0", "if2:0"};
  td_callable *c = gb_callable(s, feeds, 2, fetches, 2);
  int64_t dims[1] = {3};
  float xv[3] = {1, -2, 4.5f};
  for (int p = 0; p < 2; p++) {
    td_tensor in[2] = {scalar_bool(p), td_test_tensor(TD_DT_FLOAT, 1, dims, xv)}, out[2];
    td_status st = {0};
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    for (int k = 0; k < 2; k++) {
      assert_int_equal(out[k].shape.rank, 1);
      assert_int_equal(out[k].shape.dim[0], 3);
      for (int i = 0; i < 3; i++) assert_true(td_f32(&out[k])[i] == (p ? xv[i] * 2 : xv[i] - 1));
      td_tensor_release(&out[k]);
    }
    td_tensor_release(&in[0]);
    td_tensor_release(&in[1]);
  }
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* Case(idx, x): branches x + 1, x * 10, x - 5; an out-of-range index runs the last one. */
static void test_case_default_branch(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("idx", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("x", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  const char *fns[3] = {"b_add1", "b_mul10", "b_sub5"}, *ops[3] = {"AddV2", "Mul", "Sub"};
  float k[3] = {1, 10, 5};
  for (int i = 0; i < 3; i++) {
    Tensorflow__FunctionDef *f = gb_fn_new(&b, fns[i]);
    gb_fn_in(f, "x", TD_DT_FLOAT);
    gb_fn_node(f, gb_const("k", TD_DT_FLOAT, 0, NULL, &k[i]));
    gb_fn_node(f, gb_typed(gb_node("op", ops[i], "x", "k:output:0", NULL), TD_DT_FLOAT));
    gb_fn_out(f, "y", TD_DT_FLOAT, "op:z:0");
  }
  Tensorflow__NodeDef *n = gb_add(&b, gb_node("case", "Case", "idx", "x", NULL));
  td_dtype tin[1] = {TD_DT_FLOAT};
  td_test_attr_types(n, "Tin", tin, 1);
  td_test_attr_types(n, "Tout", tin, 1);
  gb_attr_funcs(n, "branches", fns, 3);
  td_session *s = gb_session(&b, NULL);
  const char *feeds[2] = {"idx", "x"}, *fetches[1] = {"case:0"};
  td_callable *c = gb_callable(s, feeds, 2, fetches, 1);
  const int32_t idx[5] = {0, 1, 2, 7, -1};
  const float want[5] = {4, 30, -2, -2, -2};
  for (int t = 0; t < 5; t++) {
    td_tensor in[2] = {scalar_i32(idx[t]), scalar_f32(3)}, out[1];
    td_status st = {0};
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    assert_true(td_f32(&out[0])[0] == want[t]);
    td_tensor_release(&out[0]);
    td_tensor_release(&in[0]);
    td_tensor_release(&in[1]);
  }
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* The body calls a helper through PartitionedCall (inlined inside the body's callable). */
static void test_partitioned_call_in_body(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  add_cond_less(&b, "cond_lt10", 10);
  Tensorflow__FunctionDef *tri = gb_fn_new(&b, "triple");
  gb_fn_in(tri, "v", TD_DT_FLOAT);
  float three = 3;
  gb_fn_node(tri, gb_const("three", TD_DT_FLOAT, 0, NULL, &three));
  gb_fn_node(tri, gb_typed(gb_node("mul", "Mul", "v", "three:output:0", NULL), TD_DT_FLOAT));
  gb_fn_out(tri, "out", TD_DT_FLOAT, "mul:z:0");
  Tensorflow__FunctionDef *body = gb_fn_new(&b, "body_call");
  gb_fn_in(body, "i", TD_DT_INT32);
  gb_fn_in(body, "acc", TD_DT_FLOAT);
  int32_t four = 4;
  gb_fn_node(body, gb_const("four", TD_DT_INT32, 0, NULL, &four));
  gb_fn_node(body, gb_typed(gb_node("add", "AddV2", "i", "four:output:0", NULL), TD_DT_INT32));
  Tensorflow__NodeDef *call = gb_fn_node(body, gb_node("pc", "PartitionedCall", "acc", NULL));
  gb_attr_func(call, "f", "triple");
  gb_fn_out(body, "i_next", TD_DT_INT32, "add:z:0");
  gb_fn_out(body, "acc_next", TD_DT_FLOAT, "pc:output:0");
  gb_add(&b, while_node("loop", "While", "cond_lt10", "body_call", "i0", "acc0"));
  td_session *s = gb_session(&b, NULL);
  td_callable *c = gb_callable(s, kLoopFeeds, 2, kLoopFetches, 2);
  int32_t i;
  float acc;
  run_loop(c, 0, 1.0f, &i, &acc); /* i = 0, 4, 8 → 12: three iterations */
  assert_int_equal(i, 12);
  assert_true(acc == 27.0f);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* Loop variables (i, acc, handle): the body adds ReadVariableOp(handle) to acc and passes the
 * resource through; after an assignment the next run sees the new value. */
static void test_body_reads_variable(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  Tensorflow__NodeDef *var = gb_add(&b, gb_node("v", "VarHandleOp", NULL));
  td_test_attr_type(var, "dtype", TD_DT_FLOAT);
  td_test_attr_str(var, "shared_name", "v");
  td_test_attr_type(gb_add(&b, gb_node("newval", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  td_test_attr_type(gb_add(&b, gb_node("assign", "AssignVariableOp", "v", "newval", NULL)), "dtype", TD_DT_FLOAT);
  td_test_attr_type(gb_add(&b, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  Tensorflow__FunctionDef *cond = gb_fn_new(&b, "cond3");
  gb_fn_in(cond, "i", TD_DT_INT32);
  gb_fn_in(cond, "acc", TD_DT_FLOAT);
  gb_fn_in(cond, "h", TD_DT_RESOURCE);
  int32_t limit = 4, one = 1;
  gb_fn_node(cond, gb_const("limit", TD_DT_INT32, 0, NULL, &limit));
  gb_fn_node(cond, gb_typed(gb_node("Less", "Less", "i", "limit:output:0", NULL), TD_DT_INT32));
  gb_fn_out(cond, "less", TD_DT_BOOL, "Less:z:0");
  Tensorflow__FunctionDef *body = gb_fn_new(&b, "body_read");
  gb_fn_in(body, "i", TD_DT_INT32);
  gb_fn_in(body, "acc", TD_DT_FLOAT);
  gb_fn_in(body, "h", TD_DT_RESOURCE);
  gb_fn_node(body, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(body, gb_typed(gb_node("add", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  td_test_attr_type(gb_fn_node(body, gb_node("read", "ReadVariableOp", "h", NULL)), "dtype", TD_DT_FLOAT);
  gb_fn_node(body, gb_typed(gb_node("acc1", "AddV2", "acc", "read:value:0", NULL), TD_DT_FLOAT));
  gb_fn_out(body, "i_next", TD_DT_INT32, "add:z:0");
  gb_fn_out(body, "acc_next", TD_DT_FLOAT, "acc1:z:0");
  gb_fn_out(body, "h_next", TD_DT_RESOURCE, "h");
  Tensorflow__NodeDef *w = gb_add(&b, gb_node("loop", "While", "i0", "acc0", "v", NULL));
  td_dtype T[3] = {TD_DT_INT32, TD_DT_FLOAT, TD_DT_RESOURCE};
  td_test_attr_types(w, "T", T, 3);
  gb_attr_func(w, "cond", "cond3");
  gb_attr_func(w, "body", "body_read");
  td_session *s = gb_session(&b, NULL);
  const char *afeed[1] = {"newval"}, *atarget[1] = {"assign"};
  const char *fetches[3] = {"loop:0", "loop:1", "loop:2"};
  td_callable *c = gb_callable(s, kLoopFeeds, 2, fetches, 3);
  float vals[2] = {3.0f, -0.5f}, want[2] = {12.5f, -1.5f};
  for (int r = 0; r < 2; r++) {
    td_tensor nv = scalar_f32(vals[r]);
    td_status st = {0};
    assert_int_equal(td_session_run(s, afeed, &nv, 1, NULL, NULL, 0, atarget, 1, &st), TD_OK);
    td_tensor_release(&nv);
    td_tensor feeds[2] = {scalar_i32(0), scalar_f32(0.5f)}, out[3];
    assert_int_equal(td_callable_run(c, feeds, out, &st), TD_OK);
    assert_int_equal(td_i32(&out[0])[0], 4);
    assert_true(td_f32(&out[1])[0] == want[r]);
    assert_int_equal(out[2].dtype, TD_DT_RESOURCE);
    assert_non_null(td_res(&out[2])[0]); /* the handle came through */
    for (int k = 0; k < 3; k++) td_tensor_release(&out[k]);
    td_tensor_release(&feeds[0]);
    td_tensor_release(&feeds[1]);
  }
  /* the body reads the variable on every iteration: add, read, add */
  assert_int_equal(td_callable_num_steps(td_test_function_of(c, "loop", "body", 0)), 3);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

/* A library function made callable directly: feeds are its args, fetches its outputs. */
static void test_function_callable(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  add_body_double(&b, "body_double");
  td_session *s = gb_session(&b, NULL);
  td_callable *c = NULL;
  td_status st = {0};
  assert_int_equal(td_session_make_function_callable(s, "body_double", NULL, &c, &st), TD_OK);
  assert_int_equal(td_callable_num_feeds(c), 2);
  assert_int_equal(td_callable_num_fetches(c), 2);
  td_tensor in[2] = {scalar_i32(41), scalar_f32(1.25f)}, out[2];
  assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
  assert_int_equal(td_i32(&out[0])[0], 42);
  assert_true(td_f32(&out[1])[0] == 2.5f);
  for (int k = 0; k < 2; k++) td_tensor_release(&out[k]);
  /* a feed of the wrong dtype is refused above the executor, with TF's text */
  td_tensor bad[2] = {scalar_f32(1), scalar_f32(1)};
  assert_int_equal(td_callable_run(c, bad, out, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Expects arg[0] to be int32 but float is provided"));
  for (int k = 0; k < 2; k++) {
    td_tensor_release(&in[k]);
    td_tensor_release(&bad[k]);
  }
  td_callable_free(c);
  assert_int_equal(td_session_make_function_callable(s, "no_such_fn", NULL, &c, &st), TD_NOT_FOUND);
  assert_non_null(strstr(st.msg, "no_such_fn"));
  td_session_free(s);
  gb_free(&b);
}

/* Errors: a condition that is a resource; a body whose Reshape fails (both nodes named); the
 * iteration guard; the deadline. */
static void test_errors(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  Tensorflow__NodeDef *var = gb_add(&b, gb_node("v", "VarHandleOp", NULL));
  td_test_attr_type(var, "dtype", TD_DT_FLOAT);
  td_test_attr_str(var, "shared_name", "v");
  /* cond returning its resource argument */
  Tensorflow__FunctionDef *rc = gb_fn_new(&b, "cond_res");
  gb_fn_in(rc, "h", TD_DT_RESOURCE);
  gb_fn_out(rc, "h_out", TD_DT_RESOURCE, "h");
  Tensorflow__FunctionDef *rb = gb_fn_new(&b, "body_res");
  gb_fn_in(rb, "h", TD_DT_RESOURCE);
  gb_fn_out(rb, "h_out", TD_DT_RESOURCE, "h");
  Tensorflow__NodeDef *w1 = gb_add(&b, gb_node("resloop", "While", "v", NULL));
  td_dtype TR[1] = {TD_DT_RESOURCE};
  td_test_attr_types(w1, "T", TR, 1);
  gb_attr_func(w1, "cond", "cond_res");
  gb_attr_func(w1, "body", "body_res");
  /* a body reshaping the scalar acc to [2] */
  add_cond_less(&b, "cond_lt10", 10);
  add_cond_less(&b, "cond_forever", INT32_MAX);
  Tensorflow__FunctionDef *bad = gb_fn_new(&b, "body_bad");
  gb_fn_in(bad, "i", TD_DT_INT32);
  gb_fn_in(bad, "acc", TD_DT_FLOAT);
  int64_t one_dim[1] = {1};
  int32_t two[1] = {2};
  gb_fn_node(bad, gb_const("shape", TD_DT_INT32, 1, one_dim, two));
  gb_fn_node(bad, gb_typed(gb_node("bad_reshape", "Reshape", "acc", "shape:output:0", NULL), TD_DT_FLOAT));
  gb_fn_out(bad, "i_next", TD_DT_INT32, "i");
  gb_fn_out(bad, "acc_next", TD_DT_FLOAT, "bad_reshape:output:0");
  gb_add(&b, while_node("badloop", "While", "cond_lt10", "body_bad", "i0", "acc0"));
  /* a loop that never ends on its own (i stays put) */
  Tensorflow__FunctionDef *still = gb_fn_new(&b, "body_still");
  gb_fn_in(still, "i", TD_DT_INT32);
  gb_fn_in(still, "acc", TD_DT_FLOAT);
  gb_fn_out(still, "i_next", TD_DT_INT32, "i");
  gb_fn_out(still, "acc_next", TD_DT_FLOAT, "acc");
  gb_add(&b, while_node("forever", "While", "cond_forever", "body_still", "i0", "acc0"));
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};

  const char *f1[1] = {"resloop:0"};
  td_callable *c = gb_callable(s, NULL, 0, f1, 1);
  td_tensor out[2];
  assert_int_equal(td_callable_run(c, NULL, out, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "resource cannot be cast to bool"));
  assert_non_null(strstr(st.msg, "{{node resloop}}"));
  td_callable_free(c);

  const char *f2[2] = {"badloop:0", "badloop:1"};
  c = gb_callable(s, kLoopFeeds, 2, f2, 2);
  td_tensor in[2] = {scalar_i32(0), scalar_f32(1)};
  assert_int_equal(td_callable_run(c, in, out, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "{{node badloop/body/bad_reshape}}"));
  assert_non_null(strstr(st.msg, "{{node badloop}}"));
  td_callable_free(c);

  const char *f3[2] = {"forever:0", "forever:1"};
  c = gb_callable(s, kLoopFeeds, 2, f3, 2);
  int64_t saved = td_dataflow_max_iterations;
  td_dataflow_max_iterations = 100;
  assert_int_equal(td_callable_run(c, in, out, &st), TD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(st.msg, "more than 100 iterations"));
  td_dataflow_max_iterations = saved;
  td_run_options opt = {.deadline_ns = td_deadline_after_ms(30)};
  assert_int_equal(td_callable_run_opts(c, in, out, &opt, &st), TD_DEADLINE_EXCEEDED);
  td_callable_free(c);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);

  /* a body that is missing from the library fails the callable, naming the function */
  gbuild b2;
  gb_init(&b2);
  td_test_attr_type(gb_add(&b2, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b2, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  add_cond_less(&b2, "cond_lt10", 10);
  gb_add(&b2, while_node("loop", "While", "cond_lt10", "missing_body", "i0", "acc0"));
  td_session *s2 = gb_session(&b2, NULL);
  assert_int_equal(td_session_make_callable(s2, kLoopFeeds, 2, kLoopFetches, 2, NULL, 0, &c, &st), TD_NOT_FOUND);
  assert_non_null(strstr(st.msg, "missing_body"));
  td_session_free(s2);
  gb_free(&b2);
  td_session_free(s);
  gb_free(&b);
}

/* A loop iteration does not allocate from a growing plan: the body's memory plans (one per
 * feed-shape key) and arena bytes are the same after 3 and after 300 iterations. The loop
 * variables are vectors, so the body has planned intermediates. */
static void test_iterations_reuse_arena(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  td_test_attr_type(gb_add(&b, gb_node("i0", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  td_test_attr_type(gb_add(&b, gb_node("acc0", "Placeholder", NULL)), "dtype", TD_DT_FLOAT);
  Tensorflow__FunctionDef *cond = gb_fn_new(&b, "cond_n");
  gb_fn_in(cond, "i", TD_DT_INT32);
  gb_fn_in(cond, "acc", TD_DT_FLOAT);
  gb_fn_in(cond, "n", TD_DT_INT32);
  gb_fn_node(cond, gb_typed(gb_node("Less", "Less", "i", "n", NULL), TD_DT_INT32));
  gb_fn_out(cond, "less", TD_DT_BOOL, "Less:z:0");
  Tensorflow__FunctionDef *body = gb_fn_new(&b, "body_vec");
  gb_fn_in(body, "i", TD_DT_INT32);
  gb_fn_in(body, "acc", TD_DT_FLOAT);
  gb_fn_in(body, "n", TD_DT_INT32);
  int32_t one = 1;
  float half = 0.5f, quarter = 0.25f;
  gb_fn_node(body, gb_const("one", TD_DT_INT32, 0, NULL, &one));
  gb_fn_node(body, gb_const("half", TD_DT_FLOAT, 0, NULL, &half));
  gb_fn_node(body, gb_const("quarter", TD_DT_FLOAT, 0, NULL, &quarter));
  gb_fn_node(body, gb_typed(gb_node("add", "AddV2", "i", "one:output:0", NULL), TD_DT_INT32));
  gb_fn_node(body, gb_typed(gb_node("t1", "Mul", "acc", "half:output:0", NULL), TD_DT_FLOAT));      /* planned */
  gb_fn_node(body, gb_typed(gb_node("t2", "AddV2", "t1:z:0", "quarter:output:0", NULL), TD_DT_FLOAT)); /* planned */
  gb_fn_node(body, gb_typed(gb_node("t3", "AddV2", "t2:z:0", "t1:z:0", NULL), TD_DT_FLOAT));           /* acc + 0.25 */
  gb_fn_out(body, "i_next", TD_DT_INT32, "add:z:0");
  gb_fn_out(body, "acc_next", TD_DT_FLOAT, "t3:z:0");
  gb_fn_out(body, "n_next", TD_DT_INT32, "n");
  td_test_attr_type(gb_add(&b, gb_node("n", "Placeholder", NULL)), "dtype", TD_DT_INT32);
  Tensorflow__NodeDef *w = gb_add(&b, gb_node("loop", "While", "i0", "acc0", "n", NULL));
  td_dtype T[3] = {TD_DT_INT32, TD_DT_FLOAT, TD_DT_INT32};
  td_test_attr_types(w, "T", T, 3);
  gb_attr_func(w, "cond", "cond_n");
  gb_attr_func(w, "body", "body_vec");
  td_session *s = gb_session(&b, NULL);
  const char *feeds[3] = {"i0", "acc0", "n"};
  td_callable *c = gb_callable(s, feeds, 3, kLoopFetches, 2);
  td_callable *bc = td_test_function_of(c, "loop", "body", 0);
  assert_non_null(bc);
  int64_t dims[1] = {256};
  float *zeros = td_xcalloc(256, sizeof *zeros);
  const int32_t iters[3] = {3, 300, 300};
  size_t bytes[3];
  int plans[3];
  for (int r = 0; r < 3; r++) {
    td_tensor in[3] = {scalar_i32(0), td_test_tensor(TD_DT_FLOAT, 1, dims, zeros), scalar_i32(iters[r])}, out[2];
    td_status st = {0};
    assert_int_equal(td_callable_run(c, in, out, &st), TD_OK);
    assert_int_equal(td_i32(&out[0])[0], iters[r]);
    assert_true(td_f32(&out[1])[255] == 0.25f * (float)iters[r]);
    bytes[r] = td_callable_arena_bytes(bc, &plans[r]);
    for (int k = 0; k < 3; k++) td_tensor_release(&in[k]);
    td_tensor_release(&out[0]);
    td_tensor_release(&out[1]);
  }
  free(zeros);
  assert_int_equal(plans[0], 1); /* one plan for the loop variables' shapes */
  assert_true(bytes[0] >= 2 * 256 * sizeof(float)); /* t1 and t2 live in the arena */
  assert_int_equal(plans[1], 1);
  assert_int_equal(plans[2], 1);
  assert_true(bytes[1] == bytes[0] && bytes[2] == bytes[0]);
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

static void *count_worker(void *arg) {
  td_callable *c = arg;
  for (int r = 0; r < 200; r++) {
    int32_t start = r % 10, i;
    float acc;
    td_tensor feeds[2] = {scalar_i32(start), scalar_f32(1.0f)}, out[2];
    td_status st = {0};
    if (td_callable_run(c, feeds, out, &st) != TD_OK) return (void *)1;
    i = td_i32(&out[0])[0];
    acc = td_f32(&out[1])[0];
    for (int k = 0; k < 2; k++) {
      td_tensor_release(&feeds[k]);
      td_tensor_release(&out[k]);
    }
    if (i != 10 || acc != (float)(1 << (10 - start))) return (void *)1;
  }
  return NULL;
}

static void test_concurrent_loops(void **state) {
  (void)state;
  gbuild b;
  build_counting(&b, "While");
  td_session *s = gb_session(&b, NULL);
  td_callable *c = gb_callable(s, kLoopFeeds, 2, kLoopFetches, 2);
  pthread_t th[4];
  for (int t = 0; t < 4; t++) assert_int_equal(pthread_create(&th[t], NULL, count_worker, c), 0);
  for (int t = 0; t < 4; t++) {
    void *ret;
    pthread_join(th[t], &ret);
    assert_null(ret);
  }
  td_callable_free(c);
  td_session_free(s);
  gb_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_while_counts),         cmocka_unit_test(test_nested_while),
      cmocka_unit_test(test_if_both_branches),     cmocka_unit_test(test_case_default_branch),
      cmocka_unit_test(test_partitioned_call_in_body), cmocka_unit_test(test_body_reads_variable),
      cmocka_unit_test(test_function_callable),    cmocka_unit_test(test_errors),
      cmocka_unit_test(test_iterations_reuse_arena), cmocka_unit_test(test_concurrent_loops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
