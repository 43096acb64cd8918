/* nn_dnnl.c — oneDNN (2.6 C API) 2-D/3-D convolution with per-node cached plans.
 *
 * A plan is built per geometry (input shape + filter shape; the node's attrs are fixed): the
 * convolution primitive is created with format_tag_any so oneDNN picks its (usually blocked)
 * layouts, plus reorders from/to the caller's channels-last/-first tensors and TF's [D]HWIO
 * filter (a reorder is skipped when oneDNN's choice equals the user layout). Reordered weights
 * are cached in the plan keyed by a fingerprint of the filter they came from: its address plus
 * up to FINGERPRINT_SAMPLES evenly spaced values (O(1) per run). Tensors are immutable once
 * produced, so a new filter has a new address or, if the allocator reused the address,
 * almost surely different sampled values; a run whose fingerprint differs (a fed or
 * re-assigned filter) re-reorders and replaces them. Limitation: a new filter at a reused
 * address that equals the old one at every sampled position would reuse stale weights
 * (impossible for constant filters, the serving case). A filter that is the step's callable
 * constant input 1 is identified by address and size alone (no sampling: ~2.5% of MobileNetV2
 * at batch 1).
 *
 * A fused epilogue (td_k_fusion) becomes the convolution's bias memory plus an eltwise post-op
 * (relu, or clip [0, 6] for Relu6); it is part of the plan key.
 *
 * Plans whose weights layouts are equal share one weights object (refcounted), so serving many
 * batch sizes does not multiply the node's weight memory.
 *
 * A geometry under TD_BLAS_SERIAL_MACS multiply-adds (blas_dnnl.h: a dense layer at batch 1)
 * has its plan made and run with a team of one, on the calling thread: oneDNN fixes a
 * primitive's thread split from the team size when the primitive is created, and a fork/join
 * costs more than such a product gains (DeepFM at batch 1, 2 threads: 0.062 → 0.046 ms).
 *
 * Concurrency: the node state holds a mutex guarding its MRU plan list and every refcount. Runs
 * take references on the plan and its weights under the lock and execute without it: primitives
 * are immutable, every run creates its own stream, memory objects and (user-mode) scratchpad.
 * Evicted or replaced objects are freed by whoever drops the last reference.
 */
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/blas_dnnl.h"
#include "engine/kernels/nn.h"
#include "util/mem.h"

#define CONV_MAX_PLANS 8
#define DNNL_ALIGN 64
#define FINGERPRINT_SAMPLES 256
#define WINOGRAD_MIN_OUTPUT_PIXELS 200 /* batch x output height x width; tuned on the bench CNN */

static atomic_int g_dnnl_on = 1;
static atomic_int g_winograd_on = 1;
static atomic_long g_weight_reorders; /* statistics for tests */
static atomic_long g_winograd_plans;
void td_nn_set_dnnl_enabled(int on) { atomic_store(&g_dnnl_on, on ? 1 : 0); }
int td_nn_dnnl_enabled(void) { return atomic_load(&g_dnnl_on); }
void td_nn_set_winograd_enabled(int on) { atomic_store(&g_winograd_on, on ? 1 : 0); }
long td_nn_dnnl_weight_reorders(void) { return atomic_load(&g_weight_reorders); }
long td_nn_dnnl_winograd_plans(void) { return atomic_load(&g_winograd_plans); }

static pthread_once_t g_engine_once = PTHREAD_ONCE_INIT;
static dnnl_engine_t g_engine; /* process-wide CPU engine; never freed */
static void engine_init(void) {
  if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_engine = NULL;
}

/* A primitive with the scratchpad it wants (user scratchpad mode: thread-safe reuse). */
typedef struct dnnl_step {
  dnnl_primitive_t prim; /* NULL = step not needed (layouts already match) */
  dnnl_memory_desc_t scratch;
} dnnl_step;

