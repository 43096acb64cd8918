/* callable.c — turns (feeds, fetches, targets) into an execution plan, like TF's
 * Session::MakeCallable, in named passes: resolve_endpoints (feeds/fetches/targets to IR edges;
 * or resolve_function_endpoints for a library function's args/rets), order_nodes (prune to what
 * is needed, stopping at fed tensors, topologically), plan_steps (constant-fold every node whose
 * inputs are all constant — variable reads count as constant once the session is frozen —,
 * fuse epilogues, alias Identity, lay out value slots), build_functions (one sub-callable per
 * function attr of While/If/Case steps, built under the same session lock, so functional ops
 * are never folded: they are TD_OPF_STATEFUL), liveness (when each slot dies). The result is
 * immutable and shared by concurrent runs; a callable owns its sub-callables.
 * A pruned set holding TF1 control flow (Switch/Merge/Enter/...) runs on the dataflow executor
 * (exec_dataflow.c): constants are still folded (control flow ops never are, so nothing
 * downstream of a Switch or Enter folds), but nothing is fused or aliased away. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/opt_rnn.h"
#include "engine/opt_nn_fuse.h"
#include "engine/session.h"
#include "util/mem.h"

enum { UNSEEN, VISITING, DONE, FED /* every output fed: control edges to it are met */ };

typedef struct node_value {
  int kind; /* SRC_SLOT (step output base) or SRC_CONST (const base) or -1 */
  int base;
} node_value;

typedef struct builder {
  td_session *s;
  td_callable *c;
  int depth; /* function nesting: 0 = a top-level callable */
  node_value *nv; /* per IR node: where its outputs live */
  unsigned char *mark;
  int *order;
  int norder;
  int *back; /* NextIteration nodes behind visited Merges, still to visit */
  int nback;
  size_t back_cap;
} builder;

static int feed_index(const td_callable *c, td_edge e) {
  for (int i = 0; i < c->nfeeds; i++)
    if (c->feeds[i].node == e.node && c->feeds[i].index == e.index) return i;
  return -1;
}

/* A while loop's back edge (Merge <- NextIteration): ordered after the Merge, not before. */
static int is_back_edge(const td_graph *g, const td_node *n, int i) {
  return !strcmp(n->op, "Merge") && !strcmp(g->nodes[n->inputs[i].node]->op, "NextIteration");
}

static td_code visit(builder *b, int id, td_status *st) {
  if (b->mark[id] == DONE || b->mark[id] == FED) return TD_OK;
  const td_graph *g = b->s->g;
  const td_node *n = g->nodes[id];
  if (n->ninputs < 0) return td_status_set(st, TD_INVALID_ARGUMENT, "node '%s' could not be imported", n->name);
  if (b->mark[id] == VISITING)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Graph has a cycle through node '%s'", n->name);
  b->mark[id] = VISITING;
  for (int i = 0; i < n->ninputs; i++)
    if (feed_index(b->c, n->inputs[i]) < 0 && !is_back_edge(g, n, i)) TD_TRY(visit(b, n->inputs[i].node, st));
  for (int i = 0; i < n->nctrl; i++) TD_TRY(visit(b, n->ctrl[i], st));
  b->mark[id] = DONE;
  b->order[b->norder++] = id;
  for (int i = 0; i < n->ninputs; i++) /* the loop body: visited once the current walk is done */
    if (feed_index(b->c, n->inputs[i]) < 0 && is_back_edge(g, n, i)) {
      TD_GROW(b->back, b->back_cap, (size_t)b->nback + 1);
      b->back[b->nback++] = n->inputs[i].node;
    }
  return TD_OK;
}

/* Visits id, then the loop bodies behind the back edges it reached (which may reach more). */
static td_code visit_root(builder *b, int id, td_status *st) {
  TD_TRY(visit(b, id, st));
  while (b->nback > 0) TD_TRY(visit(b, b->back[--b->nback], st));
  return TD_OK;
}

