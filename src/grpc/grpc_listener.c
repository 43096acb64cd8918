/* grpc_listener.c — accept loop of the gRPC port (see grpc_listener.h).
 *
 * Invariants: only the accept thread accepts and calls grpc_server_add_channel_from_fd; stop
 * wakes it through a pipe and joins it, so no connection is handed over after stop returns.
 * Accepted sockets are non-blocking and close-on-exec (what gRPC's endpoint expects), TCP ones
 * with TCP_NODELAY as gRPC sets them.
 */
#define _GNU_SOURCE /* accept4, pthread_setname_np */
#include "grpc/grpc_listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "util/conn_guard.h"
#include "util/log.h"
#include "util/mem.h"

#define MAX_FDS 4
#define ACCEPT_BATCH 64 /* connections taken per wake-up before polling again */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
#define LOG_BURST 3
#define LOG_INTERVAL_MS 10000

struct td_grpc_listener {
  grpc_server *server;
  grpc_server_credentials *creds;
  int fds[MAX_FDS];
  int n;
  int wake[2];
  int spare; /* a reserved descriptor, given up to shed a connection on EMFILE */
  char *unix_path;
  pthread_t thread;
  int started;
};

static td_log_limiter refusal_log = TD_LOG_LIMITER_INIT;
static td_log_limiter error_log = TD_LOG_LIMITER_INIT;

static int set_common_options(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
}

static int bind_listen(int family, const struct sockaddr *addr, socklen_t len, int v6only) {
  int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  if (family != AF_UNIX) set_common_options(fd);
  if (bind(fd, addr, len) != 0 || listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return 0;
}

td_code td_grpc_listen_tcp(const char *host, int port, int *fd, int *bound_port, td_status *st) {
  *fd = -1;
  int wildcard = !host || !*host || !strcmp(host, "0.0.0.0") || !strcmp(host, "::") || !strcmp(host, "[::]");
  if (wildcard) { /* like gRPC: [::] dual-stack, else 0.0.0.0 */
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
    *fd = bind_listen(AF_INET6, (struct sockaddr *)&a6, sizeof a6, 0);
    if (*fd < 0 && errno != EADDRINUSE && errno != EACCES) {
      struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = INADDR_ANY};
      *fd = bind_listen(AF_INET, (struct sockaddr *)&a4, sizeof a4, 0);
    }
  } else {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    if (getaddrinfo(host, service, &hints, &res) == 0) {
      for (struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next)
        *fd = bind_listen(ai->ai_family, ai->ai_addr, ai->ai_addrlen, 1);
      freeaddrinfo(res);
    }
  }
  if (*fd < 0)
    return td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server to %s:%d (%s)",
                         wildcard ? "0.0.0.0" : host, port, strerror(errno));
  *bound_port = local_port(*fd);
  return TD_OK;
}

td_code td_grpc_listen_unix(const char *path, int *fd, td_status *st) {
  *fd = -1;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof a.sun_path)
    return td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server to unix:%s (path too long)", path);
  memcpy(a.sun_path, path, strlen(path) + 1);
  struct stat sb;
  if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) unlink(path); /* a stale socket, as gRPC does */
  *fd = bind_listen(AF_UNIX, (struct sockaddr *)&a, sizeof a, 0);
  if (*fd < 0) return td_status_set(st, TD_UNAVAILABLE, "Could not bind gRPC server to unix:%s (%s)", path, strerror(errno));
  return TD_OK;
}

static void log_refusal(int fd) {
  long long dropped = 0;
  if (td_log_limiter_allow(&refusal_log, LOG_BURST, LOG_INTERVAL_MS, &dropped))
    TD_LOG_WARN("gRPC: refused a connection: file descriptors nearly exhausted (fd %d; raise the open files "
                "limit); %lld similar refusals not logged",
                fd, dropped);
}

static void log_accept_error(int err, int backoff_ms) {
  long long dropped = 0;
  if (td_log_limiter_allow(&error_log, LOG_BURST, LOG_INTERVAL_MS, &dropped))
    TD_LOG_WARN("gRPC: accept failed: %s; retrying in %d ms; %lld similar errors not logged", strerror(err),
                backoff_ms, dropped);
}

