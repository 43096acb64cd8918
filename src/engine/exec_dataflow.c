/* exec_dataflow.c — the dynamic executor for TF1 control flow (tf.cond / tf.while_loop graphs:
 * Switch, Merge, Enter, Exit, NextIteration, LoopCond), used instead of exec.c's static step
 * order when a callable's pruned set holds any of these ops (callable.c sets c->dataflow).
 *
 * Model (TF's executor, simplified to one thread): every value is tagged with a frame instance
 * and an iteration. A node instance (step, frame, iteration) is created on its first arriving
 * input and becomes ready when all awaited inputs arrived; ready instances run from a FIFO.
 *  - Dead tensors: Switch sends its data to output 1 (pred true) or 0 and a dead tensor to the
 *    other; a node with any dead input (data or control) is dead: its kernel does not run and
 *    all its outputs are dead. Merge fires on its first live input (outputs value and
 *    value_index) and is dead only when every awaited input is dead.
 *  - Frames: Enter moves a value into the child frame named by frame_name (one instance per
 *    parent frame/iteration), iteration 0; is_constant Enter values reach every iteration.
 *    NextIteration moves to iteration+1 (a dead one is dropped: that is how loops end). Exit
 *    moves a live value to the parent frame; dead Exits are held until the frame completes
 *    (no outstanding node instances or child frames) and are sent only if that Exit never sent
 *    a live value. A loop Merge awaits its forward inputs in iteration 0 and its back edges
 *    (from NextIteration) afterwards.
 * Invariants: the plan (struct td_dataflow) is immutable after td_dataflow_prepare; all run
 * state lives in one `run` and is freed at its end (also on error). A frame running more than
 * td_dataflow_max_iterations iterations fails with RESOURCE_EXHAUSTED instead of hanging.
 * Values are heap tensors (no memory plans); constants folded by callable.c are pre-filled
 * inputs, like feeds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/session.h"
#include "engine/trace.h"
#include "util/mem.h"

int64_t td_dataflow_max_iterations = 10000000;

typedef enum cf_kind { CF_NONE, CF_SWITCH, CF_MERGE, CF_ENTER, CF_EXIT, CF_NEXT, CF_LOOPCOND } cf_kind;

static const struct {
  const char *op;
  cf_kind kind;
} kControlFlowOps[] = {
    {"Switch", CF_SWITCH}, {"Merge", CF_MERGE}, {"Enter", CF_ENTER},
    {"Exit", CF_EXIT},     {"NextIteration", CF_NEXT}, {"LoopCond", CF_LOOPCOND},
};

/* Data inputs each kind needs (Merge: at least one). */
static int arity_ok(cf_kind kind, int nin) {
  static const int want[] = {[CF_SWITCH] = 2, [CF_ENTER] = 1, [CF_EXIT] = 1, [CF_NEXT] = 1, [CF_LOOPCOND] = 1};
  if (kind == CF_NONE) return 1;
  return kind == CF_MERGE ? nin >= 1 : nin == want[kind];
}

static cf_kind kind_of(const char *op) {
  for (size_t i = 0; i < sizeof kControlFlowOps / sizeof kControlFlowOps[0]; i++)
    if (!strcmp(op, kControlFlowOps[i].op)) return kControlFlowOps[i].kind;
  return CF_NONE;
}

int td_is_control_flow_op(const char *op) { return kind_of(op) != CF_NONE; }

/* ---------------------------------------------------------------- the plan */

typedef struct df_edge {
  int dst;   /* consumer step */
  int input; /* its data input index, -1 = control edge */
} df_edge;

typedef struct df_node {
  cf_kind kind;
  int nin;
  unsigned char *feed; /* per data input: 1 = pre-filled from a feed or folded constant */
  unsigned char *back; /* per data input: 1 = loop back edge (Merge <- NextIteration) */
  int wait_fwd;        /* arrivals awaited (non-feed data + control); Merge: forward edges */
  int wait_back;       /* Merge: back edges (+ control) awaited in iterations >= 1 */
  int *out_off;        /* edges of output o: edges[out_off[o] .. out_off[o+1]) */
  df_edge *edges;      /* data edges grouped by output, then control edges */
  int nedges;
  char *frame_name;    /* Enter */
  int is_constant;     /* Enter */
  int fetched;         /* some fetch reads this step */
} df_node;

