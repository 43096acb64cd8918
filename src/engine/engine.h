/* engine.h — tensord's graph engine: import a TensorFlow graph, run it like a TF Session.
 *
 *   td_graph     a GraphDef plus its function library, imported lazily into one flat IR:
 *                nodes are created on demand when a callable needs them; StatefulPartitionedCall /
 *                PartitionedCall (and direct function calls) are inlined, so the IR has no calls.
 *   td_session   a graph plus its state: variables, lookup tables and other resources.
 *   td_callable  a pruned, constant-folded, topologically ordered plan for one
 *                (feeds, fetches, targets) triple, like TF's Session::MakeCallable. Runs
 *                allocate from a memory plan recorded per input-shape key, so a steady-state
 *                request allocates almost nothing beyond its outputs.
 *
 * Tensor names are "node:index" (":0" may be omitted); targets are node names.
 * Loading a SavedModel is: run the restore op, run the init op, call td_session_freeze()
 * if no serving signature writes state, then make one callable per signature.
 *
 * Ownership: td_graph_import borrows the GraphDef, which must outlive the graph; a session
 * takes ownership of its graph. Callables belong to their session and must be freed before it.
 * Thread safety: td_callable_run may be called from any number of threads at once.
 * td_session_make_callable / td_session_run serialize internally. td_session_free must not
 * race with anything else on that session.
 */
#ifndef TD_ENGINE_ENGINE_H
#define TD_ENGINE_ENGINE_H

#include <stdio.h>

#include "engine/tensor.h"
#include "proto/tf.h"
#include "util/status.h"

typedef struct td_graph td_graph;
typedef struct td_session td_session;
typedef struct td_callable td_callable;

/* Reads checkpoint tensors for RestoreV2 / Restore. Provided by the model loader. */
typedef struct td_checkpoint_reader {
  void *self;
  /* Reads `name` from the checkpoint at `prefix`. slice_spec is "" (whole tensor) or TF's
   * "dim0 dim1 start,len:start,len" form. The result must have dtype `expected`. */
  td_code (*read)(void *self, const char *prefix, const char *name, const char *slice_spec,
                  td_dtype expected, td_tensor *out, td_status *st);
} td_checkpoint_reader;

typedef struct td_session_options {
  td_checkpoint_reader checkpoint;  /* read == NULL: RestoreV2 fails with FAILED_PRECONDITION */
  int intra_op_threads;             /* 0 = library default */
} td_session_options;

/* ---- graph ---- */
td_code td_graph_import(const Tensorflow__GraphDef *gd, td_graph **out, td_status *st) TD_MUST_CHECK;
void td_graph_free(td_graph *g);

/* ---- session ---- */
/* Takes ownership of g (also on failure). */
td_code td_session_new(td_graph *g, const td_session_options *opt, td_session **out,
                       td_status *st) TD_MUST_CHECK;
void td_session_free(td_session *s);
/* Declares variables final: reads of variables become constants in callables made afterwards
 * (and are constant-folded into their consumers). Call only when no callable will write state. */
void td_session_freeze(td_session *s);

/* Prunes the graph to what the fetches and targets need, given that the feeds are supplied. */
td_code td_session_make_callable(td_session *s, const char *const *feeds, int nfeeds,
                                 const char *const *fetches, int nfetches,
                                 const char *const *targets, int ntargets, td_callable **out,
                                 td_status *st) TD_MUST_CHECK;
/* Per-run options. deadline_ns: CLOCK_MONOTONIC nanoseconds after which the run stops with
 * DEADLINE_EXCEEDED (checked between steps); 0 = none. */
typedef struct td_run_options {
  int64_t deadline_ns;
  /* NULL, or per feed: 1 = the caller holds the only use of this feed and drops it after the run,
   * so the feed's last reader may consume it in place (loop variables handed to a body). */
  const unsigned char *donated_feeds;
  /* NULL, or per fetch: an owned tensor (or an empty one) whose storage the run may reuse for
   * fetch i when it has to copy that value out of its arena (same dtype and byte size, sole
   * reference, malloc'ed storage): the tensor is then moved into fetched[i] and recycle[i]
   * zeroed. The caller releases what is left. Loops hand a body the loop variables of two
   * iterations ago, so iterations allocate nothing. */
  td_tensor *recycle_fetches;
} td_run_options;
/* CLOCK_MONOTONIC now + ms, for td_run_options.deadline_ns (ms <= 0: 0 = no deadline). */
int64_t td_deadline_after_ms(int64_t ms);
td_code td_callable_run_opts(td_callable *c, const td_tensor *feeds, td_tensor *fetched, const td_run_options *opt,
                             td_status *st) TD_MUST_CHECK;
