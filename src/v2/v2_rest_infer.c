/* v2_rest_infer.c — POST /v2/models/<m>[/versions/<v>]/infer (see v2.h): the JSON request,
 * the binary tensor extension and the raw binary request, onto td_api via v2_infer.c.
 *
 * Binary extension (§4.4): with Inference-Header-Content-Length the body is the JSON header
 * followed by the binary tensors in input order; binary outputs are appended to the response
 * in output order, marked with parameters.binary_data_size, and the response carries
 * Inference-Header-Content-Length and Content-Type application/octet-stream.
 * Invariants: one exit per handler, everything taken is released; binary inputs are views of
 * the body, which outlives the call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json/json.h"
#include "v2/v2_internal.h"
#include "v2/v2_json.h"
#include "v2/v2_rest.h"

#define HEADER_LENGTH "Inference-Header-Content-Length"

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

td_code v2_rest_infer(v2_request *q, td_buf *out, td_status *st) {
  size_t hl;
  int binary_request;
  TD_TRY(header_length(q, &hl, &binary_request, st));
  if (binary_request && hl == 0) {
    v2_json_req none = {.binary_output = 1};
    td_v2_infer inf;
    td_model_spec spec;
    td_code code = v2_rest_spec(q, NULL, &spec, st);
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
  if (code == TD_OK) code = v2_rest_spec(q, req.signature_name, &spec, st);
  if (code == TD_OK) code = td_v2_infer_begin(q->api, &spec, &inf, st);
  if (code == TD_OK) code = decode_inputs(q, &req, hl, &inf, st);
  for (int i = 0; code == TD_OK && i < req.n_outputs; i++) td_v2_infer_add_output(&inf, req.outputs[i].name);
  if (code == TD_OK) code = td_v2_infer_run(&inf, st);
  if (code == TD_OK) finish_response(q, &req, &inf, out);
  td_v2_infer_end(&inf);
  v2_json_req_free(&req);
  return code;
}