static int foldable(const td_session *s, const td_node *n, const node_value *nv, const td_callable *c) {
  int flags = n->def->flags;
  if ((flags & TD_OPF_STATEFUL) && !(s->frozen && (flags & TD_OPF_READS_VAR))) return 0;
  if (flags & TD_OPF_WRITES_VAR) return 0;
  for (int i = 0; i < n->ninputs; i++)
    if (feed_index(c, n->inputs[i]) >= 0 || nv[n->inputs[i].node].kind != SRC_CONST) return 0;
  for (int i = 0; i < n->nctrl; i++)
    if (nv[n->ctrl[i]].kind != SRC_CONST) return 0;
  return 1;
}

/* Identity-like nodes whose output is their input's value (not a TF1 reference, which an
 * Identity dereferences). */
static int is_alias(const td_graph *g, const td_node *n) {
  static const char *const ops[] = {"Identity", "StopGradient", "Snapshot", "PreventGradient"};
  int match = 0;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) match |= !strcmp(n->op, ops[i]);
  if (!match || n->ninputs != 1) return 0;
  const td_node *src = g->nodes[n->inputs[0].node];
  return !(src->def->flags & TD_OPF_REF_INPUTS) && strncmp(src->op, "Variable", 8);
}

static td_src source_of(const td_callable *c, const node_value *nv, td_edge e) {
  int f = feed_index(c, e);
  if (f >= 0) return (td_src){SRC_FEED, f};
  return (td_src){nv[e.node].kind, nv[e.node].base + e.index};
}

/* Evaluates a foldable node now; on kernel failure leaves it to run (and fail) at run time. */
static int try_fold(builder *b, const td_node *n, node_value *nv) {
  td_callable *c = b->c;
  const td_tensor **in = td_xcalloc((size_t)n->ninputs + 1, sizeof *in);
  for (int i = 0; i < n->ninputs; i++) in[i] = &c->consts[nv[n->inputs[i].node].base + n->inputs[i].index];
  td_tensor *out = td_xcalloc((size_t)n->noutputs + 1, sizeof *out);
  td_step step = {.node = n, .nin = n->ninputs, .nout = n->noutputs};
  step.out_used = td_xcalloc((size_t)n->noutputs + 1, 1);
  memset(step.out_used, 1, (size_t)n->noutputs);
  pthread_mutex_init(&step.state_mu, NULL);
  td_status st;
  td_code code = td_exec_fold(b->s, &step, in, out, &st);
  td_step_release_state(&step);
  free(step.out_used);
  free(in);
  if (code != TD_OK) {
    for (int i = 0; i < n->noutputs; i++) td_tensor_release(&out[i]);
    free(out);
    return 0;
  }
  c->consts = td_xrealloc(c->consts, (size_t)(c->nconsts + n->noutputs + 1) * sizeof *c->consts);
  nv[n->id] = (node_value){SRC_CONST, c->nconsts};
  for (int i = 0; i < n->noutputs; i++) c->consts[c->nconsts++] = out[i];
  free(out);
  return 1;
}

/* Per node: how many values read its outputs (fetches and consumer nodes; an alias node
 * such as Identity counts as its own consumers), for deciding what may be fused. */
static int *count_uses(const builder *b, const td_edge *fetches, int nfetches) {
  const td_graph *g = b->s->g;
  int *uses = td_xcalloc(g->nnodes + 1, sizeof *uses);
  for (int i = 0; i < nfetches; i++) uses[fetches[i].node]++;
  for (int k = b->norder - 1; k >= 0; k--) { /* consumers come later in topological order */
    const td_node *n = g->nodes[b->order[k]];
    int weight = is_alias(g, n) ? uses[n->id] : 1;
    for (int i = 0; i < n->ninputs; i++)
      if (feed_index(b->c, n->inputs[i]) < 0) uses[n->inputs[i].node] += weight;
  }
  return uses;
}

static int float_nhwc(const td_node *n) {
  if (td_attr_type(n, "T", TD_DT_FLOAT) != TD_DT_FLOAT) return 0;
  size_t len;
  const char *fmt = td_attr_str(n, "data_format", &len);
  return !fmt || (len == 4 && !memcmp(fmt, "NHWC", 4));
}

/* Folds a BiasAdd (constant bias) or Relu/Relu6 into the step producing its input when that
 * step's op is TD_OPF_FUSABLE and nothing else reads the intermediate value; the node then
 * aliases the producer's output. Returns 1 if n was fused. */
