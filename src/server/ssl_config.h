/* ssl_config.h — TF Serving's SSLConfig (--ssl_config_file for gRPC, --rest_ssl_config_file for
 * HTTP/REST): a text-format tensorflow.serving.SSLConfig {server_key: 1, server_cert: 2,
 * custom_ca: 3, client_verify: 4} read into a td_tls_config (util/auth.h).
 *
 * Checked before any server starts: server_key and server_cert are present and PEM ("-----BEGIN
 * " inside), custom_ca is PEM when given, client_verify needs custom_ca. Errors are
 * INVALID_ARGUMENT naming the file and the field (parse errors: line and column), never the
 * key or any other file bytes.
 *
 * Ownership: the caller releases *out with td_tls_config_release. Thread affinity: startup.
 */
#ifndef TD_SERVER_SSL_CONFIG_H
#define TD_SERVER_SSL_CONFIG_H

#include <stddef.h>

#include "util/auth.h"
#include "util/status.h"

/* Parses text[0..len) (origin names it in errors). */
td_code td_ssl_config_parse(const char *text, size_t len, const char *origin, td_tls_config *out,
                            td_status *st) TD_MUST_CHECK;
/* Reads and parses the file at path. */
td_code td_ssl_config_load(const char *path, td_tls_config *out, td_status *st) TD_MUST_CHECK;

#endif
