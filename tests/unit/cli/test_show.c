/* test_show.c — `tensord show` end to end: runs td_cli_show with stdout/stderr redirected to
 * temp files and compares with saved_model_cli's golden output for the half_plus_two cpu
 * model byte for byte, plus the other modes, a TF2 model (concrete functions), and errors.
 * Expected texts follow saved_model_cli.py's formatting applied by hand to the signatures
 * (dumped independently with Python protobuf). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"
#include "util/mem.h"

#define TESTDATA TD_FIXTURES "/tfserving_testdata"
#define CPU_DIR TESTDATA "/saved_model_half_plus_two_cpu/00000123"
#define THREE_DIR TESTDATA "/saved_model_half_plus_three/00000123"
#define TF2_DIR TESTDATA "/saved_model_half_plus_two_tf2_cpu/00000123"
#define PBTXT_DIR TD_FIXTURES "/models/tf_testdata_copy_half_plus_two_pbtxt/00000123"

typedef struct captured {
  int rc;
  char *out, *err;
} captured;

static char *slurp_fd_file(const char *path) {
  char *data;
  size_t len;
  assert_int_equal(td_read_file(path, &data, &len, NULL), TD_OK);
  return data;
}

/* Runs td_cli_show(argv) with fds 1 and 2 redirected to temp files. */
static captured run_show(int argc, const char *const *argv) {
  char out_path[] = "/tmp/td_show_out_XXXXXX", err_path[] = "/tmp/td_show_err_XXXXXX";
  int out_fd = mkstemp(out_path), err_fd = mkstemp(err_path);
  assert_true(out_fd >= 0 && err_fd >= 0);
  fflush(stdout);
  fflush(stderr);
  int saved_out = dup(1), saved_err = dup(2);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  captured c;
  c.rc = td_cli_show(argc, (char **)argv);
  fflush(stdout);
  fflush(stderr);
  dup2(saved_out, 1);
  dup2(saved_err, 2);
  close(saved_out);
  close(saved_err);
  close(out_fd);
  close(err_fd);
  c.out = slurp_fd_file(out_path);
  c.err = slurp_fd_file(err_path);
  unlink(out_path);
  unlink(err_path);
  return c;
}

static void captured_free(captured *c) {
  free(c->out);
  free(c->err);
}

static void test_all_matches_golden(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir", CPU_DIR, "--all"};
  captured c = run_show(4, argv);
  char *golden = slurp_fd_file(TESTDATA "/saved_model_cli_show_all_half_plus_two_cpu.txt");
  assert_int_equal(c.rc, 0);
  assert_string_equal(c.out, golden);
  assert_string_equal(c.err, "");
  free(golden);
  captured_free(&c);
}

static void test_tag_sets(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir", THREE_DIR};
  captured c = run_show(3, argv);
  assert_int_equal(c.rc, 0);
  assert_string_equal(c.out, "The given SavedModel contains the following tag-sets:\n'serve'\n");
  captured_free(&c);
}

static void test_signature_keys(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir=" THREE_DIR, "--tag_set", "serve"};
  captured c = run_show(4, argv);
  assert_int_equal(c.rc, 0);
  assert_string_equal(c.out,
                      "The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n"
                      "SignatureDef key: \"serving_default\"\n"
                      "SignatureDef key: \"tensorflow/serving/regress\"\n");
  captured_free(&c);
}

static void test_one_signature(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir", THREE_DIR, "--tag_set", "serve", "--signature_def",
                        "tensorflow/serving/regress"};
  captured c = run_show(7, argv);
  assert_int_equal(c.rc, 0);
  /* No shape recorded in this TF 1.0 export: Python prints the empty tuple. */
  assert_string_equal(c.out,
                      "The given SavedModel SignatureDef contains the following input(s):\n"
                      "  inputs['inputs'] tensor_info:\n"
                      "      dtype: DT_FLOAT\n"
                      "      shape: ()\n"
                      "      name: tf_example:0\n"
                      "The given SavedModel SignatureDef contains the following output(s):\n"
                      "  outputs['outputs'] tensor_info:\n"
                      "      dtype: DT_FLOAT\n"
                      "      shape: ()\n"
                      "      name: Identity:0\n"
                      "Method name is: tensorflow/serving/regress\n");
  captured_free(&c);
}

static void test_pbtxt_model_all(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir", PBTXT_DIR, "--all"};
  captured c = run_show(4, argv);
  assert_int_equal(c.rc, 0);
  assert_non_null(strstr(c.out,
                         "\nsignature_def['tensorflow/serving/regress']:\n"
                         "  The given SavedModel SignatureDef contains the following input(s):\n"
                         "    inputs['inputs'] tensor_info:\n"
                         "        dtype: DT_INVALID\n"
                         "        shape: ()\n"
                         "        name: tf_example:0\n"));
  assert_null(strstr(c.out, "Concrete Functions"));
  captured_free(&c);
}

