/* batcher.c — the shared batch scheduler (see batching.h): per-(model, signature) queues of
 * batches, at most num_batch_threads batches running at once, run by the callers themselves.
 *
 * There are no scheduler threads. The caller whose task heads a queue's first batch is that
 * batch's leader: when a run slot is free (running < num_batch_threads) and the batch is ready
 * (closed, or its first task has waited batch_timeout_micros) it takes the batch, runs it on its
 * own thread and hands every other task its rows. The other callers just wait for their task to
 * be done. So an idle server runs a request at once on its own thread, as if unbatched, while a
 * busy one collects the requests that arrive while every slot is running into the next batches —
 * without a thread hand-off per request. A slot freeing up, a batch closing and a batch becoming
 * a queue's first wake that queue's leader; leaders of all queues compete for free slots, and a
 * queue that just ran goes to the back of the list.
 *
 * Invariants (all under `mu`): a queue exists only while it holds at least one batch, and sits
 * in the queue list exactly once; every batch but a queue's last is closed; a batch's size is
 * the sum of its tasks' sizes and never exceeds max_batch_size; running <= num_batch_threads.
 * A leader unlinks its batch before running it and marks the tasks done (signalling each) under
 * the lock afterwards: a waiting caller owns its task (on its stack) and cannot return before
 * the leader lets go of the lock.
 *
 * Isolation (issue 12): a task that does not match its signature (dtype, rank, inner dims) never
 * joins a batch — it runs on its own and only it gets the error; a task joins the open batch
 * only if it is compatible with the batch's tasks (same dtypes and ranks, and inner dims unless
 * padding), else that batch closes and the task starts the next. A task whose deadline has
 * passed when its batch is about to run leaves the batch (DEADLINE_EXCEEDED) and costs nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batching/batch_internal.h"
#include "metrics/metrics.h"
#include "util/log.h"
#include "util/mem.h"

typedef struct queue queue;

typedef struct batch {
  batch_task *head, *tail;
  int64_t size;
  int closed;
  queue *queue;
  struct batch *next;
} batch;

struct queue {
  td_model *model;
  const td_signature *sig;
  const td_batching_params *p; /* the model's own, or the batcher's */
  batch *first, *last;
  int64_t n_batches;
  queue *next;
};

