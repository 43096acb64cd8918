/* opscan.c — static op scans of a MetaGraphDef (see opscan.h): a worklist walk over node
 * inputs in the GraphDef and in library functions, entered through call ops and func attrs.
 * Everything here borrows the protos; the scan state lives on the caller's stack. */
#include "model/opscan.h"

#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/mem.h"
#include "util/strmap.h"

typedef struct fn_scope {
  const Tensorflow__FunctionDef *f;
  td_strmap nodes; /* node name → NodeDef */
} fn_scope;

typedef struct work {
  fn_scope *scope; /* NULL = the GraphDef */
  const Tensorflow__NodeDef *nd;
} work;

typedef struct scan {
  td_strmap funcs;       /* function name → FunctionDef */
  td_strmap graph_nodes; /* node name → NodeDef */
  td_strmap scopes;      /* function name → fn_scope (entered functions) */
  td_strmap seen;        /* "<function>/<node>" or "<node>" */
  td_strmap stops;       /* GraphDef node names the walk does not enter (fed) */
  work *stack;
  size_t n, cap;
  int whole_functions;   /* histogram: every node of an entered function, not just reachable ones */
  /* missing ops, in discovery order */
  td_strmap missing;
  char **ops, **nodes;
  size_t nmissing, cap_missing;
} scan;

static const Tensorflow__FunctionDefLibrary *library(const Tensorflow__MetaGraphDef *mg) {
  return mg->graph_def ? mg->graph_def->library : NULL;
}

static void scan_init(scan *s, const Tensorflow__MetaGraphDef *mg) {
  memset(s, 0, sizeof *s);
  td_strmap_init(&s->funcs);
  td_strmap_init(&s->graph_nodes);
  td_strmap_init(&s->scopes);
  td_strmap_init(&s->seen);
  td_strmap_init(&s->stops);
  td_strmap_init(&s->missing);
  const Tensorflow__FunctionDefLibrary *lib = library(mg);
  for (size_t i = 0; lib && i < lib->n_function; i++) {
    const Tensorflow__FunctionDef *f = lib->function[i];
    if (f->signature && f->signature->name) td_strmap_put(&s->funcs, f->signature->name, (void *)f);
  }
  const Tensorflow__GraphDef *gd = mg->graph_def;
  for (size_t i = 0; gd && i < gd->n_node; i++) td_strmap_put(&s->graph_nodes, gd->node[i]->name, gd->node[i]);
}

static void scan_free(scan *s) {
  const char *k;
  void *v;
  for (size_t it = 0; td_strmap_next(&s->scopes, &it, &k, &v);) {
    fn_scope *fs = v;
    td_strmap_release(&fs->nodes);
    free(fs);
  }
  td_strmap_release(&s->funcs);
  td_strmap_release(&s->graph_nodes);
  td_strmap_release(&s->scopes);
  td_strmap_release(&s->seen);
  td_strmap_release(&s->stops);
  td_strmap_release(&s->missing);
  for (size_t i = 0; i < s->nmissing; i++) {
    free(s->ops[i]);
    free(s->nodes[i]);
  }
  free(s->ops);
  free(s->nodes);
  free(s->stack);
}

static void push(scan *s, fn_scope *scope, const Tensorflow__NodeDef *nd) {
  if (!nd) return;
  TD_GROW(s->stack, s->cap, s->n + 1);
  s->stack[s->n++] = (work){scope, nd};
}

/* Length of the node part of an input / tensor name ("^a", "a:0", "a:out:0" → "a"). */
static const char *node_part(const char *name, size_t *len) {
  if (*name == '^') name++;
  const char *colon = strchr(name, ':');
  *len = colon ? (size_t)(colon - name) : strlen(name);
  return name;
}