typedef struct conv_weights {
  int refs;          /* guarded by the state lock */
  uint64_t hash;     /* filter_fingerprint of the user filter these were made from */
  void *data;        /* in the primitive's weights layout */
} conv_weights;

typedef struct conv_plan {
  int refs; /* guarded by the state lock; the MRU list holds one */
  td_nn_conv geom;
  int has_bias, act; /* fused epilogue (part of the key): bias memory, eltwise post-op */
  dnnl_memory_desc_t user_src, user_wei, user_dst, user_bias, src, wei, dst;
  dnnl_step conv, src_reorder, wei_reorder, dst_reorder;
  conv_weights *weights; /* NULL until first run, or when no weights reorder is needed */
} conv_plan;

typedef struct conv_state {
  pthread_mutex_t lock;
  conv_plan *plans[CONV_MAX_PLANS]; /* most recently used first */
  int nplans;
} conv_state;

/* ---- small helpers ---- */

static void *aligned_buf(size_t n) {
  if (n == 0) n = DNNL_ALIGN;
  size_t rounded = (n + DNNL_ALIGN - 1) / DNNL_ALIGN * DNNL_ALIGN;
  return rounded < n ? NULL : aligned_alloc(DNNL_ALIGN, rounded);
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x100000001b3ull;
  return h ^ (h >> 29);
}

/* Address, size and sampled values of filter f (n floats); always samples f[0] and f[n-1]. */
static uint64_t filter_fingerprint(const float *f, size_t n) {
  uint64_t h = mix(mix(0x9e3779b97f4a7c15ull, (uint64_t)(uintptr_t)f), n);
  size_t step = n > FINGERPRINT_SAMPLES ? n / FINGERPRINT_SAMPLES : 1;
  for (size_t i = 0; i < n; i += step) {
    uint32_t bits;
    memcpy(&bits, f + i, sizeof bits);
    h = mix(h, bits);
  }
  if (n > 0) {
    uint32_t last;
    memcpy(&last, f + n - 1, sizeof last);
    h = mix(h, last);
  }
  return h;
}

static int geom_equal(const td_nn_conv *a, const td_nn_conv *b) {
  const td_nn_window *x = &a->w, *y = &b->w;
  const int64_t xs[] = {x->n,  x->id, x->ih, x->iw, x->ic, x->kd, x->kh, x->kw,
                        x->sd, x->sh, x->sw, x->dd, x->dh, x->dw, x->pad_front, x->pad_back,
                        x->pad_t, x->pad_b, x->pad_l, x->pad_r, x->od, x->oh, x->ow,
                        x->spatial, x->nchw, a->oc, a->groups};
  const int64_t ys[] = {y->n,  y->id, y->ih, y->iw, y->ic, y->kd, y->kh, y->kw,
                        y->sd, y->sh, y->sw, y->dd, y->dh, y->dw, y->pad_front, y->pad_back,
                        y->pad_t, y->pad_b, y->pad_l, y->pad_r, y->od, y->oh, y->ow,
                        y->spatial, y->nchw, b->oc, b->groups};
  return memcmp(xs, ys, sizeof xs) == 0;
}

static void step_destroy(dnnl_step *s) {
  if (s->prim) dnnl_primitive_destroy(s->prim);
  s->prim = NULL;
}

static void weights_unref(conv_weights *w) { /* caller holds the lock (or is the only owner) */
  if (w && --w->refs == 0) {
    free(w->data);
    free(w);
  }
}

static void plan_unref(conv_plan *p) { /* caller holds the lock (or is the only owner) */
  if (!p || --p->refs > 0) return;
  step_destroy(&p->conv);
  step_destroy(&p->src_reorder);
  step_destroy(&p->wei_reorder);
  step_destroy(&p->dst_reorder);
  weights_unref(p->weights);
  free(p);
}