struct td_dataflow {
  int n;
  df_node *nodes;
  int *fetch_step, *fetch_out; /* per fetch; step -1 = a feed */
};

td_code td_dataflow_prepare(td_callable *c, td_status *st) {
  const td_graph *g = c->s->g;
  struct td_dataflow *df = td_xcalloc(1, sizeof *df);
  c->df = df;
  df->n = c->nsteps;
  df->nodes = td_xcalloc((size_t)df->n + 1, sizeof *df->nodes);
  int *step_of = td_xcalloc(g->nnodes + 1, sizeof *step_of);
  for (size_t i = 0; i < g->nnodes; i++) step_of[i] = -1;
  for (int k = 0; k < df->n; k++) step_of[c->steps[k].node->id] = k;
  int *nout_edges = td_xcalloc((size_t)df->n + 1, sizeof *nout_edges);
  for (int k = 0; k < df->n; k++) {
    td_step *sp = &c->steps[k];
    const td_node *n = sp->node;
    df_node *d = &df->nodes[k];
    memset(sp->out_used, 1, (size_t)sp->nout);
    d->kind = kind_of(n->op);
    d->nin = n->ninputs;
    if (!arity_ok(d->kind, n->ninputs)) {
      free(step_of);
      free(nout_edges);
      return td_status_set(st, TD_INVALID_ARGUMENT, "node '%s' (%s) has %d data inputs", n->name, n->op, n->ninputs);
    }
    d->feed = td_xcalloc((size_t)n->ninputs + 1, 1);
    d->back = td_xcalloc((size_t)n->ninputs + 1, 1);
    for (int i = 0; i < n->ninputs; i++) {
      d->feed[i] = sp->in[i].kind == SRC_FEED || sp->in[i].kind == SRC_CONST; /* pre-filled */
      if (d->feed[i]) continue;
      int p = step_of[n->inputs[i].node];
      if (p < 0) {
        free(step_of);
        free(nout_edges);
        return td_status_set(st, TD_INTERNAL, "input %d of node '%s' is not in the plan", i, n->name);
      }
      d->back[i] = d->kind == CF_MERGE && !strcmp(g->nodes[n->inputs[i].node]->op, "NextIteration");
      if (d->back[i]) d->wait_back++;
      else d->wait_fwd++;
      nout_edges[p]++;
    }
    for (int j = 0; j < n->nctrl; j++) /* a folded (constant) control input is always satisfied */
      if (step_of[n->ctrl[j]] >= 0) {
        nout_edges[step_of[n->ctrl[j]]]++;
        d->wait_fwd++;
        d->wait_back++;
      }
    if (d->kind == CF_ENTER) {
      size_t len = 0;
      const char *name = td_attr_str(n, "frame_name", &len);
      d->frame_name = td_xstrndup(name ? name : "", name ? len : 0);
      d->is_constant = td_attr_bool(n, "is_constant", false);
    }
  }
  for (int k = 0; k < df->n; k++) { /* edge arrays: data edges grouped by output, then control */
    df_node *d = &df->nodes[k];
    int nout = c->steps[k].nout;
    d->edges = td_xcalloc((size_t)nout_edges[k] + 1, sizeof *d->edges);
    d->out_off = td_xcalloc((size_t)nout + 2, sizeof *d->out_off);
  }
  for (int k = 0; k < df->n; k++) { /* count per output */
    const td_node *n = c->steps[k].node;
    for (int i = 0; i < n->ninputs; i++)
      if (!df->nodes[k].feed[i]) df->nodes[step_of[n->inputs[i].node]].out_off[n->inputs[i].index + 1]++;
  }
  for (int k = 0; k < df->n; k++)
    for (int o = 0; o < c->steps[k].nout; o++) df->nodes[k].out_off[o + 1] += df->nodes[k].out_off[o];
  for (int k = 0; k < df->n; k++) {
    const td_node *n = c->steps[k].node;
    for (int i = 0; i < n->ninputs; i++) {
      if (df->nodes[k].feed[i]) continue;
      df_node *p = &df->nodes[step_of[n->inputs[i].node]];
      p->edges[p->nedges++] = (df_edge){k, i}; /* grouped by output below */
    }
  }
  for (int k = 0; k < df->n; k++) { /* order data edges by producer output (stable) */
    df_node *d = &df->nodes[k];
    int ndata = d->nedges, nout = c->steps[k].nout;
    df_edge *sorted = td_xcalloc((size_t)ndata + 1, sizeof *sorted);
    int *fill = td_xcalloc((size_t)nout + 1, sizeof *fill);
    for (int e = 0; e < ndata; e++) {
      const td_node *dst = c->steps[d->edges[e].dst].node;
      int o = dst->inputs[d->edges[e].input].index;
      sorted[d->out_off[o] + fill[o]++] = d->edges[e];
    }
    memcpy(d->edges, sorted, (size_t)ndata * sizeof *sorted);
    free(sorted);
    free(fill);
  }
  for (int k = 0; k < df->n; k++) {
    const td_node *n = c->steps[k].node;
    for (int j = 0; j < n->nctrl; j++) {
      int p = step_of[n->ctrl[j]];
      if (p >= 0) df->nodes[p].edges[df->nodes[p].nedges++] = (df_edge){k, -1};
    }
  }
  df->fetch_step = td_xcalloc((size_t)c->nfetch + 1, sizeof *df->fetch_step);
  df->fetch_out = td_xcalloc((size_t)c->nfetch + 1, sizeof *df->fetch_out);
  for (int f = 0; f < c->nfetch; f++) {
    df->fetch_step[f] = -1;
    if (c->fetch[f].kind != SRC_SLOT) continue;
    for (int k = 0; k < df->n; k++)
      if (c->fetch[f].idx >= c->steps[k].out_base && c->fetch[f].idx < c->steps[k].out_base + c->steps[k].nout) {
        df->fetch_step[f] = k;
        df->fetch_out[f] = c->fetch[f].idx - c->steps[k].out_base;
        df->nodes[k].fetched = 1;
      }
  }
  free(step_of);
  free(nout_edges);
  return TD_OK;
}

