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
 *
 * Async tasks (td_batcher_submit) have no waiting owner: a batch they head is led by a batch
 * thread (sched_main, num_batch_threads of them, started on the first submit, woken through
 * sched_cond), or at once by the submitting thread when it could run right away and another run
 * slot stays free (so receiving threads never all block in runs while calls wait unreceived). Async tasks are
 * heap records the batcher owns; whoever finishes them (a leader after its run, or the one that
 * drops them as expired) unlinks them under `mu` and runs their callbacks with `mu` released,
 * then frees them. Every task is finished exactly once, since it is unlinked exactly once.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <stdint.h>
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
  pthread_cond_t sched_cond; /* batch threads: an async-led batch may be ready, or stopping */
  pthread_t *threads;        /* batch threads (NULL until the first submit) */
  int n_threads;
  int stopping;              /* td_batcher_free began: run what is queued, take nothing new */
  int flush;                 /* td_batcher_flush: no batch waits for its window any more */
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

/* Wakes the leader of a batch headed by t: its waiting owner, or one batch thread (any of them
 * scans every queue; one that finds no free slot sleeps again, and a thread that finishes a run
 * scans again before sleeping, so one wake per ready batch suffices — a broadcast woke them all
 * to find one batch, a futex wake and a context switch each). */
static void signal_leader(td_batcher *b, batch_task *t) {
  if (t->done_cb) pthread_cond_signal(&b->sched_cond);
  else pthread_cond_signal(&t->cond);
}

/* Wakes the leader of every queue's first batch: a slot freed or a batch became ready. */
static void wake_leaders(td_batcher *b) {
  for (queue *q = b->head; q; q = q->next) signal_leader(b, q->first->head);
}

/* A list of finished async tasks, in finishing order, waiting for their callbacks. */
typedef struct done_list {
  batch_task *head, *tail;
} done_list;

static void done_list_add(done_list *l, batch_task *t) {
  t->next = NULL;
  if (l->tail) l->tail->next = t;
  else l->head = t;
  l->tail = t;
}

/* Runs the callbacks of l's tasks and frees them; called with `mu` released. */
static void done_list_finish(done_list *l) {
  for (batch_task *t = l->head, *next; t; t = next) {
    next = t->next;
    t->done_cb(t->user, t->code, &t->status);
    free(t);
  }
  l->head = l->tail = NULL;
}

/* The same from under `mu` (released for the callbacks). */
static void done_list_finish_locked(td_batcher *b, done_list *l) {
  if (!l->head) return;
  pthread_mutex_unlock(&b->mu);
  done_list_finish(l);
  pthread_mutex_lock(&b->mu);
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
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->sched_cond, &ca);
  pthread_condattr_destroy(&ca);
  *out = b;
  return TD_OK;
}

void td_batcher_free(td_batcher *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->stopping = b->flush = 1; /* the batch threads run what is queued, then end */
  pthread_cond_broadcast(&b->sched_cond);
  pthread_mutex_unlock(&b->mu);
  for (int i = 0; i < b->n_threads; i++) pthread_join(b->threads[i], NULL);
  free(b->threads);
  if (b->head || b->running) TD_LOG_ERROR("batching: freed while td_batcher_run calls are still running");
  pthread_cond_destroy(&b->sched_cond);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

void td_batcher_flush(td_batcher *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->flush = 1;
  wake_leaders(b);
  pthread_cond_broadcast(&b->sched_cond);
  pthread_mutex_unlock(&b->mu);
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
      if (last == q->first) signal_leader(b, last->head); /* now ready */
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
    if (last == q->first && last->head != t) signal_leader(b, last->head);
  }
  b->stats.tasks++;
  *into = last;
  return TD_OK;
}

/* Takes the tasks whose deadline has passed out of bt (before it runs) and finishes them with
 * DEADLINE_EXCEEDED; each owner may return as soon as the lock is released (async ones go to
 * `expired` for their callbacks). */
static void drop_expired_locked(batch *bt, done_list *expired) {
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
    if (t->done_cb) {
      done_list_add(expired, t);
      continue;
    }
    t->done = 1;
    pthread_cond_signal(&t->cond);
  }
}

