/* grpc_profiler.h — tensorflow.ProfilerService (TF Serving registers it with --enable_profiler):
 * tensord answers Profile, Terminate and Monitor with UNIMPLEMENTED and a text pointing to
 * --trace_file, which writes the engine's per-op timings as a Chrome trace (engine/trace.h)
 * instead of an XSpace. Rows of the method table (grpc_handlers.c). No state; any thread.
 */
#ifndef TD_GRPC_GRPC_PROFILER_H
#define TD_GRPC_GRPC_PROFILER_H

#include "grpc/grpc_handlers.h"

#define TD_PROFILER_PROFILE_PATH "/tensorflow.ProfilerService/Profile"
#define TD_PROFILER_TERMINATE_PATH "/tensorflow.ProfilerService/Terminate"
#define TD_PROFILER_MONITOR_PATH "/tensorflow.ProfilerService/Monitor"

/* The text every ProfilerService call answers with (UNIMPLEMENTED). */
#define TD_PROFILER_UNIMPLEMENTED_TEXT                                                                         \
  "tensord does not record XSpace profiles (tensorflow.ProfilerService); start tensord with "                 \
  "--trace_file=PATH for a Chrome trace (chrome://tracing, Perfetto) of per-op timings of every engine run"

/* A td_grpc_handler for every ProfilerService method: UNIMPLEMENTED, TD_PROFILER_UNIMPLEMENTED_TEXT. */
td_code td_grpc_profiler_unimplemented(const td_grpc_ctx *ctx, const ProtobufCMessage *request, const uint8_t *raw,
                                       size_t raw_len, td_grpc_reply *reply, td_status *st);

#endif
