/* functional.c — TF2 functional control flow: While / StatelessWhile, If / StatelessIf,
 * Case / StatelessCase. Their bodies and conditions are library functions that callable.c
 * builds into sub-callables together with the node's callable (td_k_function), each with its
 * own memory plans: every loop iteration runs the body callable with loop variables of the
 * same shapes, so iterations 2..N reuse one pooled arena for the body's intermediates.
 * Loop variables are tensors passed by reference between iterations (DT_RESOURCE handles and
 * DT_VARIANT TensorLists pass through untouched); from the second iteration on they are donated
 * to the body (td_k_call), so a TensorList write that is its list's last reader updates the
 * list in place instead of copying it every iteration. The plain numeric loop variables of the
 * iteration before last (and the last condition value) are handed back to the next call as
 * storage to reuse (td_k_call_recycle), so steady-state iterations allocate nothing: the body's
 * intermediates live in its pooled arena, its fetched results in recycled buffers.
 * A loop whose rows are independent (a recurrent layer on a batch: opt_loop_split.h) runs on
 * row ranges in parallel, one intra-op thread each (while_split.c), and gives the same values.
 * parallel_iterations is accepted and ignored:
 * iterations run sequentially, which gives TF's results. output_shapes, when given, is checked
 * against the produced outputs. Errors name this node (the executor appends it); a body's
 * failure keeps the inner node's name too. Reentrant: no state beyond the sub-callables. */
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/kernels/while_split.h"
#include "engine/opt_rnn.h"

/* TF's truthiness of a condition tensor: a scalar is nonzero (non-empty for strings); any other
 * shape is true iff it has elements. */
static td_code to_bool(td_kctx *c, const td_tensor *t, int *out) {
  if (t->shape.rank != 0) {
    *out = td_tensor_num_elements(t) > 0;
    return TD_OK;
  }
  switch (t->dtype) {
    case TD_DT_BOOL: *out = td_u8(t)[0] != 0; return TD_OK;
    case TD_DT_STRING: *out = td_str(t)[0].len > 0; return TD_OK;
    case TD_DT_FLOAT: case TD_DT_DOUBLE: case TD_DT_INT32: case TD_DT_INT64: case TD_DT_INT16: case TD_DT_INT8:
    case TD_DT_UINT8: case TD_DT_UINT16: case TD_DT_UINT32: case TD_DT_UINT64: case TD_DT_HALF: case TD_DT_BFLOAT16:
      *out = td_tensor_get_double(t, 0) != 0;
      return TD_OK;
    default:
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s cannot be cast to bool", td_dtype_name(t->dtype));
  }
}

/* Checks output i against output_shapes[i] (unknown dims / ranks match anything). */
static td_code check_shapes(td_kctx *c, const td_tensor *outs, int n) {
  Tensorflow__TensorShapeProto *const *shapes;
  size_t ns = td_attr_list_shape(td_k_node(c), "output_shapes", &shapes);
  if (ns != (size_t)n) return TD_OK; /* absent (or not one per output): nothing declared */
  for (int i = 0; i < n; i++) {
    const Tensorflow__TensorShapeProto *p = shapes[i];
    if (p->unknown_rank) continue;
    int ok = (int)p->n_dim == outs[i].shape.rank;
    for (int d = 0; ok && d < outs[i].shape.rank; d++) ok = p->dim[d]->size < 0 || p->dim[d]->size == outs[i].shape.dim[d];
    if (!ok)
      {
      char buf[128];
      return td_k_fail(c, TD_INVALID_ARGUMENT, "output %d has shape %s, which is incompatible with output_shapes[%d]",
                       i, td_shape_str(&outs[i].shape, buf, sizeof buf), i);
    }
  }
  return TD_OK;
}

/* Sets outputs from owned results (taking references) and releases the results. */
static td_code emit(td_kctx *c, td_tensor *res, int n) {
  td_code code = check_shapes(c, res, n);
  for (int i = 0; i < n; i++) {
    if (code == TD_OK) td_k_set_output(c, i, &res[i]);
    td_tensor_release(&res[i]);
  }
  return code;
}

static td_callable *need_function(td_kctx *c, const char *attr, int index, int nin, int nout) {
  td_callable *f = td_k_function(c, attr, index);
  if (!f) {
    td_k_fail(c, TD_INTERNAL, "%s: function attr '%s' was not built", td_node_op(td_k_node(c)), attr);
    return NULL;
  }
  if (td_callable_num_feeds(f) != nin || td_callable_num_fetches(f) != nout) {
    td_k_fail(c, TD_INVALID_ARGUMENT, "%s: function '%s' takes %d inputs and returns %d outputs, expected %d and %d",
              td_node_op(td_k_node(c)), attr, td_callable_num_feeds(f), td_callable_num_fetches(f), nin, nout);
    return NULL;
  }
  return f;
}

