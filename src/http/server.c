/* server.c — libmicrohttpd transport for the REST API (see server.h).
 *
 * Per request, MHD calls on_request repeatedly: first with headers only (we allocate the
 * request context), then once per body chunk (accumulated up to the limit, then drained),
 * then with no data (we answer). The context is freed in on_completed, whatever happened.
 * The URL is matched raw: the unescape callback is a no-op, so "%2F" in a model name stays
 * escaped until routes.c decodes the captured name, as TF Serving does.
 *
 * Every request has a context from its first callback to on_completed: `inflight` counts
 * them and `last_activity_ns` moves at both ends, which is what the drain waits on. Once
 * draining, answers carry "Connection: close" and /readyz answers 503; the listening socket
 * is closed after the connections already queued on it were handed to MHD.
 * Deferred answers (td_http_defer): the handler returns without an answer; if the answer has
 * not arrived by then (td_http_complete, any thread) the connection is suspended, holding no
 * pool thread, and td_http_complete resumes it; MHD then calls on_request again, which sends
 * the stored answer. rc->mu orders the two sides. Suspended connections are counted, and
 * stopping waits for them (MHD must not be stopped with a connection suspended).
 * Connection exhaustion: the daemon's connection limit is the open-files limit (not MHD's
 * FD_SETSIZE default), the accept policy refuses connections once descriptors leave their
 * headroom (util/conn_guard.h), and MHD's own log lines go through a rate limiter.
 */
#define _GNU_SOURCE /* accept4 */
#include "http/server.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_auth.h"
#include "http/rest_json.h"
#include "http/routes.h"
#include "metrics/metrics.h"
#include "util/buf.h"
#include "util/bufpool.h"
#include "util/conn_guard.h"
#include "util/gzip.h"
#include "util/log.h"
#include "util/mem.h"

#define DEFAULT_MAX_REQUEST_BYTES ((size_t)64 << 20)
#define DEFAULT_CONNECTION_TIMEOUT_S 30
/* MHD's per-connection memory (headers + read buffer; default 32 KiB). MHD zeroes the whole
 * pool when a keep-alive connection starts its next request, so its size is paid on every
 * request: 256 KiB cost the one-image MNIST predict ~25% of its throughput (25-27k → 34k req/s
 * at 64 KiB, wrk -c64, 2 vCPUs), while 600 KB bodies ran the same at 32, 64 or 256 KiB. */
#define CONNECTION_MEMORY_BYTES ((size_t)64 << 10)
#define MIN_CONNECTION_LIMIT 64
#define LOG_BURST 3
#define LOG_INTERVAL_MS 10000

struct td_http_server {
  struct MHD_Daemon *daemon;
  td_http_options opt;
  td_http_handler rest;
  void *ctx;
  atomic_int draining;
  atomic_int inflight; /* requests between their first callback and on_completed */
  atomic_int deferred; /* deferred requests not answered yet (suspended or about to be) */
  atomic_llong last_activity_ns;
};

static td_log_limiter mhd_log = TD_LOG_LIMITER_INIT;
static td_log_limiter refusal_log = TD_LOG_LIMITER_INIT;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void touch(td_http_server *srv) { atomic_store(&srv->last_activity_ns, now_ns()); }

typedef struct request_ctx {
  td_buf body;
  size_t received; /* total body bytes, including dropped ones */
  /* deferred answer (td_http_defer .. td_http_complete), guarded by mu */
  td_http_server *srv;
  struct MHD_Connection *conn;
  pthread_mutex_t mu;
  int deferred, ready, suspended, sent;
  td_http_response answer;
} request_ctx;

static const struct {
  const char *name, *value;
} cors_headers[] = {
    {"Access-Control-Allow-Origin", "*"},
    {"Access-Control-Allow-Methods", "POST, GET"},
    {"Access-Control-Allow-Headers", "Content-Type"},
};

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) { return strlen(s); }

static enum MHD_Result send_response(struct MHD_Connection *conn, const td_http_server *srv, int is_rest,
                            td_http_response *r) {
  struct MHD_Response *resp =
      r->body ? MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE)
              : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(r->body);
    return MHD_NO;
  }
  r->body = NULL;
  if (atomic_load(&srv->draining)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  if (is_rest) {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type ? r->content_type : "application/json");
    if (r->extra_header) MHD_add_response_header(resp, r->extra_header, r->extra_value);
    if (srv->opt.enable_cors)
      for (size_t i = 0; i < sizeof cors_headers / sizeof cors_headers[0]; i++)
        MHD_add_response_header(resp, cors_headers[i].name, cors_headers[i].value);
  } else {
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html");
  }
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void json_error(td_http_response *r, int status, const char *msg) {
  td_buf b;
  td_buf_init(&b);
  td_rest_error_json(msg, &b);
  r->status = status;
  r->body = td_buf_detach(&b, &r->len);
}

