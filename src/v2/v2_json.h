/* v2_json.h — the V2 REST JSON codec (internal to src/v2): the $inference_request header
 * (peer-servers.md §4.2/§4.3) scanned into a small struct, tensor data decoded from a JSON
 * array (nested or flat, row-major), outputs written as JSON or as binary-extension tensors.
 *
 * Ownership: a v2_json_req owns its strings; data spans are offsets into the body it was
 * scanned from (the body must outlive the decode). Thread affinity: one request, one thread.
 */
#ifndef TD_V2_V2_JSON_H
#define TD_V2_V2_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "engine/tensor.h"
#include "util/buf.h"
#include "util/budget.h"
#include "util/status.h"
#include "v2/v2_internal.h"

typedef struct v2_json_input {
  char *name, *datatype;
  int64_t dims[TD_MAX_RANK];
  int n_dims;              /* rank given (> TD_MAX_RANK is rejected while scanning) */
  int has_shape;
  int64_t binary_size;     /* parameters.binary_data_size, -1 when absent */
  size_t data_start, data_end; /* the "data" value's span in the body; data_end 0 = none */
} v2_json_input;

typedef struct v2_json_output {
  char *name;
  int binary; /* parameters.binary_data: -1 unset, 0, 1 */
} v2_json_output;

typedef struct v2_json_req {
  char *id; /* NULL when absent */
  char *signature_name;
  int binary_output; /* parameters.binary_data_output: -1 unset, 0, 1 */
  v2_json_input *inputs;
  int n_inputs;
  size_t cap_inputs;
  v2_json_output *outputs;
  int n_outputs;
  size_t cap_outputs;
} v2_json_req;

/* Scans the JSON header body[0, len): syntax errors as "JSON Parse error: ...", a missing or
 * mistyped member as INVALID_ARGUMENT naming it. */
td_code v2_json_scan(const char *body, size_t len, v2_json_req *req, td_status *st) TD_MUST_CHECK;
void v2_json_req_free(v2_json_req *req);

/* The body of POST /v2/repository/index: empty, or {"ready": bool} (other members skipped). */
td_code v2_json_scan_index(const char *body, size_t len, int *ready_only, td_status *st) TD_MUST_CHECK;

/* The body of POST /v2/repository/models/<m>/(load|unload): empty, or {"parameters": {...}}
 * (other members skipped); *overrides = 1 when parameters carry "config" or "file:<path>"
 * members (Triton's load with a config / files override). */
td_code v2_json_scan_repository(const char *body, size_t len, int *overrides, td_status *st) TD_MUST_CHECK;

/* Decodes the data value at body[start, end) into a new tensor of dt/shape charged to b:
 * any nesting, flattened row-major; the element count must equal the shape's. */
td_code v2_json_decode_data(const char *input, td_dtype dt, const td_shape *shape, const char *body, size_t start,
                            size_t end, td_budget *b, td_tensor *out, td_status *st) TD_MUST_CHECK;

/* Appends the JSON array of t's elements (flat, row-major). */
void v2_json_write_data(const td_tensor *t, td_buf *out);
/* Appends "[d0,d1,...]". */
void v2_json_write_shape(const td_shape *s, td_buf *out);

#endif
