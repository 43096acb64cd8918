/* grpc_warmup.h — the server's warmup replayer (core/warmup.h's td_warmup_replayer): a
 * PredictionLog record runs through the same gRPC handler a real request of its kind takes
 * (Predict, Classify, Regress, MultiInference), on a td_api over the warmup's private serving
 * map, recording no request metrics; responses are discarded.
 * Thread affinity: the loading thread; nothing is kept between calls. */
#ifndef TD_GRPC_GRPC_WARMUP_H
#define TD_GRPC_GRPC_WARMUP_H

#include "core/warmup.h"

td_code td_grpc_warmup_replay(void *ctx, td_servables *map, const Tensorflow__Serving__PredictionLog *log,
                              int iterations, td_status *st) TD_MUST_CHECK;

#endif
