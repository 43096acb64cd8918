/* model.h — a loaded SavedModel: its session, restored variables and runnable signatures.
 *
 * td_model_load() follows TF's loader protocol exactly: pick the MetaGraphDef by tag set,
 * import its graph, run saver_def.restore_op_name with the checkpoint prefix
 * <dir>/variables/variables fed (when variables/ exists), run the init op
 * (__saved_model_init_op → saved_model_main_op → legacy_init_op) with every asset tensor fed
 * <dir>/assets/<file>, freeze variables when no signature writes state, then prepare one
 * callable per signature (pruned and constant-folded). Before importing anything it scans the
 * ops the restore/init ops and each signature need (opscan.h), so a model using ops tensord
 * lacks fails with one error listing all of them, not the first one met.
 *
 * Ownership: td_model owns everything it points to; td_signature pointers are valid until
 * td_model_free. Thread safety: td_model_run may be called concurrently from any thread.
 */
#ifndef TD_MODEL_MODEL_H
#define TD_MODEL_MODEL_H

#include "engine/engine.h"
#include "util/status.h"

typedef struct td_model td_model;

typedef struct td_sig_tensor {
  const char *alias;       /* key in the SignatureDef's inputs/outputs map */
  const char *tensor_name; /* "node:index" */
  td_dtype dtype;          /* TD_DT_INVALID when the SignatureDef does not record it */
  td_shape shape;          /* rank -1 when unknown */
} td_sig_tensor;

typedef struct td_signature {
  const char *key;         /* "serving_default", ... */
  const char *method_name; /* "tensorflow/serving/predict", ... */
  int num_inputs;
  const td_sig_tensor *inputs;  /* sorted by alias */
  int num_outputs;
  const td_sig_tensor *outputs; /* sorted by alias */
  /* private */
  const Tensorflow__SignatureDef *_def;
  td_callable *_callable;
  const td_tensor *_defaults; /* per input: SignatureDef.defaults value, dtype INVALID if none */
  char *_error; /* why the signature could not be prepared (NULL = servable; see td_signature_error) */
} td_signature;

typedef struct td_model_options {
  int intra_op_threads; /* 0 = library default */
  int prefer_tflite_model; /* --prefer_tflite_model: load <dir>/model.tflite when present (tflite/tflite.h) */
} td_model_options;

/* tags: e.g. {"serve"}; ntags 0 means {"serve"}. opt may be NULL. */
td_code td_model_load(const char *dir, const char *const *tags, int ntags,
                      const td_model_options *opt, td_model **out, td_status *st) TD_MUST_CHECK;
void td_model_free(td_model *m);

/* Per-model batching parameters (--enable_per_model_batching_parameters: the version's
 * batching_params.pbtxt, see batching/batching.h), owned by the model (plain data, freed with
 * free()) and set before the model is published; NULL (the default) = the server's. */
struct td_batching_params;
void td_model_set_batching_params(td_model *m, struct td_batching_params *p);
const struct td_batching_params *td_model_batching_params(const td_model *m);

int td_model_num_signatures(const td_model *m);
/* NULL when the signature is servable, else why it could not be prepared (e.g. "Op type not
 * registered ..."). A model loads when at least one signature prepares (the others are logged
 * as warnings and answer FAILED_PRECONDITION with this text); when none does, the load fails
 * with one error naming every unsupported op the signatures need. */
const char *td_signature_error(const td_signature *sig);
/* Signatures sorted by key (excluding "__saved_model_init_op"). */
const td_signature *td_model_signature(const td_model *m, int i);
const td_signature *td_model_find_signature(const td_model *m, const char *key);
/* The MetaGraphDef the model was loaded from (for metadata / show). */
const Tensorflow__MetaGraphDef *td_model_meta_graph(const td_model *m);

/* Runs a signature. inputs[i] feeds sig->inputs[i]; a tensor with dtype TD_DT_INVALID means
 * "not provided" (the SignatureDef default is used, else INVALID_ARGUMENT). On success
 * outputs[j] holds an owned tensor for sig->outputs[j]. */
td_code td_model_run(td_model *m, const td_signature *sig, const td_tensor *inputs,
                     td_tensor *outputs, td_status *st) TD_MUST_CHECK;
/* td_model_run with run options (deadline); opt may be NULL. */
td_code td_model_run_opts(td_model *m, const td_signature *sig, const td_tensor *inputs, td_tensor *outputs,
                          const td_run_options *opt, td_status *st) TD_MUST_CHECK;

/* ---- input checks against the SignatureDef (validate.c) ---- */
/* 1 when `got` fits `declared` (unknown rank / dims match anything). */
int td_sig_shape_compatible(const td_shape *declared, const td_shape *got);
/* Writes a description of the first provided input whose shape conflicts with the signature
 * into buf and returns 1; 0 (and "") when all fit. */
int td_signature_shape_hint(const td_signature *sig, const td_tensor *inputs, char *buf, size_t n);
/* Strict check: INVALID_ARGUMENT with that description. TF Serving does not check shapes, so
 * td_model_run does not call this; it is for callers that want strictness. */
td_code td_signature_check_shapes(const td_signature *sig, const td_tensor *inputs, td_status *st) TD_MUST_CHECK;
/* After a failed run: appends " (<description>)" to an INVALID_ARGUMENT message. */
void td_signature_explain_failure(const td_signature *sig, const td_tensor *inputs, td_status *st);

#endif
