/* opt_loop_split.c — which loop variables of a While body are batch rows (see opt_loop_split.h).
 *
 * The analysis runs two passes over the body's plan (steps in order, slots single-assignment):
 *   backward: values that must be INV — inputs in an op's INV positions (weights, indices, axes),
 *     every input of an op outside the table, the variables the condition reads, and, through
 *     any producing step, everything such a value is computed from; a variable that must be INV
 *     makes its body result INV too;
 *   forward: with the other variables ROW (LIST when DT_VARIANT), each step's output class from
 *     its rule, failing on a rule's violation; a variable whose result comes back INV is made
 *     INV and the passes rerun (at most once per variable).
 * Ranks decide two rules (an INV operand of an element-wise op must have a smaller rank than its
 * ROW operands; a negative split axis must not land on dim 0); they are unknown (-1) while
 * analyzing and the run-time check enforces them.
 * Stateful ops (other than variable reads), variable writes and nested functions refuse the
 * split: they would run once per part. */
#include <stdlib.h>
#include <string.h>

#include "engine/opt_loop_split.h"
#include "engine/opt_rnn.h"
#include "engine/session.h"

enum rule {
  R_OTHER,   /* any pure op: every input INV */
  R_UNARY,   /* element-wise, one input */
  R_ELEM,    /* element-wise with broadcasting, any number of inputs */
  R_BIASADD, /* (value, bias): bias INV */
  R_MATMUL,  /* (a, b): b INV; a ROW only without transpose_a */
  R_SPLIT,   /* (axis, value): axis an INV constant, not 0 */
  R_SPLITV,  /* (value, sizes, axis) */
  R_LIST_GET, /* (list, index, element_shape) */
  R_LIST_SET, /* (list, index, item) */
  R_FUSED,   /* opt_rnn_fuse.c's steps: rows at fused_row positions, weights elsewhere */
};

static const struct {
  const char *op;
  enum rule rule;
} kRules[] = {
    {"Identity", R_UNARY},  {"Sigmoid", R_UNARY},  {"Tanh", R_UNARY},     {"Relu", R_UNARY},
    {"Relu6", R_UNARY},     {"Elu", R_UNARY},      {"Selu", R_UNARY},     {"Softplus", R_UNARY},
    {"Softsign", R_UNARY},  {"Neg", R_UNARY},      {"Exp", R_UNARY},      {"Square", R_UNARY},
    {"Sqrt", R_UNARY},      {"Rsqrt", R_UNARY},    {"Abs", R_UNARY},      {"Cast", R_UNARY},
    {"LeakyRelu", R_UNARY}, {"Add", R_ELEM},       {"AddV2", R_ELEM},     {"Sub", R_ELEM},
    {"Mul", R_ELEM},        {"RealDiv", R_ELEM},   {"Maximum", R_ELEM},   {"Minimum", R_ELEM},
    {"AddN", R_ELEM},       {"SquaredDifference", R_ELEM}, {"BiasAdd", R_BIASADD},
    {"MatMul", R_MATMUL},   {"Split", R_SPLIT},    {"SplitV", R_SPLITV},
    {"TensorListGetItem", R_LIST_GET}, {"TensorListSetItem", R_LIST_SET},
};

/* A fused step's row positions (bit i = input i), or 0 if sp is not a fused RNN step. */
static unsigned fused_rows(const td_step *sp) {
  if (sp->fn == td_k_rnn_matmul_bias) return sp->nin == 5 ? 0x5u : 0x1u;          /* a, [a2] */
  if (sp->fn == td_k_rnn_lstm_step) return sp->nin == 6 ? 0x25u : 0x9u;           /* a, [a2,] c */
  if (sp->fn == td_k_rnn_lstm_cell || sp->fn == td_k_rnn_gru_cell) return (1u << sp->nin) - 1;
  return 0;
}

static enum rule rule_of(const td_step *sp) {
  if (sp->fn) return fused_rows(sp) ? R_FUSED : R_OTHER;
  for (size_t i = 0; i < sizeof kRules / sizeof kRules[0]; i++)
    if (!strcmp(sp->node->op, kRules[i].op)) return kRules[i].rule;
  return R_OTHER;
}

/* 1 when input i of sp must be INV whatever the others are. */
static int inv_position(const td_step *sp, enum rule r, int i) {
  switch (r) {
    case R_UNARY: case R_ELEM: return 0;
    case R_BIASADD: return i == 1;
    case R_MATMUL: return i == 1 || td_attr_bool(sp->node, "transpose_a", false);
    case R_SPLIT: return i == 0;
    case R_SPLITV: return i != 0;
    case R_LIST_GET: return i != 0;
    case R_LIST_SET: return i == 1;
    case R_FUSED: return !(fused_rows(sp) >> i & 1u);
    default: return 1;
  }
}

