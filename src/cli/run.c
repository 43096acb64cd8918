/* run.c — `tensord run`, saved_model_cli-compatible: load a SavedModel, feed one signature
 * from --inputs (.npy/.npz files), --input_exprs (Python literals / np.ones-style calls) and
 * --input_examples (lists of dicts → serialized tf.Example), then print each output like
 * saved_model_cli ("Result for output key K:\n<numpy str>") or save it as <outdir>/<key>.npy.
 *
 * Feeds follow TF's session.run rules: numeric values are cast to the signature's dtype
 * (like np.asarray(v, dtype)), the shape must be compatible with the signature's shape.
 * Errors go to stderr as "tensord run: error: ..." and exit 1; usage errors exit 2.
 * Invariants: every tensor in feeds[] is owned or zeroed (dtype INVALID = not provided);
 * all of them, the outputs and the model are released on every path.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/npy.h"
#include "cli/pyrepr.h"
#include "model/model.h"
#include "proto/tf.h"
#include "util/mem.h"

typedef struct run_flags {
  const char *dir, *tag_set, *signature_def, *inputs, *input_exprs, *input_examples, *outdir;
  int overwrite;
} run_flags;

static const struct {
  const char *name;
  size_t offset; /* of the field in run_flags: const char * (or int when is_bool) */
  int is_bool;
  const char *help;
} flag_table[] = {
    {"dir", offsetof(run_flags, dir), 0, "SavedModel directory"},
    {"tag_set", offsetof(run_flags, tag_set), 0, "comma-separated tags of the MetaGraphDef (default: serve)"},
    {"signature_def", offsetof(run_flags, signature_def), 0, "signature key (default: serving_default)"},
    {"inputs", offsetof(run_flags, inputs), 0, "'key=file.npy;key2=file.npz[name]'"},
    {"input_exprs", offsetof(run_flags, input_exprs), 0, "'key=[[1.0],[2.0]];key2=np.ones((2,3))'"},
    {"input_examples", offsetof(run_flags, input_examples), 0, "'key=[{\"x\":[1.0],\"s\":[\"a\"]}]'"},
    {"outdir", offsetof(run_flags, outdir), 0, "write each output to OUTDIR/<key>.npy"},
    {"overwrite", offsetof(run_flags, overwrite), 1, "overwrite existing files in --outdir"},
};
#define N_FLAGS (sizeof flag_table / sizeof flag_table[0])

/* saved_model_cli flags accepted for compatibility and ignored. */
static const char *ignored_flags[] = {"tf_debug", "worker", "init_tpu", "use_tfrt"};

static void usage(FILE *f) {
  fprintf(f, "usage: tensord run --dir DIR [--tag_set T] [--signature_def K] [--inputs ...] "
             "[--input_exprs ...] [--input_examples ...] [--outdir DIR [--overwrite]]\n");
  for (size_t i = 0; i < N_FLAGS; i++) fprintf(f, "  --%-15s %s\n", flag_table[i].name, flag_table[i].help);
}

static int fail(const char *fmt, const char *msg) {
  fprintf(stderr, "tensord run: error: ");
  fprintf(stderr, fmt, msg);
  fprintf(stderr, "\n");
  return 1;
}