/* feeds[i] matches the callable's feed i. On success fetched[i] receives an owned tensor per
 * fetch (release with td_tensor_release). On failure nothing needs releasing. */
td_code td_callable_run(td_callable *c, const td_tensor *feeds, td_tensor *fetched,
                        td_status *st) TD_MUST_CHECK;
void td_callable_free(td_callable *c);
/* 1 if running the callable may write variables or tables. */
int td_callable_writes_state(const td_callable *c);
/* Total arena bytes of the callable's memory plans (and how many plans); for tests/tools. */
size_t td_callable_arena_bytes(const td_callable *c, int *nplans);
/* Prints the callable's steps (op, node, input sources), for debugging. */
void td_callable_dump(const td_callable *c, FILE *f);
/* Number of nodes the callable executes per run (after pruning and folding); for tests/tools. */
int td_callable_num_steps(const td_callable *c);
int td_callable_num_feeds(const td_callable *c);
int td_callable_num_fetches(const td_callable *c);
/* A callable for library function fn_name (attr placeholders bound from attrs, which may be
 * NULL): its feeds are the function's input args in order, its fetches the function's outputs,
 * and it also runs the function's control_ret and state-writing nodes. The function's nodes
 * are named "__function/<fn_name>/<node>". While/If/Case steps get such sub-callables for their
 * bodies automatically (named "<node>/<attr>/..."). */
td_code td_session_make_function_callable(td_session *s, const char *fn_name,
                                          const Tensorflow__NameAttrList *attrs, td_callable **out,
                                          td_status *st) TD_MUST_CHECK;

/* One-shot run (make_callable + run + free), for restore/init ops and tools. */
td_code td_session_run(td_session *s, const char *const *feed_names, const td_tensor *feeds,
                       int nfeeds, const char *const *fetches, td_tensor *fetched, int nfetches,
                       const char *const *targets, int ntargets, td_status *st) TD_MUST_CHECK;

/* ---- TensorProto conversion (tensor_proto.c) ---- */
/* Decodes TF's rules: tensor_content wins; else typed *_val fields, the last value repeated to
 * fill the shape; no values = zeros; more values than the shape holds = INVALID_ARGUMENT. */
td_code td_tensor_from_proto(const Tensorflow__TensorProto *p, td_tensor *out,
                             td_status *st) TD_MUST_CHECK;
/* The same, charging the bytes it will materialize (strings in full, repeated fills included)
 * to budget before allocating (util/budget.h; over budget: the budget's code, naming `what`).
 * budget NULL: a filled tensor may not exceed 256 MiB. */
struct td_budget;
td_code td_tensor_from_proto_budget(const Tensorflow__TensorProto *p, td_tensor *out, struct td_budget *budget,
                                    const char *what, td_status *st) TD_MUST_CHECK;
/* Encodes into a new heap TensorProto (free with tensorflow__tensor_proto__free_unpacked(p, NULL)).
 * as_content: raw tensor_content instead of typed fields (not for STRING). */
td_code td_tensor_to_proto(const td_tensor *t, int as_content, Tensorflow__TensorProto **out,
                           td_status *st) TD_MUST_CHECK;
/* Shape proto → td_shape (unknown_rank → rank -1). INVALID_ARGUMENT if rank > TD_MAX_RANK. */
td_code td_shape_from_proto(const Tensorflow__TensorShapeProto *p, td_shape *out, td_status *st);

/* ---- threads (threads.c) ---- */
/* Sets the process-wide intra-op thread count of the BLAS and oneDNN pools (n <= 0: keep the
 * defaults). Call before serving; not thread-safe against running kernels. */
void td_engine_set_intra_op_threads(int n);
/* Applies the intra-op thread count to the calling thread's OpenMP setting (a thread-local
 * flag makes repeat calls free). Every callable run calls it; any thread may. */
void td_engine_thread_enter(void);

/* ---- op table ---- */
/* 1 if the engine has a kernel for this TF op name. */
int td_op_supported(const char *op_name);
/* Calls fn for every supported op name, in table order. */
void td_op_foreach(void (*fn)(const char *op_name, void *arg), void *arg);

#endif
