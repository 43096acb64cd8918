/* bufpool.c — idle large buffers kept for reuse (see bufpool.h). Invariants: `idle` holds
 * n_idle buffers of idle_bytes capacity in all, every one >= TD_BUFPOOL_MIN, all under `mu`. */
#include "util/bufpool.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/mem.h"

enum { MAX_IDLE = 32 };

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
  char *data;
  size_t cap;
} idle[MAX_IDLE];
static int n_idle;
static size_t idle_bytes;

void td_bufpool_reserve(td_buf *b, size_t n) {
  if (b->data) {
    td_buf_reserve(b, n);
    return;
  }
  size_t want = n + 1;
  if (want >= TD_BUFPOOL_MIN) {
    pthread_mutex_lock(&mu);
    int best = -1;
    for (int i = 0; i < n_idle; i++)
      if (idle[i].cap >= want && idle[i].cap / 2 <= want && (best < 0 || idle[i].cap < idle[best].cap)) best = i;
    if (best >= 0) {
      b->data = idle[best].data, b->cap = idle[best].cap;
      idle_bytes -= idle[best].cap;
      idle[best] = idle[--n_idle];
    }
    pthread_mutex_unlock(&mu);
  }
  if (!b->data) {
    b->data = td_xmalloc(want);
    b->cap = want;
  }
  b->len = 0;
  b->data[0] = 0;
}

void td_bufpool_release(td_buf *b) {
  if (b->data && b->cap >= TD_BUFPOOL_MIN) {
    pthread_mutex_lock(&mu);
    int kept = n_idle < MAX_IDLE && idle_bytes + b->cap <= TD_BUFPOOL_MAX_BYTES;
    if (kept) {
      idle[n_idle].data = b->data, idle[n_idle].cap = b->cap;
      n_idle++;
      idle_bytes += b->cap;
    }
    pthread_mutex_unlock(&mu);
    if (kept) {
      td_buf_init(b);
      return;
    }
  }
  td_buf_release(b);
}
