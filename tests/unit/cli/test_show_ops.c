/* test_show_ops.c — `tensord show --dir D [--tag_set T] --ops` on the partial_ops model written
 * by tools/gen_models.py (into a temp dir): the exact histogram (graph nodes plus the nodes of
 * the two library functions it reaches), each op's status (supported / function call /
 * UNSUPPORTED when a signature needs it / not needed to serve), the summary line, and a bad
 * tag set. The expected text is derived by hand from the generator's graph. Skips without
 * python3. */
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

static char gen_dir[] = "/tmp/td_show_ops_XXXXXX";
static int generated;

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(gen_dir)) return 0;
  char *cmd = td_xasprintf("/usr/bin/python3 %s/tools/gen_models.py %s --only partial_ops >/dev/null 2>&1",
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

typedef struct captured {
  int rc;
  char *out, *err;
} captured;

static char *slurp(const char *path) {
  char *data;
  size_t len;
  assert_int_equal(td_read_file(path, &data, &len, NULL), TD_OK);
  return data;
}

/* Runs td_cli_show(argv) with fds 1 and 2 redirected to temp files. */
static captured run_show(int argc, const char *const *argv) {
  char out_path[] = "/tmp/td_show_ops_out_XXXXXX", err_path[] = "/tmp/td_show_ops_err_XXXXXX";
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
  c.out = slurp(out_path);
  c.err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return c;
}

static const char expected[] =
    "Ops used by the MetaGraphDef and the functions it calls (8 op types, 8 nodes):\n"
    "  Const                 1  supported\n"
    "  Mul                   1  supported\n"
    "  PartitionedCall       1  function call\n"
    "  Placeholder           1  supported\n"
    "  TdLoopLike            1  unsupported (not needed to serve)\n"
    "  TdMissingOpA          1  UNSUPPORTED\n"
    "  TdMissingOpB          1  UNSUPPORTED\n"
    "  TdMissingOpC          1  unsupported (not needed to serve)\n"
    "8 op types: 3 supported, 1 function calls, 4 unsupported (TdLoopLike, TdMissingOpA, TdMissingOpB, "
    "TdMissingOpC); 2 needed to serve (TdMissingOpA, TdMissingOpB)\n";

static void test_ops_histogram(void **state) {
  (void)state;
  if (!generated) skip();
  char *dir = td_xasprintf("%s/partial_ops/1", gen_dir);
  const char *argv[] = {"show", "--dir", dir, "--ops"};
  captured c = run_show(4, argv);
  assert_int_equal(c.rc, 0);
  assert_string_equal(c.out, expected);
  assert_string_equal(c.err, "");
  free(c.out);
  free(c.err);
  /* the same with an explicit tag set and --flag=value */
  char *dir_flag = td_xasprintf("--dir=%s", dir);
  const char *argv2[] = {"show", dir_flag, "--tag_set", "serve", "--ops"};
  c = run_show(5, argv2);
  assert_int_equal(c.rc, 0);
  assert_string_equal(c.out, expected);
  free(c.out);
  free(c.err);
  /* an unknown tag set: exit 1 and saved_model_cli's message */
  const char *argv3[] = {"show", "--dir", dir, "--tag_set", "gpu", "--ops"};
  c = run_show(6, argv3);
  assert_int_equal(c.rc, 1);
  assert_string_equal(c.out, "");
  assert_non_null(strstr(c.err, "MetaGraphDef associated with tag-set 'gpu' could not be found in SavedModel"));
  free(c.out);
  free(c.err);
  free(dir_flag);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_ops_histogram)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