enum { SMALL = 16 };

/* Per While node: the body's hoistable input projections (opt_rnn.c), found once. */
typedef struct while_state {
  int nsites;
  td_rnn_hoist_site sites[TD_RNN_MAX_HOIST];
  td_rnn_pool *pool; /* the products' buffers, kept between runs */
  int cond_fast;      /* the condition is evaluated without its callable (opt_rnn.h) */
  td_rnn_cond cond;
  td_loop_split split; /* which loop variables are batch rows (opt_loop_split.h) */
} while_state;

static void while_state_free(void *p) {
  while_state *ws = p;
  td_rnn_pool_free(ws->pool);
  td_loop_split_free(&ws->split);
  free(ws);
}

static td_code while_state_new(td_kctx *c, void **out) {
  while_state *ws = calloc(1, sizeof *ws);
  if (!ws) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  ws->nsites = td_rnn_hoist_analyze(td_k_function(c, "body", 0), ws->sites);
  if (ws->nsites) ws->pool = td_rnn_pool_new();
  ws->cond_fast = td_rnn_cond_analyze(td_k_function(c, "cond", 0), &ws->cond);
  td_loop_split_analyze(td_k_function(c, "body", 0), td_k_function(c, "cond", 0), &ws->split);
  *out = ws;
  return TD_OK;
}

/* One loop run: the body's callables and the node's state (the runner's arg). */
typedef struct loop_ctx {
  const while_state *ws;
  td_callable *cond, *body;
} loop_ctx;

/* Runs the loop from cur: see td_loop_fn (while_split.h). */
static td_code run_loop(td_kctx *c, void *arg, td_tensor *cur, const unsigned char *given, int n, int *ran) {
  const loop_ctx *lc = arg;
  const while_state *ws = lc->ws;
  td_tensor small_next[SMALL], small_spare[SMALL] = {{0}}, pred_spare = {0};
  unsigned char small_owned[SMALL];
  td_tensor *next = n <= SMALL ? small_next : calloc((size_t)n, sizeof *next);
  td_tensor *spare = n <= SMALL ? small_spare : calloc((size_t)n, sizeof *spare);
  /* per loop variable: this loop holds it (donated to the body, dropped when replaced) */
  unsigned char *owned = n <= SMALL ? small_owned : malloc((size_t)n);
  *ran = 0;
  if (!next || !spare || !owned) {
    if (next != small_next) free(next);
    if (spare != small_spare) free(spare);
    if (owned != small_owned) free(owned);
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (given) memcpy(owned, given, (size_t)n);
  else memset(owned, 0, (size_t)n);
  int iterated = 0;
  /* x_t·W for every step at once, published for the body's MatMul (opt_rnn.h) */
  int hoisted = ws->nsites ? td_rnn_hoist_begin(ws->sites, ws->nsites, cur, n, ws->pool) : 0;
  int64_t max_iter = td_k_max_iterations(c);
  td_code code = TD_OK;
  for (int64_t iter = 0;; iter++) {
    if ((code = td_k_check_deadline(c)) != TD_OK) break;
    int go = 0;
    if (!ws->cond_fast || td_rnn_cond_eval(&ws->cond, cur, n, &go) != 0) {
      td_tensor pred = {0};
      if ((code = td_k_call_recycle(c, lc->cond, cur, NULL, &pred_spare, &pred)) != TD_OK) break;
      code = to_bool(c, &pred, &go);
      td_tensor_release(&pred_spare);
      pred_spare = pred; /* the next condition's storage */
    }
    if (code != TD_OK || !go) break;
    if (iter >= max_iter) {
      code = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "While loop ran more than %lld iterations", (long long)max_iter);
      break;
    }
    /* from the second iteration on, the loop variables are this kernel's own (the previous body's
     * results) and are dropped after the call: the body may update them in place */
    if ((code = td_k_call_recycle(c, lc->body, cur, owned, spare, next)) != TD_OK) break;
    for (int i = 0; i < n && code == TD_OK; i++)
      if (next[i].dtype != cur[i].dtype)
        code = td_k_fail(c, TD_INVALID_ARGUMENT, "body output %d has type %s but the loop variable is %s", i,
                         td_dtype_name(next[i].dtype), td_dtype_name(cur[i].dtype));
    for (int i = 0; i < n; i++) {
      td_tensor_release(&spare[i]); /* what the call did not reuse */
      /* a plain numeric loop variable's storage is the call after next's; lists and handles
       * are dropped now, so the body can keep updating them in place */
      if (owned[i] && cur[i].buf && td_dtype_is_plain(cur[i].dtype))
        spare[i] = cur[i];
      else if (owned[i])
        td_tensor_release(&cur[i]);
      cur[i] = next[i];
      owned[i] = 1;
    }
    iterated = 1;
    if (code != TD_OK) break;
  }
  td_rnn_hoist_end(hoisted);
  if (code != TD_OK)
    for (int i = 0; i < n; i++)
      if (owned[i]) td_tensor_release(&cur[i]);
  *ran = code == TD_OK && iterated;
  for (int i = 0; i < n; i++) td_tensor_release(&spare[i]);
  td_tensor_release(&pred_spare);
  if (next != small_next) free(next);
  if (spare != small_spare) free(spare);
  if (owned != small_owned) free(owned);
  return code;
}