struct td_batcher {
  td_batching_params p;
  pthread_mutex_t mu;
  queue *head, *tail; /* queues, round-robin order */
  int64_t running;    /* batches being run */
  td_batcher_stats stats;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_us(void) { return now_ns() / 1000; }

static void queue_unlink(td_batcher *b, queue *q) {
  queue *prev = NULL;
  for (queue *x = b->head; x != q; x = x->next) prev = x;
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

/* Wakes the leader of every queue's first batch: a slot freed or a batch became ready. */
static void wake_leaders(td_batcher *b) {
  for (queue *q = b->head; q; q = q->next) pthread_cond_signal(&q->first->head->cond);
}

/* The execution size: the smallest allowed batch size >= size (or size itself). */
static int64_t padded_size(const td_batching_params *p, int64_t size) {
  for (int i = 0; i < p->n_allowed_batch_sizes; i++)
    if (p->allowed_batch_sizes[i] >= size) return p->allowed_batch_sizes[i];
  return size;
}

td_code td_batcher_new(const td_batching_params *p, td_batcher **out, td_status *st) {
  (void)st;
  td_batcher *b = td_xcalloc(1, sizeof *b);
  b->p = *p;
  pthread_mutex_init(&b->mu, NULL);
  *out = b;
  return TD_OK;
}

void td_batcher_free(td_batcher *b) {
  if (!b) return;
  if (b->head || b->running) TD_LOG_ERROR("batching: freed while td_batcher_run calls are still running");
  pthread_mutex_destroy(&b->mu);
  free(b);
}

td_batcher_stats td_batcher_get_stats(td_batcher *b) {
  pthread_mutex_lock(&b->mu);
  td_batcher_stats s = b->stats;
  pthread_mutex_unlock(&b->mu);
  return s;
}

/* Adds t to (model, sig)'s queue and sets *into to its batch; UNAVAILABLE when that needs a
 * batch the queue cannot take. */
static td_code enqueue_locked(td_batcher *b, td_model *model, const td_signature *sig, const td_batching_params *p,
                              batch_task *t, batch **into, td_status *st) {
  queue *q = b->head;
  while (q && (q->model != model || q->sig != sig)) q = q->next;
  batch *last = q ? q->last : NULL;
  if (last && !last->closed && last->size + t->size <= p->max_batch_size &&
      td_batch_tasks_compatible(p, sig, last->head, t)) {
    last->tail->next = t;
    last->tail = t;
  } else {
    if (last && !last->closed) {
      last->closed = 1;
      if (last == q->first) pthread_cond_signal(&last->head->cond); /* now ready */
    }
    if (q && q->n_batches >= p->max_enqueued_batches)
      return td_status_set(st, TD_UNAVAILABLE, "The batch scheduling queue to which this task was submitted is full");
    if (!q) {
      q = td_xcalloc(1, sizeof *q);
      q->model = model;
      q->sig = sig;
      q->p = p;
      queue_append(b, q);
    }
    batch *bt = td_xcalloc(1, sizeof *bt);
    bt->head = bt->tail = t;
    bt->queue = q;
    if (q->last) q->last->next = bt;
    else q->first = bt;
    q->last = bt;
    q->n_batches++;
    last = bt;
  }
  last->size += t->size;
  if (last->size == p->max_batch_size && !last->closed) {
    last->closed = 1;
    if (last == q->first && last->head != t) pthread_cond_signal(&last->head->cond);
  }
  b->stats.tasks++;
  *into = last;
  return TD_OK;
}

/* Takes the tasks whose deadline has passed out of bt (before it runs) and finishes them with
 * DEADLINE_EXCEEDED; each owner may return as soon as the lock is released. */
static void drop_expired_locked(batch *bt) {
  int64_t now = now_ns();
  batch_task **pp = &bt->head;
  bt->tail = NULL;
  while (*pp) {
    batch_task *t = *pp;
    if (!t->deadline_ns || now < t->deadline_ns) {
      bt->tail = t;
      pp = &t->next;
      continue;
    }
    *pp = t->next;
    bt->size -= t->size;
    t->next = NULL;
    t->code = td_status_set(&t->status, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
    t->done = 1;
    pthread_cond_signal(&t->cond);
  }
}

/* Leader side: unlinks bt (its queue's first batch) and runs it with the lock released; then
 * marks its tasks done, frees it and wakes the leaders that may use the freed slot. */
static void run_batch_locked(td_batcher *b, batch *bt) {
  queue *q = bt->queue;
  td_model *model = q->model;
  const td_signature *sig = q->sig;
  const td_batching_params *p = q->p;
  q->first = bt->next;
  q->n_batches--;
  queue_unlink(b, q);
  if (q->first) queue_append(b, q); /* fairness: to the back of the line */
  else free(q);
  if (bt->next) pthread_cond_signal(&bt->next->head->cond); /* the queue's new leader */
  drop_expired_locked(bt);
  if (!bt->head) { /* every task had expired: nothing to run */
    free(bt);
    wake_leaders(b);
    return;
  }
  int64_t padded = padded_size(p, bt->size);
  b->running++;
  b->stats.batches++;
  b->stats.padded_rows += padded - bt->size;
  pthread_mutex_unlock(&b->mu);

  int64_t start = now_us(); /* the tasks are not done: their owners wait, reading is safe */
  for (batch_task *t = bt->head; t; t = t->next)
    td_metrics_batch_task(b->p.thread_pool_name, t->size, start - t->enqueued_us);
  td_metrics_batch_run(padded, padded - bt->size);
  td_batch_execute(p, model, sig, bt->head, bt->size, padded);

  pthread_mutex_lock(&b->mu);
  b->running--;
  for (batch_task *t = bt->head, *next; t; t = next) {
    next = t->next;
    t->done = 1;
    pthread_cond_signal(&t->cond);
  }
  free(bt);
  wake_leaders(b);
}

/* Waits until t is done, leading its batch when t heads its queue's first batch. */
static void wait_or_lead_locked(td_batcher *b, const td_batching_params *p, batch_task *t, batch *bt) {
  while (!t->done) {
    int leader = bt && bt->head == t && bt->queue->first == bt;
    if (!leader) {
      pthread_cond_wait(&t->cond, &b->mu);
      continue;
    }
    int64_t due = t->enqueued_us + p->batch_timeout_micros;
    if (b->running < b->p.num_batch_threads && (bt->closed || now_us() >= due)) {
      run_batch_locked(b, bt);
      bt = NULL; /* freed; t is done */
      continue;
    }
    if (b->running >= b->p.num_batch_threads || bt->closed) {
      pthread_cond_wait(&t->cond, &b->mu); /* a slot frees up */
      continue;
    }
    struct timespec ts = {.tv_sec = due / 1000000, .tv_nsec = (due % 1000000) * 1000};
    pthread_cond_timedwait(&t->cond, &b->mu, &ts); /* the window closes, or the batch fills */
  }
}

td_code td_batcher_run(td_batcher *b, td_model *m, const td_signature *sig, const td_tensor *inputs,
                       td_tensor *outputs, const td_run_options *opt, td_status *st) {
  for (int i = 0; i < sig->num_inputs; i++) /* an input left to its signature default */
    if (inputs[i].dtype == TD_DT_INVALID) return td_model_run_opts(m, sig, inputs, outputs, opt, st);
  const td_batching_params *p = td_model_batching_params(m);
  if (!p) p = &b->p;
  int64_t size = 0;
  TD_TRY(td_batch_task_size(sig, inputs, &size, st));
  /* a task that does not match the signature runs alone: its error stays its own */
  if (!td_batch_task_fits_signature(p, sig, inputs)) return td_model_run_opts(m, sig, inputs, outputs, opt, st);
  if (size > p->max_batch_size) {
    if (p->enable_large_batch_splitting) return td_model_run_opts(m, sig, inputs, outputs, opt, st);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Task size %lld is larger than maximum input batch size %lld",
                         (long long)size, (long long)p->max_batch_size);
  }
  batch_task t = {.inputs = inputs, .outputs = outputs, .size = size, .enqueued_us = now_us(),
                  .deadline_ns = opt ? opt->deadline_ns : 0};
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t.cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_lock(&b->mu);
  batch *bt = NULL;
  td_code code = enqueue_locked(b, m, sig, p, &t, &bt, st);
  if (code == TD_OK) wait_or_lead_locked(b, p, &t, bt);
  pthread_mutex_unlock(&b->mu);
  pthread_cond_destroy(&t.cond);
  if (code != TD_OK) return code;
  if (t.code != TD_OK && st) *st = t.status;
  return t.code;
}
