/* grpc_server.h — TF Serving's gRPC front end on gRPC core's C API:
 *   /tensorflow.serving.PredictionService/{Predict, Classify, Regress, MultiInference, GetModelMetadata}
 *   /tensorflow.serving.ModelService/{GetModelStatus, HandleReloadConfigRequest}
 * Any other method is answered UNIMPLEMENTED.
 *
 * The server owns N worker threads, each polling its own completion queue. A worker keeps one
 * outstanding request per method on its queue; when a call arrives it first re-arms that
 * request, then handles the call synchronously (translation in grpc_handlers.c → td_api), and
 * starts the reply batch, whose completion frees the call. A call whose deadline has already
 * passed when its worker picks it up is answered DEADLINE_EXCEEDED without running.
 *
 * Messages are unlimited in size both ways (TF Serving uses INT32_MAX) unless the channel
 * arguments say otherwise. Signals are blocked in every thread gRPC or this server creates.
 *
 * Ownership: the server borrows `api` (and the serving map behind it), which must outlive it;
 * options are copied at start. Thread affinity: start and stop from one control thread;
 * handlers run on the worker threads and call td_api concurrently.
 */
#ifndef TD_GRPC_GRPC_SERVER_H
#define TD_GRPC_GRPC_SERVER_H

#include <stdint.h>

#include "api/api.h"
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
} td_grpc_options;

/* Binds, starts the workers, and returns once the server accepts calls. Errors:
 * INVALID_ARGUMENT for bad channel arguments or no listening address, UNAVAILABLE when an
 * address cannot be bound ("Could not bind gRPC server to <addr>"). */
td_code td_grpc_server_start(td_api *api, const td_grpc_options *opt, td_grpc_server **out,
                             td_status *st) TD_MUST_CHECK;
/* The TCP port actually bound (useful with port 0); 0 when not listening on TCP. */
int td_grpc_server_port(const td_grpc_server *s);
/* Stops accepting calls, cancels those in flight, joins the workers and frees everything.
 * NULL is a no-op. */
void td_grpc_server_stop(td_grpc_server *s);

#endif