void td_dataflow_free(struct td_dataflow *df) {
  if (!df) return;
  for (int k = 0; k < df->n; k++) {
    df_node *d = &df->nodes[k];
    free(d->feed);
    free(d->back);
    free(d->out_off);
    free(d->edges);
    free(d->frame_name);
  }
  free(df->nodes);
  free(df->fetch_step);
  free(df->fetch_out);
  free(df);
}

/* ---------------------------------------------------------------- run state */

typedef struct frame frame;
typedef struct inst inst;

typedef struct iter_state {
  int64_t iter;
  int count;   /* live instances */
  inst **inst; /* per step */
  struct iter_state *next;
} iter_state;

typedef struct const_value {
  int step; /* the constant Enter */
  td_tensor value;
  int dead;
} const_value;

enum { EXIT_DEAD_SEEN = 1, EXIT_LIVE_SENT = 2, EXIT_DEAD_SENT = 4 };

struct frame {
  frame *parent;
  int64_t parent_iter;
  const char *name;
  int64_t started;  /* iterations started (0 .. started-1) */
  int outstanding;  /* live instances + child frames not done */
  int done;
  iter_state *iters;
  const_value *consts;
  int nconsts;
  unsigned char *exit_state; /* per step */
  frame *all_next;
};

struct inst {
  int step;
  frame *f;
  int64_t iter;
  int arrived, ndead, fired, ran, chosen;
  inst *qnext;
  td_tensor *in;
  unsigned char *have; /* per data input: 0 none, 1 live, 2 dead */
};

typedef struct run {
  td_callable *c;
  const struct td_dataflow *df;
  const td_tensor *feeds;
  td_status *st;
  td_code code;
  frame *root, *frames;
  td_strmap frame_by_key;
  inst *qhead, *qtail;
  td_tensor *fetched;
  unsigned char *fetch_state; /* 0 none, 1 live, 2 dead */
  int64_t deadline; /* CLOCK_MONOTONIC ns, 0 = none */
} run;

