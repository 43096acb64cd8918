/* array_where.c — data-dependent output sizes: Where (coordinates of non-zeros), Unique and
 * UniqueWithCounts (first-occurrence order).
 *
 * UniqueV2 finds unique slices along an axis (hash and compare whole slices); ListDiff keeps
 * the x not in y (a hash set of y).
 * Invariants: element predicates and hashes are picked once per dtype (a small table of
 * functions over raw bytes), never per element. Floating point "zero" and equality follow
 * C++ (-0 == +0, NaN != anything, so every NaN is its own unique value), strings compare by
 * content. Unique's hash table is open-addressed, sized to a power of two >= 2n.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "util/mem.h"

/* ---- element traits ---- */

typedef struct elem_traits {
  int (*nonzero)(const void *p, size_t es);
  uint64_t (*hash)(const void *p, size_t es);
  int (*equal)(const void *a, const void *b, size_t es);
} elem_traits;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ULL;
  return h;
}
#define FNV_SEED 14695981039346656037ULL

static int nz_bytes(const void *p, size_t es) {
  const unsigned char *b = p;
  for (size_t i = 0; i < es; i++)
    if (b[i]) return 1;
  return 0;
}
/* IEEE values are zero iff every bit but the sign is clear (NaN counts as non-zero). */
static int nz_f16(const void *p, size_t es) { uint16_t v; memcpy(&v, p, 2); return (v & 0x7fff) != 0; }
static int nz_f32(const void *p, size_t es) { uint32_t v; memcpy(&v, p, 4); return (v & 0x7fffffffu) != 0; }
static int nz_f64(const void *p, size_t es) { uint64_t v; memcpy(&v, p, 8); return (v & 0x7fffffffffffffffull) != 0; }
static int nz_c64(const void *p, size_t es) { return nz_f32(p, 4) || nz_f32((const char *)p + 4, 4); }
static int nz_c128(const void *p, size_t es) { return nz_f64(p, 8) || nz_f64((const char *)p + 8, 8); }

static uint64_t hash_bytes(const void *p, size_t es) { return fnv1a(p, es, FNV_SEED); }
static int eq_bytes(const void *a, const void *b, size_t es) { return memcmp(a, b, es) == 0; }

static uint64_t hash_f32(const void *p, size_t es) {
  float v;
  memcpy(&v, p, 4);
  if (v == 0) v = 0; /* -0 hashes like +0 */
  return fnv1a(&v, 4, FNV_SEED);
}
static int eq_f32(const void *a, const void *b, size_t es) {
  float x, y;
  memcpy(&x, a, 4);
  memcpy(&y, b, 4);
  return x == y;
}
static uint64_t hash_f64(const void *p, size_t es) {
  double v;
  memcpy(&v, p, 8);
  if (v == 0) v = 0;
  return fnv1a(&v, 8, FNV_SEED);
}
static int eq_f64(const void *a, const void *b, size_t es) {
  double x, y;
  memcpy(&x, a, 8);
  memcpy(&y, b, 8);
  return x == y;
}
static uint64_t hash_f16(const void *p, size_t es) {
  uint16_t v;
  memcpy(&v, p, 2);
  if ((v & 0x7fff) == 0) v = 0;
  return fnv1a(&v, 2, FNV_SEED);
}
static int eq_f16(const void *a, const void *b, size_t es) {
  uint16_t x, y;
  memcpy(&x, a, 2);
  memcpy(&y, b, 2);
  return x == y || ((x & 0x7fff) == 0 && (y & 0x7fff) == 0);
}
static uint64_t hash_str(const void *p, size_t es) {
  const td_string *s = p;
  return fnv1a(s->data, s->len, FNV_SEED);
}
static int eq_str(const void *a, const void *b, size_t es) {
  const td_string *x = a, *y = b;
  return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}

static int traits_for(td_dtype dt, elem_traits *t) {
  static const elem_traits bytes = {nz_bytes, hash_bytes, eq_bytes};
  switch (dt) {
    case TD_DT_FLOAT: *t = (elem_traits){nz_f32, hash_f32, eq_f32}; return 1;
    case TD_DT_DOUBLE: *t = (elem_traits){nz_f64, hash_f64, eq_f64}; return 1;
    case TD_DT_HALF: case TD_DT_BFLOAT16: *t = (elem_traits){nz_f16, hash_f16, eq_f16}; return 1;
    case TD_DT_COMPLEX64: *t = (elem_traits){nz_c64, hash_bytes, eq_bytes}; return 1;
    case TD_DT_COMPLEX128: *t = (elem_traits){nz_c128, hash_bytes, eq_bytes}; return 1;
    case TD_DT_STRING: *t = (elem_traits){NULL, hash_str, eq_str}; return 1;
    case TD_DT_RESOURCE: case TD_DT_VARIANT: return 0;
    default:
      if (!td_dtype_valid(dt)) return 0;
      *t = bytes;
      return 1;
  }
}