static int try_fuse(td_callable *c, node_value *nv, const int *uses, const int *slot_step, const td_node *n) {
  int bias = !strcmp(n->op, "BiasAdd"), relu = !strcmp(n->op, "Relu"), relu6 = !strcmp(n->op, "Relu6");
  if (!(bias || relu || relu6) || n->ninputs < 1 || !float_nhwc(n)) return 0;
  td_edge in = n->inputs[0];
  if (feed_index(c, in) >= 0 || nv[in.node].kind != SRC_SLOT || in.index != 0 || uses[in.node] != 1) return 0;
  int slot = nv[in.node].base;
  td_step *p = &c->steps[slot_step[slot]];
  if (slot != p->out_base || !(p->node->def->flags & TD_OPF_FUSABLE) || !float_nhwc(p->node)) return 0;
  if (uses[p->node->id] != 1 || p->fused_act != TD_ACT_NONE) return 0;
  if (bias) {
    if (n->ninputs != 2 || p->fused_bias >= 0) return 0;
    td_src b = source_of(c, nv, n->inputs[1]);
    if (b.kind != SRC_CONST || c->consts[b.idx].shape.rank != 1) return 0;
    p->fused_bias = b.idx;
  } else {
    p->fused_act = relu ? TD_ACT_RELU : TD_ACT_RELU6;
  }
  nv[n->id] = nv[in.node];
  return 1;
}

/* ---- pass 1: endpoints (feeds, fetches, targets as IR edges / node ids) ---- */

typedef struct endpoints {
  int nfetch, ntargets;
  td_edge *fetch;
  int *targets;
} endpoints;

static void endpoints_free(endpoints *ep) {
  free(ep->fetch);
  free(ep->targets);
}

/* Top-level tensor and node names (imports what they need). */
static td_code resolve_endpoints(builder *b, const char *const *feeds, int nfeeds, const char *const *fetches,
                                 int nfetches, const char *const *targets, int ntargets, endpoints *ep,
                                 td_status *st) {
  td_callable *c = b->c;
  td_graph *g = b->s->g;
  c->nfeeds = nfeeds;
  c->feeds = td_xcalloc((size_t)nfeeds + 1, sizeof *c->feeds);
  c->feed_dtypes = td_xcalloc((size_t)nfeeds + 1, sizeof *c->feed_dtypes);
  ep->nfetch = nfetches;
  ep->ntargets = ntargets;
  ep->fetch = td_xcalloc((size_t)nfetches + 1, sizeof *ep->fetch);
  ep->targets = td_xcalloc((size_t)ntargets + 1, sizeof *ep->targets);
  for (int i = 0; i < nfeeds; i++) {
    TD_TRY(td_graph_resolve_tensor(g, feeds[i], &c->feeds[i], st));
    const td_node *fn = g->nodes[c->feeds[i].node];
    if (!strcmp(fn->op, "Placeholder") || !strcmp(fn->op, "PlaceholderWithDefault"))
      c->feed_dtypes[i] = td_attr_type(fn, "dtype", TD_DT_INVALID);
  }
  for (int i = 0; i < nfetches; i++) TD_TRY(td_graph_resolve_tensor(g, fetches[i], &ep->fetch[i], st));
  for (int i = 0; i < ntargets; i++) TD_TRY(td_graph_resolve_target(g, targets[i], &ep->targets[i], st));
  return TD_OK;
}

/* A library function instantiated under `prefix`: feeds = its args, fetches = its rets, one
 * target = the node that waits for its control_ret and state-writing nodes. */
static td_code resolve_function_endpoints(builder *b, const td_node *owner, const char *fn_name,
                                          const Tensorflow__NameAttrList *attrs, const char *prefix, endpoints *ep,
                                          td_status *st) {
  td_callable *c = b->c;
  td_function_inst fi;
  TD_TRY(td_graph_instantiate(b->s->g, fn_name, attrs, owner, prefix, &fi, st));
  c->nfeeds = fi.nargs;
  c->feeds = fi.args;
  c->feed_dtypes = fi.arg_dtypes;
  ep->nfetch = fi.nrets;
  ep->fetch = fi.rets;
  ep->ntargets = 1;
  ep->targets = td_xcalloc(1, sizeof *ep->targets);
  ep->targets[0] = fi.done;
  return TD_OK;
}

