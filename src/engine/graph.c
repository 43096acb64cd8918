/* graph.c — lazy import of a GraphDef + FunctionDef library into the flat IR.
 *
 * Nodes are imported on demand, starting from the tensors and targets a callable needs.
 * A call (StatefulPartitionedCall / PartitionedCall / an op named after a library function)
 * never becomes a node: it instantiates a child scope whose arguments are bound to the
 * call's resolved inputs, and a reference to output k resolves to whatever the function's
 * ret[k] resolves to inside that scope. Using a call as a target or control dependency
 * yields one synthetic NoOp that waits for the function's outputs, its control_ret nodes and
 * its state-writing nodes. Invariants: every node id in an edge exists and is fully built;
 * names are unique ("<call>/<node>" inside functions). Mutation is serialized by the session.
 * td_graph_instantiate makes a library function a root scope of its own (While/If/Case bodies
 * run as sub-callables): its args are synthetic Placeholder nodes "<prefix><arg>" to be fed,
 * its attr placeholders bind to a synthetic call site holding the NameAttrList's attrs, and
 * instances are memoized by prefix, so building the same body twice reuses its nodes.
 * The one legal cycle is a TF1 while loop: a Merge's input from a NextIteration (a back edge)
 * is left open ({-1,-1}) while importing and closed when the outermost resolve returns
 * (close_back_edges), so the loop body can refer back to the Switch/Merge that led to it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ir.h"
#include "util/mem.h"

enum { BUILDING = -1, BROKEN = -2 };

static td_scope *scope_new(td_graph *g, const td_scope *parent, const char *prefix,
                           const Tensorflow__FunctionDef *fn, const Tensorflow__NodeDef *call_site) {
  td_scope *s = td_xcalloc(1, sizeof *s);
  s->parent = parent;
  s->prefix = td_xstrdup(prefix);
  s->fn = fn;
  s->call_site = call_site;
  td_strmap_init(&s->defs);
  td_strmap_init(&s->args);
  td_strmap_init(&s->calls);
  if (fn) {
    for (size_t i = 0; i < fn->n_node_def; i++) td_strmap_put(&s->defs, fn->node_def[i]->name, fn->node_def[i]);
    const Tensorflow__OpDef *sig = fn->signature;
    for (size_t i = 0; sig && i < sig->n_input_arg; i++)
      td_strmap_put(&s->args, sig->input_arg[i]->name, (void *)(uintptr_t)(i + 1));
  }
  TD_GROW(g->scopes, g->scopes_cap, g->nscopes + 1);
  g->scopes[g->nscopes++] = s;
  return s;
}

static void scope_free(td_scope *s) {
  if (s->own_call_site) {
    for (size_t i = 0; i < s->own_call_site->n_attr; i++) free(s->own_call_site->attr[i]);
    free(s->own_call_site->attr);
    free(s->own_call_site);
  }
  td_strmap_release(&s->defs);
  td_strmap_release(&s->args);
  td_strmap_release(&s->calls);
  free(s->arg_edges);
  free(s->prefix);
  free(s);
}

td_code td_graph_import(const Tensorflow__GraphDef *gd, td_graph **out, td_status *st) {
  td_graph *g = td_xcalloc(1, sizeof *g);
  g->gd = gd;
  td_strmap_init(&g->functions);
  td_strmap_init(&g->by_name);
  td_strmap_init(&g->instances);
  if (gd->library)
    for (size_t i = 0; i < gd->library->n_function; i++) {
      const Tensorflow__FunctionDef *f = gd->library->function[i];
      if (f->signature && f->signature->name) td_strmap_put(&g->functions, f->signature->name, (void *)f);
    }
  g->top = scope_new(g, NULL, "", NULL, NULL);
  for (size_t i = 0; i < gd->n_node; i++) {
    const Tensorflow__NodeDef *nd = gd->node[i];
    if (td_strmap_has(&g->top->defs, nd->name)) {
      td_graph_free(g);
      return td_status_set(st, TD_INVALID_ARGUMENT, "Duplicate node name in graph: '%s'", nd->name);
    }
    td_strmap_put(&g->top->defs, nd->name, (void *)nd);
  }
  *out = g;
  return TD_OK;
}

void td_graph_free(td_graph *g) {
  if (!g) return;
  for (size_t i = 0; i < g->nnodes; i++) {
    td_node *n = g->nodes[i];
    free(n->name);
    free(n->inputs);
    free(n->ctrl);
    free(n);
  }
  free(g->nodes);
  for (size_t i = 0; i < g->nscopes; i++) scope_free(g->scopes[i]);
  free(g->scopes);
  td_strmap_release(&g->functions);
  td_strmap_release(&g->by_name);
  td_strmap_release(&g->instances);
  free(g);
}

/* The function a NodeDef calls, or NULL if it is an ordinary op. */
static const Tensorflow__FunctionDef *called_function(const td_graph *g, const Tensorflow__NodeDef *nd) {
  if (!strcmp(nd->op, "StatefulPartitionedCall") || !strcmp(nd->op, "PartitionedCall")) {
    for (size_t i = 0; i < nd->n_attr; i++)
      if (!strcmp(nd->attr[i]->key, "f") && nd->attr[i]->value->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC)
        return td_strmap_get(&g->functions, nd->attr[i]->value->func->name);
    return NULL;
  }
  if (td_op_find(nd->op)) return NULL;
  return td_strmap_get(&g->functions, nd->op);
}

