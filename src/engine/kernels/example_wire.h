/* example_wire.h — a bounds-checked reader for the tf.Example wire format, used by the
 * ParseExample kernels (parse_example.c): protobuf varints/tags/length-delimited fields, a
 * Feature's resolved oneof (fview) and its values pushed into a growable sink. Header-only
 * (static inline) so the per-value loops inline into the parser.
 *
 * Invariants: every read checks against the wire's end and returns 0 on malformed input
 * (nothing is read past it); slices point into the caller's immutable input. Proto semantics:
 * unknown fields are skipped, groups are rejected (as TF's fast parser does), packed and
 * unpacked repeated values are both accepted. No state, no allocation except sink growth.
 */
#ifndef TD_ENGINE_KERNELS_EXAMPLE_WIRE_H
#define TD_ENGINE_KERNELS_EXAMPLE_WIRE_H

#include <stdint.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- wire reader */

typedef struct wire {
  const uint8_t *p, *end;
} wire;

typedef struct slice {
  const char *p;
  size_t n;
} slice;

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static inline int wire_varint(wire *w, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (w->p >= w->end) return 0;
    uint8_t b = *w->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 1;
    }
  }
  return 0; /* more than 10 bytes */
}

static inline int wire_tag(wire *w, uint32_t *field, uint32_t *wt) {
  uint64_t t;
  if (!wire_varint(w, &t) || t > UINT32_MAX || (t >> 3) == 0) return 0;
  *field = (uint32_t)(t >> 3);
  *wt = (uint32_t)(t & 7);
  return 1;
}

static inline int wire_bytes(wire *w, wire *sub) {
  uint64_t n;
  if (!wire_varint(w, &n) || n > (uint64_t)(w->end - w->p)) return 0;
  sub->p = w->p;
  sub->end = w->p + n;
  w->p += n;
  return 1;
}

/* Skips one value of wire type wt (groups are rejected, like TF's fast parser). */
static inline int wire_skip(wire *w, uint32_t wt) {
  uint64_t v;
  wire sub;
  switch (wt) {
    case WT_VARINT: return wire_varint(w, &v);
    case WT_LEN: return wire_bytes(w, &sub);
    case WT_I64:
      if (w->end - w->p < 8) return 0;
      w->p += 8;
      return 1;
    case WT_I32:
      if (w->end - w->p < 4) return 0;
      w->p += 4;
      return 1;
    default: return 0;
  }
}

/* ---------------------------------------------------------------- value sinks */

/* Collects values: writes while n < cap, grows when growable, always counts. */
typedef struct sink {
  char *data;
  size_t n, cap, esz;
  int growable;
} sink;

static inline void sink_push(sink *s, const void *elem) {
  if (s->n >= s->cap && s->growable) td_grow((void **)&s->data, s->esz, &s->cap, s->n + 1);
  if (s->n < s->cap) memcpy(s->data + s->n * s->esz, elem, s->esz);
  s->n++;
}

enum feature_kind { FK_NONE = 0, FK_BYTES = 1, FK_FLOAT = 2, FK_INT64 = 3 };

static inline td_dtype kind_dtype(int kind) {
  static const td_dtype dt[] = {TD_DT_INVALID, TD_DT_STRING, TD_DT_FLOAT, TD_DT_INT64};
  return dt[kind];
}

/* A Feature's resolved oneof: its kind and where the run of that kind starts. */
typedef struct fview {
  int kind;
  const uint8_t *from, *end;
} fview;

static inline int feature_view(slice f, fview *v) {
  wire w = {(const uint8_t *)f.p, f.n ? (const uint8_t *)f.p + f.n : (const uint8_t *)f.p}; /* f.p may be NULL */
  v->kind = FK_NONE;
  v->end = w.end;
  while (w.p < w.end) {
    const uint8_t *start = w.p;
    uint32_t field, wt;
    if (!wire_tag(&w, &field, &wt)) return 0;
    if (field >= FK_BYTES && field <= FK_INT64 && wt == WT_LEN && (int)field != v->kind) {
      v->kind = (int)field;
      v->from = start;
    }
    if (!wire_skip(&w, wt)) return 0;
  }
  return 1;
}

static inline int list_values(wire list, int kind, sink *s) {
  while (list.p < list.end) {
    uint32_t field, wt;
    if (!wire_tag(&list, &field, &wt)) return 0;
    if (field != 1) {
      if (!wire_skip(&list, wt)) return 0;
      continue;
    }
    if (kind == FK_BYTES && wt == WT_LEN) {
      wire b;
      if (!wire_bytes(&list, &b)) return 0;
      slice sl = {(const char *)b.p, (size_t)(b.end - b.p)};
      sink_push(s, &sl);
    } else if (kind == FK_FLOAT && wt == WT_LEN) {
      wire b;
      if (!wire_bytes(&list, &b) || (b.end - b.p) % 4) return 0;
      for (; b.p < b.end; b.p += 4) {
        uint32_t bits = (uint32_t)b.p[0] | (uint32_t)b.p[1] << 8 | (uint32_t)b.p[2] << 16 |
                        (uint32_t)b.p[3] << 24;
        float f;
        memcpy(&f, &bits, 4);
        sink_push(s, &f);
      }
    } else if (kind == FK_FLOAT && wt == WT_I32) {
      if (list.end - list.p < 4) return 0;
      uint32_t bits = (uint32_t)list.p[0] | (uint32_t)list.p[1] << 8 |
                      (uint32_t)list.p[2] << 16 | (uint32_t)list.p[3] << 24;
      float f;
      memcpy(&f, &bits, 4);
      sink_push(s, &f);
      list.p += 4;
    } else if (kind == FK_INT64 && wt == WT_LEN) {
      wire b;
      if (!wire_bytes(&list, &b)) return 0;
      while (b.p < b.end) {
        uint64_t u;
        if (!wire_varint(&b, &u)) return 0;
        int64_t i = (int64_t)u;
        sink_push(s, &i);
      }
    } else if (kind == FK_INT64 && wt == WT_VARINT) {
      uint64_t u;
      if (!wire_varint(&list, &u)) return 0;
      int64_t i = (int64_t)u;
      sink_push(s, &i);
    } else if (!wire_skip(&list, wt)) {
      return 0;
    }
  }
  return 1;
}

/* Pushes every value of the view's kind into s. */
static inline int feature_values(const fview *v, sink *s) {
  if (v->kind == FK_NONE) return 1;
  wire w = {v->from, v->end};
  while (w.p < w.end) {
    uint32_t field, wt;
    if (!wire_tag(&w, &field, &wt)) return 0;
    if ((int)field == v->kind && wt == WT_LEN) {
      wire list;
      if (!wire_bytes(&w, &list) || !list_values(list, v->kind, s)) return 0;
    } else if (!wire_skip(&w, wt)) {
      return 0;
    }
  }
  return 1;
}

#endif
