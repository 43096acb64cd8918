/* test_batcher_submit.c — the batcher's async entry (td_batcher_submit, issue 14) on the
 * generated matrix_half_plus_two twin (x float[-1,3,3] → y = 0.5x + 2, tests/fakes): every
 * callback runs exactly once, in batch order, on a batch thread, with each task's own rows;
 * errors found at submit are reported through the callback before submit returns; a queue that
 * is full, an expired task, async and blocking callers sharing one batch, and td_batcher_free
 * with tasks still waiting in their batch window (they are run, not lost). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batching/batching.h"
#include "fakes/fake_model.h"

static td_model *g_model;
static const td_signature *g_sig;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_order;

static int setup(void **state) {
  (void)state;
  td_status st = {0};
  g_model = td_fake_model_new_shape(2.0f, "dim { size: -1 } dim { size: 3 } dim { size: 3 }", &st);
  if (!g_model) return -1;
  g_sig = td_model_find_signature(g_model, "serving_default");
  return g_sig ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  td_model_free(g_model);
  return 0;
}

static td_batcher *new_batcher(const char *text) {
  td_batching_params p;
  td_batching_params_default(&p);
  td_status st = {0};
  if (td_batching_params_parse(text, strlen(text), &p, &st) != TD_OK) fail_msg("%s", st.msg);
  td_batcher *b = NULL;
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  return b;
}

/* One async task: its input rows (x = base + i), output and what its callback saw. */
typedef struct rec {
  float x[8 * 9];
  int64_t rows;
  float base;
  td_tensor in, out;
  int calls, order;
  td_code code;
  char msg[TD_STATUS_MSG_MAX];
  pthread_t thread;
} rec;

static void on_done(void *user, td_code code, const td_status *st) {
  rec *r = user;
  pthread_mutex_lock(&g_mu);
  r->calls++;
  r->code = code;
  memcpy(r->msg, code == TD_OK ? "" : st->msg, code == TD_OK ? 1 : sizeof r->msg);
  r->order = g_order++;
  r->thread = pthread_self();
  pthread_mutex_unlock(&g_mu);
}

static void submit(td_batcher *b, rec *r, int64_t rows, float base, td_dtype dtype, int64_t deadline_ns) {
  r->rows = rows;
  r->base = base;
  for (int64_t i = 0; i < rows * 9; i++) r->x[i] = base + (float)i;
  td_shape s = {.rank = 3, .dim = {rows, 3, 3}};
  r->in = td_tensor_borrow(dtype, &s, r->x);
  td_run_options opt = {.deadline_ns = deadline_ns};
  td_batcher_submit(b, g_model, g_sig, &r->in, &r->out, &opt, on_done, r);
}

static int calls(const rec *r) {
  pthread_mutex_lock(&g_mu);
  int n = r->calls;
  pthread_mutex_unlock(&g_mu);
  return n;
}

/* Waits (up to 10 s) until every one of n records had its callback. */
static void wait_all(rec *r, int n) {
  for (int tries = 0; tries < 10000; tries++) {
    int done = 0;
    for (int i = 0; i < n; i++) done += calls(&r[i]) > 0;
    if (done == n) return;
    usleep(1000);
  }
  fail_msg("callbacks did not all run");
}

static void assert_rows(const rec *r) {
  assert_int_equal(r->code, TD_OK);
  assert_int_equal(r->out.shape.rank, 3);
  assert_int_equal(r->out.shape.dim[0], r->rows);
  for (int64_t i = 0; i < r->rows * 9; i++) assert_true(td_f32(&r->out)[i] == 0.5f * (r->base + (float)i) + 2.0f);
}

/* Tasks submitted inside one batch window share one batch, run by a batch thread; each callback
 * runs once, in submission order, and each task gets its own rows. */
static void test_callbacks_once_in_order(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 64 } batch_timeout_micros { value: 200000 }"
                              " num_batch_threads { value: 1 }");
  enum { N = 10 };
  rec *r = calloc(N, sizeof *r);
  for (int i = 0; i < N; i++) {
    submit(b, &r[i], 1 + i % 3, (float)(100 * i), TD_DT_FLOAT, 0);
    assert_int_equal(calls(&r[i]), 0); /* waits in the batch window: submit returned at once */
  }
  wait_all(r, N);
  usleep(20000); /* a second call would show up by now */
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].calls, 1);
    assert_rows(&r[i]);
    assert_false(pthread_equal(r[i].thread, pthread_self()));
    if (i) assert_true(r[i].order == r[i - 1].order + 1);
    td_tensor_release(&r[i].out);
  }
  td_batcher_stats s = td_batcher_get_stats(b);
  assert_int_equal(s.tasks, N);
  assert_int_equal(s.batches, 1);
  td_batcher_free(b);
  free(r);
}

/* Errors found at submit come through the callback before submit returns (TF's texts); a full
 * queue is UNAVAILABLE while the batch already queued still runs. */