/* ---- pass 2: order (prune to what the endpoints need, topologically) ---- */

static td_code order_nodes(builder *b, const endpoints *ep, td_status *st) {
  const td_graph *g = b->s->g;
  b->order = td_xcalloc(g->nnodes + 1, sizeof *b->order);
  for (int i = 0; i < b->c->nfeeds; i++) { /* a node whose every output is fed is replaced by its feeds */
    const td_node *n = g->nodes[b->c->feeds[i].node];
    int fed = 0;
    for (int o = 0; o < n->noutputs; o++) fed += feed_index(b->c, (td_edge){n->id, o}) >= 0;
    if (fed == n->noutputs) b->mark[n->id] = FED;
  }
  for (int i = 0; i < ep->nfetch; i++)
    if (feed_index(b->c, ep->fetch[i]) < 0) TD_TRY(visit_root(b, ep->fetch[i].node, st));
  for (int i = 0; i < ep->ntargets; i++) TD_TRY(visit_root(b, ep->targets[i], st));
  return TD_OK;
}

/* ---- pass 3: steps (fold constants, fuse epilogues, alias Identity, drop NoOps) ---- */

static void add_step(builder *b, const td_node *n, int **slot_step, size_t *slot_step_cap) {
  td_callable *c = b->c;
  td_step *sp = &c->steps[c->nsteps++];
  sp->node = n;
  sp->nin = n->ninputs;
  sp->in = td_xcalloc((size_t)n->ninputs + 1, sizeof *sp->in);
  for (int i = 0; i < n->ninputs; i++) sp->in[i] = source_of(c, b->nv, n->inputs[i]);
  sp->out_base = c->nslots;
  sp->nout = n->noutputs;
  sp->out_used = td_xcalloc((size_t)n->noutputs + 1, 1);
  sp->fused_bias = -1;
  pthread_mutex_init(&sp->state_mu, NULL);
  b->nv[n->id] = (node_value){SRC_SLOT, c->nslots};
  TD_GROW(*slot_step, *slot_step_cap, (size_t)(c->nslots + n->noutputs) + 1);
  for (int o = 0; o < n->noutputs; o++) (*slot_step)[c->nslots + o] = c->nsteps - 1;
  c->nslots += n->noutputs;
}

static void plan_steps(builder *b, const endpoints *ep) {
  td_callable *c = b->c;
  const td_graph *g = b->s->g;
  node_value *nv = b->nv;
  int *uses = count_uses(b, ep->fetch, ep->nfetch);
  int *slot_step = NULL;
  size_t slot_step_cap = 0;
  for (int k = 0; k < b->norder; k++) c->dataflow |= td_is_control_flow_op(g->nodes[b->order[k]]->op);
  c->steps = td_xcalloc((size_t)b->norder + 1, sizeof *c->steps);
  for (int k = 0; k < b->norder; k++) {
    const td_node *n = g->nodes[b->order[k]];
    if (foldable(b->s, n, nv, c) && try_fold(b, n, nv)) continue;
    if (c->dataflow) { /* control flow: every other node is a step (exec_dataflow.c) */
      add_step(b, n, &slot_step, &slot_step_cap);
      continue;
    }
    if (try_fuse(c, nv, uses, slot_step, n)) continue;
    if (n->noutputs == 0 && !strcmp(n->op, "NoOp")) { /* ordering only: the step order has it */
      nv[n->id] = (node_value){SRC_SLOT, c->nslots};
      continue;
    }
    if (is_alias(g, n)) { /* Identity of a value: consumers read the input directly */
      td_src src = source_of(c, nv, n->inputs[0]);
      nv[n->id] = (node_value){src.kind, src.idx};
      continue;
    }
    add_step(b, n, &slot_step, &slot_step_cap);
  }
  free(uses);
  free(slot_step);
  for (int k = 0; c->dataflow && k < c->nsteps; k++) /* back edges: their sources are known now */
    for (int i = 0; i < c->steps[k].nin; i++) c->steps[k].in[i] = source_of(c, nv, c->steps[k].node->inputs[i]);
  c->nfetch = ep->nfetch;
  c->fetch = td_xcalloc((size_t)ep->nfetch + 1, sizeof *c->fetch);
  for (int i = 0; i < ep->nfetch; i++) c->fetch[i] = source_of(c, nv, ep->fetch[i]);
}

