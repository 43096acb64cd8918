/* opt_nn_fuse.c — the callable pass that fuses a Conv2D with the MaxPool reading it into one
 * step (kernels/nn_conv_pool.c), so a large batch's convolution output never makes the round
 * trip through memory, and the five element-wise steps of an exact (Erf) GELU into one
 * (kernels/nn_fused_ew.c: (0.5 * x) * (1 + Erf(x * 1/sqrt2)) or Erf(x / sqrt2), the constants
 * rank-0, commutative operands in either order, every intermediate read by the chain alone; the
 * fused step takes the last Mul's place and slot, inputs x and the scale constant), and Keras'
 * LayerNormalization in its moments form (ten steps: Mean, SquaredDifference, Mean, AddV2,
 * Rsqrt, three Mul, Sub, AddV2; one constant reduction axis, rank-1 gamma / beta constants) into
 * one step at the last AddV2's place (kernels/nn_fused_ew.c; vectorized over the last axis,
 * plain loops for another one). callable.c runs td_opt_nn_fuse after plan_steps (the Conv2D already
 * carries its fused BiasAdd / Relu) and before liveness.
 *
 * Matches: Conv2D (float, NHWC) whose output is read by exactly one step, a MaxPool (float,
 * NHWC, 4-entry ksize / strides with 1 on batch and channels, padding VALID or SAME), and by no
 * fetch. The Conv2D step keeps its node (attrs, name in errors and traces) and fused epilogue,
 * gains a third input — a new callable constant int64 [kh, kw, sh, sw, SAME] — and runs
 * td_k_nn_conv2d_max_pool; the MaxPool's readers read the Conv2D's slot instead and its step is
 * removed (its slot stays allocated and unused). Runs under the session lock, before the
 * callable is shared.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/nn.h"
#include "engine/opt_nn_fuse.h"
#include "engine/session.h"
#include "util/mem.h"

int td_nn_fuse_enabled = 1;

static int float_nhwc(const td_node *n) {
  if (td_attr_type(n, "T", TD_DT_FLOAT) != TD_DT_FLOAT) return 0;
  size_t len = 0;
  const char *fmt = td_attr_str(n, "data_format", &len);
  return !fmt || (len == 4 && !memcmp(fmt, "NHWC", 4));
}

/* MaxPool's window as [kh, kw, sh, sw, same] if the fused kernel handles it. */
static int pool_params(const td_node *n, int64_t out[5]) {
  const int64_t *k = NULL, *s = NULL;
  if (td_attr_list_int(n, "ksize", &k) != 4 || td_attr_list_int(n, "strides", &s) != 4) return 0;
  if (k[0] != 1 || k[3] != 1 || s[0] != 1 || s[3] != 1 || k[1] < 1 || k[2] < 1 || s[1] < 1 || s[2] < 1) return 0;
  int same = td_attr_str_eq(n, "padding", "SAME");
  if (!same && !td_attr_str_eq(n, "padding", "VALID")) return 0;
  out[0] = k[1], out[1] = k[2], out[2] = s[1], out[3] = s[2], out[4] = same;
  return 1;
}

static int reads_slot(const td_step *sp, int slot) {
  for (int i = 0; i < sp->nin; i++)
    if (sp->in[i].kind == SRC_SLOT && sp->in[i].idx == slot) return 1;
  return 0;
}

/* ---- GELU (Erf form): (0.5 * x) * (1 + Erf(x * 1/sqrt2 | x / sqrt2)) ---- */

static int is_op(const td_step *sp, const char *op) {
  return !sp->fn && sp->nout == 1 && !strcmp(sp->node->op, op) && td_attr_type(sp->node, "T", TD_DT_FLOAT) == TD_DT_FLOAT;
}

/* A rank-0 float constant equal to v (within tol). */
static int const_is(const td_callable *c, td_src s, float v, float tol) {
  if (s.kind != SRC_CONST) return 0;
  const td_tensor *t = &c->consts[s.idx];
  if (t->dtype != TD_DT_FLOAT || t->shape.rank != 0) return 0;
  float d = td_f32(t)[0] - v;
  return d <= tol && d >= -tol;
}

static int same_src(td_src a, td_src b) { return a.kind == b.kind && a.idx == b.idx; }