static void test_errors_at_submit(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 4 } batch_timeout_micros { value: 100000 }"
                              " max_enqueued_batches { value: 1 } num_batch_threads { value: 1 }");
  rec *r = calloc(4, sizeof *r);
  submit(b, &r[0], 5, 0, TD_DT_FLOAT, 0); /* larger than max_batch_size */
  assert_int_equal(r[0].calls, 1);
  assert_int_equal(r[0].code, TD_INVALID_ARGUMENT);
  assert_string_equal(r[0].msg, "Task size 5 is larger than maximum input batch size 4");
  submit(b, &r[1], 1, 0, TD_DT_INT32, 0); /* wrong dtype: runs alone, only it fails */
  assert_int_equal(r[1].calls, 1);
  assert_int_equal(r[1].code, TD_INVALID_ARGUMENT);
  submit(b, &r[2], 3, 10, TD_DT_FLOAT, 0); /* opens the queue's only batch */
  submit(b, &r[3], 3, 20, TD_DT_FLOAT, 0); /* does not fit: needs a second batch */
  assert_int_equal(r[3].calls, 1);
  assert_int_equal(r[3].code, TD_UNAVAILABLE);
  assert_string_equal(r[3].msg, "The batch scheduling queue to which this task was submitted is full");
  wait_all(&r[2], 1);
  assert_int_equal(r[2].calls, 1);
  assert_rows(&r[2]);
  td_tensor_release(&r[2].out);
  td_batcher_free(b);
  free(r);
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A task whose deadline passes in the batch window gets DEADLINE_EXCEEDED from its callback;
 * its batch mate runs. */
static void test_expired_task(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 8 } batch_timeout_micros { value: 100000 }"
                              " num_batch_threads { value: 1 }");
  rec *r = calloc(2, sizeof *r);
  submit(b, &r[0], 1, 0, TD_DT_FLOAT, mono_ns() + 10 * 1000000);
  submit(b, &r[1], 2, 50, TD_DT_FLOAT, 0);
  wait_all(r, 2);
  assert_int_equal(r[0].code, TD_DEADLINE_EXCEEDED);
  assert_int_equal(r[0].calls, 1);
  assert_rows(&r[1]);
  td_tensor_release(&r[1].out);
  td_batcher_free(b);
  free(r);
}

typedef struct sync_caller {
  td_batcher *b;
  float x[9];
  td_tensor y;
  td_code code;
} sync_caller;

static void *sync_main(void *arg) {
  sync_caller *c = arg;
  td_shape s = {.rank = 3, .dim = {1, 3, 3}};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, c->x);
  td_status st = {0};
  c->code = td_batcher_run(c->b, g_model, g_sig, &in, &c->y, NULL, &st);
  return NULL;
}

/* A blocking td_batcher_run joins a batch led by an async task (and returns its own rows). */
static void test_sync_joins_async_batch(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 16 } batch_timeout_micros { value: 100000 }"
                              " num_batch_threads { value: 1 }");
  rec *r = calloc(2, sizeof *r);
  submit(b, &r[0], 2, 7, TD_DT_FLOAT, 0);
  sync_caller c = {.b = b};
  for (int k = 0; k < 9; k++) c.x[k] = (float)(300 + k);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, sync_main, &c), 0);
  while (td_batcher_get_stats(b).tasks < 2) usleep(1000);
  submit(b, &r[1], 1, 9, TD_DT_FLOAT, 0);
  pthread_join(th, NULL);
  wait_all(r, 2);
  assert_int_equal(c.code, TD_OK);
  for (int k = 0; k < 9; k++) assert_true(td_f32(&c.y)[k] == 0.5f * (float)(300 + k) + 2.0f);
  for (int i = 0; i < 2; i++) {
    assert_rows(&r[i]);
    td_tensor_release(&r[i].out);
  }
  td_tensor_release(&c.y);
  assert_int_equal(td_batcher_get_stats(b).batches, 1);
  td_batcher_free(b);
  free(r);
}

/* td_batcher_free while tasks wait in a 10 s window: they run at once and every callback ran
 * (once) by the time it returns. */
static void test_free_runs_pending_tasks(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 4 } batch_timeout_micros { value: 10000000 }"
                              " max_enqueued_batches { value: 100 } num_batch_threads { value: 2 }");
  enum { N = 7 };
  rec *r = calloc(N, sizeof *r);
  for (int i = 0; i < N; i++) submit(b, &r[i], 1 + i % 2, (float)(10 * i), TD_DT_FLOAT, 0);
  int64_t start = mono_ns();
  td_batcher_free(b);
  assert_true(mono_ns() - start < 5000000000LL);
  for (int i = 0; i < N; i++) {
    assert_int_equal(r[i].calls, 1);
    assert_rows(&r[i]);
    td_tensor_release(&r[i].out);
  }
  free(r);
}

/* With no batch window and two free slots the submitting thread runs its task itself (no
 * hand-off when idle); the callback has run when submit returns. With one slot it never does
 * (the slot is left to the batch threads). */
static void test_idle_runs_inline(void **state) {
  (void)state;
  td_batcher *b = new_batcher("max_batch_size { value: 8 } num_batch_threads { value: 2 }");
  rec r = {0};
  submit(b, &r, 2, 5, TD_DT_FLOAT, 0);
  assert_int_equal(r.calls, 1);
  assert_true(pthread_equal(r.thread, pthread_self()));
  assert_rows(&r);
  td_tensor_release(&r.out);
  td_batcher_free(b);
  b = new_batcher("max_batch_size { value: 8 } num_batch_threads { value: 1 }");
  rec q = {0};
  submit(b, &q, 1, 7, TD_DT_FLOAT, 0);
  wait_all(&q, 1);
  assert_int_equal(q.calls, 1);
  assert_false(pthread_equal(q.thread, pthread_self()));
  assert_rows(&q);
  td_tensor_release(&q.out);
  td_batcher_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_callbacks_once_in_order), cmocka_unit_test(test_errors_at_submit),
      cmocka_unit_test(test_expired_task),            cmocka_unit_test(test_sync_joins_async_batch),
      cmocka_unit_test(test_free_runs_pending_tasks), cmocka_unit_test(test_idle_runs_inline),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