/* Enters function `name` once: pushes the nodes its outputs and control outputs need (or all). */
static void enter_function(scan *s, const char *name) {
  const Tensorflow__FunctionDef *f = td_strmap_get(&s->funcs, name);
  if (!f || td_strmap_has(&s->scopes, name)) return;
  fn_scope *fs = td_xcalloc(1, sizeof *fs);
  fs->f = f;
  td_strmap_init(&fs->nodes);
  for (size_t i = 0; i < f->n_node_def; i++) td_strmap_put(&fs->nodes, f->node_def[i]->name, f->node_def[i]);
  td_strmap_put(&s->scopes, name, fs);
  if (s->whole_functions || (!f->n_ret && !f->n_control_ret)) {
    for (size_t i = 0; i < f->n_node_def; i++) push(s, fs, f->node_def[i]);
    return;
  }
  size_t len;
  for (size_t i = 0; i < f->n_ret; i++) {
    const char *n = node_part(f->ret[i]->value, &len);
    push(s, fs, td_strmap_getn(&fs->nodes, n, len));
  }
  for (size_t i = 0; i < f->n_control_ret; i++) {
    const char *n = node_part(f->control_ret[i]->value, &len);
    push(s, fs, td_strmap_getn(&fs->nodes, n, len));
  }
}

static void add_missing(scan *s, const char *op, const char *node) {
  if (td_strmap_has(&s->missing, op)) return;
  td_strmap_put(&s->missing, op, NULL);
  TD_GROW(s->ops, s->cap_missing, s->nmissing + 1);
  s->nodes = td_xrealloc(s->nodes, s->cap_missing * sizeof *s->nodes);
  s->ops[s->nmissing] = td_xstrdup(op);
  s->nodes[s->nmissing] = td_xstrdup(node);
  s->nmissing++;
}

static void visit_attr_funcs(scan *s, const Tensorflow__AttrValue *a) {
  if (!a) return;
  if (a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC && a->func && a->func->name) enter_function(s, a->func->name);
  if (a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && a->list)
    for (size_t i = 0; i < a->list->n_func; i++)
      if (a->list->func[i] && a->list->func[i]->name) enter_function(s, a->list->func[i]->name);
}

/* Visits one node (once): records a missing op, enters called functions, pushes its inputs. */
static void visit(scan *s, fn_scope *scope, const Tensorflow__NodeDef *nd, long *count_out) {
  char *key = scope ? td_xasprintf("%s/%s", scope->f->signature->name, nd->name) : td_xstrdup(nd->name);
  if (td_strmap_has(&s->seen, key)) {
    free(key);
    return;
  }
  td_strmap_put(&s->seen, key, NULL);
  if (count_out) (*count_out)++;
  const char *op = nd->op ? nd->op : "";
  if (!td_op_supported(op) && strcmp(op, "StatefulPartitionedCall") && strcmp(op, "PartitionedCall")) {
    if (td_strmap_has(&s->funcs, op)) enter_function(s, op);
    else add_missing(s, op, key);
  }
  for (size_t i = 0; i < nd->n_attr; i++) visit_attr_funcs(s, nd->attr[i]->value);
  free(key);
  if (s->whole_functions) return;
  for (size_t i = nd->n_input; i-- > 0;) { /* reversed: the stack then visits inputs in order */
    size_t len;
    const char *n = node_part(nd->input[i], &len);
    if (scope) {
      push(s, scope, td_strmap_getn(&scope->nodes, n, len)); /* not a node: a function argument */
    } else if (!td_strmap_getn(&s->stops, n, len) || nd->input[i][0] == '^') {
      push(s, NULL, td_strmap_getn(&s->graph_nodes, n, len));
    }
  }
}

static void drain(scan *s) {
  while (s->n) {
    work w = s->stack[--s->n];
    visit(s, w.scope, w.nd, NULL);
  }
}

struct td_opscan {
  scan s;
};

td_opscan *td_opscan_new(const Tensorflow__MetaGraphDef *mg) {
  td_opscan *o = td_xcalloc(1, sizeof *o);
  scan_init(&o->s, mg);
  return o;
}

