/* status.h — tensord's one status space.
 *
 * Every fallible function returns a td_code: TD_OK (0) or a canonical error code
 * (the gRPC / tensorflow.error numbering, so front ends map it without a switch).
 * Detail text travels in an optional td_status out-parameter, filled where the
 * failure happens; callers higher up may prefix context with td_status_prefix().
 *
 * Invariants: a td_status with code TD_OK has an empty message. All functions
 * accept st == NULL (the code is still returned). Thread affinity: none; a
 * td_status belongs to its caller's stack.
 */
#ifndef TD_UTIL_STATUS_H
#define TD_UTIL_STATUS_H

#include <stddef.h>

typedef enum td_code {
#define TD_STATUS(name, code, http) TD_##name = code,
#include "util/status.def"
#undef TD_STATUS
} td_code;

#define TD_STATUS_MSG_MAX 1024

typedef struct td_status {
  td_code code;
  char msg[TD_STATUS_MSG_MAX];
} td_status;

#if defined(__GNUC__)
#define TD_MUST_CHECK __attribute__((warn_unused_result))
#define TD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TD_MUST_CHECK
#define TD_PRINTF(f, a)
#endif

/* Sets code and message (printf-style); returns code. st may be NULL. */
td_code td_status_set(td_status *st, td_code code, const char *fmt, ...) TD_PRINTF(3, 4);
/* Prepends "<context>: " to the message, keeps the code; returns the code. */
td_code td_status_prefix(td_status *st, const char *fmt, ...) TD_PRINTF(2, 3);
void td_status_clear(td_status *st);
/* "INVALID_ARGUMENT", ... ; "UNKNOWN" for codes outside the table. */
const char *td_code_name(td_code code);
/* TF Serving's HTTP status for a code (500 for codes outside the table). */
int td_code_http_status(td_code code);

/* Propagate a failure: evaluates expr once and returns its code if not TD_OK. */
#define TD_TRY(expr)                                                                   \
  do {                                                                                 \
    td_code td_try_code_ = (expr);                                                     \
    if (td_try_code_ != TD_OK) return td_try_code_;                                    \
  } while (0)

#endif
