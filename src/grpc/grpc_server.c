/* grpc_server.c — server lifecycle on gRPC core (see grpc_server.h): bind, worker threads with
 * one completion queue each, per-call dispatch through the method table (grpc_handlers.c),
 * ordered shutdown.
 *
 * Every tag on a completion queue is a call_slot. A slot is born as an outstanding request
 * (registered method, or the generic request that catches unknown methods); when its call
 * arrives the worker re-arms a fresh slot for the same method, handles the call, and starts
 * the reply batch with the same slot as tag; the batch completion frees the slot.
 *
 * Request path (hot): a registered method's payload is used in place when it is one
 * uncompressed slice (else flattened once), and the request proto is unpacked into a
 * per-worker bump arena (arena_alloc; nothing is freed piecemeal) instead of one malloc per
 * field. gRPC's bundled Abseil is told to skip its debug-build mutex deadlock detector
 * (a global lock plus graph bookkeeping on every Mutex::Lock) when it exposes the switch.
 *
 * Shutdown invariants: only worker w (or start, before w runs) adds work to w's queue, and
 * new requests are armed only under `lock` while !stopping. stop() sets stopping, shuts the
 * server down, cancels every call and waits for gRPC's notification; then each worker shuts
 * its own queue down between calls (never while a handler still has to reply) and drains it
 * until GRPC_QUEUE_SHUTDOWN, freeing the failed requests. Then: join, grpc_server_destroy,
 * grpc_completion_queue_destroy, grpc_shutdown.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "grpc/grpc_server.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "grpc/grpc_handlers.h"
#include "util/log.h"
#include "util/mem.h"

#define GENERIC_METHOD (-1)
#define POLL_MS 200 /* how often an idle worker looks at the shutdown flag */
#define MAX_WORKERS 1024 /* --grpc_max_threads is clamped to this */
#define ARENA_INLINE 8192 /* per-worker buffer the request proto is unpacked into */
#define ARENA_BLOCK 65536 /* overflow blocks (larger requests get a block of their own size) */
#define ARENA_ALIGN 16

/* Bump allocator for protobuf-c unpacking: `first` is reused across calls, overflow blocks
 * are malloc'd, chained and released by arena_reset. free is a no-op. */
typedef struct arena_block {
  struct arena_block *next;
  max_align_t pad[]; /* the block's bytes follow, aligned */
} arena_block;

typedef struct arena {
  uint8_t *p;
  size_t left;
  arena_block *blocks;
  _Alignas(ARENA_ALIGN) uint8_t first[ARENA_INLINE];
} arena;

typedef struct worker {
  struct td_grpc_server *srv;
  grpc_completion_queue *cq;
  pthread_t thread;
  int started;
  arena arena;
} worker;

typedef struct call_slot {
  worker *w;
  int method; /* index into td_grpc_methods, or GENERIC_METHOD */
  int replying;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array request_md;
  grpc_call_details details; /* generic requests only */
  grpc_byte_buffer *payload;
  grpc_byte_buffer *response;
  grpc_slice status_details;
  int cancelled;
} call_slot;

struct td_grpc_server {
  grpc_server *server;
  void *registered[16];
  worker *workers;
  int n_workers;
  pthread_mutex_t lock; /* guards arming new requests vs. stopping */
  int stopping;
  atomic_int server_down; /* gRPC confirmed the shutdown: workers close their queues */
  td_grpc_ctx ctx;
  int port;
};

/* ---- channel arguments ---- */

typedef struct channel_args {
  grpc_arg *a;
  size_t n, cap;
  char *text; /* owned copy the keys/values point into */
} channel_args;

static int has_arg(const channel_args *ca, const char *key) {
  for (size_t i = 0; i < ca->n; i++)
    if (!strcmp(ca->a[i].key, key)) return 1;
  return 0;
}

static void add_int_arg(channel_args *ca, const char *key, int value) {
  TD_GROW(ca->a, ca->cap, ca->n + 1);
  grpc_arg *g = &ca->a[ca->n++];
  memset(g, 0, sizeof *g);
  g->type = GRPC_ARG_INTEGER;
  g->key = (char *)key;
  g->value.integer = value;
}

