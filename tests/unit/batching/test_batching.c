/* test_batching.c — server-side batching on a generated twin of TF Serving's
 * matrix_half_plus_two test model (x float[-1,3,3] → y = 0.5x + 2, tests/fakes): the
 * BatchingParameters text format and its validation, concurrent callers that really share
 * batches and each get their own rows back, padding to allowed_batch_sizes, oversized tasks,
 * a full queue, inner-dimension padding, and isolation (issue 12): a task of the wrong dtype or
 * shape fails alone, expired tasks leave their batch before it runs. */
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
#include "util/file.h"

static td_model *g_model;
static const td_signature *g_sig;

static int setup(void **state) {
  (void)state;
  td_status st = {0};
  g_model = td_fake_model_new_shape(2.0f, "dim { size: -1 } dim { size: 3 } dim { size: 3 }", &st);
  if (!g_model) {
    print_message("fake model: %s\n", st.msg);
    return -1;
  }
  g_sig = td_model_find_signature(g_model, "serving_default");
  return g_sig ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  td_model_free(g_model);
  return 0;
}

static td_batching_params params(const char *text) {
  td_batching_params p;
  td_batching_params_default(&p);
  td_status st = {0};
  if (td_batching_params_parse(text, strlen(text), &p, &st) != TD_OK) fail_msg("%s", st.msg);
  return p;
}

static void test_params(void **state) {
  (void)state;
  td_batching_params d;
  td_batching_params_default(&d);
  assert_int_equal(d.max_batch_size, 1000);
  assert_int_equal(d.max_enqueued_batches, 10);
  assert_true(d.num_batch_threads >= 1);
  td_batching_params p = params("max_batch_size { value: 128 } batch_timeout_micros { value: 0 }\n"
                                "max_enqueued_batches { value: 1000000 } num_batch_threads { value: 8 }\n"
                                "allowed_batch_sizes: 32 allowed_batch_sizes: [64, 128]\n"
                                "pad_variable_length_inputs: true thread_pool_name { value: \"mine\" }");
  assert_int_equal(p.max_batch_size, 128);
  assert_int_equal(p.max_enqueued_batches, 1000000);
  assert_int_equal(p.num_batch_threads, 8);
  assert_int_equal(p.n_allowed_batch_sizes, 3);
  assert_int_equal(p.allowed_batch_sizes[2], 128);
  assert_true(p.pad_variable_length_inputs);
  assert_string_equal(p.thread_pool_name, "mine");
  static const struct { const char *text, *error; } bad[] = {
      {"max_batch_size { value: 8 } allowed_batch_sizes: [4, 6]",
       "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 6; expected 8"},
      {"max_batch_size { value: 8 } allowed_batch_sizes: [4, 4, 8]",
       "allowed_batch_sizes entries must be monotonically increasing"},
      {"max_enqueued_batches { value: 0 }", "max_enqueued_batches must be positive; was 0"},
      {"num_batch_threads { value: -1 }", "num_batch_threads must be positive; was -1"},
      {"max_batch_size: 3", NULL}, /* a wrapper given as a scalar: a parse error */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    td_batching_params q;
    td_batching_params_default(&q);
    td_status st = {0};
    assert_int_equal(td_batching_params_parse(bad[i].text, strlen(bad[i].text), &q, &st), TD_INVALID_ARGUMENT);
    if (bad[i].error) assert_string_equal(st.msg, bad[i].error);
  }
}

/* x[r][k] = base + r * 9 + k for a [rows, 3, 3] input; checks y = 0.5x + 2 row by row. */
static void fill(float *x, int64_t rows, float base) {
  for (int64_t i = 0; i < rows * 9; i++) x[i] = base + (float)i;
}

static int check_rows(const td_tensor *y, int64_t rows, float base) {
  if (y->shape.rank != 3 || y->shape.dim[0] != rows || y->shape.dim[1] != 3 || y->shape.dim[2] != 3) return 0;
  for (int64_t i = 0; i < rows * 9; i++)
    if (td_f32(y)[i] != 0.5f * (base + (float)i) + 2.0f) return 0;
  return 1;
}

