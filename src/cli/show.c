/* show.c — `tensord show`, a byte-compatible port of `saved_model_cli show`
 * (TF python/tools/saved_model_cli.py):
 *   --dir D                                  tag-sets
 *   --dir D --tag_set T                      SignatureDef keys of MetaGraphDef T
 *   --dir D --tag_set T --signature_def K    inputs/outputs of signature K
 *   --dir D --all                            everything, incl. ops and TF2 concrete functions
 *   --dir D [--tag_set T] --ops              op histogram, each op marked supported or not
 *                                            (tensord's own; show_ops.c; tag set default serve)
 * Every listing is sorted exactly as Python's sorted() orders str / list-of-str. Flags accept
 * `--flag value` and `--flag=value`. Exit codes: 0 ok, 1 model/lookup error (message on
 * stderr), 2 usage error. Thread affinity: main thread (writes stdout).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/show_internal.h"
#include "model/savedmodel.h"
#include "util/mem.h"
#include "util/strmap.h"

/* ---- small Python-compatible formatting helpers ---- */

void td_show_py_repr(FILE *out, const char *s) {
  char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
  fputc(quote, out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '\\' || *p == (unsigned char)quote)
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p == '\r')
      fputs("\\r", out);
    else if (*p == '\t')
      fputs("\\t", out);
    else if (*p < 0x20 || *p == 0x7f)
      fprintf(out, "\\x%02x", *p);
    else
      fputc(*p, out);
  }
  fputc(quote, out);
}

const char *td_show_dtype_name(int dtype, char *buf, size_t cap) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&tensorflow__data_type__descriptor, dtype);
  if (v) return v->name;
  snprintf(buf, cap, "DT_%d", dtype);
  return buf;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Python list-of-str ordering for two tag lists. */
static int cmp_tag_lists(char *const *a, size_t na, char *const *b, size_t nb) {
  for (size_t i = 0; i < na && i < nb; i++) {
    int c = strcmp(a[i], b[i]);
    if (c) return c;
  }
  return na < nb ? -1 : na > nb;
}

static size_t mg_ntags(const Tensorflow__MetaGraphDef *mg) { return mg->meta_info_def ? mg->meta_info_def->n_tags : 0; }
static char *const *mg_tags(const Tensorflow__MetaGraphDef *mg) { return mg->meta_info_def ? mg->meta_info_def->tags : NULL; }

static int cmp_meta_graphs(const void *a, const void *b) {
  const Tensorflow__MetaGraphDef *x = *(const Tensorflow__MetaGraphDef *const *)a;
  const Tensorflow__MetaGraphDef *y = *(const Tensorflow__MetaGraphDef *const *)b;
  return cmp_tag_lists(mg_tags(x), mg_ntags(x), mg_tags(y), mg_ntags(y));
}

/* The meta graphs in sorted(tag list) order; caller frees the array. */
static const Tensorflow__MetaGraphDef **sorted_meta_graphs(const Tensorflow__SavedModel *sm) {
  const Tensorflow__MetaGraphDef **v = td_xcalloc(sm->n_meta_graphs + 1, sizeof *v);
  for (size_t i = 0; i < sm->n_meta_graphs; i++) v[i] = sm->meta_graphs[i];
  qsort(v, sm->n_meta_graphs, sizeof *v, cmp_meta_graphs);
  return v;
}

static void print_joined(FILE *out, char *const *items, size_t n, const char *sep) {
  for (size_t i = 0; i < n; i++) fprintf(out, "%s%s", i ? sep : "", items[i]);
}

/* Sorted unique keys of a protobuf map (entries with a `key` string); caller frees the array. */
#define SORTED_KEYS(entries, n, out_keys, out_n)                                                  \
  do {                                                                                           \
    char **keys_ = td_xcalloc((n) + 1, sizeof *keys_);                                           \
    for (size_t i_ = 0; i_ < (n); i_++) keys_[i_] = (entries)[i_]->key;                          \
    qsort(keys_, (n), sizeof *keys_, cmp_str);                                                   \
    size_t u_ = 0;                                                                               \
    for (size_t i_ = 0; i_ < (n); i_++)                                                          \
      if (u_ == 0 || strcmp(keys_[u_ - 1], keys_[i_])) keys_[u_++] = keys_[i_];                 \
    (out_keys) = keys_;                                                                          \
    (out_n) = u_;                                                                                \
  } while (0)

/* ---- tensor info / signatures ---- */

