/* echo_grpc.c — the floor for gRPC overhead: a trivial gRPC-core server.
 *
 * usage: echo_grpc PORT [THREADS]
 *
 * Structured like src/grpc/grpc_server.c (one completion queue + thread per worker, default
 * max(cores, 2) workers, /tensorflow.serving.PredictionService/Predict registered with
 * GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, one request armed per worker). Each call's request
 * payload is dropped unread; the reply is a fixed serialized PredictResponse (outputs y = float[3]
 * {2.5, 3, 4.5}, model_spec half_plus_two v123 serving_default): what tensord answers for the
 * bench's request, without protobuf parsing, model lookup or the graph run. Runs until
 * SIGTERM/SIGINT.
 */
#define _POSIX_C_SOURCE 200809L
#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const unsigned char REPLY[] = {
    0x0a, 0x1b, 0x0a, 0x01, 0x79, 0x12, 0x16, 0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x2a, 0x0c,
    0x00, 0x00, 0x20, 0x40, 0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x90, 0x40, 0x12, 0x24, 0x0a, 0x0d, 0x68,
    0x61, 0x6c, 0x66, 0x5f, 0x70, 0x6c, 0x75, 0x73, 0x5f, 0x74, 0x77, 0x6f, 0x12, 0x02, 0x08, 0x7b, 0x1a,
    0x0f, 0x73, 0x65, 0x72, 0x76, 0x69, 0x6e, 0x67, 0x5f, 0x64, 0x65, 0x66, 0x61, 0x75, 0x6c, 0x74};

typedef struct worker {
  grpc_completion_queue *cq;
  pthread_t thread;
} worker;

typedef struct call_slot {
  worker *w;
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload, *response;
  int cancelled, replying;
} call_slot;

static grpc_server *server;
static void *method;
static atomic_int stopping;

static void slot_free(call_slot *s) {
  grpc_metadata_array_destroy(&s->md);
  if (s->payload) grpc_byte_buffer_destroy(s->payload);
  if (s->response) grpc_byte_buffer_destroy(s->response);
  if (s->call) grpc_call_unref(s->call);
  free(s);
}

static void arm(worker *w) {
  if (atomic_load(&stopping)) return;
  call_slot *s = calloc(1, sizeof *s);
  s->w = w;
  grpc_metadata_array_init(&s->md);
  if (grpc_server_request_registered_call(server, method, &s->call, &s->deadline, &s->md, &s->payload, w->cq, w->cq,
                                          s) != GRPC_CALL_OK)
    slot_free(s);
}

static void reply(call_slot *s) {
  grpc_slice body = grpc_slice_from_static_buffer(REPLY, sizeof REPLY);
  s->response = grpc_raw_byte_buffer_create(&body, 1);
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[1].data.recv_close_on_server.cancelled = &s->cancelled;
  ops[2].op = GRPC_OP_SEND_MESSAGE;
  ops[2].data.send_message.send_message = s->response;
  ops[3].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[3].data.send_status_from_server.status = GRPC_STATUS_OK;
  s->replying = 1;
  if (grpc_call_start_batch(s->call, ops, 4, s, NULL) != GRPC_CALL_OK) slot_free(s);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(w->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type != GRPC_OP_COMPLETE) continue;
    call_slot *s = ev.tag;
    if (s->replying || !ev.success) {
      slot_free(s);
    } else {
      arm(w);
      reply(s);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
    return 2;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int n = argc > 2 ? atoi(argv[2]) : (cpus > 2 ? (int)cpus : 2);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* gRPC's threads and ours: no signals */
  grpc_init();
  server = grpc_server_create(NULL, NULL);
  method = grpc_server_register_method(server, "/tensorflow.serving.PredictionService/Predict", NULL,
                                       GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
  worker *ws = calloc((size_t)n, sizeof *ws);
  for (int i = 0; i < n; i++) {
    ws[i].cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(server, ws[i].cq, NULL);
  }
  char addr[64];
  snprintf(addr, sizeof addr, "0.0.0.0:%s", argv[1]);
  grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
  int ok = grpc_server_add_http2_port(server, addr, creds) > 0;
  grpc_server_credentials_release(creds);
  if (!ok) {
    fprintf(stderr, "echo_grpc: cannot listen on %s\n", addr);
    return 1;
  }
  grpc_server_start(server);
  for (int i = 0; i < n; i++) {
    arm(&ws[i]);
    pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
  }
  /* main thread: wait for SIGTERM/SIGINT synchronously */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  int sig;
  sigwait(&stop, &sig);
  atomic_store(&stopping, 1);
  grpc_completion_queue *done = grpc_completion_queue_create_for_pluck(NULL);
  grpc_server_shutdown_and_notify(server, done, &done);
  grpc_server_cancel_all_calls(server);
  grpc_completion_queue_pluck(done, &done, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_completion_queue_destroy(done);
  for (int i = 0; i < n; i++) grpc_completion_queue_shutdown(ws[i].cq);
  for (int i = 0; i < n; i++) {
    pthread_join(ws[i].thread, NULL);
    grpc_completion_queue_destroy(ws[i].cq);
  }
  grpc_server_destroy(server);
  grpc_shutdown();
  free(ws);
  return 0;
}
