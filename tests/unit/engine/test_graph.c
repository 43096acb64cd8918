/* test_graph.c — the engine core end to end on hand-built graphs: TF2-style function
 * inlining through StatefulPartitionedCall, restore through a checkpoint reader, TF1 ref
 * variables, constant folding after freeze, memory plans, and clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "graph_build.h"
#include "util/mem.h"

static Tensorflow__NodeDef *const_f32(const char *name, int rank, const int64_t *dims, const float *v) {
  return gb_const(name, TD_DT_FLOAT, rank, dims, v);
}

/* ---- a fake checkpoint: "w" = [1.5, -2], anything else NOT_FOUND ---- */
static int ckpt_reads;
static td_code fake_read(void *self, const char *prefix, const char *name, const char *slice, td_dtype expected,
                         td_tensor *out, td_status *st) {
  (void)self;
  (void)slice;
  ckpt_reads++;
  if (strcmp(prefix, "/ckpt/variables")) return td_status_set(st, TD_NOT_FOUND, "bad prefix %s", prefix);
  if (strcmp(name, "w") || expected != TD_DT_FLOAT) return td_status_set(st, TD_NOT_FOUND, "Key %s not found in checkpoint", name);
  float v[2] = {1.5f, -2.0f};
  int64_t dims[1] = {2};
  *out = td_test_tensor(TD_DT_FLOAT, 1, dims, v);
  return TD_OK;
}