static int is_call_op(const Tensorflow__NodeDef *nd) {
  return !strcmp(nd->op, "StatefulPartitionedCall") || !strcmp(nd->op, "PartitionedCall");
}

static td_node *add_node(td_graph *g, const char *full, const char *op, const td_op_def *def,
                         const Tensorflow__NodeDef *nd, const td_scope *s) {
  td_node *n = td_xcalloc(1, sizeof *n);
  n->id = (int)g->nnodes;
  n->name = td_xstrdup(full);
  n->op = op;
  n->def = def;
  n->nd = nd;
  n->scope = s;
  n->ninputs = BUILDING;
  TD_GROW(g->nodes, g->nodes_cap, g->nnodes + 1);
  g->nodes[g->nnodes++] = n;
  return n;
}

static td_code resolve_input(td_graph *g, td_scope *s, const char *input, td_edge *out, td_status *st);
static td_code resolve_target(td_graph *g, td_scope *s, const char *name, int *id, td_status *st);

/* 1 if data input `input` of nd is a TF1 while-loop back edge (Merge <- NextIteration): such an
 * edge closes a cycle, so it is resolved after the import that reached the Merge. */
static int is_back_edge(const td_scope *s, const Tensorflow__NodeDef *nd, const char *input) {
  if (strcmp(nd->op, "Merge") || input[0] == '^') return 0;
  const char *colon = strchr(input, ':');
  char *name = colon ? td_xstrndup(input, (size_t)(colon - input)) : td_xstrdup(input);
  const Tensorflow__NodeDef *src = td_strmap_get(&s->defs, name);
  free(name);
  return src && !strcmp(src->op, "NextIteration");
}

