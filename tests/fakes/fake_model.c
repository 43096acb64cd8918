/* fake_model.c — the generated half_plus_<add> SavedModel (see fake_model.h). The graph is
 * written as text format so it reads like the model it describes; ParseExample (V1) feeds the
 * classify/regress signatures exactly as TF's estimator exports do. */
#define _XOPEN_SOURCE 700
#include "fakes/fake_model.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

#define FLOAT_CONST(name, value)                                                                           \
  "  node { name: \"" name "\" op: \"Const\"\n"                                                            \
  "    attr { key: \"dtype\" value { type: DT_FLOAT } }\n"                                                 \
  "    attr { key: \"value\" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: " value " } } } }\n"

#define BINARY(name, op, a, b)                                                                             \
  "  node { name: \"" name "\" op: \"" op "\" input: \"" a "\" input: \"" b "\"\n"                         \
  "    attr { key: \"T\" value { type: DT_FLOAT } } }\n"

#define SIG_TENSOR(alias, tensor, dtype, dims)                                                             \
  "{ key: \"" alias "\" value { name: \"" tensor "\" dtype: " dtype " tensor_shape { " dims " } } }"

/* %s: x's Placeholder shape, the offset constant's value, x's and y's signature shapes */
static const char model_fmt[] =
    "saved_model_schema_version: 1\n"
    "meta_graphs {\n"
    " meta_info_def { tags: \"serve\" }\n"
    " graph_def {\n"
    "  node { name: \"x\" op: \"Placeholder\"\n"
    "    attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
    "    attr { key: \"shape\" value { shape { %s } } } }\n"
    "  node { name: \"tf_example\" op: \"Placeholder\"\n"
    "    attr { key: \"dtype\" value { type: DT_STRING } }\n"
    "    attr { key: \"shape\" value { shape { dim { size: -1 } } } } }\n"
    FLOAT_CONST("a", "0.5")
    "  node { name: \"b\" op: \"Const\"\n"
    "    attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
    "    attr { key: \"value\" value { tensor { dtype: DT_FLOAT tensor_shape {} float_val: %s } } } }\n"
    "  node { name: \"names\" op: \"Const\"\n"
    "    attr { key: \"dtype\" value { type: DT_STRING } }\n"
    "    attr { key: \"value\" value { tensor { dtype: DT_STRING tensor_shape { dim { size: 0 } } } } } }\n"
    "  node { name: \"key_x\" op: \"Const\"\n"
    "    attr { key: \"dtype\" value { type: DT_STRING } }\n"
    "    attr { key: \"value\" value { tensor { dtype: DT_STRING tensor_shape {} string_val: \"x\" } } } }\n"
    "  node { name: \"default_x\" op: \"Const\"\n"
    "    attr { key: \"dtype\" value { type: DT_FLOAT } }\n"
    "    attr { key: \"value\" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 0 } } } } } }\n"
    "  node { name: \"parse\" op: \"ParseExample\"\n"
    "    input: \"tf_example\" input: \"names\" input: \"key_x\" input: \"default_x\"\n"
    "    attr { key: \"Nsparse\" value { i: 0 } }\n"
    "    attr { key: \"Ndense\" value { i: 1 } }\n"
    "    attr { key: \"sparse_types\" value { list { } } }\n"
    "    attr { key: \"Tdense\" value { list { type: DT_FLOAT } } }\n"
    "    attr { key: \"dense_shapes\" value { list { shape { dim { size: 1 } } } } } }\n"
    BINARY("mul", "Mul", "x", "a")
    BINARY("y", "AddV2", "mul", "b")
    BINARY("mul_ex", "Mul", "parse", "a")
    BINARY("y_ex", "AddV2", "mul_ex", "b")
    " }\n"
    " signature_def { key: \"serving_default\" value {\n"
    "  inputs " SIG_TENSOR("x", "x:0", "DT_FLOAT", "%s") "\n"
    "  outputs " SIG_TENSOR("y", "y:0", "DT_FLOAT", "%s") "\n"
    "  method_name: \"tensorflow/serving/predict\" } }\n"
    " signature_def { key: \"regress_x_to_y\" value {\n"
    "  inputs " SIG_TENSOR("inputs", "tf_example:0", "DT_STRING", "dim { size: -1 }") "\n"
    "  outputs " SIG_TENSOR("outputs", "y_ex:0", "DT_FLOAT", "dim { size: -1 } dim { size: 1 }") "\n"
    "  method_name: \"tensorflow/serving/regress\" } }\n"
    " signature_def { key: \"classify_x_to_y\" value {\n"
    "  inputs " SIG_TENSOR("inputs", "tf_example:0", "DT_STRING", "dim { size: -1 }") "\n"
    "  outputs " SIG_TENSOR("scores", "y_ex:0", "DT_FLOAT", "dim { size: -1 } dim { size: 1 }") "\n"
    "  method_name: \"tensorflow/serving/classify\" } }\n"
    "}\n";