/* The step (index) producing slot, or -1. */
static int producer(const td_callable *c, const unsigned char *dead, int slot) {
  for (int k = 0; k < c->nsteps; k++)
    if (!dead[k] && slot >= c->steps[k].out_base && slot < c->steps[k].out_base + c->steps[k].nout) return k;
  return -1;
}

/* The only step reading slot (nothing else reads it, no fetch), or -1. */
static int only_reader(const td_callable *c, const int *nread, const unsigned char *dead, int slot) {
  if (nread[slot] != 1) return -1;
  for (int k = 0; k < c->nsteps; k++)
    if (!dead[k] && reads_slot(&c->steps[k], slot)) return k;
  return -1;
}

/* For a binary step with one input a rank-0 constant equal to v: the index of the other. */
static int other_than_const(const td_callable *c, const td_step *sp, float v, float tol) {
  if (sp->nin != 2) return -1;
  if (const_is(c, sp->in[0], v, tol)) return 1;
  if (const_is(c, sp->in[1], v, tol)) return 0;
  return -1;
}

static int try_gelu(td_callable *c, const int *nread, unsigned char *dead, int ke) {
  const td_step *e = &c->steps[ke];
  if (!is_op(e, "Erf") || e->nin != 1 || e->in[0].kind != SRC_SLOT || nread[e->in[0].idx] != 1) return 0;
  int ks = producer(c, dead, e->in[0].idx);
  if (ks < 0) return 0;
  const td_step *sc = &c->steps[ks];
  td_src x, k;
  int div;
  if (is_op(sc, "Mul") && other_than_const(c, sc, 0.70710678f, 1e-6f) >= 0) {
    int xi = other_than_const(c, sc, 0.70710678f, 1e-6f);
    x = sc->in[xi], k = sc->in[!xi], div = 0;
  } else if (is_op(sc, "RealDiv") && sc->nin == 2 && const_is(c, sc->in[1], 1.41421356f, 1e-6f)) {
    x = sc->in[0], k = sc->in[1], div = 1;
  } else {
    return 0;
  }
  int ka = only_reader(c, nread, dead, e->out_base);
  if (ka < 0 || !(is_op(&c->steps[ka], "AddV2") || is_op(&c->steps[ka], "Add")) ||
      other_than_const(c, &c->steps[ka], 1.0f, 0) < 0)
    return 0;
  int km = only_reader(c, nread, dead, c->steps[ka].out_base);
  if (km < 0 || !is_op(&c->steps[km], "Mul") || c->steps[km].nin != 2) return 0;
  td_step *m = &c->steps[km];
  int ai = same_src(m->in[0], (td_src){.kind = SRC_SLOT, .idx = c->steps[ka].out_base}) ? 0 : 1;
  td_src h = m->in[!ai];
  if (h.kind != SRC_SLOT || nread[h.idx] != 1) return 0;
  int kh = producer(c, dead, h.idx);
  if (kh < 0 || !is_op(&c->steps[kh], "Mul")) return 0;
  int hx = other_than_const(c, &c->steps[kh], 0.5f, 0);
  if (hx < 0 || !same_src(c->steps[kh].in[hx], x)) return 0;
  td_src in[2] = {x, k};
  memcpy(m->in, in, sizeof in);
  m->fn = div ? td_k_nn_gelu_div : td_k_nn_gelu_mul;
  dead[ks] = dead[ke] = dead[ka] = dead[kh] = 1;
  return 1;
}

/* ---- LayerNorm, Keras' moments form ----
 * mean = Mean(x, ax); var = Mean(SquaredDifference(x, mean), ax); inv = Rsqrt(var + eps) * gamma;
 * out = x * inv + (beta - mean * inv); keep_dims, one reduction axis, gamma / beta rank-1
 * constants, eps a rank-0 constant; mean and inv are read by exactly their two users. */

/* The step producing src if it is a slot of op `op` (float), else -1. */
static int made_by(const td_callable *c, const unsigned char *dead, td_src src, const char *op) {
  if (src.kind != SRC_SLOT) return -1;
  int k = producer(c, dead, src.idx);
  return k >= 0 && is_op(&c->steps[k], op) ? k : -1;
}

