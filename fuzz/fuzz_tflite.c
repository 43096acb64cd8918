/* fuzz_tflite.c — a corrupted model.tflite dropped into a version directory and loaded with
 * --prefer_tflite_model: the FlatBuffer/FlexBuffer reader, the operator translation and the
 * whole model load (graph import, signatures, callables) must fail with a status, never crash.
 * Seeds (fuzz/corpus/fuzz_tflite/) are small models written by the unit tests' builder
 * (tests/unit/tflite/tflite_builder.h): float ADD+RELU and a uint8 → int8 quantized chain. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

static char g_dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_dir[0]) {
    strcpy(g_dir, "/tmp/td_fuzz_tflite_XXXXXX");
    if (!mkdtemp(g_dir)) abort();
  }
  char path[128];
  snprintf(path, sizeof path, "%s/model.tflite", g_dir);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  td_model_options opt = {.prefer_tflite_model = 1};
  td_model *m = NULL;
  td_status st;
  if (td_model_load(g_dir, NULL, 0, &opt, &m, &st) == TD_OK) td_model_free(m);
  return 0;
}
