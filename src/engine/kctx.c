/* kctx.c — the kernel context: the td_k_* services kernels use (inputs, output allocation from
 * the run's memory plan or the heap, zero-copy forwarding, errors, attrs' node, session
 * resources, per-node state, threads, sub-functions, the run deadline), and td_kernel_run,
 * which both executors (exec.c, exec_dataflow.c) and constant folding (callable.c) use to
 * invoke one kernel: it dereferences TF1 reference inputs, calls the kernel, checks that the
 * used outputs were produced and tags errors with the node name, as TF does.
 * A td_kctx lives on the stack of one kernel invocation; nothing here keeps pointers to it.
 * Thread affinity: any thread; per-node state creation is serialized by the step's state_mu. */
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/session.h"
#include "util/mem.h"

struct td_kctx {
  td_session *s;
  td_step *step;
  const td_tensor *const *in;
  td_tensor *out; /* step outputs: nout entries */
  td_status *st;
  td_callable *c;  /* NULL when constant folding or on the dataflow executor */
  td_run_mem *mem; /* NULL when constant folding or on the dataflow executor */
  const td_run_options *opt; /* the run's options (deadline, donated feeds); NULL = none */
  td_fusion fusion;
};

int td_k_num_inputs(const td_kctx *c) { return c->step->nin; }
const td_tensor *td_k_input(const td_kctx *c, int i) { return c->in[i]; }
int td_k_num_outputs(const td_kctx *c) { return c->step->nout; }
int td_k_input_is_const(const td_kctx *c, int i) {
  return c->c && i >= 0 && i < c->step->nin && c->step->in[i].kind == SRC_CONST;
}
/* A slot input this step reads last (not fetched, not read twice by this step), or a feed the
 * caller donated that this step reads last: once the kernel returns nobody reads it again, so a
 * kernel may consume its value in place (TensorList writes). */
int td_k_input_forwardable(const td_kctx *c, int i) {
  if (!c->c || c->c->dataflow || i < 0 || i >= c->step->nin) return 0;
  td_src src = c->step->in[i];
  int k = (int)(c->step - c->c->steps);
  if (k < 0 || k >= c->c->nsteps) return 0;
  if (src.kind == SRC_SLOT) {
    if (c->c->slot_last_use[src.idx] != k || c->c->slot_fetched[src.idx]) return 0;
  } else if (src.kind == SRC_FEED) {
    const unsigned char *donated = c->opt ? c->opt->donated_feeds : NULL;
    if (!donated || !donated[src.idx] || c->c->feed_last_use[src.idx] != k) return 0;
  } else {
    return 0;
  }
  for (int j = 0; j < c->step->nin; j++)
    if (j != i && c->step->in[j].kind == src.kind && c->step->in[j].idx == src.idx) return 0;
  return 1;
}
int td_k_output_used(const td_kctx *c, int i) { return c->step->out_used[i]; }
const td_node *td_k_node(const td_kctx *c) { return c->step->node; }

const td_fusion *td_k_fusion(td_kctx *c) {
  const td_step *sp = c->step;
  if (!c->c || (sp->fused_bias < 0 && sp->fused_act == TD_ACT_NONE)) return NULL;
  c->fusion.bias = sp->fused_bias >= 0 ? &c->c->consts[sp->fused_bias] : NULL;
  c->fusion.act = (td_activation)sp->fused_act;
  return &c->fusion;
}
const td_checkpoint_reader *td_k_checkpoint(const td_kctx *c) { return &c->s->opt.checkpoint; }
int td_k_threads(const td_kctx *c) {
  if (omp_in_parallel()) return 1;
  return c->s->opt.intra_op_threads > 0 ? c->s->opt.intra_op_threads : omp_get_max_threads();
}

td_kctx *td_k_fork(const td_kctx *c, td_status *st) {
  td_kctx *f = malloc(sizeof *f);
  if (!f) return NULL;
  *f = *c;
  f->st = st;
  f->out = NULL;
  f->mem = NULL;
  return f;
}