/* Post-op (eltwise alg, alpha, beta) per fused activation; alg 0 = none. */
static const struct {
  dnnl_alg_kind_t alg;
  float alpha, beta;
} act_post_ops[] = {
    [TD_ACT_NONE] = {dnnl_alg_kind_undef, 0, 0},
    [TD_ACT_RELU] = {dnnl_eltwise_relu, 0, 0},
    [TD_ACT_RELU6] = {dnnl_eltwise_clip, 0, 6},
};

/* Adds the activation `act` (TD_ACT_*) to attr as an eltwise post-op. */
static int attr_set_act(dnnl_primitive_attr_t attr, int act) {
  if (act <= 0 || act >= (int)(sizeof act_post_ops / sizeof act_post_ops[0])) return act ? -1 : 0;
  dnnl_post_ops_t po = NULL;
  int ok = dnnl_post_ops_create(&po) == dnnl_success &&
           dnnl_post_ops_append_eltwise(po, 1.0f, act_post_ops[act].alg, act_post_ops[act].alpha,
                                        act_post_ops[act].beta) == dnnl_success &&
           dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
  if (po) dnnl_post_ops_destroy(po);
  return ok ? 0 : -1;
}

/* Creates the primitive for pd-creating `desc` (op desc or NULL for a reorder src→dst), with
 * the fused activation `act` as a post-op (op descs only). */
static int step_make(dnnl_step *s, const void *op_desc, const dnnl_memory_desc_t *src,
                     const dnnl_memory_desc_t *dst, int act, dnnl_primitive_desc_t *keep_pd) {
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd = NULL;
  int ok = dnnl_primitive_attr_create(&attr) == dnnl_success &&
           dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) ==
               dnnl_success && attr_set_act(attr, act) == 0;
  if (ok && op_desc)
    ok = dnnl_primitive_desc_create(&pd, op_desc, attr, g_engine, NULL) == dnnl_success;
  else if (ok)
    ok = dnnl_reorder_primitive_desc_create(&pd, src, g_engine, dst, g_engine, attr) ==
         dnnl_success;
  if (ok) ok = dnnl_primitive_create(&s->prim, pd) == dnnl_success;
  if (ok) s->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (ok && keep_pd) *keep_pd = pd;
  else if (pd) dnnl_primitive_desc_destroy(pd);
  if (!ok) s->prim = NULL;
  return ok ? 0 : -1;
}

/* A reorder step only when the layouts differ. */
static int reorder_make(dnnl_step *s, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to) {
  if (dnnl_memory_desc_equal(from, to)) return 0;
  return step_make(s, NULL, from, to, 0, NULL);
}

static int md_strided(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims,
                      const dnnl_dims_t strides) {
  return dnnl_memory_desc_init_by_strides(md, nd, dims, dnnl_f32, strides) == dnnl_success ? 0 : -1;
}

static int md_any(dnnl_memory_desc_t *md, int nd, const dnnl_dims_t dims) {
  return dnnl_memory_desc_init_by_tag(md, nd, dims, dnnl_f32, dnnl_format_tag_any) == dnnl_success
             ? 0
             : -1;
}

/* Dense strides of logical dims {N, C, spatial...} for a channels-last or -first layout. */
static void activation_md_dims(int64_t n, int64_t ch, const int64_t *sp, int nsp, int nchw,
                               dnnl_dims_t dims, dnnl_dims_t strides) {
  int64_t pixels = 1;
  for (int i = 0; i < nsp; i++) pixels *= sp[i];
  dims[0] = n, dims[1] = ch;
  int64_t inner = nchw ? 1 : ch; /* stride of the innermost spatial dim */
  for (int i = nsp - 1; i >= 0; i--) {
    dims[2 + i] = sp[i];
    strides[2 + i] = inner;
    inner *= sp[i];
  }
  strides[1] = nchw ? pixels : 1;
  strides[0] = pixels * ch;
}

/* User-layout descriptors: activations channels-last or -first (logical dims N, C, [D,] H, W),
 * filter [D]HWIO (logical O, I, [D,] H, W, or G, O/G, I/G, [D,] H, W when grouped). */
