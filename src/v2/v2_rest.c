/* v2_rest.c — the V2 REST endpoints (see v2.h): path → handler, JSON / binary-extension bodies
 * via v2_json.c, every decision via td_api (v2_infer.c, api_v2.h).
 *
 * Errors are {"error": "<message>"} with Triton's status mapping (peer-servers.md §4.1):
 * NOT_FOUND 404, UNAVAILABLE 503, INTERNAL/UNKNOWN/DATA_LOSS 500, UNIMPLEMENTED 501, anything
 * else 400. Health and readiness answer a status and a small JSON body (§4.6 point 2).
 * Binary extension (§4.4): with Inference-Header-Content-Length the body is the JSON header
 * followed by the binary tensors in input order; binary outputs are appended to the response
 * in output order, marked with parameters.binary_data_size, and the response carries
 * Inference-Header-Content-Length and Content-Type application/octet-stream.
 * Invariants: every path releases what it took (one exit per handler); a bad request never
 * affects another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_v2.h"
#include "engine/engine.h"
#include "http/rest_json.h"
#include "json/json.h"
#include "util/auth.h"
#include "util/mem.h"
#include "v2/v2.h"
#include "v2/v2_json.h"

#define HEADER_LENGTH "Inference-Header-Content-Length"
#define MAX_VERSIONS 256

typedef enum v2_route {
  R_NONE,
  R_SERVER_METADATA,
  R_LIVE,
  R_READY,
  R_MODEL_METADATA,
  R_MODEL_READY,
  R_INFER,
  R_REPO_INDEX,
  R_REPO_MODEL, /* load / unload */
  R_MODELS,     /* GET /v2/models (KServe ModelServer's list) */
} v2_route;

typedef struct v2_request {
  td_api *api;
  int64_t timeout_ms;
  const char *body;
  size_t len;
  char *model, *version; /* unescaped path parts (owned); NULL when absent */
  td_http_response *out;
} v2_request;

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
  if (!strcmp(p, "/infer")) return R_INFER;
  return R_NONE;
}

/* /v2/repository/models/<m>/(load|unload) */
static v2_route match_repo_model(const char *p) {
  size_t n = strcspn(p, "/");
  return n && (!strcmp(p + n, "/load") || !strcmp(p + n, "/unload")) ? R_REPO_MODEL : R_NONE;
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
  if (r == R_NONE && !strncmp(path, "/v2/repository/models/", 22)) r = match_repo_model(path + 22);
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

static td_code spec_of(const v2_request *q, const char *signature, td_model_spec *spec, td_status *st) {
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
  TD_TRY(spec_of(q, NULL, &spec, st));
  td_handle h;
  const td_signature *sig;
  td_code code = td_api_v2_resolve(q->api, &spec, &h, &sig, st);
  if (code == TD_NOT_FOUND && !td_servables_has_model(q->api->servables, q->model)) return code;
  if (code == TD_OK) td_handle_release(&h);
  td_buf_puts(out, "{\"name\":");
  td_json_write_string(out, q->model, strlen(q->model));
  td_buf_printf(out, ",\"ready\":%s}", code == TD_OK ? "true" : "false");
  if (code != TD_OK) q->out->status = 503;
  return TD_OK;
}

static void write_tensor_metadata(const td_sig_tensor *t, int n, td_buf *out) {
  td_buf_putc(out, '[');
  for (int i = 0; i < n; i++) {
    const char *dt = td_v2_datatype(t[i].dtype);
    td_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
    td_json_write_string(out, t[i].alias, strlen(t[i].alias));
    td_buf_printf(out, ",\"datatype\":\"%s\",\"shape\":", dt ? dt : td_dtype_name(t[i].dtype));
    if (t[i].shape.rank < 0) td_buf_puts(out, "[-1]"); /* unknown rank: one variable dim */
    else v2_json_write_shape(&t[i].shape, out);
    td_buf_putc(out, '}');
  }
  td_buf_putc(out, ']');
}

static td_code handle_model_metadata(v2_request *q, td_buf *out, td_status *st) {
  td_model_spec spec;
  TD_TRY(spec_of(q, NULL, &spec, st));
  td_handle h;
  const td_signature *sig;
  TD_TRY(td_api_v2_resolve(q->api, &spec, &h, &sig, st));
  td_buf_puts(out, "{\"name\":");
  td_json_write_string(out, h.name, strlen(h.name));
  int64_t versions[MAX_VERSIONS];
  int n = td_api_v2_versions(q->api, h.name, versions, MAX_VERSIONS);
  td_buf_puts(out, ",\"versions\":[");
  for (int i = 0; i < n; i++) td_buf_printf(out, "%s\"%lld\"", i ? "," : "", (long long)versions[i]);
  td_buf_puts(out, "],\"platform\":\"" TD_V2_PLATFORM "\",\"inputs\":");
  write_tensor_metadata(sig->inputs, sig->num_inputs, out);
  td_buf_puts(out, ",\"outputs\":");
  write_tensor_metadata(sig->outputs, sig->num_outputs, out);
  td_buf_putc(out, '}');
  td_handle_release(&h);
  return TD_OK;
}

/* ---- infer ---- */

/* The JSON header length: the whole body without the extension header. */
static td_code header_length(const v2_request *q, size_t *hl, int *binary, td_status *st) {
  const char *h = td_http_request_header(HEADER_LENGTH);
  *hl = q->len;
  *binary = h != NULL;
  if (!h) return TD_OK;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(h, &end, 10);
  if (!*h || *end || errno || h[0] == '-')
    return td_status_set(st, TD_INVALID_ARGUMENT, "%s header is not a number: '%.40s'", HEADER_LENGTH, h);
  if (v > q->len)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "%s of %llu bytes is longer than the request body (%zu bytes)", HEADER_LENGTH, v, q->len);
  *hl = (size_t)v;
  return TD_OK;
}

