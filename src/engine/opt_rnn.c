/* opt_rnn.c — input-projection hoisting for recurrent While loops (see opt_rnn.h).
 *
 * Analysis reads a body callable's plan (steps, feeds, fetches) once, when the While step's
 * per-node state is created; it never changes the plan. At run time the While kernel publishes
 * one context per qualifying site on a thread-local stack for the duration of its loop; a
 * context owns references to the list's items and to the weights and a heap buffer with the
 * products of a chunk of consecutive items ([chunk * rows, n], at most td_rnn_hoist_chunk_bytes
 * unless one item is bigger): the whole list when it fits, else the chunk is recomputed when a
 * step asks for an item outside it — starting at that item going forward, ending at it going
 * backward — so a long batch streams its products through the cache instead of writing them
 * all to memory first. Contexts are created and destroyed by the thread that runs the loop and
 * read only by that thread (the body's steps run on it). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/math_internal.h"
#include "engine/kernels/tensor_list_internal.h"
#include "engine/opt_rnn.h"
#include "engine/session.h"

int td_rnn_opt_enabled = 1;
static _Atomic long g_hoisted_uses;

static _Atomic long g_cond_evals;
long td_rnn_cond_evals(void) { return atomic_load_explicit(&g_cond_evals, memory_order_relaxed); }

long td_rnn_hoisted_uses(void) { return atomic_load_explicit(&g_hoisted_uses, memory_order_relaxed); }

/* The largest product buffer hoisted (bytes; it is kept per While node between runs); bigger
 * loops keep their per-step products. */
enum { MAX_HOIST_BYTES = 64 << 20 };
size_t td_rnn_hoist_chunk_bytes = 1 << 20;

static int is_passthrough(const td_callable *body, int feed) {
  return feed >= 0 && feed < body->nfetch && body->fetch[feed].kind == SRC_FEED && body->fetch[feed].idx == feed;
}

/* The step producing slot `slot` and its output index, or NULL. */
static const td_step *producer(const td_callable *c, int slot, int *out_index) {
  for (int k = 0; k < c->nsteps; k++) {
    const td_step *sp = &c->steps[k];
    if (slot >= sp->out_base && slot < sp->out_base + sp->nout) {
      *out_index = slot - sp->out_base;
      return sp;
    }
  }
  return NULL;
}

int td_rnn_opt_active(void) {
  const char *env = getenv("TD_RNN_OPT");
  if (env && !strcmp(env, "0")) td_rnn_opt_enabled = 0;
  return td_rnn_opt_enabled;
}

int td_rnn_hoist_analyze(const td_callable *body, td_rnn_hoist_site *sites) {
  if (!td_rnn_opt_active() || !body || body->dataflow || body->nfetch != body->nfeeds) return 0;
  int ns = 0;
  for (int k = 0; k < body->nsteps && ns < TD_RNN_MAX_HOIST; k++) {
    const td_step *sp = &body->steps[k];
    const td_node *n = sp->node;
    /* (a, b, [a2, b2,] bias[, c]): a·b is this node's product */
    int fused = sp->fn == td_k_rnn_matmul_bias || sp->fn == td_k_rnn_lstm_step;
    if (strcmp(n->op, "MatMul") || (!fused && (sp->fn || sp->nin != 2)) || sp->fused_bias >= 0 ||
        sp->fused_act != TD_ACT_NONE)
      continue;
    if (td_attr_type(n, "T", TD_DT_FLOAT) != TD_DT_FLOAT || td_attr_bool(n, "transpose_a", false)) continue;
    if (sp->in[0].kind != SRC_SLOT) continue;
    int oi = -1;
    const td_step *g = producer(body, sp->in[0].idx, &oi);
    if (!g || oi != 0 || strcmp(g->node->op, "TensorListGetItem") || g->nin < 1 || g->in[0].kind != SRC_FEED)
      continue;
    int list_feed = g->in[0].idx;
    if (!is_passthrough(body, list_feed)) continue;
    td_rnn_hoist_site s = {.matmul = n, .list_feed = list_feed, .w_feed = -1,
                           .tb = td_attr_bool(n, "transpose_b", false)};
    if (sp->in[1].kind == SRC_FEED && is_passthrough(body, sp->in[1].idx))
      s.w_feed = sp->in[1].idx;
    else if (sp->in[1].kind == SRC_CONST)
      s.w_const = &body->consts[sp->in[1].idx];
    else
      continue;
    sites[ns++] = s;
  }
  return ns;
}

/* Product buffers kept between runs of one While node: a buffer of many MiB freshly mapped on
 * every run costs a page fault per 4 KiB (as much as the GEMM at batch 256). */
