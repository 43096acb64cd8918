/* fake_model.h — a tiny generated SavedModel for tests that must not depend on ../shared.
 *
 * The model is TF Serving's half_plus_two shape with a variable offset: y = 0.5 * x + add
 * (float32, any shape), written as a text-format SavedModel (saved_model.pbtxt, no variables)
 * and loaded through the real td_model_load, so api, serving-map, batching, warmup and gRPC
 * tests exercise the same code as real models. Its signatures:
 *   "serving_default"  predict   inputs {x: float [-1]}            outputs {y: float [-1]}
 *   "regress_x_to_y"   regress   inputs {inputs: string [-1]}      outputs {outputs: float [-1, 1]}
 *   "classify_x_to_y"  classify  inputs {inputs: string [-1]}      outputs {scores: float [-1, 1]}
 * classify/regress parse serialized tf.Examples with one required float feature "x" of shape [1].
 *
 * Ownership: every returned string and model belongs to the caller. Thread affinity: none
 * (each call writes its own files); the temp-dir helpers are for tests only.
 */
#ifndef TD_TESTS_FAKES_FAKE_MODEL_H
#define TD_TESTS_FAKES_FAKE_MODEL_H

#include "model/model.h"
#include "util/status.h"

/* Writes <dir>/saved_model.pbtxt (creating dir and its parents) for y = 0.5 * x + add. */
td_code td_fake_model_write(const char *dir, float add, td_status *st) TD_MUST_CHECK;

/* The same with x (and y) of a fixed shape: x_shape is a TensorShapeProto's text body, e.g.
 * "dim { size: -1 } dim { size: 3 } dim { size: 3 }" (TF's matrix_half_plus_two); NULL = any
 * shape (an unknown-rank Placeholder, signature shape [-1]). */
td_code td_fake_model_write_shape(const char *dir, float add, const char *x_shape, td_status *st) TD_MUST_CHECK;

/* <base>/<name>/<version>/ holding a fake model with add = version (so a response tells which
 * version answered: y(x) = 0.5 * x + version). */
td_code td_fake_model_version(const char *base, const char *name, long long version, td_status *st) TD_MUST_CHECK;

/* A loaded fake model (written to a fresh temp dir, loaded, the dir removed); NULL on failure
 * (the reason in st). Free with td_model_free. */
td_model *td_fake_model_new(float add, td_status *st);
td_model *td_fake_model_new_shape(float add, const char *x_shape, td_status *st);

/* A fresh empty directory under $TMPDIR (or /tmp) named td_<tag>_XXXXXX; heap string. */
char *td_fake_tempdir(const char *tag);
/* rm -rf dir (a path made by td_fake_tempdir). */
void td_fake_rmtree(const char *dir);

/* A serialized tf.Example {"x": float_list [x]} into buf (>= 32 bytes); returns its length. */
size_t td_fake_example(float x, unsigned char *buf);

#endif