/* "k=v,k=v": integer when v parses as an int, else string (TF Serving's rule). */
static td_code parse_channel_args(const char *text, channel_args *ca, td_status *st) {
  memset(ca, 0, sizeof *ca);
  if (text && *text) {
    ca->text = td_xstrdup(text);
    char *save = NULL;
    for (char *item = strtok_r(ca->text, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
      char *eq = strchr(item, '=');
      if (!eq || eq == item)
        return td_status_set(st, TD_INVALID_ARGUMENT,
                             "Malformed --grpc_channel_arguments entry \"%s\" (expected key=value)", item);
      *eq = 0;
      char *value = eq + 1, *end;
      errno = 0;
      long v = strtol(value, &end, 10);
      TD_GROW(ca->a, ca->cap, ca->n + 1);
      grpc_arg *g = &ca->a[ca->n++];
      memset(g, 0, sizeof *g);
      g->key = item;
      if (*value && !*end && !errno && v >= INT_MIN && v <= INT_MAX) {
        g->type = GRPC_ARG_INTEGER;
        g->value.integer = (int)v;
      } else {
        g->type = GRPC_ARG_STRING;
        g->value.string = value;
      }
    }
  }
  /* TF Serving: max message size INT32_MAX both ways. Unlike gRPC's default, a port in use
   * is an error instead of being silently shared (SO_REUSEPORT). */
  if (!has_arg(ca, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH)) add_int_arg(ca, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, INT_MAX);
  if (!has_arg(ca, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH)) add_int_arg(ca, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, INT_MAX);
  if (!has_arg(ca, GRPC_ARG_ALLOW_REUSEPORT)) add_int_arg(ca, GRPC_ARG_ALLOW_REUSEPORT, 0);
  return TD_OK;
}

static void channel_args_release(channel_args *ca) {
  free(ca->a);
  free(ca->text);
  memset(ca, 0, sizeof *ca);
}

/* ---- request arena ---- */

static void arena_reset(arena *a) {
  while (a->blocks) {
    arena_block *b = a->blocks;
    a->blocks = b->next;
    free(b);
  }
  a->p = a->first;
  a->left = sizeof a->first;
}

static void *arena_alloc(void *data, size_t size) {
  arena *a = data;
  if (size > SIZE_MAX - ARENA_BLOCK - sizeof(arena_block)) return NULL;
  size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (size <= a->left) {
    void *r = a->p;
    a->p += size;
    a->left -= size;
    return r;
  }
  int own = size > ARENA_BLOCK / 4; /* big: a block of its own, keep bumping the current one */
  size_t cap = own ? size : ARENA_BLOCK;
  arena_block *b = malloc(sizeof *b + cap);
  if (!b) return NULL;
  b->next = a->blocks;
  a->blocks = b;
  uint8_t *mem = (uint8_t *)b->pad;
  if (own) return mem;
  a->p = mem + size;
  a->left = cap - size;
  return mem;
}

static void arena_free(void *data, void *ptr) {
  (void)data;
  (void)ptr;
}

/* Turns off Abseil's debug-build mutex deadlock detection (OnDeadlockCycle::kIgnore == 0) when
 * the Abseil gRPC links against exports the switch; a no-op otherwise. */
static void quiet_absl_deadlock_detection(void) {
  static const char *const names[] = {
      "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE",
      "_ZN4absl29SetMutexDeadlockDetectionModeENS_15OnDeadlockCycleE",
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    void *sym = dlsym(RTLD_DEFAULT, names[i]);
    if (sym) {
      void (*set_mode)(int);
      memcpy(&set_mode, &sym, sizeof set_mode);
      set_mode(0);
      return;
    }
  }
}

/* ---- call slots ---- */

static void slot_free(call_slot *s) {
  grpc_metadata_array_destroy(&s->request_md);
  if (s->method == GENERIC_METHOD) grpc_call_details_destroy(&s->details);
  if (s->payload) grpc_byte_buffer_destroy(s->payload);
  if (s->response) grpc_byte_buffer_destroy(s->response);
  grpc_slice_unref(s->status_details);
  if (s->call) grpc_call_unref(s->call);
  free(s);
}

/* Arms a request for `method` on w's queue (no-op once stopping). */
static void arm_request(worker *w, int method) {
  td_grpc_server *srv = w->srv;
  pthread_mutex_lock(&srv->lock);
  if (srv->stopping) {
    pthread_mutex_unlock(&srv->lock);
    return;
  }
  call_slot *s = td_xcalloc(1, sizeof *s);
  s->w = w;
  s->method = method;
  s->status_details = grpc_empty_slice();
  grpc_metadata_array_init(&s->request_md);
  grpc_call_error err;
  if (method == GENERIC_METHOD) {
    grpc_call_details_init(&s->details);
    err = grpc_server_request_call(srv->server, &s->call, &s->details, &s->request_md, w->cq, w->cq, s);
  } else {
    err = grpc_server_request_registered_call(srv->server, srv->registered[method], &s->call, &s->deadline,
                                              &s->request_md, &s->payload, w->cq, w->cq, s);
  }
  pthread_mutex_unlock(&srv->lock);
  if (err != GRPC_CALL_OK) {
    TD_LOG_ERROR("gRPC request_call failed (%d)", (int)err);
    slot_free(s);
  }
}

/* The request payload as one slice (a new reference): the buffer's own slice when it is a
 * single uncompressed one, else a flattened copy. 0 if it cannot be read (decompressed). */
static int payload_slice(grpc_byte_buffer *bb, grpc_slice *out) {
  if (bb->type == GRPC_BB_RAW && bb->data.raw.compression == GRPC_COMPRESS_NONE &&
      bb->data.raw.slice_buffer.count == 1) {
    *out = grpc_slice_ref(bb->data.raw.slice_buffer.slices[0]);
    return 1;
  }
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) return 0;
  *out = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  return 1;
}