/* CORS preflight: 200 when Origin looks like http(s)://, else 400 (TF: FAILED_PRECONDITION). */
static void preflight(struct MHD_Connection *conn, td_http_response *r) {
  const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
  r->status = origin && (strstr(origin, "http://") || strstr(origin, "https://")) ? 200 : 400;
}

static _Thread_local struct MHD_Connection *current_conn; /* the request a handler runs for */
static _Thread_local request_ctx *current_rc;

const char *td_http_request_header(const char *name) {
  return current_conn ? MHD_lookup_connection_value(current_conn, MHD_HEADER_KIND, name) : NULL;
}

static void answer(td_http_server *srv, struct MHD_Connection *conn, const char *method, const char *url,
                   request_ctx *rc, td_http_response *r) {
  current_conn = conn;
  const char *encoding = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
  if (rc->received > srv->opt.max_request_bytes) {
    char msg[200];
    snprintf(msg, sizeof msg, "Request body of %zu bytes exceeds the limit of %zu bytes (--rest_api_max_request_bytes)",
             rc->received, srv->opt.max_request_bytes);
    json_error(r, 413, msg);
  } else if (!strcmp(method, "OPTIONS")) {
    preflight(conn, r);
  } else if (atomic_load(&srv->draining) && !strcmp(method, "GET") &&
             (!strcmp(url, "/readyz") || !strcmp(url, "/v2/health/ready"))) { /* V2: src/v2 */
    json_error(r, 503, "not ready: the server is shutting down");
  } else if (encoding && strstr(encoding, "gzip")) { /* TF Serving gunzips bodies */
    td_buf plain;
    td_buf_init(&plain);
    td_status st = {0};
    if (td_gunzip(rc->body.data, rc->body.len, srv->opt.max_request_bytes, &plain, &st) != TD_OK) {
      json_error(r, td_code_http_status(st.code), st.msg);
      td_buf_release(&plain);
    } else { /* the plain body replaces the compressed one: a deferred answer may still read it */
      if (!plain.data) td_buf_puts(&plain, "");
      td_bufpool_release(&rc->body);
      rc->body = plain;
      srv->rest(srv->ctx, method, url, rc->body.data, rc->body.len, r);
    }
  } else {
    if (!rc->body.data) td_buf_puts(&rc->body, ""); /* always a NUL-terminated body */
    srv->rest(srv->ctx, method, url, rc->body.data, rc->body.len, r);
  }
}

static int is_metrics_request(const td_http_server *srv, const char *method, const char *url) {
  return srv->opt.metrics_path && *srv->opt.metrics_path && !strcmp(method, "GET") &&
         !strcmp(url, srv->opt.metrics_path);
}

