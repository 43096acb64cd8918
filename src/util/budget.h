/* budget.h — the per-request materialization budget (issue 12, point 1).
 *
 * Every decoder that turns request bytes into server memory (TensorProto fills and string
 * copies, Classify/Regress context fan-out, REST JSON values) charges the bytes it is about to
 * allocate *before* allocating them. A request's budget is max(TD_BUDGET_MIN_BYTES,
 * TD_BUDGET_REQUEST_MULTIPLE x its size), capped by --max_request_materialization_bytes, so a
 * few bytes on the wire can never make the server allocate gigabytes.
 *
 * Bytes are counted as the server really stores them: a STRING element is sizeof(td_string)
 * plus its bytes and the NUL; numeric elements their dtype size. Borrowed views of the request
 * (tensor_content fed without a copy) cost nothing.
 *
 * Ownership / threads: a budget lives on one request's stack; not shared between threads.
 * A NULL budget means "unbudgeted" (tools, model loading) everywhere it is accepted.
 */
#ifndef TD_UTIL_BUDGET_H
#define TD_UTIL_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "util/status.h"

#define TD_BUDGET_MIN_BYTES ((int64_t)16 << 20)
#define TD_BUDGET_REQUEST_MULTIPLE 32
#define TD_BUDGET_DEFAULT_CAP ((int64_t)1 << 30) /* --max_request_materialization_bytes default */

typedef struct td_budget {
  int64_t limit; /* bytes this request may materialize */
  int64_t used;
  td_code code;  /* reported when over: RESOURCE_EXHAUSTED (gRPC) or INVALID_ARGUMENT (REST: HTTP 400) */
} td_budget;

/* limit = min(cap, max(16 MiB, 32 x request_bytes)); cap <= 0 = TD_BUDGET_DEFAULT_CAP. */
void td_budget_init(td_budget *b, size_t request_bytes, int64_t cap, td_code code);

/* Charges count x each bytes (saturating: no overflow) for `what` (e.g. "input x"). Over the
 * limit: b->code with a message naming the limit and the flag; nothing is charged then.
 * b == NULL: always TD_OK. */
td_code td_budget_charge(td_budget *b, int64_t count, int64_t each, const char *what, td_status *st) TD_MUST_CHECK;

/* count x each + extra, saturating at INT64_MAX (count, each, extra >= 0). */
int64_t td_budget_bytes(int64_t count, int64_t each, int64_t extra);

#endif