static int parse_flags(int argc, char **argv, run_flags *f) {
  memset(f, 0, sizeof *f);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return 0;
    }
    if (strncmp(a, "--", 2)) {
      fprintf(stderr, "tensord run: unexpected argument '%s'\n", a);
      usage(stderr);
      return 2;
    }
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nl = eq ? (size_t)(eq - name) : strlen(name);
    size_t k;
    for (k = 0; k < N_FLAGS; k++)
      if (strlen(flag_table[k].name) == nl && !strncmp(flag_table[k].name, name, nl)) break;
    if (k == N_FLAGS) {
      int ignored = 0;
      for (size_t j = 0; j < sizeof ignored_flags / sizeof ignored_flags[0]; j++)
        if (strlen(ignored_flags[j]) == nl && !strncmp(ignored_flags[j], name, nl)) ignored = 1;
      if (ignored) {
        if (!eq && i + 1 < argc && strncmp(argv[i + 1], "--", 2)) i++;
        continue;
      }
      fprintf(stderr, "tensord run: unknown flag '%s'\n", a);
      usage(stderr);
      return 2;
    }
    if (flag_table[k].is_bool) {
      *(int *)((char *)f + flag_table[k].offset) = !eq || strcmp(eq + 1, "false");
      continue;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val) {
      if (i + 1 >= argc) {
        fprintf(stderr, "tensord run: flag --%s needs a value\n", flag_table[k].name);
        return 2;
      }
      val = argv[++i];
    }
    *(const char **)((char *)f + flag_table[k].offset) = val;
  }
  if (!f->dir) {
    fprintf(stderr, "tensord run: --dir is required\n");
    usage(stderr);
    return 2;
  }
  if (!f->inputs && !f->input_exprs && !f->input_examples) {
    fprintf(stderr, "tensord run: at least one of --inputs, --input_exprs or --input_examples is required\n");
    return 2;
  }
  return -1;
}

/* ---- feeding ---- */

static int find_input(const td_signature *sig, const char *alias) {
  for (int i = 0; i < sig->num_inputs; i++)
    if (!strcmp(sig->inputs[i].alias, alias)) return i;
  return -1;
}

static int is_numeric(td_dtype dt) {
  return dt != TD_DT_STRING && dt != TD_DT_RESOURCE && dt != TD_DT_VARIANT && dt != TD_DT_COMPLEX64 &&
         dt != TD_DT_COMPLEX128 && td_dtype_valid(dt);
}
static int is_integral(td_dtype dt) {
  return is_numeric(dt) && dt != TD_DT_FLOAT && dt != TD_DT_DOUBLE && dt != TD_DT_HALF && dt != TD_DT_BFLOAT16 &&
         dt != TD_DT_BOOL;
}

static char *shape_py(const td_shape *s) {
  char buf[TD_MAX_RANK * 24 + 8] = "(";
  if (s->rank < 0) return td_xstrdup("<unknown>");
  for (int i = 0; i < s->rank; i++) {
    if (s->dim[i] < 0) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s?", i ? ", " : "");
    else snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%lld", i ? ", " : "", (long long)s->dim[i]);
  }
  strcat(buf, s->rank == 1 ? ",)" : ")");
  return td_xstrdup(buf);
}

/* Casts *t to dtype `want` (numeric only, like np.asarray(v, dtype)) and checks the shape.
 * Serialized tf.Examples skip the dtype step: old exports record DT_FLOAT for their string
 * tf_example placeholder, and TF feeds by the graph tensor's dtype, not the SignatureDef's. */
static td_code coerce_feed(const td_sig_tensor *in, td_tensor *t, int cast, td_status *st) {
  td_dtype want = in->dtype;
  if (cast && want != TD_DT_INVALID && want != t->dtype) {
    if (!is_numeric(want) || !is_numeric(t->dtype))
      return td_status_set(st, TD_INVALID_ARGUMENT, "input '%s' (%s) expects dtype %s but was given %s",
                           in->alias, in->tensor_name, td_dtype_name(want), td_dtype_name(t->dtype));
    td_tensor converted;
    TD_TRY(td_tensor_alloc(&converted, want, &t->shape, st));
    int64_t n = td_tensor_num_elements(t);
    for (int64_t i = 0; i < n; i++) {
      if (is_integral(want) && is_integral(t->dtype)) {
        int64_t v = td_tensor_get_int(t, i);
        switch (td_dtype_size(want)) {
          case 1: ((int8_t *)converted.data)[i] = (int8_t)v; break;
          case 2: ((int16_t *)converted.data)[i] = (int16_t)v; break;
          case 4: ((int32_t *)converted.data)[i] = (int32_t)v; break;
          default: ((int64_t *)converted.data)[i] = v; break;
        }
        continue;
      }
      double v = td_tensor_get_double(t, i);
      if (is_integral(want) && (!isfinite(v) || fabs(v) >= 9.2e18)) {
        td_tensor_release(&converted);
        return td_status_set(st, TD_INVALID_ARGUMENT, "input '%s': value %g cannot be converted to %s",
                             in->alias, v, td_dtype_name(want));
      }
      td_tensor_set_double(&converted, i, v);
    }
    td_tensor_release(t);
    *t = converted;
  }
  const td_shape *s = &in->shape;
  int ok = s->rank < 0 || s->rank == t->shape.rank;
  for (int i = 0; ok && s->rank >= 0 && i < s->rank; i++)
    if (s->dim[i] >= 0 && s->dim[i] != t->shape.dim[i]) ok = 0;
  if (!ok) {
    char *have = shape_py(&t->shape), *need = shape_py(s);
    td_status_set(st, TD_INVALID_ARGUMENT, "cannot feed value of shape %s for input '%s' (tensor '%s'), which has shape %s",
                  have, in->alias, in->tensor_name, need);
    free(have);
    free(need);
    return TD_INVALID_ARGUMENT;
  }
  return TD_OK;
}

