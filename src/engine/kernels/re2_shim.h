/* re2_shim.h — a C view of RE2 (kernels/re2_shim.cc) for the regex kernels: TF's regex ops
 * use RE2, so tensord does too (syntax, UTF-8 handling, `\1` rewrites).
 *
 * A td_re2 is immutable after td_re2_new and may be used from any number of threads at once
 * (RE2 objects are thread-safe for matching). Strings are (pointer, length) byte ranges and
 * may contain NULs; every returned string is malloc'd and owned by the caller.
 */
#ifndef TD_ENGINE_KERNELS_RE2_SHIM_H
#define TD_ENGINE_KERNELS_RE2_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct td_re2 td_re2;

/* Compiles pattern (UTF-8, RE2 syntax). NULL on failure, with *err set to RE2's error text
 * (malloc'd; NULL if out of memory). */
td_re2 *td_re2_new(const char *pattern, size_t len, char **err);
void td_re2_free(td_re2 *re);

/* 1 if the whole of s matches. */
int td_re2_full_match(const td_re2 *re, const char *s, size_t len);

/* Replaces the first (global = 0) or every non-overlapping (global = 1) match in s with
 * rewrite (`\0`..`\9` = groups, `\\` = backslash; a rewrite naming a group the pattern
 * lacks replaces nothing, as in RE2). *out / *out_len get the result (malloc'd,
 * NUL-terminated). Returns the number of replacements, or -1 when out of memory. */
int td_re2_replace(const td_re2 *re, const char *s, size_t len, const char *rewrite, size_t rlen,
                   int global, char **out, size_t *out_len);

/* Unanchored search of s[pos, len) as a string of its own (`^` matches at pos), as RE2's
 * FindAndConsume does: on a match sets [*m0, *m1) to the whole match and [*g0, *g1) to group
 * 1 (both as offsets into s; a group that did not take part is the empty range at *m0) and
 * returns 1; returns 0 when there is no match or the pattern has no group 1. */
int td_re2_find(const td_re2 *re, const char *s, size_t len, size_t pos, size_t *m0, size_t *m1, size_t *g0,
                size_t *g1);

#ifdef __cplusplus
}
#endif

#endif
