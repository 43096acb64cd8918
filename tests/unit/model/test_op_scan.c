/* test_op_scan.c — users are told early and fully about unsupported ops (model/opscan.h and
 * td_model_load), on models written by tools/gen_models.py (run here into a temp dir):
 *  - unsupported_ops: every signature needs missing ops, so the load fails with ONE error
 *    naming all three (in the graph, in a PartitionedCall'd function, in a function named only
 *    by a func attr, as While bodies are);
 *  - partial_ops: one signature needs missing ops; the model still loads, serves the other
 *    signature, and the failed one answers FAILED_PRECONDITION naming both ops;
 *  - the op histogram counts graph nodes plus the nodes of reachable functions;
 *  - sparse_signature: signatures whose TensorInfos are CooSparse / CompositeTensor or have no
 *    encoding (no tensor name) do not stop the op scan (a fuzzed model crashed it on the unset
 *    name): the model loads, serves its dense signature, and the other three say why not.
 * Skips when python3 / the generator is unavailable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/opscan.h"
#include "model/savedmodel.h"
#include "util/mem.h"

static char gen_dir[] = "/tmp/td_opscan_XXXXXX";
static int generated;

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(gen_dir)) return 0;
  char *cmd = td_xasprintf("/usr/bin/python3 %s/tools/gen_models.py %s --only partial_ops,unsupported_ops,sparse_signature >/dev/null 2>&1",
                           TD_SOURCE_DIR, gen_dir);
  generated = system(cmd) == 0;
  free(cmd);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char *cmd = td_xasprintf("rm -rf %s", gen_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", gen_dir);
  free(cmd);
  return 0;
}

static char *model_path(const char *name) { return td_xasprintf("%s/%s/1", gen_dir, name); }

static void test_all_unsupported_ops_in_one_error(void **state) {
  (void)state;
  if (!generated) skip();
  char *dir = model_path("unsupported_ops");
  td_model *m = NULL;
  td_status st = {0};
  assert_int_equal(td_model_load(dir, NULL, 0, NULL, &m, &st), TD_UNIMPLEMENTED);
  assert_null(m);
  fprintf(stderr, "  load error: %s\n", st.msg);
  assert_non_null(strstr(st.msg, "Op type not registered"));
  assert_non_null(strstr(st.msg, "'TdMissingOpA'"));
  assert_non_null(strstr(st.msg, "'TdMissingOpB'"));
  assert_non_null(strstr(st.msg, "'TdMissingOpC'"));
  assert_non_null(strstr(st.msg, "(needed by nodes '"));
  assert_non_null(strstr(st.msg, "'z'"));
  assert_non_null(strstr(st.msg, "'td_missing_fn/inner'"));
  assert_non_null(strstr(st.msg, "'td_missing_body/step'"));
  assert_non_null(strstr(st.msg, "tensord has no kernel for these ops"));
  free(dir);
}

static void test_partial_signatures_still_serve(void **state) {
  (void)state;
  if (!generated) skip();
  char *dir = model_path("partial_ops");
  td_model *m = NULL;
  td_status st = {0};
  assert_int_equal(td_model_load(dir, NULL, 0, NULL, &m, &st), TD_OK);
  assert_int_equal(td_model_num_signatures(m), 2);
  /* the servable signature answers: y = 2x */
  const td_signature *good = td_model_find_signature(m, "serving_default");
  assert_non_null(good);
  assert_null(td_signature_error(good));
  float xs[3] = {1.0f, -2.5f, 0.25f};
  td_shape shape = td_shape_make(2, (const int64_t[]){3, 1});
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &shape, xs), out;
  assert_int_equal(td_model_run(m, good, &in, &out, &st), TD_OK);
  assert_int_equal(out.shape.rank, 2);
  assert_int_equal(out.shape.dim[0], 3);
  for (int i = 0; i < 3; i++) assert_true(td_f32(&out)[i] == 2.0f * xs[i]);
  td_tensor_release(&out);
  /* the other answers FAILED_PRECONDITION naming both ops it needs */
  const td_signature *bad = td_model_find_signature(m, "needs_missing");
  assert_non_null(bad);
  const char *why = td_signature_error(bad);
  assert_non_null(why);
  assert_non_null(strstr(why, "Signature 'needs_missing' cannot be served: Op type not registered"));
  assert_non_null(strstr(why, "'TdMissingOpA'"));
  assert_non_null(strstr(why, "'TdMissingOpB'"));
  assert_null(strstr(why, "TdMissingOpC")); /* not reachable from this signature */
  td_tensor outs[2];
  assert_int_equal(td_model_run(m, bad, &in, outs, &st), TD_FAILED_PRECONDITION);
  assert_string_equal(st.msg, why);
  td_model_free(m);
  free(dir);
}

