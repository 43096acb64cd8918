/* server.c — tensorflow_model_server's main for tensord (see server.h).
 *
 * Order of life: parse flags → SIGINT/SIGTERM handler → serving map + manager (the config
 * file or the single model; first load attempts) → wait until every model has an AVAILABLE
 * version → HTTP/REST → wait for a signal → drain (below) → manager (retires versions) →
 * serving map.
 * Drain (SIGTERM/SIGINT): both ports stop accepting and report not ready (/readyz 503, gRPC
 * health NOT_SERVING); the requests already received are answered (waiting until both fronts
 * were quiet for DRAIN_QUIET_MS, at most half of --drain_timeout_seconds), then gRPC sends
 * GOAWAY and both wait for what still runs until the deadline, cancel the rest and close every
 * connection; exit 0. A second signal cuts the wait short.
 * Signals: libraries start threads before main (OpenBLAS, OpenMP), so a process signal may
 * land on any thread; the handler only writes the signal number to a self-pipe, which the
 * main thread polls.
 */
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/manager.h"
#include "core/servables.h"
#include "core/warmup.h"
#include "engine/trace.h"
#include "grpc/grpc_server.h"
#include "grpc/grpc_warmup.h"
#include "http/rest_handlers.h"
#include "http/server.h"
#include "metrics/metrics.h"
#include "proto/serving.h"
#include "proto/textformat.h"
#include "server/flags.h"
#include "server/ssl_config.h"
#include "util/auth.h"
#include "util/conn_guard.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#define EXIT_STARTUP_FAILURE 255 /* TF Serving returns -1 from main */

/* --saved_model_tags "a,b" → {"a","b"} (empty parts dropped). */
typedef struct tag_list {
  char *storage;
  const char *tags[16];
  int n;
} tag_list;

static void split_tags(const char *text, tag_list *t) {
  t->storage = td_xstrdup(text);
  t->n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(t->storage, ",", &save); tok && t->n < 16; tok = strtok_r(NULL, ",", &save))
    t->tags[t->n++] = tok;
}

static int usage_error(const char *program, const char *msg) {
  fprintf(stderr, "%s\n", msg);
  td_flags_usage(stderr, program);
  return EXIT_STARTUP_FAILURE;
}

/* On stderr, where TF Serving's own tests read it. */
static int startup_failure(const char *code_name, const char *msg) {
  fprintf(stderr, "Failed to start server. Error: %s: %s\n", code_name, msg);
  fflush(stderr);
  return EXIT_STARTUP_FAILURE;
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t ignored = write(signal_pipe[1], &b, 1);
  (void)ignored;
  errno = saved;
}

static int install_signal_handlers(void) {
  if (pipe(signal_pipe) != 0) return -1;
  for (int i = 0; i < 2; i++) fcntl(signal_pipe[i], F_SETFD, FD_CLOEXEC);
  fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return -1;
  signal(SIGPIPE, SIG_IGN);
  return 0;
}

/* The signal number once SIGINT/SIGTERM arrived, 0 after timeout_ms (< 0: wait forever). */
static int wait_signal(int timeout_ms) {
  struct pollfd p = {.fd = signal_pipe[0], .events = POLLIN};
  int r = poll(&p, 1, timeout_ms);
  unsigned char b = 0;
  if (r > 0 && read(signal_pipe[0], &b, 1) == 1) return b;
  return 0;
}

/* Waits until the model has an AVAILABLE version (TD_OK), a version failed to load
 * (TD_UNKNOWN, message in st, TF's text), or a shutdown signal arrived (TD_CANCELLED). */
