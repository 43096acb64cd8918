/* test_threads.c — the intra-op thread count reaches OpenMP on every thread that runs a graph,
 * not only on the thread that set it (request threads are plain pthreads, which take OpenMP's
 * team size from the environment otherwise). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <omp.h>
#include <pthread.h>

#include "engine/engine.h"

static void *team_size_on_new_thread(void *arg) {
  int *sizes = arg;
  sizes[0] = omp_get_max_threads();
  td_engine_thread_enter();
  sizes[1] = omp_get_max_threads();
  td_engine_thread_enter(); /* idempotent */
  sizes[2] = omp_get_max_threads();
  return NULL;
}

static void test_request_thread_gets_intra_op_threads(void **state) {
  (void)state;
  int want = omp_get_num_procs() > 1 ? 1 : 2; /* differs from the default (one per core) */
  td_engine_set_intra_op_threads(want);
  assert_int_equal(omp_get_max_threads(), want);
  int sizes[3] = {0};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, team_size_on_new_thread, sizes), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(sizes[1], want);
  assert_int_equal(sizes[2], want);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_request_thread_gets_intra_op_threads)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
