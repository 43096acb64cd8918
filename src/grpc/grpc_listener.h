/* grpc_listener.h — the gRPC port's own listening sockets and accept thread (internal to
 * src/grpc). gRPC core 1.51's listener gives up for good on EMFILE (and logs in a loop), so
 * tensord accepts connections itself and hands each one to the server with
 * grpc_server_add_channel_from_fd:
 *   - a connection is kept only while descriptors stay in headroom (util/conn_guard.h), else
 *     closed at once (refusals logged, rate-limited);
 *   - accept errors (EMFILE, ENFILE, ENOBUFS, ...) back off 10 ms → 1 s, shedding one queued
 *     connection per try through a spare descriptor, and are logged rate-limited;
 *   - stop (drain) first accepts what is already queued, then closes the sockets: clients
 *     that connected before the drain are served, later ones are refused.
 *
 * Ownership: the listener owns the sockets (and unlinks its unix socket path at stop); it
 * borrows the grpc_server, which must be started before and shut down after it.
 * Thread affinity: bind / start / stop from the control thread; one accept thread inside.
 */
#ifndef TD_GRPC_GRPC_LISTENER_H
#define TD_GRPC_GRPC_LISTENER_H

#include <grpc/grpc.h>

#include "util/status.h"

typedef struct td_grpc_listener td_grpc_listener;

/* A listening TCP socket on host:port (NULL, "" or "0.0.0.0": every address, IPv6 dual-stack
 * when available). *bound_port gets the port (useful with 0). UNAVAILABLE when it cannot bind. */
td_code td_grpc_listen_tcp(const char *host, int port, int *fd, int *bound_port, td_status *st) TD_MUST_CHECK;
/* A listening unix socket at path (a stale socket file there is replaced). */
td_code td_grpc_listen_unix(const char *path, int *fd, td_status *st) TD_MUST_CHECK;

/* Starts accepting on fds[0..n) (ownership passes to the listener; n <= 4). unix_path (or
 * NULL) is unlinked at stop. The calling thread should block signals (the thread inherits). */
td_grpc_listener *td_grpc_listener_start(grpc_server *server, const int *fds, int n, const char *unix_path);
/* Accepts the connections already queued, closes the sockets, joins. NULL is a no-op. */
void td_grpc_listener_stop(td_grpc_listener *l);

#endif