/* For binary step sp, the input index whose source is made by op (-1: none; 0 preferred). */
static int input_made_by(const td_callable *c, const unsigned char *dead, const td_step *sp, const char *op, int *k) {
  for (int i = 0; i < 2 && sp->nin == 2; i++)
    if ((*k = made_by(c, dead, sp->in[i], op)) >= 0) return i;
  return -1;
}

static int rank1_const(const td_callable *c, td_src s) {
  return s.kind == SRC_CONST && c->consts[s.idx].dtype == TD_DT_FLOAT && c->consts[s.idx].shape.rank == 1;
}

/* Mean(x, axes) with keep_dims and one constant axis; *axes = its axes input. */
static int is_mean(const td_callable *c, const td_step *sp, td_src *axes) {
  if (!is_op(sp, "Mean") || sp->nin != 2 || !td_attr_bool(sp->node, "keep_dims", false) || sp->in[1].kind != SRC_CONST)
    return 0;
  const td_tensor *t = &c->consts[sp->in[1].idx];
  if ((t->dtype != TD_DT_INT32 && t->dtype != TD_DT_INT64) || td_tensor_num_elements(t) != 1) return 0;
  *axes = sp->in[1];
  return 1;
}

static int try_layer_norm(td_callable *c, const int *nread, unsigned char *dead, int kout) {
  const td_step *out = &c->steps[kout];
  if (!(is_op(out, "AddV2") || is_op(out, "Add")) || out->nin != 2) return 0;
  int kxs, ksh;
  int xi = input_made_by(c, dead, out, "Mul", &kxs);
  if (xi < 0 || (ksh = made_by(c, dead, out->in[!xi], "Sub")) < 0) return 0;
  const td_step *xs = &c->steps[kxs], *sh = &c->steps[ksh];
  if (nread[xs->out_base] != 1 || nread[sh->out_base] != 1 || sh->nin != 2 || !rank1_const(c, sh->in[0])) return 0;
  int kms = made_by(c, dead, sh->in[1], "Mul");
  if (kms < 0 || nread[c->steps[kms].out_base] != 1) return 0;
  const td_step *ms = &c->steps[kms];
  int kinv, ii = input_made_by(c, dead, xs, "Mul", &kinv); /* xs = x * inv: which input is inv */
  if (ii < 0 || nread[c->steps[kinv].out_base] != 2) return 0;
  td_src x = xs->in[!ii], inv_src = xs->in[ii];
  int mi = same_src(ms->in[0], inv_src) ? 1 : same_src(ms->in[1], inv_src) ? 0 : -1; /* ms = mean * inv */
  if (mi < 0) return 0;
  int kmean = made_by(c, dead, ms->in[mi], "Mean");
  td_src ax1, ax2;
  if (kmean < 0 || nread[c->steps[kmean].out_base] != 2 || !is_mean(c, &c->steps[kmean], &ax1) ||
      !same_src(c->steps[kmean].in[0], x))
    return 0;
  const td_step *inv = &c->steps[kinv];
  int kr, ri = input_made_by(c, dead, inv, "Rsqrt", &kr);
  if (ri < 0 || !rank1_const(c, inv->in[!ri]) || nread[c->steps[kr].out_base] != 1) return 0;
  td_src gamma = inv->in[!ri];
  int kve = made_by(c, dead, c->steps[kr].in[0], "AddV2");
  if (kve < 0) kve = made_by(c, dead, c->steps[kr].in[0], "Add");
  if (kve < 0 || nread[c->steps[kve].out_base] != 1) return 0;
  const td_step *ve = &c->steps[kve];
  int kvar, vi = input_made_by(c, dead, ve, "Mean", &kvar);
  if (vi < 0 || ve->in[!vi].kind != SRC_CONST || c->consts[ve->in[!vi].idx].shape.rank != 0 ||
      c->consts[ve->in[!vi].idx].dtype != TD_DT_FLOAT || nread[c->steps[kvar].out_base] != 1 ||
      !is_mean(c, &c->steps[kvar], &ax2))
    return 0;
  td_src eps = ve->in[!vi];
  if (td_tensor_get_int(&c->consts[ax1.idx], 0) != td_tensor_get_int(&c->consts[ax2.idx], 0)) return 0;
  int ksq = made_by(c, dead, c->steps[kvar].in[0], "SquaredDifference");
  if (ksq < 0 || nread[c->steps[ksq].out_base] != 1) return 0;
  const td_step *sq = &c->steps[ksq];
  td_src mean_src = {.kind = SRC_SLOT, .idx = c->steps[kmean].out_base};
  if (!((same_src(sq->in[0], x) && same_src(sq->in[1], mean_src)) || (same_src(sq->in[1], x) && same_src(sq->in[0], mean_src))))
    return 0;
  if (c->consts[gamma.idx].shape.dim[0] != c->consts[sh->in[0].idx].shape.dim[0]) return 0;
  td_step *o = &c->steps[kout];
  td_src in[5] = {x, ax1, eps, gamma, sh->in[0]};
  free(o->in);
  o->in = td_xmalloc(sizeof in);
  memcpy(o->in, in, sizeof in);
  o->nin = 5;
  o->fn = td_k_nn_layer_norm;
  dead[kmean] = dead[ksq] = dead[kvar] = dead[kve] = dead[kr] = dead[kinv] = dead[kxs] = dead[kms] = dead[ksh] = 1;
  return 1;
}

