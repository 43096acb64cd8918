/* fuzz_grpc_input.c — Classify / Regress / MultiInference request bytes as a gRPC client sends
 * them: the server walks their wire format by hand (grpc/grpc_input.c: model specs, tasks, and
 * tf.Examples with or without a context, kept as raw bytes). Malformed, truncated or
 * contradictory messages: INVALID_ARGUMENT, never a read past the buffer.
 *
 * The examples tensor is charged to the server's per-request budget (max(16 MiB, 32 x size)):
 * a context copied into many examples ends in RESOURCE_EXHAUSTED.
 *
 * The first input byte picks Classify/Regress (even) or MultiInference (odd). */
#include <stdint.h>

#include "grpc/grpc_handlers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  td_grpc_example_request r;
  td_status st;
  td_budget budget;
  td_budget_init(&budget, size - 1, 0, TD_RESOURCE_EXHAUSTED);
  if (td_grpc_parse_example_request_budget(data + 1, size - 1, data[0] & 1, &budget, &r, &st) == TD_OK)
    td_grpc_example_request_release(&r);
  return 0;
}