static td_code wait_available(td_servables *s, const char *name, td_status *st) {
  for (int waited_ms = 0;; waited_ms += 100) {
    int64_t v;
    if (td_servables_available(s, name, &v, 1) > 0) return TD_OK;
    td_version_status *vs = NULL;
    int n = 0;
    td_status ignore = {0};
    if (td_servables_status(s, name, -1, &vs, &n, &ignore) == TD_OK)
      for (int i = 0; i < n; i++)
        if (vs[i].state == TD_VERSION_END && vs[i].error_code != TD_OK) {
          td_status_set(st, TD_UNKNOWN,
                        "1 model(s) did not become available: {{{name: %s version: %lld} due to error: %s: %s}, }",
                        name, (long long)vs[i].version, td_code_name(vs[i].error_code), vs[i].error_message);
          free(vs);
          return TD_UNKNOWN;
        }
    free(vs);
    if (waited_ms == 0) TD_LOG_INFO("Waiting for model %s to become available ...", name);
    if (wait_signal(100) > 0) return td_status_set(st, TD_CANCELLED, "shutdown requested");
  }
}

/* Every configured model (TF Serving serves nothing until all are AVAILABLE). */
static td_code wait_all_available(td_manager *m, td_servables *s, td_status *st) {
  size_t n = 0;
  char **names = td_manager_model_names(m, &n);
  td_code code = TD_OK;
  for (size_t i = 0; i < n; i++) {
    if (code == TD_OK) code = wait_available(s, names[i], st);
    free(names[i]);
  }
  free(names);
  return code;
}

#define DEFAULT_METRICS_PATH "/monitoring/prometheus/metrics"

/* Where the REST port serves Prometheus metrics: on by default at DEFAULT_METRICS_PATH (a
 * tensord default; TF Serving needs a config); --monitoring_config_file decides as in TF
 * (prometheus_config.enable, .path). *path: heap, NULL = off. */
static td_code metrics_path_of(const char *config_file, char **path, td_status *st) {
  *path = NULL;
  if (!config_file[0]) {
    *path = td_xstrdup(DEFAULT_METRICS_PATH);
    return TD_OK;
  }
  char *text;
  size_t len;
  TD_TRY(td_read_file(config_file, &text, &len, st));
  ProtobufCMessage *msg = NULL;
  td_code code = td_textformat_parse(&tensorflow__serving__monitoring_config__descriptor, text, len, &msg, st);
  free(text);
  if (code != TD_OK) return td_status_prefix(st, "Invalid --monitoring_config_file %s", config_file);
  const Tensorflow__Serving__MonitoringConfig *mc = (const Tensorflow__Serving__MonitoringConfig *)msg;
  const Tensorflow__Serving__PrometheusConfig *pc = mc->prometheus_config;
  if (pc && pc->enable) *path = td_xstrdup(pc->path && pc->path[0] ? pc->path : DEFAULT_METRICS_PATH);
  protobuf_c_message_free_unpacked(msg, NULL);
  return TD_OK;
}

/* The batch scheduler for --enable_batching (TF Serving's defaults, or the parameters file). */
static td_code batcher_of(const td_server_options *o, td_batcher **out, td_status *st) {
  *out = NULL;
  if (!o->enable_batching) {
    if (o->batching_parameters_file[0])
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "--batching_parameters_file is set but batching is not enabled (--enable_batching)");
    return TD_OK;
  }
  td_batching_params bp;
  td_batching_params_default(&bp);
  if (!o->batching_parameters_file[0])
    snprintf(bp.thread_pool_name, sizeof bp.thread_pool_name, "%s", "model_server_batch_threads");
  else if (td_batching_params_load(o->batching_parameters_file, &bp, st) != TD_OK)
    return td_status_prefix(st, "Invalid --batching_parameters_file %s", o->batching_parameters_file);
  TD_TRY(td_batcher_new(&bp, out, st));
  TD_LOG_INFO("Batching: max_batch_size %lld, batch_timeout_micros %lld, max_enqueued_batches %lld, "
              "num_batch_threads %lld",
              (long long)bp.max_batch_size, (long long)bp.batch_timeout_micros, (long long)bp.max_enqueued_batches,
              (long long)bp.num_batch_threads);
  return TD_OK;
}

