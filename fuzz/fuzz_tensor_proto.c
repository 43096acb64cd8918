/* fuzz_tensor_proto.c — what a gRPC client sends: a serialized PredictRequest, unpacked as the
 * gRPC front end does, each input TensorProto converted to a tensor and back (typed fields and
 * tensor_content). Malformed protobuf, shapes that disagree with the data, huge dims, bad
 * dtypes: a status, never a crash. Like the server, decoding is charged to the request's budget
 * (max(16 MiB, 32 x size)): a 1 KB string repeated over a huge shape is RESOURCE_EXHAUSTED. */
#include <stdint.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "proto/serving.h"
#include "util/budget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Tensorflow__Serving__PredictRequest *req = tensorflow__serving__predict_request__unpack(NULL, size, data);
  if (!req) return 0;
  td_budget budget;
  td_budget_init(&budget, size, 0, TD_RESOURCE_EXHAUSTED);
  for (size_t i = 0; i < req->n_inputs; i++) {
    const Tensorflow__TensorProto *tp = req->inputs[i]->value;
    if (!tp) continue;
    td_tensor t;
    td_status st;
    if (td_tensor_from_proto_budget(tp, &t, &budget, "an input", &st) != TD_OK) continue;
    for (int as_content = 0; as_content <= 1; as_content++) {
      Tensorflow__TensorProto *back = NULL;
      if (td_tensor_to_proto(&t, as_content && t.dtype != TD_DT_STRING, &back, &st) == TD_OK)
        tensorflow__tensor_proto__free_unpacked(back, NULL);
    }
    td_tensor_release(&t);
  }
  tensorflow__serving__predict_request__free_unpacked(req, NULL);
  return 0;
}
