/* json.h — a small, allocation-light JSON pull reader and writer helpers.
 *
 * Reader: walks a byte span [begin, end) without building a DOM. The caller asks for the
 * next value's type, then reads it (number, string, literal), enters it (object/array
 * iteration) or skips it (iterative: nesting depth is bounded only by memory, never by the
 * C stack). Dialect = rapidjson with kParseNanAndInfFlag: NaN, Inf, Infinity (optionally
 * with '-') are numbers; strings are not UTF-8-validated; bytes after the top-level value
 * are ignored (kParseStopWhenDoneFlag). Syntax errors carry rapidjson's English message and
 * byte offset; td_json_error_status renders TF Serving's
 * "JSON Parse error: <message> at offset: <n>".
 *
 * Invariants: once r->err is set, every reader call fails without moving. Strings returned
 * by the reader point either into the input (no escapes) or into a scratch buffer owned by
 * the reader (keys and values use separate scratch buffers), valid until the next key /
 * string read respectively.
 *
 * Ownership: the reader borrows the input; td_json_reader_free releases its scratch
 * buffers. Thread affinity: a reader belongs to one thread.
 */
#ifndef TD_JSON_JSON_H
#define TD_JSON_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/status.h"

/* rapidjson's type order (kNullType .. kNumberType). */
typedef enum td_json_type {
  TD_JSON_NULL,
  TD_JSON_FALSE,
  TD_JSON_TRUE,
  TD_JSON_OBJECT,
  TD_JSON_ARRAY,
  TD_JSON_STRING,
  TD_JSON_NUMBER,
} td_json_type;

/* "Null", "False", "True", "Object", "Array", "String", "Number". */
const char *td_json_type_name(td_json_type t);

/* A parsed number, classified like rapidjson: integer tokens that fit int64/uint64 keep
 * their exact value; tokens with a fraction or exponent, NaN/Inf, and integers out of
 * 64-bit range are doubles. */
typedef struct td_json_number {
  int is_double;  /* 1: fraction/exponent/NaN/Inf/overflow; value in d */
  int negative;   /* integer sign (is_double == 0) */
  uint64_t mag;   /* integer magnitude (is_double == 0) */
  double d;       /* always set: the value as a double */
} td_json_number;

/* rapidjson IsInt / IsInt64 / IsUint / IsUint64 / IsDouble for a number. */
int td_json_number_is_int32(const td_json_number *n);
int td_json_number_is_int64(const td_json_number *n);
int td_json_number_is_uint32(const td_json_number *n);
int td_json_number_is_uint64(const td_json_number *n);
int64_t td_json_number_int64(const td_json_number *n);   /* valid when is_int64 */
uint64_t td_json_number_uint64(const td_json_number *n); /* valid when is_uint64 */

typedef struct td_json_str {
  const char *data;
  size_t len;
} td_json_str;

typedef struct td_json_reader {
  const char *begin, *p, *end;
  const char *err;  /* rapidjson message, NULL while fine */
  size_t err_offset;
  td_buf key_scratch, val_scratch;
  unsigned char *stack; /* skip: container kinds of open levels */
  size_t stack_cap;
} td_json_reader;

/* Iteration state for one object or array (zero-initialize, or use TD_JSON_ITER_INIT). */
typedef struct td_json_iter {
  int started;
} td_json_iter;
#define TD_JSON_ITER_INIT {0}

void td_json_reader_init(td_json_reader *r, const char *data, size_t len);
void td_json_reader_free(td_json_reader *r);

/* Offset of the next unread byte. */
static inline size_t td_json_offset(const td_json_reader *r) { return (size_t)(r->p - r->begin); }
/* Skips whitespace; returns 1 if the input ended. */
int td_json_at_end(td_json_reader *r);

/* Type of the next value (skipping whitespace). Returns -1 and sets an error when no value
 * can start here ("Invalid value." / "The document is empty." at the top). Literals and
 * numbers are only classified by their first byte; reading them validates them. */
int td_json_peek(td_json_reader *r);

/* Containers. *_next returns 1 when a member/element follows (the reader is then at its
 * value; for objects *key holds the name), 0 at the closing bracket (consumed), -1 on a
 * syntax error. The opening bracket is consumed by the first call. */
int td_json_object_next(td_json_reader *r, td_json_iter *it, td_json_str *key);
int td_json_array_next(td_json_reader *r, td_json_iter *it);

/* Scalars: return 0 on success, -1 on a syntax error or a value of another type (then an
 * "Invalid value." error is recorded; callers check the type with td_json_peek first). */
int td_json_read_number(td_json_reader *r, td_json_number *out);
/* Fast path for float data: a plain decimal -?(0|[1-9][0-9]*)(.[0-9]+)? with at most 19
 * significant digits at the reader (after td_json_peek said NUMBER) is consumed and *out set to
 * the correctly rounded double (what td_json_read_number gives): returns 1. Anything else
 * (exponents, more digits, NaN/Infinity, errors) returns 0 and consumes nothing. */
int td_json_read_plain_double(td_json_reader *r, double *out);
int td_json_read_string(td_json_reader *r, td_json_str *out);
int td_json_read_literal(td_json_reader *r, td_json_type *out); /* true / false / null */

/* Skips one complete value (any depth) without recursion; 0 or -1. */
int td_json_skip(td_json_reader *r);
/* Skips one value and reports its span [*start, *end) in input offsets; 0 or -1. */
int td_json_skip_span(td_json_reader *r, size_t *start, size_t *end);

/* Records an error (first one wins) at the given offset; returns -1. */
int td_json_fail(td_json_reader *r, const char *message, size_t offset);
/* "JSON Parse error: <message> at offset: <n>" as INVALID_ARGUMENT. */
td_code td_json_error_status(const td_json_reader *r, td_status *st);

/* ---- writing ---- */
/* Appends s as a JSON string literal (quotes included) with rapidjson's escaping. */
void td_json_write_string(td_buf *out, const char *s, size_t len);
/* TF Serving's WriteDecimal: NaN / Infinity / -Infinity; else %g if it round-trips, else
 * %.9g (float) / %.17g (double); ".0" appended when there is neither '.' nor 'e'. */
void td_json_write_float(td_buf *out, float v);
void td_json_write_double(td_buf *out, double v);
/* Appends the value in [data, data+len) (a syntactically valid JSON text) with whitespace
 * outside strings removed, cut at max_len bytes — the "<v>" of TF Serving's error texts. */
void td_json_write_compact(td_buf *out, const char *data, size_t len, size_t max_len);

#endif
