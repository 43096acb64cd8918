/* tensor_list.c — the TensorList object (see tensor_list_internal.h) and its element ops:
 * EmptyTensorList, TensorListReserve, TensorListFromTensor, GetItem, SetItem, PushBack,
 * PopBack, Length, Resize, ElementShape. Whole-list ops are in tensor_list_ops.c.
 *
 * Invariants: items are owned tensors (never arena-borrowed: borrowed inputs are copied when
 * stored); an item's dtype is the list's element_dtype; a list object is changed only through
 * tl_writable, so a list another value can see is never mutated (copy on write, shallow).
 * SetItem / PushBack values and borrowed items are copied into the list's write-once slab
 * (one allocation per list, see tensor_list_internal.h) so loops filling lists do not allocate
 * per item; TensorListFromTensor items are views of the input (copied once if borrowed).
 * Error texts and codes are TF's (INVALID_ARGUMENT).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/array_internal.h"
#include "engine/kernels/tensor_list_internal.h"
#include "util/mem.h"

static const char kListKind[] = "tensor_list";

static void tl_destroy(td_resource *r) {
  td_tlist *l = (td_tlist *)r;
  for (int64_t i = 0; i < l->n; i++) td_tensor_release(&l->items[i]);
  free(l->items);
  td_tensor_release(&l->slab);
  free(l->slab_used);
  free(l);
}

/* Copies the borrowed plain-numeric t into a fresh slab region for item i: 1 if done. The slab
 * is sized for the list's length when first needed; regions are never written twice, so a
 * view of one handed out earlier (GetItem) never changes. */
static int slab_store(td_tlist *l, int64_t i, const td_tensor *t) {
  size_t nb = td_tensor_nbytes(t);
  if (!td_dtype_is_plain(t->dtype) || nb == 0) return 0;
  if (!l->slab.buf) {
    if (l->n < 2 || nb > ((size_t)64 << 20) / (size_t)l->n) return 0; /* at most 64 MiB up front */
    int64_t dims[1] = {(int64_t)nb * l->n};
    td_shape s = td_shape_make(1, dims);
    /* uncleared: a region is written (below) before its item exists, and nothing reads the rest */
    if (td_tensor_alloc_uninit(&l->slab, TD_DT_UINT8, &s, NULL) != TD_OK) return 0;
    l->slab_es = l->slab_stride = nb, l->slab_n = l->n;
    l->slab_used = td_xcalloc((size_t)l->n, 1);
  }
  if (i >= l->slab_n || l->slab_used[i] || l->slab_es != nb) return 0;
  l->slab_used[i] = 1;
  td_tensor v = td_tensor_ref(&l->slab);
  v.dtype = t->dtype;
  v.shape = t->shape;
  v.data = (char *)l->slab.data + (size_t)i * l->slab_stride;
  memcpy(v.data, t->data, nb);
  l->items[i] = v;
  return 1;
}

void tl_preset_slab(td_tlist *l, const td_tensor *buf, void *data, size_t es, size_t stride) {
  l->slab = td_tensor_ref(buf);
  l->slab.data = data;
  l->slab_es = es, l->slab_stride = stride, l->slab_n = l->n;
  l->slab_used = td_xcalloc((size_t)(l->n > 0 ? l->n : 1), 1);
}

td_tlist *tl_new(td_dtype dt, const td_shape *element_shape, int64_t max_num_elements) {
  td_tlist *l = td_xcalloc(1, sizeof *l);
  atomic_init(&l->base.refs, 1);
  l->base.kind = kListKind;
  l->base.destroy = tl_destroy;
  l->element_dtype = dt;
  l->element_shape = *element_shape;
  l->max_num_elements = max_num_elements;
  return l;
}

void tl_resize(td_tlist *l, int64_t n) {
  for (int64_t i = n; i < l->n; i++) td_tensor_release(&l->items[i]);
  if (n > l->cap) {
    int64_t cap = l->cap ? l->cap : 4;
    while (cap < n) cap *= 2;
    l->items = td_xrealloc(l->items, (size_t)cap * sizeof *l->items);
    l->cap = cap;
  }
  if (n > l->n) memset(&l->items[l->n], 0, (size_t)(n - l->n) * sizeof *l->items);
  l->n = n;
}

void tl_set(td_tlist *l, int64_t i, const td_tensor *t) {
  td_tensor_release(&l->items[i]);
  if (!t) return;
  if (t->buf) {
    l->items[i] = td_tensor_ref(t);
  } else if (slab_store(l, i, t)) {
    /* stored in the list's slab */
  } else if (td_tensor_copy(&l->items[i], t, NULL) != TD_OK) {
    memset(&l->items[i], 0, sizeof l->items[i]); /* unreachable for tensors that already exist */
  }
}

