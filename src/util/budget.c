/* budget.c — the per-request materialization budget (see budget.h). */
#include "util/budget.h"

void td_budget_init(td_budget *b, size_t request_bytes, int64_t cap, td_code code) {
  if (cap <= 0) cap = TD_BUDGET_DEFAULT_CAP;
  int64_t scaled = request_bytes > (size_t)(INT64_MAX / TD_BUDGET_REQUEST_MULTIPLE)
                       ? INT64_MAX
                       : (int64_t)request_bytes * TD_BUDGET_REQUEST_MULTIPLE;
  int64_t limit = scaled > TD_BUDGET_MIN_BYTES ? scaled : TD_BUDGET_MIN_BYTES;
  b->limit = limit < cap ? limit : cap;
  b->used = 0;
  b->code = code;
}

int64_t td_budget_bytes(int64_t count, int64_t each, int64_t extra) {
  if (count < 0 || each < 0 || extra < 0) return INT64_MAX;
  if (each && count > INT64_MAX / each) return INT64_MAX;
  int64_t n = count * each;
  return n > INT64_MAX - extra ? INT64_MAX : n + extra;
}

td_code td_budget_charge(td_budget *b, int64_t count, int64_t each, const char *what, td_status *st) {
  if (!b) return TD_OK;
  int64_t bytes = td_budget_bytes(count, each, 0);
  if (bytes <= b->limit - b->used) {
    b->used += bytes;
    return TD_OK;
  }
  if (bytes == INT64_MAX)
    return td_status_set(st, b->code,
                         "Request is too large to materialize: %s would take more than %lld bytes (the request's budget "
                         "is max(16 MiB, 32 x its size), capped by --max_request_materialization_bytes)",
                         what, (long long)b->limit);
  return td_status_set(st, b->code,
                       "Request is too large to materialize: %s would take %lld bytes, %lld already used, over the "
                       "request's budget of %lld bytes (max(16 MiB, 32 x its size), capped by "
                       "--max_request_materialization_bytes)",
                       what, (long long)bytes, (long long)b->used, (long long)b->limit);
}