static int plan_user_mds(conv_plan *p, dnnl_dims_t src_d, dnnl_dims_t dst_d, dnnl_dims_t wei_d,
                         int *wei_nd) {
  const td_nn_window *w = &p->geom.w;
  int nsp = w->spatial, nd = nsp + 2, off = nsp == 3 ? 0 : 1;
  int64_t oc = p->geom.oc, groups = p->geom.groups, ig = w->ic / groups, og = oc / groups;
  const int64_t in_sp[3] = {w->id, w->ih, w->iw}, out_sp[3] = {w->od, w->oh, w->ow};
  const int64_t k_sp[3] = {w->kd, w->kh, w->kw};
  dnnl_dims_t s_in = {0}, s_out = {0}, s_wei = {0};
  activation_md_dims(w->n, w->ic, in_sp + off, nsp, w->nchw, src_d, s_in);
  activation_md_dims(w->n, oc, out_sp + off, nsp, w->nchw, dst_d, s_out);
  if (md_strided(&p->user_src, nd, src_d, s_in) || md_strided(&p->user_dst, nd, dst_d, s_out))
    return -1;
  /* Filter memory is [k_sp..., ig, oc] row-major; o = g * og + j. */
  int lead = groups == 1 ? 2 : 3; /* logical dims before the spatial ones */
  int64_t inner = ig * oc;
  for (int i = nsp - 1; i >= 0; i--) {
    wei_d[lead + i] = k_sp[off + i];
    s_wei[lead + i] = inner;
    inner *= k_sp[off + i];
  }
  if (groups == 1) {
    wei_d[0] = oc, wei_d[1] = ig, s_wei[0] = 1, s_wei[1] = oc;
  } else {
    wei_d[0] = groups, wei_d[1] = og, wei_d[2] = ig;
    s_wei[0] = og, s_wei[1] = 1, s_wei[2] = oc;
  }
  *wei_nd = lead + nsp;
  return md_strided(&p->user_wei, *wei_nd, wei_d, s_wei);
}

/* A 1x1 filter over 1x1 channels-last images (how MatMul calls in): an inner product. */
static int plan_is_dense(const td_nn_conv *g) {
  const td_nn_window *w = &g->w;
  return w->spatial == 2 && !w->nchw && g->groups == 1 && w->ih == 1 && w->iw == 1 &&
         w->kh == 1 && w->kw == 1 && w->oh == 1 && w->ow == 1 && w->pad_t == 0 && w->pad_l == 0;
}

/* Winograd F(4x4, 3x3) for 3x3 stride-1 2-D convolutions with many input and output channels
 * and enough output tiles: about 2x fewer FLOPs than direct (measured on the benchmark CNN's
 * 32->64 conv: 0.6 ms vs 1.3 ms at batch 32, reorders included), at the cost of blocked-layout
 * reorders, which is why thin convolutions (an image's first layer) stay direct. oneDNN may
 * refuse (no AVX-512, channel counts); plan_create then falls back to direct. Its float error
 * is a few ulps larger than direct's (tests/unit/kernels/test_nn_conv.c bounds it). */
static int plan_wants_winograd(const td_nn_conv *g) {
  const td_nn_window *w = &g->w;
  return g_winograd_on && w->spatial == 2 && g->groups == 1 && w->kh == 3 && w->kw == 3 &&
         w->sh == 1 && w->sw == 1 && w->dh == 1 && w->dw == 1 && w->ic >= 16 && g->oc >= 16 &&
         w->n * w->oh * w->ow >= WINOGRAD_MIN_OUTPUT_PIXELS;
}