/* Ops that must not run once per part. */
static int refuses_split(const td_step *sp) {
  int f = sp->node->def ? sp->node->def->flags : TD_OPF_STATEFUL;
  if (f & (TD_OPF_WRITES_VAR | TD_OPF_FUNCTIONAL | TD_OPF_REF_INPUTS)) return 1;
  return (f & TD_OPF_STATEFUL) && !(f & TD_OPF_READS_VAR);
}

typedef struct pass {
  const td_callable *b;
  unsigned char *feed_cls, *slot_cls; /* TD_SPLIT_* */
  int *feed_rank, *slot_rank;         /* ROW: its rank; LIST: its items' rank; -1 unknown */
  unsigned char *feed_inv, *slot_inv; /* backward: must be INV */
} pass;

static int src_cls(const pass *p, td_src s) {
  return s.kind == SRC_FEED ? p->feed_cls[s.idx] : s.kind == SRC_SLOT ? p->slot_cls[s.idx] : TD_SPLIT_INV;
}
static int src_rank(const pass *p, td_src s) {
  if (s.kind == SRC_FEED) return p->feed_rank[s.idx];
  if (s.kind == SRC_SLOT) return p->slot_rank[s.idx];
  return p->b->consts[s.idx].shape.rank;
}
static const td_tensor *src_const(const pass *p, td_src s) { return s.kind == SRC_CONST ? &p->b->consts[s.idx] : NULL; }

/* Marks s as must-INV: 1 if that is new. */
static int mark_inv(pass *p, td_src s) {
  unsigned char *m = s.kind == SRC_FEED ? &p->feed_inv[s.idx] : s.kind == SRC_SLOT ? &p->slot_inv[s.idx] : NULL;
  if (!m || *m) return 0;
  return *m = 1;
}

static void backward(pass *p, const td_callable *cond) {
  const td_callable *b = p->b;
  for (int k = 0; k < cond->nsteps; k++)
    for (int i = 0; i < cond->steps[k].nin; i++)
      if (cond->steps[k].in[i].kind == SRC_FEED) p->feed_inv[cond->steps[k].in[i].idx] = 1;
  for (int i = 0; i < cond->nfetch; i++)
    if (cond->fetch[i].kind == SRC_FEED) p->feed_inv[cond->fetch[i].idx] = 1;
  for (int changed = 1; changed;) {
    changed = 0;
    for (int k = b->nsteps - 1; k >= 0; k--) {
      const td_step *sp = &b->steps[k];
      enum rule r = rule_of(sp);
      int out_inv = 0;
      for (int j = 0; j < sp->nout; j++) out_inv |= p->slot_inv[sp->out_base + j];
      for (int i = 0; i < sp->nin; i++)
        if (out_inv || inv_position(sp, r, i)) changed |= mark_inv(p, sp->in[i]);
    }
    for (int i = 0; i < b->nfeeds; i++)
      if (p->feed_inv[i]) changed |= mark_inv(p, b->fetch[i]);
  }
}

/* Split axis a (an INV constant) on a value of rank `rank` (-1 unknown): 1 if it is not dim 0. */
static int axis_off_rows(const pass *p, td_src axis, int rank) {
  const td_tensor *t = src_const(p, axis);
  if (!t || td_tensor_num_elements(t) != 1) return 0;
  int64_t a = td_tensor_get_int(t, 0);
  if (a < 0) return rank < 0 ? 1 : a + rank > 0; /* unknown: the run-time check decides */
  return a > 0;
}

/* GetItem's element_shape must not pin dim 0 (each part's items have fewer rows). */
static int shape_leaves_rows(const pass *p, td_src s) {
  const td_tensor *t = src_const(p, s);
  if (!t) return 0;
  if (t->shape.rank == 0) return td_tensor_get_int(t, 0) == -1;
  return td_tensor_num_elements(t) == 0 || td_tensor_get_int(t, 0) < 0;
}