/* Leader side: unlinks bt (its queue's first batch) and runs it with the lock released; then
 * marks its tasks done, frees it and wakes the leaders that may use the freed slot. Async
 * tasks' callbacks run with the lock released (before returning, with it held again). */
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
  if (bt->next) signal_leader(b, bt->next->head); /* the queue's new leader */
  done_list finished = {0};
  drop_expired_locked(bt, &finished);
  if (!bt->head) { /* every task had expired: nothing to run */
    free(bt);
    wake_leaders(b);
    done_list_finish_locked(b, &finished);
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
    if (t->done_cb) {
      done_list_add(&finished, t);
      continue;
    }
    t->done = 1;
    pthread_cond_signal(&t->cond);
  }
  free(bt);
  wake_leaders(b);
  done_list_finish_locked(b, &finished);
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
    if (b->running < b->p.num_batch_threads && (bt->closed || b->flush || now_us() >= due)) {
      run_batch_locked(b, bt);
      bt = NULL; /* freed; t is done */
      continue;
    }
    if (b->running >= b->p.num_batch_threads || bt->closed || b->flush) {
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

/* ---- async tasks ---- */

/* A batch thread: leads the batches headed by async tasks when a slot is free and they are
 * ready (closed, window over, or the batcher stopping); ends once stopping and nothing is queued. */
static void *sched_main(void *arg) {
  td_batcher *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    if (b->stopping && !b->head) break;
    int64_t now = now_us(), wake = INT64_MAX;
    int ran = 0;
    if (b->running < b->p.num_batch_threads)
      for (queue *q = b->head; q; q = q->next) {
        batch *bt = q->first;
        if (!bt->head->done_cb) continue; /* its waiting owner leads it */
        int64_t due = bt->head->enqueued_us + q->p->batch_timeout_micros;
        if (bt->closed || now >= due || b->flush) {
          run_batch_locked(b, bt);
          ran = 1;
          break;
        }
        if (due < wake) wake = due;
      }
    if (ran) continue;
    if (wake == INT64_MAX) {
      pthread_cond_wait(&b->sched_cond, &b->mu);
    } else {
      struct timespec ts = {.tv_sec = wake / 1000000, .tv_nsec = (wake % 1000000) * 1000};
      pthread_cond_timedwait(&b->sched_cond, &b->mu, &ts);
    }
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Starts the batch threads (under mu, once). */
static void start_threads_locked(td_batcher *b) {
  int n = b->p.num_batch_threads > 0 ? (int)(b->p.num_batch_threads < 256 ? b->p.num_batch_threads : 256) : 1;
  b->threads = td_xcalloc((size_t)n, sizeof *b->threads);
  for (int i = 0; i < n; i++) {
    if (pthread_create(&b->threads[b->n_threads], NULL, sched_main, b) != 0) break;
    pthread_setname_np(b->threads[b->n_threads], "td-batch");
    b->n_threads++;
  }
  if (!b->n_threads) TD_LOG_ERROR("batching: could not start a batch thread");
}

void td_batcher_submit(td_batcher *b, td_model *m, const td_signature *sig, const td_tensor *inputs,
                       td_tensor *outputs, const td_run_options *opt, td_batch_done_fn done, void *user) {
  td_status st = {0};
  int alone = 0; /* an input left to its signature default, or a task that cannot join a batch */
  for (int i = 0; i < sig->num_inputs; i++) alone |= inputs[i].dtype == TD_DT_INVALID;
  const td_batching_params *p = td_model_batching_params(m);
  if (!p) p = &b->p;
  int64_t size = 0;
  td_code code = alone ? TD_OK : td_batch_task_size(sig, inputs, &size, &st);
  if (code == TD_OK && !alone) alone = !td_batch_task_fits_signature(p, sig, inputs); /* its error stays its own */
  if (code == TD_OK && !alone && size > p->max_batch_size) {
    if (p->enable_large_batch_splitting) alone = 1;
    else code = td_status_set(&st, TD_INVALID_ARGUMENT, "Task size %lld is larger than maximum input batch size %lld",
                              (long long)size, (long long)p->max_batch_size);
  }
  if (code == TD_OK && alone) code = td_model_run_opts(m, sig, inputs, outputs, opt, &st);
  if (code != TD_OK || alone) {
    done(user, code, &st);
    return;
  }
  batch_task *t = td_xcalloc(1, sizeof *t);
  *t = (batch_task){.inputs = inputs, .outputs = outputs, .size = size, .enqueued_us = now_us(),
                    .deadline_ns = opt ? opt->deadline_ns : 0, .done_cb = done, .user = user};
  pthread_mutex_lock(&b->mu);
  batch *bt = NULL;
  if (b->stopping) code = td_status_set(&t->status, TD_UNAVAILABLE, "The batch scheduler is shutting down");
  else code = enqueue_locked(b, m, sig, p, t, &bt, &t->status);
  if (code != TD_OK) {
    pthread_mutex_unlock(&b->mu);
    done(user, code, &t->status);
    free(t);
    return;
  }
  if (!b->threads) start_threads_locked(b);
  /* t leads: this thread runs it now if it may and a run slot stays free for the batch threads
   * (the submitter is typically a front end's receiving thread: at most num_batch_threads - 1 of
   * them block running batches, the rest keep taking calls that queue up); else a batch thread */
  if (bt->head == t && bt->queue->first == bt) {
    if (b->running + 1 < b->p.num_batch_threads && (bt->closed || b->flush || p->batch_timeout_micros <= 0))
      run_batch_locked(b, bt);
    else signal_leader(b, t);
  }
  pthread_mutex_unlock(&b->mu);
}
