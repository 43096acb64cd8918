/* http_auth.c — TLS options and per-request authority for the HTTP/REST port (see
 * http_auth.h). Invariants: a refusal is queued only on a request's first callback (no body
 * read), with "Connection: close" since the unread body cannot be skipped. */
#include "http/http_auth.h"

#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "http/rest_json.h"
#include "util/buf.h"

/* Paths that need no token (Kubernetes probes, also V2's; the metrics path is answered before). */
static const char *const open_paths[] = {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"};

void td_http_tls_options(const td_tls_config *tls, struct MHD_OptionItem items[TD_HTTP_TLS_OPTIONS]) {
  int k = 0;
  if (tls) {
    items[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, tls->server_key};
    items[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, tls->server_cert};
    if (tls->custom_ca && *tls->custom_ca) /* MHD then asks clients for a certificate */
      items[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, tls->custom_ca};
  }
  items[k] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

/* The connection's client certificate chain verifies against the trusted CA. */
static int client_cert_ok(struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (!ci || !ci->tls_session) return 0;
  gnutls_session_t tls = (gnutls_session_t)ci->tls_session;
  unsigned n = 0, status = 0;
  if (!gnutls_certificate_get_peers(tls, &n) || n == 0) return 0;
  return gnutls_certificate_verify_peers2(tls, &status) == GNUTLS_E_SUCCESS && status == 0;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *msg, int bearer) {
  td_buf b;
  td_buf_init(&b);
  td_rest_error_json(msg, &b);
  size_t len;
  char *body = td_buf_detach(&b, &len);
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  if (bearer) MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  enum MHD_Result ret = MHD_queue_response(conn, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static int is_open_path(const char *url) {
  for (size_t i = 0; i < sizeof open_paths / sizeof open_paths[0]; i++)
    if (!strcmp(url, open_paths[i])) return 1;
  return 0;
}

int td_http_authorize(const td_tls_config *tls, const td_auth *auth, struct MHD_Connection *conn, const char *url,
                      int needs_token, enum MHD_Result *ret) {
  if (tls && tls->client_verify && !client_cert_ok(conn)) {
    *ret = refuse(conn, MHD_HTTP_FORBIDDEN,
                  "A client certificate signed by the server's custom_ca is required (client_verify)", 0);
    return 0;
  }
  if (auth && needs_token && !is_open_path(url)) {
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || !td_auth_check_bearer(auth, h, strlen(h))) {
      *ret = refuse(conn, MHD_HTTP_UNAUTHORIZED,
                    "Missing or invalid bearer token (send the header \"Authorization: Bearer <token>\")", 1);
      return 0;
    }
  }
  return 1;
}
