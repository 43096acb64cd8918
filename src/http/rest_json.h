/* rest_json.h — TF Serving's REST JSON codec (util/json_tensor.cc and the REST handler's
 * JSON printing): predict / classify / regress requests in, predictions, results, errors,
 * model status and metadata out. Every message text follows TF Serving exactly (see
 * shared/reference/tfserving-api.md §1.3-§1.9).
 *
 * Requests are parsed without a DOM: td_rest_predict_scan validates the whole body once
 * and records where `instances` / `inputs` lives; td_rest_predict_inputs then converts that
 * span straight into tensors using the signature's dtypes. Nothing recurses on client
 * nesting depth.
 *
 * Ownership: outputs are owned by the caller (free with the matching *_free / td_buf /
 * td_tensor_release). A td_rest_predict_req borrows the body it was scanned from.
 * Thread affinity: none (no global state).
 */
#ifndef TD_HTTP_REST_JSON_H
#define TD_HTTP_REST_JSON_H

#include <stddef.h>

#include "api/api.h"
#include "engine/tensor.h"
#include "model/model.h"
#include "proto/serving.h"
#include "util/buf.h"
#include "util/status.h"

/* Longest "<v>" (compact JSON of a value) quoted in an error text. */
#define TD_REST_VALUE_TEXT_MAX 256

/* ---- predict ---- */
typedef struct td_rest_predict_req {
  const char *body; /* borrowed */
  size_t len;
  char *signature_name;       /* owned; NULL when the key is absent */
  int row_format;             /* 1: "instances", 0: "inputs" */
  size_t value_start, value_end; /* span of the instances / inputs value in body */
  long long num_instances;    /* row format with an array value: its element count */
  int layout_error;           /* TD_REST_BOTH_KEYS / TD_REST_NO_KEY: reported by td_rest_predict_inputs */
  td_budget *budget;          /* set by the caller after the scan: tensors and strings are charged to it
                               * before they are allocated (NULL: unbudgeted) */
  struct td_rest_fast_doc *fast_doc; /* non-NULL: scanned by the simdjson fast path (http/rest_fast.h),
                               * owned; the spans above are then unset and td_rest_predict_inputs
                               * re-scans if it must */
} td_rest_predict_req;

enum { TD_REST_BOTH_KEYS = 1, TD_REST_NO_KEY = 2 };

/* Parses the top level of a predict body (TF Serving §1.6 step 1). Errors
 * (INVALID_ARGUMENT): "JSON Parse error: ...", "JSON Value: <v> Is not object",
 * "'signature_name' key must be a string value.". Step 3 (both / neither of "instances"
 * and "inputs") is only recorded in layout_error and reported by td_rest_predict_inputs,
 * because TF Serving resolves the model and signature (step 2) in between.
 * On error req holds nothing to free (it is still safe to call td_rest_predict_req_free). */
td_code td_rest_predict_scan(const char *body, size_t len, td_rest_predict_req *req, td_status *st) TD_MUST_CHECK;
void td_rest_predict_req_free(td_rest_predict_req *req);

/* Converts the scanned instances / inputs value into one owned tensor per signature input
 * that the request provides (§1.6 steps 2-6: "Failed to get input map for signature: <s>"
 * for a signature without inputs, then the step-3 layout errors, then the conversion),
 * typed by sig->inputs[i].dtype. On success
 * *inputs is a new array of *n entries named by signature alias (borrowed from sig), in
 * signature order; free with td_rest_inputs_free. */
td_code td_rest_predict_inputs(const td_rest_predict_req *req, const td_signature *sig, td_named_tensor **inputs,
                               int *n, td_status *st) TD_MUST_CHECK;
void td_rest_inputs_free(td_named_tensor *inputs, int n);

/* Appends {"predictions": ...} (row_format) or {"outputs": ...} (§1.7). */
td_code td_rest_predict_response(int row_format, const td_named_tensor *outputs, int n, td_buf *out,
                                 td_status *st) TD_MUST_CHECK;

/* ---- classify / regress ---- */
/* Parses a classify/regress body (§1.8; method is "classify" or "regress" for the error
 * text). On success *signature_name is a new string (NULL when absent) and *examples a new
 * 1-D STRING tensor with one serialized tf.Example per entry of "examples" (serialized
 * context prepended when "context" is given). */
td_code td_rest_examples_parse(const char *body, size_t len, const char *method, char **signature_name,
                               td_tensor *examples, td_status *st) TD_MUST_CHECK;
/* The same, charging every serialized example (the context copied into each one) to budget
 * before it is stored (NULL: unbudgeted). */
td_code td_rest_examples_parse_budget(const char *body, size_t len, const char *method, td_budget *budget,
                                      char **signature_name, td_tensor *examples, td_status *st) TD_MUST_CHECK;
/* {"results": [[["label", score], ...], ...]} */
td_code td_rest_classify_response(const td_classify_result *r, td_buf *out, td_status *st) TD_MUST_CHECK;
/* {"results": [v, ...]} */
td_code td_rest_regress_response(const float *values, int n, td_buf *out, td_status *st) TD_MUST_CHECK;

/* ---- errors, status, metadata ---- */
/* {"error": "<message>"} */
void td_rest_error_json(const char *message, td_buf *out);
/* GetModelStatusResponse as proto3 JSON (§1.4). */
void td_rest_status_json(const Tensorflow__Serving__GetModelStatusResponse *r, td_buf *out);
/* GetModelMetadataResponse with the signature_def Any unpacked (§1.5). INTERNAL when an
 * Any does not hold a SignatureDefMap. */
td_code td_rest_metadata_json(const Tensorflow__Serving__GetModelMetadataResponse *r, td_buf *out,
                              td_status *st) TD_MUST_CHECK;

#endif