/* One step's output class and rank from its inputs; 0 on a violation. `check` enforces ranks. */
static int step_forward(pass *p, const td_step *sp, int check) {
  enum rule r = rule_of(sp);
  int cls = TD_SPLIT_INV, rank = -1;
  int c0 = sp->nin > 0 ? src_cls(p, sp->in[0]) : TD_SPLIT_INV;
  int r0 = sp->nin > 0 ? src_rank(p, sp->in[0]) : -1;
  for (int i = 0; i < sp->nin; i++)
    if (inv_position(sp, r, i) && src_cls(p, sp->in[i]) != TD_SPLIT_INV) return 0;
  switch (r) {
    case R_OTHER: break;
    case R_UNARY: case R_BIASADD: case R_MATMUL:
      if (c0 == TD_SPLIT_LIST) return 0;
      cls = c0, rank = r == R_MATMUL ? 2 : r0;
      break;
    case R_ELEM: {
      int rows = -2; /* the ROW operands' rank */
      for (int i = 0; i < sp->nin; i++) {
        int ci = src_cls(p, sp->in[i]), ri = src_rank(p, sp->in[i]);
        if (ci == TD_SPLIT_LIST) return 0;
        if (ci != TD_SPLIT_ROW) continue;
        if (check && (ri < 1 || (rows != -2 && ri != rows))) return 0;
        rows = ri;
      }
      if (rows == -2) break;
      for (int i = 0; check && i < sp->nin; i++)
        if (src_cls(p, sp->in[i]) == TD_SPLIT_INV) {
          int ri = src_rank(p, sp->in[i]);
          if (ri < 0 || ri >= rows) return 0;
        }
      cls = TD_SPLIT_ROW, rank = rows;
      break;
    }
    case R_SPLIT: case R_SPLITV: {
      td_src value = sp->in[r == R_SPLIT ? 1 : 0], axis = sp->in[r == R_SPLIT ? 0 : 2];
      cls = src_cls(p, value), rank = src_rank(p, value);
      if (cls == TD_SPLIT_LIST) return 0;
      if (cls == TD_SPLIT_ROW && !axis_off_rows(p, axis, check ? rank : -1)) return 0;
      break;
    }
    case R_LIST_GET:
      if (c0 == TD_SPLIT_ROW || (c0 == TD_SPLIT_LIST && !shape_leaves_rows(p, sp->in[2]))) return 0;
      cls = c0 == TD_SPLIT_LIST ? TD_SPLIT_ROW : TD_SPLIT_INV, rank = r0;
      break;
    case R_LIST_SET: {
      int ci = src_cls(p, sp->in[2]);
      if (!((c0 == TD_SPLIT_LIST && ci == TD_SPLIT_ROW) || (c0 == TD_SPLIT_INV && ci == TD_SPLIT_INV))) return 0;
      cls = c0, rank = src_rank(p, sp->in[2]);
      break;
    }
    case R_FUSED: { /* the row inputs all ROW or all INV */
      unsigned rows = fused_rows(sp);
      int first = -1;
      for (int i = 0; i < sp->nin; i++)
        if (rows >> i & 1u) {
          int ci = src_cls(p, sp->in[i]);
          if (ci == TD_SPLIT_LIST || (first >= 0 && ci != first)) return 0;
          first = ci;
        }
      cls = first, rank = 2;
      break;
    }
  }
  for (int j = 0; j < sp->nout; j++) p->slot_cls[sp->out_base + j] = (unsigned char)cls, p->slot_rank[sp->out_base + j] = rank;
  return 1;
}

/* Forward over the body: 1 when every step is row-wise and every variable's result has its
 * class; sets *demote to a ROW/LIST variable whose result is INV (else -1). */
static int forward(pass *p, int check, int *demote) {
  const td_callable *b = p->b;
  *demote = -1;
  for (int k = 0; k < b->nsteps; k++)
    if (!step_forward(p, &b->steps[k], check)) return 0;
  for (int i = 0; i < b->nfeeds; i++) {
    int fc = src_cls(p, b->fetch[i]);
    if (fc == p->feed_cls[i]) continue;
    if (fc == TD_SPLIT_INV && *demote < 0) *demote = i;
    else if (fc != TD_SPLIT_INV) return 0;
  }
  return *demote < 0;
}

static int pass_init(pass *p, const td_callable *b) {
  memset(p, 0, sizeof *p);
  p->b = b;
  int nf = b->nfeeds > 0 ? b->nfeeds : 1, ns = b->nslots > 0 ? b->nslots : 1;
  p->feed_cls = calloc((size_t)nf, 1), p->slot_cls = calloc((size_t)ns, 1);
  p->feed_inv = calloc((size_t)nf, 1), p->slot_inv = calloc((size_t)ns, 1);
  p->feed_rank = calloc((size_t)nf, sizeof(int)), p->slot_rank = calloc((size_t)ns, sizeof(int));
  return p->feed_cls && p->slot_cls && p->feed_inv && p->slot_inv && p->feed_rank && p->slot_rank;
}

