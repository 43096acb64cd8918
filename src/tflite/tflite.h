/* tflite.h — serving TFLite models (`model.tflite` in a version directory, TF Serving's
 * --prefer_tflite_model) on tensord's engine.
 *
 * td_tflite_saved_model() reads the FlatBuffer (tflite_model.h), translates subgraph 0 into a
 * TF GraphDef whose nodes are the engine's kernels (tflite_internal.h: quantized tensors run
 * as dequantized float, rounded onto each quantized tensor's grid), and wraps it in a
 * SavedModel message with one MetaGraphDef, so the normal loader (model/model.c) serves it
 * over every API. Signatures follow TF Serving's TfLiteSession: the `signature_defs_metadata`
 * FlexBuffer when present (tensor names matched against subgraph-0 inputs/outputs, then with
 * the `:N` suffix dropped, and rewritten to the match), else one `serving_default`
 * (tensorflow/serving/predict) with keys = tensor names without `:N`. Graph names of model
 * inputs/outputs are the TFLite tensor names (`name:k` becomes output k of node `name`).
 * Unsupported operators fail with one UNIMPLEMENTED error naming all of them.
 *
 * Ownership: *out is a heap message freed with td_savedmodel_free (model/savedmodel.h).
 * Thread affinity: none (no global state).
 */
#ifndef TD_TFLITE_TFLITE_H
#define TD_TFLITE_TFLITE_H

#include "proto/tf.h"
#include "util/status.h"

#define TD_TFLITE_MODEL_FILENAME "model.tflite"

/* tags (ntags 0 = {"serve"}) become the MetaGraphDef's tag set so any requested tag set loads,
 * as TF Serving ignores tags for TFLite. what names the source in errors. */
td_code td_tflite_saved_model_from_bytes(const void *bytes, size_t len, const char *what, const char *const *tags,
                                         int ntags, Tensorflow__SavedModel **out, td_status *st) TD_MUST_CHECK;
td_code td_tflite_saved_model(const char *path, const char *const *tags, int ntags, Tensorflow__SavedModel **out,
                              td_status *st) TD_MUST_CHECK;

#endif
