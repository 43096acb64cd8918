/* tflite_test_util.h — the TFLite unit tests' model files: a temporary directory per cmocka
 * group (tb_setup_tmp / tb_teardown_tmp) and tb_load_model, which writes FlatBuffer bytes as
 * <dir>/m<N>/model.tflite and loads that version directory with prefer_tflite_model.
 * Header-only (static inline), include after <cmocka.h>. Thread affinity: the test thread. */
#ifndef TD_TEST_TFLITE_TEST_UTIL_H
#define TD_TEST_TFLITE_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/model.h"
#include "util/mem.h"

/* The group's directory (set by tb_setup_tmp). */
static inline char *tb_tmp_root(void) {
  static char root[64];
  return root;
}

/* cmocka group setup / teardown: a fresh /tmp/td_tflite_XXXXXX, removed with its contents. */
static inline int tb_setup_tmp(void **state) {
  (void)state;
  strcpy(tb_tmp_root(), "/tmp/td_tflite_XXXXXX");
  return mkdtemp(tb_tmp_root()) ? 0 : -1;
}

static inline int tb_teardown_tmp(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tb_tmp_root());
  return system(cmd) == 0 ? 0 : -1;
}

/* Writes bytes as a new <tmp>/m<N>/model.tflite and loads that directory (td_model_load). */
static inline td_code tb_load_model(const uint8_t *bytes, size_t len, td_model **m, td_status *st) {
  static int counter;
  char *dir = td_xasprintf("%s/m%d", tb_tmp_root(), counter++);
  mkdir(dir, 0755);
  char *path = td_xasprintf("%s/model.tflite", dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(bytes, 1, len, f), len);
  fclose(f);
  td_model_options opt = {.prefer_tflite_model = 1};
  td_code code = td_model_load(dir, NULL, 0, &opt, m, st);
  free(path);
  free(dir);
  return code;
}

#endif
