/* opt_rnn.h — recurrent-loop optimizations shared by the While kernel (kernels/functional.c)
 * and the MatMul kernel (kernels/math_matmul.c).
 *
 * Input-projection hoisting: a Keras RNN body computes MatMul(TensorListGetItem(in_ta, t), W)
 * every step, with in_ta and W loop-invariant. td_rnn_hoist_analyze finds such MatMul steps in
 * a body callable (list and weights are body feeds passed through unchanged, or the weights a
 * body constant); before its first iteration the While kernel computes X·W for the list's
 * items in one GEMM (td_rnn_hoist_begin) — all of them, or a chunk of consecutive items when
 * the products would pass td_rnn_hoist_chunk_bytes (the next chunk is computed when a step asks
 * for an item beyond it) — and publishes it on a per-thread stack; the body's MatMul then
 * copies its rows (td_rnn_hoisted_rows) instead of multiplying. The match at run
 * time is by identity: same node, the same weight buffer, and a left operand that *is* item k
 * of the list (same data pointer, shape [rows, in]); the context holds references to every item
 * and to the weights, so their (immutable) storage cannot change or be reused while it is
 * published. Anything else runs the MatMul as usual.
 * Thread affinity: a context is published on the thread running the While kernel, which is the
 * thread running its body's steps; contexts nest (inner loops push on top). */
#ifndef TD_ENGINE_OPT_RNN_H
#define TD_ENGINE_OPT_RNN_H

#include "engine/kernel.h"

/* 0 disables the rewrite (tests compare against the unoptimized loop); default 1, and
 * TD_RNN_OPT=0 in the environment turns it off at start. */
extern int td_rnn_opt_enabled;
/* td_rnn_opt_enabled after applying TD_RNN_OPT (read when a callable is built). */
int td_rnn_opt_active(void);

enum { TD_RNN_MAX_HOIST = 4 };
/* The most bytes of products a context holds at once (default 1 MiB; tests lower it to make
 * every loop chunked). Read when a loop starts. */
extern size_t td_rnn_hoist_chunk_bytes;

typedef struct td_rnn_hoist_site {
  const td_node *matmul; /* the body's MatMul node */
  int list_feed;         /* body feed (= loop variable) holding the list */
  int w_feed;            /* body feed holding the weights, or -1: w_const */
  const td_tensor *w_const; /* a body constant (owned by the body callable) */
  int tb;                /* transpose_b */
} td_rnn_hoist_site;

/* Sites of body (at most TD_RNN_MAX_HOIST); 0 if none. Reads the callable's plan only. */
int td_rnn_hoist_analyze(const td_callable *body, td_rnn_hoist_site *sites);

typedef struct td_rnn_hoisted td_rnn_hoisted;
/* Product buffers reused across runs of one While node (thread-safe; NULL = none). */
typedef struct td_rnn_pool td_rnn_pool;
td_rnn_pool *td_rnn_pool_new(void);
void td_rnn_pool_free(td_rnn_pool *p);
/* For each site whose run-time operands qualify (loop_vars: the While's initial loop
 * variables), computes the projection of every list item and publishes it; returns the number
 * published (0: nothing to undo). Skips silently what does not qualify (no error). */
int td_rnn_hoist_begin(const td_rnn_hoist_site *sites, int nsites, const td_tensor *loop_vars, int nvars,
                       td_rnn_pool *pool);
/* Unpublishes and frees the n contexts td_rnn_hoist_begin published on this thread. */
void td_rnn_hoist_end(int n);
/* For MatMul(a, b) at node: the rows [rows, n] precomputed for this exact product, or NULL. */
const float *td_rnn_hoisted_rows(const td_node *node, const td_tensor *a, const td_tensor *b, int64_t *n_out);
/* How many MatMul steps took precomputed rows so far (process-wide; for tests). */
long td_rnn_hoisted_uses(void);

/* ---- loop conditions without a callable run ----
 * A While condition made only of Less / LessEqual / Greater / GreaterEqual on int32 / int64
 * scalars and LogicalAnd / LogicalOr on bools (Keras: counter < max_iter && time < steps) is
 * evaluated directly from the loop variables: the same comparisons, no kernels, no arena. Any
 * operand that is not a scalar of the expected type at run time falls back to running the
 * condition's callable (which then reports what TF would). */
enum { TD_RNN_COND_MAX = 8 };
typedef struct td_rnn_cond_arg {
  int kind;      /* 0: loop variable idx, 1: constant value, 2: result of step idx */
  int idx;
  int64_t value;
} td_rnn_cond_arg;
typedef struct td_rnn_cond {
  int nsteps;
  struct {
    int op;       /* 0 <, 1 <=, 2 >, 3 >=, 4 and, 5 or */
    td_dtype t;   /* comparisons: the operands' dtype */
    td_rnn_cond_arg a, b;
  } step[TD_RNN_COND_MAX];
} td_rnn_cond;
/* 1 if cond (a While's condition callable) has that form; fills *out. */
int td_rnn_cond_analyze(const td_callable *cond, td_rnn_cond *out);
/* 0 and *go set, or -1: run the callable instead. */
int td_rnn_cond_eval(const td_rnn_cond *cd, const td_tensor *vars, int nvars, int *go);
/* How many conditions were evaluated that way so far (process-wide; for tests). */
long td_rnn_cond_evals(void);

/* ---- fused cells (opt_rnn_fuse.c, kernels/nn_rnn_cell.c) ----
 * td_opt_rnn_fuse: the callable pass replacing a Keras LSTM / GRU cell's gate arithmetic by one
 * step, and BiasAdd(MatMul) / BiasAdd(AddV2(MatMul, MatMul)) with a run-time bias into one
 * accumulating GEMM step (called by callable.c after plan_steps, before liveness; no-op when td_rnn_opt_enabled
 * is 0). The fused steps' kernels:
 *   lstm: inputs z [B,4H] (gates i,f,g,o), c [B,H] → outputs c' = σf*c + σi*tanh g, h' = σo*tanh c'
 *   gru:  inputs xz [B,3H], hz [B,3H] (z,r,h parts), h [B,H] → h' = z*h + (1-z)*tanh(x2 + r*h2),
 *         z = σ(x0+h0), r = σ(x1+h1). */
void td_opt_rnn_fuse(td_callable *c);
td_code td_k_rnn_lstm_cell(td_kctx *c);
td_code td_k_rnn_gru_cell(td_kctx *c);
/*   matmul_bias: (a, b, bias) → a·b + bias; (a, b, a2, b2, bias) → a·b + a2·b2 + bias (no
 *         transposes; the step keeps the node of the MatMul computing a·b, which may be hoisted) */
td_code td_k_rnn_matmul_bias(td_kctx *c);
/*   lstm_step: a matmul_bias step whose only reader is an lstm cell, fused with it: inputs the
 *         matmul_bias's then c, outputs (c', h', z) — z the gates [B,4H], the step's own scratch
 *         (no reader). With oneDNN GEMMs and >= 16 rows per intra-op thread, one OpenMP region:
 *         each thread starts, multiplies and runs the cell on its own rows (one fork/join per
 *         step instead of two). */
td_code td_k_rnn_lstm_step(td_kctx *c);

#endif