/* Splits "k=v;k2=v2" (saved_model_cli splits on ';' and the first '='). Calls fn per pair. */
typedef td_code (*pair_fn)(const td_signature *sig, td_tensor *feeds, const char *key, const char *val,
                           td_status *st);

static td_code for_each_pair(const char *flag, const char *spec, const td_signature *sig, td_tensor *feeds,
                             pair_fn fn, int cast, td_status *st) {
  char *copy = td_xstrdup(spec), *save = NULL;
  td_code c = TD_OK;
  for (char *item = strtok_r(copy, ";", &save); item && c == TD_OK; item = strtok_r(NULL, ";", &save)) {
    while (*item == ' ') item++;
    if (!*item) continue;
    char *eq = strchr(item, '=');
    if (!eq) {
      c = td_status_set(st, TD_INVALID_ARGUMENT, "--%s: expected 'key=value', got '%s'", flag, item);
      break;
    }
    *eq = 0;
    char *key = item, *end = eq;
    while (end > key && end[-1] == ' ') *--end = 0;
    int idx = find_input(sig, key);
    if (idx < 0) {
      char keys[512] = "";
      for (int i = 0; i < sig->num_inputs; i++)
        snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", i ? ", " : "", sig->inputs[i].alias);
      c = td_status_set(st, TD_INVALID_ARGUMENT, "--%s: '%s' is not a valid input key for signature '%s' (inputs: %s)",
                        flag, key, sig->key, keys);
      break;
    }
    if (feeds[idx].dtype != TD_DT_INVALID) {
      c = td_status_set(st, TD_INVALID_ARGUMENT, "input key '%s' is given more than once", key);
      break;
    }
    c = fn(sig, feeds, key, eq + 1, st);
    if (c == TD_OK) c = coerce_feed(&sig->inputs[idx], &feeds[idx], cast, st);
    if (c != TD_OK) td_status_prefix(st, "--%s %s", flag, key);
  }
  free(copy);
  return c;
}

static td_code feed_file(const td_signature *sig, td_tensor *feeds, const char *key, const char *val,
                         td_status *st) {
  char *path = td_xstrdup(val), *member = NULL;
  size_t n = strlen(path);
  char *lb = strrchr(path, '[');
  if (n && path[n - 1] == ']' && lb) {
    path[n - 1] = 0;
    *lb = 0;
    member = lb + 1;
  }
  td_code c = td_npy_read_file(path, member, &feeds[find_input(sig, key)], st);
  free(path);
  return c;
}

/* ---- --input_exprs: literal → tensor ---- */

static const struct {
  const char *name;
  td_dtype dtype;
} np_dtypes[] = {
    {"float32", TD_DT_FLOAT}, {"float64", TD_DT_DOUBLE}, {"float", TD_DT_DOUBLE}, {"float16", TD_DT_HALF},
    {"int32", TD_DT_INT32},   {"int64", TD_DT_INT64},    {"int", TD_DT_INT64},    {"int8", TD_DT_INT8},
    {"int16", TD_DT_INT16},   {"uint8", TD_DT_UINT8},    {"uint16", TD_DT_UINT16}, {"bool", TD_DT_BOOL},
    {"bool_", TD_DT_BOOL},    {"object", TD_DT_STRING},  {"bytes_", TD_DT_STRING}, {"str", TD_DT_STRING},
};

