/* fuzz_rest_fast.c — differential: the REST predict fast path (http/rest_fast.h: the dense
 * reader, then simdjson's DOM) must give exactly what the pull reader gives for any body: the
 * same status code and text, or the same tensors (shape, dtype, bytes). Any difference aborts.
 *
 * The first input byte picks the signature: its low 3 bits the dtype (float, double, int32,
 * int64, bool, int8, uint8, string), bit 3 one input "x" or two inputs "a" and "b"; the rest is
 * the body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/rest_fast.h"
#include "http/rest_json.h"
#include "util/budget.h"

typedef struct outcome {
  td_code code;
  char msg[sizeof(((td_status *)0)->msg)];
  int n;
  td_named_tensor *in;
} outcome;

static void convert(const char *body, size_t len, const td_signature *sig, int fast, outcome *o) {
  memset(o, 0, sizeof *o);
  td_rest_fast_set_enabled(fast);
  td_budget budget;
  td_budget_init(&budget, len, 0, TD_INVALID_ARGUMENT);
  td_rest_predict_req req;
  td_status st = {0};
  o->code = td_rest_predict_scan(body, len, &req, &st);
  if (o->code == TD_OK) {
    req.budget = &budget;
    o->code = td_rest_predict_inputs(&req, sig, &o->in, &o->n, &st);
  }
  if (o->code != TD_OK) snprintf(o->msg, sizeof o->msg, "%s", st.msg);
  td_rest_predict_req_free(&req);
  td_rest_fast_set_enabled(1);
}

static int same_tensor(const td_tensor *a, const td_tensor *b) {
  if (a->dtype != b->dtype || !td_shape_equal(&a->shape, &b->shape)) return 0;
  if (a->dtype != TD_DT_STRING) return !memcmp(a->data, b->data, td_tensor_nbytes(a));
  for (int64_t i = 0; i < td_tensor_num_elements(a); i++) {
    const td_string *x = &td_str(a)[i], *y = &td_str(b)[i];
    if (x->len != y->len || memcmp(x->data, y->data, x->len)) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const td_dtype dtypes[] = {TD_DT_FLOAT, TD_DT_DOUBLE, TD_DT_INT32, TD_DT_INT64,
                                    TD_DT_BOOL,  TD_DT_INT8,   TD_DT_UINT8, TD_DT_STRING};
  if (size < 1) return 0;
  td_sig_tensor in[2] = {{.alias = "x", .tensor_name = "x", .shape = {.rank = -1}},
                         {.alias = "b", .tensor_name = "b", .shape = {.rank = -1}}};
  int two = (data[0] >> 3) & 1;
  if (two) in[0].alias = in[0].tensor_name = "a";
  in[0].dtype = in[1].dtype = dtypes[data[0] & 7];
  td_signature sig = {.key = "serving_default", .num_inputs = two ? 2 : 1, .inputs = in};
  char *body = malloc(size); /* its own allocation: reads past the end are caught */
  memcpy(body, data + 1, size - 1);
  outcome fast, pull;
  convert(body, size - 1, &sig, 1, &fast);
  convert(body, size - 1, &sig, 0, &pull);
  int same = fast.code == pull.code && !strcmp(fast.msg, pull.msg) && fast.n == pull.n;
  for (int j = 0; same && j < fast.n; j++) same = same_tensor(&fast.in[j].tensor, &pull.in[j].tensor);
  if (!same) {
    fprintf(stderr, "fast path and pull reader differ: %d '%s' vs %d '%s'\n", fast.code, fast.msg, pull.code, pull.msg);
    abort();
  }
  td_rest_inputs_free(fast.in, fast.n);
  td_rest_inputs_free(pull.in, pull.n);
  free(body);
  return 0;
}