static td_tlist *tl_clone(const td_tlist *src) {
  td_tlist *l = tl_new(src->element_dtype, &src->element_shape, src->max_num_elements);
  tl_resize(l, src->n);
  for (int64_t i = 0; i < src->n; i++)
    if (src->items[i].dtype != TD_DT_INVALID) l->items[i] = td_tensor_ref(&src->items[i]);
  return l;
}

const td_tlist *tl_of(const td_tensor *t) {
  if (t->dtype != TD_DT_VARIANT || t->shape.rank != 0 || !t->data) return NULL;
  td_resource *r = td_res(t)[0];
  return r && !strcmp(r->kind, kListKind) ? (const td_tlist *)r : NULL;
}

td_code tl_wrap(td_tlist *l, td_tensor *out) {
  td_shape scalar = td_shape_scalar();
  td_code rc = td_tensor_alloc(out, TD_DT_VARIANT, &scalar, NULL);
  if (rc == TD_OK) td_tensor_set_resource(out, 0, &l->base);
  td_resource_unref(&l->base);
  return rc;
}

td_code tl_input(td_kctx *c, int i, const td_tlist **out) {
  const td_tensor *t = td_k_input(c, i);
  char sb[TL_SHAPE_BUF];
  if (t->dtype != TD_DT_VARIANT || t->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input list must be a scalar saw: %s",
                     tl_shape_str(&t->shape, sb, sizeof sb));
  if (!(*out = tl_of(t))) {
    const td_resource *r = t->data ? td_res(t)[0] : NULL;
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input handle is not a list. Saw: '%s'", r ? r->kind : "");
  }
  return TD_OK;
}

td_code tl_writable(td_kctx *c, int i, td_tlist **out) {
  const td_tlist *in = NULL;
  TD_TRY(tl_input(c, i, &in));
  const td_tensor *t = td_k_input(c, i);
  int unique = t->buf && atomic_load(&t->buf->refs) == 1 && atomic_load(&in->base.refs) == 1 &&
               td_k_input_forwardable(c, i);
  if (unique) {
    td_resource_ref((td_resource *)&in->base); /* the caller's reference; the input keeps its own */
    *out = (td_tlist *)in;
  } else {
    *out = tl_clone(in);
  }
  return TD_OK;
}

td_code tl_output(td_kctx *c, int out, td_tlist *l) {
  /* An in-place list is still the element of an input's buffer: forward that buffer. */
  for (int i = 0; i < td_k_num_inputs(c); i++) {
    const td_tensor *t = td_k_input(c, i);
    if (t->dtype == TD_DT_VARIANT && t->shape.rank == 0 && td_res(t)[0] == &l->base) {
      td_resource_unref(&l->base);
      return td_k_forward(c, i, out, NULL);
    }
  }
  td_tensor *o;
  td_shape scalar = td_shape_scalar();
  td_code rc = td_k_alloc_output(c, out, TD_DT_VARIANT, &scalar, &o);
  if (rc == TD_OK) td_tensor_set_resource(o, 0, &l->base);
  td_resource_unref(&l->base);
  return rc;
}

td_code tl_check_dtype(td_kctx *c, const td_tlist *l) {
  td_dtype dt = td_attr_type(td_k_node(c), "element_dtype", l->element_dtype);
  if (dt != l->element_dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data types; op elements %s but list elements %s",
                     td_dtype_name(dt), td_dtype_name(l->element_dtype));
  return TD_OK;
}

/* ---- shapes ---- */

const char *tl_shape_str(const td_shape *s, char *buf, size_t n) { return td_shape_str(s, buf, n); }

int tl_fully_defined(const td_shape *s) { return td_shape_num_elements(s) >= 0; }

int tl_compatible(const td_shape *p, const td_shape *s) {
  if (p->rank < 0 || s->rank < 0) return 1;
  if (p->rank != s->rank) return 0;
  for (int k = 0; k < p->rank; k++)
    if (p->dim[k] >= 0 && s->dim[k] >= 0 && p->dim[k] != s->dim[k]) return 0;
  return 1;
}