static conv_plan *plan_create(const td_nn_conv *g, int has_bias, int act) {
  if (g->w.dd < 1 || g->w.dh < 1 || g->w.dw < 1) return NULL;
  conv_plan *p = td_xcalloc(1, sizeof *p);
  p->refs = 1;
  p->geom = *g;
  p->has_bias = has_bias;
  p->act = act;
  dnnl_dims_t bias_d = {g->oc};
  const td_nn_window *w = &g->w;
  dnnl_dims_t src_d = {0}, dst_d = {0}, wei_d = {0};
  int wei_nd = 4, nd = w->spatial + 2;
  dnnl_memory_desc_t src_any, wei_any, dst_any;
  dnnl_convolution_desc_t cd;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_dims_t strides = {w->sh, w->sw}, dil = {w->dh - 1, w->dw - 1};
  dnnl_dims_t pad_l = {w->pad_t, w->pad_l}, pad_r = {w->pad_b, w->pad_r};
  if (w->spatial == 3) {
    dnnl_dims_t s3 = {w->sd, w->sh, w->sw}, d3 = {w->dd - 1, w->dh - 1, w->dw - 1};
    dnnl_dims_t l3 = {w->pad_front, w->pad_t, w->pad_l}, r3 = {w->pad_back, w->pad_b, w->pad_r};
    memcpy(strides, s3, sizeof s3), memcpy(dil, d3, sizeof d3);
    memcpy(pad_l, l3, sizeof l3), memcpy(pad_r, r3, sizeof r3);
  }
  int ok = (!has_bias || dnnl_memory_desc_init_by_tag(&p->user_bias, 1, bias_d, dnnl_f32,
                                                     dnnl_a) == dnnl_success);
  if (plan_is_dense(g)) { /* inner product: [n, ic] x [ic, oc] in the user's layouts */
    dnnl_inner_product_desc_t ipd;
    dnnl_dims_t s2 = {w->n, w->ic}, ss = {w->ic, 1}, d2 = {w->n, g->oc}, ds = {g->oc, 1};
    dnnl_dims_t w2 = {g->oc, w->ic}, ws = {1, g->oc};
    ok = ok && md_strided(&p->user_src, 2, s2, ss) == 0 && md_strided(&p->user_dst, 2, d2, ds) == 0 &&
         md_strided(&p->user_wei, 2, w2, ws) == 0 && md_any(&wei_any, 2, w2) == 0;
    ok = ok && dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &p->user_src,
                                                    &wei_any, has_bias ? &p->user_bias : NULL,
                                                    &p->user_dst) == dnnl_success;
    ok = ok && step_make(&p->conv, &ipd, NULL, NULL, act, &pd) == 0;
  } else {
    ok = ok && plan_user_mds(p, src_d, dst_d, wei_d, &wei_nd) == 0 &&
         md_any(&src_any, nd, src_d) == 0 && md_any(&dst_any, nd, dst_d) == 0 &&
         md_any(&wei_any, wei_nd, wei_d) == 0;
    int made = 0;
    for (int wino = plan_wants_winograd(g); ok && !made && wino >= 0; wino--) {
      made = dnnl_dilated_convolution_forward_desc_init(
                 &cd, dnnl_forward_inference, wino ? dnnl_convolution_winograd : dnnl_convolution_direct,
                 &src_any, &wei_any, has_bias ? &p->user_bias : NULL, &dst_any, strides, dil, pad_l,
                 pad_r) == dnnl_success &&
             step_make(&p->conv, &cd, NULL, NULL, act, &pd) == 0;
      if (made && wino) atomic_fetch_add(&g_winograd_plans, 1);
    }
    ok = ok && made;
  }
  if (ok) {
    p->src = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    p->wei = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    p->dst = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_primitive_desc_destroy(pd);
    ok = reorder_make(&p->src_reorder, &p->user_src, &p->src) == 0 &&
         reorder_make(&p->wei_reorder, &p->user_wei, &p->wei) == 0 &&
         reorder_make(&p->dst_reorder, &p->dst, &p->user_dst) == 0;
  }
  if (!ok) {
    plan_unref(p);
    return NULL;
  }
  return p;
}