/* ---- Where ---- */

td_code td_k_array_where(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  elem_traits tr;
  if (!traits_for(in->dtype, &tr) || !tr.nonzero)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Where does not support dtype %s", td_dtype_name(in->dtype));
  size_t es = td_dtype_size(in->dtype);
  int64_t n = td_tensor_num_elements(in), count = 0;
  const char *data = in->data;
  for (int64_t i = 0; i < n; i++) count += tr.nonzero(data + i * (int64_t)es, es);
  int rank = in->shape.rank;
  int64_t dims[2] = {count, rank};
  td_shape shape = td_shape_make(2, dims);
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT64, &shape, &out));
  int64_t coord[TD_MAX_RANK] = {0}, *o = td_i64(out);
  for (int64_t i = 0; i < n; i++) {
    if (tr.nonzero(data + i * (int64_t)es, es)) {
      memcpy(o, coord, sizeof *o * (size_t)rank);
      o += rank;
    }
    for (int k = rank - 1; k >= 0; k--) { /* advance the row-major coordinate */
      if (++coord[k] < in->shape.dim[k]) break;
      coord[k] = 0;
    }
  }
  return TD_OK;
}

/* ---- Unique / UniqueWithCounts / UniqueV2 ---- */

/* x viewed as [outer, d, inner]: slice j = the elements (o, j, i) for all o, i. */
typedef struct slices {
  const char *data;
  size_t es;
  int64_t outer, d, inner;
  elem_traits tr;
} slices;

static uint64_t slice_hash(const slices *s, int64_t j) {
  uint64_t h = FNV_SEED;
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t i = 0; i < s->inner; i++) {
      uint64_t e = s->tr.hash(s->data + ((o * s->d + j) * s->inner + i) * (int64_t)s->es, s->es);
      h = (h ^ e) * 1099511628211ULL;
    }
  return h;
}
static int slice_equal(const slices *s, int64_t j, int64_t k) {
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t i = 0; i < s->inner; i++)
      if (!s->tr.equal(s->data + ((o * s->d + j) * s->inner + i) * (int64_t)s->es,
                       s->data + ((o * s->d + k) * s->inner + i) * (int64_t)s->es, s->es))
        return 0;
  return 1;
}

static td_code unique(td_kctx *c, int v2) {
  const td_tensor *x = td_k_input(c, 0);
  char sb[TD_ARRAY_SHAPE_BUF];
  int64_t axis = 0;
  int has_axis = 0;
  if (v2) {
    const td_tensor *ax = td_k_input(c, 1);
    if (!td_array_is_index_dtype(ax->dtype) || ax->shape.rank > 1 || td_tensor_num_elements(ax) > 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "axis expects a 1D vector with 1 element: %s",
                       td_array_shape_str(&ax->shape, sb, sizeof sb));
    if (td_tensor_num_elements(ax) == 1) {
      axis = td_array_index_at(ax, 0), has_axis = 1;
      int r = x->shape.rank;
      if (axis < -r || axis >= r)
        return td_k_fail(c, TD_INVALID_ARGUMENT, "axis has to be between [%d, %d)", -r, r);
      if (axis < 0) axis += r;
    }
  }
  if (!has_axis && x->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "unique expects a 1D vector, got shape %s",
                     td_array_shape_str(&x->shape, sb, sizeof sb));
  slices s = {.data = x->data, .es = td_dtype_size(x->dtype)};
  if (!traits_for(x->dtype, &s.tr))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Unique does not support dtype %s", td_dtype_name(x->dtype));
  td_dtype idx_dt = td_attr_type(td_k_node(c), "out_idx", TD_DT_INT32);
  if (!td_array_is_index_dtype(idx_dt))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "out_idx must be int32 or int64");
  s.outer = td_array_dims_product(&x->shape, 0, (int)axis);
  s.d = x->shape.dim[axis];
  s.inner = td_array_dims_product(&x->shape, (int)axis + 1, x->shape.rank);
  int64_t n = s.d;
  if (idx_dt == TD_DT_INT32 && n > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "unique does not support input tensors larger than %d elements", INT32_MAX);

  td_shape idx_shape = td_shape_vector(n);
  td_tensor *idx;
  TD_TRY(td_k_alloc_output(c, 1, idx_dt, &idx_shape, &idx));

  size_t cap = 16;
  while (cap < 2 * (size_t)n) cap *= 2;
  int64_t *slots = td_xmalloc(sizeof *slots * cap); /* unique id, or -1 */
  int64_t *first = td_xmalloc(sizeof *first * (size_t)(n ? n : 1)); /* input slice of unique u */
  int64_t *counts = td_xcalloc((size_t)(n ? n : 1), sizeof *counts);
  for (size_t k = 0; k < cap; k++) slots[k] = -1;
  int64_t nu = 0;
  for (int64_t i = 0; i < n; i++) {
    size_t h = (size_t)slice_hash(&s, i) & (cap - 1);
    int64_t u;
    for (;;) {
      u = slots[h];
      if (u < 0) {
        u = nu++;
        slots[h] = u;
        first[u] = i;
        break;
      }
      if (slice_equal(&s, first[u], i)) break;
      h = (h + 1) & (cap - 1);
    }
    counts[u]++;
    if (idx_dt == TD_DT_INT64) td_i64(idx)[i] = u;
    else td_i32(idx)[i] = (int32_t)u;
  }
  free(slots);

  td_code rc = TD_OK;
  td_shape ys = x->shape, cs = td_shape_vector(nu);
  ys.dim[axis] = nu;
  td_tensor *y;
  rc = td_k_alloc_output(c, 0, x->dtype, &ys, &y);
  for (int64_t o = 0; rc == TD_OK && o < s.outer; o++)
    for (int64_t u = 0; u < nu; u++)
      td_array_copy(y, (o * nu + u) * s.inner, x, (o * s.d + first[u]) * s.inner, s.inner);
  if (rc == TD_OK && td_k_num_outputs(c) > 2) {
    td_tensor *cnt;
    rc = td_k_alloc_output(c, 2, idx_dt, &cs, &cnt);
    for (int64_t u = 0; rc == TD_OK && u < nu; u++) {
      if (idx_dt == TD_DT_INT64) td_i64(cnt)[u] = counts[u];
      else td_i32(cnt)[u] = (int32_t)counts[u];
    }
  }
  free(first);
  free(counts);
  return rc;
}

