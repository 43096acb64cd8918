/* opt_rnn_fuse.c — the callable pass that fuses a recurrent cell's gate arithmetic into one
 * step (see opt_rnn.h): callable.c runs td_opt_rnn_fuse after plan_steps, before liveness.
 *
 *   LSTM (Keras, gates i,f,c,o):  Split(-1, z, 4) → Sigmoid/Sigmoid/Tanh/Sigmoid,
 *     c' = f*c + i*g, h' = o*tanh(c')           → one step (z, c) → (c', h')  at c''s position
 *   GRU (Keras reset_after=True): Split(-1, xz, 3), Split(-1, hz, 3), z = σ(x0+h0), r = σ(x1+h1),
 *     hh = tanh(x2 + r*h2), h' = z*h + (1-z)*hh → one step (xz, hz, h) → h'  at h''s position
 *
 *   BiasAdd(MatMul(a, b), bias) and BiasAdd(AddV2(MatMul(a, b), MatMul(a2, b2)), bias) (a constant
 *     bias right after one MatMul is already that MatMul's fused epilogue), no transposes → one step computing
 *     bias + a·b (+ a2·b2) with beta = 1 GEMMs, at the BiasAdd's position and slot; it keeps the
 *     node of the MatMul whose left operand is a TensorListGetItem (else the first), so a hoisted
 *     x_t·W (opt_rnn.c) is still found by node
 * A pattern matches only when every intermediate value is read by the pattern alone (no other
 * step, no fetch), the ops are float, and the split axis is a constant -1 or 1; mul/add operands
 * may come in either order. The fused step keeps the node of the step it replaces (names in
 * errors and traces) and runs td_k_rnn_lstm_cell / td_k_rnn_gru_cell (kernels/nn_rnn_cell.c),
 * which compute the same float expressions with the same sigmoid/tanh as the unfused kernels.
 *
 *   A matmul_bias step feeding an LSTM cell step alone → one lstm_step (td_k_rnn_lstm_step): the
 *     product and the cell in one pass over each thread's rows.
 * Removed steps' slots stay allocated and unused. Runs under the session lock, before the
 * callable is shared. */
#include <stdlib.h>
#include <string.h>

#include "engine/opt_rnn.h"
#include "engine/session.h"
#include "util/mem.h"

typedef struct fuse_ctx {
  td_callable *c;
  int *slot_step; /* producing step per slot */
  int *nread;     /* readers per slot (step inputs + fetches) */
  unsigned char *fetched; /* per slot: read by a fetch */
  unsigned char *dead; /* steps to remove */
} fuse_ctx;

static int op_is(const td_step *sp, const char *op) { return !strcmp(sp->node->op, op); }

static int is_float(const td_step *sp) { return td_attr_type(sp->node, "T", TD_DT_FLOAT) == TD_DT_FLOAT; }

/* The step reading slot `slot` as its only reader, if that step is op `op` (NULL = any). */
static td_step *only_reader(const fuse_ctx *f, int slot, const char *op) {
  if (f->nread[slot] != 1 || f->fetched[slot]) return NULL;
  for (int k = 0; k < f->c->nsteps; k++) {
    td_step *sp = &f->c->steps[k];
    if (f->dead[k]) continue;
    for (int i = 0; i < sp->nin; i++)
      if (sp->in[i].kind == SRC_SLOT && sp->in[i].idx == slot)
        return (!op || op_is(sp, op)) && is_float(sp) ? sp : NULL;
  }
  return NULL;
}

static int is_slot(td_src s, int slot) { return s.kind == SRC_SLOT && s.idx == slot; }

/* For a binary step, the input that is not slot `slot` (-1 if neither/both are). */
static int other_input(const td_step *sp, int slot) {
  if (sp->nin != 2) return -1;
  if (is_slot(sp->in[0], slot) && !is_slot(sp->in[1], slot)) return 1;
  if (is_slot(sp->in[1], slot) && !is_slot(sp->in[0], slot)) return 0;
  return -1;
}

/* A constant scalar float input equal to v. */
static int const_float_is(const td_callable *c, td_src s, float v) {
  if (s.kind != SRC_CONST) return 0;
  const td_tensor *t = &c->consts[s.idx];
  return t->dtype == TD_DT_FLOAT && td_tensor_num_elements(t) == 1 && td_f32(t)[0] == v;
}

