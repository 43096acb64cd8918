/* validate.c — checking request inputs against a signature's TensorInfo shapes.
 *
 * What TF Serving does (predict_util.cc RunPredict → Session::Run): it validates input
 * aliases only, then feeds the tensors; the session checks each feed's dtype against its
 * placeholder ("Expects arg[0] to be float but string is provided", done by the callable in
 * tensord) and never checks shapes — a Keras Flatten model declared [-1,28,28] answers a
 * [1,784] request. SignatureDef dtypes/shapes are also unreliable in old exports
 * (saved_model_half_plus_three's regress signature declares DT_FLOAT for its string
 * tf_example input; producer-15 exports leave them unset). So tensord accepts what TF Serving
 * accepts, and uses the recorded shape to explain failures: when a run fails with
 * INVALID_ARGUMENT, td_signature_explain_failure appends " (input 'x' of signature 's' has
 * shape [2,5] but the signature declares [-1,28,28])" to TF's kernel message, naming the
 * first input whose shape conflicts with its declaration; TF's text stays a prefix.
 *
 * Invariants: the functions only read their arguments; an unknown rank (-1) or dim (-1) in
 * the signature matches anything; inputs with dtype TD_DT_INVALID (not provided) are skipped.
 */
#include <stdio.h>
#include <string.h>

#include "model/model.h"

int td_sig_shape_compatible(const td_shape *declared, const td_shape *got) {
  if (declared->rank < 0) return 1;
  if (declared->rank != got->rank) return 0;
  for (int d = 0; d < declared->rank; d++)
    if (declared->dim[d] >= 0 && declared->dim[d] != got->dim[d]) return 0;
  return 1;
}

int td_signature_shape_hint(const td_signature *sig, const td_tensor *inputs, char *buf, size_t n) {
  if (n) buf[0] = 0;
  for (int i = 0; i < sig->num_inputs; i++) {
    const td_sig_tensor *in = &sig->inputs[i];
    if (inputs[i].dtype == TD_DT_INVALID || td_sig_shape_compatible(&in->shape, &inputs[i].shape)) continue;
    char want[160], got[160];
    td_shape_str(&in->shape, want, sizeof want);
    td_shape_str(&inputs[i].shape, got, sizeof got);
    snprintf(buf, n, "input '%s' of signature '%s' has shape %s but the signature declares %s", in->alias,
             sig->key, got, want);
    return 1;
  }
  return 0;
}

td_code td_signature_check_shapes(const td_signature *sig, const td_tensor *inputs, td_status *st) {
  char hint[TD_STATUS_MSG_MAX];
  if (!td_signature_shape_hint(sig, inputs, hint, sizeof hint)) return TD_OK;
  return td_status_set(st, TD_INVALID_ARGUMENT, "%s", hint);
}

void td_signature_explain_failure(const td_signature *sig, const td_tensor *inputs, td_status *st) {
  if (!st || st->code != TD_INVALID_ARGUMENT) return;
  char hint[TD_STATUS_MSG_MAX / 2];
  if (!td_signature_shape_hint(sig, inputs, hint, sizeof hint)) return;
  size_t len = strlen(st->msg);
  if (len + 4 < sizeof st->msg) snprintf(st->msg + len, sizeof st->msg - len, " (%s)", hint);
}
