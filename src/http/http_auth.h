/* http_auth.h — the HTTP/REST port's authority (internal to src/http): TLS options for
 * libmicrohttpd (GnuTLS) and the per-request checks server.c runs on a request's first
 * callback, before its body is read:
 *   - with client_verify, the connection's client certificate must verify against custom_ca
 *     (MHD only requests one), else 403 — for every path, probes and metrics included;
 *   - with a token file, REST paths need "Authorization: Bearer <token>", else 401 with
 *     TF Serving's {"error": "..."} body and "WWW-Authenticate: Bearer"; GET /healthz,
 *     /readyz and the metrics path stay open.
 * Thread safety: pure functions of their inputs; any MHD thread, concurrently.
 */
#ifndef TD_HTTP_HTTP_AUTH_H
#define TD_HTTP_HTTP_AUTH_H

#include <microhttpd.h>

#include "util/auth.h"

#define TD_HTTP_TLS_OPTIONS 4 /* items td_http_tls_options fills at most, MHD_OPTION_END included */

/* MHD_OPTION_HTTPS_MEM_KEY / _CERT (/ _TRUST with a CA) for tls (NULL: just the END item);
 * the strings are borrowed and must outlive the daemon. */
void td_http_tls_options(const td_tls_config *tls, struct MHD_OptionItem items[TD_HTTP_TLS_OPTIONS]);

/* Checks a request of url on conn. Returns 1 to go on; 0 when it queued the refusal (then
 * *ret is what the access handler returns). needs_token: the path is a REST API path. */
int td_http_authorize(const td_tls_config *tls, const td_auth *auth, struct MHD_Connection *conn, const char *url,
                      int needs_token, enum MHD_Result *ret);

#endif
