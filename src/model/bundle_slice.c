/* bundle_slice.c — RestoreV2 slice specs (see bundle_slice.h): parsing with TF's error texts,
 * and copying a slice out of a whole tensor (strings deep-copied). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "model/bundle_slice.h"
#include "util/mem.h"

static int parse_int64(const char *s, size_t n, int64_t *out) {
  char tmp[32];
  if (n == 0 || n >= sizeof tmp) return 0;
  memcpy(tmp, s, n);
  tmp[n] = 0;
  char *endp;
  errno = 0;
  long long v = strtoll(tmp, &endp, 10);
  if (errno || *endp || endp == tmp) return 0;
  *out = v;
  return 1;
}

/* One "start,length" or "-" item of the slice string. */
static td_code parse_extent(const char *item, size_t n, const char *spec, int64_t *start, int64_t *length,
                            td_status *st) {
  if (n == 1 && item[0] == '-') {
    *start = 0;
    *length = -1;
    return TD_OK;
  }
  const char *comma = memchr(item, ',', n);
  if (!comma || !parse_int64(item, (size_t)(comma - item), start) ||
      !parse_int64(comma + 1, n - (size_t)(comma - item) - 1, length))
    return td_status_set(st, TD_INVALID_ARGUMENT, "Expected a pair of numbers or '-' but got '%.*s': string = %s",
                         (int)n, item, spec);
  if (*start < 0 || *length <= 0)
    return td_status_set(st, TD_INVALID_ARGUMENT,
                         "Expected non-negative start and positive length but got start = %" PRId64
                         ", length = %" PRId64 ": string = %s",
                         *start, *length, spec);
  return TD_OK;
}

td_code td_slice_spec_parse(const char *spec, slice_spec *out, td_status *st) {
  memset(out, 0, sizeof *out);
  const char *last_space = strrchr(spec, ' ');
  if (!last_space)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Need least two parts in shape_and_slice: %s", spec);
  for (const char *p = spec;;) { /* dims: split on every single space, like TF */
    const char *sp = strchr(p, ' ');
    if (out->full.rank == TD_MAX_RANK)
      return td_status_set(st, TD_UNIMPLEMENTED, "shape_and_slice '%s' has more than %d dimensions", spec,
                           TD_MAX_RANK);
    if (!parse_int64(p, (size_t)(sp - p), &out->full.dim[out->full.rank]) || out->full.dim[out->full.rank] < 0)
      return td_status_set(st, TD_INVALID_ARGUMENT, "Non numerical dimension in shape_and_slice: %s", spec);
    out->full.rank++;
    if (sp == last_space) break;
    p = sp + 1;
  }
  for (const char *p = last_space + 1; *p;) { /* extents: split on ':' skipping empty pieces */
    size_t n = strcspn(p, ":");
    if (n > 0) {
      if (out->num_extents == TD_MAX_RANK)
        return td_status_set(st, TD_INVALID_ARGUMENT, "Mismatching ranks in shape_and_slice: %s", spec);
      TD_TRY(parse_extent(p, n, spec, &out->start[out->num_extents], &out->length[out->num_extents], st));
      out->num_extents++;
    }
    p += n;
    if (*p == ':') p++;
  }
  if (out->num_extents != out->full.rank)
    return td_status_set(st, TD_INVALID_ARGUMENT, "Mismatching ranks: shape and slice in shape_and_slice '%s'",
                         spec);
  for (int d = 0; d < out->full.rank; d++) {
    if (out->length[d] < 0) {
      out->length[d] = out->full.dim[d];
    } else if (out->start[d] > out->full.dim[d] || out->length[d] > out->full.dim[d] - out->start[d]) {
      return td_status_set(st, TD_INVALID_ARGUMENT, "Extent in dimension %d out of bounds in shape_and_slice '%s'",
                           d, spec);
    }
  }
  return TD_OK;
}

/* Copies the hyper-rectangle s of src (shape s->full) into a new tensor. */
td_code td_slice_copy(const td_tensor *src, const slice_spec *s, td_tensor *out, td_status *st) {
  td_shape shape = {.rank = s->full.rank};
  for (int d = 0; d < shape.rank; d++) shape.dim[d] = s->length[d];
  TD_TRY(td_tensor_alloc(out, src->dtype, &shape, st));
  int r = shape.rank;
  int64_t rows = 1, stride[TD_MAX_RANK];
  for (int d = 0; d < r - 1; d++) rows *= shape.dim[d];
  stride[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) stride[d] = stride[d + 1] * s->full.dim[d + 1];
  int64_t run = shape.dim[r - 1], idx[TD_MAX_RANK] = {0};
  if (run == 0) return TD_OK;
  size_t esize = td_dtype_size(src->dtype);
  for (int64_t row = 0; row < rows; row++) {
    int64_t from = s->start[r - 1];
    for (int d = 0; d < r - 1; d++) from += (s->start[d] + idx[d]) * stride[d];
    int64_t to = row * run;
    if (src->dtype == TD_DT_STRING) {
      for (int64_t k = 0; k < run; k++)
        td_tensor_set_string(out, to + k, td_str(src)[from + k].data, td_str(src)[from + k].len);
    } else {
      memcpy((char *)out->data + (size_t)to * esize, (const char *)src->data + (size_t)from * esize,
             (size_t)run * esize);
    }
    for (int d = r - 2; d >= 0 && ++idx[d] == shape.dim[d]; d--) idx[d] = 0;
  }
  return TD_OK;
}
