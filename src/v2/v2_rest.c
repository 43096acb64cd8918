/* v2_rest.c — the V2 REST endpoints (see v2.h): path → handler, JSON / binary-extension bodies
 * via v2_json.c, every decision via td_api (v2_infer.c, api_v2.h).
 *
 * Errors are {"error": "<message>"} with Triton's status mapping (peer-servers.md §4.1):
 * NOT_FOUND 404, UNAVAILABLE 503, INTERNAL/UNKNOWN/DATA_LOSS 500, UNIMPLEMENTED 501, anything
 * else 400 — plus PERMISSION_DENIED 403 (a repository load/unload with model management off).
 * Health and readiness answer a status and a small JSON body (§4.6 point 2).
 * Infer (JSON and the binary extension) is in v2_rest_infer.c.
 * Invariants: every path releases what it took (one exit per handler); a bad request never
 * affects another.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_v2.h"
#include "engine/engine.h"
#include "http/rest_json.h"
#include "json/json.h"
#include "util/auth.h"
#include "util/mem.h"
#include "v2/v2.h"
#include "v2/v2_internal.h"
#include "v2/v2_json.h"
#include "v2/v2_rest.h"

#define MAX_VERSIONS 256

typedef enum v2_route {
  R_NONE,
  R_SERVER_METADATA,
  R_LIVE,
  R_READY,
  R_MODEL_METADATA,
  R_MODEL_READY,
  R_MODEL_CONFIG,
  R_INFER,
  R_REPO_INDEX,
  R_REPO_MODEL, /* load / unload */
  R_MODELS,     /* GET /v2/models (KServe ModelServer's list) */
} v2_route;

int td_v2_is_path(const char *path) { return !strcmp(path, "/v2") || !strncmp(path, "/v2/", 4); }