/* ---- pass 4: functions (sub-callables of While / If / Case bodies) ---- */

static td_code make_function(td_session *s, const td_node *owner, const char *fn_name,
                             const Tensorflow__NameAttrList *attrs, const char *prefix, int depth, td_callable **out,
                             td_status *st);

static void add_function(td_step *sp, const char *attr, int index, td_callable *fc) {
  sp->funcs = td_xrealloc(sp->funcs, (size_t)(sp->nfuncs + 1) * sizeof *sp->funcs);
  sp->funcs[sp->nfuncs++] = (td_step_fn){attr, index, fc};
}

/* One sub-callable per func attr of step sp (and per entry of a list(func) attr). */
static td_code build_step_functions(builder *b, td_step *sp, td_status *st) {
  const td_node *n = sp->node;
  for (size_t a = 0; a < n->nd->n_attr; a++) {
    const char *key = n->nd->attr[a]->key;
    const Tensorflow__AttrValue *v = td_node_attr(n, key);
    if (!v) continue;
    if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_FUNC) {
      char *prefix = td_xasprintf("%s/%s/", n->name, key);
      td_callable *fc = NULL;
      td_code code = make_function(b->s, n, v->func->name, v->func, prefix, b->depth + 1, &fc, st);
      free(prefix);
      if (code != TD_OK) return code;
      add_function(sp, key, 0, fc);
    } else if (v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST) {
      for (size_t i = 0; i < v->list->n_func; i++) {
        char *prefix = td_xasprintf("%s/%s/%zu/", n->name, key, i);
        td_callable *fc = NULL;
        td_code code =
            make_function(b->s, n, v->list->func[i]->name, v->list->func[i], prefix, b->depth + 1, &fc, st);
        free(prefix);
        if (code != TD_OK) return code;
        add_function(sp, key, (int)i, fc);
      }
    }
  }
  return TD_OK;
}

/* For every step of a TD_OPF_FUNCTIONAL op, one sub-callable per func attr (and per entry of a
 * list(func) attr), instantiated under "<node>/<attr>/" ("<node>/<attr>/<i>/" for lists). */
static td_code build_functions(builder *b, td_status *st) {
  td_callable *c = b->c;
  for (int k = 0; k < c->nsteps; k++) {
    td_step *sp = &c->steps[k];
    const td_node *n = sp->node;
    if (!(n->def->flags & TD_OPF_FUNCTIONAL) || !n->nd) continue;
    TD_TRY(build_step_functions(b, sp, st));
  }
  return TD_OK;
}

/* ---- pass 5: liveness (the step after which each slot dies; which outputs are used) ---- */

void td_steps_drop(td_callable *c, const unsigned char *dead) {
  int w = 0;
  for (int k = 0; k < c->nsteps; k++) {
    td_step *sp = &c->steps[k];
    if (dead[k]) {
      free(sp->in);
      free(sp->out_used);
      free(sp->release);
      pthread_mutex_destroy(&sp->state_mu);
      continue;
    }
    if (w != k) {
      c->steps[w] = *sp;
      pthread_mutex_init(&c->steps[w].state_mu, NULL); /* a mutex is not moved by copying */
      pthread_mutex_destroy(&sp->state_mu);
    }
    w++;
  }
  c->nsteps = w;
}