typedef struct server_parts {
  td_servables *servables;
  td_manager *manager;
  td_api api;      /* REST */
  td_api grpc_api; /* the same, recording requests as GRPC */
  char *metrics_path;
  td_rest rest;
  td_http_server *http;
  td_grpc_server *grpc;
  td_batcher *batcher; /* --enable_batching, else NULL */
  tag_list tags;
  td_tls_config grpc_tls, rest_tls; /* --ssl_config_file / --rest_ssl_config_file (server_key NULL: off) */
  td_auth *auth;                    /* --auth_token_file, else NULL */
  td_metrics_model_filter metrics_filter;
} server_parts;

/* TLS material and tokens, read before anything listens (errors name the file, never its bytes). */
static td_code load_authority(const td_server_options *o, server_parts *p, td_status *st) {
  if (o->ssl_config_file[0]) TD_TRY(td_ssl_config_load(o->ssl_config_file, &p->grpc_tls, st));
  if (o->rest_ssl_config_file[0]) TD_TRY(td_ssl_config_load(o->rest_ssl_config_file, &p->rest_tls, st));
  if (o->metrics_require_auth && !o->auth_token_file[0])
    return td_status_set(st, TD_INVALID_ARGUMENT, "--metrics_require_auth needs --auth_token_file");
  if (o->auth_token_file[0]) {
    TD_TRY(td_auth_load(o->auth_token_file, &p->auth, st));
    TD_LOG_INFO("Bearer-token auth on both ports (%zu token(s) from %s)", td_auth_count(p->auth), o->auth_token_file);
  }
  if (!o->enable_model_management)
    TD_LOG_INFO("Model management off: HandleReloadConfigRequest and V2 repository load/unload are refused");
  return TD_OK;
}

/* Request metrics name only configured models (others are TD_METRICS_UNKNOWN_MODEL). */
static int metrics_model_known(void *ctx, const char *model) { return td_servables_has_model(ctx, model); }

#define DRAIN_QUIET_MS 250 /* both fronts idle this long: the requests sent before the drain are in */

static int64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Graceful drain of both fronts (see the top comment); returns the deadline for the stops. */
static int64_t drain(server_parts *p, int64_t timeout_s) {
  int64_t start = monotonic_ns(), deadline = start + (timeout_s > 0 ? timeout_s : 0) * 1000000000;
  TD_LOG_INFO("Draining: no new connections, answering the requests in flight (up to %lld s)", (long long)timeout_s);
  td_grpc_server_drain_begin(p->grpc);
  td_http_drain_begin(p->http);
  int64_t quiet_until = start + (deadline - start) / 2;
  while (monotonic_ns() < quiet_until &&
         !(td_grpc_server_quiet(p->grpc, DRAIN_QUIET_MS) && td_http_quiet(p->http, DRAIN_QUIET_MS)))
    if (wait_signal(10) > 0) { /* a second signal: stop waiting */
      TD_LOG_INFO("Second signal: stopping now");
      return monotonic_ns();
    }
  return deadline;
}

/* deadline_ns: until when running requests may finish (0 = stop at once). */
static void shutdown_parts(server_parts *p, int64_t deadline_ns) {
  td_grpc_server_stop_by(p->grpc, deadline_ns);
  td_batcher_flush(p->batcher); /* REST predicts waiting in a batch window run now: HTTP waits for them */
  td_http_stop_by(p->http, deadline_ns);
  td_metrics_set_model_filter(NULL); /* no request records any more; the serving map goes next */
  td_tls_config_release(&p->grpc_tls);
  td_tls_config_release(&p->rest_tls);
  td_auth_free(p->auth);
  td_batcher_free(p->batcher); /* no request is running any more */
  td_manager_free(p->manager);
  td_servables_free(p->servables);
  free(p->tags.storage);
  free(p->metrics_path);
}

