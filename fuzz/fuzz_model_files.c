/* fuzz_model_files.c — the files of a model version an operator drops into the model
 * directory, corrupted: saved_model.pb (the whole load: parse, MetaGraph choice, graph import,
 * signatures, init) and the TensorBundle checkpoint (variables.index SSTable + one data shard,
 * every entry read). A corrupt version must fail its load with a status — a crash would take
 * every loaded model down with it.
 *
 * The first input byte picks the file; for the checkpoint the next two bytes give the index
 * length, the rest is the data shard. Files go to a private temporary directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/bundle.h"
#include "model/model.h"

static char g_dir[64];

static void write_file(const char *name, const uint8_t *data, size_t len) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (len && fwrite(data, 1, len, f) != len) abort();
  fclose(f);
}

static void load_savedmodel(const uint8_t *data, size_t len) {
  write_file("saved_model.pb", data, len);
  td_model *m = NULL;
  td_status st;
  if (td_model_load(g_dir, NULL, 0, NULL, &m, &st) == TD_OK) td_model_free(m);
}

static void read_bundle(const uint8_t *data, size_t len) {
  if (len < 2) return;
  size_t index_len = ((size_t)data[0] << 8 | data[1]);
  if (index_len > len - 2) index_len = len - 2;
  write_file("variables.index", data + 2, index_len);
  write_file("variables.data-00000-of-00001", data + 2 + index_len, len - 2 - index_len);
  char prefix[96];
  snprintf(prefix, sizeof prefix, "%s/variables", g_dir);
  td_bundle *b = NULL;
  td_status st;
  if (td_bundle_open(prefix, &b, &st) != TD_OK) return;
  for (int i = 0; i < td_bundle_num_entries(b); i++) {
    td_tensor t;
    if (td_bundle_read(b, td_bundle_key(b, i), &t, &st) == TD_OK) td_tensor_release(&t);
  }
  td_bundle_close(b);
}

static void remove_dir(void) {
  static const char *const files[] = {"saved_model.pb", "variables.index", "variables.data-00000-of-00001"};
  char path[128];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", g_dir, files[i]);
    unlink(path);
  }
  rmdir(g_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_dir[0]) {
    snprintf(g_dir, sizeof g_dir, "/tmp/td_fuzz_model_%d", (int)getpid());
    if (mkdir(g_dir, 0700) != 0 && access(g_dir, W_OK) != 0) abort();
    atexit(remove_dir);
  }
  if (size < 1) return 0;
  if (data[0] & 1) read_bundle(data + 1, size - 1);
  else load_savedmodel(data + 1, size - 1);
  return 0;
}
