/* gzip.h — gzip/zlib decompression of request bodies (REST Content-Encoding: gzip).
 * Stateless and thread-safe. */
#ifndef TD_UTIL_GZIP_H
#define TD_UTIL_GZIP_H

#include <stddef.h>

#include "util/buf.h"
#include "util/status.h"

/* Appends the decompressed bytes of data[0..len) (gzip or zlib framing) to out.
 * INVALID_ARGUMENT for corrupt or truncated input; RESOURCE_EXHAUSTED when the output would
 * exceed max_out bytes (a decompression bomb). */
td_code td_gunzip(const void *data, size_t len, size_t max_out, td_buf *out, td_status *st) TD_MUST_CHECK;

#endif