/* ---- execution ---- */

typedef struct exec_arg_list {
  dnnl_exec_arg_t a[6];
  int n;
} exec_arg_list;

/* Memory objects created for one run; all released by run_mems_free. */
typedef struct run_mems {
  dnnl_memory_t m[12];
  int n;
} run_mems;

static dnnl_memory_t mem_wrap(run_mems *ms, const dnnl_memory_desc_t *md, void *data) {
  dnnl_memory_t m = NULL;
  if (ms->n >= (int)(sizeof ms->m / sizeof ms->m[0])) return NULL;
  if (dnnl_memory_create(&m, md, g_engine, data) != dnnl_success) return NULL;
  ms->m[ms->n++] = m;
  return m;
}

static void run_mems_free(run_mems *ms) {
  for (int i = 0; i < ms->n; i++) dnnl_memory_destroy(ms->m[i]);
  ms->n = 0;
}

/* Executes a step; src/dst are (arg, memory) pairs; scratch is the run's shared buffer. */
static int step_exec(const dnnl_step *s, dnnl_stream_t stream, run_mems *ms, void *scratch,
                     exec_arg_list *args) {
  if (dnnl_memory_desc_get_size(&s->scratch) > 0) {
    dnnl_memory_t sm = mem_wrap(ms, &s->scratch, scratch);
    if (!sm) return -1;
    args->a[args->n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sm};
  }
  return dnnl_primitive_execute(s->prim, stream, args->n, args->a) == dnnl_success ? 0 : -1;
}

static int reorder_exec(const dnnl_step *s, dnnl_stream_t stream, run_mems *ms, void *scratch,
                        dnnl_memory_t from, dnnl_memory_t to) {
  exec_arg_list args = {{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, 2};
  return step_exec(s, stream, ms, scratch, &args);
}

static size_t plan_scratch_bytes(const conv_plan *p) {
  const dnnl_step *steps[4] = {&p->conv, &p->src_reorder, &p->wei_reorder, &p->dst_reorder};
  size_t max = 0;
  for (int i = 0; i < 4; i++) {
    if (!steps[i]->prim) continue;
    size_t n = dnnl_memory_desc_get_size(&steps[i]->scratch);
    if (n > max) max = n;
  }
  return max;
}

/* New weights for filter f in the plan's layout (refs = 1), or NULL on failure. */
static conv_weights *weights_make(const conv_plan *p, const float *f, uint64_t hash) {
  atomic_fetch_add(&g_weight_reorders, 1);
  conv_weights *w = td_xcalloc(1, sizeof *w);
  w->refs = 1;
  w->hash = hash;
  w->data = aligned_buf(dnnl_memory_desc_get_size(&p->wei));
  void *scratch = aligned_buf(plan_scratch_bytes(p));
  dnnl_stream_t stream = NULL;
  run_mems ms = {0};
  int ok = w->data && scratch && dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags) ==
                                      dnnl_success;
  if (ok) {
    dnnl_memory_t from = mem_wrap(&ms, &p->user_wei, (void *)f), to = mem_wrap(&ms, &p->wei, w->data);
    ok = from && to && reorder_exec(&p->wei_reorder, stream, &ms, scratch, from, to) == 0 &&
         dnnl_stream_wait(stream) == dnnl_success;
  }
  if (stream) dnnl_stream_destroy(stream);
  run_mems_free(&ms);
  free(scratch);
  if (!ok) {
    weights_unref(w);
    return NULL;
  }
  return w;
}

