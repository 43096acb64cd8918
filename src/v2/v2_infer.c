/* v2_infer.c — the V2 infer flow on td_api, shared by REST and gRPC (see v2_internal.h).
 * Every decision (servable and version, labels, signature, input/output validation, batching,
 * metrics) is td_api's; this file only maps V2's names (version strings, datatypes) onto it
 * and orders the outputs as the request asked. */
#include <stdlib.h>
#include <string.h>

#include "api/api_v2.h"
#include "util/mem.h"
#include "v2/v2_internal.h"

td_code td_v2_spec(const char *model, const char *version, const char *signature, int64_t deadline_ns,
                   td_model_spec *out, td_status *st) {
  memset(out, 0, sizeof *out);
  out->name = model;
  out->version = -1;
  out->signature_name = signature;
  out->deadline_ns = deadline_ns;
  if (!model || !*model) return td_status_set(st, TD_INVALID_ARGUMENT, "Missing model name in request.");
  if (!version || !*version) return TD_OK;
  size_t n = strspn(version, "0123456789");
  if (version[n]) {
    out->version_label = version; /* tensord extension: a label in the version slot */
    return TD_OK;
  }
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    int d = version[i] - '0';
    if (v > (INT64_MAX - d) / 10)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Failed to convert version: %s to numeric.", version);
    v = v * 10 + d;
  }
  out->version = v;
  return TD_OK;
}

td_code td_v2_infer_begin(td_api *api, const td_model_spec *spec, td_v2_infer *inf, td_status *st) {
  memset(inf, 0, sizeof *inf);
  td_model_spec s = *spec;
  char key[256];
  if (!s.signature_name || !*s.signature_name) {
    /* V2 names no signature: the model's default (api_v2.h), looked up on the version addressed */
    td_handle h;
    const td_signature *sig;
    if (td_api_v2_resolve(api, spec, &h, &sig, NULL) == TD_OK) {
      snprintf(key, sizeof key, "%s", sig->key);
      s.signature_name = key;
      td_handle_release(&h);
    }
  }
  TD_TRY(td_api_begin(api, &s, TD_METHOD_PREDICT, &inf->call, st));
  inf->began = 1;
  return TD_OK;
}

td_code td_v2_infer_check_input(td_v2_infer *inf, const char *name, const char *datatype, size_t datatype_len,
                                td_dtype *dt, td_status *st) {
  int k;
  TD_TRY(td_api_input_index(&inf->call, name, &k, st));
  for (int i = 0; i < inf->n_inputs; i++)
    if (!strcmp(inf->inputs[i].name, name))
      return td_status_set(st, TD_INVALID_ARGUMENT, "duplicate input tensor alias: %s", name);
  if (!td_v2_dtype(datatype, datatype_len, dt))
    return td_status_set(st, TD_INVALID_ARGUMENT, "invalid datatype '%.*s' for inference input '%s'",
                         (int)(datatype_len > 64 ? 64 : datatype_len), datatype, name);
  td_dtype want = inf->call.sig->inputs[k].dtype;
  if (want != TD_DT_INVALID && want != *dt) {
    const char *w = td_v2_datatype(want);
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "inference input '%s' data-type is '%.*s', but model '%s' expects '%s'", name,
                         (int)datatype_len, datatype, inf->call.handle.name, w ? w : td_dtype_name(want));
  }
  return TD_OK;
}

void td_v2_infer_add_input(td_v2_infer *inf, const char *name, td_tensor *t) {
  TD_GROW(inf->inputs, inf->cap_inputs, inf->n_inputs + 1);
  inf->inputs[inf->n_inputs].name = name;
  inf->inputs[inf->n_inputs++].tensor = *t;
  memset(t, 0, sizeof *t);
}

void td_v2_infer_add_output(td_v2_infer *inf, const char *name) {
  TD_GROW(inf->filter, inf->cap_filter, inf->n_filter + 1);
  inf->filter[inf->n_filter++] = name;
}

td_code td_v2_infer_run(td_v2_infer *inf, td_status *st) {
  td_named_tensor *outs = NULL;
  int n = 0;
  TD_TRY(td_api_predict(&inf->call, inf->inputs, inf->n_inputs, inf->filter, inf->n_filter, &outs, &n, st));
  /* td_api returns them sorted by alias; V2 answers in the order the request asked */
  if (inf->n_filter) {
    td_named_tensor *ordered = td_xcalloc((size_t)n + 1, sizeof *ordered);
    for (int i = 0; i < inf->n_filter; i++)
      for (int j = 0; j < n; j++)
        if (outs[j].name && !strcmp(outs[j].name, inf->filter[i])) {
          ordered[i] = outs[j];
          outs[j].name = NULL;
        }
    free(outs);
    outs = ordered;
  }
  inf->outputs = outs;
  inf->n_outputs = n;
  for (int i = 0; i < n; i++)
    if (!td_v2_datatype(outs[i].tensor.dtype))
      return td_status_set(st, TD_INVALID_ARGUMENT, "output '%s' has dtype %s, which has no V2 datatype",
                           outs[i].name, td_dtype_name(outs[i].tensor.dtype));
  return TD_OK;
}

void td_v2_infer_end(td_v2_infer *inf) {
  if (inf->outputs) td_api_outputs_free(inf->outputs, inf->n_outputs);
  for (int i = 0; i < inf->n_inputs; i++) td_tensor_release(&inf->inputs[i].tensor);
  free(inf->inputs);
  free(inf->filter);
  if (inf->began) td_api_end(&inf->call);
  memset(inf, 0, sizeof *inf);
}