/* Split(axis, value) with a constant axis -1 or 1, num_split = n, float. */
static int is_split(const td_callable *c, const td_step *sp, int n) {
  if (!op_is(sp, "Split") || sp->nin != 2 || sp->nout != n || !is_float(sp) || sp->in[0].kind != SRC_CONST)
    return 0;
  const td_tensor *ax = &c->consts[sp->in[0].idx];
  if (td_tensor_num_elements(ax) != 1 || (ax->dtype != TD_DT_INT32 && ax->dtype != TD_DT_INT64)) return 0;
  int64_t a = td_tensor_get_int(ax, 0);
  return a == -1 || a == 1;
}

static int is_add(const td_step *sp) { return op_is(sp, "AddV2") || op_is(sp, "Add"); }

static int step_index(const fuse_ctx *f, const td_step *sp) { return (int)(sp - f->c->steps); }

/* Turns step `keep` into the fused step: inputs `in`, outputs at slots out_base.. (nout), kernel fn. */
static void rewrite(fuse_ctx *f, td_step *keep, const td_src *in, int nin, int out_base, int nout, td_kernel_fn fn) {
  free(keep->in);
  keep->in = td_xmalloc(sizeof *keep->in * (size_t)nin);
  memcpy(keep->in, in, sizeof *keep->in * (size_t)nin);
  keep->nin = nin;
  keep->out_base = out_base;
  keep->nout = nout;
  free(keep->out_used);
  keep->out_used = td_xcalloc((size_t)nout + 1, 1);
  keep->fn = fn;
  for (int o = 0; o < nout; o++) f->slot_step[out_base + o] = step_index(f, keep);
}

/* Every reader of slot `from` (step inputs, fetches) reads `to` instead. */
static void redirect(fuse_ctx *f, int from, int to) {
  td_callable *c = f->c;
  for (int k = 0; k < c->nsteps; k++)
    for (int i = 0; i < c->steps[k].nin; i++)
      if (is_slot(c->steps[k].in[i], from)) c->steps[k].in[i].idx = to;
  for (int i = 0; i < c->nfetch; i++)
    if (is_slot(c->fetch[i], from)) c->fetch[i].idx = to;
  f->fetched[to] = f->fetched[from];
  f->fetched[from] = 0;
}

static int try_lstm(fuse_ctx *f, td_step *split) {
  td_callable *c = f->c;
  if (!is_split(c, split, 4)) return 0;
  int s = split->out_base;
  td_step *gi = only_reader(f, s, "Sigmoid"), *gf = only_reader(f, s + 1, "Sigmoid");
  td_step *gg = only_reader(f, s + 2, "Tanh"), *go = only_reader(f, s + 3, "Sigmoid");
  if (!gi || !gf || !gg || !go) return 0;
  td_step *fc = only_reader(f, gf->out_base, "Mul"), *ig = only_reader(f, gi->out_base, "Mul");
  if (!fc || !ig || ig == fc || only_reader(f, gg->out_base, "Mul") != ig) return 0;
  int ci = other_input(fc, gf->out_base);
  if (ci < 0 || other_input(ig, gi->out_base) < 0) return 0;
  td_step *cn = only_reader(f, fc->out_base, NULL);
  if (!cn || !is_add(cn) || only_reader(f, ig->out_base, NULL) != cn || other_input(cn, fc->out_base) < 0) return 0;
  td_step *hn = only_reader(f, go->out_base, "Mul");
  if (!hn || hn->nin != 2) return 0;
  int ti = other_input(hn, go->out_base);
  if (ti < 0 || hn->in[ti].kind != SRC_SLOT) return 0;
  td_step *tc = &c->steps[f->slot_step[hn->in[ti].idx]];
  if (!op_is(tc, "Tanh") || !is_float(tc) || !is_slot(tc->in[0], cn->out_base) || only_reader(f, tc->out_base, "Mul") != hn)
    return 0;
  int c_slot = cn->out_base, h_slot = hn->out_base;
  td_step *drop[] = {split, gi, gf, gg, go, fc, ig, tc, hn};
  td_src in[2] = {split->in[1], fc->in[ci]};
  /* the fused step takes the split's 4 contiguous slots: (c', h') at s, s+1 */
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) f->dead[step_index(f, drop[i])] = 1;
  rewrite(f, cn, in, 2, s, 2, td_k_rnn_lstm_cell);
  redirect(f, c_slot, s);
  redirect(f, h_slot, s + 1);
  return 1;
}