static void print_tensor_info(FILE *out, const Tensorflow__TensorInfo *ti, int indent) {
  char buf[32];
  int pad = 2 * indent;
  fprintf(out, "%*s    dtype: %s\n", pad, "", td_show_dtype_name(ti->dtype, buf, sizeof buf));
  const Tensorflow__TensorShapeProto *shape = ti->tensor_shape;
  if (shape && shape->unknown_rank) {
    fprintf(out, "%*s    shape: unknown_rank\n", pad, "");
  } else {
    fprintf(out, "%*s    shape: (", pad, "");
    for (size_t i = 0; shape && i < shape->n_dim; i++)
      fprintf(out, "%s%lld", i ? ", " : "", (long long)shape->dim[i]->size);
    fputs(")\n", out);
  }
  fprintf(out, "%*s    name: %s\n", pad, "", td_tensor_info_name(ti));
}

/* One side (inputs or outputs) of a signature: parallel key / value arrays of a map. */
typedef struct tensor_map {
  const char *label; /* "inputs" / "outputs" */
  size_t n;
  const char **keys;
  const Tensorflow__TensorInfo **values;
} tensor_map;

#define TENSOR_MAP(lbl, entries, count, map)                                                      \
  do {                                                                                           \
    (map).label = (lbl);                                                                         \
    (map).n = (count);                                                                           \
    (map).keys = td_xcalloc((count) + 1, sizeof *(map).keys);                                    \
    (map).values = td_xcalloc((count) + 1, sizeof *(map).values);                                \
    for (size_t i_ = 0; i_ < (count); i_++) {                                                    \
      (map).keys[i_] = (entries)[i_]->key;                                                       \
      (map).values[i_] = (entries)[i_]->value;                                                   \
    }                                                                                            \
  } while (0)

static void print_tensor_map(FILE *out, const tensor_map *m, int indent) {
  char **keys = td_xcalloc(m->n + 1, sizeof *keys);
  if (m->n) memcpy(keys, m->keys, m->n * sizeof *keys);
  qsort(keys, m->n, sizeof *keys, cmp_str);
  for (size_t k = 0; k < m->n; k++) {
    if (k && !strcmp(keys[k - 1], keys[k])) continue; /* duplicate map key: last entry wins */
    const Tensorflow__TensorInfo *ti = NULL;
    for (size_t i = m->n; i-- > 0 && !ti;)
      if (!strcmp(m->keys[i], keys[k])) ti = m->values[i];
    fprintf(out, "%*s  %s['%s'] tensor_info:\n", 2 * indent, "", m->label, keys[k]);
    Tensorflow__TensorInfo empty = TENSORFLOW__TENSOR_INFO__INIT;
    print_tensor_info(out, ti ? ti : &empty, indent + 1);
  }
  free(keys);
}

static void print_signature(FILE *out, const Tensorflow__SignatureDef *sig, int indent) {
  tensor_map in, outs;
  TENSOR_MAP("inputs", sig->inputs, sig->n_inputs, in);
  TENSOR_MAP("outputs", sig->outputs, sig->n_outputs, outs);
  fprintf(out, "%*sThe given SavedModel SignatureDef contains the following input(s):\n", 2 * indent, "");
  print_tensor_map(out, &in, indent);
  fprintf(out, "%*sThe given SavedModel SignatureDef contains the following output(s):\n", 2 * indent, "");
  print_tensor_map(out, &outs, indent);
  fprintf(out, "%*sMethod name is: %s\n", 2 * indent, "", sig->method_name ? sig->method_name : "");
  free(in.keys);
  free(in.values);
  free(outs.keys);
  free(outs.values);
}

/* ---- ops used by a graph (meta_graph.ops_used_by_graph_def) ---- */

static const char *call_target(const Tensorflow__NodeDef *node) {
  for (size_t i = node->n_attr; i-- > 0;)
    if (!strcmp(node->attr[i]->key, "f")) {
      const Tensorflow__AttrValue *v = node->attr[i]->value;
      if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && v->func && v->func->name) return v->func->name;
      return "";
    }
  return "";
}

typedef struct op_walk {
  td_strmap functions; /* name -> FunctionDef */
  td_strmap used;      /* op or function name -> (void*)1 */
  const Tensorflow__FunctionDef **todo;
  size_t ntodo, cap;
} op_walk;

static void mark_used(op_walk *w, const char *op) {
  if (!td_strmap_has(&w->used, op)) {
    const Tensorflow__FunctionDef *f = td_strmap_get(&w->functions, op);
    if (f) {
      TD_GROW(w->todo, w->cap, w->ntodo + 1);
      w->todo[w->ntodo++] = f;
    }
  }
  td_strmap_put(&w->used, op, (void *)1);
}

static void process_node(op_walk *w, const Tensorflow__NodeDef *node) {
  mark_used(w, node->op);
  if (!strcmp(node->op, "PartitionedCall") || !strcmp(node->op, "StatefulPartitionedCall"))
    mark_used(w, call_target(node));
}