static const char *strip_np(const char *name) {
  if (!strncmp(name, "np.", 3)) return name + 3;
  if (!strncmp(name, "numpy.", 6)) return name + 6;
  return name;
}

static td_code dtype_arg(const td_pyval *call, td_dtype *dt, td_status *st) {
  for (size_t i = 0; i < call->n; i++) {
    if (!call->kw[i] || strcmp(call->kw[i], "dtype")) continue;
    const td_pyval *v = call->items[i];
    const char *name = v->kind == TD_PY_NAME ? strip_np(v->s) : v->kind == TD_PY_STR ? v->s : "";
    for (size_t k = 0; k < sizeof np_dtypes / sizeof np_dtypes[0]; k++)
      if (!strcmp(np_dtypes[k].name, name)) {
        *dt = np_dtypes[k].dtype;
        return TD_OK;
      }
    return td_status_set(st, TD_UNIMPLEMENTED, "unsupported dtype '%s'", name);
  }
  return TD_OK;
}

/* Shape of a nested list literal; every sub-list of one level must have the same length. */
static td_code literal_shape(const td_pyval *v, int axis, td_shape *s, td_status *st) {
  if (v->kind != TD_PY_LIST) {
    if (axis < s->rank) return td_status_set(st, TD_INVALID_ARGUMENT, "ragged nested list (inconsistent shape)");
    if (s->rank < 0) s->rank = axis;
    else if (axis != s->rank) return td_status_set(st, TD_INVALID_ARGUMENT, "ragged nested list (inconsistent shape)");
    return TD_OK;
  }
  if (axis >= TD_MAX_RANK) return td_status_set(st, TD_INVALID_ARGUMENT, "nested list deeper than %d", TD_MAX_RANK);
  if (s->rank >= 0 && axis >= s->rank) return td_status_set(st, TD_INVALID_ARGUMENT, "ragged nested list (inconsistent shape)");
  if (s->dim[axis] < 0) s->dim[axis] = (int64_t)v->n;
  else if (s->dim[axis] != (int64_t)v->n) return td_status_set(st, TD_INVALID_ARGUMENT, "ragged nested list (inconsistent shape)");
  if (v->n == 0 && s->rank < 0) s->rank = axis + 1;
  for (size_t i = 0; i < v->n; i++) TD_TRY(literal_shape(v->items[i], axis + 1, s, st));
  return TD_OK;
}

static void literal_leaves(const td_pyval *v, const td_pyval **out, size_t *n) {
  if (v->kind != TD_PY_LIST) {
    out[(*n)++] = v;
    return;
  }
  for (size_t i = 0; i < v->n; i++) literal_leaves(v->items[i], out, n);
}

/* numpy's inferred dtype for leaves (bool < int < float; any string → string). */
static td_dtype infer_dtype(const td_pyval *const *leaves, size_t n) {
  td_dtype dt = TD_DT_BOOL;
  for (size_t i = 0; i < n; i++) {
    td_py_kind k = leaves[i]->kind;
    if (k == TD_PY_STR || k == TD_PY_BYTES) return TD_DT_STRING;
    if (k == TD_PY_FLOAT) dt = TD_DT_DOUBLE;
    else if (k == TD_PY_INT && dt == TD_DT_BOOL) dt = TD_DT_INT64;
  }
  return n ? dt : TD_DT_DOUBLE;
}

static td_code fill_leaves(td_tensor *t, const td_pyval *const *leaves, size_t n, td_status *st) {
  for (size_t i = 0; i < n; i++) {
    const td_pyval *v = leaves[i];
    int is_str = v->kind == TD_PY_STR || v->kind == TD_PY_BYTES;
    if (is_str != (t->dtype == TD_DT_STRING) || v->kind == TD_PY_NONE || v->kind == TD_PY_DICT ||
        v->kind == TD_PY_CALL || v->kind == TD_PY_NAME)
      return td_status_set(st, TD_INVALID_ARGUMENT, "element %zu cannot be converted to %s", i, td_dtype_name(t->dtype));
    if (is_str) td_tensor_set_string(t, (int64_t)i, v->s, v->slen);
    else if (v->kind == TD_PY_FLOAT) td_tensor_set_double(t, (int64_t)i, v->f);
    else if (t->dtype == TD_DT_INT64) td_i64(t)[i] = v->i;
    else td_tensor_set_double(t, (int64_t)i, (double)v->i);
  }
  return TD_OK;
}

