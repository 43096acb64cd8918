/* ops.c — the op table: every TD_OP row of kernels/<family>.def, parsed once into td_op_defs.
 * Rows are static data; parsing (arg lists, attr defaults) happens on first lookup under
 * pthread_once and the result is immutable afterwards. */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ir.h"
#include "util/mem.h"

#define TD_OP(name, in, out, defaults, flags, fn) td_code fn(td_kctx *ctx);
#include "engine/kernels/state.def"
#include "engine/kernels/math.def"
#include "engine/kernels/nn.def"
#include "engine/kernels/array.def"
#include "engine/kernels/parse.def"
#include "engine/kernels/table.def"
#include "engine/kernels/random.def"
#include "engine/kernels/feature.def"
#include "engine/kernels/image.def"
#include "engine/kernels/control.def"
#include "engine/kernels/functional.def"
#include "engine/kernels/list.def"
#include "engine/kernels/text.def"
#include "engine/kernels/spectral.def"
#undef TD_OP

typedef struct op_row {
  const char *name, *in, *out, *defaults;
  int flags;
  td_kernel_fn fn;
} op_row;

static const op_row op_rows[] = {
#define TD_OP(name, in, out, defaults, flags, fn) {name, in, out, defaults, flags, fn},
#include "engine/kernels/state.def"
#include "engine/kernels/math.def"
#include "engine/kernels/nn.def"
#include "engine/kernels/array.def"
#include "engine/kernels/parse.def"
#include "engine/kernels/table.def"
#include "engine/kernels/random.def"
#include "engine/kernels/feature.def"
#include "engine/kernels/image.def"
#include "engine/kernels/control.def"
#include "engine/kernels/functional.def"
#include "engine/kernels/list.def"
#include "engine/kernels/text.def"
#include "engine/kernels/spectral.def"
#undef TD_OP
};
#define NUM_ROWS (sizeof op_rows / sizeof op_rows[0])

static td_op_def op_defs[NUM_ROWS];
static td_strmap op_index;
static pthread_once_t op_once = PTHREAD_ONCE_INIT;

/* Splits s at top-level commas (not inside [...]) into a heap array of heap strings. */
static int split_top(const char *s, char ***out) {
  int n = 0;
  size_t cap = 0;
  char **v = NULL;
  while (*s) {
    const char *start = s;
    int depth = 0, quoted = 0;
    for (; *s && (depth || quoted || *s != ','); s++) {
      if (*s == '\'') quoted = !quoted;
      else if (!quoted && *s == '[') depth++;
      else if (!quoted && *s == ']') depth--;
    }
    const char *end = s;
    while (start < end && isspace((unsigned char)*start)) start++;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    if (end > start) {
      TD_GROW(v, cap, (size_t)n + 1);
      v[n++] = td_xstrndup(start, (size_t)(end - start));
    }
    if (*s == ',') s++;
  }
  *out = v;
  return n;
}

static td_dtype dtype_from_enum_name(const char *s) {
  for (int dt = 1; dt < TD_DT_REF_OFFSET; dt++)
    if (td_dtype_valid((td_dtype)dt) && !strcmp(td_dtype_enum_name((td_dtype)dt), s)) return (td_dtype)dt;
  return TD_DT_INVALID;
}

static void parse_args(const char *spec, td_arg **out, int *n) {
  char **parts;
  *n = split_top(spec, &parts);
  *out = td_xcalloc((size_t)*n + 1, sizeof **out);
  for (int i = 0; i < *n; i++) {
    td_arg *a = &(*out)[i];
    char *colon = strchr(parts[i], ':');
    if (!colon) abort(); /* malformed table row: a programming error */
    a->name = td_xstrndup(parts[i], (size_t)(colon - parts[i]));
    const char *type = colon + 1;
    const char *star = strchr(type, '*');
    if (star) {
      a->kind = TD_ARG_NCOPY;
      a->number_attr = td_xstrdup(star + 1);
      a->type_attr = td_xstrndup(type, (size_t)(star - type));
      a->type = dtype_from_enum_name(a->type_attr);
    } else if (!strncmp(type, "DT_", 3)) {
      a->kind = TD_ARG_FIXED;
      a->type = dtype_from_enum_name(type);
    } else {
      a->kind = TD_ARG_ATTR;
      a->type_attr = td_xstrdup(type);
    }
    free(parts[i]);
  }
  free(parts);
}