static void pass_free(pass *p) {
  free(p->feed_cls), free(p->slot_cls), free(p->feed_inv), free(p->slot_inv), free(p->feed_rank), free(p->slot_rank);
}

/* 1 if a matrix product runs on rows (a MatMul or fused RNN step): the work that splitting
 * divides. A body of element-wise steps alone costs mostly per-iteration overhead, which every
 * part would pay anyway. */
static int multiplies_rows(const pass *p) {
  for (int k = 0; k < p->b->nsteps; k++) {
    const td_step *sp = &p->b->steps[k];
    enum rule r = rule_of(sp);
    if ((r == R_MATMUL || r == R_FUSED) && sp->nout > 0 && p->slot_cls[sp->out_base] == TD_SPLIT_ROW) return 1;
  }
  return 0;
}

/* 1 if some step reads feed i or its body result is not the feed itself. */
static int feed_used(const td_callable *b, int i) {
  if (b->fetch[i].kind != SRC_FEED || b->fetch[i].idx != i) return 1;
  for (int k = 0; k < b->nsteps; k++)
    for (int j = 0; j < b->steps[k].nin; j++)
      if (b->steps[k].in[j].kind == SRC_FEED && b->steps[k].in[j].idx == i) return 1;
  return 0;
}

/* The analysis loop: backward from `forced` (must-INV variables, updated with demotions),
 * then forward; 1 when every step is row-wise with some ROW or LIST variable multiplying rows
 * (p's classes then hold the answer). */
static int solve(pass *p, const td_callable *cond, unsigned char *forced, int check) {
  const td_callable *body = p->b;
  for (int round = 0; round <= body->nfeeds; round++) {
    memcpy(p->feed_inv, forced, (size_t)body->nfeeds);
    memset(p->slot_inv, 0, (size_t)(body->nslots > 0 ? body->nslots : 1));
    backward(p, cond);
    int any = 0;
    for (int i = 0; i < body->nfeeds; i++) {
      p->feed_cls[i] = p->feed_inv[i] ? TD_SPLIT_INV : body->feed_dtypes[i] == TD_DT_VARIANT ? TD_SPLIT_LIST : TD_SPLIT_ROW;
      any |= p->feed_cls[i] != TD_SPLIT_INV;
    }
    if (!any) return 0;
    int demote;
    if (forward(p, check, &demote)) return multiplies_rows(p);
    if (demote < 0) return 0;
    forced[demote] = 1;
  }
  return 0;
}

int td_loop_split_analyze(const td_callable *body, const td_callable *cond, td_loop_split *out) {
  memset(out, 0, sizeof *out);
  if (!td_rnn_opt_active() || !body || !cond || body->dataflow || cond->dataflow || body->nfetch != body->nfeeds ||
      cond->nfeeds != body->nfeeds)
    return 0;
  for (int k = 0; k < body->nsteps; k++)
    if (refuses_split(&body->steps[k])) return 0;
  for (int k = 0; k < cond->nsteps; k++)
    if (refuses_split(&cond->steps[k])) return 0;
  pass p;
  int ok = 0;
  unsigned char *forced = calloc((size_t)body->nfeeds + 1, 1);
  if (forced && pass_init(&p, body)) {
    for (int i = 0; i < body->nfeeds; i++) forced[i] = !feed_used(body, i), p.feed_rank[i] = -1;
    if (solve(&p, cond, forced, 0) && (out->cls = malloc((size_t)body->nfeeds)) != NULL) {
      memcpy(out->cls, p.feed_cls, (size_t)body->nfeeds);
      out->nvars = body->nfeeds, out->body = body, out->cond = cond;
      ok = 1;
    }
  }
  if (forced) pass_free(&p);
  free(forced);
  return ok;
}

void td_loop_split_free(td_loop_split *s) {
  free(s->cls);
  memset(s, 0, sizeof *s);
}

int td_loop_split_classes(const td_loop_split *s, const int *rank, unsigned char *cls) {
  pass p;
  int ok = 0;
  unsigned char *forced = calloc((size_t)s->nvars + 1, 1);
  if (forced && pass_init(&p, s->body)) {
    for (int i = 0; i < s->nvars; i++) {
      forced[i] = s->cls[i] == TD_SPLIT_INV || (s->cls[i] == TD_SPLIT_ROW && rank[i] == 0); /* scalars: not rows */
      p.feed_rank[i] = rank[i];
    }
    ok = solve(&p, s->cond, forced, 1);
    if (ok) memcpy(cls, p.feed_cls, (size_t)s->nvars);
  }
  if (forced) pass_free(&p);
  free(forced);
  return ok;
}