td_code tl_merge(td_kctx *c, const td_shape *a, const td_shape *b, td_shape *out) {
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  if (!tl_compatible(a, b))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes during merge: %s vs. %s",
                     tl_shape_str(a, s1, sizeof s1), tl_shape_str(b, s2, sizeof s2));
  if (a->rank < 0) {
    *out = *b;
    return TD_OK;
  }
  td_shape m = *a;
  for (int k = 0; k < m.rank && b->rank >= 0; k++)
    if (m.dim[k] < 0) m.dim[k] = b->dim[k];
  *out = m;
  return TD_OK;
}

td_code tl_shape_input(td_kctx *c, int i, td_shape *out) {
  const td_tensor *t = td_k_input(c, i);
  if (!td_array_is_index_dtype(t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Expected an int32 or int64 shape tensor; found %s",
                     td_dtype_name(t->dtype));
  if (t->shape.rank == 0) {
    if (td_array_index_at(t, 0) != -1)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "The only valid scalar shape tensor is the fully unknown shape specified as -1.");
    out->rank = -1;
    return TD_OK;
  }
  if (t->shape.rank != 1 || t->shape.dim[0] > TD_MAX_RANK)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape must be a vector of at most %d dims", TD_MAX_RANK);
  out->rank = (int)t->shape.dim[0];
  for (int k = 0; k < out->rank; k++) {
    int64_t d = td_array_index_at(t, k);
    if (d < -1) return td_k_fail(c, TD_INVALID_ARGUMENT, "Dimension %lld must be >= -1", (long long)d);
    out->dim[k] = d;
  }
  return TD_OK;
}

td_code tl_read_shape(td_kctx *c, const td_tlist *l, int shape_in, int merge_items, td_shape *out) {
  td_shape s = l->element_shape;
  if (shape_in >= 0) {
    td_shape given;
    TD_TRY(tl_shape_input(c, shape_in, &given));
    TD_TRY(tl_merge(c, &s, &given, &s));
  }
  for (int64_t i = 0; merge_items && !tl_fully_defined(&s) && i < l->n; i++)
    if (l->items[i].dtype != TD_DT_INVALID) TD_TRY(tl_merge(c, &s, &l->items[i].shape, &s));
  *out = s;
  return TD_OK;
}

/* ---- element data ---- */

void tl_copy_item(td_tensor *dst, int64_t off, const td_tensor *item, int64_t nelem) {
  if (item && item->dtype != TD_DT_INVALID) td_array_copy(dst, off, item, 0, nelem);
  /* else: dst is a zeroed output (zeros / empty strings), as TF's uninitialized reads */
}

td_code tl_slice_rows(td_kctx *c, const td_tensor *t, int64_t r0, int64_t nrows, int keep_dim0, td_tensor *out) {
  td_shape s = t->shape;
  int64_t row = td_array_dims_product(&t->shape, 1, t->shape.rank);
  if (keep_dim0) {
    s.dim[0] = nrows;
  } else {
    s.rank--;
    for (int k = 0; k < s.rank; k++) s.dim[k] = t->shape.dim[k + 1];
  }
  if (t->buf) { /* a view sharing the input's buffer: no element copies */
    *out = td_tensor_ref(t);
    out->shape = s;
    out->data = (char *)t->data + (size_t)(r0 * row) * td_dtype_size(t->dtype);
    return TD_OK;
  }
  td_status st;
  if (td_tensor_alloc(out, t->dtype, &s, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  td_array_copy(out, 0, t, r0 * row, nrows * row);
  return TD_OK;
}

/* ---- constructors ---- */

static td_code new_list_output(td_kctx *c, int shape_in, int64_t size, int64_t max) {
  td_shape es;
  TD_TRY(tl_shape_input(c, shape_in, &es));
  td_tlist *l = tl_new(td_attr_type(td_k_node(c), "element_dtype", TD_DT_INVALID), &es, max);
  tl_resize(l, size);
  return tl_output(c, 0, l);
}

td_code td_k_tl_empty(td_kctx *c) {
  const td_tensor *m = td_k_input(c, 1);
  char sb[TL_SHAPE_BUF];
  if (m->shape.rank != 0 || !td_array_is_index_dtype(m->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "max_num_elements expected to be a scalar but got shape: %s",
                     tl_shape_str(&m->shape, sb, sizeof sb));
  return new_list_output(c, 0, 0, td_array_index_at(m, 0));
}

td_code td_k_tl_reserve(td_kctx *c) {
  int64_t n;
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "num_elements", &n));
  if (n < 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The num_elements to reserve must be a non negative number, but got %lld",
                     (long long)n);
  if (n > (int64_t)1 << 31) return td_k_fail(c, TD_INVALID_ARGUMENT, "num_elements %lld is too large", (long long)n);
  return new_list_output(c, 0, n, -1);
}

td_code td_k_tl_from_tensor(td_kctx *c) {
  const td_tensor *t = td_k_input(c, 0);
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  td_shape es;
  if (td_k_input(c, 1)->shape.rank > 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "TensorListFromTensor: element_shape must be at most rank 1 but has the shape of %s",
                     tl_shape_str(&td_k_input(c, 1)->shape, s1, sizeof s1));
  TD_TRY(tl_shape_input(c, 1, &es));
  if (t->shape.rank < 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tensor must be at least a vector, but saw shape: %s",
                     tl_shape_str(&t->shape, s1, sizeof s1));
  td_shape row = {.rank = t->shape.rank - 1};
  for (int k = 0; k < row.rank; k++) row.dim[k] = t->shape.dim[k + 1];
  if (!tl_compatible(&es, &row))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Specified a list with shape %s from a tensor with shape %s",
                     tl_shape_str(&es, s1, sizeof s1), tl_shape_str(&row, s2, sizeof s2));
  td_tlist *l = tl_new(t->dtype, &es, -1);
  tl_resize(l, t->shape.dim[0]);
  td_tensor owned = {0}; /* a borrowed (arena) tensor is copied once; items are views of the copy */
  if (!t->buf && td_dtype_is_plain(t->dtype) && l->n > 1) {
    td_status st;
    if (td_tensor_copy(&owned, t, &st) != TD_OK) {
      td_resource_unref(&l->base);
      return td_k_fail(c, st.code, "%s", st.msg);
    }
    t = &owned;
  }
  for (int64_t i = 0; i < l->n; i++) {
    td_code rc = tl_slice_rows(c, t, i, 1, 0, &l->items[i]);
    if (rc != TD_OK) {
      td_tensor_release(&owned);
      td_resource_unref(&l->base);
      return rc;
    }
  }
  td_tensor_release(&owned);
  return tl_output(c, 0, l);
}