static td_code literal_to_tensor(const td_pyval *v, td_tensor *out, td_status *st) {
  td_shape s;
  s.rank = -1;
  for (int i = 0; i < TD_MAX_RANK; i++) s.dim[i] = -1;
  TD_TRY(literal_shape(v, 0, &s, st));
  for (int i = 0; i < s.rank; i++)
    if (s.dim[i] < 0) s.dim[i] = 0;
  int64_t n = td_shape_num_elements(&s);
  const td_pyval **leaves = td_xmalloc((size_t)(n ? n : 1) * sizeof *leaves);
  size_t got = 0;
  literal_leaves(v, leaves, &got);
  /* like np.asarray(literal); coerce_feed() then casts to the signature's dtype */
  td_dtype dt = infer_dtype(leaves, got);
  td_code c = td_tensor_alloc(out, dt, &s, st);
  if (c == TD_OK) c = fill_leaves(out, leaves, got, st);
  free(leaves);
  return c;
}

static td_code shape_from(const td_pyval *v, td_shape *s, td_status *st) {
  if (v->kind == TD_PY_INT) {
    *s = td_shape_vector(v->i);
  } else if (v->kind == TD_PY_LIST && v->n <= TD_MAX_RANK) {
    s->rank = (int)v->n;
    for (size_t i = 0; i < v->n; i++) {
      if (v->items[i]->kind != TD_PY_INT) return td_status_set(st, TD_INVALID_ARGUMENT, "shape must be ints");
      s->dim[i] = v->items[i]->i;
    }
  } else {
    return td_status_set(st, TD_INVALID_ARGUMENT, "bad shape argument");
  }
  for (int i = 0; i < s->rank; i++)
    if (s->dim[i] < 0 || s->dim[i] > (1LL << 31)) return td_status_set(st, TD_INVALID_ARGUMENT, "bad dimension");
  return TD_OK;
}

/* np.ones/zeros/full/array/arange, plus plain literals. */
static td_code expr_to_tensor(const td_pyval *v, td_tensor *out, td_status *st) {
  if (v->kind != TD_PY_CALL) return literal_to_tensor(v, out, st);
  const char *fn = strip_np(v->s);
  size_t npos = 0;
  while (npos < v->n && !v->kw[npos]) npos++;
  td_dtype dt = TD_DT_DOUBLE;
  TD_TRY(dtype_arg(v, &dt, st));
  if (!strcmp(fn, "array") || !strcmp(fn, "asarray")) {
    if (npos != 1) return td_status_set(st, TD_INVALID_ARGUMENT, "np.%s takes one positional argument", fn);
    return literal_to_tensor(v->items[0], out, st);
  }
  td_shape s;
  double fill = 0;
  if (!strcmp(fn, "ones") || !strcmp(fn, "zeros") || !strcmp(fn, "full") || !strcmp(fn, "empty")) {
    size_t need = !strcmp(fn, "full") ? 2 : 1;
    if (npos != need) return td_status_set(st, TD_INVALID_ARGUMENT, "np.%s: expected %zu positional argument(s)", fn, need);
    TD_TRY(shape_from(v->items[0], &s, st));
    if (!strcmp(fn, "ones")) fill = 1;
    if (need == 2) {
      const td_pyval *f = v->items[1];
      if (f->kind != TD_PY_INT && f->kind != TD_PY_FLOAT && f->kind != TD_PY_BOOL)
        return td_status_set(st, TD_INVALID_ARGUMENT, "np.full: fill value must be a number");
      fill = f->kind == TD_PY_FLOAT ? f->f : (double)f->i;
    }
  } else if (!strcmp(fn, "arange")) {
    if (npos != 1 || v->items[0]->kind != TD_PY_INT) return td_status_set(st, TD_INVALID_ARGUMENT, "np.arange(n) expects one int");
    s = td_shape_vector(v->items[0]->i);
    if (s.dim[0] < 0 || s.dim[0] > (1LL << 31)) return td_status_set(st, TD_INVALID_ARGUMENT, "bad np.arange length");
  } else {
    return td_status_set(st, TD_UNIMPLEMENTED, "unsupported function '%s' (supported: np.array, np.ones, np.zeros, "
                         "np.full, np.arange)", v->s);
  }
  if (dt == TD_DT_STRING) return td_status_set(st, TD_INVALID_ARGUMENT, "np.%s cannot make strings", fn);
  TD_TRY(td_tensor_alloc(out, dt, &s, st));
  int64_t n = td_shape_num_elements(&s);
  for (int64_t i = 0; i < n; i++) td_tensor_set_double(out, i, !strcmp(fn, "arange") ? (double)i : fill);
  return TD_OK;
}