static td_code decode_inputs(v2_request *q, const v2_json_req *req, size_t hl, td_v2_infer *inf, td_status *st) {
  td_budget budget;
  td_api_budget(q->api, q->len, &budget);
  const uint8_t *bin = (const uint8_t *)q->body + hl;
  size_t bin_len = q->len - hl, off = 0;
  for (int i = 0; i < req->n_inputs; i++) {
    const v2_json_input *in = &req->inputs[i];
    td_dtype dt;
    td_shape shape;
    TD_TRY(td_v2_infer_check_input(inf, in->name, in->datatype, strlen(in->datatype), &dt, st));
    TD_TRY(td_v2_shape(in->name, in->dims, (size_t)in->n_dims, &shape, st));
    td_tensor t;
    if (in->binary_size >= 0) {
      if ((uint64_t)in->binary_size > bin_len - off)
        return td_status_set(st, TD_INVALID_ARGUMENT,
                             "inference input '%s': binary_data_size %lld runs past the end of the request body",
                             in->name, (long long)in->binary_size);
      TD_TRY(td_v2_tensor_view_raw(in->name, dt, &shape, bin + off, (size_t)in->binary_size, &budget, &t, st));
      off += (size_t)in->binary_size;
    } else {
      TD_TRY(v2_json_decode_data(in->name, dt, &shape, q->body, in->data_start, in->data_end, &budget, &t, st));
    }
    td_v2_infer_add_input(inf, in->name, &t);
  }
  if (off != bin_len)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "the request body has %zu bytes of binary data after its header, but the inputs' "
                         "binary_data_size add up to %zu",
                         bin_len, off);
  return TD_OK;
}

/* Whether output i goes out binary: its own parameters.binary_data, else the request's
 * binary_data_output, else JSON. */
static int output_binary(const v2_json_req *req, const char *name) {
  for (int i = 0; i < req->n_outputs; i++)
    if (!strcmp(req->outputs[i].name, name) && req->outputs[i].binary >= 0) return req->outputs[i].binary;
  return req->binary_output > 0;
}

/* The JSON header; binary outputs are only announced (their raw size). Returns how many. */
static int write_infer_response(const v2_json_req *req, const td_v2_infer *inf, td_buf *out) {
  int n_binary = 0;
  td_buf_puts(out, "{\"model_name\":");
  td_json_write_string(out, inf->call.handle.name, strlen(inf->call.handle.name));
  td_buf_printf(out, ",\"model_version\":\"%lld\"", (long long)inf->call.handle.version);
  if (req->id) {
    td_buf_puts(out, ",\"id\":");
    td_json_write_string(out, req->id, strlen(req->id));
  }
  td_buf_puts(out, ",\"outputs\":[");
  for (int i = 0; i < inf->n_outputs; i++) {
    const td_named_tensor *o = &inf->outputs[i];
    td_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
    td_json_write_string(out, o->name, strlen(o->name));
    td_buf_printf(out, ",\"datatype\":\"%s\",\"shape\":", td_v2_datatype(o->tensor.dtype));
    v2_json_write_shape(&o->tensor.shape, out);
    if (output_binary(req, o->name)) {
      n_binary++;
      td_buf_printf(out, ",\"parameters\":{\"binary_data_size\":%zu}}", td_v2_raw_size(&o->tensor));
    } else {
      td_buf_puts(out, ",\"data\":");
      v2_json_write_data(&o->tensor, out);
      td_buf_putc(out, '}');
    }
  }
  td_buf_puts(out, "]}");
  return n_binary;
}

/* The response: JSON header, then the binary outputs in order (with the extension's headers). */
static void finish_response(v2_request *q, const v2_json_req *req, const td_v2_infer *inf, td_buf *out) {
  if (!write_infer_response(req, inf, out)) return;
  q->out->content_type = "application/octet-stream";
  q->out->extra_header = HEADER_LENGTH;
  snprintf(q->out->extra_value, sizeof q->out->extra_value, "%zu", out->len);
  for (int i = 0; i < inf->n_outputs; i++)
    if (output_binary(req, inf->outputs[i].name)) td_v2_tensor_to_raw(&inf->outputs[i].tensor, out);
}