/* TF2 layout: VarHandleOp + restore function + serving function reached through calls. */
static void build_tf2(gbuild *b) {
  gb_init(b);
  Tensorflow__NodeDef *var = gb_node("w", "VarHandleOp", NULL);
  td_test_attr_type(var, "dtype", TD_DT_FLOAT);
  td_test_attr_str(var, "shared_name", "w");
  gb_add(b, var);
  Tensorflow__NodeDef *x = gb_node("serving_default_x", "Placeholder", NULL);
  td_test_attr_type(x, "dtype", TD_DT_FLOAT);
  gb_add(b, x);
  Tensorflow__NodeDef *fname = gb_node("saver_filename", "Placeholder", NULL);
  td_test_attr_type(fname, "dtype", TD_DT_STRING);
  gb_add(b, fname);
  /* serving: outer wrapper → inner function reading the variable (IdentityN returns both) */
  Tensorflow__FunctionDef *inner = gb_fn_new(b, "__inference_inner_7");
  gb_fn_in(inner, "x", TD_DT_FLOAT);
  gb_fn_in(inner, "readvariableop_resource", TD_DT_RESOURCE);
  Tensorflow__NodeDef *rd = gb_node("ReadVariableOp", "ReadVariableOp", "readvariableop_resource", NULL);
  td_test_attr_type(rd, "dtype", TD_DT_FLOAT);
  gb_fn_node(inner, rd);
  Tensorflow__NodeDef *idn = gb_node("IdentityN", "IdentityN", "x", "ReadVariableOp:value:0", NULL);
  td_dtype two[2] = {TD_DT_FLOAT, TD_DT_FLOAT};
  td_test_attr_types(idn, "T", two, 2);
  gb_fn_node(inner, idn);
  gb_fn_out(inner, "x_out", TD_DT_FLOAT, "IdentityN:output:0");
  gb_fn_out(inner, "w_out", TD_DT_FLOAT, "IdentityN:output:1");
  Tensorflow__FunctionDef *outer = gb_fn_new(b, "__inference_signature_wrapper_9");
  gb_fn_in(outer, "x", TD_DT_FLOAT);
  gb_fn_in(outer, "unknown", TD_DT_RESOURCE);
  Tensorflow__NodeDef *call = gb_node("StatefulPartitionedCall", "StatefulPartitionedCall", "x", "unknown", NULL);
  gb_attr_func(call, "f", "__inference_inner_7");
  gb_fn_node(outer, call);
  Tensorflow__NodeDef *id = gb_node("Identity", "Identity", "StatefulPartitionedCall:output:1", NULL);
  gb_fn_node(outer, id);
  gb_fn_out(outer, "identity", TD_DT_FLOAT, "Identity:output:0");
  gb_fn_out(outer, "passthrough", TD_DT_FLOAT, "StatefulPartitionedCall:output:0");
  Tensorflow__NodeDef *top = gb_node("StatefulPartitionedCall", "StatefulPartitionedCall", "serving_default_x", "w", NULL);
  gb_attr_func(top, "f", "__inference_signature_wrapper_9");
  gb_add(b, top);
  /* restore: RestoreV2 → Identity → AssignVariableOp on the resource argument */
  Tensorflow__FunctionDef *rest = gb_fn_new(b, "__inference__traced_restore_11");
  gb_fn_in(rest, "file_prefix", TD_DT_STRING);
  gb_fn_in(rest, "assignvariableop_resource", TD_DT_RESOURCE);
  Tensorflow__NodeDef *names = gb_node("RestoreV2/tensor_names", "Const", NULL);
  const char *nm[1] = {"w"}, *sl[1] = {""};
  int64_t one[1] = {1};
  td_tensor tn = td_test_tensor(TD_DT_STRING, 1, one, nm), ts = td_test_tensor(TD_DT_STRING, 1, one, sl);
  td_test_attr_tensor(names, "value", &tn);
  td_test_attr_type(names, "dtype", TD_DT_STRING);
  gb_fn_node(rest, names);
  Tensorflow__NodeDef *slices = gb_node("RestoreV2/shape_and_slices", "Const", NULL);
  td_test_attr_tensor(slices, "value", &ts);
  td_test_attr_type(slices, "dtype", TD_DT_STRING);
  gb_fn_node(rest, slices);
  td_tensor_release(&tn);
  td_tensor_release(&ts);
  Tensorflow__NodeDef *r2 = gb_node("RestoreV2", "RestoreV2", "file_prefix", "RestoreV2/tensor_names:output:0",
                                 "RestoreV2/shape_and_slices:output:0", NULL);
  td_dtype f32[1] = {TD_DT_FLOAT};
  td_test_attr_types(r2, "dtypes", f32, 1);
  gb_fn_node(rest, r2);
  Tensorflow__NodeDef *ri = gb_node("Identity", "Identity", "RestoreV2:tensors:0", NULL);
  gb_fn_node(rest, ri);
  Tensorflow__NodeDef *assign = gb_node("AssignVariableOp", "AssignVariableOp", "assignvariableop_resource",
                                     "Identity:output:0", NULL);
  td_test_attr_type(assign, "dtype", TD_DT_FLOAT);
  gb_fn_node(rest, assign);
  Tensorflow__NodeDef *noop = gb_node("NoOp", "NoOp", "^AssignVariableOp", NULL);
  gb_fn_node(rest, noop);
  Tensorflow__NodeDef *ret = gb_node("Identity_1", "Identity", "file_prefix", "^NoOp", NULL);
  gb_fn_node(rest, ret);
  gb_fn_out(rest, "identity_1", TD_DT_STRING, "Identity_1:output:0");
  Tensorflow__NodeDef *rcall = gb_node("StatefulPartitionedCall_1", "StatefulPartitionedCall", "saver_filename", "w", NULL);
  gb_attr_func(rcall, "f", "__inference__traced_restore_11");
  gb_add(b, rcall);
}