static int plan_run(const conv_plan *p, const float *in, const void *wei, const float *bias,
                    float *out) {
  void *scratch = aligned_buf(plan_scratch_bytes(p));
  void *src_buf = p->src_reorder.prim ? aligned_buf(dnnl_memory_desc_get_size(&p->src)) : NULL;
  void *dst_buf = p->dst_reorder.prim ? aligned_buf(dnnl_memory_desc_get_size(&p->dst)) : NULL;
  dnnl_stream_t stream = NULL;
  run_mems ms = {0};
  int ok = scratch && (src_buf || !p->src_reorder.prim) && (dst_buf || !p->dst_reorder.prim) &&
           dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags) == dnnl_success;
  dnnl_memory_t user_src = NULL, src = NULL, weights = NULL, dst = NULL, user_dst = NULL;
  if (ok) {
    user_src = mem_wrap(&ms, &p->user_src, (void *)in);
    src = src_buf ? mem_wrap(&ms, &p->src, src_buf) : user_src;
    weights = mem_wrap(&ms, &p->wei, (void *)wei);
    user_dst = mem_wrap(&ms, &p->user_dst, out);
    dst = dst_buf ? mem_wrap(&ms, &p->dst, dst_buf) : user_dst;
    ok = user_src && src && weights && user_dst && dst;
  }
  if (ok && src_buf) ok = reorder_exec(&p->src_reorder, stream, &ms, scratch, user_src, src) == 0;
  if (ok) {
    exec_arg_list args = {
        {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}}, 3};
    if (p->has_bias) {
      dnnl_memory_t bm = mem_wrap(&ms, &p->user_bias, (void *)bias);
      ok = bm != NULL;
      args.a[args.n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bm};
    }
    ok = ok && step_exec(&p->conv, stream, &ms, scratch, &args) == 0;
  }
  if (ok && dst_buf) ok = reorder_exec(&p->dst_reorder, stream, &ms, scratch, dst, user_dst) == 0;
  if (ok) ok = dnnl_stream_wait(stream) == dnnl_success;
  if (stream) dnnl_stream_destroy(stream);
  run_mems_free(&ms);
  free(scratch);
  free(src_buf);
  free(dst_buf);
  return ok ? 0 : -1;
}

/* ---- per-node state ---- */

static td_code state_create(td_kctx *c, void **out) {
  conv_state *s = td_xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  *out = s;
  return TD_OK;
}

static void state_destroy(void *v) {
  conv_state *s = v;
  for (int i = 0; i < s->nplans; i++) plan_unref(s->plans[i]);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

/* Moves plans[i] to the front. Caller holds the lock. */
static void state_touch(conv_state *s, int i) {
  conv_plan *p = s->plans[i];
  memmove(s->plans + 1, s->plans, (size_t)i * sizeof s->plans[0]);
  s->plans[0] = p;
}

/* A referenced plan for g: cached, or newly built and inserted. NULL if oneDNN declines. */
static conv_plan *state_plan(conv_state *s, const td_nn_conv *g, int has_bias, int act) {
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < s->nplans; i++) {
    const conv_plan *q = s->plans[i];
    if (!geom_equal(&q->geom, g) || q->has_bias != has_bias || q->act != act) continue;
    state_touch(s, i);
    conv_plan *p = s->plans[0];
    p->refs++;
    pthread_mutex_unlock(&s->lock);
    return p;
  }
  pthread_mutex_unlock(&s->lock);
  conv_plan *p = plan_create(g, has_bias, act); /* slow: outside the lock; a racing twin is harmless */
  if (!p) return NULL;
  pthread_mutex_lock(&s->lock);
  if (s->nplans == CONV_MAX_PLANS) plan_unref(s->plans[--s->nplans]);
  s->plans[s->nplans++] = p;
  state_touch(s, s->nplans - 1);
  p->refs++;
  pthread_mutex_unlock(&s->lock);
  return p;
}