enum { POOL_SLOTS = 4 }; /* a product and a gathered input for each of two split parts */
struct td_rnn_pool {
  pthread_mutex_t mu;
  float *buf[POOL_SLOTS];
  size_t cap[POOL_SLOTS];
};

td_rnn_pool *td_rnn_pool_new(void) {
  td_rnn_pool *p = calloc(1, sizeof *p);
  if (p) pthread_mutex_init(&p->mu, NULL);
  return p;
}

void td_rnn_pool_free(td_rnn_pool *p) {
  if (!p) return;
  for (int i = 0; i < POOL_SLOTS; i++) free(p->buf[i]);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* A buffer of at least n bytes (*cap: its size), from the pool when one fits. */
static float *pool_take(td_rnn_pool *p, size_t n, size_t *cap) {
  if (p) {
    pthread_mutex_lock(&p->mu);
    int best = -1; /* the smallest that fits */
    for (int i = 0; i < POOL_SLOTS; i++)
      if (p->buf[i] && p->cap[i] >= n && (best < 0 || p->cap[i] < p->cap[best])) best = i;
    if (best >= 0) {
      float *b = p->buf[best];
      *cap = p->cap[best];
      p->buf[best] = NULL;
      pthread_mutex_unlock(&p->mu);
      return b;
    }
    pthread_mutex_unlock(&p->mu);
  }
  *cap = n;
  return malloc(n);
}

static void pool_give(td_rnn_pool *p, float *b, size_t cap) {
  if (p && b) {
    pthread_mutex_lock(&p->mu);
    int slot = 0; /* an empty slot, else the smallest buffer (replaced if this one is bigger) */
    for (int i = 0; i < POOL_SLOTS; i++)
      if (!p->buf[i] || (p->buf[slot] && p->cap[i] < p->cap[slot])) slot = i;
    if (!p->buf[slot] || p->cap[slot] < cap) {
      float *old = p->buf[slot];
      p->buf[slot] = b, p->cap[slot] = cap;
      b = old;
    }
    pthread_mutex_unlock(&p->mu);
  }
  free(b);
}

struct td_rnn_hoisted {
  const td_node *node;
  td_tensor w;      /* a reference: its storage stays this buffer */
  int64_t nitems, rows, in, n, cursor;
  int tb, contiguous; /* transpose_b; the items' rows lie back to back from items[0] */
  int64_t chunk, c0, cn; /* items per chunk; the chunk held: items [c0, c0 + cn) */
  int64_t recomputes;    /* chunks computed after the first; bounded (random access) */
  td_tensor *items; /* references to every list item */
  float *xw;        /* [chunk * rows, n]: item c0 + i's rows at i * rows * n */
  size_t xw_cap;
  float *gathered;  /* [chunk * rows, in] when the items are not contiguous */
  size_t gcap;
  td_rnn_pool *pool;
  td_rnn_hoisted *prev;
};

static _Thread_local td_rnn_hoisted *g_top;

static void hoisted_free(td_rnn_hoisted *h) {
  for (int64_t i = 0; i < h->nitems; i++) td_tensor_release(&h->items[i]);
  td_tensor_release(&h->w);
  free(h->items);
  pool_give(h->pool, h->xw, h->xw_cap);
  pool_give(h->pool, h->gathered, h->gcap);
  free(h);
}

/* Computes the products of items [start, start + chunk) (fewer at the end) into h->xw. */
static void compute_chunk(td_rnn_hoisted *h, int64_t start) {
  int64_t count = h->nitems - start < h->chunk ? h->nitems - start : h->chunk;
  const float *a = td_f32(&h->items[start]);
  if (!h->contiguous) {
    for (int64_t i = 0; i < count; i++)
      memcpy(h->gathered + i * h->rows * h->in, h->items[start + i].data, (size_t)(h->rows * h->in) * sizeof(float));
    a = h->gathered;
  }
  td_math_sgemm_fast(0, h->tb, count * h->rows, h->n, h->in, a, h->in, td_f32(&h->w), h->w.shape.dim[1], 0.0f, h->xw,
                     h->n);
  h->c0 = start, h->cn = count;
}

/* One site's context, or NULL when its operands do not qualify. */
static td_rnn_hoisted *hoist_one(const td_rnn_hoist_site *s, const td_tensor *vars, int nvars, td_rnn_pool *pool) {
  if (s->list_feed >= nvars || s->w_feed >= nvars) return NULL;
  const td_tlist *l = tl_of(&vars[s->list_feed]);
  const td_tensor *w = s->w_feed >= 0 ? &vars[s->w_feed] : s->w_const;
  if (!l || !w || l->element_dtype != TD_DT_FLOAT || l->n < 2 || w->dtype != TD_DT_FLOAT || w->shape.rank != 2)
    return NULL;
  const td_tensor *it0 = &l->items[0];
  if (it0->dtype != TD_DT_FLOAT || it0->shape.rank != 2 || it0->shape.dim[0] < 1) return NULL;
  int64_t T = l->n, rows = it0->shape.dim[0], in = it0->shape.dim[1];
  int64_t k = s->tb ? w->shape.dim[1] : w->shape.dim[0], n = s->tb ? w->shape.dim[0] : w->shape.dim[1];
  if (k != in || in < 1 || n < 1 || (double)T * rows * n * sizeof(float) > MAX_HOIST_BYTES ||
      (double)T * rows * in * sizeof(float) > MAX_HOIST_BYTES)
    return NULL;
  int contiguous = 1;
  for (int64_t i = 0; i < T; i++) {
    const td_tensor *it = &l->items[i];
    if (it->dtype != TD_DT_FLOAT || !td_shape_equal(&it->shape, &it0->shape) || !it->data) return NULL;
    contiguous &= td_f32(it) == td_f32(it0) + i * rows * in;
  }
  if (T * rows > INT32_MAX || n > INT32_MAX || in > INT32_MAX || w->shape.dim[1] > INT32_MAX) return NULL;
  size_t item_bytes = (size_t)(rows * n) * sizeof(float);
  int64_t chunk = (int64_t)(td_rnn_hoist_chunk_bytes / item_bytes);
  chunk = chunk < 1 ? 1 : chunk > T ? T : chunk;
  td_rnn_hoisted *h = calloc(1, sizeof *h);
  if (!h) return NULL;
  h->items = calloc((size_t)T, sizeof *h->items);
  h->pool = pool;
  h->xw = pool_take(pool, (size_t)(chunk * rows * n) * sizeof(float), &h->xw_cap);
  /* items that are row ranges of longer items (a split loop's part) are gathered per chunk */
  if (!contiguous) h->gathered = pool_take(pool, (size_t)(chunk * rows * in) * sizeof(float), &h->gcap);
  if (!h->items || !h->xw || (!contiguous && !h->gathered)) {
    hoisted_free(h);
    return NULL;
  }
  for (int64_t i = 0; i < T; i++) h->items[i] = td_tensor_ref(&l->items[i]);
  h->nitems = T;
  h->w = td_tensor_ref(w);
  h->node = s->matmul;
  h->rows = rows, h->in = in, h->n = n;
  h->tb = s->tb, h->contiguous = contiguous, h->chunk = chunk;
  compute_chunk(h, 0);
  return h;
}

int td_rnn_hoist_begin(const td_rnn_hoist_site *sites, int nsites, const td_tensor *loop_vars, int nvars,
                       td_rnn_pool *pool) {
  if (!td_rnn_opt_enabled) return 0;
  int pushed = 0;
  for (int i = 0; i < nsites; i++) {
    td_rnn_hoisted *h = hoist_one(&sites[i], loop_vars, nvars, pool);
    if (!h) continue;
    h->prev = g_top;
    g_top = h;
    pushed++;
  }
  return pushed;
}

void td_rnn_hoist_end(int n) {
  for (int i = 0; i < n && g_top; i++) {
    td_rnn_hoisted *h = g_top;
    g_top = h->prev;
    hoisted_free(h);
  }
}

const float *td_rnn_hoisted_rows(const td_node *node, const td_tensor *a, const td_tensor *b, int64_t *n_out) {
  for (td_rnn_hoisted *h = g_top; h; h = h->prev) {
    if (h->node != node) continue;
    if (b->data != h->w.data || !td_shape_equal(&b->shape, &h->w.shape) || b->dtype != TD_DT_FLOAT ||
        a->dtype != TD_DT_FLOAT || a->shape.rank != 2 || a->shape.dim[0] != h->rows || a->shape.dim[1] != h->in)
      return NULL;
    int64_t k = h->cursor < h->nitems && h->items[h->cursor].data == a->data ? h->cursor : -1;
    for (int64_t i = 0; k < 0 && i < h->nitems; i++)
      if (h->items[i].data == a->data) k = i;
    if (k < 0) return NULL;
    if (k < h->c0 || k >= h->c0 + h->cn) { /* forward: a chunk from k; backward: one ending at k */
      /* a pass over the list computes each chunk once; far more means items are read out of
       * order, where chunks would multiply the work: the steps multiply themselves */
      if (++h->recomputes > 2 * (h->nitems / h->chunk + 1)) return NULL;
      compute_chunk(h, k >= h->c0 + h->cn ? k : (k - h->chunk + 1 > 0 ? k - h->chunk + 1 : 0));
    }
    h->cursor = k + 1;
    *n_out = h->n;
    atomic_fetch_add_explicit(&g_hoisted_uses, 1, memory_order_relaxed);
    return h->xw + (k - h->c0) * h->rows * h->n;
  }
  return NULL;
}

/* ---- loop conditions (opt_rnn.h) ---- */

static const char *const kCondOps[] = {"Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr"};

/* An operand of cond step k; 0 if it is not a scalar of the kind the op needs. */
static int cond_arg(const td_callable *c, int k, td_src src, int logical, td_dtype t, td_rnn_cond_arg *out) {
  if (src.kind == SRC_FEED) {
    *out = (td_rnn_cond_arg){0, src.idx, 0};
    return 1;
  }
  if (src.kind == SRC_CONST) {
    const td_tensor *v = &c->consts[src.idx];
    if (v->shape.rank != 0 || v->dtype != (logical ? TD_DT_BOOL : t)) return 0;
    *out = (td_rnn_cond_arg){1, 0, logical ? td_u8(v)[0] != 0 : td_tensor_get_int(v, 0)};
    return 1;
  }
  for (int j = 0; j < k; j++) /* an earlier step's (bool) result: only logical ops take it */
    if (c->steps[j].out_base == src.idx && logical) {
      *out = (td_rnn_cond_arg){2, j, 0};
      return 1;
    }
  return 0;
}

int td_rnn_cond_analyze(const td_callable *c, td_rnn_cond *out) {
  memset(out, 0, sizeof *out);
  if (!td_rnn_opt_active() || !c || c->dataflow || c->nfetch != 1 || c->nsteps < 1 || c->nsteps > TD_RNN_COND_MAX)
    return 0;
  for (int k = 0; k < c->nsteps; k++) {
    const td_step *sp = &c->steps[k];
    int op = -1;
    for (int o = 0; o < 6; o++)
      if (!strcmp(sp->node->op, kCondOps[o])) op = o;
    if (op < 0 || sp->fn || sp->nin != 2 || sp->nout != 1 || sp->nfuncs) return 0;
    int logical = op >= 4;
    td_dtype t = logical ? TD_DT_BOOL : td_attr_type(sp->node, "T", TD_DT_INVALID);
    if (t != TD_DT_INT32 && t != TD_DT_INT64 && t != TD_DT_BOOL) return 0;
    out->step[k].op = op;
    out->step[k].t = t;
    if (!cond_arg(c, k, sp->in[0], logical, t, &out->step[k].a) || !cond_arg(c, k, sp->in[1], logical, t, &out->step[k].b))
      return 0;
  }
  /* the fetch is the last step's output */
  if (c->fetch[0].kind != SRC_SLOT || c->fetch[0].idx != c->steps[c->nsteps - 1].out_base) return 0;
  out->nsteps = c->nsteps;
  return 1;
}

static int cond_value(const td_rnn_cond_arg *a, td_dtype t, const int64_t *res, const td_tensor *vars, int nvars,
                      int64_t *v) {
  if (a->kind == 1) {
    *v = a->value;
  } else if (a->kind == 2) {
    *v = res[a->idx];
  } else {
    if (a->idx >= nvars) return -1;
    const td_tensor *x = &vars[a->idx];
    if (x->shape.rank != 0 || x->dtype != t || !x->data) return -1;
    *v = t == TD_DT_BOOL ? td_u8(x)[0] != 0 : td_tensor_get_int(x, 0);
  }
  return 0;
}

int td_rnn_cond_eval(const td_rnn_cond *cd, const td_tensor *vars, int nvars, int *go) {
  if (!td_rnn_opt_enabled || cd->nsteps < 1) return -1;
  int64_t res[TD_RNN_COND_MAX];
  for (int k = 0; k < cd->nsteps; k++) {
    int64_t a, b;
    if (cond_value(&cd->step[k].a, cd->step[k].t, res, vars, nvars, &a) ||
        cond_value(&cd->step[k].b, cd->step[k].t, res, vars, nvars, &b))
      return -1;
    switch (cd->step[k].op) {
      case 0: res[k] = a < b; break;
      case 1: res[k] = a <= b; break;
      case 2: res[k] = a > b; break;
      case 3: res[k] = a >= b; break;
      case 4: res[k] = a && b; break;
      default: res[k] = a || b; break;
    }
  }
  *go = res[cd->nsteps - 1] != 0;
  atomic_fetch_add_explicit(&g_cond_evals, 1, memory_order_relaxed);
  return 0;
}