/* Runs the method's handler on the request payload. */
static td_code dispatch(const td_grpc_ctx *ctx, call_slot *s, int expired, td_grpc_reply *reply, td_status *st) {
  if (s->method == GENERIC_METHOD) return td_status_set(st, TD_UNIMPLEMENTED, "%s", "");
  if (expired) return td_status_set(st, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
  if (!s->payload) return td_status_set(st, TD_INTERNAL, "Missing request message");
  const td_grpc_method *m = &td_grpc_methods[s->method];
  grpc_slice raw;
  if (!payload_slice(s->payload, &raw))
    return td_status_set(st, TD_INTERNAL, "Could not read (decompress) the request message");
  const uint8_t *bytes = GRPC_SLICE_START_PTR(raw);
  size_t len = GRPC_SLICE_LENGTH(raw);
  td_code code = TD_OK;
  ProtobufCMessage *msg = NULL;
  arena *a = &s->w->arena;
  ProtobufCAllocator alloc = {arena_alloc, arena_free, a};
  if (m->request) {
    msg = protobuf_c_message_unpack(m->request, &alloc, len, bytes);
    if (!msg) code = td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse the request as %s", m->request->name);
  }
  if (code == TD_OK) code = m->handler(ctx, msg, bytes, len, reply, st);
  arena_reset(a); /* frees msg: every piece of it lives in the arena */
  grpc_slice_unref(raw);
  return code;
}

/* Handles an arrived call and starts its reply batch (tag s); frees s if that fails. */
static void handle_call(call_slot *s) {
  td_status st = {0};
  td_grpc_reply reply = {0};
  td_grpc_ctx ctx = s->w->srv->ctx;
  int expired = 0; /* an infinite deadline (the common case) needs no clock read */
  gpr_timespec d = gpr_convert_clock_type(s->deadline, GPR_CLOCK_MONOTONIC);
  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) != 0) { /* gpr's monotonic clock is CLOCK_MONOTONIC */
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    expired = gpr_time_cmp(d, now) < 0;
    int64_t left_ms = gpr_time_to_millis(gpr_time_sub(d, now));
    ctx.deadline_ns = td_deadline_after_ms(left_ms > 0 ? left_ms : 1);
  }
  td_code code = dispatch(&ctx, s, expired, &reply, &st);
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n++].data.recv_close_on_server.cancelled = &s->cancelled;
  if (code == TD_OK) {
    grpc_slice body = reply.len ? grpc_slice_new(reply.data, reply.len, free) : grpc_empty_slice();
    if (!reply.len) free(reply.data);
    s->response = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = s->response;
  } else {
    free(reply.data);
    s->status_details = grpc_slice_from_copied_string(st.msg);
  }
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)code;
  ops[n++].data.send_status_from_server.status_details = code == TD_OK ? NULL : &s->status_details;
  s->replying = 1;
  if (grpc_call_start_batch(s->call, ops, n, s, NULL) != GRPC_CALL_OK) slot_free(s);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  int queue_closed = 0;
  gpr_timespec wait = gpr_inf_past(GPR_CLOCK_MONOTONIC);
  for (;;) {
    /* the poll deadline is renewed only when it has lapsed: no clock read per event */
    grpc_event ev = grpc_completion_queue_next(w->cq, wait, NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_QUEUE_TIMEOUT)
      wait = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(POLL_MS, GPR_TIMESPAN));
    if (ev.type == GRPC_OP_COMPLETE) {
      call_slot *s = ev.tag;
      if (s->replying || !ev.success) {
        slot_free(s); /* reply sent (or failed), or a request killed by shutdown */
      } else {
        arm_request(w, s->method); /* keep one request per method outstanding */
        handle_call(s);
      }
    }
    if (!queue_closed && atomic_load(&w->srv->server_down)) {
      grpc_completion_queue_shutdown(w->cq); /* between calls: nothing of ours is left to start */
      queue_closed = 1;
    }
  }
  return NULL;
}

/* ---- lifecycle ---- */

static void block_signals(sigset_t *old) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, old);
}

static void drain_and_destroy_queue(grpc_completion_queue *cq) {
  grpc_completion_queue_shutdown(cq);
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE) slot_free(ev.tag);
  }
  grpc_completion_queue_destroy(cq);
}

