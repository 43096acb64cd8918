/* routes.c — the REST URL matcher (see routes.h for the grammar and quirks).
 *
 * The two TF Serving regexes are matched without a regex engine: each optional part is tried
 * present-then-absent in regex priority order and the first full match wins, which is what
 * RE2's leftmost-first FullMatch returns (e.g. GET /v1/models/labels/x/metadata → no name).
 * Invariants: captures are spans into the path until converted; td_route strings are owned.
 */
#include "http/routes.h"

#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/auth.h"
#include "util/mem.h"
#include "v2/v2.h"

typedef struct span {
  const char *p;
  size_t n;
} span;

typedef struct captures {
  span name, version, label, tail; /* tail: the verb (POST) or "metadata" (GET) */
} captures;

/* POST verbs: matched case-insensitively by the regex, dispatched case-sensitively. */
static const struct {
  const char *verb;
  td_route_kind kind;
} verbs[] = {
    {"classify", TD_ROUTE_CLASSIFY},
    {"regress", TD_ROUTE_REGRESS},
    {"predict", TD_ROUTE_PREDICT},
};
enum { NUM_VERBS = sizeof verbs / sizeof verbs[0] };

/* Case-insensitive literal; returns the position after it or NULL. */
static const char *lit(const char *p, const char *text) {
  size_t n = strlen(text);
  return p && !strncasecmp(p, text, n) ? p + n : NULL;
}

/* [^/:]+ (maximal; a shorter run can never be followed by what the grammar expects). */
static const char *segment(const char *p, span *out) {
  if (!p) return NULL;
  size_t n = strcspn(p, "/:");
  if (!n) return NULL;
  *out = (span){p, n};
  return p + n;
}

static const char *digits(const char *p, span *out) {
  if (!p) return NULL;
  size_t n = 0;
  while (isdigit((unsigned char)p[n])) n++;
  if (!n) return NULL;
  *out = (span){p, n};
  return p + n;
}

/* The optional (?:/versions/(\d+)|/labels/([^/:]+)) group; choice 0, 1 = present, 2 = absent. */
static const char *version_or_label(const char *p, int choice, captures *c) {
  if (choice == 0) return digits(lit(p, "/versions/"), &c->version);
  if (choice == 1) return segment(lit(p, "/labels/"), &c->label);
  return p;
}

/* (?i)/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict) */
static int match_post(const char *path, captures *out) {
  const char *start = segment(lit(path, "/v1/models/"), &out->name);
  for (int choice = 0; start && choice < 3; choice++) {
    captures c = {.name = out->name};
    const char *q = lit(version_or_label(start, choice, &c), ":");
    if (!q) continue;
    for (int i = 0; i < NUM_VERBS; i++)
      if (!strcasecmp(q, verbs[i].verb)) {
        c.tail = (span){q, strlen(q)};
        *out = c;
        return 1;
      }
  }
  return 0;
}