static void test_tf2_restore_inline_and_fold(void **state) {
  (void)state;
  gbuild b;
  build_tf2(&b);
  td_session_options opt = {.checkpoint = {.read = fake_read}};
  td_session *s = gb_session(&b, &opt);
  td_status st = {0};
  /* the wrapper returns (identity = w, passthrough = x): fetch x first */
  const char *fetch[2] = {"StatefulPartitionedCall:1", "StatefulPartitionedCall:0"};
  const char *feed[1] = {"serving_default_x:0"};
  float xv[3] = {1, 2, 3};
  int64_t d3[1] = {3};
  td_tensor x = td_test_tensor(TD_DT_FLOAT, 1, d3, xv), out[2] = {0};
  /* before restore: reading the variable fails with TF's message, tagged with the node */
  assert_int_not_equal(td_session_run(s, feed, &x, 1, fetch, out, 2, NULL, 0, &st), TD_OK);
  assert_int_equal(st.code, TD_FAILED_PRECONDITION);
  assert_non_null(strstr(st.msg, "Error while reading resource variable"));
  assert_non_null(strstr(st.msg, "[[{{node StatefulPartitionedCall/StatefulPartitionedCall/ReadVariableOp}}]]"));
  /* restore: feed the prefix, target the call (its side effects run) */
  const char *rfeed[1] = {"saver_filename:0"}, *rtarget[1] = {"StatefulPartitionedCall_1"};
  const char *pfx[1] = {"/ckpt/variables"};
  td_tensor p = td_test_tensor(TD_DT_STRING, 0, NULL, pfx);
  ckpt_reads = 0;
  assert_int_equal(td_session_run(s, rfeed, &p, 1, NULL, NULL, 0, rtarget, 1, &st), TD_OK);
  assert_int_equal(ckpt_reads, 1);
  /* serve: unfrozen, the variable read runs every time */
  td_callable *c;
  assert_int_equal(td_session_make_callable(s, feed, 1, fetch, 2, NULL, 0, &c, &st), TD_OK);
  int unfrozen_steps = td_callable_num_steps(c);
  assert_true(unfrozen_steps >= 2);
  assert_int_equal(td_callable_run(c, &x, out, &st), TD_OK);
  assert_int_equal(out[0].shape.dim[0], 3);
  assert_memory_equal(out[0].data, xv, sizeof xv);
  assert_true(td_f32(&out[1])[0] == 1.5f && td_f32(&out[1])[1] == -2.0f);
  td_tensor_release(&out[0]);
  td_tensor_release(&out[1]);
  td_callable_free(c);
  /* frozen: the read folds to a constant and no step remains for it */
  td_session_freeze(s);
  assert_int_equal(td_session_make_callable(s, feed, 1, fetch, 2, NULL, 0, &c, &st), TD_OK);
  assert_true(td_callable_num_steps(c) < unfrozen_steps);
  assert_int_equal(td_callable_run(c, &x, out, &st), TD_OK);
  assert_true(td_f32(&out[1])[0] == 1.5f && td_f32(&out[1])[1] == -2.0f);
  assert_memory_equal(out[0].data, xv, sizeof xv);
  td_tensor_release(&out[0]);
  td_tensor_release(&out[1]);
  td_callable_free(c);
  td_tensor_release(&x);
  td_tensor_release(&p);
  td_session_free(s);
  gb_free(&b);
}

static void test_tf1_ref_variables(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  Tensorflow__NodeDef *v = gb_node("v", "VariableV2", NULL);
  td_test_attr_type(v, "dtype", TD_DT_FLOAT);
  gb_add(&b, v);
  float init[2] = {4, 5};
  int64_t d2[1] = {2};
  gb_add(&b, const_f32("v/initial_value", 1, d2, init));
  gb_add(&b, gb_node("v/Assign", "Assign", "v", "v/initial_value", NULL));
  gb_add(&b, gb_node("v/read", "Identity", "v", NULL));
  gb_add(&b, gb_node("init", "NoOp", "^v/Assign", NULL));
  Tensorflow__NodeDef *inc = gb_node("inc", "AssignAdd", "v", "v/initial_value", NULL);
  gb_add(&b, inc);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  const char *fetch[1] = {"v/read"}, *target[1] = {"init"}, *incf[1] = {"inc:0"};
  td_tensor out = {0};
  assert_int_equal(td_session_run(s, NULL, NULL, 0, fetch, &out, 1, NULL, 0, &st), TD_FAILED_PRECONDITION);
  assert_non_null(strstr(st.msg, "Attempting to use uninitialized value"));
  assert_int_equal(td_session_run(s, NULL, NULL, 0, NULL, NULL, 0, target, 1, &st), TD_OK);
  assert_int_equal(td_session_run(s, NULL, NULL, 0, fetch, &out, 1, NULL, 0, &st), TD_OK);
  assert_true(td_f32(&out)[0] == 4 && td_f32(&out)[1] == 5);
  td_tensor_release(&out);
  /* fetching a ref output yields the value after the update */
  assert_int_equal(td_session_run(s, NULL, NULL, 0, incf, &out, 1, NULL, 0, &st), TD_OK);
  assert_int_equal(out.dtype, TD_DT_FLOAT);
  assert_true(td_f32(&out)[0] == 8 && td_f32(&out)[1] == 10);
  td_tensor_release(&out);
  td_session_free(s);
  gb_free(&b);
}

