/* exec.c — the executor: runs a callable's steps in order on the calling thread (kernels are
 * invoked through kctx.c's td_kernel_run). Per-run state (value slots, status) lives on the caller's
 * stack or heap, so any number of runs may proceed concurrently on one callable.
 * Value slots hold owned or borrowed tensors; a slot is released right after its last reader.
 * TF1 reference tensors (dtype *_REF, element = td_variable*) are dereferenced for every
 * kernel that does not declare TD_OPF_REF_INPUTS, and when fetched. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/session.h"
#include "engine/trace.h"
#include "util/mem.h"

static const td_tensor *source(const td_callable *c, const td_tensor *feeds, const td_tensor *slots, td_src src) {
  switch (src.kind) {
    case SRC_FEED: return &feeds[src.idx];
    case SRC_CONST: return &c->consts[src.idx];
    default: return &slots[src.idx];
  }
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t td_deadline_after_ms(int64_t ms) { return ms > 0 ? now_ns() + ms * 1000000 : 0; }

/* td_run_options.recycle_fetches: copies the arena value t into r's storage when r is a plain
 * numeric tensor of the same dtype and byte size that nobody else holds; moves it into *out. */
static int recycle_fetch(td_tensor *r, const td_tensor *t, td_tensor *out) {
  size_t nb = td_tensor_nbytes(t);
  if (!r->buf || r->dtype != t->dtype || !td_dtype_is_plain(t->dtype) ||
      r->buf->release || r->data != r->buf->data || r->buf->nbytes != nb || atomic_load(&r->buf->refs) != 1)
    return 0;
  if (nb) memcpy(r->data, t->data, nb);
  *out = *r;
  out->shape = t->shape;
  td_tensor_clear(r);
  return 1;
}

td_code td_callable_run(td_callable *c, const td_tensor *feeds, td_tensor *fetched, td_status *st) {
  return td_callable_run_opts(c, feeds, fetched, NULL, st);
}

td_code td_callable_run_opts(td_callable *c, const td_tensor *feeds, td_tensor *fetched, const td_run_options *opt,
                             td_status *st) {
  td_engine_thread_enter();
  td_status local;
  if (!st) st = &local;
  for (int i = 0; i < c->nfeeds; i++) /* once, for both executors */
    if (c->feed_dtypes[i] != TD_DT_INVALID && feeds[i].dtype != c->feed_dtypes[i])
      return td_status_set(st, TD_INVALID_ARGUMENT, "Expects arg[%d] to be %s but %s is provided", i,
                           td_dtype_name(c->feed_dtypes[i]), td_dtype_name(feeds[i].dtype));
  if (c->dataflow) return td_exec_dataflow(c, feeds, fetched, opt, st);
  int64_t deadline = opt ? opt->deadline_ns : 0;
  td_tensor small[64];
  td_tensor *slots = c->nslots <= 64 ? small : calloc((size_t)c->nslots, sizeof *slots);
  if (!slots) return td_status_set(st, TD_RESOURCE_EXHAUSTED, "out of memory");
  memset(slots, 0, sizeof *slots * (size_t)c->nslots);
  const td_tensor *inbuf[64];
  td_code code = TD_OK;
  td_run_mem mem;
  td_mem_begin(c, feeds, &mem);
  for (int k = 0; k < c->nsteps && code == TD_OK; k++) {
    td_step *sp = &c->steps[k];
    if (deadline && now_ns() > deadline) {
      code = td_status_set(st, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
      break;
    }
    const td_tensor **in = sp->nin <= 64 ? inbuf : td_xcalloc((size_t)sp->nin, sizeof *in);
    for (int i = 0; i < sp->nin; i++) in[i] = source(c, feeds, slots, sp->in[i]);
    int64_t t0 = TD_TRACE_ON() ? td_trace_now() : 0; /* --trace_file (trace.h) */
    code = td_kernel_run(c->s, sp, in, &slots[sp->out_base], c, &mem, opt, st);
    if (t0) td_trace_op(sp->node->name, sp->node->op, t0);
    if (in != inbuf) free(in);
    for (int r = 0; r < sp->nrelease; r++) td_tensor_release(&slots[sp->release[r]]);
  }
  int done = 0;
  for (; code == TD_OK && done < c->nfetch; done++) {
    const td_tensor *t = source(c, feeds, slots, c->fetch[done]);
    if (td_dtype_is_ref(t->dtype))
      code = td_deref(t, &fetched[done], st);
    else if (t->dtype == TD_DT_INVALID)
      code = td_status_set(st, TD_INTERNAL, "fetch %d was not produced", done);
    else if (t->buf)
      fetched[done] = td_tensor_ref(t);
    else if (!opt || !opt->recycle_fetches || !recycle_fetch(&opt->recycle_fetches[done], t, &fetched[done]))
      code = td_tensor_copy(&fetched[done], t, st);
    if (code != TD_OK) break;
  }
  if (code != TD_OK)
    for (int i = 0; i < done; i++) td_tensor_release(&fetched[i]);
  for (int i = 0; i < c->nslots; i++) /* most were released after their last reader */
    if (slots[i].buf || slots[i].dtype != TD_DT_INVALID) td_tensor_release(&slots[i]);
  if (slots != small) free(slots);
  td_mem_end(c, &mem, code == TD_OK);
  return code;
}
