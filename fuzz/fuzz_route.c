/* fuzz_route.c — REST request lines: the method and URL path every HTTP client controls,
 * through TF Serving's URL grammar (http/routes.c: case-insensitive verbs, %-unescaping of
 * model names and labels, int64 versions). A route or TF's "Malformed request" error, never a
 * crash or an overread.
 *
 * The first input byte picks GET/POST/PUT; the rest (up to a NUL) is the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const char *const methods[] = {"GET", "POST", "PUT"};
  char *path = malloc(size);
  memcpy(path, data + 1, size - 1);
  path[size - 1] = 0;
  (void)td_route_is_rest_path(path);
  td_route r;
  td_status st;
  if (td_route_match(methods[data[0] % 3], path, &r, &st) == TD_OK) td_route_release(&r);
  free(path);
  return 0;
}