static int serve(const td_server_options *o) {
  server_parts p = {0};
  split_tags(o->saved_model_tags, &p.tags);
  td_manager_options mo = {
      .poll_seconds = (int)o->file_system_poll_wait_seconds,
      .tags = p.tags.tags,
      .ntags = p.tags.n,
      .model = {.intra_op_threads = (int)(o->tensorflow_intra_op_parallelism ? o->tensorflow_intra_op_parallelism
                                                                              : o->tensorflow_session_parallelism),
                .prefer_tflite_model = o->prefer_tflite_model},
      .max_load_retries = (int)(o->max_num_load_retries > 0 ? o->max_num_load_retries : 0),
      .load_threads = (int)o->num_load_threads,
      .load_retry_interval_micros = o->load_retry_interval_micros,
      .allow_labels_for_unavailable = o->allow_version_labels_for_unavailable_models,
      .config_file = o->model_config_file[0] ? o->model_config_file : NULL,
      .config_poll_seconds = (int)o->model_config_file_poll_wait_seconds,
  };
  td_engine_set_intra_op_threads(mo.model.intra_op_threads);
  /* loads go through load metrics + warmup replay (core/warmup.h) */
  td_warmup_loader warmup = {.tags = p.tags.tags, .ntags = p.tags.n, .model = mo.model,
                             .enable_warmup = o->enable_model_warmup,
                             .iterations = (int)o->num_request_iterations_for_warmup,
                             .per_model_batching = o->enable_batching && o->enable_per_model_batching_parameters,
                             .replayer = {.fn = td_grpc_warmup_replay}}; /* records run as gRPC requests */
  td_model_loader loader = {.load = td_warmup_loader_load, .free = td_warmup_loader_free, .ctx = &warmup};
  mo.loader = &loader;
  p.servables = td_servables_new();
  p.manager = td_manager_new(p.servables, &mo);
  p.metrics_filter = (td_metrics_model_filter){.known = metrics_model_known, .ctx = p.servables};
  td_metrics_set_model_filter(&p.metrics_filter);
  td_status st = {0};
  int rc = 0;
  if (metrics_path_of(o->monitoring_config_file, &p.metrics_path, &st) != TD_OK ||
      batcher_of(o, &p.batcher, &st) != TD_OK || load_authority(o, &p, &st) != TD_OK) {
    rc = startup_failure(td_code_name(st.code), st.msg);
    goto done;
  }
  td_code sc = o->model_config_file[0] ? td_manager_apply_config_file(p.manager, o->model_config_file, &st)
                                        : td_manager_add_model(p.manager, o->model_name, o->model_base_path, &st);
  if (sc != TD_OK || td_manager_start(p.manager, &st) != TD_OK) {
    rc = startup_failure(td_code_name(st.code), st.msg);
    goto done;
  }
  td_code wc = wait_all_available(p.manager, p.servables, &st);
  if (wc == TD_CANCELLED) goto done;
  if (wc != TD_OK) {
    rc = startup_failure(td_code_name(st.code), st.msg);
    goto done;
  }

  p.api = (td_api){.servables = p.servables,
                   .batcher = p.batcher,
                   .manager = p.manager, /* KServe V2 repository load/unload */
                   .opt = {.enable_signature_method_name_check = o->enable_signature_method_name_check,
                           .front = TD_FRONT_REST,
                           .max_request_materialization_bytes = o->max_request_materialization_bytes,
                           .disable_model_management = !o->enable_model_management}};
  p.grpc_api = p.api;
  p.grpc_api.opt.front = TD_FRONT_GRPC;
  p.rest = (td_rest){.api = &p.api, .timeout_in_ms = o->rest_api_timeout_in_ms};
  td_grpc_options go = {
      .port = o->port ? (int)o->port : -1, /* 0 = no TCP (then --grpc_socket_path) */
      .socket_path = o->grpc_socket_path,
      .channel_arguments = o->grpc_channel_arguments,
      .tensor_content_outputs = o->enable_serialization_as_tensor_content,
      .num_threads = (int)o->grpc_max_threads,
      .tls = p.grpc_tls.server_key ? &p.grpc_tls : NULL,
      .auth = p.auth,
      .disable_model_management = !o->enable_model_management,
  };
  if (td_grpc_server_start(&p.grpc_api, &go, &p.grpc, &st) != TD_OK) {
    rc = startup_failure(td_code_name(st.code), st.msg);
    goto done;
  }
  if (o->port)
    TD_LOG_INFO("Running gRPC ModelServer at 0.0.0.0:%lld%s ...", (long long)o->port, go.tls ? " (TLS)" : "");
  if (o->grpc_socket_path[0]) TD_LOG_INFO("Running gRPC ModelServer at UNIX socket %s ...", o->grpc_socket_path);
  if (o->rest_api_port == o->port && o->rest_api_port != 0) {
    TD_LOG_ERROR("--rest_api_port cannot be same as --port. Please use a different port for HTTP/REST API. "
                 "Skipped exporting HTTP/REST API.");
  } else if (o->rest_api_port != 0) {
    td_http_options ho = {
        .port = (int)o->rest_api_port,
        .num_threads = (int)o->rest_api_num_threads,
        .max_request_bytes = (size_t)(o->rest_api_max_request_bytes > 0 ? o->rest_api_max_request_bytes : 0),
        .enable_cors = o->rest_api_enable_cors_support,
        .connection_timeout_s = (int)o->rest_api_connection_timeout_seconds,
        .metrics_path = p.metrics_path,
        .tls = p.rest_tls.server_key ? &p.rest_tls : NULL,
        .auth = p.auth,
        .auth_metrics = o->metrics_require_auth,
    };
    if (td_http_start(&ho, td_rest_handle, &p.rest, &p.http, &st) != TD_OK) {
      rc = startup_failure(td_code_name(st.code), st.msg);
      goto done;
    }
    TD_LOG_INFO("Exporting HTTP/REST API at:localhost:%lld%s ...", (long long)o->rest_api_port,
                ho.tls ? " (HTTPS)" : "");
    if (p.metrics_path) TD_LOG_INFO("Prometheus metrics at %s", p.metrics_path);
  } else {
    TD_LOG_INFO("--rest_api_port is 0: HTTP/REST API not exported");
  }

  int sig;
  while (!(sig = wait_signal(-1))) {
  }
  TD_LOG_INFO("Received signal %d (%s), shutting down", sig, strsignal(sig));
  int64_t deadline = drain(&p, o->drain_timeout_seconds);
  shutdown_parts(&p, deadline);
  TD_LOG_INFO("Drained; exiting");
  return 0;
done:
  shutdown_parts(&p, 0);
  return rc;
}