static void test_tf2_all(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  const char *argv[] = {"show", "--dir", TF2_DIR, "--all"};
  captured c = run_show(4, argv);
  assert_int_equal(c.rc, 0);
  assert_non_null(strstr(c.out,
                         "\nsignature_def['__saved_model_init_op']:\n"
                         "  The given SavedModel SignatureDef contains the following input(s):\n"
                         "  The given SavedModel SignatureDef contains the following output(s):\n"
                         "    outputs['__saved_model_init_op'] tensor_info:\n"
                         "        dtype: DT_INVALID\n"
                         "        shape: unknown_rank\n"
                         "        name: NoOp\n"
                         "  Method name is: \n"));
  assert_non_null(strstr(c.out,
                         "\nsignature_def['serving_default']:\n"
                         "  The given SavedModel SignatureDef contains the following input(s):\n"
                         "    inputs['x'] tensor_info:\n"
                         "        dtype: DT_FLOAT\n"
                         "        shape: (1)\n"
                         "        name: serving_default_x:0\n"));
  /* Graph ops plus ops of the library functions reached through StatefulPartitionedCall. */
  assert_non_null(strstr(c.out,
                         "The MetaGraph with tag set ['serve'] contains the following ops: {'AddV2', "
                         "'AssignVariableOp', 'Const', 'DisableCopyOnRead', 'Identity', 'MergeV2Checkpoints', "
                         "'Mul', 'NoOp', 'Pack', 'ParseExampleV2', 'Placeholder', 'PlaceholderWithDefault', "
                         "'ReadVariableOp', 'Reshape', 'RestoreV2', 'SaveV2', 'Select', 'ShardedFilename', "
                         "'StatefulPartitionedCall', 'StaticRegexFullMatch', 'StringJoin', 'VarHandleOp', "
                         "'VarIsInitializedOp'}\n"
                         "\nConcrete Functions:\n"
                         "  Function Name: 'classify_x2y3'\n"));
  assert_non_null(strstr(c.out,
                         "\n  Function Name: 'predict'\n"
                         "    Option #1\n"
                         "      Callable with:\n"
                         "        Argument #1\n"
                         "          x: TensorSpec(shape=(1,), dtype=tf.float32, name='x')\n"));
  assert_non_null(strstr(c.out, "          inputs: TensorSpec(shape=(None,), dtype=tf.string, name='inputs')\n"));
  size_t n = strlen(c.out);
  const char *tail = "  Function Name: 'regress_xy2'\n    Option #1\n      Callable with:\n        Argument #1\n"
                     "          inputs: TensorSpec(shape=(None,), dtype=tf.string, name='inputs')\n";
  assert_true(n > strlen(tail));
  assert_string_equal(c.out + n - strlen(tail), tail);
  captured_free(&c);
}

static void test_errors(void **state) {
  if (!td_is_dir(TD_FIXTURES)) skip(); /* ../shared absent: skipped, not passed */
  static const struct {
    int argc;
    const char *argv[8];
    int rc;
    const char *err;
  } cases[] = {
      {5, {"show", "--dir", CPU_DIR, "--tag_set", "gpu"}, 1,
       "MetaGraphDef associated with tag-set 'gpu' could not be found in SavedModel\n"},
      {7, {"show", "--dir", CPU_DIR, "--tag_set", "serve", "--signature_def", "nope"}, 1,
       "Could not find signature \"nope\". Please choose from: "},
      {3, {"show", "--dir", "/nonexistent/dir"}, 1,
       "Could not find SavedModel .pb or .pbtxt at supplied export directory path: /nonexistent/dir\n"},
      {1, {"show"}, 2, "error: the following arguments are required: --dir\n"},
      {2, {"show", "--dir"}, 2, "error: argument --dir: expected one argument\n"},
      {4, {"show", "--dir", CPU_DIR, "--bogus"}, 2, "error: unrecognized arguments: --bogus\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    captured c = run_show(cases[i].argc, cases[i].argv);
    assert_int_equal(c.rc, cases[i].rc);
    assert_string_equal(c.out, "");
    if (!strstr(c.err, cases[i].err)) fail_msg("stderr \"%s\" lacks \"%s\"", c.err, cases[i].err);
    captured_free(&c);
  }
  const char *help[] = {"show", "--help"};
  captured c = run_show(2, help);
  assert_int_equal(c.rc, 0);
  assert_non_null(strstr(c.out, "usage: tensord show"));
  captured_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_matches_golden), cmocka_unit_test(test_tag_sets),
      cmocka_unit_test(test_signature_keys),     cmocka_unit_test(test_one_signature),
      cmocka_unit_test(test_pbtxt_model_all),    cmocka_unit_test(test_tf2_all),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