/* A referenced weights object for filter f (cached when the fingerprint matches). */
static conv_weights *state_weights(conv_state *s, conv_plan *p, const float *f, int fixed) {
  const td_nn_window *w = &p->geom.w;
  size_t n = (size_t)(w->kd * w->kh * w->kw * (w->ic / p->geom.groups) * p->geom.oc);
  /* a callable constant never changes while the step exists: its address and size identify it */
  uint64_t h = fixed ? mix(mix(0x51ed270b27a2e4a1ull, (uint64_t)(uintptr_t)f), n) : filter_fingerprint(f, n);
  pthread_mutex_lock(&s->lock);
  conv_weights *cw = p->weights;
  /* Plans for other batch sizes usually share the weights layout: reuse their copy. */
  for (int i = 0; (!cw || cw->hash != h) && i < s->nplans; i++) {
    conv_plan *q = s->plans[i];
    if (q == p || !q->weights || q->weights->hash != h || !dnnl_memory_desc_equal(&q->wei, &p->wei))
      continue;
    q->weights->refs++;
    weights_unref(p->weights);
    cw = p->weights = q->weights;
  }
  if (cw && cw->hash == h) {
    cw->refs++;
    pthread_mutex_unlock(&s->lock);
    return cw;
  }
  pthread_mutex_unlock(&s->lock);
  cw = weights_make(p, f, h);
  if (!cw) return NULL;
  pthread_mutex_lock(&s->lock);
  weights_unref(p->weights);
  p->weights = cw;
  cw->refs++;
  pthread_mutex_unlock(&s->lock);
  return cw;
}

/* 1 when a convolution of this geometry is too small to pay for an OpenMP fork/join: the
 * product rule of blas_dnnl.c (TD_BLAS_SERIAL_MACS multiply-adds). */
static int serial_geometry(const td_nn_conv *g) {
  const td_nn_window *w = &g->w;
  double macs = (double)w->n * (double)(w->od > 0 ? w->od : 1) * (double)w->oh * (double)w->ow * (double)g->oc *
                (double)(w->kd > 0 ? w->kd : 1) * (double)w->kh * (double)w->kw * (double)(w->ic / g->groups);
  return macs < TD_BLAS_SERIAL_MACS;
}

static int conv_run(td_kctx *c, conv_state *s, const td_nn_conv *g, const float *in, const float *filter,
                    const td_fusion *f, float *out);

int td_nn_conv_dnnl(td_kctx *c, const td_nn_conv *g, const float *in, const float *filter,
                    const td_fusion *f, float *out) {
  pthread_once(&g_engine_once, engine_init);
  if (!g_engine) return -1;
  void *sv = NULL;
  if (td_k_state(c, state_create, state_destroy, &sv) != TD_OK || !sv) return -1;
  /* A small product (a dense layer at batch 1) runs on the calling thread: oneDNN sizes its
   * primitives' thread split from this thread's team when the plan is created, so the plan of
   * that geometry is made and run with a team of one. */
  int team = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (team > 1 && serial_geometry(g)) {
    omp_set_num_threads(1); /* this thread's team size only: restored right after */
    int rc = conv_run(c, sv, g, in, filter, f, out);
    omp_set_num_threads(team);
    return rc;
  }
  return conv_run(c, sv, g, in, filter, f, out);
}

static int conv_run(td_kctx *c, conv_state *s, const td_nn_conv *g, const float *in, const float *filter,
                    const td_fusion *f, float *out) {
  const float *bias = f && f->bias ? td_f32(f->bias) : NULL;
  conv_plan *p = state_plan(s, g, bias != NULL, f ? (int)f->act : TD_ACT_NONE);
  if (!p) return -1;
  int fixed = td_k_num_inputs(c) > 1 && td_k_input_is_const(c, 1) && td_k_input(c, 1)->data == filter;
  conv_weights *cw = p->wei_reorder.prim ? state_weights(s, p, filter, fixed) : NULL;
  int rc = -1;
  if (cw || !p->wei_reorder.prim) rc = plan_run(p, in, cw ? cw->data : filter, bias, out);
  pthread_mutex_lock(&s->lock);
  weights_unref(cw);
  plan_unref(p);
  pthread_mutex_unlock(&s->lock);
  return rc;
}