int td_server_main(int argc, char **argv) {
  const char *program = argc > 0 ? argv[0] : "tensord";
  td_server_options o;
  td_server_options_init(&o);
  td_status st = {0};
  if (td_flags_parse(argc - 1, argv + 1, &o, stderr, &st) != TD_OK) return usage_error(program, st.msg);
  if (o.help) {
    td_flags_usage(stdout, program);
    return 0;
  }
  if (o.version) {
    printf("TensorFlow ModelServer: %s\nTensorFlow Library: none (tensord's own engine)\n", TD_SERVER_VERSION);
    return 0;
  }
  if (!o.model_base_path[0] && !o.model_config_file[0])
    return usage_error(program, "--model_base_path (or --model_config_file) is required");
  if (o.port == 0 && !o.grpc_socket_path[0])
    return startup_failure("INVALID_ARGUMENT",
                           "At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.");

  if (install_signal_handlers() != 0) return startup_failure("INTERNAL", "could not install signal handlers");
  td_fd_raise_limit(); /* connections are bounded by fd headroom (util/conn_guard.h), not by a low soft limit */
  if (o.trace_file[0] && td_trace_open(o.trace_file, &st) != TD_OK) return startup_failure("INVALID_ARGUMENT", st.msg);
  int rc = serve(&o);
  td_trace_close(); /* --trace_file: every run has ended */
  return rc;
}
