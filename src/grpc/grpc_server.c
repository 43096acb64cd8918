/* grpc_server.c — server lifecycle on gRPC core (see grpc_server.h): bind, worker threads with
 * one completion queue each, per-call dispatch through the method table (grpc_handlers.c),
 * the health Watch streams, graceful drain and ordered shutdown.
 *
 * Tags: every tag on a completion queue starts with an int kind. A call_slot (TAG_CALL) is
 * born as an outstanding request (registered method, or the generic request that catches
 * unknown methods); when its call arrives the worker re-arms a fresh slot for the same method,
 * handles the call, and starts the reply batch with the same slot as tag; the batch
 * completion frees the slot. A Health/Watch slot stays alive instead: its sends and its
 * close use the two watch_tags inside it (TAG_WATCH_SEND, TAG_WATCH_CLOSE); it is freed once
 * the call closed and no send is pending. Watches live on their worker's list, and only that
 * worker touches them.
 *
 * Request path (hot): a registered method's payload is used in place when it is one
 * uncompressed slice (else flattened once), and the request proto is unpacked into a
 * per-worker bump arena (grpc_arena.h). gRPC's bundled Abseil is told to skip its debug-build
 * mutex deadlock detector when it exposes the switch.
 *
 * Connections come from tensord's own accept thread (grpc_listener.h), not gRPC's listener.
 *
 * Deferred replies (issue 14): with --enable_batching a Predict call does not hold its worker
 * while it waits in a batch. The worker unpacks the request on the heap (not its arena), hands
 * it to td_grpc_predict_async and goes back to its queue; the completion (deferred_done) runs on
 * whichever thread ran the batch, frees the request and starts the reply batch on the call
 * (gRPC core allows that from any thread); the tag comes back on the call's own queue, where its
 * worker ends the call as usual. A deferred call counts in `active` until then (drain waits for
 * it) and in `deferred` until its reply batch was started: shutdown waits for `deferred` to reach
 * zero (the batcher answers every queued task; after the drain deadline the calls are already
 * cancelled, so the client sees CANCELLED) before any worker shuts its queue down — so no reply
 * is ever started on a queue that is shut down.
 *
 * Drain and shutdown invariants: only worker w (or start, before w runs, or a deferred reply
 * before `server_down`) adds work to w's queue, and new requests are armed only under `lock` while !stopping. drain_begin sets
 * `draining` (health: NOT_SERVING) and stops the listener; `active` counts calls popped and
 * not yet answered (watches excluded), `last_activity_ns` moves on every arrival and answer,
 * so a caller can wait until the pending queue emptied. stop_by sets `finishing` (workers end
 * their watch streams), sets stopping, shuts the server down (GOAWAY; calls already running
 * finish) and waits for gRPC's notification until the deadline, then cancels what is left.
 * Then each worker shuts its own queue down between events — a call that still arrives after
 * that is released without a reply (its queue can take no batch) — and drains it until
 * GRPC_QUEUE_SHUTDOWN. Then: join, grpc_server_destroy, grpc_completion_queue_destroy,
 * grpc_shutdown.
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
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "grpc/grpc_arena.h"
#include "grpc/grpc_auth.h"
#include "grpc/grpc_handlers.h"
#include "grpc/grpc_health.h"
#include "grpc/grpc_listener.h"
#include "util/log.h"
#include "util/mem.h"
#include "v2/v2.h"

#define GENERIC_METHOD (-1)
#define POLL_MS 200        /* how often an idle worker looks at the shutdown flag and its watches */
#define WATCH_POLL_MS 50   /* watches compare their status at most this often */
#define MAX_WORKERS 1024   /* --grpc_max_threads is clamped to this */
#define MAX_REGISTERED 32

enum { TAG_CALL = 1, TAG_WATCH_SEND, TAG_WATCH_CLOSE };

typedef struct worker {
  struct td_grpc_server *srv;
  grpc_completion_queue *cq;
  pthread_t thread;
  int started;
  struct call_slot *watches; /* this worker's Health/Watch streams */
  int64_t next_watch_poll_ns;
  td_grpc_arena arena;
} worker;

typedef struct watch_tag {
  int kind;
  struct call_slot *slot;
} watch_tag;