static td_code feed_expr(const td_signature *sig, td_tensor *feeds, const char *key, const char *val,
                         td_status *st) {
  td_pyval *v;
  TD_TRY(td_pylit_parse(val, &v, st));
  int idx = find_input(sig, key);
  td_code c = expr_to_tensor(v, &feeds[idx], st);
  td_pyval_free(v);
  return c;
}

/* ---- --input_examples: list of dicts → serialized tf.Example strings ---- */

static td_code build_feature(const char *name, const td_pyval *list, Tensorflow__Feature *f, td_status *st) {
  if (list->kind != TD_PY_LIST || list->n == 0)
    return td_status_set(st, TD_INVALID_ARGUMENT, "feature '%s': value must be a non-empty list", name);
  td_py_kind k = list->items[0]->kind;
  for (size_t i = 0; i < list->n; i++) {
    td_py_kind ki = list->items[i]->kind;
    int num = ki == TD_PY_INT || ki == TD_PY_FLOAT || ki == TD_PY_BOOL, want_num = k == TD_PY_INT || k == TD_PY_FLOAT || k == TD_PY_BOOL;
    int str = ki == TD_PY_STR || ki == TD_PY_BYTES, want_str = k == TD_PY_STR || k == TD_PY_BYTES;
    if (!((num && want_num && !(k == TD_PY_INT && ki == TD_PY_FLOAT)) || (str && want_str)))
      return td_status_set(st, TD_INVALID_ARGUMENT, "feature '%s': element %zu has a different type than the first", name, i);
  }
  if (k == TD_PY_FLOAT) {
    Tensorflow__FloatList *fl = td_xmalloc(sizeof *fl);
    tensorflow__float_list__init(fl);
    fl->n_value = list->n;
    fl->value = td_xmalloc(list->n * sizeof *fl->value);
    for (size_t i = 0; i < list->n; i++)
      fl->value[i] = list->items[i]->kind == TD_PY_FLOAT ? (float)list->items[i]->f : (float)list->items[i]->i;
    f->kind_case = TENSORFLOW__FEATURE__KIND_FLOAT_LIST;
    f->float_list = fl;
  } else if (k == TD_PY_INT || k == TD_PY_BOOL) {
    Tensorflow__Int64List *il = td_xmalloc(sizeof *il);
    tensorflow__int64_list__init(il);
    il->n_value = list->n;
    il->value = td_xmalloc(list->n * sizeof *il->value);
    for (size_t i = 0; i < list->n; i++) il->value[i] = list->items[i]->i;
    f->kind_case = TENSORFLOW__FEATURE__KIND_INT64_LIST;
    f->int64_list = il;
  } else if (k == TD_PY_STR || k == TD_PY_BYTES) {
    Tensorflow__BytesList *bl = td_xmalloc(sizeof *bl);
    tensorflow__bytes_list__init(bl);
    bl->n_value = list->n;
    bl->value = td_xmalloc(list->n * sizeof *bl->value);
    for (size_t i = 0; i < list->n; i++) {
      bl->value[i].data = (uint8_t *)list->items[i]->s;
      bl->value[i].len = list->items[i]->slen;
    }
    f->kind_case = TENSORFLOW__FEATURE__KIND_BYTES_LIST;
    f->bytes_list = bl;
  } else {
    return td_status_set(st, TD_INVALID_ARGUMENT, "feature '%s': unsupported value type", name);
  }
  return TD_OK;
}