static void liveness(td_callable *c) {
  c->slot_last_use = td_xcalloc((size_t)c->nslots + 1, sizeof *c->slot_last_use);
  c->slot_fetched = td_xcalloc((size_t)c->nslots + 1, sizeof *c->slot_fetched);
  for (int i = 0; i < c->nslots; i++) c->slot_last_use[i] = -1;
  for (int k = 0; k < c->nsteps; k++)
    for (int i = 0; i < c->steps[k].nin; i++)
      if (c->steps[k].in[i].kind == SRC_SLOT) c->slot_last_use[c->steps[k].in[i].idx] = k;
  for (int i = 0; i < c->nfetch; i++)
    if (c->fetch[i].kind == SRC_SLOT) c->slot_fetched[c->fetch[i].idx] = 1;
  c->feed_last_use = td_xcalloc((size_t)c->nfeeds + 1, sizeof *c->feed_last_use);
  for (int i = 0; i < c->nfeeds; i++) c->feed_last_use[i] = -1;
  for (int k = 0; k < c->nsteps; k++)
    for (int i = 0; i < c->steps[k].nin; i++)
      if (c->steps[k].in[i].kind == SRC_FEED) c->feed_last_use[c->steps[k].in[i].idx] = k;
  for (int i = 0; i < c->nfetch; i++)
    if (c->fetch[i].kind == SRC_FEED) c->feed_last_use[c->fetch[i].idx] = c->nsteps;
  for (int k = 0; k < c->nsteps; k++) {
    td_step *sp = &c->steps[k];
    for (int o = 0; o < sp->nout; o++) {
      int slot = sp->out_base + o;
      sp->out_used[o] = c->slot_fetched[slot] || c->slot_last_use[slot] >= 0;
    }
  }
  for (int slot = 0; slot < c->nslots; slot++) {
    if (c->slot_fetched[slot]) continue;
    int k = c->slot_last_use[slot];
    if (k < 0) { /* never read: dies right after its producer */
      for (k = 0; k < c->nsteps; k++)
        if (slot >= c->steps[k].out_base && slot < c->steps[k].out_base + c->steps[k].nout) break;
      if (k == c->nsteps) continue; /* no producer: a step fused away (opt_rnn_fuse.c) */
    }
    td_step *sp = &c->steps[k];
    sp->release = td_xrealloc(sp->release, (size_t)(sp->nrelease + 1) * sizeof *sp->release);
    sp->release[sp->nrelease++] = slot;
  }
}

/* Passes 2-5 once the endpoints are resolved (the graph is complete for this callable). */
static td_code build_from(builder *b, const endpoints *ep, td_status *st) {
  const td_graph *g = b->s->g;
  b->mark = td_xcalloc(g->nnodes + 1, 1);
  b->nv = td_xcalloc(g->nnodes + 1, sizeof *b->nv);
  for (size_t i = 0; i < g->nnodes; i++) b->nv[i].kind = -1;
  TD_TRY(order_nodes(b, ep, st));
  plan_steps(b, ep);
  td_opt_rnn_fuse(b->c); /* a recurrent cell's gates as one step (opt_rnn_fuse.c) */
  td_opt_nn_fuse(b->c); /* Conv2D → MaxPool as one chunked step (opt_nn_fuse.c) */
  TD_TRY(build_functions(b, st));
  liveness(b->c);
  return b->c->dataflow ? td_dataflow_prepare(b->c, st) : TD_OK;
}

static void builder_free(builder *b) {
  free(b->mark);
  free(b->order);
  free(b->back);
  free(b->nv);
}

static td_callable *callable_new(td_session *s) {
  td_callable *c = td_xcalloc(1, sizeof *c);
  c->s = s;
  pthread_mutex_init(&c->plan_mu, NULL);
  return c;
}

td_code td_session_make_callable(td_session *s, const char *const *feeds, int nfeeds, const char *const *fetches,
                                 int nfetches, const char *const *targets, int ntargets, td_callable **out,
                                 td_status *st) {
  *out = NULL;
  td_callable *c = callable_new(s);
  builder b = {.s = s, .c = c};
  endpoints ep = {0};
  pthread_mutex_lock(&s->mu);
  td_code code = resolve_endpoints(&b, feeds, nfeeds, fetches, nfetches, targets, ntargets, &ep, st);
  if (code == TD_OK) code = build_from(&b, &ep, st);
  pthread_mutex_unlock(&s->mu);
  endpoints_free(&ep);
  builder_free(&b);
  if (code != TD_OK) {
    td_callable_free(c);
    return code;
  }
  *out = c;
  return TD_OK;
}

enum { MAX_FUNCTION_DEPTH = 32 };