void td_opscan_free(td_opscan *o) {
  if (!o) return;
  scan_free(&o->s);
  free(o);
}

void td_opscan_walk(td_opscan *o, const char *const *roots, size_t nroots, const char *const *stops, size_t nstops) {
  scan *s = &o->s;
  size_t len;
  td_strmap_release(&s->stops);
  td_strmap_init(&s->stops);
  td_strmap_release(&s->seen); /* GraphDef nodes may be reached again past other stops; functions stay entered */
  td_strmap_init(&s->seen);
  for (size_t i = 0; i < nstops; i++) {
    const char *n = node_part(stops[i], &len);
    td_strmap_putn(&s->stops, n, len, (void *)1);
  }
  for (size_t i = nroots; i-- > 0;) {
    const char *n = node_part(roots[i], &len);
    push(s, NULL, td_strmap_getn(&s->graph_nodes, n, len));
  }
  drain(s);
}

size_t td_opscan_num_missing(const td_opscan *o) { return o->s.nmissing; }
int td_opscan_is_missing(const td_opscan *o, const char *op) { return td_strmap_has(&o->s.missing, op); }

char *td_opscan_message(const td_opscan *o) {
  const scan *s = &o->s;
  if (!s->nmissing) return NULL;
  size_t cap = 128;
  for (size_t i = 0; i < s->nmissing; i++) cap += strlen(s->ops[i]) + strlen(s->nodes[i]) + 8;
  char *msg = td_xmalloc(cap);
  size_t n = (size_t)snprintf(msg, cap, "Op type not registered ");
  for (size_t i = 0; i < s->nmissing; i++) n += (size_t)snprintf(msg + n, cap - n, "%s'%s'", i ? ", " : "", s->ops[i]);
  n += (size_t)snprintf(msg + n, cap - n, " (needed by node%s ", s->nmissing > 1 ? "s" : "");
  for (size_t i = 0; i < s->nmissing; i++) n += (size_t)snprintf(msg + n, cap - n, "%s'%s'", i ? ", " : "", s->nodes[i]);
  snprintf(msg + n, cap - n, "): tensord has no kernel for %s", s->nmissing > 1 ? "these ops" : "this op");
  return msg;
}

char *td_opscan_missing(const Tensorflow__MetaGraphDef *mg, const char *const *roots, size_t nroots,
                        const char *const *stops, size_t nstops) {
  td_opscan *o = td_opscan_new(mg);
  td_opscan_walk(o, roots, nroots, stops, nstops);
  char *msg = td_opscan_message(o);
  td_opscan_free(o);
  return msg;
}

static int cmp_count(const void *a, const void *b) {
  return strcmp(((const td_op_count *)a)->op, ((const td_op_count *)b)->op);
}

size_t td_opscan_histogram(const Tensorflow__MetaGraphDef *mg, td_op_count **out) {
  scan s;
  scan_init(&s, mg);
  s.whole_functions = 1;
  td_strmap counts; /* op → index + 1 into v */
  td_strmap_init(&counts);
  td_op_count *v = NULL;
  size_t n = 0, cap = 0;
  const Tensorflow__GraphDef *gd = mg->graph_def;
  for (size_t i = 0; gd && i < gd->n_node; i++) push(&s, NULL, gd->node[i]);
  while (s.n) {
    work w = s.stack[--s.n];
    long visited = 0;
    visit(&s, w.scope, w.nd, &visited);
    if (!visited) continue;
    const char *op = w.nd->op ? w.nd->op : "";
    size_t idx = (size_t)(uintptr_t)td_strmap_get(&counts, op);
    if (!idx) {
      TD_GROW(v, cap, n + 1);
      v[n++] = (td_op_count){op, 0};
      idx = n;
      td_strmap_put(&counts, op, (void *)(uintptr_t)idx);
    }
    v[idx - 1].count++;
  }
  td_strmap_release(&counts);
  scan_free(&s);
  if (n) qsort(v, n, sizeof *v, cmp_count);
  *out = v;
  return n;
}
