/* test_swap_concurrency.c — model versions swap while threads run requests.
 *
 * A manager serves generated fake models (tests/fakes: version v answers y = 0.5 x + v) from a
 * temp base path; four request threads run Predict through td_api (model name only: the latest
 * version) while the main thread writes version after version and polls the manager, which
 * loads each new version and retires the previous one. Checked: every request succeeds and its
 * answer matches the version its handle pinned (a request never sees a half-swapped model);
 * versions only move forward for each thread; at the end only the newest version is
 * AVAILABLE and every retired one reached END; and every retired model was freed on the
 * manager's thread (the serving map's reaper) or the retiring thread — never on a request
 * thread. Runs clean under ASan and TSan (scripts/tsan.sh).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "core/manager.h"
#include "engine/testing.h"
#include "fakes/fake_model.h"

#define THREADS 4
#define VERSIONS 8

typedef struct freed_log {
  pthread_mutex_t mu;
  pthread_t who[VERSIONS + 4];
  int n;
} freed_log;

static freed_log g_freed = {.mu = PTHREAD_MUTEX_INITIALIZER};

static td_code load_fake(void *ctx, const char *dir, td_model **out, td_status *st) {
  return td_model_load(dir, NULL, 0, NULL, out, st);
}

static void free_fake(void *ctx, td_model *m) {
  pthread_mutex_lock(&g_freed.mu);
  if (g_freed.n < (int)(sizeof g_freed.who / sizeof g_freed.who[0])) g_freed.who[g_freed.n++] = pthread_self();
  pthread_mutex_unlock(&g_freed.mu);
  td_model_free(m);
}

typedef struct worker {
  pthread_t thread;
  td_api *api;
  atomic_int *stop;
  int64_t requests, errors, mismatches, went_back;
  int64_t last_version;
  char error[TD_STATUS_MSG_MAX + 16];
} worker;

static void *run_requests(void *arg) {
  worker *w = arg;
  w->last_version = -1;
  float x = 2.0f;
  int64_t dim = 1;
  while (!atomic_load(w->stop) || w->requests == 0) {
    td_status st = {0};
    td_model_spec spec = {.name = "swap", .version = -1};
    td_call call;
    if (td_api_begin(w->api, &spec, TD_METHOD_PREDICT, &call, &st) != TD_OK) {
      w->errors++;
      snprintf(w->error, sizeof w->error, "begin: %s", st.msg);
      continue;
    }
    td_named_tensor in = {.name = "x", .tensor = td_test_tensor(TD_DT_FLOAT, 1, &dim, &x)};
    td_named_tensor *out = NULL;
    int n_out = 0;
    if (td_api_predict(&call, &in, 1, NULL, 0, &out, &n_out, &st) != TD_OK) {
      w->errors++;
      snprintf(w->error, sizeof w->error, "predict: %s", st.msg);
    } else {
      float y = td_f32(&out[0].tensor)[0];
      if (n_out != 1 || y != 1.0f + (float)call.handle.version) w->mismatches++;
      if (call.handle.version < w->last_version) w->went_back++;
      w->last_version = call.handle.version;
    }
    td_api_outputs_free(out, n_out);
    td_tensor_release(&in.tensor);
    td_api_end(&call);
    w->requests++;
  }
  return NULL;
}

static void test_swap_while_serving(void **state) {
  char *base = td_fake_tempdir("swap");
  assert_non_null(base);
  td_status st = {0};
  assert_int_equal(td_fake_model_version(base, "swap", 1, &st), TD_OK);
  char model_base[4200];
  snprintf(model_base, sizeof model_base, "%s/swap", base);

  td_servables *s = td_servables_new();
  td_model_loader loader = {.load = load_fake, .free = free_fake};
  td_manager_options mo = {.poll_seconds = 0, .loader = &loader}; /* loads at start, then polled by hand */
  td_manager *m = td_manager_new(s, &mo);
  assert_int_equal(td_manager_add_model(m, "swap", model_base, &st), TD_OK);
  assert_int_equal(td_manager_start(m, &st), TD_OK);

  td_api api = {.servables = s};
  atomic_int stop = 0;
  worker w[THREADS];
  memset(w, 0, sizeof w);
  for (int i = 0; i < THREADS; i++) {
    w[i].api = &api;
    w[i].stop = &stop;
    assert_int_equal(pthread_create(&w[i].thread, NULL, run_requests, &w[i]), 0);
  }
  for (int v = 2; v <= VERSIONS; v++) {
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* let requests pile onto the current version */
    assert_int_equal(td_fake_model_version(base, "swap", v, &st), TD_OK);
    td_manager_poll(m);
    int64_t avail[4];
    assert_int_equal(td_servables_available(s, "swap", avail, 4), 1);
    assert_int_equal(avail[0], v);
  }
  atomic_store(&stop, 1);
  int64_t total = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(w[i].thread, NULL);
    if (w[i].errors) fail_msg("thread %d: %lld errors, last: %s", i, (long long)w[i].errors, w[i].error);
    assert_int_equal(w[i].mismatches, 0);
    assert_int_equal(w[i].went_back, 0);
    total += w[i].requests;
  }
  assert_true(total >= THREADS);

  /* the manager's thread frees what the last requests released; wait for it (bounded) */
  td_version_status *vs = NULL;
  int n = 0, ended = 0;
  for (int tries = 0; tries < 500 && ended < VERSIONS - 1; tries++) {
    free(vs);
    vs = NULL;
    assert_int_equal(td_servables_status(s, "swap", -1, &vs, &n, &st), TD_OK);
    ended = 0;
    for (int i = 0; i < n; i++) ended += vs[i].state == TD_VERSION_END;
    if (ended < VERSIONS - 1) {
      struct timespec pause = {0, 10 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
  }
  assert_int_equal(n, VERSIONS);
  assert_int_equal(vs[0].version, VERSIONS);
  assert_int_equal(vs[0].state, TD_VERSION_AVAILABLE);
  for (int i = 1; i < n; i++) assert_int_equal(vs[i].state, TD_VERSION_END);
  free(vs);

  pthread_mutex_lock(&g_freed.mu);
  assert_int_equal(g_freed.n, VERSIONS - 1);
  for (int k = 0; k < g_freed.n; k++)
    for (int i = 0; i < THREADS; i++) assert_false(pthread_equal(g_freed.who[k], w[i].thread));
  pthread_mutex_unlock(&g_freed.mu);

  td_manager_free(m);
  td_servables_free(s);
  td_fake_rmtree(base);
  free(base);
}

static void count_wake(void *ctx) { atomic_fetch_add((atomic_int *)ctx, 1); }

/* Without a manager (no reaper) the last releaser frees a retired version itself, as before;
 * with one, a request's release only queues it and the reaper frees it. */
static void test_release_hands_model_to_reaper(void **state) {
  td_status st = {0};
  td_servables *s = td_servables_new();
  td_model *model = td_fake_model_new(1.0f, &st);
  assert_non_null(model);
  td_servables_publish(s, "r", 1, model);
  td_handle h;
  assert_int_equal(td_servables_get(s, "r", -1, NULL, &h, &st), TD_OK);

  atomic_int wakes = 0;
  td_servables_set_reaper(s, count_wake, &wakes);
  td_servables_retire(s, "r", 1); /* the handle still holds it: nothing freed */
  td_version_status *vs;
  int n;
  assert_int_equal(td_servables_status(s, "r", 1, &vs, &n, &st), TD_OK);
  assert_int_equal(vs[0].state, TD_VERSION_UNLOADING);
  free(vs);
  td_handle_release(&h); /* last reference: queued, the reaper woken */
  assert_int_equal(atomic_load(&wakes), 1);
  assert_int_equal(td_servables_status(s, "r", 1, &vs, &n, &st), TD_OK);
  assert_int_equal(vs[0].state, TD_VERSION_UNLOADING);
  free(vs);
  assert_int_equal(td_servables_reap(s), 1);
  assert_int_equal(td_servables_status(s, "r", 1, &vs, &n, &st), TD_OK);
  assert_int_equal(vs[0].state, TD_VERSION_END);
  free(vs);
  assert_int_equal(td_servables_reap(s), 0);
  td_servables_set_reaper(s, NULL, NULL);
  /* no reaper: the last releaser frees */
  model = td_fake_model_new(2.0f, &st);
  assert_non_null(model);
  td_servables_publish(s, "r", 2, model);
  assert_int_equal(td_servables_get(s, "r", 2, NULL, &h, &st), TD_OK);
  td_servables_retire(s, "r", 2);
  td_handle_release(&h);
  assert_int_equal(td_servables_status(s, "r", 2, &vs, &n, &st), TD_OK);
  assert_int_equal(vs[0].state, TD_VERSION_END);
  free(vs);
  assert_int_equal(atomic_load(&wakes), 1);
  td_servables_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swap_while_serving),
      cmocka_unit_test(test_release_hands_model_to_reaper),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
