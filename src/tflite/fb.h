/* fb.h — a bounds-checked reader for FlatBuffers (the .tflite container) and FlexBuffers
 * (TFLite custom options and the signature_defs_metadata buffer).
 *
 * Every accessor validates offsets, vtables, vector lengths and string lengths against the
 * buffer size. A malformed access never reads outside the buffer: it sets the reader's sticky
 * `bad` flag (with the first reason in `why`) and returns the schema default / an empty
 * table, vector or string, so callers read a whole structure and check td_fb_ok() once.
 * Access is iterative (no recursion), so hostile nesting cannot exhaust the stack.
 *
 * Ownership: the reader borrows the bytes; everything returned points into them.
 * Thread affinity: a td_fb is mutated (bad flag) by reads, so use one per thread.
 */
#ifndef TD_TFLITE_FB_H
#define TD_TFLITE_FB_H

#include <stddef.h>
#include <stdint.h>

typedef struct td_fb {
  const uint8_t *buf;
  size_t len;
  int bad;
  char why[128];
} td_fb;

/* A table; pos == 0 means absent (the root table can never sit at 0). */
typedef struct td_fb_table {
  size_t pos;    /* table start */
  size_t vt;     /* vtable start */
  uint16_t vtlen;
} td_fb_table;

/* A vector: n elements of elem bytes starting at pos (n == 0 when absent). */
typedef struct td_fb_vec {
  size_t pos;
  uint32_t n;
  uint32_t elem;
} td_fb_vec;

void td_fb_init(td_fb *fb, const void *buf, size_t len);
static inline int td_fb_ok(const td_fb *fb) { return !fb->bad; }
/* Marks the reader bad (first reason wins). */
void td_fb_fail(td_fb *fb, const char *why);

td_fb_table td_fb_root(td_fb *fb);
/* 1 when field id is present in t. */
int td_fb_has(td_fb *fb, const td_fb_table *t, int id);
uint8_t td_fb_u8(td_fb *fb, const td_fb_table *t, int id, uint8_t def);
int8_t td_fb_i8(td_fb *fb, const td_fb_table *t, int id, int8_t def);
uint32_t td_fb_u32(td_fb *fb, const td_fb_table *t, int id, uint32_t def);
int32_t td_fb_i32(td_fb *fb, const td_fb_table *t, int id, int32_t def);
uint64_t td_fb_u64(td_fb *fb, const td_fb_table *t, int id, uint64_t def);
int64_t td_fb_i64(td_fb *fb, const td_fb_table *t, int id, int64_t def);
float td_fb_f32(td_fb *fb, const td_fb_table *t, int id, float def);
/* Sub-table (or union value) at field id; pos 0 when absent. */
td_fb_table td_fb_table_at(td_fb *fb, const td_fb_table *t, int id);
/* Vector of elem-byte scalars (or 4-byte offsets for tables/strings). */
td_fb_vec td_fb_vector(td_fb *fb, const td_fb_table *t, int id, uint32_t elem);
/* String at field id: pointer into the buffer (not necessarily NUL-terminated) and length;
 * NULL when absent. */
const char *td_fb_string(td_fb *fb, const td_fb_table *t, int id, size_t *len);

/* Vector element access (i < v->n is checked). */
td_fb_table td_fb_vec_table(td_fb *fb, const td_fb_vec *v, uint32_t i);
const char *td_fb_vec_string(td_fb *fb, const td_fb_vec *v, uint32_t i, size_t *len);
int32_t td_fb_vec_i32(td_fb *fb, const td_fb_vec *v, uint32_t i);
int64_t td_fb_vec_i64(td_fb *fb, const td_fb_vec *v, uint32_t i);
float td_fb_vec_f32(td_fb *fb, const td_fb_vec *v, uint32_t i);
uint8_t td_fb_vec_u8(td_fb *fb, const td_fb_vec *v, uint32_t i);

/* ---- FlexBuffers ---- */
enum {
  TD_FLEX_NULL = 0, TD_FLEX_INT = 1, TD_FLEX_UINT = 2, TD_FLEX_FLOAT = 3, TD_FLEX_KEY = 4,
  TD_FLEX_STRING = 5, TD_FLEX_INDIRECT_INT = 6, TD_FLEX_INDIRECT_UINT = 7, TD_FLEX_INDIRECT_FLOAT = 8,
  TD_FLEX_MAP = 9, TD_FLEX_VECTOR = 10, TD_FLEX_VECTOR_INT = 11, TD_FLEX_VECTOR_UINT = 12,
  TD_FLEX_VECTOR_FLOAT = 13, TD_FLEX_VECTOR_KEY = 14, TD_FLEX_BLOB = 25, TD_FLEX_BOOL = 26,
};

/* A FlexBuffer value: where it sits, its parent's width and its own packed type. */
typedef struct td_flex {
  const uint8_t *buf;
  size_t len;
  size_t pos;      /* the slot holding the value (inline) or the offset to it */
  int width;       /* parent byte width of the slot */
  int type;        /* TD_FLEX_* */
  int child_width; /* byte width of the pointed-to data */
  int bad;
} td_flex;

/* The root of a FlexBuffer; .bad set when malformed. */
td_flex td_flex_root(const void *buf, size_t len);
/* Integer value (INT/UINT/BOOL/INDIRECT_*; FLOAT truncated); def when not numeric/bad. */
int64_t td_flex_int(const td_flex *f, int64_t def);
/* STRING/BLOB/KEY bytes; NULL when not one. */
const char *td_flex_bytes(const td_flex *f, size_t *len);
/* MAP: number of entries (0 when not a map), key i (NUL-terminated within bounds) and value i. */
uint32_t td_flex_map_size(const td_flex *f);
const char *td_flex_map_key(const td_flex *f, uint32_t i);
td_flex td_flex_map_value(const td_flex *f, uint32_t i);
/* Value of key in a MAP; .bad set when absent. */
td_flex td_flex_map_get(const td_flex *f, const char *key);
/* Untyped/typed VECTOR: size and element i. */
uint32_t td_flex_vec_size(const td_flex *f);
td_flex td_flex_vec_at(const td_flex *f, uint32_t i);

#endif