static void print_ops(FILE *out, const Tensorflow__MetaGraphDef *mg) {
  op_walk w = {0};
  td_strmap_init(&w.functions);
  td_strmap_init(&w.used);
  const Tensorflow__GraphDef *g = mg->graph_def;
  const Tensorflow__FunctionDefLibrary *lib = g ? g->library : NULL;
  for (size_t i = 0; lib && i < lib->n_function; i++)
    if (lib->function[i]->signature && lib->function[i]->signature->name)
      td_strmap_put(&w.functions, lib->function[i]->signature->name, lib->function[i]);
  for (size_t i = 0; g && i < g->n_node; i++) process_node(&w, g->node[i]);
  while (w.ntodo) {
    const Tensorflow__FunctionDef *f = w.todo[--w.ntodo];
    for (size_t i = 0; i < f->n_node_def; i++) process_node(&w, f->node_def[i]);
  }
  char **ops = td_xcalloc(w.used.count + 1, sizeof *ops);
  size_t nops = 0;
  const char *key;
  void *val;
  for (size_t it = 0; td_strmap_next(&w.used, &it, &key, &val);)
    if (!td_strmap_has(&w.functions, key)) ops[nops++] = (char *)key;
  qsort(ops, nops, sizeof *ops, cmp_str);

  fputs("The MetaGraph with tag set [", out);
  for (size_t i = 0; i < mg_ntags(mg); i++) {
    if (i) fputs(", ", out);
    td_show_py_repr(out, mg_tags(mg)[i]);
  }
  fputs("] contains the following ops: ", out);
  if (nops == 0) fputs("set()", out);
  for (size_t i = 0; i < nops; i++) {
    fputs(i ? ", " : "{", out);
    td_show_py_repr(out, ops[i]);
  }
  fputs(nops ? "}\n" : "\n", out);
  free(ops);
  free(w.todo);
  td_strmap_release(&w.functions);
  td_strmap_release(&w.used);
}

/* ---- the four modes ---- */

static void show_tag_sets(FILE *out, const Tensorflow__SavedModel *sm) {
  const Tensorflow__MetaGraphDef **mgs = sorted_meta_graphs(sm);
  fputs("The given SavedModel contains the following tag-sets:\n", out);
  for (size_t i = 0; i < sm->n_meta_graphs; i++) {
    size_t n = mg_ntags(mgs[i]);
    char **tags = td_xcalloc(n + 1, sizeof *tags);
    if (n) memcpy(tags, mg_tags(mgs[i]), n * sizeof *tags);
    qsort(tags, n, sizeof *tags, cmp_str);
    size_t len = 0;
    for (size_t t = 0; t < n; t++) len += strlen(tags[t]) + 2;
    char *joined = td_xcalloc(len + 1, 1);
    for (size_t t = 0; t < n; t++) {
      if (t) strcat(joined, ", ");
      strcat(joined, tags[t]);
    }
    td_show_py_repr(out, joined);
    fputc('\n', out);
    free(joined);
    free(tags);
  }
  free(mgs);
}

static void show_signature_keys(FILE *out, const Tensorflow__MetaGraphDef *mg) {
  char **keys;
  size_t n;
  SORTED_KEYS(mg->signature_def, mg->n_signature_def, keys, n);
  fputs("The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:\n", out);
  for (size_t i = 0; i < n; i++) fprintf(out, "SignatureDef key: \"%s\"\n", keys[i]);
  free(keys);
}

static void show_all(FILE *out, const Tensorflow__SavedModel *sm) {
  const Tensorflow__MetaGraphDef **mgs = sorted_meta_graphs(sm);
  for (size_t m = 0; m < sm->n_meta_graphs; m++) {
    const Tensorflow__MetaGraphDef *mg = mgs[m];
    fputs("\nMetaGraphDef with tag-set: '", out);
    print_joined(out, mg_tags(mg), mg_ntags(mg), ", ");
    fputs("' contains the following SignatureDefs:\n", out);
    char **keys;
    size_t n;
    SORTED_KEYS(mg->signature_def, mg->n_signature_def, keys, n);
    for (size_t i = 0; i < n; i++) {
      fprintf(out, "\nsignature_def['%s']:\n", keys[i]);
      print_signature(out, td_meta_graph_signature(mg, keys[i]), 1);
    }
    free(keys);
    print_ops(out, mg);
  }
  free(mgs);
  td_show_concrete_functions(out, sm);
}

/* --tag_set "a,b" → MetaGraphDef with tag set {a, b}. */
static int find_meta_graph(const Tensorflow__SavedModel *sm, const char *tag_set,
                           const Tensorflow__MetaGraphDef **mg) {
  char *copy = td_xstrdup(tag_set);
  const char **tags = td_xcalloc(strlen(tag_set) + 2, sizeof *tags);
  int ntags = 0;
  for (char *p = copy, *comma;; p = comma + 1) {
    comma = strchr(p, ',');
    if (comma) *comma = '\0';
    tags[ntags++] = p;
    if (!comma) break;
  }
  td_status st = {0};
  td_code c = td_savedmodel_meta_graph(sm, tags, ntags, mg, &st);
  free(tags);
  free(copy);
  if (c != TD_OK) {
    fprintf(stderr, "MetaGraphDef associated with tag-set ");
    td_show_py_repr(stderr, tag_set);
    fprintf(stderr, " could not be found in SavedModel\n");
    return 0;
  }
  return 1;
}

