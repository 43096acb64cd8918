/* batcher.c — the shared batch scheduler (see batching.h): per-(model, signature) queues of
 * batches, one pool of worker threads, fair round-robin between queues.
 *
 * Invariants (all under `mu`): a queue exists only while it holds at least one batch, and sits
 * in the queue list exactly once; every batch but a queue's last is closed; a batch's size is
 * the sum of its tasks' sizes and never exceeds max_batch_size. A worker unlinks the batch it
 * takes (and moves its queue to the list's tail, or frees it when empty), runs it without the
 * lock, then marks each task done and signals it under the lock: the waiting caller owns the
 * task (on its stack) and cannot return before the worker lets go of the lock.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batching/batch_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct batch {
  batch_task *head, *tail;
  int64_t size;
  int closed;
  struct batch *next;
} batch;

typedef struct queue {
  td_model *model;
  const td_signature *sig;
  batch *first, *last;
  int64_t n_batches;
  struct queue *next;
} queue;

struct td_batcher {
  td_batching_params p;
  pthread_mutex_t mu;
  pthread_cond_t work; /* workers wait here (CLOCK_MONOTONIC) */
  queue *head, *tail;  /* queues, round-robin order */
  int stopping;
  int n_threads;
  pthread_t *threads;
  td_batcher_stats stats;
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void queue_unlink(td_batcher *b, queue *q, queue *prev) {
  if (prev) prev->next = q->next;
  else b->head = q->next;
  if (b->tail == q) b->tail = prev;
  q->next = NULL;
}

static void queue_append(td_batcher *b, queue *q) {
  if (b->tail) b->tail->next = q;
  else b->head = q;
  b->tail = q;
}

/* The first queue (round-robin order) whose first batch may run now; else NULL and *wake_us
 * is the earliest time one will (INT64_MAX: none). */
static queue *ready_queue(td_batcher *b, int64_t now, queue **prev_out, int64_t *wake_us) {
  *wake_us = INT64_MAX;
  queue *prev = NULL;
  for (queue *q = b->head; q; prev = q, q = q->next) {
    int64_t due = q->first->head->enqueued_us + b->p.batch_timeout_micros;
    if (q->first->closed || due <= now) {
      *prev_out = prev;
      return q;
    }
    if (due < *wake_us) *wake_us = due;
  }
  return NULL;
}

/* The execution size: the smallest allowed batch size >= size (or size itself). */
static int64_t padded_size(const td_batching_params *p, int64_t size) {
  for (int i = 0; i < p->n_allowed_batch_sizes; i++)
    if (p->allowed_batch_sizes[i] >= size) return p->allowed_batch_sizes[i];
  return size;
}

static void wait_until(td_batcher *b, int64_t wake_us) {
  if (wake_us == INT64_MAX) {
    pthread_cond_wait(&b->work, &b->mu);
    return;
  }
  struct timespec ts = {.tv_sec = wake_us / 1000000, .tv_nsec = (wake_us % 1000000) * 1000};
  pthread_cond_timedwait(&b->work, &b->mu, &ts);
}

