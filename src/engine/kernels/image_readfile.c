/* image_readfile.c — ReadFile (row in image.def): the bytes of a file as a scalar string.
 *
 * Serving must not let a graph read arbitrary files, and sessions carry no list of the model's
 * files, so the kernel only reads paths inside an "assets" directory: the path (after realpath,
 * so symlinks and ".." cannot leave it) must contain a "/assets/" component; anything else is
 * PERMISSION_DENIED. Files over 256 MiB are refused (RESOURCE_EXHAUSTED). Reentrant.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/kernel.h"
#include "util/file.h"

#define READFILE_MAX_BYTES ((int64_t)256 << 20)

td_code td_k_read_file(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  char sbuf[64];
  if (in->dtype != TD_DT_STRING || in->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input filename tensor must be scalar, but had shape: %s",
                     td_shape_str(&in->shape, sbuf, sizeof sbuf));
  const td_string *s = &td_str(in)[0];
  if (s->len == 0 || s->len >= PATH_MAX || memchr(s->data, 0, s->len))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ReadFile: invalid file name");
  char path[PATH_MAX], real[PATH_MAX];
  memcpy(path, s->data, s->len);
  path[s->len] = 0;
  if (!realpath(path, real)) {
    if (errno == ENOENT) return td_k_fail(c, TD_NOT_FOUND, "%s; No such file or directory", path);
    return td_k_fail(c, TD_PERMISSION_DENIED, "%s: %s", path, strerror(errno));
  }
  if (!strstr(real, "/assets/"))
    return td_k_fail(c, TD_PERMISSION_DENIED, "ReadFile: %s is outside the model's assets directory; tensord only reads assets",
                     path);
  struct stat sb;
  if (stat(real, &sb) != 0 || !S_ISREG(sb.st_mode)) return td_k_fail(c, TD_FAILED_PRECONDITION, "%s: not a regular file", path);
  if ((int64_t)sb.st_size > READFILE_MAX_BYTES)
    return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "ReadFile: %s is larger than %lld bytes", path, (long long)READFILE_MAX_BYTES);
  char *data = NULL;
  size_t len = 0;
  td_status st;
  if (td_read_file(real, &data, &len, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  td_tensor out; /* string outputs are kernel-owned tensors handed to the slot */
  td_shape sc = td_shape_scalar();
  if (td_tensor_alloc(&out, TD_DT_STRING, &sc, &st) != TD_OK) {
    free(data);
    return td_k_fail(c, st.code, "%s", st.msg);
  }
  td_tensor_set_string(&out, 0, data, len);
  free(data);
  td_k_set_output(c, 0, &out);
  td_tensor_release(&out);
  return TD_OK;
}