/* ---- flags ---- */

typedef struct show_flags {
  const char *dir, *tag_set, *signature_def;
  int all, help, ops;
} show_flags;

static const char show_usage[] =
    "usage: tensord show [-h] --dir DIR [--all] [--ops] [--tag_set TAG_SET] [--signature_def SIGNATURE_DEF_KEY]\n";

static const char show_help[] =
    "\nShow information about a SavedModel (like saved_model_cli show).\n\n"
    "options:\n"
    "  -h, --help            show this help message and exit\n"
    "  --dir DIR             directory containing the SavedModel to inspect\n"
    "  --all                 if set, will output all information in given SavedModel\n"
    "  --ops                 op histogram of the tag-set's graph (default serve) and the functions it\n"
    "                        calls, each op marked supported or not by tensord\n"
    "  --tag_set TAG_SET     tag-set of graph in SavedModel to show, separated by ','\n"
    "  --signature_def SIGNATURE_DEF_KEY\n"
    "                        key of SignatureDef to display input(s) and output(s) for\n";

static int usage_error(const char *fmt, const char *arg) {
  fputs(show_usage, stderr);
  fputs("tensord show: error: ", stderr);
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  return 2;
}

/* Returns 0 on success, else the exit code. */
static int parse_flags(int argc, char **argv, show_flags *f) {
  static const struct {
    const char *name;
    size_t offset;
  } value_flags[] = {{"--dir", offsetof(show_flags, dir)},
                     {"--tag_set", offsetof(show_flags, tag_set)},
                     {"--signature_def", offsetof(show_flags, signature_def)}};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--all")) {
      f->all = 1;
      continue;
    }
    if (!strcmp(a, "--ops")) {
      f->ops = 1;
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      f->help = 1;
      continue;
    }
    int matched = 0;
    for (size_t k = 0; k < sizeof value_flags / sizeof value_flags[0] && !matched; k++) {
      size_t n = strlen(value_flags[k].name);
      if (strncmp(a, value_flags[k].name, n) || (a[n] != '\0' && a[n] != '=')) continue;
      const char **slot = (const char **)((char *)f + value_flags[k].offset);
      if (a[n] == '=') {
        *slot = a + n + 1;
      } else if (i + 1 < argc) {
        *slot = argv[++i];
      } else {
        return usage_error("argument %s: expected one argument", value_flags[k].name);
      }
      matched = 1;
    }
    if (!matched) return usage_error("unrecognized arguments: %s", a);
  }
  if (f->help) return 0;
  if (!f->dir) return usage_error("the following arguments are required: %s", "--dir");
  return 0;
}

int td_cli_show(int argc, char **argv) {
  show_flags f = {0};
  int rc = parse_flags(argc, argv, &f);
  if (rc) return rc;
  if (f.help) {
    fputs(show_usage, stdout);
    fputs(show_help, stdout);
    return 0;
  }
  Tensorflow__SavedModel *sm = NULL;
  td_status st = {0};
  if (td_savedmodel_read(f.dir, &sm, &st) != TD_OK) {
    fprintf(stderr, "%s\n", st.msg);
    return 1;
  }
  FILE *out = stdout;
  rc = 0;
  if (f.ops) {
    const Tensorflow__MetaGraphDef *mg;
    if (find_meta_graph(sm, f.tag_set ? f.tag_set : "serve", &mg)) td_show_ops(out, mg);
    else rc = 1;
  } else if (f.all) {
    show_all(out, sm);
  } else if (!f.tag_set) {
    show_tag_sets(out, sm);
  } else {
    const Tensorflow__MetaGraphDef *mg;
    if (!find_meta_graph(sm, f.tag_set, &mg)) {
      rc = 1;
    } else if (!f.signature_def) {
      show_signature_keys(out, mg);
    } else {
      const Tensorflow__SignatureDef *sig = td_meta_graph_signature(mg, f.signature_def);
      if (sig) {
        print_signature(out, sig, 0);
      } else {
        fprintf(stderr, "Could not find signature \"%s\". Please choose from: ", f.signature_def);
        for (size_t i = 0; i < mg->n_signature_def; i++)
          fprintf(stderr, "%s%s", i ? ", " : "", mg->signature_def[i]->key);
        fputc('\n', stderr);
        rc = 1;
      }
    }
  }
  fflush(out);
  td_savedmodel_free(sm);
  return rc;
}