static int mkdirs(const char *dir) {
  char *p = td_xstrdup(dir);
  for (char *s = p + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      if (mkdir(p, 0755) && errno != EEXIST) {
        free(p);
        return -1;
      }
      *s = '/';
    }
  int rc = mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
  free(p);
  return rc;
}

td_code td_fake_model_write_shape(const char *dir, float add, const char *x_shape, td_status *st) {
  if (mkdirs(dir)) return td_status_set(st, TD_INTERNAL, "mkdir %s: %s", dir, strerror(errno));
  char value[32];
  snprintf(value, sizeof value, "%.9g", (double)add);
  char path[4096];
  snprintf(path, sizeof path, "%s/saved_model.pbtxt", dir);
  FILE *f = fopen(path, "w");
  if (!f) return td_status_set(st, TD_INTERNAL, "open %s: %s", path, strerror(errno));
  fprintf(f, model_fmt, x_shape ? x_shape : "unknown_rank: true", value, x_shape ? x_shape : "dim { size: -1 }",
          x_shape ? x_shape : "dim { size: -1 }");
  if (fclose(f)) return td_status_set(st, TD_INTERNAL, "write %s failed", path);
  return TD_OK;
}

td_code td_fake_model_write(const char *dir, float add, td_status *st) {
  return td_fake_model_write_shape(dir, add, NULL, st);
}

td_code td_fake_model_version(const char *base, const char *name, long long version, td_status *st) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/%s/%lld", base, name, version);
  return td_fake_model_write(dir, (float)version, st);
}

char *td_fake_tempdir(const char *tag) {
  const char *tmp = getenv("TMPDIR");
  char buf[4096];
  snprintf(buf, sizeof buf, "%s/td_%s_XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
  if (!mkdtemp(buf)) return NULL;
  return td_xstrdup(buf);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void td_fake_rmtree(const char *dir) {
  if (dir && *dir) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

td_model *td_fake_model_new(float add, td_status *st) { return td_fake_model_new_shape(add, NULL, st); }

td_model *td_fake_model_new_shape(float add, const char *x_shape, td_status *st) {
  char *dir = td_fake_tempdir("fake_model");
  if (!dir) {
    td_status_set(st, TD_INTERNAL, "mkdtemp: %s", strerror(errno));
    return NULL;
  }
  td_model *m = NULL;
  if (td_fake_model_write_shape(dir, add, x_shape, st) == TD_OK && td_model_load(dir, NULL, 0, NULL, &m, st) != TD_OK) m = NULL;
  td_fake_rmtree(dir);
  free(dir);
  return m;
}

size_t td_fake_example(float x, unsigned char *buf) {
  /* Example{features(1){feature(1){key(1) "x", value(2) Feature{float_list(2) FloatList{value(1) packed}}}}} */
  static const unsigned char head[] = {0x0a, 0x0f, 0x0a, 0x0d, 0x0a, 0x01, 'x', 0x12, 0x08, 0x12, 0x06, 0x0a, 0x04};
  memcpy(buf, head, sizeof head);
  memcpy(buf + sizeof head, &x, 4); /* little-endian hosts only, as the engine */
  return sizeof head + 4;
}