/* Frees what build_feature allocated (string bytes belong to the parsed literal). */
static void free_feature(Tensorflow__Feature *f) {
  if (f->kind_case == TENSORFLOW__FEATURE__KIND_FLOAT_LIST) free(f->float_list->value), free(f->float_list);
  if (f->kind_case == TENSORFLOW__FEATURE__KIND_INT64_LIST) free(f->int64_list->value), free(f->int64_list);
  if (f->kind_case == TENSORFLOW__FEATURE__KIND_BYTES_LIST) free(f->bytes_list->value), free(f->bytes_list);
}

static td_code serialize_example(const td_pyval *d, char **bytes, size_t *len, td_status *st) {
  if (d->kind != TD_PY_DICT) return td_status_set(st, TD_INVALID_ARGUMENT, "each example must be a dict");
  size_t nf = d->n / 2;
  Tensorflow__Features__FeatureEntry *entries = td_xcalloc(nf ? nf : 1, sizeof *entries);
  Tensorflow__Features__FeatureEntry **eptr = td_xcalloc(nf ? nf : 1, sizeof *eptr);
  Tensorflow__Feature *feats = td_xcalloc(nf ? nf : 1, sizeof *feats);
  td_code c = TD_OK;
  size_t built = 0;
  for (size_t i = 0; i < nf && c == TD_OK; i++) {
    const td_pyval *k = d->items[2 * i];
    if (k->kind != TD_PY_STR && k->kind != TD_PY_BYTES) {
      c = td_status_set(st, TD_INVALID_ARGUMENT, "feature names must be strings");
      break;
    }
    tensorflow__feature__init(&feats[i]);
    c = build_feature(k->s, d->items[2 * i + 1], &feats[i], st);
    if (c != TD_OK) break;
    built++;
    tensorflow__features__feature_entry__init(&entries[i]);
    entries[i].key = k->s;
    entries[i].value = &feats[i];
    eptr[i] = &entries[i];
  }
  if (c == TD_OK) {
    Tensorflow__Features features;
    Tensorflow__Example ex;
    tensorflow__features__init(&features);
    tensorflow__example__init(&ex);
    features.n_feature = nf;
    features.feature = eptr;
    ex.features = &features;
    *len = tensorflow__example__get_packed_size(&ex);
    *bytes = td_xmalloc(*len ? *len : 1);
    tensorflow__example__pack(&ex, (uint8_t *)*bytes);
  }
  for (size_t i = 0; i < built; i++) free_feature(&feats[i]);
  free(feats);
  free(eptr);
  free(entries);
  return c;
}

static td_code feed_examples(const td_signature *sig, td_tensor *feeds, const char *key, const char *val,
                             td_status *st) {
  td_pyval *v;
  TD_TRY(td_pylit_parse(val, &v, st));
  td_code c = TD_OK;
  if (v->kind != TD_PY_LIST) c = td_status_set(st, TD_INVALID_ARGUMENT, "expected a list of dicts");
  td_tensor *t = &feeds[find_input(sig, key)];
  td_shape s = td_shape_vector((int64_t)v->n);
  if (c == TD_OK) c = td_tensor_alloc(t, TD_DT_STRING, &s, st);
  for (size_t i = 0; c == TD_OK && i < v->n; i++) {
    char *bytes = NULL;
    size_t len = 0;
    c = serialize_example(v->items[i], &bytes, &len, st);
    if (c != TD_OK) break;
    td_tensor_set_string(t, (int64_t)i, bytes, len);
    free(bytes);
  }
  td_pyval_free(v);
  return c;
}

/* ---- outputs ---- */