static frame *frame_new(run *r, frame *parent, int64_t parent_iter, const char *name) {
  frame *f = td_xcalloc(1, sizeof *f);
  f->parent = parent;
  f->parent_iter = parent_iter;
  f->name = name;
  f->started = 1;
  f->exit_state = td_xcalloc((size_t)r->df->n + 1, 1);
  f->all_next = r->frames;
  r->frames = f;
  if (parent) parent->outstanding++;
  return f;
}

static iter_state *iter_get(run *r, frame *f, int64_t iter) {
  for (iter_state *is = f->iters; is; is = is->next)
    if (is->iter == iter) return is;
  iter_state *is = td_xcalloc(1, sizeof *is);
  is->iter = iter;
  is->inst = td_xcalloc((size_t)r->df->n + 1, sizeof *is->inst);
  is->next = f->iters;
  f->iters = is;
  return is;
}

static inst *inst_get(run *r, frame *f, int64_t iter, int step) {
  iter_state *is = iter_get(r, f, iter);
  if (is->inst[step]) return is->inst[step];
  const df_node *d = &r->df->nodes[step];
  inst *p = td_xcalloc(1, sizeof *p + (size_t)d->nin * (sizeof(td_tensor) + 1));
  p->in = (td_tensor *)(p + 1);
  p->have = (unsigned char *)(p->in + d->nin);
  p->step = step;
  p->f = f;
  p->iter = iter;
  p->chosen = -1;
  const td_step *sp = &r->c->steps[step];
  for (int i = 0; i < d->nin; i++)
    if (d->feed[i]) {
      td_src src = sp->in[i];
      p->in[i] = td_tensor_ref(src.kind == SRC_FEED ? &r->feeds[src.idx] : &r->c->consts[src.idx]);
      p->have[i] = 1;
      if (p->chosen < 0) p->chosen = i;
    }
  is->inst[step] = p;
  is->count++;
  if (f->done) { /* new work in a frame thought complete: it owes its parent again */
    f->done = 0;
    if (f->parent) f->parent->outstanding++;
  }
  f->outstanding++;
  return p;
}

static int awaited(const df_node *d, int64_t iter) {
  return d->kind == CF_MERGE && iter > 0 && d->wait_back > 0 ? d->wait_back : d->wait_fwd;
}

static void enqueue(run *r, inst *p) {
  p->fired = 1;
  p->qnext = NULL;
  if (r->qtail) r->qtail->qnext = p;
  else r->qhead = p;
  r->qtail = p;
}

static void frame_done(run *r, frame *f);
static void send(run *r, frame *f, int64_t iter, int step, int out, const td_tensor *v);

/* Frees an instance that ran and has received everything it awaits. */
static void inst_finish(run *r, inst *p) {
  const df_node *d = &r->df->nodes[p->step];
  for (int i = 0; i < d->nin; i++) td_tensor_release(&p->in[i]);
  frame *f = p->f;
  iter_state **link = &f->iters;
  while (*link && (*link)->iter != p->iter) link = &(*link)->next;
  iter_state *is = *link;
  is->inst[p->step] = NULL;
  if (--is->count == 0) {
    *link = is->next;
    free(is->inst);
    free(is);
  }
  free(p);
  if (--f->outstanding == 0 && f->parent) frame_done(r, f);
}

static void check_ready(run *r, inst *p) {
  const df_node *d = &r->df->nodes[p->step];
  int want = awaited(d, p->iter);
  if (!p->fired) {
    if (d->kind == CF_MERGE ? (p->chosen >= 0 || p->arrived >= want) : p->arrived >= want) enqueue(r, p);
  } else if (p->ran && p->arrived >= want) {
    inst_finish(r, p);
  }
}

/* Delivers v (NULL = dead) to data input `input` (-1 = control) of step dst in (f, iter). */
static void deliver(run *r, frame *f, int64_t iter, int dst, int input, const td_tensor *v) {
  inst *p = inst_get(r, f, iter, dst);
  if (input >= 0) {
    if (p->have[input]) {
      if (r->code == TD_OK)
        r->code = td_status_set(r->st, TD_INTERNAL, "node '%s' received input %d twice in one iteration",
                                r->c->steps[dst].node->name, input);
      return;
    }
    p->have[input] = v ? 1 : 2;
    if (v) {
      p->in[input] = td_tensor_ref(v);
      if (p->chosen < 0) p->chosen = input;
    }
  }
  if (!v) p->ndead++;
  p->arrived++;
  check_ready(r, p);
}

