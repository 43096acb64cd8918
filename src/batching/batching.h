/* batching.h — server-side request batching (TF Serving's --enable_batching, §4.6 of the API
 * reference): concurrent runs of the same model version and signature are concatenated along
 * dimension 0, run as one, and split back.
 *
 * A run is a task of size = dim 0 of its inputs (all inputs must agree). Tasks go to the queue
 * of their (model, signature); a queue holds up to max_enqueued_batches batches of at most
 * max_batch_size rows, the last one open. At most num_batch_threads batches run at once, all
 * queues sharing them fairly, each on the thread of the caller whose task leads it (batcher.c:
 * no scheduler threads, no hand-off when the server is idle). A queue's first batch runs when it
 * is closed (the next task did not fit) or its oldest task has waited batch_timeout_micros
 * and a slot is free; it runs (padded up to the smallest
 * allowed_batch_sizes entry by repeating the last task's first row, inner dims padded with each
 * tensor's first element when pad_variable_length_inputs), and hands each task its rows.
 *
 * Errors (TF's texts): queue full → UNAVAILABLE "The batch scheduling queue to which this task
 * was submitted is full"; task larger than max_batch_size → INVALID_ARGUMENT "Task size N is
 * larger than maximum input batch size M" (with enable_large_batch_splitting the task runs on
 * its own instead: same result); inputs without a common dim 0 → INVALID_ARGUMENT. Isolation:
 * a task whose dtypes, ranks or inner dims do not match the signature runs on its own (so only
 * it gets its error); tasks join a batch only with tasks of the same dtypes, ranks and (without
 * padding) inner dims; a task past its deadline when its batch is about to run leaves it
 * (DEADLINE_EXCEEDED). A failed batch run still fails all its tasks (e.g. a kernel error).
 * Runs that feed a signature default (an input left out) are not batched. A model with its own
 * parameters (td_model_batching_params) gets its queue limits, window and padding from them;
 * the run slots (num_batch_threads) are always the server's.
 *
 * Async tasks (td_batcher_submit, issue 14): the caller does not wait. Its task joins the same
 * queues; a batch headed by an async task is led by one of num_batch_threads batch threads
 * (started on the first submit), or at once by the submitting thread when the batch is ready
 * and a second run slot is free (so an idle server still runs a request without a hand-off, while
 * one slot is always left to the batch threads: receiving threads keep receiving). The
 * completion callback runs exactly once per task — on the thread that ran its batch, or on the
 * submitting thread before td_batcher_submit returns (errors found at submit, unbatched runs,
 * a batcher shutting down) — for success, errors and deadline expiry alike.
 *
 * Ownership: td_batcher_run / td_batcher_submit borrow the model, signature and inputs (the
 * caller keeps its version handle and inputs until the call returned / the callback ran) and
 * fill outputs with tensors the caller owns. Thread safety: both may be called from any number
 * of threads; td_batcher_free only after every td_batcher_run has returned. td_batcher_free
 * runs the async tasks still queued (ignoring the batch window) and joins the batch threads;
 * a submit that comes during or after it fails with UNAVAILABLE.
 */
#ifndef TD_BATCHING_BATCHING_H
#define TD_BATCHING_BATCHING_H

#include <stdint.h>

#include "model/model.h"
#include "util/status.h"

#define TD_BATCH_MAX_ALLOWED_SIZES 64

typedef struct td_batching_params {
  int64_t max_batch_size;       /* default 1000 */
  int64_t batch_timeout_micros; /* default 0 */
  int64_t max_enqueued_batches; /* default 10 */
  int64_t num_batch_threads;    /* default: the number of cores */
  char thread_pool_name[64];    /* default "batch_threads" */
  int64_t allowed_batch_sizes[TD_BATCH_MAX_ALLOWED_SIZES];
  int n_allowed_batch_sizes;    /* 0: no padding to fixed sizes */
  int pad_variable_length_inputs;
  int enable_large_batch_splitting;
  int64_t max_execution_batch_size; /* accepted; oversized tasks run alone */
} td_batching_params;

/* TF's SharedBatchScheduler defaults. */
void td_batching_params_default(td_batching_params *p);
/* Parses a text-format tensorflow.serving.BatchingParameters over the defaults and validates
 * it (positive sizes; allowed_batch_sizes increasing, last == max_batch_size). */
td_code td_batching_params_parse(const char *text, size_t len, td_batching_params *p,
                                 td_status *st) TD_MUST_CHECK;
/* The same from a file. */
td_code td_batching_params_load(const char *path, td_batching_params *p, td_status *st) TD_MUST_CHECK;
/* --enable_per_model_batching_parameters: <version_dir>/batching_params.pbtxt over the defaults,
 * as a heap copy for td_model_set_batching_params; *out = NULL when the file does not exist.
 * Its num_batch_threads and thread_pool_name are not used (the server's pool is shared). */
td_code td_batching_params_for_version(const char *version_dir, td_batching_params **out,
                                       td_status *st) TD_MUST_CHECK;

typedef struct td_batcher td_batcher;

/* A scheduler with parameters p (copied). */
td_code td_batcher_new(const td_batching_params *p, td_batcher **out, td_status *st) TD_MUST_CHECK;
/* Frees the scheduler; every td_batcher_run must have returned. NULL is a no-op. */
void td_batcher_free(td_batcher *b);

/* td_model_run_opts(m, sig, inputs, outputs, opt, st), batched with concurrent calls for the
 * same (m, sig). Blocks until done. opt's deadline is checked when the batch is about to run
 * (an expired task leaves it) and by the run itself. */
td_code td_batcher_run(td_batcher *b, td_model *m, const td_signature *sig, const td_tensor *inputs,
                       td_tensor *outputs, const td_run_options *opt, td_status *st) TD_MUST_CHECK;

/* Shutdown: from now on no batch waits for its window (each runs as soon as a run slot is free),
 * so the tasks still queued finish quickly. NULL is a no-op. */
void td_batcher_flush(td_batcher *b);

/* Completion of an async task: code and (on error) st; outputs filled on TD_OK. */
typedef void (*td_batch_done_fn)(void *user, td_code code, const td_status *st);

/* td_batcher_run without waiting: done(user, ...) runs exactly once (see above); inputs and
 * outputs (sig->num_inputs / num_outputs entries) must stay valid until it ran. Only opt's
 * deadline is kept (the run itself gets none). */
void td_batcher_submit(td_batcher *b, td_model *m, const td_signature *sig, const td_tensor *inputs,
                       td_tensor *outputs, const td_run_options *opt, td_batch_done_fn done, void *user);

/* Statistics for tests and metrics: tasks run, batches run, rows padded. */
typedef struct td_batcher_stats {
  int64_t tasks, batches, padded_rows;
} td_batcher_stats;
td_batcher_stats td_batcher_get_stats(td_batcher *b);

#endif