td_code td_k_array_unique(td_kctx *c) { return unique(c, 0); }
td_code td_k_array_unique_v2(td_kctx *c) { return unique(c, 1); }

/* ---- ListDiff(x, y) -> out, idx: the x[i] not in y, in order ---- */
td_code td_k_array_list_diff(td_kctx *c) {
  const td_tensor *x = td_k_input(c, 0), *y = td_k_input(c, 1);
  char sb[TD_ARRAY_SHAPE_BUF];
  for (int k = 0; k < 2; k++) {
    const td_tensor *t = k ? y : x;
    if (t->shape.rank != 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "%s should be a 1D vector, got shape %s", k ? "y" : "x",
                       td_array_shape_str(&t->shape, sb, sizeof sb));
  }
  if (x->dtype != y->dtype) return td_k_fail(c, TD_INVALID_ARGUMENT, "x and y must have the same type");
  elem_traits tr;
  if (!traits_for(x->dtype, &tr))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "ListDiff does not support dtype %s", td_dtype_name(x->dtype));
  td_dtype idx_dt = td_attr_type(td_k_node(c), "out_idx", TD_DT_INT32);
  if (!td_array_is_index_dtype(idx_dt)) return td_k_fail(c, TD_INVALID_ARGUMENT, "out_idx must be int32 or int64");
  size_t es = td_dtype_size(x->dtype);
  int64_t nx = x->shape.dim[0], ny = y->shape.dim[0];
  size_t cap = 16;
  while (cap < 2 * (size_t)ny) cap *= 2;
  int64_t *slots = td_xmalloc(sizeof *slots * cap);
  for (size_t k = 0; k < cap; k++) slots[k] = -1;
  const char *yd = y->data, *xd = x->data;
  for (int64_t j = 0; j < ny; j++) {
    size_t h = (size_t)tr.hash(yd + j * (int64_t)es, es) & (cap - 1);
    while (slots[h] >= 0 && !tr.equal(yd + slots[h] * (int64_t)es, yd + j * (int64_t)es, es)) h = (h + 1) & (cap - 1);
    slots[h] = j;
  }
  uint8_t *keep = td_xcalloc((size_t)(nx ? nx : 1), 1);
  int64_t nk = 0;
  for (int64_t i = 0; i < nx; i++) {
    size_t h = (size_t)tr.hash(xd + i * (int64_t)es, es) & (cap - 1);
    int found = 0;
    while (slots[h] >= 0) {
      if (tr.equal(yd + slots[h] * (int64_t)es, xd + i * (int64_t)es, es)) {
        found = 1;
        break;
      }
      h = (h + 1) & (cap - 1);
    }
    keep[i] = (uint8_t)!found;
    nk += !found;
  }
  free(slots);
  td_shape os = td_shape_vector(nk);
  td_tensor *out, *idx;
  td_code rc = td_k_alloc_output(c, 0, x->dtype, &os, &out);
  if (rc == TD_OK) rc = td_k_alloc_output(c, 1, idx_dt, &os, &idx);
  for (int64_t i = 0, k = 0; rc == TD_OK && i < nx; i++) {
    if (!keep[i]) continue;
    td_array_copy(out, k, x, i, 1);
    if (idx_dt == TD_DT_INT64) td_i64(idx)[k] = i;
    else td_i32(idx)[k] = (int32_t)i;
    k++;
  }
  free(keep);
  return rc;
}
