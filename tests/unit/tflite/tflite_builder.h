/* tflite_builder.h — test-only FlatBuffer writer for .tflite models (static functions; include
 * from one test file each). Objects are laid out front to back so every uoffset points forward.
 * Not production code. */
#ifndef TD_TEST_TFLITE_BUILDER_H
#define TD_TEST_TFLITE_BUILDER_H

#include <stdint.h>
#include <string.h>

#include "util/mem.h"

/* Objects are laid out front to back: a parent's offset slot is always before its child, so
 * every uoffset points forward as the format requires. */

typedef struct fbw {
  uint8_t *p;
  size_t n, cap;
} fbw;

static void w_pad(fbw *b, size_t a) {
  while (b->n % a) {
    TD_GROW(b->p, b->cap, b->n + 1);
    b->p[b->n++] = 0;
  }
}
static void w_byte(fbw *b) {
  TD_GROW(b->p, b->cap, b->n + 1);
  b->p[b->n++] = 0;
}
static size_t w_put(fbw *b, const void *d, size_t n) {
  TD_GROW(b->p, b->cap, b->n + n + 1);
  memcpy(b->p + b->n, d, n);
  b->n += n;
  return b->n - n;
}
static void w_u32_at(fbw *b, size_t pos, uint32_t v) { memcpy(b->p + pos, &v, 4); }
static void w_patch(fbw *b, size_t slot, size_t target) { w_u32_at(b, slot, (uint32_t)(target - slot)); }

typedef struct fld {
  int id, size; /* size 1/4/8 scalar, or 0 = 4-byte offset slot to be patched */
  uint64_t v;
} fld;

/* Writes vtable + table; slots[i] = absolute position of field i (for offsets). */
static size_t w_table(fbw *b, int nf, const fld *f, size_t *slots) {
  int maxid = -1;
  for (int i = 0; i < nf; i++)
    if (f[i].id > maxid) maxid = f[i].id;
  uint16_t vt[64] = {0};
  uint16_t off = 4; /* after the soffset */
  uint16_t offs[32];
  for (int i = 0; i < nf; i++) {
    int sz = f[i].size ? f[i].size : 4;
    while (off % sz) off++;
    offs[i] = off;
    off += (uint16_t)sz;
  }
  vt[0] = (uint16_t)(4 + 2 * (maxid + 1));
  vt[1] = off;
  for (int i = 0; i < nf; i++) vt[2 + f[i].id] = offs[i];
  w_pad(b, 2);
  size_t vpos = w_put(b, vt, vt[0]);
  w_pad(b, 8);
  size_t t = b->n;
  uint8_t zero[256] = {0};
  w_put(b, zero, off);
  int32_t soff = (int32_t)(t - vpos);
  memcpy(b->p + t, &soff, 4);
  for (int i = 0; i < nf; i++) {
    if (f[i].size) memcpy(b->p + t + offs[i], &f[i].v, (size_t)f[i].size);
    if (slots) slots[i] = t + offs[i];
  }
  return t;
}

static size_t w_string(fbw *b, const char *s) {
  w_pad(b, 4);
  uint32_t n = (uint32_t)strlen(s);
  size_t p = w_put(b, &n, 4);
  w_put(b, s, n + 1);
  return p;
}
/* A scalar vector (elem 1/4/8 bytes); elements aligned to max(elem, 4). */
static size_t w_vec(fbw *b, const void *d, uint32_t n, size_t elem) {
  while ((b->n + 4) % (elem > 4 ? elem : 4)) w_byte(b);
  size_t p = w_put(b, &n, 4);
  if (n) w_put(b, d, n * elem);
  return p;
}
/* A vector of n offsets; returns its position; slot i at pos + 4 + 4i. */
static size_t w_offvec(fbw *b, uint32_t n) {
  w_pad(b, 4);
  size_t p = w_put(b, &n, 4);
  uint32_t z = 0;
  for (uint32_t i = 0; i < n; i++) w_put(b, &z, 4);
  return p;
}

/* ---- a model description ---- */
typedef struct t_tensor {
  const char *name;
  int type;
  int rank;
  int32_t dims[4];
  const void *data; /* constant bytes or NULL */
  uint32_t nbytes;
  float scale; /* 0 = not quantized */
  int64_t zp;
  int nq; /* > 0: per-channel scales/zps along qaxis instead of scale/zp */
  float scales[8];
  int64_t zps[8];
  int qaxis;
} t_tensor;

typedef struct t_op {
  int opcode;
  int nin, nout;
  int32_t in[4], out[2];
  int opt_type;
  int nopt;
  fld opt[8];
} t_op;

typedef struct t_model {
  int ncodes;
  int codes[8];
  int ntensors;
  t_tensor t[12];
  int nops;
  t_op ops[6];
  int nin, nout;
  int32_t in[2], out[2];
  uint32_t version;
} t_model;

