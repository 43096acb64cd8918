/* file.h — whole-file reads and small path helpers. Thread-safe. */
#ifndef TD_UTIL_FILE_H
#define TD_UTIL_FILE_H

#include <stddef.h>

#include "util/status.h"

/* Reads the whole file into a new heap buffer (NUL-terminated, *len excludes the NUL).
 * Errors: NOT_FOUND if it does not exist, DATA_LOSS / INTERNAL on read failures. */
td_code td_read_file(const char *path, char **data, size_t *len, td_status *st) TD_MUST_CHECK;
/* 1 if path exists and is a regular file / a directory. */
int td_is_file(const char *path);
int td_is_dir(const char *path);
/* Joins a and b with one '/'; returns a new heap string. */
char *td_path_join(const char *a, const char *b);

#endif