static int v2_http_status(td_code code) {
  switch (code) {
  case TD_OK: return 200;
  case TD_NOT_FOUND: return 404;
  case TD_UNAVAILABLE: return 503;
  case TD_INTERNAL:
  case TD_UNKNOWN:
  case TD_DATA_LOSS: return 500;
  case TD_UNIMPLEMENTED: return 501;
  case TD_PERMISSION_DENIED: return 403; /* tensord: model management disabled */
  default: return 400;
  }
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A path segment [p, p+n) with %XX decoded (a bad escape stays literal); NUL or control bytes
 * are INVALID_ARGUMENT before anything is looked up (util/auth.h), *out NULL then. */
static td_code decode_segment(const char *p, size_t n, char **out, td_status *st) {
  char *s = td_xmalloc(n + 1);
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (p[i] == '%' && i + 2 < n && (hi = hexval(p[i + 1])) >= 0 && (lo = hexval(p[i + 2])) >= 0) {
      s[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      s[o++] = p[i];
    }
  }
  s[o] = '\0';
  *out = s;
  if (td_check_model_name(s, o, st) == TD_OK) return TD_OK;
  free(s);
  *out = NULL;
  return st->code;
}

/* /v2/models/<m>[/versions/<v>][/ready|/infer] → route, with q->model / q->version set. */
static v2_route match_model(const char *p, v2_request *q, td_status *st, td_code *code) {
  size_t n = strcspn(p, "/");
  if (!n) return R_NONE;
  if ((*code = decode_segment(p, n, &q->model, st)) != TD_OK) return R_NONE;
  p += n;
  if (!strncmp(p, "/versions/", 10)) {
    p += 10;
    n = strcspn(p, "/");
    if (!n) return R_NONE;
    if ((*code = decode_segment(p, n, &q->version, st)) != TD_OK) return R_NONE;
    p += n;
  }
  if (!*p) return R_MODEL_METADATA;
  if (!strcmp(p, "/ready")) return R_MODEL_READY;
  if (!strcmp(p, "/config")) return R_MODEL_CONFIG;
  if (!strcmp(p, "/infer")) return R_INFER;
  return R_NONE;
}

/* /v2/repository/models/<m>/(load|unload) → R_REPO_MODEL with q->model / q->load set. */
static v2_route match_repo_model(const char *p, v2_request *q, td_status *st, td_code *code) {
  size_t n = strcspn(p, "/");
  if (!n || (strcmp(p + n, "/load") && strcmp(p + n, "/unload"))) return R_NONE;
  if ((*code = decode_segment(p, n, &q->model, st)) != TD_OK) return R_NONE;
  q->load = !strcmp(p + n, "/load");
  return R_REPO_MODEL;
}

static v2_route match(const char *method, const char *path, v2_request *q, td_status *st, td_code *code) {
  static const struct {
    const char *path, *method;
    v2_route route;
  } fixed[] = {
      {"/v2", "GET", R_SERVER_METADATA},
      {"/v2/health/live", "GET", R_LIVE},
      {"/v2/health/ready", "GET", R_READY},
      {"/v2/repository/index", "POST", R_REPO_INDEX},
      {"/v2/models", "GET", R_MODELS},
  };
  v2_route r = R_NONE;
  const char *want = "GET";
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (!strcmp(path, fixed[i].path)) r = fixed[i].route, want = fixed[i].method;
  if (r == R_NONE && !strncmp(path, "/v2/models/", 11)) r = match_model(path + 11, q, st, code);
  if (*code != TD_OK) return R_NONE;
  if (r == R_NONE && !strncmp(path, "/v2/repository/models/", 22)) r = match_repo_model(path + 22, q, st, code);
  if (*code != TD_OK) return R_NONE;
  if (r == R_INFER || r == R_REPO_MODEL) want = "POST";
  if (r == R_NONE) {
    *code = td_status_set(st, TD_NOT_FOUND, "Not Found: %s %s", method, path);
  } else if (strcmp(method, want)) {
    *code = td_status_set(st, TD_INVALID_ARGUMENT, "Method %s is not allowed for %s (use %s)", method, path, want);
    r = R_NONE;
  }
  return r;
}

/* ---- handlers ---- */

td_code v2_rest_spec(const v2_request *q, const char *signature, td_model_spec *spec, td_status *st) {
  return td_v2_spec(q->model, q->version, signature, td_deadline_after_ms(q->timeout_ms), spec, st);
}

static td_code handle_server_metadata(v2_request *q, td_buf *out, td_status *st) {
  td_buf_puts(out, "{\"name\":\"" TD_V2_SERVER_NAME "\",\"version\":\"" TD_V2_SERVER_VERSION
                   "\",\"extensions\":[\"binary_tensor_data\",\"parameters\",\"model_repository\"]}");
  return TD_OK;
}

static td_code handle_live(v2_request *q, td_buf *out, td_status *st) {
  td_buf_puts(out, "{\"live\":true}");
  return TD_OK;
}

static td_code handle_ready(v2_request *q, td_buf *out, td_status *st) {
  int ready = td_servables_ready(q->api->servables);
  td_buf_puts(out, ready ? "{\"ready\":true}" : "{\"ready\":false}");
  if (!ready) q->out->status = 503;
  return TD_OK;
}

static td_code handle_model_ready(v2_request *q, td_buf *out, td_status *st) {
  td_model_spec spec;
  TD_TRY(v2_rest_spec(q, NULL, &spec, st));
  td_handle h;
  const td_signature *sig;
  td_code code = td_api_v2_resolve(q->api, &spec, &h, &sig, st);
  if (code == TD_NOT_FOUND && !td_api_v2_known_model(q->api, q->model)) return code;
  if (code == TD_OK) td_handle_release(&h);
  td_buf_puts(out, "{\"name\":");
  td_json_write_string(out, q->model, strlen(q->model));
  td_buf_printf(out, ",\"ready\":%s}", code == TD_OK ? "true" : "false");
  if (code != TD_OK) q->out->status = 503;
  return TD_OK;
}

/* Metadata tensors {name, datatype, shape}; config != 0: Triton's model-config form {name,
 * data_type: TYPE_<datatype> (BYTES: TYPE_STRING), dims}. */
static void write_tensor_metadata(const td_sig_tensor *t, int n, int config, td_buf *out) {
  td_buf_putc(out, '[');
  for (int i = 0; i < n; i++) {
    const char *dt = td_v2_datatype(t[i].dtype);
    if (!dt) dt = td_dtype_name(t[i].dtype);
    td_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
    td_json_write_string(out, t[i].alias, strlen(t[i].alias));
    if (config)
      td_buf_printf(out, ",\"data_type\":\"TYPE_%s\",\"dims\":", t[i].dtype == TD_DT_STRING ? "STRING" : dt);
    else
      td_buf_printf(out, ",\"datatype\":\"%s\",\"shape\":", dt);
    if (t[i].shape.rank < 0) td_buf_puts(out, "[-1]"); /* unknown rank: one variable dim */
    else v2_json_write_shape(&t[i].shape, out);
    td_buf_putc(out, '}');
  }
  td_buf_putc(out, ']');
}

/* Model metadata / config: resolves the request's model (and version) to *h (the caller releases
 * it) and its signature, then opens the body with {"name":<resolved name>; on an error, neither. */
static td_code resolve_and_open_model(v2_request *q, td_handle *h, const td_signature **sig, td_buf *out,
                                      td_status *st) {
  td_model_spec spec;
  TD_TRY(v2_rest_spec(q, NULL, &spec, st));
  TD_TRY(td_api_v2_resolve(q->api, &spec, h, sig, st));
  td_buf_puts(out, "{\"name\":");
  td_json_write_string(out, h->name, strlen(h->name));
  return TD_OK;
}

static td_code handle_model_metadata(v2_request *q, td_buf *out, td_status *st) {
  td_handle h;
  const td_signature *sig;
  TD_TRY(resolve_and_open_model(q, &h, &sig, out, st));
  int64_t versions[MAX_VERSIONS];
  int n = td_api_v2_versions(q->api, h.name, versions, MAX_VERSIONS);
  td_buf_puts(out, ",\"versions\":[");
  for (int i = 0; i < n; i++) td_buf_printf(out, "%s\"%lld\"", i ? "," : "", (long long)versions[i]);
  td_buf_puts(out, "],\"platform\":\"" TD_V2_PLATFORM "\",\"inputs\":");
  write_tensor_metadata(sig->inputs, sig->num_inputs, 0, out);
  td_buf_puts(out, ",\"outputs\":");
  write_tensor_metadata(sig->outputs, sig->num_outputs, 0, out);
  td_buf_putc(out, '}');
  td_handle_release(&h);
  return TD_OK;
}

/* GET .../config (Triton's model_configuration extension, REST only): the subset that describes
 * a signature — max_batch_size 0, so dims include the batch dimension. */
static td_code handle_model_config(v2_request *q, td_buf *out, td_status *st) {
  td_handle h;
  const td_signature *sig;
  TD_TRY(resolve_and_open_model(q, &h, &sig, out, st));
  td_buf_puts(out, ",\"platform\":\"" TD_V2_PLATFORM "\",\"backend\":\"tensorflow\",\"max_batch_size\":0,\"input\":");
  write_tensor_metadata(sig->inputs, sig->num_inputs, 1, out);
  td_buf_puts(out, ",\"output\":");
  write_tensor_metadata(sig->outputs, sig->num_outputs, 1, out);
  td_buf_putc(out, '}');
  td_handle_release(&h);
  return TD_OK;
}

/* ---- model repository extension ---- */

static td_code handle_repo_index(v2_request *q, td_buf *out, td_status *st) {
  int ready_only;
  TD_TRY(v2_json_scan_index(q->body, q->len, &ready_only, st));
  td_api_v2_index_row *rows;
  int n;
  td_api_v2_index(q->api, ready_only, &rows, &n);
  td_buf_putc(out, '[');
  for (int i = 0; i < n; i++) {
    td_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
    td_json_write_string(out, rows[i].name, strlen(rows[i].name));
    if (rows[i].version >= 0) td_buf_printf(out, ",\"version\":\"%lld\"", (long long)rows[i].version);
    td_buf_printf(out, ",\"state\":\"%s\",\"reason\":", rows[i].state);
    td_json_write_string(out, rows[i].reason, strlen(rows[i].reason));
    td_buf_putc(out, '}');
  }
  td_buf_putc(out, ']');
  td_api_v2_index_free(rows, n);
  return TD_OK;
}

/* GET /v2/models: {"models": [names of the models with a READY version]}. */
static td_code handle_models(v2_request *q, td_buf *out, td_status *st) {
  td_api_v2_index_row *rows;
  int n;
  td_api_v2_index(q->api, 1, &rows, &n);
  td_buf_puts(out, "{\"models\":[");
  int written = 0;
  for (int i = 0; i < n; i++) {
    if (i && !strcmp(rows[i].name, rows[i - 1].name)) continue; /* one entry per model */
    td_buf_puts(out, written++ ? "," : "");
    td_json_write_string(out, rows[i].name, strlen(rows[i].name));
  }
  td_buf_puts(out, "]}");
  td_api_v2_index_free(rows, n);
  return TD_OK;
}

/* POST /v2/repository/models/<m>/load|unload: 200 with an empty body once done. */
static td_code handle_repo_model(v2_request *q, td_buf *out, td_status *st) {
  int overrides;
  TD_TRY(v2_json_scan_repository(q->body, q->len, &overrides, st));
  if (q->load) return td_api_v2_load(q->api, q->model, overrides, st);
  return td_api_v2_unload(q->api, q->model, st);
}

typedef td_code (*v2_handler)(v2_request *q, td_buf *out, td_status *st);

static const v2_handler handlers[] = {
    [R_SERVER_METADATA] = handle_server_metadata,
    [R_LIVE] = handle_live,
    [R_READY] = handle_ready,
    [R_MODEL_METADATA] = handle_model_metadata,
    [R_MODEL_READY] = handle_model_ready,
    [R_MODEL_CONFIG] = handle_model_config,
    [R_INFER] = v2_rest_infer,
    [R_REPO_INDEX] = handle_repo_index,
    [R_REPO_MODEL] = handle_repo_model,
    [R_MODELS] = handle_models,
};

void td_v2_rest_handle(td_api *api, int64_t timeout_ms, const char *method, const char *path, const char *body,
                       size_t len, td_http_response *out) {
  td_status st = {0};
  td_buf buf;
  td_buf_init(&buf);
  v2_request q = {.api = api, .timeout_ms = timeout_ms, .body = body, .len = len, .out = out};
  out->status = 200;
  td_code code = TD_OK;
  v2_route r = match(method, path, &q, &st, &code);
  if (r != R_NONE) code = handlers[r](&q, &buf, &st);
  if (code != TD_OK) {
    td_buf_reset(&buf);
    td_rest_error_json(st.msg, &buf);
    out->status = v2_http_status(code);
    out->content_type = NULL;
    out->extra_header = NULL;
  }
  free(q.model);
  free(q.version);
  out->body = td_buf_detach(&buf, &out->len);
}