static uint8_t *build_model(const t_model *m, size_t *len) {
  fbw b = {0};
  uint32_t root_slot = 0;
  w_put(&b, &root_slot, 4);
  w_put(&b, "TFL3", 4);
  /* Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers */
  fld mf[5] = {{0, 4, m->version}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}};
  size_t ms[5];
  size_t root = w_table(&b, 5, mf, ms);
  w_patch(&b, 0, root);
  /* operator codes */
  size_t cv = w_offvec(&b, (uint32_t)m->ncodes);
  w_patch(&b, ms[1], cv);
  for (int i = 0; i < m->ncodes; i++) {
    int code = m->codes[i];
    fld cf[3] = {{0, 1, (uint64_t)(uint8_t)(code < 127 ? code : 127)}, {2, 4, 1}, {3, 4, (uint64_t)code}};
    w_patch(&b, cv + 4 + 4 * (size_t)i, w_table(&b, 3, cf, NULL));
  }
  w_patch(&b, ms[3], w_string(&b, "built by test_tflite_reader"));
  /* buffers: 0 = sentinel, then one per constant tensor */
  int nbuf = 1;
  int bufidx[12] = {0};
  for (int i = 0; i < m->ntensors; i++)
    if (m->t[i].data) bufidx[i] = nbuf++;
  size_t bv = w_offvec(&b, (uint32_t)nbuf);
  w_patch(&b, ms[4], bv);
  w_patch(&b, bv + 4, w_table(&b, 0, NULL, NULL));
  for (int i = 0; i < m->ntensors; i++)
    if (m->t[i].data) {
      fld bf[1] = {{0, 0, 0}};
      size_t s[1];
      w_patch(&b, bv + 4 + 4 * (size_t)bufidx[i], w_table(&b, 1, bf, s));
      w_pad(&b, 16);
      while ((b.n + 4) % 16) w_byte(&b);
      w_patch(&b, s[0], w_vec(&b, m->t[i].data, m->t[i].nbytes, 1));
    }
  /* one subgraph: 0 tensors, 1 inputs, 2 outputs, 3 operators, 4 name */
  size_t sv = w_offvec(&b, 1);
  w_patch(&b, ms[2], sv);
  fld sf[5] = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}};
  size_t ss[5];
  w_patch(&b, sv + 4, w_table(&b, 5, sf, ss));
  size_t tv = w_offvec(&b, (uint32_t)m->ntensors);
  w_patch(&b, ss[0], tv);
  for (int i = 0; i < m->ntensors; i++) {
    const t_tensor *t = &m->t[i];
    /* Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization */
    fld tf[5] = {{0, 0, 0}, {1, 1, (uint64_t)t->type}, {2, 4, (uint64_t)bufidx[i]}, {3, 0, 0}, {4, 0, 0}};
    size_t ts[5];
    int quant = t->scale != 0 || t->nq > 0;
    w_patch(&b, tv + 4 + 4 * (size_t)i, w_table(&b, quant ? 5 : 4, tf, ts));
    w_patch(&b, ts[0], w_vec(&b, t->dims, (uint32_t)t->rank, 4));
    w_patch(&b, ts[3], w_string(&b, t->name));
    if (quant) { /* QuantizationParameters: 2 scale, 3 zero_point, 6 quantized_dimension */
      fld qf[3] = {{2, 0, 0}, {3, 0, 0}, {6, 4, (uint64_t)t->qaxis}};
      size_t qs[3];
      w_patch(&b, ts[4], w_table(&b, 3, qf, qs));
      w_patch(&b, qs[0], w_vec(&b, t->nq ? t->scales : &t->scale, t->nq ? (uint32_t)t->nq : 1, 4));
      w_patch(&b, qs[1], w_vec(&b, t->nq ? t->zps : &t->zp, t->nq ? (uint32_t)t->nq : 1, 8));
    }
  }
  w_patch(&b, ss[1], w_vec(&b, m->in, (uint32_t)m->nin, 4));
  w_patch(&b, ss[2], w_vec(&b, m->out, (uint32_t)m->nout, 4));
  size_t ov = w_offvec(&b, (uint32_t)m->nops);
  w_patch(&b, ss[3], ov);
  for (int i = 0; i < m->nops; i++) {
    const t_op *o = &m->ops[i];
    /* Operator: 0 opcode_index, 1 inputs, 2 outputs, 3 builtin_options_type, 4 builtin_options */
    fld of[5] = {{0, 4, (uint64_t)o->opcode}, {1, 0, 0}, {2, 0, 0}, {3, 1, (uint64_t)o->opt_type}, {4, 0, 0}};
    size_t os[5];
    w_patch(&b, ov + 4 + 4 * (size_t)i, w_table(&b, o->opt_type ? 5 : 3, of, os));
    w_patch(&b, os[1], w_vec(&b, o->in, (uint32_t)o->nin, 4));
    w_patch(&b, os[2], w_vec(&b, o->out, (uint32_t)o->nout, 4));
    if (o->opt_type) w_patch(&b, os[4], w_table(&b, o->nopt, o->opt, NULL));
  }
  w_patch(&b, ss[4], w_string(&b, "main"));
  *len = b.n;
  return b.p;
}

#endif
