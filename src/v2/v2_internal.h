/* v2_internal.h — pieces shared by the V2 front end's REST and gRPC halves (internal to src/v2):
 * the datatype table, the raw tensor codec (binary extension / raw_*_contents), and the
 * infer flow on td_api (resolve → check each input against the signature → predict → outputs
 * in the requested order).
 *
 * Raw tensor layout (peer-servers.md §4.4): little-endian, row-major, unpadded; BOOL one byte;
 * BYTES a 4-byte little-endian length before each element. tensord runs on little-endian hosts
 * only, so numeric raw bytes are the tensor's own bytes.
 *
 * Ownership: a td_v2_infer owns its input and output tensors and the td_call until
 * td_v2_infer_end; input / output names are borrowed from the request (or the signature).
 * Thread safety: plain functions; one td_v2_infer per request.
 */
#ifndef TD_V2_V2_INTERNAL_H
#define TD_V2_V2_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "engine/tensor.h"
#include "util/buf.h"
#include "util/budget.h"
#include "util/status.h"

#define TD_V2_PLATFORM "tensorflow_savedmodel"
#define TD_V2_SERVER_NAME "tensord"
#define TD_V2_SERVER_VERSION "1.0.0"

/* ---- v2_tensor.c ---- */
/* "FP32" ... for an engine dtype; NULL when V2 has no datatype for it. */
const char *td_v2_datatype(td_dtype dt);
/* The engine dtype of a V2 datatype name (n bytes, case-sensitive); 0 when unknown. */
int td_v2_dtype(const char *name, size_t n, td_dtype *out);
/* dims (n of them) → *out: at most TD_MAX_RANK dims, each >= 0, element count fitting int64;
 * else INVALID_ARGUMENT naming the input. */
td_code td_v2_shape(const char *input, const int64_t *dims, size_t n, td_shape *out, td_status *st) TD_MUST_CHECK;
/* Raw bytes [p, p+len) → a new owned tensor of dt/shape, charged to b before allocation.
 * INVALID_ARGUMENT when len is not exactly what dt/shape needs (BYTES: the length prefixes must
 * cover the bytes exactly and give one element per shape element). */
td_code td_v2_tensor_from_raw(const char *input, td_dtype dt, const td_shape *shape, const uint8_t *p, size_t len,
                              td_budget *b, td_tensor *out, td_status *st) TD_MUST_CHECK;
/* The same, but a numeric (not BOOL) tensor whose bytes are aligned for its dtype is a borrowed
 * view of [p, p+len) (no copy, nothing charged): the bytes must outlive the tensor's use (the
 * request body / message does; the engine copies any feed it passes through to an output). */
td_code td_v2_tensor_view_raw(const char *input, td_dtype dt, const td_shape *shape, const uint8_t *p, size_t len,
                              td_budget *b, td_tensor *out, td_status *st) TD_MUST_CHECK;
/* Raw size of a tensor (BYTES: 4 + len per element). */
size_t td_v2_raw_size(const td_tensor *t);
/* Appends the tensor's raw bytes. */
void td_v2_tensor_to_raw(const td_tensor *t, td_buf *out);
/* Writes the raw bytes into dst (td_v2_raw_size bytes). */
void td_v2_tensor_write_raw(const td_tensor *t, uint8_t *dst);

/* ---- v2_infer.c ---- */
/* A V2 model address → td_model_spec: version "" = latest; decimal digits = that version; any
 * other text = a version label (tensord extension). signature: NULL/"" = the model's default
 * (api_v2.h). Strings are borrowed. */
td_code td_v2_spec(const char *model, const char *version, const char *signature, int64_t deadline_ns,
                   td_model_spec *out, td_status *st) TD_MUST_CHECK;

typedef struct td_v2_infer {
  td_call call;
  int began;
  td_named_tensor *inputs; /* n_inputs decoded so far (owned tensors) */
  int n_inputs;
  size_t cap_inputs;
  const char **filter; /* requested output names (borrowed), n_filter 0 = all */
  int n_filter;
  size_t cap_filter;
  td_named_tensor *outputs; /* after run: in requested order (or signature order) */
  int n_outputs;
} td_v2_infer;

/* td_api_begin on spec (signature defaulted as api_v2.h says). */
td_code td_v2_infer_begin(td_api *api, const td_model_spec *spec, td_v2_infer *inf, td_status *st) TD_MUST_CHECK;
/* Before decoding input `name` of V2 datatype `datatype`: the alias must be in the signature
 * (td_api's error otherwise), the datatype known and equal to the signature's dtype (when the
 * signature records one). *dt: the dtype to decode into. */
td_code td_v2_infer_check_input(td_v2_infer *inf, const char *name, const char *datatype, size_t datatype_len,
                                td_dtype *dt, td_status *st) TD_MUST_CHECK;
/* Takes ownership of t as input `name` (borrowed). */
void td_v2_infer_add_input(td_v2_infer *inf, const char *name, td_tensor *t);
void td_v2_infer_add_output(td_v2_infer *inf, const char *name);
/* td_api_predict; then the outputs in the requested order. Every output must have a V2
 * datatype (else INVALID_ARGUMENT). */
td_code td_v2_infer_run(td_v2_infer *inf, td_status *st) TD_MUST_CHECK;
/* Releases everything (and ends the call). Safe after a failed begin. */
void td_v2_infer_end(td_v2_infer *inf);

#endif