static void deliver_edges(run *r, frame *f, int64_t iter, int step, int from, int to, const td_tensor *v) {
  const df_node *d = &r->df->nodes[step];
  for (int e = from; e < to; e++) deliver(r, f, iter, d->edges[e].dst, d->edges[e].input, v);
}

/* Output `out` of `step` arrives in (f, iter): to its consumers and, at top level, the fetches. */
static void send(run *r, frame *f, int64_t iter, int step, int out, const td_tensor *v) {
  const df_node *d = &r->df->nodes[step];
  deliver_edges(r, f, iter, step, d->out_off[out], d->out_off[out + 1], v);
  if (d->fetched && f == r->root && iter == 0)
    for (int i = 0; i < r->c->nfetch; i++)
      if (r->df->fetch_step[i] == step && r->df->fetch_out[i] == out && !r->fetch_state[i]) {
        r->fetch_state[i] = v ? 1 : 2;
        if (v) r->fetched[i] = td_tensor_ref(v);
      }
}

/* Control edges of `step` (after its data outputs). */
static void send_control(run *r, frame *f, int64_t iter, int step, int nout, int dead) {
  static const td_tensor kLive = {0};
  const df_node *d = &r->df->nodes[step];
  deliver_edges(r, f, iter, step, d->out_off[nout], d->nedges, dead ? NULL : &kLive);
}

static void frame_done(run *r, frame *f) {
  f->done = 1;
  for (int k = 0; k < r->df->n; k++) /* a loop that never exited live: its exits are dead */
    if (f->exit_state[k] == EXIT_DEAD_SEEN) {
      f->exit_state[k] |= EXIT_DEAD_SENT;
      send(r, f->parent, f->parent_iter, k, 0, NULL);
      send_control(r, f->parent, f->parent_iter, k, 1, 1);
    }
  frame *parent = f->parent;
  if (--parent->outstanding == 0 && parent->parent) frame_done(r, parent);
}

static frame *child_frame(run *r, frame *f, int64_t iter, const char *name) {
  char *key = td_xasprintf("%p/%lld/%s", (void *)f, (long long)iter, name);
  frame *child = td_strmap_get(&r->frame_by_key, key);
  if (!child) {
    child = frame_new(r, f, iter, name);
    td_strmap_put(&r->frame_by_key, key, child);
  }
  free(key);
  return child;
}

static void send_const(run *r, frame *f, int64_t iter, const const_value *cv) {
  send(r, f, iter, cv->step, 0, cv->dead ? NULL : &cv->value);
  send_control(r, f, iter, cv->step, 1, cv->dead);
}

/* Routes the single output of Enter/Exit/NextIteration (v NULL = dead). */
static void route_frame_op(run *r, inst *p, const td_tensor *v) {
  const df_node *d = &r->df->nodes[p->step];
  frame *f = p->f;
  if (d->kind == CF_ENTER) {
    frame *child = child_frame(r, f, p->iter, d->frame_name);
    if (d->is_constant) {
      child->consts = td_xrealloc(child->consts, (size_t)(child->nconsts + 1) * sizeof *child->consts);
      const_value *cv = &child->consts[child->nconsts++];
      *cv = (const_value){p->step, v ? td_tensor_ref(v) : (td_tensor){0}, !v};
      const_value copy = *cv; /* send may grow consts (nested Enter): do not hold a pointer */
      for (int64_t it = 0; it < child->started; it++) send_const(r, child, it, &copy);
    } else {
      send(r, child, 0, p->step, 0, v);
      send_control(r, child, 0, p->step, 1, !v);
    }
  } else if (d->kind == CF_EXIT) {
    if (!f->parent) {
      r->code = td_status_set(r->st, TD_INVALID_ARGUMENT, "Exit node '%s' is not inside a while loop",
                              r->c->steps[p->step].node->name);
    } else if (!v) {
      f->exit_state[p->step] |= EXIT_DEAD_SEEN;
    } else {
      f->exit_state[p->step] |= EXIT_LIVE_SENT;
      send(r, f->parent, f->parent_iter, p->step, 0, v);
      send_control(r, f->parent, f->parent_iter, p->step, 1, 0);
    }
  } else if (v) { /* NextIteration: a dead value ends the loop */
    int64_t next = p->iter + 1;
    if (next >= td_dataflow_max_iterations) {
      r->code = td_status_set(r->st, TD_RESOURCE_EXHAUSTED,
                              "while loop '%s' ran more than %lld iterations (the guard against endless loops)",
                              f->name ? f->name : "", (long long)td_dataflow_max_iterations);
      return;
    }
    int fresh = next == f->started;
    if (fresh) f->started++;
    send(r, f, next, p->step, 0, v);
    send_control(r, f, next, p->step, 1, 0);
    for (int i = 0; fresh && i < f->nconsts; i++) {
      const_value cv = f->consts[i];
      send_const(r, f, next, &cv);
    }
  }
}

