/* test_api_repository.c — the KServe V2 model repository extension's decisions (api_v2.h
 * td_api_v2_load / td_api_v2_unload / td_api_v2_index / td_api_v2_known_model) on a real
 * manager with a FAKE loader (no models, no ../shared): the refusals (management disabled, no
 * manager, empty or control-byte names, config/file overrides), unknown names, unload (idempotent,
 * index "unloaded", others keep serving, a request in flight finishes on its version), load back
 * (labels restored), load of a served model (rescan retries a failed version), a failing load's
 * error, and a config reload clearing the unloaded set.
 *
 * Fake version dirs hold a saved_model.pb whose text is "ok" or "fail" (INVALID_ARGUMENT). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "api/api_v2.h"
#include "core/manager.h"
#include "core/model_config.h"
#include "util/file.h"
#include "test_shell.h"

/* ---- the fake loader ---- */

static int live_models;

static td_code fake_load(void *ctx, const char *dir, td_model **out, td_status *st) {
  (void)ctx;
  char *path = td_path_join(dir, "saved_model.pb"), *text = NULL;
  size_t len = 0;
  td_code code = td_read_file(path, &text, &len, st);
  free(path);
  if (code != TD_OK) return code;
  int fail = !strncmp(text, "fail", 4);
  free(text);
  if (fail) return td_status_set(st, TD_INVALID_ARGUMENT, "fake: broken model in %s", dir);
  *out = (td_model *)calloc(1, 16);
  __atomic_add_fetch(&live_models, 1, __ATOMIC_SEQ_CST);
  return TD_OK;
}

static void fake_free(void *ctx, td_model *m) {
  (void)ctx;
  __atomic_add_fetch(&live_models, -1, __ATOMIC_SEQ_CST);
  free(m);
}

static const td_model_loader loader = {.load = fake_load, .free = fake_free};

/* ---- fixture: models a (versions 1, 2; label stable → 1) and b (version 1) ---- */

static char root[256];

static void make_version(const char *model, int v, const char *text) {
  sh("mkdir -p %s/%s/%d && printf '%s' > %s/%s/%d/saved_model.pb", root, model, v, text, root, model, v);
}

typedef struct fixture {
  td_servables *s;
  td_manager *m;
  td_api api;
} fixture;

static td_code apply_text(fixture *f, const char *text, td_status *st) {
  td_model_config_list cfg;
  TD_TRY(td_model_config_parse_text(text, strlen(text), &cfg, st));
  td_code code = td_manager_apply_config(f->m, &cfg, st);
  td_model_config_list_free(&cfg);
  return code;
}

static const char *config_ab(void) {
  static char text[2048];
  snprintf(text, sizeof text,
           "model_config_list {\n"
           "  config { name: 'a' base_path: '%s/a' model_platform: 'tensorflow'\n"
           "           model_version_policy { all {} } version_labels { key: 'stable' value: 1 } }\n"
           "  config { name: 'b' base_path: '%s/b' model_platform: 'tensorflow' }\n"
           "}\n",
           root, root);
  return text;
}

static int setup(void **state) {
  snprintf(root, sizeof root, "/tmp/td_api_repository_%d", (int)getpid());
  sh("rm -rf %s && mkdir -p %s", root, root);
  make_version("a", 1, "ok");
  make_version("a", 2, "ok");
  make_version("b", 1, "ok");
  fixture *f = calloc(1, sizeof *f);
  f->s = td_servables_new();
  td_manager_options opt = {.poll_seconds = 0, .loader = &loader};
  f->m = td_manager_new(f->s, &opt);
  td_status st = {0};
  if (apply_text(f, config_ab(), &st) != TD_OK) fail_msg("config: %s", st.msg);
  if (td_manager_start(f->m, &st) != TD_OK) fail_msg("start: %s", st.msg);
  f->api = (td_api){.servables = f->s, .manager = f->m};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  td_manager_free(f->m);
  td_servables_free(f->s);
  free(f);
  sh("rm -rf %s", root);
  assert_int_equal(live_models, 0);
  return 0;
}

static int available(fixture *f, const char *name) {
  int64_t v[8];
  return td_servables_available(f->s, name, v, 8);
}

/* The index as "name:version:state:reason;" rows (version -1 printed as "-"). */
static void index_text(fixture *f, int ready_only, char *out, size_t cap) {
  td_api_v2_index_row *rows;
  int n;
  td_api_v2_index(&f->api, ready_only, &rows, &n);
  size_t o = 0;
  out[0] = '\0';
  for (int i = 0; i < n && o < cap; i++) {
    char v[24] = "-";
    if (rows[i].version >= 0) snprintf(v, sizeof v, "%lld", (long long)rows[i].version);
    o += (size_t)snprintf(out + o, cap - o, "%s:%s:%s:%s;", rows[i].name, v, rows[i].state, rows[i].reason);
  }
  td_api_v2_index_free(rows, n);
}

/* ---- tests ---- */

