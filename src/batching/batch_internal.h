/* batch_internal.h — what the scheduler (batcher.c) and the tensor side of a batch
 * (batch_tensors.c) share: the task record and the batch execution entry point. */
#ifndef TD_BATCHING_BATCH_INTERNAL_H
#define TD_BATCHING_BATCH_INTERNAL_H

#include <pthread.h>

#include "batching/batching.h"

/* One td_batcher_run call (sync: on the caller's stack; the scheduler links it into a batch
 * and sets code/status/outputs, then done (under the batcher's lock) and signals cond) or one
 * td_batcher_submit (async: heap, owned by the batcher until its done_cb ran; cond unused). */
typedef struct batch_task {
  const td_tensor *inputs; /* sig->num_inputs, borrowed from the caller */
  td_tensor *outputs;      /* sig->num_outputs, filled on success */
  int64_t size;            /* dim 0 of every input */
  int64_t enqueued_us;
  int64_t deadline_ns;     /* CLOCK_MONOTONIC; 0 = none. Past it, the task leaves its batch unrun */
  td_code code;
  td_status status;
  int done;
  pthread_cond_t cond;
  td_batch_done_fn done_cb; /* async tasks only (non-NULL marks one) */
  void *user;
  struct batch_task *next;
} batch_task;

/* 1 when the task's inputs match sig (dtypes; ranks and dims after the batch dim where the
 * signature declares them — with pad_variable_length_inputs at most the declared size) and are
 * batchable; a task that does not runs on its own, so its error is its own (never its batch
 * mates'). */
int td_batch_task_fits_signature(const td_batching_params *p, const td_signature *sig, const td_tensor *inputs);
/* 1 when tasks a and b can share a batch: same dtypes and ranks, and (without padding) the
 * same dims after the batch dim. */
int td_batch_tasks_compatible(const td_batching_params *p, const td_signature *sig, const batch_task *a,
                              const batch_task *b);

/* Dim 0 shared by all inputs (INVALID_ARGUMENT if an input is a scalar or they differ). */
td_code td_batch_task_size(const td_signature *sig, const td_tensor *inputs, int64_t *size, td_status *st);

/* Runs the tasks of the list at head (total rows `size`) as one run of sig on m, padded to
 * `padded` rows; sets every task's code and status, and its outputs on success. */
void td_batch_execute(const td_batching_params *p, td_model *m, const td_signature *sig, batch_task *head,
                      int64_t size, int64_t padded);

#endif