/* Runs one ready instance and sends its outputs. */
static void process(run *r, inst *p) {
  const df_node *d = &r->df->nodes[p->step];
  td_step *sp = &r->c->steps[p->step];
  int dead = p->ndead > 0;
  if (d->kind == CF_MERGE) {
    if (p->chosen >= 0) {
      td_tensor idx;
      td_shape scalar = td_shape_scalar();
      r->code = td_tensor_alloc(&idx, TD_DT_INT32, &scalar, r->st);
      if (r->code != TD_OK) return;
      td_i32(&idx)[0] = p->chosen;
      send(r, p->f, p->iter, p->step, 0, &p->in[p->chosen]);
      send(r, p->f, p->iter, p->step, 1, &idx);
      td_tensor_release(&idx);
    } else {
      send(r, p->f, p->iter, p->step, 0, NULL);
      send(r, p->f, p->iter, p->step, 1, NULL);
    }
    send_control(r, p->f, p->iter, p->step, 2, p->chosen < 0);
    return;
  }
  if (d->kind == CF_SWITCH) {
    int taken = -1;
    if (!dead) {
      const td_tensor *pred = &p->in[1];
      if (pred->dtype != TD_DT_BOOL || td_tensor_num_elements(pred) != 1) {
        r->code = td_status_set(r->st, TD_INVALID_ARGUMENT, "The second input must be a scalar bool\n\t [[{{node %s}}]]",
                                sp->node->name);
        return;
      }
      taken = td_u8(pred)[0] ? 1 : 0;
    }
    send(r, p->f, p->iter, p->step, 0, taken == 0 ? &p->in[0] : NULL);
    send(r, p->f, p->iter, p->step, 1, taken == 1 ? &p->in[0] : NULL);
    send_control(r, p->f, p->iter, p->step, 2, dead);
    return;
  }
  if (d->kind == CF_ENTER || d->kind == CF_EXIT || d->kind == CF_NEXT) {
    route_frame_op(r, p, dead ? NULL : &p->in[0]);
    return;
  }
  if (dead) { /* LoopCond and ordinary kernels: the kernel does not run */
    for (int o = 0; o < sp->nout; o++) send(r, p->f, p->iter, p->step, o, NULL);
    send_control(r, p->f, p->iter, p->step, sp->nout, 1);
    return;
  }
  if (d->kind == CF_LOOPCOND) {
    send(r, p->f, p->iter, p->step, 0, &p->in[0]);
    send_control(r, p->f, p->iter, p->step, 1, 0);
    return;
  }
  const td_tensor *small[16];
  const td_tensor **args = d->nin <= 16 ? small : td_xcalloc((size_t)d->nin, sizeof *args);
  for (int i = 0; i < d->nin; i++) args[i] = &p->in[i];
  td_tensor *out = td_xcalloc((size_t)sp->nout + 1, sizeof *out);
  td_run_options opt = {.deadline_ns = r->deadline};
  int64_t t0 = TD_TRACE_ON() ? td_trace_now() : 0; /* --trace_file (trace.h) */
  r->code = td_kernel_run(r->c->s, sp, args, out, NULL, NULL, &opt, r->st);
  if (t0) td_trace_op(sp->node->name, sp->node->op, t0);
  if (args != small) free(args);
  for (int o = 0; r->code == TD_OK && o < sp->nout; o++) send(r, p->f, p->iter, p->step, o, &out[o]);
  if (r->code == TD_OK) send_control(r, p->f, p->iter, p->step, sp->nout, 0);
  for (int o = 0; o < sp->nout; o++) td_tensor_release(&out[o]);
  free(out);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void run_free(run *r) {
  for (frame *f = r->frames, *next; f; f = next) {
    next = f->all_next;
    for (iter_state *is = f->iters, *in; is; is = in) {
      in = is->next;
      for (int k = 0; k < r->df->n; k++) {
        inst *p = is->inst[k];
        if (!p) continue;
        for (int i = 0; i < r->df->nodes[k].nin; i++) td_tensor_release(&p->in[i]);
        free(p);
      }
      free(is->inst);
      free(is);
    }
    for (int i = 0; i < f->nconsts; i++) td_tensor_release(&f->consts[i].value);
    free(f->consts);
    free(f->exit_state);
    free(f);
  }
  td_strmap_release(&r->frame_by_key);
  free(r->fetch_state);
}

td_code td_exec_dataflow(td_callable *c, const td_tensor *feeds, td_tensor *fetched, const td_run_options *opt,
                         td_status *st) {
  td_status local;
  if (!st) st = &local;
  int64_t deadline = opt ? opt->deadline_ns : 0;
  run r = {.c = c, .df = c->df, .feeds = feeds, .st = st, .fetched = fetched, .deadline = deadline};
  td_strmap_init(&r.frame_by_key);
  r.fetch_state = td_xcalloc((size_t)c->nfetch + 1, 1);
  for (int i = 0; i < c->nfetch; i++) fetched[i] = (td_tensor){0};
  r.root = frame_new(&r, NULL, 0, "");
  for (int k = 0; k < r.df->n; k++) /* sources: nothing to wait for */
    if (r.df->nodes[k].wait_fwd == 0) check_ready(&r, inst_get(&r, r.root, 0, k));
  for (uint64_t n = 0; r.qhead && r.code == TD_OK; n++) {
    inst *p = r.qhead;
    r.qhead = p->qnext;
    if (!r.qhead) r.qtail = NULL;
    if (deadline && (n & 63) == 0 && now_ns() > deadline) {
      r.code = td_status_set(st, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
      break;
    }
    process(&r, p);
    if (r.code != TD_OK) break;
    p->ran = 1;
    check_ready(&r, p);
  }
  for (int i = 0; r.code == TD_OK && i < c->nfetch; i++) {
    if (r.df->fetch_step[i] < 0) {
      if (c->fetch[i].kind == SRC_FEED) fetched[i] = td_tensor_ref(&feeds[c->fetch[i].idx]);
      else if (c->fetch[i].kind == SRC_CONST) fetched[i] = td_tensor_ref(&c->consts[c->fetch[i].idx]);
      else r.code = td_status_set(st, TD_INTERNAL, "fetch %d has no producer", i);
    } else if (r.fetch_state[i] == 2) {
      r.code = td_status_set(st, TD_INVALID_ARGUMENT, "Retval[%d] does not have value", i);
    } else if (r.fetch_state[i] == 0) {
      r.code = td_status_set(st, TD_INTERNAL, "fetch %d was not produced (the control flow did not complete)", i);
    }
    if (r.code == TD_OK && td_dtype_is_ref(fetched[i].dtype)) {
      td_tensor ref = fetched[i];
      fetched[i] = (td_tensor){0};
      r.code = td_deref(&ref, &fetched[i], st);
      td_tensor_release(&ref);
    } else if (r.code == TD_OK && !fetched[i].buf) {
      td_tensor borrowed = fetched[i];
      r.code = td_tensor_copy(&fetched[i], &borrowed, st);
    }
  }
  if (r.code != TD_OK)
    for (int i = 0; i < c->nfetch; i++) td_tensor_release(&fetched[i]);
  run_free(&r);
  return r.code;
}
