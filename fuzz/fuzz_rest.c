/* fuzz_rest.c — REST request bodies as TF Serving clients could send them, good or bad:
 * predict (row and columnar, against signatures of several input types), classify/regress
 * examples, and the response writer on whatever parsed. Any input must end in a status, never
 * in a crash, a leak or undefined behaviour (run under ASan/UBSan).
 *
 * The first input byte picks the signature (low bits) and whether the body is gzip-encoded
 * (bit 7: inflated with a 1 MiB cap first, as for Content-Encoding: gzip); the rest is the body.
 * Decoding is charged to the server's per-request budget (max(16 MiB, 32 x body size)), so
 * fan-outs (a context copied into every example) end in the budget's error. */
#include <stdint.h>
#include <stdlib.h>

#include "http/rest_json.h"
#include "util/gzip.h"

static const td_sig_tensor one_float[] = {{.alias = "x", .dtype = TD_DT_FLOAT, .shape = {.rank = -1}}};
static const td_sig_tensor mixed[] = {{.alias = "a", .dtype = TD_DT_FLOAT, .shape = {.rank = -1}},
                                      {.alias = "b", .dtype = TD_DT_STRING, .shape = {.rank = -1}},
                                      {.alias = "c", .dtype = TD_DT_INT64, .shape = {.rank = -1}}};
static const td_sig_tensor typed[] = {{.alias = "flag", .dtype = TD_DT_BOOL, .shape = {.rank = -1}},
                                      {.alias = "half", .dtype = TD_DT_HALF, .shape = {.rank = -1}},
                                      {.alias = "i8", .dtype = TD_DT_INT8, .shape = {.rank = -1}},
                                      {.alias = "u64", .dtype = TD_DT_UINT64, .shape = {.rank = -1}}};
static const td_signature sigs[] = {
    {.key = "serving_default", .num_inputs = 1, .inputs = one_float},
    {.key = "serving_default", .num_inputs = 3, .inputs = mixed},
    {.key = "serving_default", .num_inputs = 4, .inputs = typed},
    {.key = "serving_default", .num_inputs = 0, .inputs = NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const td_signature *sig = &sigs[(data[0] & 0x7f) % (sizeof sigs / sizeof sigs[0])];
  const char *body = (const char *)data + 1;
  size_t len = size - 1;
  td_status st;
  td_buf plain;
  td_buf_init(&plain);
  if (data[0] & 0x80) {
    if (td_gunzip(body, len, 1 << 20, &plain, &st) != TD_OK) {
      td_buf_release(&plain);
      return 0;
    }
    body = plain.data;
    len = plain.len;
  }
  td_budget budget;
  td_budget_init(&budget, len, 0, TD_INVALID_ARGUMENT);
  td_rest_predict_req req;
  if (td_rest_predict_scan(body, len, &req, &st) == TD_OK) {
    req.budget = &budget;
    td_named_tensor *in = NULL;
    int n = 0;
    if (td_rest_predict_inputs(&req, sig, &in, &n, &st) == TD_OK) {
      td_buf out;
      td_buf_init(&out);
      if (td_rest_predict_response(req.row_format, in, n, &out, &st) != TD_OK) st.code = TD_OK;
      td_buf_release(&out);
      td_rest_inputs_free(in, n);
    }
  }
  td_rest_predict_req_free(&req);
  char *signature_name = NULL;
  td_tensor examples;
  td_budget_init(&budget, len, 0, TD_INVALID_ARGUMENT);
  if (td_rest_examples_parse_budget(body, len, data[0] & 1 ? "classify" : "regress", &budget, &signature_name,
                                    &examples, &st) == TD_OK) {
    free(signature_name);
    td_tensor_release(&examples);
  }
  td_buf_release(&plain);
  return 0;
}
