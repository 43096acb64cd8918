/* bufpool.h — a process-wide pool of idle large byte buffers, bounded in count and bytes.
 * Request bodies of hundreds of KB allocated fresh for every request fault their pages in
 * each time (glibc maps and unmaps them); kept here they stay warm for the next request.
 * Buffers under TD_BUFPOOL_MIN bytes are not kept. Memory in the pool stays resident (at most
 * TD_BUFPOOL_MAX_BYTES). Thread-safe; a buffer belongs to its td_buf between reserve and release. */
#ifndef TD_UTIL_BUFPOOL_H
#define TD_UTIL_BUFPOOL_H

#include <stddef.h>

#include "util/buf.h"

#define TD_BUFPOOL_MIN (64u << 10)
#define TD_BUFPOOL_MAX_BYTES (64u << 20)

/* An empty buffer b (no storage yet) gets room for n bytes and its NUL: an idle buffer that
 * fits (at most twice the size needed, so small bodies do not pin big buffers), or a new one
 * of exactly that size. A buffer that already has storage is only td_buf_reserve'd. */
void td_bufpool_reserve(td_buf *b, size_t n);
/* b's storage goes back to the pool when it is large enough and fits the bound, else it is
 * freed; b is left empty (td_buf_init). */
void td_bufpool_release(td_buf *b);

#endif
