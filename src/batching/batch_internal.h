/* batch_internal.h — what the scheduler (batcher.c) and the tensor side of a batch
 * (batch_tensors.c) share: the task record and the batch execution entry point. */
#ifndef TD_BATCHING_BATCH_INTERNAL_H
#define TD_BATCHING_BATCH_INTERNAL_H

#include <pthread.h>

#include "batching/batching.h"

/* One td_batcher_run call. Lives on the caller's stack; the scheduler links it into a batch
 * and sets code/status/outputs, then done (under the batcher's lock) and signals cond. */
typedef struct batch_task {
  const td_tensor *inputs; /* sig->num_inputs, borrowed from the caller */
  td_tensor *outputs;      /* sig->num_outputs, filled on success */
  int64_t size;            /* dim 0 of every input */
  int64_t enqueued_us;
  td_code code;
  td_status status;
  int done;
  pthread_cond_t cond;
  struct batch_task *next;
} batch_task;

/* Dim 0 shared by all inputs (INVALID_ARGUMENT if an input is a scalar or they differ). */
td_code td_batch_task_size(const td_signature *sig, const td_tensor *inputs, int64_t *size, td_status *st);

/* Runs the tasks of the list at head (total rows `size`) as one run of sig on m, padded to
 * `padded` rows; sets every task's code and status, and its outputs on success. */
void td_batch_execute(const td_batching_params *p, td_model *m, const td_signature *sig, batch_task *head,
                      int64_t size, int64_t padded);

#endif