static td_code run_rows(td_batcher *b, int64_t rows, float base, td_tensor *y, td_status *st) {
  float x[16 * 9];
  fill(x, rows, base);
  td_shape s = {.rank = 3, .dim = {rows, 3, 3}};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, x);
  return td_batcher_run(b, g_model, g_sig, &in, y, NULL, st);
}

typedef struct caller {
  td_batcher *b;
  int id, runs, ok;
} caller;

static void *caller_main(void *arg) {
  caller *c = arg;
  for (int i = 0; i < c->runs; i++) {
    int64_t rows = 1 + (c->id + i) % 4;
    float base = (float)(c->id * 1000 + i * 40);
    td_tensor y = {0};
    td_status st = {0};
    if (run_rows(c->b, rows, base, &y, &st) == TD_OK && check_rows(&y, rows, base)) c->ok++;
    td_tensor_release(&y);
  }
  return NULL;
}

static void test_concurrent_callers_share_batches(void **state) {
  (void)state;
  /* One worker and a 2 ms window: callers pile up behind each batch. */
  td_batching_params p = params("max_batch_size { value: 16 } batch_timeout_micros { value: 2000 }"
                                " num_batch_threads { value: 1 } max_enqueued_batches { value: 1000 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  enum { CALLERS = 8, RUNS = 40 };
  caller cs[CALLERS];
  pthread_t th[CALLERS];
  for (int i = 0; i < CALLERS; i++) {
    cs[i] = (caller){.b = b, .id = i, .runs = RUNS};
    assert_int_equal(pthread_create(&th[i], NULL, caller_main, &cs[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < CALLERS; i++) {
    pthread_join(th[i], NULL);
    ok += cs[i].ok;
  }
  td_batcher_stats s = td_batcher_get_stats(b);
  print_message("%lld tasks in %lld batches\n", (long long)s.tasks, (long long)s.batches);
  assert_int_equal(ok, CALLERS * RUNS);
  assert_int_equal(s.tasks, CALLERS * RUNS);
  assert_true(s.batches < s.tasks / 2); /* really batched */
  td_batcher_free(b);
}

static void test_padding_to_allowed_sizes_and_limits(void **state) {
  (void)state;
  td_batching_params p = params("max_batch_size { value: 8 } allowed_batch_sizes: [4, 8] num_batch_threads { value: 1 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  td_tensor y = {0};
  assert_int_equal(run_rows(b, 3, 7.0f, &y, &st), TD_OK); /* runs as 4 rows, returns 3 */
  assert_true(check_rows(&y, 3, 7.0f));
  td_tensor_release(&y);
  td_batcher_stats s = td_batcher_get_stats(b);
  assert_int_equal(s.padded_rows, 1);
  assert_int_equal(run_rows(b, 9, 0.0f, &y, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Task size 9 is larger than maximum input batch size 8");
  td_batcher_free(b);
  /* With large-batch splitting the oversized task still gets its answer. */
  p.enable_large_batch_splitting = 1;
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  assert_int_equal(run_rows(b, 9, 1.0f, &y, &st), TD_OK);
  assert_true(check_rows(&y, 9, 1.0f));
  td_tensor_release(&y);
  /* A scalar input cannot be batched. */
  float v = 1.0f;
  td_shape scalar = {.rank = 0};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &scalar, &v);
  assert_int_equal(td_batcher_run(b, g_model, g_sig, &in, &y, NULL, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Batching Run() input tensors must have at least one dimension");
  td_batcher_free(b);
}

typedef struct slow_task {
  td_batcher *b;
  int64_t rows;
  td_code code;
  td_tensor y;
  td_tensor in;
  float x[16 * 9];
} slow_task;

static void *slow_main(void *arg) {
  slow_task *t = arg;
  td_status st = {0};
  t->code = td_batcher_run(t->b, g_model, g_sig, &t->in, &t->y, NULL, &st);
  return NULL;
}

static void start_task(slow_task *t, td_batcher *b, int64_t rows, int64_t inner, pthread_t *th) {
  t->b = b;
  t->rows = rows;
  for (int i = 0; i < 16 * 9; i++) t->x[i] = (float)(i + 1);
  td_shape s = {.rank = 3, .dim = {rows, inner, inner}};
  t->in = td_tensor_borrow(TD_DT_FLOAT, &s, t->x);
  int64_t before = td_batcher_get_stats(b).tasks;
  assert_int_equal(pthread_create(th, NULL, slow_main, t), 0);
  while (td_batcher_get_stats(b).tasks == before) usleep(1000); /* enqueued */
}

static void test_full_queue(void **state) {
  (void)state;
  /* The first task opens a batch that waits 0.3 s for company; the second does not fit, closes
   * it, and needs a second batch the queue may not hold. */
  td_batching_params p = params("max_batch_size { value: 4 } batch_timeout_micros { value: 300000 }"
                                " max_enqueued_batches { value: 1 } num_batch_threads { value: 1 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  slow_task a = {0};
  pthread_t th;
  start_task(&a, b, 3, 3, &th);
  td_tensor y = {0};
  assert_int_equal(run_rows(b, 2, 0.0f, &y, &st), TD_UNAVAILABLE);
  assert_string_equal(st.msg, "The batch scheduling queue to which this task was submitted is full");
  pthread_join(th, NULL);
  assert_int_equal(a.code, TD_OK);
  td_tensor_release(&a.y);
  td_batcher_free(b);
}

/* Inner dims: with pad_variable_length_inputs, [1,2,2] and [1,3,3] share a batch padded to 3x3;
 * without it a [1,2,2] task does not match the signature's [-1,3,3] and runs on its own (its
 * own result, no batch), never failing a batch mate. */
static void test_inner_dims_padding(void **state) {
  (void)state;
  td_batching_params p = params("max_batch_size { value: 2 } batch_timeout_micros { value: 5000000 }"
                                " num_batch_threads { value: 1 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  float x[4] = {1, 2, 3, 4};
  td_shape s = {.rank = 3, .dim = {1, 2, 2}};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, x), y = {0};
  assert_int_equal(td_batcher_run(b, g_model, g_sig, &in, &y, NULL, &st), TD_OK);
  assert_int_equal(td_batcher_get_stats(b).tasks, 0); /* ran alone */
  assert_int_equal(y.shape.dim[1], 2);
  for (int i = 0; i < 4; i++) assert_true(td_f32(&y)[i] == 0.5f * x[i] + 2.0f);
  td_tensor_release(&y);
  td_batcher_free(b);

  p = params("max_batch_size { value: 2 } batch_timeout_micros { value: 5000000 } num_batch_threads { value: 1 }"
             " pad_variable_length_inputs: true");
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  slow_task a = {0}, c = {0};
  pthread_t ta, tc;
  start_task(&a, b, 1, 2, &ta); /* [1,2,2] waits for company ... */
  start_task(&c, b, 1, 3, &tc); /* ... [1,3,3] fills the batch */
  pthread_join(ta, NULL);
  pthread_join(tc, NULL);
  assert_int_equal(a.code, TD_OK);
  assert_int_equal(c.code, TD_OK);
  assert_int_equal(td_batcher_get_stats(b).batches, 1);
  /* a's [2,2] values 1..4 sit in a 3x3 row padded with its first element (1). */
  const float want[9] = {1, 2, 1, 3, 4, 1, 1, 1, 1};
  assert_int_equal(a.y.shape.dim[1], 3);
  for (int i = 0; i < 9; i++) assert_true(td_f32(&a.y)[i] == 0.5f * want[i] + 2.0f);
  for (int i = 0; i < 9; i++) assert_true(td_f32(&c.y)[i] == 0.5f * (float)(i + 1) + 2.0f);
  td_tensor_release(&a.y);
  td_tensor_release(&c.y);
  td_batcher_free(b);
}

/* Issue 12: a task with the wrong dtype or shape runs on its own and fails alone; the good
 * tasks around it share their batch and succeed. */
static void test_bad_task_fails_alone(void **state) {
  (void)state;
  td_batching_params p = params("max_batch_size { value: 8 } batch_timeout_micros { value: 300000 }"
                                " num_batch_threads { value: 1 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  slow_task a = {0}, c = {0};
  pthread_t ta, tc;
  start_task(&a, b, 1, 3, &ta); /* a good task opens a batch and waits 0.3 s for company */
  int32_t ix[9] = {0};
  td_shape s = {.rank = 3, .dim = {1, 3, 3}};
  td_tensor bad = td_tensor_borrow(TD_DT_INT32, &s, ix), y = {0};
  assert_int_equal(td_batcher_run(b, g_model, g_sig, &bad, &y, NULL, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "int32"));
  float fx[8] = {0};
  td_shape s2 = {.rank = 2, .dim = {1, 8}};
  td_tensor bad2 = td_tensor_borrow(TD_DT_FLOAT, &s2, fx);
  td_status st2 = {0};
  td_code c2 = td_batcher_run(b, g_model, g_sig, &bad2, &y, NULL, &st2); /* the model's own answer */
  if (c2 == TD_OK) td_tensor_release(&y);
  assert_int_equal(td_batcher_get_stats(b).tasks, 1); /* neither joined a's batch */
  start_task(&c, b, 2, 3, &tc); /* a second good task joins a's batch */
  pthread_join(ta, NULL);
  pthread_join(tc, NULL);
  assert_int_equal(a.code, TD_OK);
  assert_int_equal(c.code, TD_OK);
  td_batcher_stats stats = td_batcher_get_stats(b);
  assert_int_equal(stats.tasks, 2);
  assert_int_equal(stats.batches, 1);
  for (int i = 0; i < 9; i++) assert_true(td_f32(&a.y)[i] == 0.5f * (float)(i + 1) + 2.0f);
  td_tensor_release(&a.y);
  td_tensor_release(&c.y);
  td_batcher_free(b);
}

typedef struct deadline_task {
  td_batcher *b;
  int64_t deadline_ms;
  td_code code;
  td_tensor y;
  float x[9];
} deadline_task;

static void *deadline_main(void *arg) {
  deadline_task *t = arg;
  td_shape s = {.rank = 3, .dim = {1, 3, 3}};
  td_tensor in = td_tensor_borrow(TD_DT_FLOAT, &s, t->x);
  td_run_options opt = {.deadline_ns = t->deadline_ms ? td_deadline_after_ms(t->deadline_ms) : 0};
  td_status st = {0};
  t->code = td_batcher_run(t->b, g_model, g_sig, &in, &t->y, &opt, &st);
  return NULL;
}

/* A task whose deadline passes while it waits leaves its batch before the batch runs: it gets
 * DEADLINE_EXCEEDED, the batch runs for the others only, and a batch of only expired tasks does
 * not run at all. */
static void test_expired_tasks_leave_the_batch(void **state) {
  (void)state;
  td_batching_params p = params("max_batch_size { value: 8 } batch_timeout_micros { value: 300000 }"
                                " num_batch_threads { value: 1 }");
  td_batcher *b;
  td_status st = {0};
  assert_int_equal(td_batcher_new(&p, &b, &st), TD_OK);
  deadline_task t[3] = {{.b = b, .deadline_ms = 30}, {.b = b, .deadline_ms = 0}, {.b = b, .deadline_ms = 40}};
  pthread_t th[3];
  for (int i = 0; i < 3; i++) {
    for (int k = 0; k < 9; k++) t[i].x[k] = (float)(10 * i + k);
    int64_t before = td_batcher_get_stats(b).tasks;
    assert_int_equal(pthread_create(&th[i], NULL, deadline_main, &t[i]), 0);
    while (td_batcher_get_stats(b).tasks == before) usleep(1000);
  }
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  assert_int_equal(t[0].code, TD_DEADLINE_EXCEEDED);
  assert_int_equal(t[2].code, TD_DEADLINE_EXCEEDED);
  assert_int_equal(t[1].code, TD_OK);
  assert_int_equal(t[1].y.shape.dim[0], 1);
  for (int k = 0; k < 9; k++) assert_true(td_f32(&t[1].y)[k] == 0.5f * (float)(10 + k) + 2.0f);
  td_tensor_release(&t[1].y);
  td_batcher_stats stats = td_batcher_get_stats(b);
  assert_int_equal(stats.batches, 1);
  assert_int_equal(stats.padded_rows, 0);
  /* only expired tasks: the batch never runs */
  deadline_task e = {.b = b, .deadline_ms = 20};
  pthread_t the;
  assert_int_equal(pthread_create(&the, NULL, deadline_main, &e), 0);
  pthread_join(the, NULL);
  assert_int_equal(e.code, TD_DEADLINE_EXCEEDED);
  assert_int_equal(td_batcher_get_stats(b).batches, 1);
  td_batcher_free(b);
}

/* A model's own parameters (--enable_per_model_batching_parameters) override the server's. */
static void test_per_model_params(void **state) {
  (void)state;
  char dir[] = "/tmp/td_batching_XXXXXX";
  assert_non_null(mkdtemp(dir));
  td_batching_params *own = NULL;
  td_status st = {0};
  assert_int_equal(td_batching_params_for_version(dir, &own, &st), TD_OK);
  assert_null(own); /* no file: the server's */
  char path[256];
  snprintf(path, sizeof path, "%s/batching_params.pbtxt", dir);
  FILE *f = fopen(path, "w");
  fputs("max_batch_size { value: 4 } batch_timeout_micros { value: 100 }", f);
  fclose(f);
  assert_int_equal(td_batching_params_for_version(dir, &own, &st), TD_OK);
  assert_non_null(own);
  assert_int_equal(own->max_batch_size, 4);
  assert_int_equal(own->max_enqueued_batches, 10); /* TF's default, not the server file's */
  f = fopen(path, "w");
  fputs("max_batch_size { value: 4 } allowed_batch_sizes: 3", f);
  fclose(f);
  td_batching_params *bad = NULL;
  assert_int_equal(td_batching_params_for_version(dir, &bad, &st), TD_INVALID_ARGUMENT);
  assert_null(bad);
  assert_non_null(strstr(st.msg, "Invalid /tmp/td_batching_"));
  assert_non_null(strstr(st.msg, "Last entry in allowed_batch_sizes must match max_batch_size"));
  unlink(path);
  rmdir(dir);
  td_batching_params server = params("max_batch_size { value: 1000 } num_batch_threads { value: 1 }");
  td_batcher *b;
  assert_int_equal(td_batcher_new(&server, &b, &st), TD_OK);
  td_tensor y = {0};
  td_model_set_batching_params(g_model, own); /* owned by the model now */
  assert_int_equal(run_rows(b, 5, 0.0f, &y, &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Task size 5 is larger than maximum input batch size 4");
  assert_int_equal(run_rows(b, 4, 0.0f, &y, &st), TD_OK);
  assert_true(check_rows(&y, 4, 0.0f));
  td_tensor_release(&y);
  td_model_set_batching_params(g_model, NULL); /* frees own: back to the server's */
  assert_int_equal(run_rows(b, 5, 0.0f, &y, &st), TD_OK);
  td_tensor_release(&y);
  td_batcher_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_concurrent_callers_share_batches),
      cmocka_unit_test(test_padding_to_allowed_sizes_and_limits),
      cmocka_unit_test(test_full_queue),
      cmocka_unit_test(test_inner_dims_padding),
      cmocka_unit_test(test_bad_task_fails_alone),
      cmocka_unit_test(test_expired_tasks_leave_the_batch),
      cmocka_unit_test(test_per_model_params),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
