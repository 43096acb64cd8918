/* rest_handlers.c — REST glue (see rest_handlers.h): one handler per route kind, in a table.
 *
 * Each handler turns the matched route + body into td_api calls and JSON via the codec
 * (rest_json.h), writing the response body into `out` and returning TD_OK, or returning an
 * error code with the message in st (rendered as {"error": ...} by td_rest_handle). Order
 * of checks follows TF Serving: the body's top level is parsed before the model is looked
 * up, the signature is resolved before the inputs are converted.
 * Invariants: every td_api_begin is paired with td_api_end; every owned value is freed on
 * every path (single exit per handler).
 * Predict answers through td_http_defer when the HTTP server can defer: the run may wait in a
 * batch while the connection holds no server thread (rest_predict_job owns the request's state
 * until td_api_predict_async's callback answers it, on whichever thread ran the batch).
 */
#include "http/rest_handlers.h"

#include <stdlib.h>
#include <string.h>

#include "http/rest_json.h"
#include "http/rest_list.h"
#include "http/routes.h"
#include "util/buf.h"
#include "util/mem.h"
#include "v2/v2.h"

typedef struct rest_request {
  td_api *api;
  const td_route *route;
  const char *body;
  size_t len;
  int64_t deadline_ns; /* from --rest_api_timeout_in_ms */
  int deferred;        /* set by a handler that answers later (td_http_complete) */
} rest_request;

static td_model_spec spec_of(const rest_request *q, const char *signature_name) {
  const td_route *r = q->route;
  return (td_model_spec){.name = r->name, .version = r->version, .version_label = r->label,
                         .signature_name = signature_name, .deadline_ns = q->deadline_ns};
}

/* A predict answered later (see the file comment); heap, freed by predict_answer. */
typedef struct rest_predict_job {
  td_call call;
  td_rest_predict_req req; /* points into the HTTP body, which lives until the answer is sent */
  td_named_tensor *inputs;
  int n_in;
  td_http_deferred *answer;
} rest_predict_job;

static void predict_answer(void *user, td_code code, td_named_tensor *outputs, int n_out, const td_status *run_st) {
  rest_predict_job *j = user;
  td_status st = {0};
  if (code != TD_OK && run_st) st = *run_st;
  td_buf buf;
  td_buf_init(&buf);
  if (code == TD_OK) code = td_rest_predict_response(j->req.row_format, outputs, n_out, &buf, &st);
  if (outputs) td_api_outputs_free(outputs, n_out);
  if (code != TD_OK) {
    td_buf_reset(&buf);
    td_rest_error_json(st.msg, &buf);
  }
  td_rest_inputs_free(j->inputs, j->n_in);
  td_api_end(&j->call);
  td_rest_predict_req_free(&j->req);
  td_http_response r = {.status = td_code_http_status(code)};
  r.body = td_buf_detach(&buf, &r.len);
  td_http_deferred *d = j->answer;
  free(j);
  td_http_complete(d, &r);
}

static td_code handle_predict(rest_request *q, td_buf *out, td_status *st) {
  td_rest_predict_req req = {0};
  td_call call;
  int began = 0, n_in = 0, n_out = 0;
  td_named_tensor *inputs = NULL, *outputs = NULL;
  td_code code = td_rest_predict_scan(q->body, q->len, &req, st);
  if (code == TD_OK) {
    td_model_spec spec = spec_of(q, req.signature_name);
    code = td_api_begin(q->api, &spec, TD_METHOD_PREDICT, &call, st);
    began = code == TD_OK;
  }
  td_budget budget; /* values are charged to the request's budget as they are decoded */
  td_api_budget(q->api, q->len, &budget);
  req.budget = &budget;
  if (code == TD_OK) code = td_rest_predict_inputs(&req, call.sig, &inputs, &n_in, st);
  td_http_deferred *answer = code == TD_OK ? td_http_defer() : NULL;
  if (answer) { /* the job owns call, req and inputs from here */
    rest_predict_job *j = td_xmalloc(sizeof *j);
    *j = (rest_predict_job){.call = call, .req = req, .inputs = inputs, .n_in = n_in, .answer = answer};
    j->req.budget = NULL; /* decoding is over; the budget lives on this stack frame */
    q->deferred = 1;
    td_api_predict_async(&j->call, j->inputs, j->n_in, NULL, 0, predict_answer, j);
    return TD_OK;
  }
  if (code == TD_OK) code = td_api_predict(&call, inputs, n_in, NULL, 0, &outputs, &n_out, st);
  if (code == TD_OK) code = td_rest_predict_response(req.row_format, outputs, n_out, out, st);
  if (outputs) td_api_outputs_free(outputs, n_out);
  if (inputs) td_rest_inputs_free(inputs, n_in);
  if (began) td_api_end(&call);
  td_rest_predict_req_free(&req);
  return code;
}

