/* buf.h — a growable byte buffer for building responses (JSON, text).
 * The buffer owns its bytes; data is always NUL-terminated (len excludes the NUL).
 * Not thread-safe: one owner. Allocation failure aborts (see mem.h). */
#ifndef TD_UTIL_BUF_H
#define TD_UTIL_BUF_H

#include <stddef.h>

typedef struct td_buf {
  char *data;
  size_t len, cap;
} td_buf;

void td_buf_init(td_buf *b);
void td_buf_release(td_buf *b);
void td_buf_reset(td_buf *b); /* len = 0, keeps capacity */
void td_buf_reserve(td_buf *b, size_t extra);
void td_buf_append(td_buf *b, const void *data, size_t n);
void td_buf_puts(td_buf *b, const char *s);
void td_buf_putc(td_buf *b, char c);
void td_buf_printf(td_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free()) and resets the buffer. */
char *td_buf_detach(td_buf *b, size_t *len);

#endif
