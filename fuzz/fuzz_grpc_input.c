/* fuzz_grpc_input.c — Classify / Regress / MultiInference request bytes as a gRPC client sends
 * them: the server walks their wire format by hand (grpc/grpc_input.c: model specs, tasks, and
 * tf.Examples with or without a context, kept as raw bytes). Malformed, truncated or
 * contradictory messages: INVALID_ARGUMENT, never a read past the buffer.
 *
 * The first input byte picks Classify/Regress (even) or MultiInference (odd). */
#include <stdint.h>

#include "grpc/grpc_handlers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  td_grpc_example_request r;
  td_status st;
  if (td_grpc_parse_example_request(data + 1, size - 1, data[0] & 1, &r, &st) == TD_OK)
    td_grpc_example_request_release(&r);
  return 0;
}
