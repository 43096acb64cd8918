/* opt_nn_fuse.c — the callable pass that fuses a Conv2D with the MaxPool reading it into one
 * step (kernels/nn_conv_pool.c), so a large batch's convolution output never makes the round
 * trip through memory. callable.c runs td_opt_nn_fuse after plan_steps (the Conv2D already
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
  for (int k = 0; k < c->nsteps; k++) {
    td_step *conv = &c->steps[k];
    if (strcmp(conv->node->op, "Conv2D") || conv->fn || conv->nin != 2 || conv->nout != 1 || !float_nhwc(conv->node))
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
  if (fused) {
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
  free(nread);
  free(dead);
}