/* Under s->mu. */
static td_code make_function(td_session *s, const td_node *owner, const char *fn_name,
                             const Tensorflow__NameAttrList *attrs, const char *prefix, int depth, td_callable **out,
                             td_status *st) {
  *out = NULL;
  if (depth > MAX_FUNCTION_DEPTH)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Functions nest more than %d deep at '%s' (a recursive function?)",
                         MAX_FUNCTION_DEPTH, prefix);
  td_callable *c = callable_new(s);
  builder b = {.s = s, .c = c, .depth = depth};
  endpoints ep = {0};
  td_code code = resolve_function_endpoints(&b, owner, fn_name, attrs, prefix, &ep, st);
  if (code == TD_OK) code = build_from(&b, &ep, st);
  endpoints_free(&ep);
  builder_free(&b);
  if (code != TD_OK) {
    td_callable_free(c);
    return code;
  }
  *out = c;
  return TD_OK;
}

td_code td_session_make_function_callable(td_session *s, const char *fn_name, const Tensorflow__NameAttrList *attrs,
                                          td_callable **out, td_status *st) {
  char *prefix = td_xasprintf("__function/%s/", fn_name);
  pthread_mutex_lock(&s->mu);
  td_code code = make_function(s, NULL, fn_name, attrs, prefix, 0, out, st);
  pthread_mutex_unlock(&s->mu);
  free(prefix);
  return code;
}

void td_callable_free(td_callable *c) {
  if (!c) return;
  for (int k = 0; k < c->nsteps; k++) {
    td_step *sp = &c->steps[k];
    td_step_release_state(sp);
    pthread_mutex_destroy(&sp->state_mu);
    for (int f = 0; f < sp->nfuncs; f++) td_callable_free(sp->funcs[f].c);
    free(sp->funcs);
    free(sp->in);
    free(sp->out_used);
    free(sp->release);
  }
  for (int i = 0; i < c->nconsts; i++) td_tensor_release(&c->consts[i]);
  td_exec_free_plans(c);
  td_dataflow_free(c->df);
  pthread_mutex_destroy(&c->plan_mu);
  free(c->consts);
  free(c->steps);
  free(c->feeds);
  free(c->feed_dtypes);
  free(c->fetch);
  free(c->slot_fetched);
  free(c->slot_last_use);
  free(c->feed_last_use);
  free(c);
}

int td_callable_num_steps(const td_callable *c) { return c->nsteps; }
int td_callable_num_feeds(const td_callable *c) { return c->nfeeds; }
int td_callable_num_fetches(const td_callable *c) { return c->nfetch; }

int td_callable_writes_state(const td_callable *c) {
  for (int k = 0; k < c->nsteps; k++) {
    if (c->steps[k].node->def->flags & TD_OPF_WRITES_VAR) return 1;
    for (int f = 0; f < c->steps[k].nfuncs; f++)
      if (td_callable_writes_state(c->steps[k].funcs[f].c)) return 1;
  }
  return 0;
}

void td_callable_dump(const td_callable *c, FILE *f) {
  fprintf(f, "callable: %d feeds, %d steps, %d slots, %d constants, %d fetches\n", c->nfeeds, c->nsteps, c->nslots,
          c->nconsts, c->nfetch);
  static const char *kinds[] = {"slot", "feed", "const"};
  for (int k = 0; k < c->nsteps; k++) {
    const td_step *sp = &c->steps[k];
    fprintf(f, "  %3d %-24s %s (", k, sp->node->op, sp->node->name);
    for (int i = 0; i < sp->nin; i++) fprintf(f, "%s%s %d", i ? ", " : "", kinds[sp->in[i].kind], sp->in[i].idx);
    fprintf(f, ")%s%s\n", sp->fused_bias >= 0 ? " +bias" : "",
            sp->fused_act == TD_ACT_RELU ? " +relu" : sp->fused_act == TD_ACT_RELU6 ? " +relu6" : "");
    for (int fi = 0; fi < sp->nfuncs; fi++) {
      fprintf(f, "      function %s[%d] of %s: ", sp->funcs[fi].attr, sp->funcs[fi].index, sp->node->name);
      td_callable_dump(sp->funcs[fi].c, f);
    }
  }
}