/* Out of descriptors: give up the spare one to take the oldest queued connection and close it
 * (its client sees a reset instead of hanging), then reserve the spare again. */
static void shed_one(td_grpc_listener *l, int lfd) {
  if (l->spare < 0) return;
  close(l->spare);
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c >= 0) close(c);
  l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Takes up to ACCEPT_BATCH queued connections from lfd (all of them when drain). Returns a
 * back-off in ms (0 = none) after a resource error. */
static int accept_ready(td_grpc_listener *l, int lfd, int drain) {
  for (int k = 0; drain || k < ACCEPT_BATCH; k++) {
    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      int e = errno;
      if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINVAL || e == EBADF) return 0;
      if (e == EMFILE || e == ENFILE) shed_one(l, lfd);
      return -e; /* a resource error: caller backs off */
    }
    if (!td_fd_headroom_ok(c)) {
      log_refusal(c);
      close(c);
      continue;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* fails harmlessly on unix sockets */
    grpc_server_add_channel_from_fd(l->server, c, l->creds);   /* the transport owns c now */
  }
  return 0;
}

static void *accept_main(void *arg) {
  td_grpc_listener *l = arg;
  struct pollfd p[MAX_FDS + 1];
  p[0] = (struct pollfd){.fd = l->wake[0], .events = POLLIN};
  for (int i = 0; i < l->n; i++) p[i + 1] = (struct pollfd){.fd = l->fds[i], .events = POLLIN};
  int backoff_ms = 0;
  for (;;) {
    /* while backing off only the wake pipe is watched: a full backlog stays readable */
    int r = poll(p, backoff_ms ? 1 : (nfds_t)l->n + 1, backoff_ms ? backoff_ms : -1);
    if (r < 0 && errno != EINTR) break;
    if (p[0].revents) break; /* stop */
    int retry_all = backoff_ms > 0;
    int err = 0;
    for (int i = 0; i < l->n; i++) {
      if (!retry_all && !(r > 0 && p[i + 1].revents)) continue;
      int e = accept_ready(l, l->fds[i], 0);
      if (e) err = -e;
    }
    if (err) {
      backoff_ms = backoff_ms ? backoff_ms * 2 : BACKOFF_MIN_MS;
      if (backoff_ms > BACKOFF_MAX_MS) backoff_ms = BACKOFF_MAX_MS;
      log_accept_error(err, backoff_ms);
    } else {
      backoff_ms = 0;
    }
  }
  for (int i = 0; i < l->n; i++) { /* drain: connections made before the stop are served */
    accept_ready(l, l->fds[i], 1);
    close(l->fds[i]);
  }
  return NULL;
}

td_grpc_listener *td_grpc_listener_start(grpc_server *server, const int *fds, int n, const char *unix_path) {
  td_grpc_listener *l = td_xcalloc(1, sizeof *l);
  l->server = server;
  l->creds = grpc_insecure_server_credentials_create();
  l->n = n < MAX_FDS ? n : MAX_FDS;
  memcpy(l->fds, fds, (size_t)l->n * sizeof *fds);
  l->unix_path = unix_path && *unix_path ? td_xstrdup(unix_path) : NULL;
  l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (pipe2(l->wake, O_CLOEXEC) != 0) l->wake[0] = l->wake[1] = -1;
  l->started = l->wake[0] >= 0 && pthread_create(&l->thread, NULL, accept_main, l) == 0;
  if (l->started) pthread_setname_np(l->thread, "td-grpc-accept");
  else TD_LOG_ERROR("gRPC: could not start the accept thread");
  return l;
}

void td_grpc_listener_stop(td_grpc_listener *l) {
  if (!l) return;
  if (l->started) {
    char b = 1;
    ssize_t ignored = write(l->wake[1], &b, 1);
    (void)ignored;
    pthread_join(l->thread, NULL);
  } else {
    for (int i = 0; i < l->n; i++) close(l->fds[i]);
  }
  if (l->wake[0] >= 0) {
    close(l->wake[0]);
    close(l->wake[1]);
  }
  if (l->spare >= 0) close(l->spare);
  if (l->unix_path) unlink(l->unix_path);
  free(l->unix_path);
  grpc_server_credentials_release(l->creds);
  free(l);
}