/* The raw binary request (Inference-Header-Content-Length: 0): the body is the one input of a
 * one-input signature, with at most one variable dim (sized from the body; unknown rank: 1-D),
 * BYTES as a single element; every output comes back binary. */
static td_code raw_input(v2_request *q, td_v2_infer *inf, td_status *st) {
  const td_signature *sig = inf->call.sig;
  if (sig->num_inputs != 1)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "a raw binary request (%s: 0) needs a model with exactly 1 input; this signature has %d",
                         HEADER_LENGTH, sig->num_inputs);
  const td_sig_tensor *in = &sig->inputs[0];
  td_shape shape = in->shape;
  int var = -1;
  if (shape.rank < 0) shape = td_shape_vector(-1);
  for (int d = 0; d < shape.rank; d++)
    if (shape.dim[d] < 0) {
      if (var >= 0)
        return td_status_set(st, TD_INVALID_ARGUMENT,
                             "a raw binary request (%s: 0) needs an input with at most 1 variable dimension",
                             HEADER_LENGTH);
      var = d;
    }
  td_dtype dt = in->dtype;
  const char *datatype = td_v2_datatype(dt);
  if (!datatype) return td_status_set(st, TD_INVALID_ARGUMENT, "input '%s' has no V2 datatype", in->alias);
  td_tensor t;
  td_budget budget;
  td_api_budget(q->api, q->len, &budget);
  if (dt == TD_DT_STRING) {
    if (var >= 0) shape.dim[var] = 1;
    if (td_shape_num_elements(&shape) != 1)
      return td_status_set(st, TD_INVALID_ARGUMENT, "a raw binary request of BYTES needs a 1-element input");
    TD_TRY(td_budget_charge(&budget, 1, (int64_t)q->len + 1, in->alias, st));
    TD_TRY(td_tensor_alloc(&t, dt, &shape, st));
    td_tensor_set_string(&t, 0, q->body, q->len);
  } else {
    if (var >= 0) {
      int64_t known = 1;
      for (int d = 0; d < shape.rank; d++)
        if (d != var) known *= shape.dim[d];
      size_t row = (size_t)known * td_dtype_size(dt);
      shape.dim[var] = row ? (int64_t)(q->len / row) : 0;
    }
    TD_TRY(td_v2_tensor_view_raw(in->alias, dt, &shape, (const uint8_t *)q->body, q->len, &budget, &t, st));
  }
  td_v2_infer_add_input(inf, in->alias, &t);
  return TD_OK;
}

static td_code handle_infer(v2_request *q, td_buf *out, td_status *st) {
  size_t hl;
  int binary_request;
  TD_TRY(header_length(q, &hl, &binary_request, st));
  if (binary_request && hl == 0) {
    v2_json_req none = {.binary_output = 1};
    td_v2_infer inf;
    td_model_spec spec;
    td_code code = spec_of(q, NULL, &spec, st);
    if (code == TD_OK) code = td_v2_infer_begin(q->api, &spec, &inf, st);
    else memset(&inf, 0, sizeof inf);
    if (code == TD_OK) code = raw_input(q, &inf, st);
    if (code == TD_OK) code = td_v2_infer_run(&inf, st);
    if (code == TD_OK) finish_response(q, &none, &inf, out);
    td_v2_infer_end(&inf);
    return code;
  }
  v2_json_req req;
  td_code code = v2_json_scan(q->body, hl, &req, st);
  td_v2_infer inf;
  memset(&inf, 0, sizeof inf);
  td_model_spec spec;
  if (code == TD_OK) code = spec_of(q, req.signature_name, &spec, st);
  if (code == TD_OK) code = td_v2_infer_begin(q->api, &spec, &inf, st);
  if (code == TD_OK) code = decode_inputs(q, &req, hl, &inf, st);
  for (int i = 0; code == TD_OK && i < req.n_outputs; i++) td_v2_infer_add_output(&inf, req.outputs[i].name);
  if (code == TD_OK) code = td_v2_infer_run(&inf, st);
  if (code == TD_OK) finish_response(q, &req, &inf, out);
  td_v2_infer_end(&inf);
  v2_json_req_free(&req);
  return code;
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

static td_code handle_repo_model(v2_request *q, td_buf *out, td_status *st) {
  return td_status_set(st, TD_UNIMPLEMENTED, "%s", TD_V2_NO_LOAD_UNLOAD);
}

typedef td_code (*v2_handler)(v2_request *q, td_buf *out, td_status *st);

static const v2_handler handlers[] = {
    [R_SERVER_METADATA] = handle_server_metadata,
    [R_LIVE] = handle_live,
    [R_READY] = handle_ready,
    [R_MODEL_METADATA] = handle_model_metadata,
    [R_MODEL_READY] = handle_model_ready,
    [R_INFER] = handle_infer,
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
