/* api_inputs.c — the input-set checks of a Predict request, before any value is decoded
 * (TF Serving predict_util.cc VerifyRequestInputsSize, with its exact text):
 *
 *   input size does not match signature: <n>!=<m> len({<request keys>}) != len({<signature
 *   inputs>}). Sent extra: {<request - signature>}. Missing but required: {<signature -
 *   request>}.
 *
 * Every set is printed sorted byte-wise and comma-joined (TF's std::set<string>); the
 * request's keys are a map's, so a key given twice counts once. The check fails when the
 * request has more distinct keys than the signature has inputs, or fewer while the signature
 * has no defaults; an unknown alias in a request of the right size is left to
 * td_api_input_index's text.
 * Invariants: O(n log n) in the number of keys; the message stops growing past what a status
 * can hold (a request with 50k unknown keys builds no 50k-name text). No state; any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "util/buf.h"
#include "util/mem.h"

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A sorted, de-duplicated heap copy of names[0..n); returns the distinct count. */
static int sorted_unique(const char *const *names, int n, const char ***out) {
  const char **v = td_xmalloc(((size_t)n + 1) * sizeof *v);
  if (n) memcpy(v, names, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, cmp_str_ptr);
  int m = 0;
  for (int i = 0; i < n; i++)
    if (!m || strcmp(v[m - 1], v[i])) v[m++] = v[i];
  *out = v;
  return m;
}

/* Appends "{a,b,c}": a[] minus b[] when b is given (both sorted), else all of a. */
static void put_set(td_buf *out, const char *const *a, int na, const char *const *b, int nb) {
  td_buf_putc(out, '{');
  int first = 1;
  for (int i = 0, j = 0; i < na && out->len < TD_STATUS_MSG_MAX; i++) {
    int c = 1;
    while (b && j < nb && (c = strcmp(b[j], a[i])) < 0) j++;
    if (b && j < nb && c == 0) continue;
    if (!first) td_buf_putc(out, ',');
    td_buf_puts(out, a[i]);
    first = 0;
  }
  td_buf_putc(out, '}');
}

td_code td_api_check_input_names(const td_call *call, const char *const *names, int n, td_status *st) {
  const td_signature *sig = call->sig;
  int has_defaults = 0;
  for (int k = 0; k < sig->num_inputs && !has_defaults; k++)
    has_defaults = sig->_defaults && sig->_defaults[k].dtype != TD_DT_INVALID;
  const char **req;
  int nreq = sorted_unique(names, n, &req);
  if (!(nreq > sig->num_inputs || (nreq < sig->num_inputs && !has_defaults))) {
    free(req);
    return TD_OK;
  }
  const char **want = td_xmalloc(((size_t)sig->num_inputs + 1) * sizeof *want);
  for (int k = 0; k < sig->num_inputs; k++) want[k] = sig->inputs[k].alias;
  qsort(want, (size_t)sig->num_inputs, sizeof *want, cmp_str_ptr);
  td_buf b;
  td_buf_init(&b);
  td_buf_printf(&b, "input size does not match signature: %d!=%d len(", nreq, sig->num_inputs);
  put_set(&b, req, nreq, NULL, 0);
  td_buf_puts(&b, ") != len(");
  put_set(&b, want, sig->num_inputs, NULL, 0);
  td_buf_puts(&b, "). Sent extra: ");
  put_set(&b, req, nreq, want, sig->num_inputs);
  td_buf_puts(&b, ". Missing but required: ");
  put_set(&b, want, sig->num_inputs, req, nreq);
  td_buf_putc(&b, '.');
  td_code code = td_status_set(st, TD_INVALID_ARGUMENT, "%s", b.data);
  td_buf_release(&b);
  free(want);
  free(req);
  return code;
}

td_code td_api_missing_input(const td_call *call, int k, const char *const *names, int n, td_status *st) {
  const td_signature *sig = call->sig;
  const char **req;
  int nreq = sorted_unique(names, n, &req);
  const char **defaults = td_xmalloc(((size_t)sig->num_inputs + 1) * sizeof *defaults);
  int nd = 0;
  for (int j = 0; j < sig->num_inputs; j++)
    if (sig->_defaults && sig->_defaults[j].dtype != TD_DT_INVALID) defaults[nd++] = sig->inputs[j].alias;
  qsort(defaults, (size_t)nd, sizeof *defaults, cmp_str_ptr);
  td_buf b;
  td_buf_init(&b);
  td_buf_printf(&b,
                "Signature input alias: %s(feed name: %s) not found in request and no default value provided. "
                "Inputs expected to be in the request ",
                sig->inputs[k].alias, sig->inputs[k].tensor_name);
  put_set(&b, req, nreq, NULL, 0);
  td_buf_puts(&b, ", or default input alias set: ");
  for (int j = 0; j < nd && b.len < TD_STATUS_MSG_MAX; j++) td_buf_printf(&b, "%s%s", j ? "," : "", defaults[j]);
  td_code code = td_status_set(st, TD_INVALID_ARGUMENT, "%s", b.data);
  td_buf_release(&b);
  free(defaults);
  free(req);
  return code;
}