td_code td_k_while(td_kctx *c) {
  int n = td_k_num_inputs(c);
  td_callable *cond = need_function(c, "cond", 0, n, 1);
  td_callable *body = cond ? need_function(c, "body", 0, n, n) : NULL;
  if (!body) return TD_INVALID_ARGUMENT;
  void *state = NULL;
  TD_TRY(td_k_state(c, while_state_new, while_state_free, &state));
  loop_ctx lc = {state, cond, body};
  td_tensor small_cur[SMALL];
  td_tensor *cur = n <= SMALL ? small_cur : calloc((size_t)n, sizeof *cur);
  if (!cur) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < n; i++) cur[i] = *td_k_input(c, i); /* borrowed until the first iteration */
  int done = 0, ran = 0;
  td_code code = TD_OK;
  /* a row-separable loop on a batch: its rows in parallel (opt_loop_split.h) */
  if (lc.ws->split.nvars) {
    td_tensor small_res[SMALL];
    td_tensor *res = n <= SMALL ? small_res : calloc((size_t)n, sizeof *res);
    if (!res) code = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
    else code = td_while_split_run(c, &lc.ws->split, cur, n, run_loop, &lc, res, &done);
    if (code == TD_OK && done) code = emit(c, res, n);
    if (res != small_res) free(res);
  }
  if (!done && code == TD_OK) code = run_loop(c, &lc, cur, NULL, n, &ran);
  if (!done && code == TD_OK && ran) {
    code = emit(c, cur, n);
  } else if (!done && code == TD_OK) { /* zero iterations: the inputs are the outputs */
    code = check_shapes(c, cur, n);
    for (int i = 0; i < n && code == TD_OK; i++) code = td_k_forward(c, i, i, NULL);
  }
  if (cur != small_cur) free(cur);
  return code;
}

/* Runs function `f` on inputs 1.. (input 0 selects the branch) and emits its results. */
static td_code run_branch(td_kctx *c, td_callable *f) {
  int n = td_k_num_inputs(c) - 1, nout = td_k_num_outputs(c);
  td_tensor small_args[SMALL], small_res[SMALL];
  td_tensor *args = n <= SMALL ? small_args : calloc((size_t)n + 1, sizeof *args);
  td_tensor *res = nout <= SMALL ? small_res : calloc((size_t)nout + 1, sizeof *res);
  td_code code = TD_OK;
  if (!args || !res) {
    code = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  } else {
    for (int i = 0; i < n; i++) args[i] = *td_k_input(c, i + 1);
    code = td_k_call(c, f, args, NULL, res);
    if (code == TD_OK) code = emit(c, res, nout);
  }
  if (args != small_args) free(args);
  if (res != small_res) free(res);
  return code;
}

td_code td_k_if(td_kctx *c) {
  int n = td_k_num_inputs(c) - 1, nout = td_k_num_outputs(c);
  int take = 0;
  TD_TRY(to_bool(c, td_k_input(c, 0), &take));
  td_callable *f = need_function(c, take ? "then_branch" : "else_branch", 0, n, nout);
  return f ? run_branch(c, f) : TD_INVALID_ARGUMENT;
}

td_code td_k_case(td_kctx *c) {
  int n = td_k_num_inputs(c) - 1, nout = td_k_num_outputs(c);
  const td_tensor *idx = td_k_input(c, 0);
  if (idx->dtype != TD_DT_INT32 || idx->shape.rank != 0) {
    char buf[128];
    return td_k_fail(c, TD_INVALID_ARGUMENT, "branch_index must be a scalar int32, got %s %s",
                     td_dtype_name(idx->dtype), td_shape_str(&idx->shape, buf, sizeof buf));
  }
  int64_t nb = 0;
  while (td_k_function(c, "branches", (int)nb)) nb++;
  if (nb == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Case has no branches");
  int64_t b = td_i32(idx)[0];
  if (b < 0 || b >= nb) b = nb - 1; /* TF: an out-of-range index runs the last (default) branch */
  td_callable *f = need_function(c, "branches", (int)b, n, nout);
  return f ? run_branch(c, f) : TD_INVALID_ARGUMENT;
}
