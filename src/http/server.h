/* server.h — the HTTP/1.1 front end (libmicrohttpd): transport rules of tfserving-api.md §1.1.
 *
 * Paths matching (?i)/v1/.* go to the REST handler with the whole request body; anything else
 * gets a plain 404. Every REST response carries `Content-Type: application/json` and, with
 * CORS on, the three Access-Control-* headers; CORS preflight (OPTIONS) is answered here.
 * Bodies above max_request_bytes are drained and answered 413 with a JSON error; a gzip
 * Content-Encoding is answered 501 (not supported yet).
 * With metrics_path set, GET of exactly that path (checked first) answers the Prometheus
 * metrics text.
 *
 * Threads: a pool of num_threads libmicrohttpd threads (epoll), each running handlers for its
 * own connections, so the handler must be thread-safe. Ownership: the server borrows the
 * handler context; td_http_stop waits for running handlers and frees the server.
 *
 * Authority (http_auth.h): with tls the port speaks HTTPS (client certificates verified with
 * client_verify); with auth, REST paths need a bearer token (401), probes and metrics stay open.
 *
 * Connections: closed after connection_timeout_s without traffic (reading a request, or idle
 * between keep-alive requests; a Content-Length the body never reaches ends the same way);
 * at most RLIMIT_NOFILE of them, and none once descriptors leave their headroom
 * (util/conn_guard.h); MHD's log lines are rate-limited.
 *
 * Graceful drain: td_http_drain_begin (no new connections — the ones already queued are still
 * served —, answers carry "Connection: close", GET /readyz answers 503), td_http_quiet until
 * the requests received so far are answered, td_http_stop_by(deadline) waits for the rest
 * until the deadline, then closes every connection, idle keep-alive ones included.
 */
#ifndef TD_HTTP_SERVER_H
#define TD_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "util/auth.h"
#include "util/status.h"

typedef struct td_http_server td_http_server;

/* What a handler answers. body is heap (free()) or NULL; the server takes it. */
typedef struct td_http_response {
  int status;
  char *body;
  size_t len;
  const char *content_type; /* static; NULL: application/json */
  const char *extra_header; /* static name of one more response header (NULL: none) ... */
  char extra_value[32];     /* ... and its value */
} td_http_response;

/* Inside a handler call: the current request's header `name` (case-insensitive), or NULL. */
const char *td_http_request_header(const char *name);

/* Handles one REST request. body is NUL-terminated (len excludes the NUL). Must always fill
 * out->status (and usually a JSON body). */
typedef void (*td_http_handler)(void *ctx, const char *method, const char *path, const char *body, size_t len,
                                td_http_response *out);

/* Deferred answers. Inside a td_http_handler call, td_http_defer() takes the request's answer
 * out of the handler's hands: the handler returns without filling *out, and the answer is
 * whatever td_http_complete(d, r) gets — called exactly once, from any thread, even before the
 * handler returned (it takes r->body). Meanwhile the connection is suspended and holds no server
 * thread. NULL outside a handler call (or when called twice). td_http_stop waits for every
 * deferred answer. */
typedef struct td_http_deferred td_http_deferred;
td_http_deferred *td_http_defer(void);
void td_http_complete(td_http_deferred *d, td_http_response *r);

typedef struct td_http_options {
  int port;
  int num_threads;          /* <= 0: 4 x online CPUs (TF Serving's default) */
  size_t max_request_bytes; /* 0: 64 MiB */
  int enable_cors;
  int connection_timeout_s; /* a connection without traffic for this long is closed; 0: 30 s */
  const char *metrics_path; /* GET of exactly this path answers the Prometheus text of
                               td_metrics_global() (text/plain; version=0.0.4); NULL or "": off */
  const td_tls_config *tls; /* --rest_ssl_config_file (borrowed, outlives the server); NULL: HTTP */
  const td_auth *auth;      /* --auth_token_file (borrowed); NULL: no token needed */
  int auth_metrics;         /* --metrics_require_auth: the metrics path needs the token too */
} td_http_options;

/* Binds 0.0.0.0:port and starts serving. UNAVAILABLE when the port cannot be bound. */
td_code td_http_start(const td_http_options *opt, td_http_handler rest, void *ctx, td_http_server **out,
                      td_status *st) TD_MUST_CHECK;
/* Starts draining (see above). NULL is fine; a second call is a no-op. */
void td_http_drain_begin(td_http_server *s);
/* 1 when no request is in flight and none started or ended for quiet_ms (NULL: 1). */
int td_http_quiet(const td_http_server *s, int64_t quiet_ms);
/* Drains (if not yet), waits until no request is in flight or deadline_ns (CLOCK_MONOTONIC ns;
 * 0 = no wait), then stops: connections closed, running handlers joined, freed. NULL is fine. */
void td_http_stop_by(td_http_server *s, int64_t deadline_ns);
/* td_http_stop_by(s, 0). */
void td_http_stop(td_http_server *s);

#endif
