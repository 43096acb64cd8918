/* bundle_slice.h — RestoreV2's shape_and_slices strings ("d0 d1 ... s0:s1:..." with each s
 * "start,length" or "-") parsed and applied to a whole tensor; used by the bundle reader. */
#ifndef TD_MODEL_BUNDLE_SLICE_H
#define TD_MODEL_BUNDLE_SLICE_H

#include "engine/engine.h"

typedef struct slice_spec {
  td_shape full;          /* the "d0 d1 ..." part */
  int64_t start[TD_MAX_RANK];
  int64_t length[TD_MAX_RANK]; /* -1 = whole dimension */
  int num_extents;
} slice_spec;

/* Parses spec (non-empty) into *out; INVALID_ARGUMENT with TF's texts on malformed specs. */
td_code td_slice_spec_parse(const char *spec, slice_spec *out, td_status *st) TD_MUST_CHECK;
/* The slice s of src (whose shape is s->full) as a new owned tensor. */
td_code td_slice_copy(const td_tensor *src, const slice_spec *s, td_tensor *out, td_status *st) TD_MUST_CHECK;

#endif