/* classify and regress share parsing and resolution; only the call and the printing differ. */
static td_code handle_examples(rest_request *q, td_method method, td_buf *out, td_status *st) {
  char *signature_name = NULL;
  td_tensor examples;
  memset(&examples, 0, sizeof examples);
  td_call call;
  int began = 0, parsed = 0;
  td_budget budget; /* the context fan-out is charged to the request's budget */
  td_api_budget(q->api, q->len, &budget);
  td_code code = td_rest_examples_parse_budget(q->body, q->len, method == TD_METHOD_CLASSIFY ? "classify" : "regress",
                                               &budget, &signature_name, &examples, st);
  parsed = code == TD_OK;
  if (code == TD_OK) {
    td_model_spec spec = spec_of(q, signature_name);
    code = td_api_begin(q->api, &spec, method, &call, st);
    began = code == TD_OK;
  }
  if (code == TD_OK && method == TD_METHOD_CLASSIFY) {
    td_classify_result result;
    memset(&result, 0, sizeof result);
    code = td_api_classify(&call, &examples, &result, st);
    if (code == TD_OK) {
      code = td_rest_classify_response(&result, out, st);
      td_classify_result_free(&result);
    }
  } else if (code == TD_OK) {
    float *values = NULL;
    int n = 0;
    code = td_api_regress(&call, &examples, &values, &n, st);
    if (code == TD_OK) code = td_rest_regress_response(values, n, out, st);
    free(values);
  }
  if (began) td_api_end(&call);
  if (parsed) td_tensor_release(&examples);
  free(signature_name);
  return code;
}

static td_code handle_classify(rest_request *q, td_buf *out, td_status *st) {
  return handle_examples(q, TD_METHOD_CLASSIFY, out, st);
}

static td_code handle_regress(rest_request *q, td_buf *out, td_status *st) {
  return handle_examples(q, TD_METHOD_REGRESS, out, st);
}

static td_code handle_status(rest_request *q, td_buf *out, td_status *st) {
  td_model_spec spec = spec_of(q, NULL);
  Tensorflow__Serving__GetModelStatusResponse *resp = NULL;
  TD_TRY(td_api_get_model_status(q->api, &spec, &resp, st));
  td_rest_status_json(resp, out);
  tensorflow__serving__get_model_status_response__free_unpacked(resp, NULL);
  return TD_OK;
}

static td_code handle_metadata(rest_request *q, td_buf *out, td_status *st) {
  td_model_spec spec = spec_of(q, NULL);
  Tensorflow__Serving__GetModelMetadataResponse *resp = NULL;
  TD_TRY(td_api_get_model_metadata(q->api, &spec, &resp, st));
  td_code code = td_rest_metadata_json(resp, out, st);
  tensorflow__serving__get_model_metadata_response__free_unpacked(resp, NULL);
  return code;
}

/* GET /healthz: the process answers. */
static td_code handle_health(rest_request *q, td_buf *out, td_status *st) {
  td_buf_puts(out, "ok");
  return TD_OK;
}

/* GET /readyz: 200 "ok" once every configured model has an AVAILABLE version, else 503. */
static td_code handle_ready(rest_request *q, td_buf *out, td_status *st) {
  TD_TRY(td_api_ready(q->api, st));
  td_buf_puts(out, "ok");
  return TD_OK;
}

/* GET /v1/models (tensord): every model with its version states. */
static td_code handle_list(rest_request *q, td_buf *out, td_status *st) {
  return td_rest_model_list(q->api, out, st);
}

typedef td_code (*route_handler)(rest_request *q, td_buf *out, td_status *st);

static const route_handler handlers[] = {
    [TD_ROUTE_STATUS] = handle_status,     [TD_ROUTE_METADATA] = handle_metadata,
    [TD_ROUTE_PREDICT] = handle_predict,   [TD_ROUTE_CLASSIFY] = handle_classify,
    [TD_ROUTE_REGRESS] = handle_regress,   [TD_ROUTE_HEALTH] = handle_health,
    [TD_ROUTE_READY] = handle_ready,       [TD_ROUTE_LIST] = handle_list,
};

void td_rest_handle(void *ctx, const char *method, const char *path, const char *body, size_t len,
                    td_http_response *out) {
  td_rest *rest = ctx;
  if (td_v2_is_path(path)) { /* KServe V2 / Open Inference Protocol (src/v2) */
    td_v2_rest_handle(rest->api, rest->timeout_in_ms, method, path, body, len, out);
    return;
  }
  td_status st = {0};
  td_buf buf;
  td_buf_init(&buf);
  td_route route;
  td_code code = td_route_match(method, path, &route, &st);
  if (code == TD_OK) {
    rest_request q = {.api = rest->api, .route = &route, .body = body, .len = len,
                      .deadline_ns = td_deadline_after_ms(rest->timeout_in_ms)};
    code = handlers[route.kind](&q, &buf, &st);
    td_route_release(&route);
    if (q.deferred) { /* answered through td_http_complete */
      td_buf_release(&buf);
      return;
    }
  }
  if (code != TD_OK) {
    td_buf_reset(&buf);
    td_rest_error_json(st.msg, &buf);
  }
  out->status = td_code_http_status(code);
  out->body = td_buf_detach(&buf, &out->len);
}