static Tensorflow__AttrValue *parse_default(const char *v) {
  Tensorflow__AttrValue *a = td_xmalloc(sizeof *a);
  tensorflow__attr_value__init(a);
  size_t len = strlen(v);
  if (!strcmp(v, "true") || !strcmp(v, "false")) {
    a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B;
    a->b = !strcmp(v, "true");
  } else if (!strncmp(v, "DT_", 3)) {
    a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
    a->type = (Tensorflow__DataType)dtype_from_enum_name(v);
  } else if (v[0] == '[') {
    Tensorflow__AttrValue__ListValue *l = td_xmalloc(sizeof *l);
    tensorflow__attr_value__list_value__init(l);
    a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
    a->list = l;
    char *inner = td_xstrndup(v + 1, len >= 2 ? len - 2 : 0);
    char **items;
    int n = split_top(inner, &items);
    for (int i = 0; i < n; i++) {
      if (!strncmp(items[i], "DT_", 3)) {
        l->type = td_xrealloc(l->type, (l->n_type + 1) * sizeof *l->type);
        l->type[l->n_type++] = (Tensorflow__DataType)dtype_from_enum_name(items[i]);
      } else if (strchr(items[i], '.')) {
        l->f = td_xrealloc(l->f, (l->n_f + 1) * sizeof *l->f);
        l->f[l->n_f++] = strtof(items[i], NULL);
      } else {
        l->i = td_xrealloc(l->i, (l->n_i + 1) * sizeof *l->i);
        l->i[l->n_i++] = strtoll(items[i], NULL, 10);
      }
      free(items[i]);
    }
    free(items);
    free(inner);
  } else {
    char *end;
    long long iv = strtoll(v, &end, 10);
    if (len && *end == 0) {
      a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
      a->i = iv;
      return a;
    }
    float fv = strtof(v, &end);
    if (len && *end == 0) {
      a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_F;
      a->f = fv;
      return a;
    }
    const char *s = v;
    size_t sl = len;
    if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') s = v + 1, sl = len - 2;
    a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
    a->s.data = (uint8_t *)td_xstrndup(s, sl);
    a->s.len = sl;
  }
  return a;
}

static void build_table(void) {
  td_strmap_init(&op_index);
  for (size_t r = 0; r < NUM_ROWS; r++) {
    const op_row *row = &op_rows[r];
    td_op_def *d = &op_defs[r];
    d->name = row->name;
    d->flags = row->flags;
    d->fn = row->fn;
    parse_args(row->in, &d->in, &d->n_in);
    parse_args(row->out, &d->out, &d->n_out);
    char **defs;
    d->n_defaults = split_top(row->defaults, &defs);
    d->default_names = td_xcalloc((size_t)d->n_defaults + 1, sizeof *d->default_names);
    d->default_values = td_xcalloc((size_t)d->n_defaults + 1, sizeof *d->default_values);
    for (int i = 0; i < d->n_defaults; i++) {
      char *eq = strchr(defs[i], '=');
      if (!eq) abort(); /* malformed table row */
      d->default_names[i] = td_xstrndup(defs[i], (size_t)(eq - defs[i]));
      d->default_values[i] = parse_default(eq + 1);
      free(defs[i]);
    }
    free(defs);
    td_strmap_put(&op_index, row->name, d);
  }
}

const td_op_def *td_op_find(const char *name) {
  pthread_once(&op_once, build_table);
  return td_strmap_get(&op_index, name);
}

int td_op_supported(const char *op_name) { return td_op_find(op_name) != NULL; }

void td_op_foreach(void (*fn)(const char *op_name, void *arg), void *arg) {
  for (size_t r = 0; r < NUM_ROWS; r++) fn(op_rows[r].name, arg);
}

/* Number of tensors one arg stands for on this node. */
static int arg_width(const td_node *n, const td_arg *a, td_status *st) {
  if (a->kind == TD_ARG_FIXED) return 1;
  if (a->kind == TD_ARG_NCOPY) {
    const Tensorflow__AttrValue *v = td_node_attr(n, a->number_attr);
    if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_I || v->i < 0) {
      td_status_set(st, TD_INVALID_ARGUMENT, "node '%s' (%s) lacks int attr '%s'", td_node_name(n), n->op,
                    a->number_attr);
      return -1;
    }
    return (int)v->i;
  }
  const Tensorflow__AttrValue *v = td_node_attr(n, a->type_attr);
  if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST) return (int)v->list->n_type;
  return 1;
}

int td_op_count_args(const td_node *n, const td_arg *args, int nargs, td_status *st) {
  int total = 0;
  for (int i = 0; i < nargs; i++) {
    int w = arg_width(n, &args[i], st);
    if (w < 0) return -1;
    total += w;
  }
  return total;
}

int td_op_output_index(const td_node *n, const char *arg, int idx) {
  int base = 0;
  for (int i = 0; i < n->def->n_out; i++) {
    int w = arg_width(n, &n->def->out[i], NULL);
    if (w < 0) return -1;
    if (!strcmp(n->def->out[i].name, arg)) return idx < w ? base + idx : -1;
    base += w;
  }
  return -1;
}