static void test_errors_name_op_and_node(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  Tensorflow__NodeDef *x = gb_node("x", "Placeholder", NULL);
  td_test_attr_type(x, "dtype", TD_DT_FLOAT);
  int64_t dims[2] = {-1, 3};
  td_test_attr_shape(x, "shape", 2, dims);
  gb_add(&b, x);
  gb_add(&b, gb_node("weird", "FrobnicateV7", "x", NULL));
  gb_add(&b, gb_node("y", "Identity", "x", NULL));
  gb_add(&b, gb_node("loop_a", "Identity", "loop_b", NULL));
  gb_add(&b, gb_node("loop_b", "Identity", "loop_a", NULL));
  gb_add(&b, gb_node("dangling", "Identity", "nowhere:0", NULL));
  gb_add(&b, gb_node("no_input", "Identity", NULL));             /* found by fuzz/fuzz_model_files */
  gb_add(&b, gb_node("two_inputs", "Identity", "x", "x", NULL)); /* more inputs than the op takes */
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  td_callable *c;
  const char *f1[1] = {"weird:0"};
  assert_int_equal(td_session_make_callable(s, NULL, 0, f1, 1, NULL, 0, &c, &st), TD_UNIMPLEMENTED);
  assert_non_null(strstr(st.msg, "'FrobnicateV7'"));
  assert_non_null(strstr(st.msg, "'weird'"));
  const char *f2[1] = {"y:0"};
  td_tensor out;
  assert_int_equal(td_session_run(s, NULL, NULL, 0, f2, &out, 1, NULL, 0, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "You must feed a value for placeholder tensor 'x' with dtype float and shape [?,3]"));
  const char *f3[1] = {"loop_a:0"};
  assert_int_equal(td_session_make_callable(s, NULL, 0, f3, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "cycle"));
  const char *f4[1] = {"dangling:0"};
  assert_int_equal(td_session_make_callable(s, NULL, 0, f4, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "nowhere"));
  const char *f5[1] = {"y:3"};
  assert_int_equal(td_session_make_callable(s, NULL, 0, f5, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  const char *f6[1] = {"no_input:0"}, *f7[1] = {"two_inputs:0"};
  assert_int_equal(td_session_make_callable(s, NULL, 0, f6, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "NodeDef expected 1 inputs for op Identity but 0 are specified"));
  assert_int_equal(td_session_make_callable(s, NULL, 0, f7, 1, NULL, 0, &c, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "but 2 are specified; NodeDef: {{node two_inputs}}"));
  /* the session still works after failures */
  float xv[3] = {1, 2, 3};
  int64_t d[2] = {1, 3};
  td_tensor xt = td_test_tensor(TD_DT_FLOAT, 2, d, xv);
  const char *feed[1] = {"x"};
  assert_int_equal(td_session_run(s, feed, &xt, 1, f2, &out, 1, NULL, 0, &st), TD_OK);
  assert_memory_equal(out.data, xv, sizeof xv);
  td_tensor_release(&out);
  td_tensor_release(&xt);
  td_session_free(s);
  gb_free(&b);
}

/* Memory plans: the second run with the same shapes uses a planned arena, and values that
 * escape into state (a variable) are copied out of it, so later runs cannot clobber them. */
static void test_memory_plan_and_escaping_values(void **state) {
  (void)state;
  gbuild b;
  gb_init(&b);
  Tensorflow__NodeDef *shape = gb_node("shape", "Placeholder", NULL);
  td_test_attr_type(shape, "dtype", TD_DT_INT32);
  gb_add(&b, shape);
  Tensorflow__NodeDef *seed = gb_node("seed2", "Placeholder", NULL);
  td_test_attr_type(seed, "dtype", TD_DT_INT32);
  gb_add(&b, seed);
  Tensorflow__NodeDef *r = gb_node("r", "RandomUniform", "shape", NULL);
  td_test_attr_type(r, "dtype", TD_DT_FLOAT);
  td_test_attr_int(r, "seed", 7);
  gb_add(&b, r);
  Tensorflow__NodeDef *var = gb_node("v", "VarHandleOp", NULL);
  td_test_attr_type(var, "dtype", TD_DT_FLOAT);
  gb_add(&b, var);
  Tensorflow__NodeDef *assign = gb_node("assign", "AssignVariableOp", "v", "r", NULL);
  td_test_attr_type(assign, "dtype", TD_DT_FLOAT);
  gb_add(&b, assign);
  Tensorflow__NodeDef *read = gb_node("read", "ReadVariableOp", "v", NULL);
  td_test_attr_type(read, "dtype", TD_DT_FLOAT);
  gb_add(&b, read);
  td_session *s = gb_session(&b, NULL);
  td_status st = {0};
  td_callable *c, *rc;
  const char *feed[1] = {"shape"}, *target[1] = {"assign"}, *fetch[1] = {"read"};
  assert_int_equal(td_session_make_callable(s, feed, 1, NULL, 0, target, 1, &c, &st), TD_OK);
  assert_int_equal(td_session_make_callable(s, NULL, 0, fetch, 1, NULL, 0, &rc, &st), TD_OK);
  int32_t dims[1] = {1000};
  int64_t one[1] = {1};
  td_tensor sh = td_test_tensor(TD_DT_INT32, 1, one, dims), v1, v2;
  int nplans = 0;
  assert_int_equal(td_callable_run(c, &sh, NULL, &st), TD_OK); /* records */
  assert_int_equal(td_callable_arena_bytes(c, &nplans), 4000 + (4000 % 64 ? 64 - 4000 % 64 : 0));
  assert_int_equal(nplans, 1);
  assert_int_equal(td_callable_run(c, &sh, NULL, &st), TD_OK); /* planned */
  assert_int_equal(td_callable_run(rc, NULL, &v1, &st), TD_OK);
  float *v1_copy = td_xmalloc(4000);
  memcpy(v1_copy, v1.data, 4000);
  assert_int_equal(td_callable_run(c, &sh, NULL, &st), TD_OK); /* reuses the pooled arena */
  assert_int_equal(td_callable_run(rc, NULL, &v2, &st), TD_OK);
  assert_int_equal(v1.shape.dim[0], 1000);
  assert_int_equal(v2.shape.dim[0], 1000);
  /* a seeded RandomUniform advances between runs, as TF's does: the second value differs */
  assert_memory_not_equal(v1.data, v2.data, 4000);
  float sum = 0;
  for (int i = 0; i < 1000; i++) {
    assert_true(td_f32(&v1)[i] >= 0 && td_f32(&v1)[i] < 1);
    sum += td_f32(&v1)[i];
  }
  assert_true(sum > 400 && sum < 600);
  /* same feed shapes but a value-dependent output size: the plan no longer fits, so the run
   * falls back to the heap and stays correct */
  dims[0] = 10;
  td_tensor sh2 = td_test_tensor(TD_DT_INT32, 1, one, dims), v3;
  assert_int_equal(td_callable_run(c, &sh2, NULL, &st), TD_OK);
  td_callable_arena_bytes(c, &nplans);
  assert_int_equal(nplans, 1);
  assert_int_equal(td_callable_run(rc, NULL, &v3, &st), TD_OK);
  assert_int_equal(v3.shape.dim[0], 10);
  for (int i = 0; i < 10; i++) assert_true(td_f32(&v3)[i] >= 0 && td_f32(&v3)[i] < 1);
  assert_memory_equal(v1.data, v1_copy, 4000); /* v1 was not clobbered by later runs */
  free(v1_copy);
  td_tensor_release(&v3);
  td_tensor_release(&v1);
  td_tensor_release(&v2);
  td_tensor_release(&sh);
  td_tensor_release(&sh2);
  td_callable_free(c);
  td_callable_free(rc);
  td_session_free(s);
  gb_free(&b);
}

static void test_tensor_proto_rules(void **state) {
  (void)state;
  Tensorflow__TensorProto p = TENSORFLOW__TENSOR_PROTO__INIT;
  Tensorflow__TensorShapeProto sp = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
  Tensorflow__TensorShapeProto__Dim d = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, *dp = &d;
  d.size = 4;
  sp.n_dim = 1;
  sp.dim = &dp;
  p.tensor_shape = &sp;
  p.dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
  float vals[2] = {1.5f, 7.0f};
  p.n_float_val = 2;
  p.float_val = vals;
  td_tensor t;
  td_status st;
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_OK); /* last value repeats */
  float want[4] = {1.5f, 7, 7, 7};
  assert_memory_equal(t.data, want, sizeof want);
  Tensorflow__TensorProto *enc;
  assert_int_equal(td_tensor_to_proto(&t, 1, &enc, &st), TD_OK);
  td_tensor back;
  assert_int_equal(td_tensor_from_proto(enc, &back, &st), TD_OK);
  assert_memory_equal(back.data, want, sizeof want);
  tensorflow__tensor_proto__free_unpacked(enc, NULL);
  td_tensor_release(&back);
  td_tensor_release(&t);
  d.size = 1; /* more values than elements */
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_INVALID_ARGUMENT);
  p.n_float_val = 0; /* no values: zeros */
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_OK);
  assert_true(td_f32(&t)[0] == 0);
  td_tensor_release(&t);
  uint8_t raw[3] = {1, 2, 3}; /* content of the wrong size */
  p.tensor_content.data = raw;
  p.tensor_content.len = 3;
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_INVALID_ARGUMENT);
  /* a few values cannot make a huge tensor (found by fuzz/fuzz_tensor_proto), nor can dims
   * whose product overflows; a large fill below the cap is fine */
  p.tensor_content.len = 0;
  p.n_float_val = 1;
  d.size = (int64_t)1 << 34;
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_RESOURCE_EXHAUSTED);
  assert_non_null(strstr(st.msg, "filling it would take more than"));
  Tensorflow__TensorShapeProto__Dim big[3] = {TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT,
                                              TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT,
                                              TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT};
  Tensorflow__TensorShapeProto__Dim *bigp[3] = {&big[0], &big[1], &big[2]};
  big[0].size = big[1].size = big[2].size = (int64_t)1 << 30;
  sp.n_dim = 3;
  sp.dim = bigp;
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_RESOURCE_EXHAUSTED);
  sp.n_dim = 1;
  sp.dim = &dp;
  d.size = 1 << 20;
  assert_int_equal(td_tensor_from_proto(&p, &t, &st), TD_OK);
  assert_true(td_f32(&t)[(1 << 20) - 1] == 1.5f);
  td_tensor_release(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tf2_restore_inline_and_fold),
      cmocka_unit_test(test_tf1_ref_variables),
      cmocka_unit_test(test_errors_name_op_and_node),
      cmocka_unit_test(test_memory_plan_and_escaping_values),
      cmocka_unit_test(test_tensor_proto_rules),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