/* Looks up (importing if needed) `name` in scope s: either an IR node (*id) or a call (*call). */
static td_code get_node(td_graph *g, td_scope *s, const char *name, int *id, td_scope **call, td_status *st) {
  *id = -1;
  *call = td_strmap_get(&s->calls, name);
  if (*call) return TD_OK;
  char *full = td_xasprintf("%s%s", s->prefix, name);
  uintptr_t memo = (uintptr_t)td_strmap_get(&g->by_name, full);
  if (memo) {
    td_node *n = g->nodes[memo - 1];
    free(full);
    if (n->ninputs == BUILDING)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Graph has a cycle through node '%s' (only while-loop back edges NextIteration -> Merge may form cycles)", n->name);
    if (n->ninputs == BROKEN)
      return td_status_set(st, TD_INVALID_ARGUMENT, "node '%s' could not be imported", n->name);
    *id = n->id;
    return TD_OK;
  }
  const Tensorflow__NodeDef *nd = td_strmap_get(&s->defs, name);
  if (!nd) {
    td_status_set(st, TD_INVALID_ARGUMENT, "Node '%s' not found%s%s", name, s->fn ? " in function " : " in graph",
                  s->fn ? s->fn->signature->name : "");
    free(full);
    return st ? st->code : TD_INVALID_ARGUMENT;
  }
  const Tensorflow__FunctionDef *fn = called_function(g, nd);
  if (fn) { /* instantiate the call: bind its data inputs */
    td_scope *cs = scope_new(g, s, "", fn, nd);
    free(cs->prefix);
    cs->prefix = td_xasprintf("%s/", full);
    free(full);
    cs->arg_edges = td_xcalloc(nd->n_input + 1, sizeof *cs->arg_edges);
    for (size_t i = 0; i < nd->n_input; i++) {
      if (nd->input[i][0] == '^') continue;
      TD_TRY(resolve_input(g, s, nd->input[i], &cs->arg_edges[cs->nargs], st));
      cs->nargs++;
    }
    size_t want = fn->signature ? fn->signature->n_input_arg : 0;
    if ((size_t)cs->nargs != want)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Call node '%s' passes %d inputs but function %s takes %zu",
                           nd->name, cs->nargs, fn->signature->name, want);
    td_strmap_put(&s->calls, name, cs);
    *call = cs;
    return TD_OK;
  }
  if (is_call_op(nd)) {
    free(full);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Node '%s' calls a function missing from the graph's library", nd->name);
  }
  const td_op_def *def = td_op_find(nd->op);
  if (!def) {
    td_status_set(st, TD_UNIMPLEMENTED,
                  "Op type not registered '%s' (needed by node '%s'): tensord has no kernel for this op",
                  nd->op, full);
    free(full);
    return TD_UNIMPLEMENTED;
  }
  td_node *n = add_node(g, full, nd->op, def, nd, s);
  td_strmap_put(&g->by_name, full, (void *)(uintptr_t)(n->id + 1));
  free(full);
  td_edge *inputs = td_xcalloc(nd->n_input + 1, sizeof *inputs);
  int *ctrl = td_xcalloc(nd->n_input + 1, sizeof *ctrl);
  int ni = 0, nc = 0;
  td_code code = TD_OK;
  for (size_t i = 0; i < nd->n_input && code == TD_OK; i++) {
    if (nd->input[i][0] == '^')
      code = resolve_target(g, s, nd->input[i] + 1, &ctrl[nc++], st);
    else if (is_back_edge(s, nd, nd->input[i]))
      inputs[ni++] = (td_edge){-1, -1}; /* closed by close_back_edges once the import returns */
    else
      code = resolve_input(g, s, nd->input[i], &inputs[ni++], st);
  }
  int nout = code == TD_OK ? td_op_count_args(n, def->out, def->n_out, st) : -1;
  if (code == TD_OK && nout >= 0) { /* kernels index their inputs by the op's signature */
    td_status ignored;
    int want = td_op_count_args(n, def->in, def->n_in, &ignored);
    if (want >= 0 && want != ni) {
      code = td_status_set(st, TD_INVALID_ARGUMENT,
                           "NodeDef expected %d inputs for op %s but %d are specified; NodeDef: {{node %s}}", want,
                           nd->op, ni, nd->name);
    }
  }
  if (code != TD_OK || nout < 0) {
    free(inputs);
    free(ctrl);
    n->ninputs = BROKEN;
    return code != TD_OK ? code : TD_INVALID_ARGUMENT;
  }
  n->inputs = inputs;
  n->ctrl = ctrl;
  n->nctrl = nc;
  n->noutputs = nout;
  n->ninputs = ni;
  *id = n->id;
  return TD_OK;
}