void td_opt_nn_fuse(td_callable *c) {
  if (!td_nn_fuse_enabled || c->dataflow || c->nsteps < 2) return;
  int *nread = td_xcalloc((size_t)c->nslots + 1, sizeof *nread);
  unsigned char *dead = td_xcalloc((size_t)c->nsteps + 1, 1);
  for (int k = 0; k < c->nsteps; k++)
    for (int i = 0; i < c->steps[k].nin; i++)
      if (c->steps[k].in[i].kind == SRC_SLOT) nread[c->steps[k].in[i].idx]++;
  for (int i = 0; i < c->nfetch; i++)
    if (c->fetch[i].kind == SRC_SLOT) nread[c->fetch[i].idx] += 1000; /* fetched: never fused */
  int fused = 0;
  for (int k = 0; k < c->nsteps; k++)
    if (!dead[k]) fused += try_gelu(c, nread, dead, k) || try_layer_norm(c, nread, dead, k);
  for (int k = 0; k < c->nsteps; k++) {
    td_step *conv = &c->steps[k];
    if (dead[k] || strcmp(conv->node->op, "Conv2D") || conv->fn || conv->nin != 2 || conv->nout != 1 || !float_nhwc(conv->node))
      continue;
    int slot = conv->out_base;
    if (nread[slot] != 1) continue;
    int r = k + 1;
    while (r < c->nsteps && (dead[r] || !reads_slot(&c->steps[r], slot))) r++;
    if (r == c->nsteps) continue;
    td_step *pool = &c->steps[r];
    int64_t pp[5];
    if (strcmp(pool->node->op, "MaxPool") || pool->fn || pool->nin != 1 || pool->nout != 1 ||
        !float_nhwc(pool->node) || !pool_params(pool->node, pp))
      continue;
    td_tensor t;
    td_shape ps = {.rank = 1, .dim = {5}};
    td_status st = {0};
    if (td_tensor_alloc(&t, TD_DT_INT64, &ps, &st) != TD_OK) continue;
    memcpy(t.data, pp, sizeof pp);
    c->consts = td_xrealloc(c->consts, (size_t)(c->nconsts + 1) * sizeof *c->consts);
    c->consts[c->nconsts] = t;
    td_src *in = td_xmalloc(3 * sizeof *in);
    memcpy(in, conv->in, 2 * sizeof *in);
    in[2] = (td_src){.kind = SRC_CONST, .idx = c->nconsts++};
    free(conv->in);
    conv->in = in;
    conv->nin = 3;
    conv->fn = td_k_nn_conv2d_max_pool;
    int from = pool->out_base; /* the pool's readers read the fused step's slot */
    for (int j = 0; j < c->nsteps; j++)
      for (int i = 0; i < c->steps[j].nin; i++)
        if (c->steps[j].in[i].kind == SRC_SLOT && c->steps[j].in[i].idx == from) c->steps[j].in[i].idx = slot;
    for (int i = 0; i < c->nfetch; i++)
      if (c->fetch[i].kind == SRC_SLOT && c->fetch[i].idx == from) c->fetch[i].idx = slot;
    dead[r] = 1;
    fused++;
  }
  if (fused) td_steps_drop(c, dead);
  free(nread);
  free(dead);
}