static void *worker_main(void *arg) {
  td_batcher *b = arg;
  pthread_mutex_lock(&b->mu);
  while (!b->stopping) {
    queue *prev = NULL;
    int64_t wake;
    queue *q = ready_queue(b, now_us(), &prev, &wake);
    if (!q) {
      wait_until(b, wake);
      continue;
    }
    batch *bt = q->first;
    q->first = bt->next;
    q->n_batches--;
    td_model *model = q->model;
    const td_signature *sig = q->sig;
    queue_unlink(b, q, prev);
    if (q->first) queue_append(b, q); /* fairness: to the back of the line */
    else free(q);
    int64_t padded = padded_size(&b->p, bt->size);
    b->stats.batches++;
    b->stats.padded_rows += padded - bt->size;
    pthread_mutex_unlock(&b->mu);

    int64_t start = now_us(); /* the tasks are not done: their owners wait, reading is safe */
    for (batch_task *t = bt->head; t; t = t->next)
      td_metrics_batch_task(b->p.thread_pool_name, t->size, start - t->enqueued_us);
    td_metrics_batch_run(padded, padded - bt->size);
    td_batch_execute(&b->p, model, sig, bt->head, bt->size, padded);

    pthread_mutex_lock(&b->mu);
    for (batch_task *t = bt->head, *next; t; t = next) {
      next = t->next;
      t->done = 1;
      pthread_cond_signal(&t->cond);
    }
    free(bt);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

td_code td_batcher_new(const td_batching_params *p, td_batcher **out, td_status *st) {
  td_batcher *b = td_xcalloc(1, sizeof *b);
  b->p = *p;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, &ca);
  pthread_condattr_destroy(&ca);
  b->threads = td_xcalloc((size_t)p->num_batch_threads, sizeof *b->threads);
  for (int64_t i = 0; i < p->num_batch_threads; i++) {
    if (pthread_create(&b->threads[i], NULL, worker_main, b) != 0) {
      td_batcher_free(b);
      return td_status_set(st, TD_RESOURCE_EXHAUSTED, "cannot start batch thread %lld of %lld", (long long)i,
                           (long long)p->num_batch_threads);
    }
    b->n_threads++;
  }
  *out = b;
  return TD_OK;
}

void td_batcher_free(td_batcher *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->stopping = 1;
  pthread_cond_broadcast(&b->work);
  pthread_mutex_unlock(&b->mu);
  for (int i = 0; i < b->n_threads; i++) pthread_join(b->threads[i], NULL);
  if (b->head) TD_LOG_ERROR("batching: freed with queued tasks (td_batcher_run still running)");
  pthread_cond_destroy(&b->work);
  pthread_mutex_destroy(&b->mu);
  free(b->threads);
  free(b);
}

td_batcher_stats td_batcher_get_stats(td_batcher *b) {
  pthread_mutex_lock(&b->mu);
  td_batcher_stats s = b->stats;
  pthread_mutex_unlock(&b->mu);
  return s;
}

/* Adds t to (model, sig)'s queue; UNAVAILABLE when that needs a batch the queue cannot take. */
static td_code enqueue_locked(td_batcher *b, td_model *model, const td_signature *sig, batch_task *t,
                              td_status *st) {
  queue *q = b->head;
  while (q && (q->model != model || q->sig != sig)) q = q->next;
  batch *last = q ? q->last : NULL;
  if (last && !last->closed && last->size + t->size <= b->p.max_batch_size) {
    last->tail->next = t;
    last->tail = t;
  } else {
    if (last) last->closed = 1;
    if (q && q->n_batches >= b->p.max_enqueued_batches)
      return td_status_set(st, TD_UNAVAILABLE, "The batch scheduling queue to which this task was submitted is full");
    if (!q) {
      q = td_xcalloc(1, sizeof *q);
      q->model = model;
      q->sig = sig;
      queue_append(b, q);
    }
    batch *bt = td_xcalloc(1, sizeof *bt);
    bt->head = bt->tail = t;
    if (q->last) q->last->next = bt;
    else q->first = bt;
    q->last = bt;
    q->n_batches++;
    last = bt;
  }
  last->size += t->size;
  if (last->size == b->p.max_batch_size) last->closed = 1;
  b->stats.tasks++;
  pthread_cond_signal(&b->work);
  return TD_OK;
}

td_code td_batcher_run(td_batcher *b, td_model *m, const td_signature *sig, const td_tensor *inputs,
                       td_tensor *outputs, const td_run_options *opt, td_status *st) {
  for (int i = 0; i < sig->num_inputs; i++) /* an input left to its signature default */
    if (inputs[i].dtype == TD_DT_INVALID) return td_model_run_opts(m, sig, inputs, outputs, opt, st);
  int64_t size = 0;
  TD_TRY(td_batch_task_size(sig, inputs, &size, st));
  if (size > b->p.max_batch_size) {
    if (b->p.enable_large_batch_splitting) return td_model_run_opts(m, sig, inputs, outputs, opt, st);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Task size %lld is larger than maximum input batch size %lld",
                         (long long)size, (long long)b->p.max_batch_size);
  }
  batch_task t = {.inputs = inputs, .outputs = outputs, .size = size, .enqueued_us = now_us()};
  pthread_cond_init(&t.cond, NULL);
  pthread_mutex_lock(&b->mu);
  td_code code = b->stopping ? td_status_set(st, TD_UNAVAILABLE, "batching is shutting down")
                             : enqueue_locked(b, m, sig, &t, st);
  while (code == TD_OK && !t.done) pthread_cond_wait(&t.cond, &b->mu);
  pthread_mutex_unlock(&b->mu);
  pthread_cond_destroy(&t.cond);
  if (code != TD_OK) return code;
  if (t.code != TD_OK && st) *st = t.status;
  return t.code;
}
