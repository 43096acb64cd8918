/* echo_http.c — the floor for REST overhead: a trivial libmicrohttpd server.
 *
 * usage: echo_http PORT [THREADS]
 *
 * Same daemon flags as src/http/server.c (internal polling thread + epoll + thread pool, default
 * pool size 4 * cores like tensord). Every request's body is read and discarded; the reply is
 * the fixed half_plus_two answer {"predictions": [2.5, 3.0, 4.5]} with Content-Type
 * application/json — the same bytes tensord sends for the bench's request, without JSON
 * parsing, model lookup or the graph run. Runs until SIGTERM/SIGINT.
 */
#define _POSIX_C_SOURCE 200809L
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char REPLY[] = "{\n    \"predictions\": [2.5, 3.0, 4.5\n    ]\n}";
static struct MHD_Response *reply;
static volatile sig_atomic_t stop;
static int marker;

static void on_sig(int s) { (void)s; stop = 1; }

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **ctx) {
  (void)cls; (void)url; (void)method; (void)version; (void)data;
  if (!*ctx) { /* first call: headers only */
    *ctx = &marker;
    return MHD_YES;
  }
  if (*size) { /* body chunk: discard */
    *size = 0;
    return MHD_YES;
  }
  return MHD_queue_response(c, MHD_HTTP_OK, reply);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
    return 2;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : (unsigned)(4 * (cpus > 0 ? cpus : 1));
  reply = MHD_create_response_from_buffer(strlen(REPLY), (void *)REPLY, MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(reply, "Content-Type", "application/json");
  struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
                                          (uint16_t)atoi(argv[1]), NULL, NULL, on_request, NULL,
                                          MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "echo_http: cannot listen on %s\n", argv[1]);
    return 1;
  }
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);
  while (!stop) pause();
  MHD_stop_daemon(d);
  MHD_destroy_response(reply);
  return 0;
}
