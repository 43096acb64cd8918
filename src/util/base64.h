/* base64.h — base64 encoding (standard alphabet, '=' padding) and lenient decoding.
 *
 * Decoding follows absl::Base64Unescape's leniency as TF Serving relies on it: padding is
 * optional, ASCII whitespace is skipped; in addition both the standard ("+/") and the
 * web-safe ("-_") alphabets are accepted. Rejected: other bytes, '=' followed by data,
 * too many '=', and a dangling single character (length % 4 == 1).
 * Stateless and thread-safe; output is appended to the caller's td_buf.
 */
#ifndef TD_UTIL_BASE64_H
#define TD_UTIL_BASE64_H

#include <stddef.h>

#include "util/buf.h"

/* Length of the padded encoding of n bytes. */
size_t td_base64_encoded_len(size_t n);
/* Appends the standard, padded encoding of data[0..n). */
void td_base64_encode(const void *data, size_t n, td_buf *out);
/* Appends the decoded bytes; returns 0, or -1 for invalid input (out then holds a partial
 * result beyond its old length). */
int td_base64_decode(const char *src, size_t len, td_buf *out);

#endif