td_code td_k_fail(td_kctx *c, td_code code, const char *fmt, ...) {
  if (c->st) {
    va_list ap;
    va_start(ap, fmt);
    c->st->code = code;
    vsnprintf(c->st->msg, sizeof c->st->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int check_out(td_kctx *c, int i) {
  if (i >= 0 && i < c->step->nout) return 1;
  td_k_fail(c, TD_INTERNAL, "kernel %s wrote output %d of %d", c->step->node->op, i, c->step->nout);
  return 0;
}

/* td_run_options.recycle_fetches: an output slot that the run fetches takes the caller's spare
 * storage for that fetch when it fits exactly (same dtype and bytes, sole reference, malloc'ed):
 * loop bodies then produce their loop variables without allocating. 1 if out was set. */
static int recycled_output(td_kctx *c, int i, td_dtype dt, const td_shape *shape, size_t nbytes, int zero) {
  if (!c->opt || !c->opt->recycle_fetches || !c->c || !td_dtype_is_plain(dt))
    return 0;
  int slot = c->step->out_base + i;
  for (int k = 0; k < c->c->nfetch; k++) {
    td_tensor *r = &c->opt->recycle_fetches[k];
    if (c->c->fetch[k].kind != SRC_SLOT || c->c->fetch[k].idx != slot) continue;
    if (!r->buf || r->dtype != dt || r->buf->release || r->data != r->buf->data || r->buf->nbytes != nbytes ||
        atomic_load(&r->buf->refs) != 1)
      return 0;
    c->out[i] = *r;
    c->out[i].shape = *shape;
    td_tensor_clear(r);
    if (zero && nbytes) memset(c->out[i].data, 0, nbytes);
    return 1;
  }
  return 0;
}

static td_code alloc_output(td_kctx *c, int i, td_dtype dt, const td_shape *shape, int zero, td_tensor **out) {
  *out = NULL;
  if (!check_out(c, i)) return TD_INTERNAL;
  td_tensor_release(&c->out[i]);
  if (c->mem) {
    int64_t n = td_shape_num_elements(shape);
    size_t esize = td_dtype_size(dt);
    if (n >= 0 && esize && (uint64_t)n < ((uint64_t)1 << 40) / esize) {
      void *p = td_mem_slot(c->c, c->mem, c->step->out_base + i, dt, (size_t)n * esize, zero);
      if (p) {
        c->out[i] = td_tensor_borrow(dt, shape, p);
        *out = &c->out[i];
        return TD_OK;
      }
      if (recycled_output(c, i, dt, shape, (size_t)n * esize, zero)) {
        *out = &c->out[i];
        return TD_OK;
      }
    }
  }
  TD_TRY(td_tensor_alloc(&c->out[i], dt, shape, c->st));
  *out = &c->out[i];
  return TD_OK;
}

td_code td_k_alloc_output(td_kctx *c, int i, td_dtype dt, const td_shape *shape, td_tensor **out) {
  return alloc_output(c, i, dt, shape, 1, out);
}

td_code td_k_alloc_output_uninit(td_kctx *c, int i, td_dtype dt, const td_shape *shape, td_tensor **out) {
  return alloc_output(c, i, dt, shape, 0, out);
}

/* The slot backing input `in`'s memory (-1 if it is not planned arena memory). */
static int input_root(const td_kctx *c, int in) {
  if (!c->mem) return -1;
  td_src src = c->step->in[in];
  return src.kind == SRC_SLOT ? c->mem->root[src.idx] : -1;
}

/* Stores t (a view of input `in`, or in < 0 for a kernel-owned tensor) as output `out`. */
static td_code store_output(td_kctx *c, int out, const td_tensor *t, int in) {
  int root = in >= 0 ? input_root(c, in) : -1;
  td_tensor v;
  if (c->mem && !td_mem_forward_ok(c->mem, c->step->out_base + out, root)) {
    TD_TRY(td_tensor_copy(&v, t, c->st)); /* the plan did not foresee this alias */
    root = -1;
  } else {
    v = td_tensor_ref(t);
  }
  td_tensor_release(&c->out[out]);
  c->out[out] = v;
  if (c->mem) c->mem->root[c->step->out_base + out] = root;
  return TD_OK;
}

void td_k_set_output(td_kctx *c, int i, const td_tensor *t) {
  if (!check_out(c, i)) return;
  int in = -1;
  for (int k = 0; k < c->step->nin; k++)
    if (c->in[k]->data == t->data && c->in[k]->buf == t->buf) in = k;
  (void)store_output(c, i, t, in);
}

td_code td_k_forward(td_kctx *c, int in, int out, const td_shape *shape) {
  if (!check_out(c, out)) return TD_INTERNAL;
  td_tensor t = *c->in[in];
  if (shape) {
    if (td_shape_num_elements(shape) != td_tensor_num_elements(&t))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "cannot view a tensor of %lld elements with a shape of %lld",
                       (long long)td_tensor_num_elements(&t), (long long)td_shape_num_elements(shape));
    t.shape = *shape;
  }
  return store_output(c, out, &t, in);
}

td_code td_k_resource(td_kctx *c, const char *key, td_code (*create)(void *arg, td_resource **r, td_status *st),
                      void *arg, td_resource **out) {
  return td_session_resource(c->s, key, create, arg, out, c->st);
}

td_code td_k_state(td_kctx *c, td_code (*create)(td_kctx *c, void **state), void (*destroy)(void *state),
                   void **out) {
  td_step *sp = c->step;
  pthread_mutex_lock(&sp->state_mu);
  td_code code = TD_OK;
  if (!sp->state_ready) {
    code = create(c, &sp->state);
    if (code == TD_OK) {
      sp->state_ready = 1;
      sp->state_destroy = destroy;
    }
  }
  pthread_mutex_unlock(&sp->state_mu);
  *out = code == TD_OK ? sp->state : NULL;
  return code;
}

void td_step_release_state(td_step *sp) {
  if (sp->state_ready && sp->state_destroy) sp->state_destroy(sp->state);
  sp->state_ready = 0;
  sp->state = NULL;
}

td_code td_deref(const td_tensor *ref, td_tensor *tmp, td_status *st) {
  td_variable *v = (td_variable *)td_res(ref)[0];
  if (!v) return td_status_set(st, TD_INTERNAL, "null variable reference");
  return td_variable_read(v, tmp, st);
}

td_code td_kernel_run(td_session *s, td_step *sp, const td_tensor *const *in, td_tensor *out, td_callable *c,
                      td_run_mem *mem, const td_run_options *opt, td_status *st) {
  const td_node *n = sp->node;
  const td_tensor *args[64];
  const td_tensor **argv = sp->nin <= 64 ? args : td_xcalloc((size_t)sp->nin, sizeof *argv);
  td_tensor tmp[8];
  int ntmp = 0;
  td_code code = TD_OK;
  for (int i = 0; i < sp->nin; i++) {
    argv[i] = in[i];
    if (td_dtype_is_ref(in[i]->dtype) && !(n->def->flags & TD_OPF_REF_INPUTS)) {
      if (ntmp == 8) { code = td_status_set(st, TD_UNIMPLEMENTED, "too many reference inputs"); break; }
      code = td_deref(in[i], &tmp[ntmp], st);
      if (code != TD_OK) break;
      argv[i] = &tmp[ntmp++];
    }
  }
  if (code == TD_OK) {
    td_kctx ctx = {.s = s, .step = sp, .in = argv, .out = out, .st = st, .c = c, .mem = mem, .opt = opt};
    code = (sp->fn ? sp->fn : n->def->fn)(&ctx);
    for (int i = 0; code == TD_OK && i < sp->nout; i++)
      if (sp->out_used[i] && out[i].dtype == TD_DT_INVALID)
        code = td_status_set(st, TD_INTERNAL, "kernel %s did not produce output %d", n->op, i);
  }
  for (int i = 0; i < ntmp; i++) td_tensor_release(&tmp[i]);
  if (argv != args) free(argv);
  if (code != TD_OK && st) {
    if (st->code == TD_OK) td_status_set(st, code, "%s failed", n->op);
    size_t len = strlen(st->msg);
    snprintf(st->msg + len, sizeof st->msg - len, "\n\t [[{{node %s}}]]", n->name);
  }
  return code;
}

td_code td_exec_fold(td_session *s, td_step *step, const td_tensor *const *inputs, td_tensor *outputs,
                     td_status *st) {
  return td_kernel_run(s, step, inputs, outputs, NULL, NULL, NULL, st);
}


/* ---- functions ---- */

td_callable *td_k_function(const td_kctx *c, const char *attr, int index) {
  const td_step *sp = c->step;
  for (int f = 0; f < sp->nfuncs; f++)
    if (sp->funcs[f].index == index && !strcmp(sp->funcs[f].attr, attr)) return sp->funcs[f].c;
  return NULL;
}

int64_t td_k_deadline(const td_kctx *c) { return c->opt ? c->opt->deadline_ns : 0; }

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

td_code td_k_check_deadline(td_kctx *c) {
  int64_t deadline = td_k_deadline(c);
  if (deadline && now_ns() > deadline) return td_k_fail(c, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
  return TD_OK;
}

int64_t td_k_max_iterations(const td_kctx *c) {
  (void)c;
  return td_dataflow_max_iterations;
}

td_code td_k_call(td_kctx *c, td_callable *fn, const td_tensor *args, const unsigned char *donated,
                  td_tensor *results) {
  return td_k_call_recycle(c, fn, args, donated, NULL, results);
}

td_code td_k_call_recycle(td_kctx *c, td_callable *fn, const td_tensor *args, const unsigned char *donated,
                          td_tensor *recycle, td_tensor *results) {
  td_run_options opt = {.deadline_ns = td_k_deadline(c), .donated_feeds = donated, .recycle_fetches = recycle};
  td_status local;
  return td_callable_run_opts(fn, args, results, &opt, c->st ? c->st : &local);
}