/* Output k of an instantiated call = its function's ret for output_arg[k]. */
static td_code call_output(td_graph *g, td_scope *cs, int k, td_edge *out, td_status *st) {
  const Tensorflow__OpDef *sig = cs->fn->signature;
  if (k < 0 || (size_t)k >= sig->n_output_arg)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Function %s has no output %d", sig->name, k);
  const char *arg = sig->output_arg[k]->name;
  for (size_t i = 0; i < cs->fn->n_ret; i++)
    if (!strcmp(cs->fn->ret[i]->key, arg)) return resolve_input(g, cs, cs->fn->ret[i]->value, out, st);
  return td_status_set(st, TD_INVALID_ARGUMENT, "Function %s has no ret for output '%s'", sig->name, arg);
}

static int parse_index(const char *s, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < 0 || v > 1 << 20) return 0;
  *out = (int)v;
  return 1;
}

static td_code resolve_input(td_graph *g, td_scope *s, const char *input, td_edge *out, td_status *st) {
  if (s->fn) {
    uintptr_t arg = (uintptr_t)td_strmap_get(&s->args, input);
    if (arg) {
      *out = s->arg_edges[arg - 1];
      return TD_OK;
    }
  }
  const char *c1 = strchr(input, ':');
  char *node = c1 ? td_xstrndup(input, (size_t)(c1 - input)) : td_xstrdup(input);
  int id;
  td_scope *call;
  td_code code = get_node(g, s, node, &id, &call, st);
  free(node);
  TD_TRY(code);
  int idx = 0;
  const char *arg = NULL;
  char *argbuf = NULL;
  if (c1) {
    const char *c2 = strchr(c1 + 1, ':');
    if (s->fn && (c2 || !parse_index(c1 + 1, &idx))) { /* "node:out_arg[:i]" */
      argbuf = c2 ? td_xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)) : td_xstrdup(c1 + 1);
      arg = argbuf;
      if (c2 && !parse_index(c2 + 1, &idx)) idx = -1;
    } else if (!parse_index(c1 + 1, &idx)) {
      idx = -1;
    }
  }
  if (idx < 0) {
    free(argbuf);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Malformed tensor name '%s'", input);
  }
  if (call) {
    int k = idx;
    if (arg && strcmp(arg, "output")) { /* direct call: output arg by name */
      const Tensorflow__OpDef *sig = call->fn->signature;
      k = -1;
      for (size_t i = 0; i < sig->n_output_arg; i++)
        if (!strcmp(sig->output_arg[i]->name, arg)) k = (int)i + idx;
    }
    free(argbuf);
    return call_output(g, call, k, out, st);
  }
  td_node *n = g->nodes[id];
  int flat = arg ? td_op_output_index(n, arg, idx) : idx;
  free(argbuf);
  if (flat < 0 || flat >= n->noutputs)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Tensor '%s' does not exist: node '%s' (%s) has %d outputs",
                         input, n->name, n->op, n->noutputs);
  *out = (td_edge){id, flat};
  return TD_OK;
}

/* A synthetic NoOp that completes when call `cs` has done everything it does. */
static td_code call_done_node(td_graph *g, td_scope *cs, int *id, td_status *st) {
  char *full = td_xasprintf("%s__call_done", cs->prefix);
  uintptr_t memo = (uintptr_t)td_strmap_get(&g->by_name, full);
  if (memo) {
    free(full);
    *id = (int)memo - 1;
    return TD_OK;
  }
  const Tensorflow__FunctionDef *fn = cs->fn;
  size_t cap = fn->signature->n_output_arg + fn->n_control_ret + fn->n_node_def + 1;
  int *ctrl = td_xcalloc(cap, sizeof *ctrl);
  int nc = 0;
  td_code code = TD_OK;
  for (size_t k = 0; k < fn->signature->n_output_arg && code == TD_OK; k++) {
    td_edge e;
    code = call_output(g, cs, (int)k, &e, st);
    if (code == TD_OK) ctrl[nc++] = e.node;
  }
  for (size_t i = 0; i < fn->n_control_ret && code == TD_OK; i++)
    code = resolve_target(g, cs, fn->control_ret[i]->value, &ctrl[nc++], st);
  for (size_t i = 0; i < fn->n_node_def && code == TD_OK; i++) { /* side effects run too */
    const Tensorflow__NodeDef *nd = fn->node_def[i];
    const td_op_def *def = td_op_find(nd->op);
    int writes = def && (def->flags & TD_OPF_WRITES_VAR);
    if (writes || (!def && !strcmp(nd->op, "StatefulPartitionedCall")))
      code = resolve_target(g, cs, nd->name, &ctrl[nc++], st);
  }
  if (code != TD_OK) {
    free(full);
    free(ctrl);
    return code;
  }
  td_node *n = add_node(g, full, "NoOp", td_op_find("NoOp"), NULL, cs);
  td_strmap_put(&g->by_name, full, (void *)(uintptr_t)(n->id + 1));
  free(full);
  n->ctrl = ctrl;
  n->nctrl = nc;
  n->inputs = td_xcalloc(1, sizeof *n->inputs);
  n->ninputs = 0;
  *id = n->id;
  return TD_OK;
}

