/* fuzz_v2.c — KServe V2 infer bodies (src/v2): the JSON header scan, every input's data decoded
 * for the datatype it names (nested or flat arrays, ranges, counts, the budget), and the raw
 * binary tensor layout (BYTES length prefixes) on the bytes after the header. A tensor or a
 * clear INVALID_ARGUMENT, never a crash, an overread or an allocation the body cannot justify.
 *
 * Input: the first byte picks how many bytes form the JSON header (the rest is binary data, as
 * with Inference-Header-Content-Length). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "v2/v2_internal.h"
#include "v2/v2_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t body_len = size - 1;
  char *body = malloc(body_len + 1);
  memcpy(body, data + 1, body_len);
  body[body_len] = 0;
  size_t hl = body_len ? (size_t)data[0] * body_len / 255 : 0;
  v2_json_req req;
  td_status st;
  td_budget budget;
  td_budget_init(&budget, size, 0, TD_INVALID_ARGUMENT);
  if (v2_json_scan(body, hl, &req, &st) == TD_OK) {
    size_t off = hl;
    for (int i = 0; i < req.n_inputs; i++) {
      const v2_json_input *in = &req.inputs[i];
      td_dtype dt;
      td_shape shape;
      td_tensor t;
      if (!td_v2_dtype(in->datatype, strlen(in->datatype), &dt)) continue;
      if (td_v2_shape(in->name, in->dims, (size_t)in->n_dims, &shape, &st) != TD_OK) continue;
      td_code code;
      if (in->binary_size >= 0) {
        if ((uint64_t)in->binary_size > body_len - off) continue;
        code = td_v2_tensor_from_raw(in->name, dt, &shape, (const uint8_t *)body + off, (size_t)in->binary_size,
                                     &budget, &t, &st);
        off += (size_t)in->binary_size;
      } else {
        code = v2_json_decode_data(in->name, dt, &shape, body, in->data_start, in->data_end, &budget, &t, &st);
      }
      if (code == TD_OK) {
        td_buf out;
        td_buf_init(&out);
        v2_json_write_data(&t, &out);
        td_v2_tensor_to_raw(&t, &out);
        td_buf_release(&out);
        td_tensor_release(&t);
      }
    }
  }
  v2_json_req_free(&req);
  free(body);
  return 0;
}
