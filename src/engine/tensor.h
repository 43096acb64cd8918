/* tensor.h — tensors: a dtype, a shape and element storage.
 *
 * A td_tensor is a small value struct. Its storage is either
 *   - owned: `buf` points to a refcounted td_buffer and the struct holds one reference (the
 *     buffer's memory is malloc'ed, or external with a release callback, e.g. a read-only
 *     mapping of checkpoint data: td_tensor_external), or
 *   - borrowed: `buf` is NULL and someone else (the executor's planned arena, a caller's
 *     buffer) guarantees `data` outlives every use.
 * Copy a tensor with td_tensor_ref() (takes a reference), drop it with td_tensor_release().
 * Element layout is dense row-major. STRING elements are td_string, whose bytes are owned
 * by the tensor's buffer (set them with td_tensor_set_string). RESOURCE and VARIANT elements
 * are td_resource pointers (each holding a reference released with the buffer; a VARIANT's
 * object, e.g. a TensorList, is immutable once another reference to it exists).
 *
 * Thread safety: buffers are refcounted atomically, so tensors may be shared across threads
 * as long as nobody writes to storage that others can see (tensors are immutable once
 * produced; writers allocate new ones).
 */
#ifndef TD_ENGINE_TENSOR_H
#define TD_ENGINE_TENSOR_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/dtype.h"
#include "util/status.h"

#define TD_MAX_RANK 8

/* A shape. rank -1 = unknown rank (only in signatures / attrs); dim -1 = unknown size. */
typedef struct td_shape {
  int rank;
  int64_t dim[TD_MAX_RANK];
} td_shape;

typedef struct td_string {
  char *data; /* owned by the tensor's buffer; may be NULL when len == 0 */
  size_t len;
} td_string;

typedef struct td_buffer {
  atomic_int refs;
  void *data;
  size_t nbytes;
  td_dtype dtype;  /* STRING / RESOURCE buffers release their elements */
  size_t nelem;
  /* External storage (td_tensor_external): NULL = `data` came from malloc and is freed with the
   * buffer; else release(release_ctx) runs when the last reference drops, instead of free. */
  void (*release)(void *ctx);
  void *release_ctx;
} td_buffer;

typedef struct td_tensor {
  td_dtype dtype;
  td_shape shape;
  void *data;
  td_buffer *buf; /* NULL = borrowed storage */
} td_tensor;

/* Resources (variables, lookup tables, ...) live in a session and are shared by reference. */
typedef struct td_resource td_resource;
struct td_resource {
  atomic_int refs;
  const char *kind;       /* "variable", "hash_table", ... (static string) */
  char *name;             /* owned */
  void (*destroy)(td_resource *self); /* frees the concrete object (not name) */
};
void td_resource_ref(td_resource *r);
void td_resource_unref(td_resource *r);
/* 1 if elements of dt are td_resource references (RESOURCE, VARIANT, TF1 refs). */
static inline int td_dtype_holds_resources(td_dtype dt) {
  return dt == TD_DT_RESOURCE || dt == TD_DT_VARIANT || td_dtype_is_ref(dt);
}
/* 1 if elements of dt are plain bytes (neither strings nor resource references): a buffer of
 * them may be memcpy'd, recycled or mapped from disk as it is. */
static inline int td_dtype_is_plain(td_dtype dt) {
  return dt != TD_DT_STRING && !td_dtype_holds_resources(dt);
}

/* ---- shapes ---- */
td_shape td_shape_make(int rank, const int64_t *dims);
td_shape td_shape_scalar(void);
td_shape td_shape_vector(int64_t n);
/* Product of dims (1 for scalars), INT64_MAX when it overflows; -1 if any dim is unknown or rank unknown. */
int64_t td_shape_num_elements(const td_shape *s);
int td_shape_equal(const td_shape *a, const td_shape *b);
/* "[2,3]" / "[]" / "<unknown>", into buf; returns buf. */
char *td_shape_str(const td_shape *s, char *buf, size_t n);

/* ---- tensors ---- */
/* Zeroes t field by field (dtype INVALID, rank 0, no data, no buffer; padding aside): GCC
 * turns a memset of the whole 96-byte struct into `rep stos`, whose start-up cost showed in
 * loops that release and recycle tensors every step. Releases nothing. */