static td_code resolve_target(td_graph *g, td_scope *s, const char *name, int *id, td_status *st) {
  td_scope *call;
  TD_TRY(get_node(g, s, name, id, &call, st));
  return call ? call_done_node(g, call, id, st) : TD_OK;
}

/* Resolves the while-loop back edges (Merge <- NextIteration) of Merges imported since node
 * `first`; their bodies may import more Merges, which the growing loop bound covers. After a
 * failure (code != TD_OK) every Merge still open is marked BROKEN instead. */
static td_code close_back_edges(td_graph *g, size_t first, td_code code, td_status *st) {
  for (size_t i = first; i < g->nnodes; i++) {
    td_node *n = g->nodes[i];
    if (n->ninputs <= 0 || !n->nd || strcmp(n->op, "Merge")) continue;
    for (size_t j = 0, k = 0; j < n->nd->n_input && n->ninputs >= 0; j++) {
      if (n->nd->input[j][0] == '^') continue;
      if (n->inputs[k].node < 0) {
        if (code == TD_OK) code = resolve_input(g, (td_scope *)n->scope, n->nd->input[j], &n->inputs[k], st);
        if (code != TD_OK) n->ninputs = BROKEN;
      }
      k++;
    }
  }
  return code;
}

td_code td_graph_resolve_tensor(td_graph *g, const char *name, td_edge *out, td_status *st) {
  size_t first = g->nnodes;
  return close_back_edges(g, first, resolve_input(g, g->top, name, out, st), st);
}

td_code td_graph_resolve_target(td_graph *g, const char *name, int *node_id, td_status *st) {
  size_t first = g->nnodes;
  size_t len = strlen(name);
  if (len > 2 && name[len - 2] == ':' && name[len - 1] == '0') { /* tolerate "op:0" targets */
    char *base = td_xstrndup(name, len - 2);
    td_code c = resolve_target(g, g->top, base, node_id, st);
    free(base);
    return close_back_edges(g, first, c, st);
  }
  return close_back_edges(g, first, resolve_target(g, g->top, name, node_id, st), st);
}

/* ---- function instances (While / If / Case bodies) ---- */

/* A NodeDef standing for the caller of an instance: it holds the NameAttrList's attrs, so attr
 * placeholders inside the function bind to them (attrs.c). Entries borrow keys and values. */
static Tensorflow__NodeDef *instance_call_site(const Tensorflow__NameAttrList *attrs, const char *name) {
  Tensorflow__NodeDef *nd = td_xcalloc(1, sizeof *nd);
  tensorflow__node_def__init(nd);
  nd->name = (char *)name;
  size_t n = attrs ? attrs->n_attr : 0;
  nd->attr = td_xcalloc(n + 1, sizeof *nd->attr);
  for (size_t i = 0; i < n; i++) {
    Tensorflow__NodeDef__AttrEntry *e = td_xcalloc(1, sizeof *e);
    tensorflow__node_def__attr_entry__init(e);
    e->key = attrs->attr[i]->key;
    e->value = attrs->attr[i]->value;
    nd->attr[nd->n_attr++] = e;
  }
  return nd;
}