static void test_sparse_signatures(void **state) {
  (void)state;
  if (!generated) skip();
  char *dir = model_path("sparse_signature");
  td_model *m = NULL;
  td_status st = {0};
  assert_int_equal(td_model_load(dir, NULL, 0, NULL, &m, &st), TD_OK);
  const td_signature *good = td_model_find_signature(m, "serving_default");
  assert_non_null(good);
  assert_null(td_signature_error(good));
  float xs[2] = {1.5f, -4.0f};
  td_shape shape = td_shape_make(2, (const int64_t[]){2, 1});
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &shape, xs), out;
  assert_int_equal(td_model_run(m, good, &in, &out, &st), TD_OK);
  for (int i = 0; i < 2; i++) assert_true(td_f32(&out)[i] == 2.0f * xs[i]);
  td_tensor_release(&out);
  const char *sigs[][3] = {{"sparse_out", "'sp'", "is sparse or composite"},
                           {"composite_in", "'rt'", "is sparse or composite"},
                           {"no_name", "'o'", "has no tensor name"}};
  for (int i = 0; i < 3; i++) {
    const td_signature *bad = td_model_find_signature(m, sigs[i][0]);
    assert_non_null(bad);
    const char *why = td_signature_error(bad);
    assert_non_null(why);
    assert_non_null(strstr(why, sigs[i][1]));
    assert_non_null(strstr(why, sigs[i][2]));
    td_tensor outs[1];
    assert_int_equal(td_model_run(m, bad, &in, outs, &st), TD_FAILED_PRECONDITION);
    assert_string_equal(st.msg, why);
  }
  td_model_free(m);
  free(dir);
}

static long count_of(const td_op_count *v, size_t n, const char *op) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].op, op)) return v[i].count;
  return 0;
}

static void test_histogram(void **state) {
  (void)state;
  if (!generated) skip();
  char *dir = model_path("partial_ops");
  Tensorflow__SavedModel *sm = NULL;
  const Tensorflow__MetaGraphDef *mg = NULL;
  td_status st = {0};
  assert_int_equal(td_savedmodel_read(dir, &sm, &st), TD_OK);
  assert_int_equal(td_savedmodel_meta_graph(sm, (const char *const[]){"serve"}, 1, &mg, &st), TD_OK);
  td_op_count *v;
  size_t n = td_opscan_histogram(mg, &v);
  /* graph: Placeholder, Const, Mul, TdMissingOpA, PartitionedCall, TdLoopLike; functions:
   * td_missing_fn (TdMissingOpB), td_missing_body (TdMissingOpC) */
  assert_int_equal(n, 8);
  for (size_t i = 1; i < n; i++) assert_true(strcmp(v[i - 1].op, v[i].op) < 0);
  const char *ops[] = {"Placeholder", "Const", "Mul", "TdMissingOpA", "PartitionedCall", "TdLoopLike", "TdMissingOpB",
                       "TdMissingOpC"};
  for (size_t i = 0; i < 8; i++) assert_int_equal(count_of(v, n, ops[i]), 1);
  free(v);
  /* a direct scan from one tensor, stopping at the feed */
  char *msg = td_opscan_missing(mg, (const char *const[]){"y:0"}, 1, (const char *const[]){"x:0"}, 1);
  assert_null(msg);
  msg = td_opscan_missing(mg, (const char *const[]){"v:0"}, 1, NULL, 0);
  assert_non_null(msg);
  assert_string_equal(msg, "Op type not registered 'TdLoopLike', 'TdMissingOpC' (needed by nodes 'v', "
                           "'td_missing_body/step'): tensord has no kernel for these ops");
  free(msg);
  td_savedmodel_free(sm);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_unsupported_ops_in_one_error),
      cmocka_unit_test(test_partial_signatures_still_serve),
      cmocka_unit_test(test_sparse_signatures),
      cmocka_unit_test(test_histogram),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