typedef struct call_slot {
  int kind; /* TAG_CALL; first, like every tag's kind */
  worker *w;
  int method; /* index into td_grpc_methods, watch_method, or GENERIC_METHOD */
  int replying;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array request_md;
  grpc_call_details details; /* generic requests only */
  grpc_byte_buffer *payload;
  grpc_byte_buffer *response;
  grpc_slice status_details;
  int cancelled;
  /* Health/Watch streams only */
  struct call_slot *next_watch;
  char *service;
  int sent_status; /* last status sent, -1 = none yet */
  int md_sent, send_pending, close_seen, finished;
  watch_tag send_tag, close_tag;
} call_slot;

struct td_grpc_server {
  grpc_server *server;
  void *registered[MAX_REGISTERED];
  int watch_method; /* registered index of Health/Watch */
  worker *workers;
  int n_workers;
  pthread_mutex_t lock; /* guards arming new requests vs. stopping */
  int stopping;
  atomic_int draining;    /* health NOT_SERVING; no new connections */
  atomic_int finishing;   /* workers end their watch streams */
  atomic_int server_down; /* gRPC confirmed the shutdown: workers close their queues */
  atomic_int active;      /* calls being handled or answered (not watches) */
  atomic_int deferred;    /* deferred Predicts whose reply batch has not been started yet */
  int predict_method;     /* registered index of Predict (the deferred path) */
  atomic_llong last_activity_ns;
  td_grpc_listener *listener;
  td_grpc_ctx ctx;
  td_grpc_authz authz; /* token and reload switch, checked before a call is parsed */
  int port;
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

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
  if (has_arg(ca, key)) return; /* the user's --grpc_channel_arguments win */
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
  /* TF Serving: max message size INT32_MAX both ways. Dead or silent peers (an idle socket that
   * never speaks HTTP/2 included) are found by keepalive pings, even without calls, and closed. */
  add_int_arg(ca, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, INT_MAX);
  add_int_arg(ca, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, INT_MAX);
  add_int_arg(ca, GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  add_int_arg(ca, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  add_int_arg(ca, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  return TD_OK;
}

static void channel_args_release(channel_args *ca) {
  free(ca->a);
  free(ca->text);
  memset(ca, 0, sizeof *ca);
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
  if (s->call) grpc_call_unref(s->call); /* an unanswered call is cancelled */
  free(s->service);
  free(s);
}

static void touch(td_grpc_server *srv) { atomic_store(&srv->last_activity_ns, now_ns()); }

static void call_begin(td_grpc_server *srv) {
  atomic_fetch_add(&srv->active, 1);
  touch(srv);
}

static void call_end(td_grpc_server *srv) {
  touch(srv);
  atomic_fetch_sub(&srv->active, 1);
}

/* Registered method i: TF Serving's table, then the V2 one (src/v2). */
static int num_methods(void) { return td_grpc_num_methods + td_v2_grpc_num_methods; }
static const td_grpc_method *method_row(int i) {
  return i < td_grpc_num_methods ? &td_grpc_methods[i] : &td_v2_grpc_methods[i - td_grpc_num_methods];
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
  s->kind = TAG_CALL;
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

/* The request of s: authorized, deadline and names checked, its payload as one slice (*raw, a
 * new reference, set on TD_OK) and unpacked with alloc into *msg (methods with a descriptor). */
static td_code parse_request(call_slot *s, int expired, ProtobufCAllocator *alloc, grpc_slice *raw,
                             ProtobufCMessage **msg, td_status *st) {
  *msg = NULL;
  const char *path = s->method == GENERIC_METHOD ? NULL : method_row(s->method)->path;
  TD_TRY(td_grpc_authorize(&s->w->srv->authz, path, &s->request_md, st));
  if (s->method == GENERIC_METHOD) return td_status_set(st, TD_UNIMPLEMENTED, "%s", "");
  if (expired) return td_status_set(st, TD_DEADLINE_EXCEEDED, "Deadline Exceeded");
  if (!s->payload) return td_status_set(st, TD_INTERNAL, "Missing request message");
  const td_grpc_method *m = method_row(s->method);
  if (!payload_slice(s->payload, raw))
    return td_status_set(st, TD_INTERNAL, "Could not read (decompress) the request message");
  const uint8_t *bytes = GRPC_SLICE_START_PTR(*raw);
  size_t len = GRPC_SLICE_LENGTH(*raw);
  td_code code = td_grpc_check_model_names(m->path, bytes, len, st);
  if (code == TD_OK && m->request) {
    *msg = protobuf_c_message_unpack(m->request, alloc, len, bytes);
    if (!*msg) code = td_status_set(st, TD_INVALID_ARGUMENT, "Could not parse the request as %s", m->request->name);
  }
  if (code != TD_OK) grpc_slice_unref(*raw);
  return code;
}

/* Runs the method's handler on the request payload. */
static td_code dispatch(const td_grpc_ctx *ctx, call_slot *s, int expired, td_grpc_reply *reply, td_status *st) {
  td_grpc_arena *a = &s->w->arena;
  ProtobufCAllocator alloc = {td_grpc_arena_alloc, td_grpc_arena_free, a};
  grpc_slice raw;
  ProtobufCMessage *msg;
  td_code code = parse_request(s, expired, &alloc, &raw, &msg, st);
  if (code == TD_OK) {
    code = method_row(s->method)->handler(ctx, msg, GRPC_SLICE_START_PTR(raw), GRPC_SLICE_LENGTH(raw), reply, st);
    grpc_slice_unref(raw);
  }
  td_grpc_arena_reset(a); /* frees msg: every piece of it lives in the arena */
  return code;
}

/* Starts the reply batch of a unary call (tag s): the response on TD_OK, else the status.
 * Takes reply->data. Frees s (and ends its activity) if the batch cannot start. */
static void send_reply(call_slot *s, td_code code, td_grpc_reply *reply, const td_status *st) {
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n++].data.recv_close_on_server.cancelled = &s->cancelled;
  if (code == TD_OK) {
    grpc_slice body = reply->len ? grpc_slice_new(reply->data, reply->len, free) : grpc_empty_slice();
    if (!reply->len) free(reply->data);
    s->response = grpc_raw_byte_buffer_create(&body, 1);
    grpc_slice_unref(body);
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n++].data.send_message.send_message = s->response;
  } else {
    free(reply->data);
    s->status_details = grpc_slice_from_copied_string(st->msg);
  }
  reply->data = NULL;
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = (grpc_status_code)code;
  ops[n++].data.send_status_from_server.status_details = code == TD_OK ? NULL : &s->status_details;
  s->replying = 1;
  if (grpc_call_start_batch(s->call, ops, n, s, NULL) != GRPC_CALL_OK) {
    call_end(s->w->srv);
    slot_free(s);
  }
}

/* A deferred Predict's request, kept (heap) until its reply is started. */
typedef struct deferred_call {
  call_slot *slot;
  grpc_slice raw;
  ProtobufCMessage *msg; /* unpacked on the heap from raw */
} deferred_call;

/* td_grpc_predict_async's completion, on the thread that ran the batch (or the worker). */
static void deferred_done(void *user, td_code code, td_grpc_reply *reply, const td_status *st) {
  deferred_call *d = user;
  call_slot *s = d->slot;
  td_grpc_server *srv = s->w->srv;
  protobuf_c_message_free_unpacked(d->msg, NULL);
  grpc_slice_unref(d->raw);
  free(d);
  send_reply(s, code, reply, st);   /* s may be gone after this */
  atomic_fetch_sub(&srv->deferred, 1); /* after the reply batch started: shutdown waits for this */
}

/* Predict on a batching server: parses the request onto the heap and hands it to the batcher;
 * the reply is started by deferred_done. s must not be touched after this returns. */
static void handle_deferred(call_slot *s, const td_grpc_ctx *ctx) {
  td_status st = {0};
  grpc_slice raw;
  ProtobufCMessage *msg;
  td_code code = parse_request(s, 0, NULL, &raw, &msg, &st);
  if (code != TD_OK) {
    td_grpc_reply none = {0};
    send_reply(s, code, &none, &st);
    return;
  }
  deferred_call *d = td_xcalloc(1, sizeof *d);
  d->slot = s;
  d->raw = raw;
  d->msg = msg;
  atomic_fetch_add(&s->w->srv->deferred, 1);
  td_grpc_predict_async(ctx, msg, GRPC_SLICE_LENGTH(raw), deferred_done, d);
}

/* Handles an arrived unary call and starts its reply (or defers it: handle_deferred). */
static void handle_call(call_slot *s) {
  td_status st = {0};
  td_grpc_reply reply = {0};
  td_grpc_ctx ctx = s->w->srv->ctx;
  int expired = 0; /* an infinite deadline (the common case) needs no clock read */
  gpr_timespec d = gpr_convert_clock_type(s->deadline, GPR_CLOCK_MONOTONIC);
  if (gpr_time_cmp(d, gpr_inf_future(GPR_CLOCK_MONOTONIC)) != 0) {
    gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
    expired = gpr_time_cmp(d, now) < 0;
    int64_t left_ms = gpr_time_to_millis(gpr_time_sub(d, now));
    ctx.deadline_ns = td_deadline_after_ms(left_ms > 0 ? left_ms : 1);
  }
  if (s->method >= 0 && s->method == s->w->srv->predict_method && ctx.api->batcher && !expired) {
    handle_deferred(s, &ctx);
    return;
  }
  td_code code = dispatch(&ctx, s, expired, &reply, &st);
  send_reply(s, code, &reply, &st);
}

/* ---- Health/Watch streams ---- */

static void watch_unlink_free(worker *w, call_slot *s) {
  for (call_slot **p = &w->watches; *p; p = &(*p)->next_watch)
    if (*p == s) {
      *p = s->next_watch;
      break;
    }
  slot_free(s);
}

/* Sends one HealthCheckResponse{status} on the stream (initial metadata with the first). */
static void watch_send(call_slot *s, int status) {
  td_grpc_reply r = {0};
  td_grpc_health_pack(status, &r);
  grpc_slice body = r.len ? grpc_slice_new(r.data, r.len, free) : grpc_empty_slice();
  if (!r.len) free(r.data);
  s->response = grpc_raw_byte_buffer_create(&body, 1);
  grpc_slice_unref(body);
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  if (!s->md_sent) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[n].op = GRPC_OP_SEND_MESSAGE;
  ops[n++].data.send_message.send_message = s->response;
  s->md_sent = 1;
  s->sent_status = status;
  s->send_pending = 1;
  if (grpc_call_start_batch(s->call, ops, n, &s->send_tag, NULL) != GRPC_CALL_OK) {
    s->send_pending = 0;
    s->finished = 1;
  }
}

/* Ends the stream: the server is going away (UNAVAILABLE, so clients watch another one). */
static void watch_finish(call_slot *s) {
  grpc_op ops[2];
  memset(ops, 0, sizeof ops);
  size_t n = 0;
  if (!s->md_sent) ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
  s->status_details = grpc_slice_from_static_string("Server is shutting down");
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = GRPC_STATUS_UNAVAILABLE;
  ops[n++].data.send_status_from_server.status_details = &s->status_details;
  s->md_sent = s->finished = s->send_pending = 1;
  if (grpc_call_start_batch(s->call, ops, n, &s->send_tag, NULL) != GRPC_CALL_OK) s->send_pending = 0;
}

/* A Watch call arrived: parse, answer the current status, and keep it on w's list. */
static void watch_start(worker *w, call_slot *s) {
  grpc_slice raw;
  char *service = NULL;
  if (s->payload && payload_slice(s->payload, &raw)) {
    service = td_grpc_health_parse_service(GRPC_SLICE_START_PTR(raw), GRPC_SLICE_LENGTH(raw));
    grpc_slice_unref(raw);
  }
  if (!service) {
    td_status st = {0};
    td_grpc_reply none = {0};
    td_status_set(&st, TD_INVALID_ARGUMENT, "Could not parse the request as grpc.health.v1.HealthCheckRequest");
    call_begin(w->srv);
    send_reply(s, st.code, &none, &st);
    return;
  }
  s->service = service;
  s->sent_status = -1;
  s->send_tag = (watch_tag){TAG_WATCH_SEND, s};
  s->close_tag = (watch_tag){TAG_WATCH_CLOSE, s};
  s->next_watch = w->watches;
  w->watches = s;
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &s->cancelled;
  if (grpc_call_start_batch(s->call, &op, 1, &s->close_tag, NULL) != GRPC_CALL_OK) s->close_seen = 1;
  watch_send(s, td_grpc_health_status(&w->srv->ctx, s->service));
}

static void watch_event(worker *w, watch_tag *t, int success) {
  call_slot *s = t->slot;
  if (t->kind == TAG_WATCH_SEND) {
    s->send_pending = 0;
    if (s->response) grpc_byte_buffer_destroy(s->response);
    s->response = NULL;
    if (!success) s->finished = 1; /* the stream broke: no more sends */
  } else {
    s->close_seen = 1;
  }
  if (s->close_seen && !s->send_pending) watch_unlink_free(w, s);
}

/* Sends a new status to every watch of w whose service changed; ends them when finishing. */
static void poll_watches(worker *w) {
  int64_t now = now_ns();
  if (now < w->next_watch_poll_ns) return;
  w->next_watch_poll_ns = now + (int64_t)WATCH_POLL_MS * 1000000;
  int finishing = atomic_load(&w->srv->finishing);
  for (call_slot *s = w->watches; s; s = s->next_watch) {
    if (s->close_seen || s->send_pending || s->finished) continue;
    int status = td_grpc_health_status(&w->srv->ctx, s->service);
    if (status != s->sent_status) watch_send(s, status);
    else if (finishing) watch_finish(s);
  }
}

/* ---- workers ---- */

static void on_event(worker *w, void *tag, int success, int queue_closed) {
  int kind = *(int *)tag;
  if (kind != TAG_CALL) {
    watch_event(w, tag, success);
    return;
  }
  call_slot *s = tag;
  if (s->replying) { /* reply sent (or failed) */
    call_end(w->srv);
    slot_free(s);
  } else if (!success || queue_closed) {
    slot_free(s); /* a request killed by shutdown, or a call our closed queue can no longer answer */
  } else {
    arm_request(w, s->method); /* keep one request per method outstanding */
    if (s->method == w->srv->watch_method) {
      watch_start(w, s);
    } else {
      call_begin(w->srv);
      handle_call(s);
    }
  }
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
    if (ev.type == GRPC_OP_COMPLETE) on_event(w, ev.tag, ev.success, queue_closed);
    if (w->watches && !queue_closed) poll_watches(w);
    if (!queue_closed && atomic_load(&w->srv->server_down)) {
      grpc_completion_queue_shutdown(w->cq); /* between events: nothing of ours is left to start */
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
    if (ev.type == GRPC_OP_COMPLETE) slot_free(ev.tag); /* only failed requests: no watch ever ran */
  }
  grpc_completion_queue_destroy(cq);
}

/* Shuts the (started) server down: GOAWAY, calls already running finish until deadline_ns
 * (CLOCK_MONOTONIC; 0 = cancel at once), then the rest are cancelled; waits for gRPC's
 * confirmation. gRPC's notification also waits for every client to close its connection after
 * the GOAWAY; once no call has run for IDLE_CUT_MS the remaining (idle) connections are cut. */
#define IDLE_CUT_MS 300
static void shutdown_server(td_grpc_server *s, int64_t deadline_ns) {
  atomic_store(&s->finishing, 1);
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_mutex_unlock(&s->lock);
  grpc_completion_queue *done = grpc_completion_queue_create_for_pluck(NULL);
  grpc_server_shutdown_and_notify(s->server, done, s);
  int finished = 0;
  int64_t start = now_ns();
  while (!finished) {
    int64_t now = now_ns();
    if (!deadline_ns || now >= deadline_ns) {
      if (deadline_ns && atomic_load(&s->active))
        TD_LOG_WARN("gRPC drain deadline reached: cancelling %d call(s) still running", atomic_load(&s->active));
      break;
    }
    /* only idle connections are left (after a step in which workers pop calls matched late) */
    if (now - start >= 50 * 1000000 && td_grpc_server_quiet(s, IDLE_CUT_MS)) break;
    int64_t step_ms = (deadline_ns - now) / 1000000;
    if (step_ms > 50) step_ms = 50;
    gpr_timespec until = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(step_ms + 1, GPR_TIMESPAN));
    finished = grpc_completion_queue_pluck(done, s, until, NULL).type == GRPC_OP_COMPLETE;
  }
  if (!finished) {
    td_batcher_flush(s->ctx.api->batcher); /* deferred calls stop waiting for their batch window */
    grpc_server_cancel_all_calls(s->server); /* also disconnects every connection */
    grpc_completion_queue_pluck(done, s, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  }
  grpc_completion_queue_shutdown(done);
  grpc_completion_queue_pluck(done, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy(done);
  /* deferred replies still to start (the batcher finishes every task it holds; none waits for
   * its window any more): they must be on their queues before the workers shut those down */
  if (atomic_load(&s->deferred)) td_batcher_flush(s->ctx.api->batcher);
  while (atomic_load(&s->deferred)) nanosleep(&(struct timespec){0, 1000000}, NULL);
  atomic_store(&s->server_down, 1);
}

/* Binds our own listening sockets (TCP and/or unix) into fds; *n gets how many. */
static td_code bind_ports(td_grpc_server *s, const td_grpc_options *opt, int *fds, int *n, td_status *st) {
  *n = 0;
  if (opt->port >= 0) {
    int fd;
    TD_TRY(td_grpc_listen_tcp(opt->host, opt->port, &fd, &s->port, st));
    fds[(*n)++] = fd;
  }
  if (opt->socket_path && *opt->socket_path) {
    int fd;
    td_code code = td_grpc_listen_unix(opt->socket_path, &fd, st);
    if (code != TD_OK) {
      for (int i = 0; i < *n; i++) close(fds[i]);
      *n = 0;
      return code;
    }
    fds[(*n)++] = fd;
  }
  if (!*n) return td_status_set(st, TD_INVALID_ARGUMENT, "gRPC server needs a port or a socket path");
  return TD_OK;
}

/* TLS: the ports are gRPC core's own, with SSL credentials (the key pair, the CA for client
 * certificates, and the client-certificate policy of SSLConfig.client_verify). */
static td_code add_tls_ports(td_grpc_server *s, const td_grpc_options *opt, td_status *st) {
  const td_tls_config *t = opt->tls;
  grpc_ssl_pem_key_cert_pair pair = {t->server_key, t->server_cert};
  grpc_server_credentials *creds = grpc_ssl_server_credentials_create_ex(
      t->custom_ca && *t->custom_ca ? t->custom_ca : NULL, &pair, 1,
      t->client_verify ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                       : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
      NULL);
  if (!creds) return td_status_set(st, TD_INVALID_ARGUMENT, "Could not create the gRPC SSL server credentials");
  char addr[4200];
  td_code code = TD_OK;
  if (opt->port >= 0) {
    snprintf(addr, sizeof addr, "%s:%d", opt->host && *opt->host ? opt->host : "0.0.0.0", opt->port);
    s->port = grpc_server_add_http2_port(s->server, addr, creds);
    if (!s->port)
      code = td_status_set(st, TD_UNAVAILABLE,
                           "Could not bind gRPC server with TLS to %s (port in use, or the key and certificate "
                           "of --ssl_config_file are not a valid pair)",
                           addr);
  }
  if (code == TD_OK && opt->socket_path && *opt->socket_path) {
    snprintf(addr, sizeof addr, "unix:%s", opt->socket_path);
    if (!grpc_server_add_http2_port(s->server, addr, creds))
      code = td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server with TLS to %s", addr);
  }
  if (code == TD_OK && opt->port < 0 && !(opt->socket_path && *opt->socket_path))
    code = td_status_set(st, TD_INVALID_ARGUMENT, "gRPC server needs a port or a socket path");
  grpc_server_credentials_release(creds);
  return code;
}

td_code td_grpc_server_start(td_api *api, const td_grpc_options *opt, td_grpc_server **out, td_status *st) {
  *out = NULL;
  if (num_methods() + 1 > MAX_REGISTERED) return td_status_set(st, TD_INTERNAL, "too many gRPC methods");
  channel_args ca;
  td_code code = parse_channel_args(opt->channel_arguments, &ca, st);
  if (code != TD_OK) {
    channel_args_release(&ca);
    return code;
  }
  td_grpc_server *s = td_xcalloc(1, sizeof *s);
  int fds[2], n_fds = 0;
  code = opt->tls ? TD_OK : bind_ports(s, opt, fds, &n_fds, st);
  if (code != TD_OK) {
    channel_args_release(&ca);
    free(s);
    return code;
  }
  sigset_t old_mask;
  block_signals(&old_mask); /* gRPC's threads and ours inherit the blocked mask */
  quiet_absl_deadlock_detection();
  grpc_init();
  pthread_mutex_init(&s->lock, NULL);
  s->ctx.api = api;
  s->ctx.tensor_content_outputs = opt->tensor_content_outputs;
  s->ctx.draining = &s->draining;
  s->authz = (td_grpc_authz){.auth = opt->auth, .disable_model_management = opt->disable_model_management};
  grpc_channel_args args = {ca.n, ca.a};
  s->server = grpc_server_create(&args, NULL);
  channel_args_release(&ca);
  if (opt->tls && (code = add_tls_ports(s, opt, st)) != TD_OK) {
    grpc_server_destroy(s->server); /* never started */
    pthread_mutex_destroy(&s->lock);
    free(s);
    grpc_shutdown();
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return code;
  }
  for (int i = 0; i < num_methods(); i++)
    s->registered[i] = grpc_server_register_method(s->server, method_row(i)->path, NULL,
                                                   GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  s->watch_method = num_methods();
  s->predict_method = -1;
  for (int i = 0; i < td_grpc_num_methods; i++)
    if (!strcmp(td_grpc_methods[i].path, TD_GRPC_PREDICT_PATH)) s->predict_method = i;
  s->registered[s->watch_method] = grpc_server_register_method(s->server, TD_HEALTH_WATCH_PATH, NULL,
                                                               GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  s->n_workers = opt->num_threads > 0 ? (opt->num_threads < MAX_WORKERS ? opt->num_threads : MAX_WORKERS)
                                       : (cpus > 2 ? (int)cpus : 2);
  s->workers = td_xcalloc((size_t)s->n_workers, sizeof *s->workers);
  for (int i = 0; i < s->n_workers; i++) {
    s->workers[i].srv = s;
    td_grpc_arena_reset(&s->workers[i].arena);
    s->workers[i].cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->server, s->workers[i].cq, NULL);
  }
  grpc_server_start(s->server);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    for (int m = 0; m <= s->watch_method; m++) arm_request(w, m);
    arm_request(w, GENERIC_METHOD);
    w->started = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    if (w->started) pthread_setname_np(w->thread, "td-grpc-worker"); /* for ps / top -H and tests */
  }
  touch(s);
  if (!opt->tls) s->listener = td_grpc_listener_start(s->server, fds, n_fds, opt->socket_path);
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  *out = s;
  return TD_OK;
}

int td_grpc_server_port(const td_grpc_server *s) { return s ? s->port : 0; }

void td_grpc_server_drain_begin(td_grpc_server *s) {
  if (!s) return;
  atomic_store(&s->draining, 1);
  td_grpc_listener_stop(s->listener); /* takes the connections already queued first */
  s->listener = NULL;
  touch(s);
}

int td_grpc_server_quiet(const td_grpc_server *s, int64_t quiet_ms) {
  if (!s) return 1;
  td_grpc_server *m = (td_grpc_server *)s; /* atomics are read-only here */
  return atomic_load(&m->active) == 0 && now_ns() - atomic_load(&m->last_activity_ns) >= quiet_ms * 1000000;
}

void td_grpc_server_stop_by(td_grpc_server *s, int64_t deadline_ns) {
  if (!s) return;
  sigset_t old_mask;
  block_signals(&old_mask);
  td_grpc_server_drain_begin(s);
  shutdown_server(s, deadline_ns);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    if (w->started) pthread_join(w->thread, NULL);
  }
  grpc_server_destroy(s->server);
  for (int i = 0; i < s->n_workers; i++) {
    worker *w = &s->workers[i];
    if (w->started) grpc_completion_queue_destroy(w->cq);
    else drain_and_destroy_queue(w->cq); /* its thread never ran: drain here */
    td_grpc_arena_reset(&w->arena);
  }
  free(s->workers);
  pthread_mutex_destroy(&s->lock);
  free(s);
  grpc_shutdown();
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
}

void td_grpc_server_stop(td_grpc_server *s) { td_grpc_server_stop_by(s, 0); }
