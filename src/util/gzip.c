/* gzip.c — zlib inflate with automatic gzip/zlib header detection (see gzip.h). */
#include "util/gzip.h"

#include <string.h>
#include <zlib.h>

td_code td_gunzip(const void *data, size_t len, size_t max_out, td_buf *out, td_status *st) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) /* 32: detect gzip or zlib */
    return td_status_set(st, TD_INTERNAL, "could not initialize zlib");
  z.next_in = (Bytef *)data;
  size_t start = out->len;
  td_code code = TD_OK;
  int ret = Z_OK;
  while (ret != Z_STREAM_END) {
    if (out->len - start >= max_out) {
      code = td_status_set(st, TD_RESOURCE_EXHAUSTED, "Decompressed request body exceeds %zu bytes", max_out);
      break;
    }
    size_t chunk = 64 * 1024;
    td_buf_reserve(out, chunk);
    uInt in_now = len > (uInt)-1 ? (uInt)-1 : (uInt)len;
    z.avail_in = in_now;
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)chunk;
    ret = inflate(&z, Z_NO_FLUSH);
    len -= in_now - z.avail_in;
    out->len += chunk - z.avail_out;
    out->data[out->len] = 0;
    if (ret == Z_STREAM_END) break;
    if (ret != Z_OK || (z.avail_in == 0 && len == 0 && z.avail_out != 0)) {
      code = td_status_set(st, TD_INVALID_ARGUMENT, "Failed to decompress the gzip request body%s%s",
                           z.msg ? ": " : "", z.msg ? z.msg : " (truncated)");
      break;
    }
  }
  inflateEnd(&z);
  return code;
}