static inline void td_tensor_clear(td_tensor *t) {
  t->dtype = TD_DT_INVALID;
  t->shape.rank = 0;
  memset(t->shape.dim, 0, sizeof t->shape.dim);
  t->data = NULL;
  t->buf = NULL;
}

/* Allocates zeroed storage for dtype/shape (shape must be fully known). RESOURCE_EXHAUSTED
 * if the allocation fails or is too large, INVALID_ARGUMENT for bad dtype/shape. */
td_code td_tensor_alloc(td_tensor *t, td_dtype dtype, const td_shape *shape, td_status *st) TD_MUST_CHECK;
/* The same with unspecified contents, for storage the caller writes before anyone reads it
 * (plain numeric dtypes only: INVALID_ARGUMENT otherwise). */
td_code td_tensor_alloc_uninit(td_tensor *t, td_dtype dtype, const td_shape *shape, td_status *st) TD_MUST_CHECK;
/* An owned tensor over external memory (e.g. a read-only file mapping of checkpoint data):
 * refcounted like any owned tensor, but when the last reference drops, release(ctx) runs
 * instead of free(data). Only plain numeric dtypes (not STRING / RESOURCE / VARIANT, whose
 * elements a buffer owns). Nobody may write to `data`: tensors are immutable once produced,
 * and a mapping may be PROT_READ. INVALID_ARGUMENT for a boxed dtype or a bad shape (release
 * is then not called; the caller keeps ownership of the memory). */
td_code td_tensor_external(td_tensor *t, td_dtype dtype, const td_shape *shape, void *data,
                           void (*release)(void *ctx), void *ctx, td_status *st) TD_MUST_CHECK;
/* 1 if t's storage is external (td_tensor_external), not malloc'ed by the tensor layer. */
int td_tensor_is_external(const td_tensor *t);
/* A tensor viewing caller-owned memory (buf = NULL). */
td_tensor td_tensor_borrow(td_dtype dtype, const td_shape *shape, void *data);
/* Returns a copy holding a new reference. */
td_tensor td_tensor_ref(const td_tensor *t);
/* Drops the reference (if owned) and zeroes *t. Safe on zeroed tensors. */
void td_tensor_release(td_tensor *t);
/* Deep copy into new owned storage. */
td_code td_tensor_copy(td_tensor *dst, const td_tensor *src, td_status *st) TD_MUST_CHECK;
int64_t td_tensor_num_elements(const td_tensor *t);
size_t td_tensor_nbytes(const td_tensor *t);
/* Sets string element i of an owned STRING tensor (copies bytes). */
void td_tensor_set_string(td_tensor *t, int64_t i, const char *bytes, size_t len);
/* Sets resource element i of an owned RESOURCE, VARIANT (or ref) tensor (takes a new reference). */
void td_tensor_set_resource(td_tensor *t, int64_t i, td_resource *r);
/* Typed element access helpers. */
static inline float *td_f32(const td_tensor *t) { return (float *)t->data; }
static inline double *td_f64(const td_tensor *t) { return (double *)t->data; }
static inline int32_t *td_i32(const td_tensor *t) { return (int32_t *)t->data; }
static inline int64_t *td_i64(const td_tensor *t) { return (int64_t *)t->data; }
static inline uint8_t *td_u8(const td_tensor *t) { return (uint8_t *)t->data; }
static inline td_string *td_str(const td_tensor *t) { return (td_string *)t->data; }
static inline td_resource **td_res(const td_tensor *t) { return (td_resource **)t->data; }

/* Reads element i of an integer-typed tensor (INT32/INT64/INT16/INT8/UINT8/UINT16/...) as int64. */
int64_t td_tensor_get_int(const td_tensor *t, int64_t i);
/* Reads element i of any real numeric tensor (ints, float, double, half, bfloat16, bool) as double. */
double td_tensor_get_double(const td_tensor *t, int64_t i);
/* Writes element i of a real numeric tensor from a double: rounding for floating types; for
 * integer types truncation, NaN / out-of-range → INT64_MIN, then wrapping to narrower types
 * (x86 / TF static_cast behaviour, never undefined). */
void td_tensor_set_double(td_tensor *t, int64_t i, double v);

#endif
