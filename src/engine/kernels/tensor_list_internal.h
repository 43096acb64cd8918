/* tensor_list_internal.h — the TensorList object shared by kernels/tensor_list.c (the object,
 * constructors, element access) and kernels/tensor_list_ops.c (whole-list reads and writes).
 *
 * A list travels as a scalar DT_VARIANT tensor whose element is a td_resource of kind
 * "tensor_list" (the VARIANT buffer holds one reference; tensor.c releases it). The object
 * holds element_dtype, a possibly partial element_shape (rank -1 = unknown), max_num_elements
 * (-1 = unbounded) and a vector of items: each a tensor reference, or dtype TD_DT_INVALID for
 * an uninitialized slot. Items are immutable tensors shared by reference.
 *
 * Lists are values: an op that changes a list returns a new one. tl_writable() gives the
 * kernel a list it may change: the input's own object when nobody else can see it (the list
 * and its VARIANT buffer each have one reference and the executor says this step is the
 * input's last reader, td_k_input_forwardable), else a shallow copy (new item references, no
 * element data copied). Thread affinity: a list object is only mutated while uniquely owned.
 */
#ifndef TD_ENGINE_KERNELS_TENSOR_LIST_INTERNAL_H
#define TD_ENGINE_KERNELS_TENSOR_LIST_INTERNAL_H

#include <stdint.h>

#include "engine/kernel.h"

typedef struct td_tlist {
  td_resource base; /* kind "tensor_list" */
  td_dtype element_dtype;
  td_shape element_shape; /* rank -1 = unknown rank; dims -1 = unknown */
  int64_t max_num_elements; /* -1 = unbounded */
  int64_t n, cap;
  td_tensor *items; /* n entries; dtype INVALID = uninitialized */
  /* Write-once element storage for SetItem / PushBack values and borrowed (arena) items, so a
   * loop filling a list allocates once per list instead of once per item: slab_n regions of
   * slab_es bytes, region i at slab.data + i * slab_stride; region i is used at most once
   * (slab_used[i]) and item i then views it (sharing slab.buf). Never shared by clones (they
   * start without a slab). A split loop's part lists get theirs preset (tl_preset_slab): the
   * parts' regions interleave in one buffer, so item i of every part lands in row ranges of
   * one [rows, ...] block. */
  td_tensor slab;
  size_t slab_es, slab_stride;
  int64_t slab_n;
  unsigned char *slab_used;
} td_tlist;

/* A new empty list (one reference). */
td_tlist *tl_new(td_dtype dt, const td_shape *element_shape, int64_t max_num_elements);
/* Gives l (no slab yet) regions of es bytes at data, data + stride, ... (l->n of them) inside
 * buf (a reference is taken): item i stored later lands at data + i * stride. */
void tl_preset_slab(td_tlist *l, const td_tensor *buf, void *data, size_t es, size_t stride);
/* Grows/shrinks to n items (new slots uninitialized). */
void tl_resize(td_tlist *l, int64_t n);
/* Replaces item i with a new reference to t (NULL = uninitialize). */
void tl_set(td_tlist *l, int64_t i, const td_tensor *t);

/* The list a scalar DT_VARIANT tensor holds, or NULL (not a list). */
const td_tlist *tl_of(const td_tensor *t);
/* A new scalar DT_VARIANT tensor holding l; consumes the caller's reference to l. */
td_code tl_wrap(td_tlist *l, td_tensor *out);
/* The list behind input i ("Input list must be a scalar ..." / "Input handle is not a list"). */
td_code tl_input(td_kctx *c, int i, const td_tlist **out);
/* Input i as a list the kernel may change and then emit with tl_output (see above). */
td_code tl_writable(td_kctx *c, int i, td_tlist **out);
/* Sets output `out` to a scalar VARIANT holding l; consumes the caller's reference to l. */
td_code tl_output(td_kctx *c, int out, td_tlist *l);
/* Checks the op's element_dtype attr against the list's. */
td_code tl_check_dtype(td_kctx *c, const td_tlist *l);

/* Reads a shape input (int32/int64: scalar -1 = unknown rank, vector = dims with -1 unknown). */
td_code tl_shape_input(td_kctx *c, int i, td_shape *out);
/* Merges a and b into *out; INVALID_ARGUMENT "Incompatible shapes during merge" on conflict. */
td_code tl_merge(td_kctx *c, const td_shape *a, const td_shape *b, td_shape *out);
/* 1 if a fully known shape s is compatible with the partial shape p. */
int tl_compatible(const td_shape *p, const td_shape *s);
int tl_fully_defined(const td_shape *s);
/* The element shape for reads: the list's shape merged with the op's element_shape input
 * (index shape_in, -1 = none) and, when still partial and merge_items, every initialized
 * item's shape. */
td_code tl_read_shape(td_kctx *c, const td_tlist *l, int shape_in, int merge_items, td_shape *out);
/* "[2,?]" / "<unknown>" for error texts. */
const char *tl_shape_str(const td_shape *s, char *buf, size_t n);
#define TL_SHAPE_BUF 160

/* Copies item (or zeros when item is NULL / uninitialized) into dst at element offset off. */
void tl_copy_item(td_tensor *dst, int64_t off, const td_tensor *item, int64_t nelem);
/* Row r (of dim 0) of t as a new owned tensor. */
td_code tl_slice_rows(td_kctx *c, const td_tensor *t, int64_t r0, int64_t nrows, int keep_dim0, td_tensor *out);

#endif