/* ---- element access ---- */

/* Item i of l, or zeros of the read shape when uninitialized; the result goes to output `out`. */
static td_code emit_item(td_kctx *c, const td_tlist *l, int64_t i, int shape_in, int merge_items, int out) {
  const td_tensor *item = &l->items[i];
  if (item->dtype != TD_DT_INVALID) {
    td_k_set_output(c, out, item);
    return TD_OK;
  }
  td_shape s;
  char sb[TL_SHAPE_BUF];
  TD_TRY(tl_read_shape(c, l, shape_in, merge_items, &s));
  if (!tl_fully_defined(&s)) {
    if (merge_items)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Trying to read an uninitialized tensor but element_shape is not fully defined: %s and no "
                       "list element is set.", tl_shape_str(&s, sb, sizeof sb));
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Trying to read an uninitialized tensor but element_shape is not fully defined.%s",
                     tl_shape_str(&s, sb, sizeof sb));
  }
  td_tensor *o;
  return td_k_alloc_output(c, out, l->element_dtype, &s, &o); /* zeros */
}

td_code td_k_tl_get_item(td_kctx *c) {
  const td_tlist *l = NULL;
  int64_t i;
  TD_TRY(tl_input(c, 0, &l));
  TD_TRY(tl_check_dtype(c, l));
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "index", &i));
  if (i < 0 || i >= l->n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Trying to access element %lld in a list with %lld elements.",
                     (long long)i, (long long)l->n);
  return emit_item(c, l, i, 2, 1, 0);
}

/* Checks that item fits l (dtype and shape); `what` selects SetItem's or PushBack's texts. */
/* SetItem / PushBack: item i becomes a copy in the list's slab when it fits one (a loop's
 * per-step value: its buffer stays free for the next step), else a reference (tl_set). */
static void set_item(td_tlist *l, int64_t i, const td_tensor *t) {
  td_tensor_release(&l->items[i]);
  if (!slab_store(l, i, t)) tl_set(l, i, t);
}

static td_code check_item(td_kctx *c, const td_tlist *l, const td_tensor *item, int push) {
  char s1[TL_SHAPE_BUF], s2[TL_SHAPE_BUF];
  if (item->dtype != l->element_dtype) {
    if (push)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data types; list elements %s but tried to append %s",
                       td_dtype_name(l->element_dtype), td_dtype_name(item->dtype));
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid data types; op elements %s but list elements %s",
                     td_dtype_name(item->dtype), td_dtype_name(l->element_dtype));
  }
  if (!tl_compatible(&l->element_shape, &item->shape)) {
    if (push)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "Tried to append a tensor with incompatible shape to a list. Op element shape: %s list shape: %s",
                       tl_shape_str(&item->shape, s1, sizeof s1), tl_shape_str(&l->element_shape, s2, sizeof s2));
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Tried to set a tensor with incompatible shape at a list index. Item element shape: %s list "
                     "shape: %s", tl_shape_str(&item->shape, s1, sizeof s1),
                     tl_shape_str(&l->element_shape, s2, sizeof s2));
  }
  return TD_OK;
}

