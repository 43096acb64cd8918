/* grpc_profiler.c — tensorflow.ProfilerService answered UNIMPLEMENTED (see grpc_profiler.h). */
#include "grpc/grpc_profiler.h"

td_code td_grpc_profiler_unimplemented(const td_grpc_ctx *ctx, const ProtobufCMessage *request, const uint8_t *raw,
                                       size_t raw_len, td_grpc_reply *reply, td_status *st) {
  (void)ctx, (void)request, (void)raw, (void)raw_len, (void)reply;
  return td_status_set(st, TD_UNIMPLEMENTED, "%s", TD_PROFILER_UNIMPLEMENTED_TEXT);
}