static int try_gru(fuse_ctx *f, td_step *xs) {
  td_callable *c = f->c;
  if (!is_split(c, xs, 3)) return 0;
  int x = xs->out_base;
  td_step *za = only_reader(f, x, NULL), *ra = only_reader(f, x + 1, NULL), *ha = only_reader(f, x + 2, NULL);
  if (!za || !ra || !ha || !is_add(za) || !is_add(ra) || !is_add(ha)) return 0;
  int zi = other_input(za, x), ri = other_input(ra, x + 1), hi = other_input(ha, x + 2);
  if (zi < 0 || ri < 0 || hi < 0 || za->in[zi].kind != SRC_SLOT || ra->in[ri].kind != SRC_SLOT) return 0;
  td_step *hs = &c->steps[f->slot_step[za->in[zi].idx]];
  if (hs == xs || !is_split(c, hs, 3) || !is_slot(za->in[zi], hs->out_base) || !is_slot(ra->in[ri], hs->out_base + 1))
    return 0;
  int h = hs->out_base;
  td_step *zg = only_reader(f, za->out_base, "Sigmoid"), *rg = only_reader(f, ra->out_base, "Sigmoid");
  td_step *rh = only_reader(f, h + 2, "Mul");
  if (!zg || !rg || !rh || only_reader(f, h, NULL) != za || only_reader(f, h + 1, NULL) != ra) return 0;
  if (only_reader(f, rg->out_base, "Mul") != rh || other_input(rh, h + 2) < 0 || !is_slot(ha->in[hi], rh->out_base) ||
      only_reader(f, rh->out_base, NULL) != ha)
    return 0;
  td_step *hh = only_reader(f, ha->out_base, "Tanh");
  if (!hh) return 0;
  /* zg has two readers: z*h and 1 - z */
  if (f->nread[zg->out_base] != 2 || f->fetched[zg->out_base]) return 0;
  td_step *zh = NULL, *omz = NULL;
  for (int k = 0; k < c->nsteps; k++) {
    td_step *sp = &c->steps[k];
    if (f->dead[k] || !is_float(sp) || sp->nin != 2) continue;
    if (op_is(sp, "Mul") && other_input(sp, zg->out_base) >= 0) zh = sp;
    if (op_is(sp, "Sub") && is_slot(sp->in[1], zg->out_base) && const_float_is(c, sp->in[0], 1.0f)) omz = sp;
  }
  if (!zh || !omz) return 0;
  int hprev = other_input(zh, zg->out_base);
  td_step *omzh = only_reader(f, omz->out_base, "Mul");
  if (!omzh || only_reader(f, hh->out_base, "Mul") != omzh || other_input(omzh, omz->out_base) < 0) return 0;
  td_step *hn = only_reader(f, zh->out_base, NULL);
  if (!hn || !is_add(hn) || only_reader(f, omzh->out_base, NULL) != hn || other_input(hn, zh->out_base) < 0) return 0;
  int h_slot = hn->out_base;
  td_step *drop[] = {xs, hs, za, ra, ha, zg, rg, rh, hh, zh, omz, omzh};
  td_src in[3] = {xs->in[1], hs->in[1], zh->in[hprev]};
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) f->dead[step_index(f, drop[i])] = 1;
  rewrite(f, hn, in, 3, x, 1, td_k_rnn_gru_cell);
  redirect(f, h_slot, x);
  return 1;
}

/* A plain float MatMul (no transposes, no fused epilogue) whose output only `reader` reads. */
static int plain_matmul(const fuse_ctx *f, const td_step *mm, const td_step *reader) {
  return op_is(mm, "MatMul") && mm->nin == 2 && mm->nout == 1 && is_float(mm) && !mm->fn && mm->fused_bias < 0 &&
         mm->fused_act == TD_ACT_NONE && !td_attr_bool(mm->node, "transpose_a", false) &&
         !td_attr_bool(mm->node, "transpose_b", false) && only_reader(f, mm->out_base, NULL) == reader;
}

static const td_step *slot_producer(const fuse_ctx *f, td_src s) {
  return s.kind == SRC_SLOT ? &f->c->steps[f->slot_step[s.idx]] : NULL;
}

static int from_get_item(const fuse_ctx *f, const td_step *mm) {
  const td_step *p = slot_producer(f, mm->in[0]);
  return p && op_is(p, "TensorListGetItem");
}

