/* ssl_config.c — SSLConfig text files into td_tls_config (see ssl_config.h).
 * Invariants: on error *out is left zeroed (nothing to release); key bytes read from the file
 * are wiped before the buffers are freed. */
#include "server/ssl_config.h"

#include <stdlib.h>
#include <string.h>

#include "proto/textformat.h"
#include "tensorflow_serving/ssl_config.pb-c.h"
#include "util/file.h"
#include "util/mem.h"

static int is_pem(const char *s) { return s && strstr(s, "-----BEGIN ") != NULL; }

static td_code check(const Tensorflow__Serving__SSLConfig *c, const char *origin, td_status *st) {
  static const char *const what = "Invalid SSLConfig %s: %s";
  if (!c->server_key || !c->server_key[0])
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin, "server_key (the PEM private key) is missing");
  if (!c->server_cert || !c->server_cert[0])
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin, "server_cert (the PEM certificate) is missing");
  if (!is_pem(c->server_key))
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin, "server_key is not PEM (no -----BEGIN line)");
  if (!is_pem(c->server_cert))
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin, "server_cert is not PEM (no -----BEGIN line)");
  if (c->custom_ca && c->custom_ca[0] && !is_pem(c->custom_ca))
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin, "custom_ca is not PEM (no -----BEGIN line)");
  if (c->client_verify && (!c->custom_ca || !c->custom_ca[0]))
    return td_status_set(st, TD_INVALID_ARGUMENT, what, origin,
                         "client_verify needs custom_ca (the CA that signs the client certificates)");
  return TD_OK;
}

td_code td_ssl_config_parse(const char *text, size_t len, const char *origin, td_tls_config *out, td_status *st) {
  memset(out, 0, sizeof *out);
  ProtobufCMessage *msg = NULL;
  if (td_textformat_parse(&tensorflow__serving__sslconfig__descriptor, text, len, &msg, st) != TD_OK)
    return td_status_prefix(st, "Invalid SSLConfig %s", origin);
  Tensorflow__Serving__SSLConfig *c = (Tensorflow__Serving__SSLConfig *)msg;
  td_code code = check(c, origin, st);
  if (code == TD_OK) {
    out->server_key = td_xstrdup(c->server_key);
    out->server_cert = td_xstrdup(c->server_cert);
    out->custom_ca = c->custom_ca && c->custom_ca[0] ? td_xstrdup(c->custom_ca) : NULL;
    out->client_verify = c->client_verify;
  }
  if (c->server_key) memset(c->server_key, 0, strlen(c->server_key));
  protobuf_c_message_free_unpacked(msg, NULL);
  return code;
}

td_code td_ssl_config_load(const char *path, td_tls_config *out, td_status *st) {
  memset(out, 0, sizeof *out);
  char *text;
  size_t len;
  if (td_read_file(path, &text, &len, st) != TD_OK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Could not read SSLConfig file %s", path);
  td_code code = td_ssl_config_parse(text, len, path, out, st);
  memset(text, 0, len);
  free(text);
  return code;
}
