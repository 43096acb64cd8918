/* grpc_server.h — TF Serving's gRPC front end on gRPC core's C API:
 *   /tensorflow.serving.PredictionService/{Predict, Classify, Regress, MultiInference, GetModelMetadata}
 *   /tensorflow.serving.ModelService/{GetModelStatus, HandleReloadConfigRequest}
 *   /grpc.health.v1.Health/{Check, Watch} (grpc_health.h: follows readiness and the drain)
 * Any other method is answered UNIMPLEMENTED.
 * Authority (grpc_auth.h): optional TLS (client certificates verified with client_verify),
 * optional bearer token for every method but grpc.health.v1, the reload switch, and NUL /
 * control bytes in model names refused before any lookup.
 *
 * The server owns N worker threads, each polling its own completion queue. A worker keeps one
 * outstanding request per method on its queue; when a call arrives it first re-arms that
 * request, then handles the call synchronously (translation in grpc_handlers.c → td_api), and
 * starts the reply batch, whose completion frees the call. A call whose deadline has already
 * passed when its worker picks it up is answered DEADLINE_EXCEEDED without running.
 *
 * Messages are unlimited in size both ways (TF Serving uses INT32_MAX) and silent peers are
 * found by keepalive pings (60 s, 20 s timeout, also without calls) unless the channel
 * arguments say otherwise (grpc.max_connection_idle_ms, grpc.max_connection_age_ms, ... are
 * honoured as given). Connections are accepted by tensord's own listener (grpc_listener.h):
 * fd headroom kept, accept errors backed off and logged rate-limited.
 * Signals are blocked in every thread gRPC or this server creates.
 *
 * Graceful drain: td_grpc_server_drain_begin (health NOT_SERVING, no new connections; the
 * connections already queued are still taken), td_grpc_server_quiet until the calls received
 * so far are answered, then td_grpc_server_stop_by(deadline): GOAWAY, running calls finish
 * until the deadline, the rest are cancelled.
 *
 * Ownership: the server borrows `api` (and the serving map behind it), which must outlive it;
 * options are copied at start. Thread affinity: start and stop from one control thread;
 * handlers run on the worker threads and call td_api concurrently.
 */
#ifndef TD_GRPC_GRPC_SERVER_H
#define TD_GRPC_GRPC_SERVER_H

#include <stdint.h>

#include "api/api.h"
#include "util/auth.h"
#include "util/status.h"

typedef struct td_grpc_server td_grpc_server;

typedef struct td_grpc_options {
  const char *host;              /* NULL = "0.0.0.0" */
  int port;                      /* TCP port; 0 = an ephemeral port (see td_grpc_server_port); < 0 = no TCP */
  const char *socket_path;       /* NULL or "" = none; else also listen on unix:<path> */
  int num_threads;               /* worker threads (at most 1024); <= 0 = number of CPUs (at least 2) */
  const char *channel_arguments; /* --grpc_channel_arguments "k=v,k=v" (int when the value parses
                                    as one, else string); NULL or "" = none */
  int tensor_content_outputs;    /* --enable_serialization_as_tensor_content */
  /* --ssl_config_file (borrowed; NULL = plaintext). With TLS gRPC core's own listener serves the
   * port (gRPC 1.51 takes hand-accepted connections only with insecure credentials), so the
   * fd-headroom accept loop and the drain's early listener close apply to plaintext only. */
  const td_tls_config *tls;
  const td_auth *auth;          /* --auth_token_file (borrowed; NULL = no token needed) */
  int disable_model_management; /* --enable_model_management=false: reload → PERMISSION_DENIED */
} td_grpc_options;

/* Binds, starts the workers, and returns once the server accepts calls. Errors:
 * INVALID_ARGUMENT for bad channel arguments or no listening address, UNAVAILABLE when an
 * address cannot be bound ("Could not bind gRPC server to <addr> (<reason>)"). */
td_code td_grpc_server_start(td_api *api, const td_grpc_options *opt, td_grpc_server **out,
                             td_status *st) TD_MUST_CHECK;
/* The TCP port actually bound (useful with port 0); 0 when not listening on TCP. */
int td_grpc_server_port(const td_grpc_server *s);
/* Starts draining: health answers NOT_SERVING, the listening sockets close (after taking the
 * connections already queued). Calls on open connections are still served. NULL is a no-op. */
void td_grpc_server_drain_begin(td_grpc_server *s);
/* 1 when no call is being handled and none arrived or finished for quiet_ms (NULL: 1). */
int td_grpc_server_quiet(const td_grpc_server *s, int64_t quiet_ms);
/* Stops: drain_begin if not yet, GOAWAY to every connection, calls running finish until
 * deadline_ns (CLOCK_MONOTONIC ns; 0 = none may), the rest are cancelled; joins the workers
 * and frees everything. NULL is a no-op. */
void td_grpc_server_stop_by(td_grpc_server *s, int64_t deadline_ns);
/* td_grpc_server_stop_by(s, 0): cancels the calls in flight at once. */
void td_grpc_server_stop(td_grpc_server *s);

#endif