static int try_matmul_bias(fuse_ctx *f, td_step *ba) {
  if (!op_is(ba, "BiasAdd") || ba->nin != 2 || ba->fn || !is_float(ba)) return 0;
  size_t len;
  const char *fmt = td_attr_str(ba->node, "data_format", &len);
  if (fmt && !(len == 4 && !memcmp(fmt, "NHWC", 4))) return 0;
  const td_step *p = slot_producer(f, ba->in[0]);
  if (!p || f->dead[step_index(f, p)]) return 0;
  if (plain_matmul(f, p, ba)) {
    td_src in[3] = {p->in[0], p->in[1], ba->in[1]};
    f->dead[step_index(f, p)] = 1;
    ba->node = p->node;
    rewrite(f, ba, in, 3, ba->out_base, 1, td_k_rnn_matmul_bias);
    return 1;
  }
  if (!is_add(p) || p->nin != 2 || !is_float(p) || only_reader(f, p->out_base, NULL) != ba) return 0;
  const td_step *m1 = slot_producer(f, p->in[0]), *m2 = slot_producer(f, p->in[1]);
  if (!m1 || !m2 || m1 == m2 || !plain_matmul(f, m1, p) || !plain_matmul(f, m2, p)) return 0;
  if (!from_get_item(f, m1) && from_get_item(f, m2)) {
    const td_step *t = m1;
    m1 = m2, m2 = t;
  }
  td_src in[5] = {m1->in[0], m1->in[1], m2->in[0], m2->in[1], ba->in[1]};
  f->dead[step_index(f, p)] = f->dead[step_index(f, m1)] = f->dead[step_index(f, m2)] = 1;
  ba->node = m1->node;
  rewrite(f, ba, in, 5, ba->out_base, 1, td_k_rnn_matmul_bias);
  return 1;
}

/* An LSTM cell step whose gates come straight from a matmul_bias step read by it alone → one
 * lstm_step at the cell's position, with the matmul_bias's node (a hoisted x_t·W is found by
 * node) and the cell's slots: (c', h') and, in the split's free third slot, the gates z. */
static int try_lstm_step(fuse_ctx *f, td_step *cell) {
  if (cell->fn != td_k_rnn_lstm_cell || cell->nin != 2 || cell->in[0].kind != SRC_SLOT) return 0;
  td_step *mb = &f->c->steps[f->slot_step[cell->in[0].idx]];
  if (f->dead[step_index(f, mb)] || mb->fn != td_k_rnn_matmul_bias || mb->nout != 1 ||
      !is_slot(cell->in[0], mb->out_base) || only_reader(f, mb->out_base, NULL) != cell)
    return 0;
  td_src in[6];
  memcpy(in, mb->in, sizeof *in * (size_t)mb->nin);
  in[mb->nin] = cell->in[1];
  f->dead[step_index(f, mb)] = 1;
  cell->node = mb->node;
  rewrite(f, cell, in, mb->nin + 1, cell->out_base, 3, td_k_rnn_lstm_step);
  return 1;
}

void td_opt_rnn_fuse(td_callable *c) {
  if (!td_rnn_opt_active() || c->dataflow || c->nsteps < 2) return;
  fuse_ctx f = {.c = c};
  f.slot_step = td_xcalloc((size_t)c->nslots + 1, sizeof *f.slot_step);
  f.nread = td_xcalloc((size_t)c->nslots + 1, sizeof *f.nread);
  f.fetched = td_xcalloc((size_t)c->nslots + 1, 1);
  f.dead = td_xcalloc((size_t)c->nsteps + 1, 1);
  for (int k = 0; k < c->nsteps; k++) {
    const td_step *sp = &c->steps[k];
    for (int o = 0; o < sp->nout; o++) f.slot_step[sp->out_base + o] = k;
    for (int i = 0; i < sp->nin; i++)
      if (sp->in[i].kind == SRC_SLOT) f.nread[sp->in[i].idx]++;
  }
  for (int i = 0; i < c->nfetch; i++)
    if (c->fetch[i].kind == SRC_SLOT) {
      f.nread[c->fetch[i].idx]++;
      f.fetched[c->fetch[i].idx] = 1;
    }
  int fused = 0;
  for (int k = 0; k < c->nsteps; k++)
    if (!f.dead[k] && (try_lstm(&f, &c->steps[k]) || try_gru(&f, &c->steps[k]))) fused++;
  for (int k = 0; k < c->nsteps; k++)
    if (!f.dead[k] && try_matmul_bias(&f, &c->steps[k])) fused++;
  for (int k = 0; k < c->nsteps; k++)
    if (!f.dead[k] && try_lstm_step(&f, &c->steps[k])) fused++;
  if (fused) td_steps_drop(c, f.dead);
  free(f.fetched);
  free(f.slot_step);
  free(f.nread);
  free(f.dead);
}