/* Shuts the (started) server down and waits for gRPC's confirmation. */
static void shutdown_server(td_grpc_server *s) {
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_mutex_unlock(&s->lock);
  grpc_completion_queue *done = grpc_completion_queue_create_for_pluck(NULL);
  grpc_server_shutdown_and_notify(s->server, done, s);
  grpc_server_cancel_all_calls(s->server);
  grpc_completion_queue_pluck(done, s, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_shutdown(done);
  grpc_completion_queue_pluck(done, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy(done);
  atomic_store(&s->server_down, 1);
}

static td_code bind_ports(td_grpc_server *s, const td_grpc_options *opt, td_status *st) {
  char addr[512];
  int listening = 0;
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  td_code code = TD_OK;
  if (opt->port >= 0) {
    snprintf(addr, sizeof addr, "%s:%d", opt->host && *opt->host ? opt->host : "0.0.0.0", opt->port);
    s->port = grpc_server_add_http2_port(s->server, addr, creds);
    if (s->port <= 0) code = td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server to %s", addr);
    listening = 1;
  }
  if (code == TD_OK && opt->socket_path && *opt->socket_path) {
    snprintf(addr, sizeof addr, "unix:%s", opt->socket_path);
    if (grpc_server_add_http2_port(s->server, addr, creds) <= 0)
      code = td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server to %s", addr);
    listening = 1;
  }
  grpc_server_credentials_release(creds);
  if (code == TD_OK && !listening)
    code = td_status_set(st, TD_INVALID_ARGUMENT, "gRPC server needs a port or a socket path");
  return code;
}

td_code td_grpc_server_start(td_api *api, const td_grpc_options *opt, td_grpc_server **out, td_status *st) {
  *out = NULL;
  if (td_grpc_num_methods > (int)(sizeof ((td_grpc_server *)0)->registered / sizeof(void *)))
    return td_status_set(st, TD_INTERNAL, "too many gRPC methods");
  channel_args ca;
  td_code code = parse_channel_args(opt->channel_arguments, &ca, st);
  if (code != TD_OK) {
    channel_args_release(&ca);
    return code;
  }
  sigset_t old_mask;
  block_signals(&old_mask); /* gRPC's threads and ours inherit the blocked mask */
  quiet_absl_deadlock_detection();
  grpc_init();
  td_grpc_server *s = td_xcalloc(1, sizeof *s);
  pthread_mutex_init(&s->lock, NULL);
  s->ctx.api = api;
  s->ctx.tensor_content_outputs = opt->tensor_content_outputs;
  grpc_channel_args args = {ca.n, ca.a};
  s->server = grpc_server_create(&args, NULL);
  channel_args_release(&ca);
  for (int i = 0; i < td_grpc_num_methods; i++)
    s->registered[i] = grpc_server_register_method(s->server, td_grpc_methods[i].path, NULL,
                                                   GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  s->n_workers = opt->num_threads > 0 ? (opt->num_threads < MAX_WORKERS ? opt->num_threads : MAX_WORKERS)
                                       : (cpus > 2 ? (int)cpus : 2);
  s->workers = td_xcalloc((size_t)s->n_workers, sizeof *s->workers);
  for (int i = 0; i < s->n_workers; i++) {
    s->workers[i].srv = s;
    arena_reset(&s->workers[i].arena);
    s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->workers[i].cq, NULL);
  }
  code = bind_ports(s, opt, st);
  if (code != TD_OK) { /* never started: no calls exist */
    grpc_server_destroy(s->server);
    for (int i = 0; i < s->n_workers; i++) drain_and_destroy_queue(s->workers[i].cq);
    free(s->workers);
    pthread_mutex_destroy(&s->lock);
    free(s);
    grpc_shutdown();
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return code;
  }
  grpc_server_start(s->server);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    for (int m = 0; m < td_grpc_num_methods; m++) arm_request(w, m);
    arm_request(w, GENERIC_METHOD);
    w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    if (w->started) pthread_setname_np(w->thread, "td-grpc-worker"); /* for ps / top -H and tests */
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  *out = s;
  return TD_OK;
}

int td_grpc_server_port(const td_grpc_server *s) { return s ? s->port : 0; }

void td_grpc_server_stop(td_grpc_server *s) {
  if (!s) return;
  sigset_t old_mask;
  block_signals(&old_mask);
  shutdown_server(s);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    if (w->started) pthread_join(w->thread, NULL);
  }
  grpc_server_destroy(s->server);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    if (w->started) grpc_completion_queue_destroy(w->cq);
    else drain_and_destroy_queue(w->cq); /* its thread never ran: drain here */
  }
  free(s->workers);
  pthread_mutex_destroy(&s->lock);
  free(s);
  grpc_shutdown();
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}
