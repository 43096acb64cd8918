/* auth.c — bearer tokens, TLS material release and the model-name check (see auth.h).
 * Invariants: tokens are stored with their lengths; td_auth_check_bearer visits every token
 * and every byte of each, so its time does not tell which token or byte differed. */
#include "util/auth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/file.h"
#include "util/mem.h"

struct td_auth {
  char **tokens;
  size_t *lens;
  size_t n, cap;
};

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static void add_token(td_auth *a, const char *p, size_t n) {
  if (a->n == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 4;
    a->tokens = td_xrealloc(a->tokens, a->cap * sizeof *a->tokens);
    a->lens = td_xrealloc(a->lens, a->cap * sizeof *a->lens);
  }
  a->tokens[a->n] = td_xstrndup(p, n);
  a->lens[a->n++] = n;
}

td_code td_auth_from_text(const char *text, size_t len, const char *origin, td_auth **out, td_status *st) {
  *out = NULL;
  td_auth *a = td_xcalloc(1, sizeof *a);
  size_t line = 0;
  for (size_t pos = 0; pos < len;) {
    const char *eol = memchr(text + pos, '\n', len - pos);
    size_t end = eol ? (size_t)(eol - text) : len;
    line++;
    size_t b = pos, e = end;
    while (b < e && is_space(text[b])) b++;
    while (e > b && is_space(text[e - 1])) e--;
    pos = end + 1;
    if (b == e || text[b] == '#') continue;
    for (size_t i = b; i < e; i++) {
      unsigned char c = (unsigned char)text[i];
      if (c <= 0x20 || c >= 0x7f) {
        td_auth_free(a);
        return td_status_set(st, TD_INVALID_ARGUMENT,
                             "Invalid auth token file %s: line %zu: a token must be printable ASCII without spaces",
                             origin, line);
      }
    }
    add_token(a, text + b, e - b);
  }
  if (!a->n) {
    td_auth_free(a);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Invalid auth token file %s: it holds no token", origin);
  }
  *out = a;
  return TD_OK;
}

td_code td_auth_load(const char *path, td_auth **out, td_status *st) {
  *out = NULL;
  char *text;
  size_t len;
  if (td_read_file(path, &text, &len, st) != TD_OK)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Could not read auth token file %s", path);
  td_code code = td_auth_from_text(text, len, path, out, st);
  memset(text, 0, len); /* no copy of a secret left in freed memory */
  free(text);
  return code;
}

void td_auth_free(td_auth *a) {
  if (!a) return;
  for (size_t i = 0; i < a->n; i++) {
    memset(a->tokens[i], 0, a->lens[i]);
    free(a->tokens[i]);
  }
  free(a->tokens);
  free(a->lens);
  free(a);
}

size_t td_auth_count(const td_auth *a) { return a ? a->n : 0; }

int td_ct_equal(const void *a, size_t alen, const void *b, size_t blen) {
  const volatile unsigned char *x = a, *y = b;
  unsigned diff = alen != blen;
  for (size_t i = 0; i < blen; i++) diff |= (unsigned)(i < alen ? x[i] : 0) ^ y[i];
  return diff == 0;
}

int td_auth_check_bearer(const td_auth *a, const char *value, size_t len) {
  if (!a) return 1;
  if (!value) return 0;
  static const char scheme[] = "Bearer";
  size_t sl = sizeof scheme - 1;
  if (len <= sl || strncasecmp(value, scheme, sl) || (value[sl] != ' ' && value[sl] != '\t')) return 0;
  size_t b = sl, e = len;
  while (b < e && (value[b] == ' ' || value[b] == '\t')) b++;
  while (e > b && is_space(value[e - 1])) e--;
  int ok = 0;
  for (size_t i = 0; i < a->n; i++) ok |= td_ct_equal(value + b, e - b, a->tokens[i], a->lens[i]);
  return ok;
}

void td_tls_config_release(td_tls_config *c) {
  if (!c) return;
  if (c->server_key) memset(c->server_key, 0, strlen(c->server_key));
  free(c->server_key);
  free(c->server_cert);
  free(c->custom_ca);
  memset(c, 0, sizeof *c);
}

td_code td_check_model_name(const char *name, size_t len, td_status *st) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    if (c < 0x20 || c == 0x7f)
      return td_status_set(st, TD_INVALID_ARGUMENT,
                           "Invalid model name: byte 0x%02x at offset %zu is a NUL or control character", c, i);
  }
  return TD_OK;
}
