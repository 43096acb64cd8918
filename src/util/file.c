/* file.c — whole-file reads and path helpers. */
#include "util/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/mem.h"

td_code td_read_file(const char *path, char **data, size_t *len, td_status *st) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return td_status_set(st, errno == ENOENT ? TD_NOT_FOUND : TD_PERMISSION_DENIED, "%s: %s", path,
                         strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return td_status_set(st, TD_FAILED_PRECONDITION, "%s: not a regular file", path);
  }
  size_t n = (size_t)sb.st_size;
  char *buf = malloc(n + 1);
  if (!buf) {
    fclose(f);
    return td_status_set(st, TD_RESOURCE_EXHAUSTED, "%s: cannot allocate %zu bytes", path, n);
  }
  size_t got = fread(buf, 1, n, f);
  int err = ferror(f);
  fclose(f);
  if (got != n || err) {
    free(buf);
    return td_status_set(st, TD_DATA_LOSS, "%s: short read (%zu of %zu bytes)", path, got, n);
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return TD_OK;
}

int td_is_file(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int td_is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

char *td_path_join(const char *a, const char *b) {
  size_t la = strlen(a);
  while (la > 1 && a[la - 1] == '/') la--;
  return td_xasprintf("%.*s/%s", (int)la, a, b);
}