static int mkdir_p(const char *dir) {
  char *p = td_xstrdup(dir);
  for (char *q = p + 1; *q; q++) {
    if (*q != '/') continue;
    *q = 0;
    if (mkdir(p, 0777) && errno != EEXIST) return free(p), -1;
    *q = '/';
  }
  int r = mkdir(p, 0777) && errno != EEXIST ? -1 : 0;
  free(p);
  return r;
}

static td_code emit_outputs(const run_flags *f, const td_signature *sig, const td_tensor *outs, td_status *st) {
  if (f->outdir && mkdir_p(f->outdir))
    return td_status_set(st, TD_PERMISSION_DENIED, "cannot create --outdir %s: %s", f->outdir, strerror(errno));
  for (int j = 0; j < sig->num_outputs; j++) {
    const char *alias = sig->outputs[j].alias;
    if (f->outdir) {
      char *path = td_xasprintf("%s/%s.npy", f->outdir, alias);
      td_code c = td_npy_write_file(path, &outs[j], f->overwrite, st);
      if (c == TD_OK) printf("Output %s is saved to %s\n", alias, path);
      free(path);
      TD_TRY(c);
    } else {
      char *text = td_pyrepr_array(&outs[j]);
      printf("Result for output key %s:\n%s\n", alias, text);
      free(text);
    }
  }
  return TD_OK;
}

/* ---- main ---- */

static int split_tags(const char *spec, char *buf, size_t bufsize, const char **tags, int max) {
  snprintf(buf, bufsize, "%s", spec);
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ') t++;
    if (*t) tags[n++] = t;
  }
  return n;
}

int td_cli_run(int argc, char **argv) {
  run_flags f;
  int rc = parse_flags(argc, argv, &f);
  if (rc >= 0) return rc;
  char tagbuf[1024];
  const char *tags[32];
  int ntags = split_tags(f.tag_set ? f.tag_set : "serve", tagbuf, sizeof tagbuf, tags, 32);
  const char *sig_key = f.signature_def ? f.signature_def : "serving_default";

  td_status st = {0};
  td_model *m = NULL;
  if (td_model_load(f.dir, tags, ntags, NULL, &m, &st) != TD_OK)
    return fail("cannot load SavedModel: %s", st.msg);
  const td_signature *sig = td_model_find_signature(m, sig_key);
  if (!sig) {
    char keys[512] = "";
    for (int i = 0; i < td_model_num_signatures(m); i++)
      snprintf(keys + strlen(keys), sizeof keys - strlen(keys), "%s%s", i ? ", " : "", td_model_signature(m, i)->key);
    td_status_set(&st, TD_NOT_FOUND, "no signature '%s' in the MetaGraphDef (available: %s)", sig_key, keys);
    td_model_free(m);
    return fail("%s", st.msg);
  }
  td_tensor *feeds = td_xcalloc((size_t)(sig->num_inputs ? sig->num_inputs : 1), sizeof *feeds);
  td_tensor *outs = td_xcalloc((size_t)(sig->num_outputs ? sig->num_outputs : 1), sizeof *outs);
  td_code c = TD_OK;
  if (f.inputs) c = for_each_pair("inputs", f.inputs, sig, feeds, feed_file, 1, &st);
  if (c == TD_OK && f.input_exprs) c = for_each_pair("input_exprs", f.input_exprs, sig, feeds, feed_expr, 1, &st);
  if (c == TD_OK && f.input_examples)
    c = for_each_pair("input_examples", f.input_examples, sig, feeds, feed_examples, 0, &st);
  if (c == TD_OK) {
    c = td_model_run(m, sig, feeds, outs, &st);
    if (c != TD_OK) td_status_prefix(&st, "running signature '%s'", sig->key);
  }
  if (c == TD_OK) c = emit_outputs(&f, sig, outs, &st);
  for (int i = 0; i < sig->num_inputs; i++) td_tensor_release(&feeds[i]);
  for (int j = 0; j < sig->num_outputs; j++) td_tensor_release(&outs[j]);
  free(feeds);
  free(outs);
  td_model_free(m);
  fflush(stdout);
  if (c != TD_OK) return fail("%s", st.msg);
  return 0;
}
