/* test_layering.c — the include rules of docs/architecture.md, checked on the sources:
 * core/ includes no front end and not api/ (warmup replays through an installed callback),
 * api/ includes no front end (REST, gRPC, V2, server), and the request path has no
 * pinned_model special case. Reads TD_SOURCE_DIR/src; no fixtures needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"

/* Fails when a .c/.h file of src/<room> contains any of the needles. */
static void expect_room_free_of(const char *room, const char *const *needles, int n) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/src/%s", TD_SOURCE_DIR, room);
  DIR *d = opendir(dir);
  assert_non_null(d);
  int files = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t len = strlen(e->d_name);
    if (len < 3 || (strcmp(e->d_name + len - 2, ".c") && strcmp(e->d_name + len - 2, ".h"))) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    char *text = NULL;
    size_t n_text = 0;
    td_status st = {0};
    assert_int_equal(td_read_file(path, &text, &n_text, &st), TD_OK);
    for (int i = 0; i < n; i++)
      if (strstr(text, needles[i])) fail_msg("src/%s/%s contains %s", room, e->d_name, needles[i]);
    free(text);
    files++;
  }
  closedir(d);
  assert_true(files > 0);
}

static void test_core_calls_up_into_nobody(void **state) {
  (void)state;
  static const char *const up[] = {"#include \"api/", "#include \"grpc/", "#include \"http/",
                                   "#include \"server/", "#include \"v2/"};
  expect_room_free_of("core", up, 5);
}

static void test_api_knows_no_front_end(void **state) {
  (void)state;
  static const char *const fronts[] = {"#include \"grpc/", "#include \"http/", "#include \"server/",
                                       "#include \"v2/", "pinned_model"};
  expect_room_free_of("api", fronts, 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_core_calls_up_into_nobody),
      cmocka_unit_test(test_api_knows_no_front_end),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