static void test_refusals(void **state) {
  fixture *f = *state;
  td_status st = {0};
  td_api off = f->api;
  off.opt.disable_model_management = 1;
  assert_int_equal(td_api_v2_unload(&off, "a", &st), TD_PERMISSION_DENIED);
  assert_string_equal(st.msg, "Model management is disabled on this server (--enable_model_management=false)");
  assert_int_equal(td_api_v2_load(&off, "nope", 0, &st), TD_PERMISSION_DENIED);
  td_api none = {.servables = f->s};
  assert_int_equal(td_api_v2_load(&none, "a", 0, &st), TD_UNIMPLEMENTED);
  assert_int_equal(td_api_v2_unload(&f->api, "", &st), TD_INVALID_ARGUMENT);
  assert_string_equal(st.msg, "Missing model name in request.");
  assert_int_equal(td_api_v2_load(&f->api, NULL, 0, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(td_api_v2_unload(&f->api, "a\x01", &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "control character"));
  assert_int_equal(td_api_v2_load(&f->api, "a", 1, &st), TD_UNIMPLEMENTED);
  assert_non_null(strstr(st.msg, "'config' or 'file:'"));
  assert_int_equal(td_api_v2_unload(&f->api, "nope", &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Model nope is not in the model repository");
  assert_int_equal(td_api_v2_load(&f->api, "nope", 0, &st), TD_NOT_FOUND);
  assert_string_equal(st.msg, "Model nope is not in the model repository");
  /* nothing was lost */
  assert_int_equal(available(f, "a"), 2);
  assert_int_equal(available(f, "b"), 1);
  assert_false(td_api_v2_known_model(&f->api, "nope"));
}

static void test_unload_and_load(void **state) {
  fixture *f = *state;
  td_status st = {0};
  char idx[1024];
  index_text(f, 0, idx, sizeof idx);
  assert_string_equal(idx, "a:2:READY:;a:1:READY:;b:1:READY:;");
  assert_true(td_servables_ready(f->s));

  assert_int_equal(td_api_v2_unload(&f->api, "a", &st), TD_OK);
  assert_int_equal(available(f, "a"), 0);
  assert_int_equal(available(f, "b"), 1);
  assert_false(td_servables_has_model(f->s, "a"));
  assert_true(td_api_v2_known_model(&f->api, "a")); /* readiness "false", not NOT_FOUND */
  assert_true(td_servables_ready(f->s));            /* every served model is ready */
  td_handle h;
  assert_int_equal(td_servables_get(f->s, "a", -1, NULL, &h, &st), TD_NOT_FOUND);
  assert_int_equal(td_servables_get(f->s, "a", -1, "stable", &h, &st), TD_INVALID_ARGUMENT); /* labels went too */
  assert_string_equal(st.msg, "Unrecognized servable version label: stable");
  index_text(f, 0, idx, sizeof idx);
  assert_string_equal(idx, "a:2:UNAVAILABLE:unloaded;a:1:UNAVAILABLE:unloaded;b:1:READY:;");
  index_text(f, 1, idx, sizeof idx);
  assert_string_equal(idx, "b:1:READY:;");
  assert_int_equal(td_api_v2_unload(&f->api, "a", &st), TD_OK); /* idempotent */

  td_manager_poll(f->m); /* a poll does not bring it back */
  assert_int_equal(available(f, "a"), 0);

  assert_int_equal(td_api_v2_load(&f->api, "a", 0, &st), TD_OK);
  assert_int_equal(available(f, "a"), 2);
  assert_true(td_servables_has_model(f->s, "a"));
  assert_int_equal(td_servables_get(f->s, "a", -1, "stable", &h, &st), TD_OK);
  assert_int_equal(h.version, 1);
  td_handle_release(&h);
  index_text(f, 0, idx, sizeof idx);
  assert_string_equal(idx, "a:2:READY:;a:1:READY:;b:1:READY:;");
  assert_int_equal(td_api_v2_load(&f->api, "a", 0, &st), TD_OK); /* a served model: rescanned */
  assert_int_equal(available(f, "a"), 2);
}

/* A request holding a version when its model is unloaded finishes on it; the index shows the
 * version UNLOADING until the request lets go. */
static void test_unload_with_request_in_flight(void **state) {
  fixture *f = *state;
  td_status st = {0};
  td_handle held;
  assert_int_equal(td_servables_get(f->s, "b", -1, NULL, &held, &st), TD_OK);
  int live = __atomic_load_n(&live_models, __ATOMIC_SEQ_CST);
  assert_int_equal(td_api_v2_unload(&f->api, "b", &st), TD_OK);
  assert_int_equal(available(f, "b"), 0);
  assert_int_equal(__atomic_load_n(&live_models, __ATOMIC_SEQ_CST), live); /* still held */
  char idx[1024];
  index_text(f, 0, idx, sizeof idx);
  assert_non_null(strstr(idx, "b:1:UNLOADING:unloaded;"));
  td_handle_release(&held); /* the manager's thread frees it */
  /* the reaper frees the model, then marks the version END: wait for the mark */
  for (int i = 0; i < 1000; i++) {
    index_text(f, 0, idx, sizeof idx);
    if (strstr(idx, "b:1:UNAVAILABLE:unloaded;")) break;
    usleep(10 * 1000);
  }
  assert_int_equal(__atomic_load_n(&live_models, __ATOMIC_SEQ_CST), live - 1);
  assert_non_null(strstr(idx, "b:1:UNAVAILABLE:unloaded;"));
}

/* Readers (index, readiness, requests on b) run while a is unloaded and loaded again: b never
 * fails, the index never blocks on a load (scripts/tsan.sh checks the locking). */
typedef struct reader {
  fixture *f;
  int stop, rounds, b_failures;
} reader;

static void *read_loop(void *arg) {
  reader *r = arg;
  while (!__atomic_load_n(&r->stop, __ATOMIC_SEQ_CST)) {
    td_api_v2_index_row *rows;
    int n;
    td_api_v2_index(&r->f->api, 0, &rows, &n);
    td_api_v2_index_free(rows, n);
    (void)td_api_v2_known_model(&r->f->api, "a");
    td_handle h;
    td_status st = {0};
    if (td_servables_get(r->f->s, "b", -1, NULL, &h, &st) == TD_OK) td_handle_release(&h);
    else r->b_failures++;
    __atomic_add_fetch(&r->rounds, 1, __ATOMIC_SEQ_CST);
  }
  return NULL;
}

static void test_concurrent_readers(void **state) {
  fixture *f = *state;
  reader r = {.f = f};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, read_loop, &r), 0);
  /* the cycles must overlap the reader: wait until it runs (a loaded machine may start it late) */
  while (__atomic_load_n(&r.rounds, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  td_status st = {0};
  for (int i = 0; i < 20; i++) {
    assert_int_equal(td_api_v2_unload(&f->api, "a", &st), TD_OK);
    assert_int_equal(td_api_v2_load(&f->api, "a", 0, &st), TD_OK);
  }
  __atomic_store_n(&r.stop, 1, __ATOMIC_SEQ_CST);
  pthread_join(t, NULL);
  assert_int_equal(r.b_failures, 0);
  assert_true(r.rounds > 0);
  assert_int_equal(available(f, "a"), 2);
}

static void test_failed_load_then_rescan(void **state) {
  fixture *f = *state;
  td_status st = {0};
  assert_int_equal(td_api_v2_unload(&f->api, "b", &st), TD_OK);
  sh("rm -rf %s/b/1", root);
  make_version("b", 3, "fail");
  assert_int_equal(td_api_v2_load(&f->api, "b", 0, &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Model b version 3 failed to load: fake: broken model in"));
  char idx[1024];
  index_text(f, 0, idx, sizeof idx);
  assert_non_null(strstr(idx, "b:3:UNAVAILABLE:fake: broken model in"));
  assert_true(td_servables_has_model(f->s, "b")); /* served (as a config naming it), not ready */
  assert_false(td_servables_ready(f->s));
  make_version("b", 3, "ok"); /* fixed: an explicit load retries it */
  assert_int_equal(td_api_v2_load(&f->api, "b", 0, &st), TD_OK);
  assert_int_equal(available(f, "b"), 1);
  assert_true(td_servables_ready(f->s));
  /* no version dir at all */
  assert_int_equal(td_api_v2_unload(&f->api, "b", &st), TD_OK);
  sh("rm -rf %s/b/3", root);
  assert_int_equal(td_api_v2_load(&f->api, "b", 0, &st), TD_UNAVAILABLE);
  assert_non_null(strstr(st.msg, "Model b has no version that could be loaded"));
  assert_int_equal(available(f, "a"), 2); /* the other model never noticed */
}

static void test_reload_clears_unloaded(void **state) {
  fixture *f = *state;
  td_status st = {0};
  assert_int_equal(td_api_v2_unload(&f->api, "a", &st), TD_OK);
  assert_int_equal(td_api_v2_unload(&f->api, "b", &st), TD_OK);
  assert_false(td_servables_ready(f->s)); /* nothing served */
  /* a new config without b: a is served again, b leaves the repository */
  char text[1024];
  snprintf(text, sizeof text,
           "model_config_list { config { name: 'a' base_path: '%s/a' model_platform: 'tensorflow' } }", root);
  assert_int_equal(apply_text(f, text, &st), TD_OK);
  assert_int_equal(available(f, "a"), 1); /* latest-1 now */
  char idx[1024];
  index_text(f, 0, idx, sizeof idx);
  assert_string_equal(idx, "a:2:READY:;a:1:UNAVAILABLE:;");
  assert_int_equal(td_api_v2_load(&f->api, "b", 0, &st), TD_NOT_FOUND);
  assert_false(td_api_v2_known_model(&f->api, "b"));
  /* the full config again: both served, nothing unloaded */
  assert_int_equal(apply_text(f, config_ab(), &st), TD_OK);
  index_text(f, 1, idx, sizeof idx);
  assert_string_equal(idx, "a:2:READY:;a:1:READY:;b:1:READY:;");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unload_and_load, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unload_with_request_in_flight, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_readers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_load_then_rescan, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reload_clears_unloaded, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