static td_dtype arg_dtype(const Tensorflow__OpDef__ArgDef *a, const Tensorflow__NodeDef *call_site) {
  if (a->type != TENSORFLOW__DATA_TYPE__DT_INVALID) return (td_dtype)a->type;
  if (!a->type_attr || !a->type_attr[0]) return TD_DT_INVALID;
  for (size_t i = 0; i < call_site->n_attr; i++)
    if (!strcmp(call_site->attr[i]->key, a->type_attr) &&
        call_site->attr[i]->value->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE)
      return (td_dtype)call_site->attr[i]->value->type;
  return TD_DT_INVALID;
}

static td_code instantiate(td_graph *g, const char *fn_name, const Tensorflow__NameAttrList *attrs,
                           const td_node *owner, const char *prefix, td_function_inst *out, td_status *st) {
  memset(out, 0, sizeof *out);
  td_scope *cs = td_strmap_get(&g->instances, prefix);
  if (!cs) {
    const Tensorflow__FunctionDef *fn = td_strmap_get(&g->functions, fn_name);
    if (!fn || !fn->signature)
      return td_status_set(st, TD_NOT_FOUND, "Function %s is not defined in the graph's library%s%s", fn_name,
                           owner ? " (needed by node " : "", owner ? owner->name : "");
    cs = scope_new(g, owner ? owner->scope : NULL, prefix, fn, NULL);
    cs->own_call_site = instance_call_site(attrs, cs->prefix);
    cs->call_site = cs->own_call_site;
    const Tensorflow__OpDef *sig = fn->signature;
    cs->nargs = (int)sig->n_input_arg;
    cs->arg_edges = td_xcalloc(sig->n_input_arg + 1, sizeof *cs->arg_edges);
    const td_op_def *ph = td_op_find("Placeholder");
    for (size_t i = 0; i < sig->n_input_arg; i++) {
      char *full = td_xasprintf("%s%s", prefix, sig->input_arg[i]->name);
      uintptr_t memo = (uintptr_t)td_strmap_get(&g->by_name, full);
      if (memo) { /* a name clash would be a malformed library */
        free(full);
        return td_status_set(st, TD_INVALID_ARGUMENT, "Function %s: argument '%s' clashes with a node name",
                             fn_name, sig->input_arg[i]->name);
      }
      td_node *n = add_node(g, full, "Placeholder", ph, NULL, cs);
      td_strmap_put(&g->by_name, full, (void *)(uintptr_t)(n->id + 1));
      free(full);
      n->inputs = td_xcalloc(1, sizeof *n->inputs);
      n->ctrl = td_xcalloc(1, sizeof *n->ctrl);
      n->ninputs = 0;
      n->noutputs = 1;
      cs->arg_edges[i] = (td_edge){n->id, 0};
    }
    td_strmap_put(&g->instances, prefix, cs);
  }
  const Tensorflow__OpDef *sig = cs->fn->signature;
  out->nargs = cs->nargs;
  out->args = td_xcalloc((size_t)cs->nargs + 1, sizeof *out->args);
  out->arg_dtypes = td_xcalloc((size_t)cs->nargs + 1, sizeof *out->arg_dtypes);
  for (int i = 0; i < cs->nargs; i++) {
    out->args[i] = cs->arg_edges[i];
    out->arg_dtypes[i] = arg_dtype(sig->input_arg[i], cs->call_site);
  }
  out->nrets = (int)sig->n_output_arg;
  out->rets = td_xcalloc(sig->n_output_arg + 1, sizeof *out->rets);
  for (int k = 0; k < out->nrets; k++) TD_TRY(call_output(g, cs, k, &out->rets[k], st));
  return call_done_node(g, cs, &out->done, st);
}

td_code td_graph_instantiate(td_graph *g, const char *fn_name, const Tensorflow__NameAttrList *attrs,
                             const td_node *owner, const char *prefix, td_function_inst *out, td_status *st) {
  size_t first = g->nnodes;
  td_code code = close_back_edges(g, first, instantiate(g, fn_name, attrs, owner, prefix, out, st), st);
  if (code != TD_OK) {
    free(out->args);
    free(out->arg_dtypes);
    free(out->rets);
    memset(out, 0, sizeof *out);
  }
  return code;
}