td_code td_k_tl_set_item(td_kctx *c) {
  const td_tlist *in = NULL;
  int64_t i;
  const td_tensor *item = td_k_input(c, 2);
  TD_TRY(tl_input(c, 0, &in));
  TD_TRY(tl_check_dtype(c, in));
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "index", &i));
  int resize = td_attr_bool(td_k_node(c), "resize_if_index_out_of_bounds", false);
  if (i < 0 || (i >= in->n && !resize) || i >= (int64_t)1 << 31)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Trying to modify element %lld in a list with %lld elements.",
                     (long long)i, (long long)in->n);
  TD_TRY(check_item(c, in, item, 0));
  td_tlist *l = NULL;
  TD_TRY(tl_writable(c, 0, &l));
  if (i >= l->n) tl_resize(l, i + 1);
  set_item(l, i, item);
  return tl_output(c, 0, l);
}

td_code td_k_tl_push_back(td_kctx *c) {
  const td_tlist *in = NULL;
  const td_tensor *item = td_k_input(c, 1);
  TD_TRY(tl_input(c, 0, &in));
  TD_TRY(check_item(c, in, item, 1));
  if (in->max_num_elements >= 0 && in->n >= in->max_num_elements)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Tried to push item into a full list list size: %lld max_num_elements: %lld",
                     (long long)in->n, (long long)in->max_num_elements);
  td_tlist *l = NULL;
  TD_TRY(tl_writable(c, 0, &l));
  tl_resize(l, l->n + 1);
  set_item(l, l->n - 1, item);
  return tl_output(c, 0, l);
}

td_code td_k_tl_pop_back(td_kctx *c) {
  const td_tlist *in = NULL;
  TD_TRY(tl_input(c, 0, &in));
  TD_TRY(tl_check_dtype(c, in));
  if (in->n == 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "Trying to pop from an empty list.");
  TD_TRY(emit_item(c, in, in->n - 1, 1, 0, 1)); /* before the list may change in place */
  td_tlist *l = NULL;
  TD_TRY(tl_writable(c, 0, &l));
  tl_resize(l, l->n - 1);
  return tl_output(c, 0, l);
}

td_code td_k_tl_length(td_kctx *c) {
  const td_tlist *l = NULL;
  TD_TRY(tl_input(c, 0, &l));
  td_tensor *o;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT32, &scalar, &o));
  td_i32(o)[0] = (int32_t)l->n;
  return TD_OK;
}

td_code td_k_tl_resize(td_kctx *c) {
  const td_tlist *in = NULL;
  int64_t n;
  TD_TRY(tl_input(c, 0, &in));
  TD_TRY(td_array_scalar_index(c, td_k_input(c, 1), "size", &n));
  if (n < 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "TensorListSlice expects size to be non-negative. Got: %lld", (long long)n);
  if (n > (int64_t)1 << 31) return td_k_fail(c, TD_INVALID_ARGUMENT, "size %lld is too large", (long long)n);
  td_tlist *l = NULL;
  TD_TRY(tl_writable(c, 0, &l));
  tl_resize(l, n);
  return tl_output(c, 0, l);
}

td_code td_k_tl_element_shape(td_kctx *c) {
  const td_tlist *l = NULL;
  TD_TRY(tl_input(c, 0, &l));
  td_dtype dt = td_attr_type(td_k_node(c), "shape_type", TD_DT_INT32);
  if (dt != TD_DT_INT32 && dt != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "shape_type must be int32 or int64, got %s", td_dtype_name(dt));
  const td_shape *s = &l->element_shape;
  td_shape os = s->rank < 0 ? td_shape_scalar() : td_shape_vector(s->rank);
  td_tensor *o;
  TD_TRY(td_k_alloc_output(c, 0, dt, &os, &o));
  int64_t n = s->rank < 0 ? 1 : s->rank;
  for (int64_t k = 0; k < n; k++) td_tensor_set_double(o, k, s->rank < 0 ? -1.0 : (double)s->dim[k]);
  return TD_OK;
}