/* The Prometheus exposition of every metric (tfserving-api.md §6). */
static enum MHD_Result send_metrics(struct MHD_Connection *conn, const td_http_server *srv) {
  td_buf text;
  td_buf_init(&text);
  td_metrics_write_prometheus(td_metrics_global(), &text);
  size_t len;
  char *body = td_buf_detach(&text, &len);
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
  if (atomic_load(&srv->draining)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(conn, 200, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* Sizes the body buffer from Content-Length (when it is within the limit), so accumulating
 * the body copies each byte once instead of re-copying it at every doubling. */
static void reserve_body(struct MHD_Connection *conn, const td_http_server *srv, td_buf *body) {
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  char *end;
  unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
  if (cl && end != cl && n > 0 && n <= srv->opt.max_request_bytes) td_bufpool_reserve(body, (size_t)n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  td_http_server *srv = cls;
  request_ctx *rc = *con_cls;
  int first = !rc;
  if (first) { /* every request is counted until on_completed */
    rc = td_xcalloc(1, sizeof *rc);
    td_buf_init(&rc->body);
    *con_cls = rc;
    atomic_fetch_add(&srv->inflight, 1);
    touch(srv);
    enum MHD_Result refused; /* client certificate and bearer token, before any body is read */
    int needs_token = is_metrics_request(srv, method, url) ? srv->opt.auth_metrics : td_route_is_rest_path(url);
    if (!td_http_authorize(srv->opt.tls, srv->opt.auth, conn, url, needs_token, &refused))
      return refused;
  }
  if (is_metrics_request(srv, method, url)) {
    if (*upload_data_size) { /* drop any body */
      *upload_data_size = 0;
      return MHD_YES;
    }
    return send_metrics(conn, srv);
  }
  int is_rest = td_route_is_rest_path(url);
  if (!is_rest) { /* libevent's default 404, body irrelevant */
    if (*upload_data_size) { /* drop the body */
      *upload_data_size = 0;
      return MHD_YES;
    }
    static const char not_found[] = "<html><body>404 Not Found</body></html>";
    td_http_response r = {.status = 404, .body = td_xstrdup(not_found), .len = sizeof not_found - 1};
    return send_response(conn, srv, 0, &r);
  }
  if (first) return MHD_YES; /* the body (if any) comes next */
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    if (!rc->body.cap) reserve_body(conn, srv, &rc->body); /* one allocation, not a doubling series */
    if (rc->received + n <= srv->opt.max_request_bytes) td_buf_append(&rc->body, upload_data, n);
    else td_bufpool_release(&rc->body); /* over the limit: drain the rest, answer 413 */
    rc->received += n;
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (rc->deferred) { /* called again after td_http_complete resumed the connection */
    pthread_mutex_lock(&rc->mu);
    int ready = rc->ready && !rc->sent;
    rc->sent |= ready;
    pthread_mutex_unlock(&rc->mu);
    return ready ? send_response(conn, srv, 1, &rc->answer) : MHD_YES;
  }
  td_http_response r = {.status = 500};
  rc->srv = srv;
  rc->conn = conn;
  current_rc = rc;
  answer(srv, conn, method, url, rc, &r);
  current_conn = NULL;
  current_rc = NULL;
  if (!rc->deferred) return send_response(conn, srv, 1, &r);
  pthread_mutex_lock(&rc->mu); /* answered already (no batching, or a quick batch)? else wait suspended */
  if (rc->ready) {
    rc->sent = 1;
    pthread_mutex_unlock(&rc->mu);
    return send_response(conn, srv, 1, &rc->answer);
  }
  MHD_suspend_connection(conn);
  rc->suspended = 1;
  pthread_mutex_unlock(&rc->mu);
  return MHD_YES;
}

td_http_deferred *td_http_defer(void) {
  request_ctx *rc = current_rc;
  if (!rc || rc->deferred) return NULL;
  pthread_mutex_init(&rc->mu, NULL);
  rc->deferred = 1;
  atomic_fetch_add(&rc->srv->deferred, 1);
  return (td_http_deferred *)rc;
}

void td_http_complete(td_http_deferred *d, td_http_response *r) {
  request_ctx *rc = (request_ctx *)d;
  td_http_server *srv = rc->srv;
  pthread_mutex_lock(&rc->mu);
  rc->answer = *r;
  r->body = NULL;
  rc->ready = 1;
  if (rc->suspended) MHD_resume_connection(rc->conn); /* MHD calls on_request again */
  pthread_mutex_unlock(&rc->mu);
  atomic_fetch_sub(&srv->deferred, 1);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode t) {
  td_http_server *srv = cls;
  request_ctx *rc = *con_cls;
  if (!rc) return;
  td_bufpool_release(&rc->body);
  if (rc->deferred) {
    if (!rc->sent) free(rc->answer.body); /* the connection ended before the answer went out */
    pthread_mutex_destroy(&rc->mu);
  }
  free(rc);
  *con_cls = NULL;
  touch(srv);
  atomic_fetch_sub(&srv->inflight, 1);
}

/* MHD's error log, rate-limited (an accept error storm is one line per interval). */
static void mhd_logger(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  long long dropped = 0;
  if (!td_log_limiter_allow(&mhd_log, LOG_BURST, LOG_INTERVAL_MS, &dropped)) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
  if (dropped) TD_LOG_WARN("HTTP: %s (%lld similar messages not logged)", line, dropped);
  else TD_LOG_WARN("HTTP: %s", line);
}

/* Accept policy: refuse a connection once descriptors leave their headroom. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len) {
  (void)cls;
  (void)addr;
  (void)len;
  if (td_fd_headroom_probe()) return MHD_YES;
  long long dropped = 0;
  if (td_log_limiter_allow(&refusal_log, LOG_BURST, LOG_INTERVAL_MS, &dropped))
    TD_LOG_WARN("HTTP: refused a connection: file descriptors nearly exhausted (raise the open files limit); "
                "%lld similar refusals not logged",
                dropped);
  return MHD_NO;
}

static unsigned connection_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000) return 1000000;
  return rl.rlim_cur < MIN_CONNECTION_LIMIT ? MIN_CONNECTION_LIMIT : (unsigned)rl.rlim_cur;
}

td_code td_http_start(const td_http_options *opt, td_http_handler rest, void *ctx, td_http_server **out,
                      td_status *st) {
  td_http_server *srv = td_xcalloc(1, sizeof *srv);
  srv->opt = *opt;
  srv->rest = rest;
  srv->ctx = ctx;
  if (srv->opt.num_threads <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    srv->opt.num_threads = 4 * (int)(cpus > 0 ? cpus : 1);
  }
  if (!srv->opt.max_request_bytes) srv->opt.max_request_bytes = DEFAULT_MAX_REQUEST_BYTES;
  if (srv->opt.connection_timeout_s <= 0) srv->opt.connection_timeout_s = DEFAULT_CONNECTION_TIMEOUT_S;
  if (opt->port <= 0 || opt->port > 65535) {
    free(srv);
    return td_status_set(st, TD_INVALID_ARGUMENT, "invalid HTTP/REST port %d", opt->port);
  }
  touch(srv);
  /* ITC: stop and quiesce wake the pool threads at once (else they sleep up to the timeout) */
  struct MHD_OptionItem tls_options[TD_HTTP_TLS_OPTIONS];
  td_http_tls_options(opt->tls, tls_options);
  srv->daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
          (opt->tls ? MHD_USE_TLS : 0),
      (uint16_t)opt->port,
      accept_policy, srv, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL, /* first, as MHD asks */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_BYTES, /* big bodies in few reads */
      MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->opt.num_threads, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)srv->opt.connection_timeout_s, MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
      MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
  if (!srv->daemon) {
    free(srv);
    return td_status_set(st, TD_UNAVAILABLE, "Failed to start HTTP Server on port %d (in use?%s)", opt->port,
                         opt->tls ? " or the key and certificate of --rest_ssl_config_file are not a valid pair" : "");
  }
  *out = srv;
  return TD_OK;
}

void td_http_drain_begin(td_http_server *s) {
  if (!s || atomic_exchange(&s->draining, 1)) return;
  touch(s);
  MHD_socket lfd = MHD_quiesce_daemon(s->daemon);
  if (lfd == MHD_INVALID_SOCKET) return;
  /* connections the kernel already completed for us are served, then the socket closes */
  fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    int c = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    MHD_add_connection(s->daemon, c, (struct sockaddr *)&ss, len); /* closes c when it fails */
  }
  close(lfd);
}

int td_http_quiet(const td_http_server *s, int64_t quiet_ms) {
  if (!s) return 1;
  td_http_server *m = (td_http_server *)s; /* atomics are read-only here */
  return atomic_load(&m->inflight) == 0 && now_ns() - atomic_load(&m->last_activity_ns) >= quiet_ms * 1000000;
}

void td_http_stop_by(td_http_server *s, int64_t deadline_ns) {
  if (!s) return;
  td_http_drain_begin(s);
  while (atomic_load(&s->inflight) > 0 && deadline_ns && now_ns() < deadline_ns) {
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
  if (atomic_load(&s->inflight) > 0 && deadline_ns)
    TD_LOG_WARN("HTTP drain deadline reached: closing %d request(s) still running", atomic_load(&s->inflight));
  /* MHD must not stop with a connection suspended: deferred answers come from batches already
   * queued, so they arrive; wait for them (and for their resumed connections to be served). */
  for (int64_t waited_ms = 0; atomic_load(&s->deferred) > 0; waited_ms += 10) {
    if (waited_ms && waited_ms % 5000 == 0)
      TD_LOG_WARN("HTTP stop: waiting for %d deferred answer(s)", atomic_load(&s->deferred));
    struct timespec ts = {0, 10 * 1000000};
    nanosleep(&ts, NULL);
  }
  MHD_stop_daemon(s->daemon); /* closes the idle keep-alive connections too */
  free(s);
}

void td_http_stop(td_http_server *s) { td_http_stop_by(s, 0); }
