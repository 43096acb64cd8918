/* trace.c — the Chrome trace writer behind tensord --trace_file (see trace.h).
 *
 * Each event is formatted on the calling thread into a stack buffer (a heap one for very long
 * node names) and written with one fwrite under `mu`, so events never interleave; stdio
 * buffers the file. Invariants: `f` and `n_events` are only touched under `mu`;
 * td_trace_enabled only changes in td_trace_open / td_trace_close, outside any run.
 */
#include "engine/trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int td_trace_enabled;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *f;
static int64_t t_origin;
static long long n_events;
static int pid;

int64_t td_trace_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int thread_id(void) {
  static __thread int tid;
  if (!tid) tid = (int)syscall(SYS_gettid);
  return tid;
}

td_code td_trace_open(const char *path, td_status *st) {
  FILE *out = fopen(path, "w");
  if (!out) return td_status_set(st, TD_INVALID_ARGUMENT, "Could not open --trace_file %s: %s", path, strerror(errno));
  pthread_mutex_lock(&mu);
  if (f) fclose(f);
  f = out;
  n_events = 0;
  pid = (int)getpid();
  t_origin = td_trace_now();
  fputs("{\"traceEvents\": [\n", f);
  td_trace_enabled = 1;
  pthread_mutex_unlock(&mu);
  return TD_OK;
}

void td_trace_close(void) {
  pthread_mutex_lock(&mu);
  td_trace_enabled = 0;
  if (f) {
    fputs("\n],\n\"displayTimeUnit\": \"ns\"}\n", f);
    fclose(f);
    f = NULL;
  }
  pthread_mutex_unlock(&mu);
}

/* Appends s as JSON string content (no quotes) at out[*n..cap); returns 0 if it did not fit. */
static int put_escaped(char *out, size_t cap, size_t *n, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    char tmp[8];
    const char *piece = tmp;
    size_t len;
    if (ch == '"' || ch == '\\') {
      tmp[0] = '\\', tmp[1] = (char)ch, len = 2;
    } else if (ch < 0x20) {
      len = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", ch);
    } else {
      tmp[0] = (char)ch, len = 1;
    }
    if (*n + len >= cap) return 0;
    memcpy(out + *n, piece, len);
    *n += len;
  }
  return 1;
}

/* Formats one event into out (cap bytes); returns its length, 0 if it did not fit. */
static size_t format_event(char *out, size_t cap, const char *name, const char *op, int64_t ts_ns, int64_t dur_ns,
                           int tid) {
  size_t n = 0;
  int w = snprintf(out, cap, "{\"name\": \"");
  if (w < 0 || (size_t)w >= cap) return 0;
  n = (size_t)w;
  if (!put_escaped(out, cap, &n, name)) return 0;
  static const char mid[] = "\", \"cat\": \"";
  if (n + sizeof mid >= cap) return 0;
  memcpy(out + n, mid, sizeof mid - 1);
  n += sizeof mid - 1;
  if (!put_escaped(out, cap, &n, op)) return 0;
  w = snprintf(out + n, cap - n,
               "\", \"ph\": \"X\", \"ts\": %lld.%03d, \"dur\": %lld.%03d, \"pid\": %d, \"tid\": %d, \"args\": {\"op\": \"",
               (long long)(ts_ns / 1000), (int)(ts_ns % 1000), (long long)(dur_ns / 1000), (int)(dur_ns % 1000), pid,
               tid);
  if (w < 0 || (size_t)w >= cap - n) return 0;
  n += (size_t)w;
  if (!put_escaped(out, cap, &n, op)) return 0;
  if (n + 4 >= cap) return 0;
  memcpy(out + n, "\"}}", 3);
  return n + 3;
}

void td_trace_op(const char *name, const char *op, int64_t start_ns) {
  int64_t end_ns = td_trace_now();
  int64_t ts = start_ns - t_origin, dur = end_ns - start_ns;
  if (ts < 0) ts = 0;
  if (dur < 0) dur = 0;
  char small[512];
  char *buf = small;
  size_t len = format_event(small, sizeof small, name ? name : "", op ? op : "", ts, dur, thread_id());
  if (!len) { /* long names: every byte may escape to 6 */
    size_t cap = 6 * (strlen(name ? name : "") + 2 * strlen(op ? op : "")) + 256;
    buf = malloc(cap);
    if (!buf) return;
    len = format_event(buf, cap, name ? name : "", op ? op : "", ts, dur, thread_id());
  }
  pthread_mutex_lock(&mu);
  if (f && len) {
    if (n_events++) fputs(",\n", f);
    fwrite(buf, 1, len, f);
  }
  pthread_mutex_unlock(&mu);
  if (buf != small) free(buf);
}