/* (?i)/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))? */
static int match_get(const char *path, captures *out) {
  const char *base = lit(path, "/v1/models");
  if (!base) return 0;
  for (int with_name = 1; with_name >= 0; with_name--)
    for (int choice = 0; choice < 3; choice++)
      for (int with_meta = 1; with_meta >= 0; with_meta--) {
        captures c = {0};
        const char *q = with_name ? segment(lit(base, "/"), &c.name) : base;
        q = version_or_label(q, choice, &c);
        if (q && with_meta) {
          const char *m = lit(q, "/metadata");
          if (m) c.tail = (span){q + 1, strlen("metadata")};
          q = m;
        }
        if (q && *q == '\0') {
          *out = c;
          return 1;
        }
      }
  return 0;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* %XX → byte (like curl_easy_unescape; '+' stays '+', a bad escape stays literal); *len gets
 * the decoded length (a %00 is a byte of the result, not its end). */
static char *unescape(span s, size_t *len) {
  char *out = td_xmalloc(s.n + 1);
  size_t o = 0;
  for (size_t i = 0; i < s.n; i++) {
    int hi, lo;
    if (s.p[i] == '%' && i + 2 < s.n && (hi = hexval(s.p[i + 1])) >= 0 &&
        (lo = hexval(s.p[i + 2])) >= 0) {
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[o++] = s.p[i];
    }
  }
  out[o] = '\0';
  *len = o;
  return out;
}

/* A model name or label, decoded; NUL or control bytes (escaped or not) are INVALID_ARGUMENT
 * before anything is looked up (*out NULL then). */
static td_code decode_name(span s, char **out, td_status *st) {
  size_t n;
  *out = unescape(s, &n);
  if (td_check_model_name(*out, n, st) == TD_OK) return TD_OK;
  free(*out);
  *out = NULL;
  return st->code;
}

/* \d+ → int64 (absl::SimpleAtoi: leading zeros fine, overflow fails). */
static int parse_version(span s, int64_t *out) {
  int64_t v = 0;
  for (size_t i = 0; i < s.n; i++) {
    int d = s.p[i] - '0';
    if (v > (INT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

/* tensord's probe endpoints (exact, case-sensitive paths; GET only). */
static const struct {
  const char *path;
  td_route_kind kind;
} probes[] = {
    {"/healthz", TD_ROUTE_HEALTH},
    {"/readyz", TD_ROUTE_READY},
};
enum { NUM_PROBES = sizeof probes / sizeof probes[0] };

static int probe_index(const char *path) {
  for (int i = 0; i < NUM_PROBES; i++)
    if (!strcmp(path, probes[i].path)) return i;
  return -1;
}

int td_route_is_rest_path(const char *path) {
  return lit(path, "/v1/") != NULL || probe_index(path) >= 0 || td_v2_is_path(path); /* V2: src/v2 */
}

static td_code malformed(const char *method, const char *path, td_status *st) {
  return td_status_set(st, TD_INVALID_ARGUMENT, "Malformed request: %s %s", method, path);
}

td_code td_route_match(const char *method, const char *path, td_route *out, td_status *st) {
  memset(out, 0, sizeof *out);
  out->version = -1;
  int probe = probe_index(path);
  if (probe >= 0) {
    if (strcmp(method, "GET")) return malformed(method, path, st);
    out->kind = probes[probe].kind;
    out->name = td_xstrdup("");
    return TD_OK;
  }
  captures c = {0};
  int is_post = !strcmp(method, "POST");
  if (!(is_post ? match_post(path, &c) : !strcmp(method, "GET") && match_get(path, &c)))
    return malformed(method, path, st);
  if (!is_post && !c.name.p && !c.version.p && !c.label.p && !c.tail.p) { /* GET /v1/models: the list */
    out->kind = TD_ROUTE_LIST;
    out->name = td_xstrdup("");
    return TD_OK;
  }

  td_route r = {.version = -1};
  if (c.version.p && !parse_version(c.version, &r.version))
    return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to convert version: %.*s to numeric.", (int)c.version.n,
                         c.version.p);
  if (is_post) {
    int found = 0;
    for (int i = 0; i < NUM_VERBS; i++)
      if (c.tail.n == strlen(verbs[i].verb) && !strncmp(c.tail.p, verbs[i].verb, c.tail.n)) {
        r.kind = verbs[i].kind;
        found = 1;
      }
    if (!found) return malformed(method, path, st); /* ":PREDICT": TF compares case-sensitively */
  } else {
    r.kind = c.tail.p && !strncmp(c.tail.p, "metadata", c.tail.n) ? TD_ROUTE_METADATA : TD_ROUTE_STATUS;
  }
  if (c.name.p) TD_TRY(decode_name(c.name, &r.name, st));
  else r.name = td_xstrdup("");
  if (!r.name[0]) {
    td_route_release(&r);
    return td_status_set(st, TD_INVALID_ARGUMENT, "Missing model name in request.");
  }
  if (c.label.p && decode_name(c.label, &r.label, st) != TD_OK) {
    td_route_release(&r);
    return st->code;
  }
  *out = r;
  return TD_OK;
}

void td_route_release(td_route *r) {
  if (!r) return;
  free(r->name);
  free(r->label);
  r->name = r->label = NULL;
}
