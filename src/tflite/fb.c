/* fb.c — bounds-checked FlatBuffer / FlexBuffer reads (see fb.h). Invariant: no access reads
 * a byte outside [buf, buf + len); a failed check sets the sticky bad flag and yields a
 * default. Offsets are computed in 64-bit (uint64_t) arithmetic so sums cannot wrap. */
#include "tflite/fb.h"

#include <stdio.h>
#include <string.h>

void td_fb_init(td_fb *fb, const void *buf, size_t len) {
  memset(fb, 0, sizeof *fb);
  fb->buf = buf;
  fb->len = len;
}

void td_fb_fail(td_fb *fb, const char *why) {
  if (fb->bad) return;
  fb->bad = 1;
  snprintf(fb->why, sizeof fb->why, "%s", why);
}

/* 1 when [pos, pos + n) lies inside the buffer. */
static int in_bounds(const td_fb *fb, uint64_t pos, uint64_t n) { return pos <= fb->len && n <= fb->len - pos; }

static uint64_t rd(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static uint64_t get(td_fb *fb, uint64_t pos, int n, const char *what) {
  if (!in_bounds(fb, pos, (uint64_t)n)) {
    td_fb_fail(fb, what);
    return 0;
  }
  return rd(fb->buf + pos, n);
}

/* A table at pos, with its vtable validated. */
static td_fb_table table_at(td_fb *fb, uint64_t pos) {
  td_fb_table t = {0};
  if (pos == 0 || !in_bounds(fb, pos, 4)) {
    td_fb_fail(fb, "table offset out of range");
    return t;
  }
  int32_t soff = (int32_t)(uint32_t)rd(fb->buf + pos, 4);
  int64_t vt = (int64_t)pos - (int64_t)soff;
  if (vt < 0 || !in_bounds(fb, (uint64_t)vt, 4)) {
    td_fb_fail(fb, "vtable offset out of range");
    return t;
  }
  uint16_t vtlen = (uint16_t)rd(fb->buf + vt, 2);
  if (vtlen < 4 || (vtlen & 1) || !in_bounds(fb, (uint64_t)vt, vtlen)) {
    td_fb_fail(fb, "malformed vtable");
    return t;
  }
  t.pos = (size_t)pos;
  t.vt = (size_t)vt;
  t.vtlen = vtlen;
  return t;
}

td_fb_table td_fb_root(td_fb *fb) {
  uint64_t off = get(fb, 0, 4, "file shorter than a FlatBuffer header");
  if (fb->bad) return (td_fb_table){0};
  return table_at(fb, off);
}

/* Absolute position of field id holding `size` bytes, 0 when absent. */
static uint64_t field(td_fb *fb, const td_fb_table *t, int id, int size) {
  if (!t->pos || id < 0) return 0;
  uint32_t e = 4 + 2 * (uint32_t)id;
  if (e + 2 > t->vtlen) return 0;
  uint16_t off = (uint16_t)rd(fb->buf + t->vt + e, 2);
  if (!off) return 0;
  uint64_t p = (uint64_t)t->pos + off;
  if (!in_bounds(fb, p, (uint64_t)size)) {
    td_fb_fail(fb, "table field out of range");
    return 0;
  }
  return p;
}

int td_fb_has(td_fb *fb, const td_fb_table *t, int id) { return field(fb, t, id, 1) != 0; }

#define SCALAR(fn, T, n)                                              \
  T fn(td_fb *fb, const td_fb_table *t, int id, T def) {              \
    uint64_t p = field(fb, t, id, n);                                 \
    if (!p) return def;                                               \
    uint64_t v = rd(fb->buf + p, n);                                  \
    T out;                                                            \
    memcpy(&out, &v, sizeof out); /* little-endian host assumed */   \
    return out;                                                       \
  }
SCALAR(td_fb_u8, uint8_t, 1)
SCALAR(td_fb_i8, int8_t, 1)
SCALAR(td_fb_u32, uint32_t, 4)
SCALAR(td_fb_i32, int32_t, 4)
SCALAR(td_fb_u64, uint64_t, 8)
SCALAR(td_fb_i64, int64_t, 8)
SCALAR(td_fb_f32, float, 4)

/* Follows the uoffset stored at p. */
static uint64_t deref(td_fb *fb, uint64_t p) {
  uint64_t off = get(fb, p, 4, "offset out of range");
  if (fb->bad) return 0;
  return p + off;
}

td_fb_table td_fb_table_at(td_fb *fb, const td_fb_table *t, int id) {
  uint64_t p = field(fb, t, id, 4);
  if (!p) return (td_fb_table){0};
  return table_at(fb, deref(fb, p));
}

static td_fb_vec vec_at(td_fb *fb, uint64_t p, uint32_t elem) {
  td_fb_vec v = {0, 0, elem};
  uint64_t n = get(fb, p, 4, "vector offset out of range");
  if (fb->bad) return v;
  if (!in_bounds(fb, p + 4, n * elem)) {
    td_fb_fail(fb, "vector extends past the end of the buffer");
    return v;
  }
  v.pos = (size_t)(p + 4);
  v.n = (uint32_t)n;
  return v;
}

td_fb_vec td_fb_vector(td_fb *fb, const td_fb_table *t, int id, uint32_t elem) {
  uint64_t p = field(fb, t, id, 4);
  if (!p) return (td_fb_vec){0, 0, elem};
  return vec_at(fb, deref(fb, p), elem);
}

static const char *string_at(td_fb *fb, uint64_t p, size_t *len) {
  *len = 0;
  td_fb_vec v = vec_at(fb, p, 1);
  if (fb->bad) return NULL;
  if (!in_bounds(fb, v.pos, (uint64_t)v.n + 1)) { /* strings end with a NUL */
    td_fb_fail(fb, "string lacks its NUL terminator");
    return NULL;
  }
  *len = v.n;
  return (const char *)fb->buf + v.pos;
}

const char *td_fb_string(td_fb *fb, const td_fb_table *t, int id, size_t *len) {
  *len = 0;
  uint64_t p = field(fb, t, id, 4);
  if (!p) return NULL;
  p = deref(fb, p);
  if (fb->bad) return NULL;
  return string_at(fb, p, len);
}

static uint64_t elem_pos(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  if (i >= v->n) {
    td_fb_fail(fb, "vector index out of range");
    return 0;
  }
  return (uint64_t)v->pos + (uint64_t)i * v->elem;
}

td_fb_table td_fb_vec_table(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  uint64_t p = elem_pos(fb, v, i);
  if (fb->bad) return (td_fb_table){0};
  p = deref(fb, p);
  if (fb->bad) return (td_fb_table){0};
  return table_at(fb, p);
}

const char *td_fb_vec_string(td_fb *fb, const td_fb_vec *v, uint32_t i, size_t *len) {
  *len = 0;
  uint64_t p = elem_pos(fb, v, i);
  if (fb->bad) return NULL;
  p = deref(fb, p);
  if (fb->bad) return NULL;
  return string_at(fb, p, len);
}

int32_t td_fb_vec_i32(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  uint64_t p = elem_pos(fb, v, i);
  return fb->bad ? 0 : (int32_t)(uint32_t)rd(fb->buf + p, 4);
}

int64_t td_fb_vec_i64(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  uint64_t p = elem_pos(fb, v, i);
  return fb->bad ? 0 : (int64_t)rd(fb->buf + p, 8);
}

float td_fb_vec_f32(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  uint64_t p = elem_pos(fb, v, i);
  if (fb->bad) return 0;
  uint32_t u = (uint32_t)rd(fb->buf + p, 4);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

uint8_t td_fb_vec_u8(td_fb *fb, const td_fb_vec *v, uint32_t i) {
  uint64_t p = elem_pos(fb, v, i);
  return fb->bad ? 0 : fb->buf[p];
}

/* ---------------------------------------------------------------------------------------------
 * FlexBuffers */

static int flex_in(const td_flex *f, uint64_t pos, uint64_t n) { return pos <= f->len && n <= f->len - pos; }

static td_flex flex_bad(const td_flex *f) {
  td_flex b = *f;
  b.bad = 1;
  b.type = TD_FLEX_NULL;
  return b;
}

static int valid_width(int w) { return w == 1 || w == 2 || w == 4 || w == 8; }

td_flex td_flex_root(const void *buf, size_t len) {
  td_flex f = {buf, len, 0, 1, TD_FLEX_NULL, 1, 0};
  if (!buf || len < 3) return flex_bad(&f);
  int w = ((const uint8_t *)buf)[len - 1];
  uint8_t packed = ((const uint8_t *)buf)[len - 2];
  if (!valid_width(w) || (uint64_t)w + 2 > len) return flex_bad(&f);
  f.pos = len - 2 - (size_t)w;
  f.width = w;
  f.type = packed >> 2;
  f.child_width = 1 << (packed & 3);
  return f;
}

static int is_inline(int type) {
  return type == TD_FLEX_NULL || type == TD_FLEX_INT || type == TD_FLEX_UINT || type == TD_FLEX_FLOAT ||
         type == TD_FLEX_BOOL;
}

/* Target of an offset-typed value (pos - offset), or UINT64_MAX when out of range. */
static uint64_t flex_target(const td_flex *f) {
  if (f->bad || !flex_in(f, f->pos, (uint64_t)f->width)) return UINT64_MAX;
  uint64_t off = rd(f->buf + f->pos, f->width);
  if (off > f->pos) return UINT64_MAX;
  return f->pos - off;
}

int64_t td_flex_int(const td_flex *f, int64_t def) {
  if (f->bad) return def;
  uint64_t p = f->pos;
  int w = f->width;
  int type = f->type;
  if (type == TD_FLEX_INDIRECT_INT || type == TD_FLEX_INDIRECT_UINT || type == TD_FLEX_INDIRECT_FLOAT) {
    p = flex_target(f);
    w = f->child_width;
    type -= TD_FLEX_INDIRECT_INT - TD_FLEX_INT;
  }
  if (p == UINT64_MAX || !flex_in(f, p, (uint64_t)w)) return def;
  uint64_t v = rd(f->buf + p, w);
  switch (type) {
    case TD_FLEX_INT:
      if (w < 8 && (v >> (8 * w - 1)) & 1) v |= ~0ULL << (8 * w); /* sign-extend */
      return (int64_t)v;
    case TD_FLEX_UINT:
    case TD_FLEX_BOOL:
      return (int64_t)v;
    case TD_FLEX_FLOAT:
      if (w == 4) {
        float x;
        uint32_t u = (uint32_t)v;
        memcpy(&x, &u, 4);
        return (x > -9.2e18f && x < 9.2e18f) ? (int64_t)x : def;
      } else if (w == 8) {
        double x;
        memcpy(&x, &v, 8);
        return (x > -9.2e18 && x < 9.2e18) ? (int64_t)x : def;
      }
      return def;
    default:
      return def;
  }
}

/* Size field (child width) just before an offset-typed object; UINT64_MAX when bad. */
static uint64_t flex_size(const td_flex *f, uint64_t target) {
  int w = f->child_width;
  if (target == UINT64_MAX || target < (uint64_t)w || !flex_in(f, target - (uint64_t)w, (uint64_t)w)) return UINT64_MAX;
  return rd(f->buf + target - (uint64_t)w, w);
}

const char *td_flex_bytes(const td_flex *f, size_t *len) {
  *len = 0;
  if (f->bad) return NULL;
  uint64_t t = flex_target(f);
  if (t == UINT64_MAX) return NULL;
  if (f->type == TD_FLEX_KEY) {
    const uint8_t *nul = memchr(f->buf + t, 0, f->len - t);
    if (!nul) return NULL;
    *len = (size_t)(nul - (f->buf + t));
    return (const char *)f->buf + t;
  }
  if (f->type != TD_FLEX_STRING && f->type != TD_FLEX_BLOB) return NULL;
  uint64_t n = flex_size(f, t);
  if (n == UINT64_MAX || !flex_in(f, t, n)) return NULL;
  *len = (size_t)n;
  return (const char *)f->buf + t;
}

static int is_vector(int type) { return type == TD_FLEX_MAP || type == TD_FLEX_VECTOR || (type >= 11 && type <= 15); }

uint32_t td_flex_vec_size(const td_flex *f) {
  if (f->bad || !is_vector(f->type)) return 0;
  uint64_t t = flex_target(f);
  uint64_t n = flex_size(f, t);
  if (n == UINT64_MAX || n > UINT32_MAX) return 0;
  uint64_t need = n * (uint64_t)f->child_width + (f->type == TD_FLEX_MAP || f->type == TD_FLEX_VECTOR ? n : 0);
  if (!flex_in(f, t, need)) return 0;
  return (uint32_t)n;
}

td_flex td_flex_vec_at(const td_flex *f, uint32_t i) {
  uint32_t n = td_flex_vec_size(f);
  if (i >= n) return flex_bad(f);
  uint64_t t = flex_target(f);
  td_flex e = *f;
  e.pos = (size_t)(t + (uint64_t)i * f->child_width);
  e.width = f->child_width;
  if (f->type == TD_FLEX_MAP || f->type == TD_FLEX_VECTOR) {
    uint8_t packed = f->buf[t + (uint64_t)n * f->child_width + i];
    e.type = packed >> 2;
    e.child_width = 1 << (packed & 3);
  } else {
    static const int elem_type[] = {TD_FLEX_INT, TD_FLEX_UINT, TD_FLEX_FLOAT, TD_FLEX_KEY, TD_FLEX_STRING};
    e.type = elem_type[f->type - TD_FLEX_VECTOR_INT];
    e.child_width = f->child_width;
  }
  if (!is_inline(e.type) && !valid_width(e.child_width)) return flex_bad(f);
  return e;
}

uint32_t td_flex_map_size(const td_flex *f) { return f->type == TD_FLEX_MAP ? td_flex_vec_size(f) : 0; }

const char *td_flex_map_key(const td_flex *f, uint32_t i) {
  uint32_t n = td_flex_map_size(f);
  if (i >= n) return NULL;
  uint64_t t = flex_target(f);
  int w = f->child_width;
  if (t < 3ULL * w) return NULL;
  uint64_t kslot = t - 3ULL * w;
  int kw = (int)rd(f->buf + t - 2ULL * w, w);
  if (!valid_width(kw)) return NULL;
  uint64_t koff = rd(f->buf + kslot, w);
  if (koff > kslot) return NULL;
  uint64_t keys = kslot - koff;
  uint64_t slot = keys + (uint64_t)i * kw;
  if (!flex_in(f, slot, (uint64_t)kw)) return NULL;
  uint64_t off = rd(f->buf + slot, kw);
  if (off > slot) return NULL;
  uint64_t k = slot - off;
  if (!memchr(f->buf + k, 0, f->len - k)) return NULL;
  return (const char *)f->buf + k;
}

td_flex td_flex_map_value(const td_flex *f, uint32_t i) {
  if (f->type != TD_FLEX_MAP) return flex_bad(f);
  return td_flex_vec_at(f, i);
}

td_flex td_flex_map_get(const td_flex *f, const char *key) {
  uint32_t n = td_flex_map_size(f);
  for (uint32_t i = 0; i < n; i++) {
    const char *k = td_flex_map_key(f, i);
    if (k && !strcmp(k, key)) return td_flex_map_value(f, i);
  }
  return flex_bad(f);
}
