/* auth.h — who may talk to the server: bearer tokens (--auth_token_file), the TLS material
 * both front ends are configured with, and the model-name check done before any lookup.
 *
 * Tokens: a file of one token per line; blank lines and lines starting with '#' are skipped,
 * surrounding whitespace (and a trailing '\r') is trimmed; a token is printable ASCII without
 * spaces. A request presents `Authorization: Bearer <token>` (REST header, gRPC metadata
 * "authorization"); the scheme is matched case-insensitively. The comparison takes the same
 * time whichever byte differs and whichever token matches (every token is compared in full).
 * Errors about the file name the file, never its contents.
 *
 * Ownership: td_auth owns copies of its tokens; td_tls_config owns its PEM strings (either
 * may be borrowed by servers while they run). Thread safety: td_auth_check_bearer and
 * td_check_model_name are pure; any thread, concurrently.
 */
#ifndef TD_UTIL_AUTH_H
#define TD_UTIL_AUTH_H

#include <stddef.h>

#include "util/status.h"

typedef struct td_auth td_auth;

/* Reads the token file. INVALID_ARGUMENT (naming the file and the line number, never the
 * bytes): unreadable file, a token with spaces or control bytes, or no token at all. */
td_code td_auth_load(const char *path, td_auth **out, td_status *st) TD_MUST_CHECK;
/* From a list of tokens (tests); the same rules as a file's lines. */
td_code td_auth_from_text(const char *text, size_t len, const char *origin, td_auth **out,
                          td_status *st) TD_MUST_CHECK;
void td_auth_free(td_auth *a);
/* Number of tokens. */
size_t td_auth_count(const td_auth *a);
/* 1 when value (an Authorization header / metadata value of len bytes, not necessarily
 * NUL-terminated) is "Bearer <one of the tokens>", else 0. NULL a: 1 (auth off). */
int td_auth_check_bearer(const td_auth *a, const char *value, size_t len);
/* Constant-time equality of two byte strings (time depends only on blen). */
int td_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* TLS material of one port (TF Serving's SSLConfig, parsed by server/ssl_config.h). */
typedef struct td_tls_config {
  char *server_key;  /* PEM private key */
  char *server_cert; /* PEM certificate chain */
  char *custom_ca;   /* PEM CA certificates clients are verified against; NULL or "" = none */
  int client_verify; /* require a client certificate signed by custom_ca */
} td_tls_config;
void td_tls_config_release(td_tls_config *c);

/* A model name must not hold NUL or control bytes (< 0x20, 0x7f): INVALID_ARGUMENT
 * "Invalid model name: byte 0x.. at offset N is a NUL or control character" (the name itself
 * is not echoed). */
td_code td_check_model_name(const char *name, size_t len, td_status *st) TD_MUST_CHECK;

#endif
