/* test_trace.c — the --trace_file Chrome trace (engine/trace.h): an op run through the real
 * executor is recorded with its node name and op type; events from several threads never
 * interleave; names needing JSON escapes stay valid JSON; nothing is recorded when off. The
 * file is checked with the repo's JSON reader (the whole document parses, every event is an
 * object with name/ph/ts/dur/tid). */
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

#include "engine/testing.h"
#include "engine/trace.h"
#include "json/json.h"
#include "util/mem.h"

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = td_xmalloc((size_t)n + 1);
  assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return s;
}

static int count(const char *s, const char *needle) {
  int n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p++) n++;
  return n;
}

/* Walks {"traceEvents": [ {...}, ... ], ...}; returns the event count, -1 if malformed or an
 * event lacks one of the required keys. */
static int check_events(const char *doc, size_t len) {
  td_json_reader r;
  td_json_reader_init(&r, doc, len);
  td_json_iter top = TD_JSON_ITER_INIT, arr = TD_JSON_ITER_INIT;
  td_json_str key;
  int events = -1;
  while (td_json_object_next(&r, &top, &key) == 1) {
    if (key.len == 11 && !memcmp(key.data, "traceEvents", 11)) {
      events = 0;
      while (td_json_array_next(&r, &arr) == 1) {
        td_json_iter ev = TD_JSON_ITER_INIT;
        int have = 0;
        while (td_json_object_next(&r, &ev, &key) == 1) {
          static const char *const want[] = {"name", "ph", "ts", "dur", "tid", "pid", "cat", "args"};
          for (int i = 0; i < 8; i++)
            if (key.len == strlen(want[i]) && !memcmp(key.data, want[i], key.len)) have |= 1 << i;
          if (td_json_skip(&r) != 0) break;
        }
        if (have != 0xff) events = -1000000;
        events++;
      }
    } else if (td_json_skip(&r) != 0) {
      break;
    }
  }
  int ok = !r.err && td_json_at_end(&r);
  td_json_reader_free(&r);
  return ok ? events : -1;
}

static void *writer(void *arg) {
  char name[64];
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof name, "thread%d/node%d", (int)(intptr_t)arg, i);
    td_trace_op(name, "Work", td_trace_now());
  }
  return NULL;
}

static void test_trace(void **state) {
  (void)state;
  char path[] = "/tmp/td_test_trace_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  td_status st = {0};

  /* off: nothing recorded */
  td_trace_op("before", "Work", td_trace_now());
  assert_int_equal(td_trace_open(path, &st), TD_OK);
  assert_true(td_trace_enabled);

  /* an op through the executor */
  Tensorflow__NodeDef *nd = td_test_node_new("AddV2");
  free(nd->name);
  nd->name = td_xstrdup("my\"add\n");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  float a[2] = {1, 2}, b[2] = {10, 20};
  int64_t dims[1] = {2};
  td_tensor in[2] = {td_test_tensor(TD_DT_FLOAT, 1, dims, a), td_test_tensor(TD_DT_FLOAT, 1, dims, b)}, out;
  assert_int_equal(td_test_run_op(nd, in, 2, &out, 1, &st), TD_OK);
  assert_true(td_f32(&out)[1] == 22.0f);
  td_tensor_release(&out);
  td_tensor_release(&in[0]);
  td_tensor_release(&in[1]);
  td_test_node_free(nd);

  /* four threads at once, and a name far longer than the formatting buffer */
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  char *longname = td_xmalloc(5001);
  memset(longname, '"', 5000);
  longname[5000] = '\0';
  td_trace_op(longname, "Long", td_trace_now());
  free(longname);
  td_trace_close();
  assert_false(td_trace_enabled);
  td_trace_op("after", "Work", td_trace_now()); /* closed: ignored */

  size_t len;
  char *doc = read_all(path, &len);
  assert_int_equal(check_events(doc, len), 1 + 4 * 500 + 1);
  assert_non_null(strstr(doc, "{\"name\": \"my\\\"add\\u000a\", \"cat\": \"AddV2\", \"ph\": \"X\", \"ts\": "));
  assert_non_null(strstr(doc, "\"args\": {\"op\": \"AddV2\"}}"));
  assert_int_equal(count(doc, "\"cat\": \"Work\""), 2000);
  assert_int_equal(count(doc, "\"name\": \"before\""), 0);
  assert_int_equal(count(doc, "\"name\": \"after\""), 0);
  assert_int_equal(count(doc, "\\\""), 1 + 5000); /* every quote of the long name escaped */
  free(doc);
  unlink(path);
}

static void test_open_error(void **state) {
  (void)state;
  td_status st = {0};
  assert_int_equal(td_trace_open("/nonexistent-dir/x/trace.json", &st), TD_INVALID_ARGUMENT);
  assert_non_null(strstr(st.msg, "Could not open --trace_file /nonexistent-dir/x/trace.json: "));
  assert_false(td_trace_enabled);
  td_trace_close(); /* not open: no-op */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace),
      cmocka_unit_test(test_open_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
