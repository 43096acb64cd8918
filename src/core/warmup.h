/* warmup.h — SavedModel warmup (tfserving-api.md §5): replays the requests recorded in
 * <version_dir>/assets.extra/tf_serving_warmup_requests against a just-loaded model, before
 * the manager publishes it, so the first real requests do not pay for lazy initialization.
 *
 * The file is an uncompressed TFRecord of tensorflow.serving.PredictionLog. Each record runs
 * through a replayer the server installs (td_warmup_replayer; the server's replays predict_log,
 * classify_log, regress_log and multi_inference_log through the gRPC handlers, grpc_warmup.h)
 * against a private serving map holding only this model as <model_name>:<version>: TF ignores
 * a warmup request's ModelSpec, so every spec naming no model (or, for MultiInference, the
 * first task's model) is renamed to model_name and pinned to version; responses are
 * discarded. Core never calls up into the front ends itself. Errors (any of them fails the load, as in TF Serving):
 *   DATA_LOSS "<what>. Please verify your warmup data is in TFRecord format." — bad framing/CRC;
 *   INVALID_ARGUMENT "Failed to parse warmup record: ..." — not a PredictionLog;
 *   INVALID_ARGUMENT "Number of warmup records exceeds the maximum (1000) at <path>";
 *   UNIMPLEMENTED "Unsupported log_type for warmup: <n>" — session_run / predict_streamed;
 *   the request's own error, prefixed with "Warmup request <i> failed: ".
 * Records metrics model_warmup_latency / model_warmup_records_read.
 *
 * Ownership: m is borrowed. Thread affinity: any thread (the loader's); m must not be
 * published or freed during the call.
 */
#ifndef TD_CORE_WARMUP_H
#define TD_CORE_WARMUP_H

#include <stddef.h>
#include <stdint.h>

#include "core/servables.h"
#include "model/model.h"
#include "proto/serving.h"
#include "util/status.h"

#define TD_WARMUP_MAX_RECORDS 1000
#define TD_WARMUP_FILE "assets.extra/tf_serving_warmup_requests"

/* Runs one warmup record `iterations` times against map (the model under its name and
 * version, latest); unsupported log types → UNIMPLEMENTED "Unsupported log_type for warmup: <n>". */
typedef td_code (*td_warmup_replay_fn)(void *ctx, td_servables *map, const Tensorflow__Serving__PredictionLog *log,
                                       int iterations, td_status *st);
typedef struct td_warmup_replayer {
  td_warmup_replay_fn fn; /* NULL: a warmup file fails the load with UNIMPLEMENTED */
  void *ctx;
} td_warmup_replayer;

/* iterations: replays per record (< 1 → 1). A missing file is TD_OK (nothing to do). */
td_code td_warmup_replay(td_model *m, const char *model_name, int64_t version, const char *version_dir, int iterations,
                         const td_warmup_replayer *replayer, td_status *st) TD_MUST_CHECK;

/* The server's version loader (a td_model_loader's load/free, core/manager.h; ctx is a
 * td_warmup_loader): td_model_load, then the load metrics (load_attempt_count, load_latency),
 * then — with per_model_batching — the version's batching_params.pbtxt (an invalid file fails
 * the load), then — with enable_warmup — td_warmup_replay. A failed warmup frees the model and fails
 * the load with the warmup's error. The model name and version given to the replay are the
 * version dir's parent and base names. */
typedef struct td_warmup_loader {
  const char *const *tags; /* NULL = {"serve"} */
  int ntags;
  td_model_options model;
  int enable_warmup;      /* --enable_model_warmup */
  int iterations;         /* --num_request_iterations_for_warmup (< 1 → 1) */
  int per_model_batching; /* --enable_per_model_batching_parameters: read batching_params.pbtxt */
  td_warmup_replayer replayer; /* how records run (the server installs the gRPC one) */
} td_warmup_loader;

td_code td_warmup_loader_load(void *ctx, const char *version_dir, td_model **out, td_status *st) TD_MUST_CHECK;
void td_warmup_loader_free(void *ctx, td_model *m);

/* TFRecord framing, for tests and tools: the next record of data[*pos..len) → (*rec, *rec_len)
 * (pointing into data) and advances *pos. Returns TD_OUT_OF_RANGE at a clean end, DATA_LOSS
 * (message without the TFRecord hint) on truncation or a CRC mismatch. */
td_code td_tfrecord_next(const uint8_t *data, size_t len, size_t *pos, const uint8_t **rec, size_t *rec_len,
                         td_status *st) TD_MUST_CHECK;

#endif
