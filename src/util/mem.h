/* mem.h — allocation helpers that abort on out-of-memory.
 *
 * tensord treats OOM as fatal everywhere except where a request can ask for an
 * arbitrary amount (tensor allocation sized by a client): those paths use plain
 * malloc and return TD_RESOURCE_EXHAUSTED instead. Thread-safe.
 */
#ifndef TD_UTIL_MEM_H
#define TD_UTIL_MEM_H

#include <stddef.h>

void *td_xmalloc(size_t n);
void *td_xcalloc(size_t n, size_t size);
void *td_xrealloc(void *p, size_t n);
char *td_xstrdup(const char *s);
char *td_xstrndup(const char *s, size_t n);
/* printf into a new heap string. */
char *td_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grows *arr (element size elt) so that it holds at least need elements; *cap tracks capacity. */
void td_grow(void **arr, size_t elt, size_t *cap, size_t need);
#define TD_GROW(arr, cap, need) td_grow((void **)&(arr), sizeof *(arr), &(cap), (need))

#endif
