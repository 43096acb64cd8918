/* while_split.c — runs a row-separable While loop on row ranges in parallel (while_split.h).
 *
 * Ownership: the caller's vars are borrowed throughout. Part variables of class INV are the
 * caller's tensors themselves; ROW part variables are views made here (holding references,
 * or borrowed views of borrowed inputs) and released here; LIST part variables are new lists
 * handed to the runner (so the body updates them in place from the first iteration on). The
 * runner's results are owned; part 0's INV results become the merged results, the rest is
 * released. All parts run the same number of iterations (the condition reads INV variables
 * only).
 * A list that starts with no items (the loop's outputs) gets one block of storage shared by
 * its parts: item k of part p is stored at block + k * B * row + r0[p] * row, so every item
 * the parts write comes back as one [B, ...] view of the block, with no copy. Items found
 * elsewhere are concatenated. */
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernels/tensor_list_internal.h"
#include "engine/kernels/while_split.h"

/* One split run: its rows and per-variable storage. */
typedef struct split_run {
  const unsigned char *cls; /* per variable: this run's TD_SPLIT_* class */
  const td_tensor *vars;
  int n, parts;
  int64_t b;
  int64_t *r0, *rows;      /* per part */
  td_tensor *block;        /* per variable: a LIST's shared item storage (uint8), or empty */
  size_t *row_bytes;       /* per variable: bytes per row of block items */
  unsigned char *given;    /* per variable: handed to the runner (LIST) */
} split_run;

static atomic_long g_split_runs;
long td_while_split_runs(void) { return atomic_load(&g_split_runs); }

static int plain(td_dtype dt) {
  return td_dtype_size(dt) > 0 && td_dtype_is_plain(dt);
}

static int agree(int64_t *b, int64_t d) {
  if (*b < 0) *b = d;
  return *b == d;
}

/* rank[i] for the analysis: a ROW candidate's rank, a LIST candidate's items' rank (-1 when
 * no item or element shape tells). 0 when a candidate cannot be split at all. */
static int ranks_of(const td_loop_split *s, const td_tensor *v, int n, int *rank) {
  for (int i = 0; i < n; i++) {
    rank[i] = v[i].shape.rank;
    if (s->cls[i] == TD_SPLIT_ROW && !plain(v[i].dtype)) return 0;
    if (s->cls[i] != TD_SPLIT_LIST) continue;
    const td_tlist *l = tl_of(&v[i]);
    if (!l || !plain(l->element_dtype)) return 0;
    rank[i] = l->element_shape.rank;
    for (int64_t k = 0; k < l->n; k++) {
      const td_tensor *it = &l->items[k];
      if (it->dtype == TD_DT_INVALID) continue;
      if (!plain(it->dtype) || (rank[i] >= 0 && it->shape.rank != rank[i])) return 0;
      rank[i] = it->shape.rank;
    }
  }
  return 1;
}

/* The batch size the ROW and LIST variables (cls) agree on, or -1. */
static int64_t batch_of(const unsigned char *cls, const td_tensor *v, int n) {
  int64_t b = -1;
  for (int i = 0; i < n; i++) {
    if (cls[i] == TD_SPLIT_ROW) {
      if (v[i].shape.rank < 1 || !agree(&b, v[i].shape.dim[0])) return -1;
    } else if (cls[i] == TD_SPLIT_LIST) {
      const td_tlist *l = tl_of(&v[i]);
      if (l->element_shape.rank == 0) return -1;
      if (l->element_shape.rank > 0 && l->element_shape.dim[0] >= 0 && !agree(&b, l->element_shape.dim[0])) return -1;
      for (int64_t k = 0; k < l->n; k++)
        if (l->items[k].dtype != TD_DT_INVALID && (l->items[k].shape.rank < 1 || !agree(&b, l->items[k].shape.dim[0])))
          return -1;
    }
  }
  return b;
}

/* Rows [r0, r0 + rows) of t (dim 0 > 0) sharing its storage. */
static td_tensor row_view(const td_tensor *t, int64_t r0, int64_t rows) {
  td_tensor v = t->buf ? td_tensor_ref(t) : *t;
  size_t row = td_tensor_nbytes(t) / (size_t)t->shape.dim[0];
  v.shape.dim[0] = rows;
  v.data = (char *)t->data + (size_t)r0 * row;
  return v;
}

/* Shared item storage for LIST variable i when its list has no items yet and its element
 * shape fixes every dim but the first; nothing otherwise (the parts then allocate their own). */
static void make_block(split_run *r, int i) {
  const td_tlist *l = tl_of(&r->vars[i]);
  const td_shape *es = &l->element_shape;
  if (l->n < 1 || es->rank < 1) return;
  for (int64_t k = 0; k < l->n; k++)
    if (l->items[k].dtype != TD_DT_INVALID) return;
  size_t row = td_dtype_size(l->element_dtype);
  for (int d = 1; d < es->rank; d++) {
    if (es->dim[d] < 0) return;
    row *= (size_t)es->dim[d];
  }
  int64_t bytes = (int64_t)row * r->b * l->n;
  if (row == 0 || bytes / l->n / r->b != (int64_t)row) return;
  td_shape s = td_shape_make(1, &bytes);
  if (td_tensor_alloc(&r->block[i], TD_DT_UINT8, &s, NULL) == TD_OK) r->row_bytes[i] = row;
}

static void release_part(const split_run *r, td_tensor *pv, int upto, int consumed) {
  for (int i = 0; i < upto; i++)
    if (r->cls[i] == TD_SPLIT_ROW || (r->cls[i] == TD_SPLIT_LIST && !consumed)) td_tensor_release(&pv[i]);
}

/* Part p's variables; on failure nothing is left to release. */
static td_code make_part(const split_run *r, int p, td_tensor *pv) {
  int64_t r0 = r->r0[p], rows = r->rows[p];
  for (int i = 0; i < r->n; i++) {
    const td_tensor *v = &r->vars[i];
    if (r->cls[i] == TD_SPLIT_INV) {
      pv[i] = *v;
    } else if (r->cls[i] == TD_SPLIT_ROW) {
      pv[i] = row_view(v, r0, rows);
    } else {
      const td_tlist *src = tl_of(v);
      td_shape es = src->element_shape;
      if (es.rank > 0) es.dim[0] = -1; /* each part's items have fewer rows */
      td_tlist *l = tl_new(src->element_dtype, &es, src->max_num_elements);
      tl_resize(l, src->n);
      for (int64_t k = 0; k < src->n; k++)
        if (src->items[k].dtype != TD_DT_INVALID) l->items[k] = row_view(&src->items[k], r0, rows);
      const td_tensor *blk = &r->block[i];
      if (blk->buf) {
        size_t row = r->row_bytes[i];
        tl_preset_slab(l, blk, (char *)blk->data + (size_t)r0 * row, (size_t)rows * row, (size_t)r->b * row);
      }
      if (tl_wrap(l, &pv[i]) != TD_OK) {
        release_part(r, pv, i, 0);
        return TD_RESOURCE_EXHAUSTED;
      }
    }
  }
  return TD_OK;
}

/* Concatenates the parts' row tensors t[p] (part p has rows[p] rows) into *out. */
static td_code concat_rows(td_kctx *c, const split_run *r, const td_tensor *const *t, int var, td_tensor *out) {
  const td_tensor *t0 = t[0];
  for (int p = 0; p < r->parts; p++) {
    int ok = t[p]->dtype == t0->dtype && t[p]->shape.rank == t0->shape.rank && t0->shape.rank >= 1 &&
             t[p]->shape.dim[0] == r->rows[p];
    for (int d = 1; ok && d < t0->shape.rank; d++) ok = t[p]->shape.dim[d] == t0->shape.dim[d];
    if (!ok) return td_k_fail(c, TD_INTERNAL, "loop variable %d: the row parts of a split loop disagree", var);
  }
  td_shape shape = t0->shape;
  shape.dim[0] = r->b;
  td_status st;
  if (td_tensor_alloc(out, t0->dtype, &shape, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  char *dst = out->data;
  for (int p = 0; p < r->parts; p++) {
    size_t nb = td_tensor_nbytes(t[p]);
    if (nb) memcpy(dst, t[p]->data, nb);
    dst += nb;
  }
  return TD_OK;
}

/* Item t[0..parts) as one [B, ...] tensor when each part's rows sit at their place in the
 * storage `whole` (data: the item's first row, row bytes apart): 1 and *out set. */
static int whole_view(const split_run *r, const td_tensor *whole, const char *data, size_t row,
                      const td_tensor *const *t, td_tensor *out) {
  if (!whole->buf || row == 0) return 0;
  for (int p = 0; p < r->parts; p++)
    if (t[p]->buf != whole->buf || (const char *)t[p]->data != data + (size_t)r->r0[p] * row ||
        td_tensor_nbytes(t[p]) != (size_t)r->rows[p] * row)
      return 0;
  *out = td_tensor_ref(whole);
  out->dtype = t[0]->dtype;
  out->shape = t[0]->shape;
  out->shape.dim[0] = r->b;
  out->data = (void *)data;
  return 1;
}

static td_code merge_list(td_kctx *c, const split_run *r, td_tensor *const *res, int var, td_tensor *out) {
  const td_tlist *orig = tl_of(&r->vars[var]);
  const td_tlist *lp[r->parts];
  for (int p = 0; p < r->parts; p++) {
    lp[p] = tl_of(res[p]);
    if (!lp[p] || lp[p]->n != lp[0]->n || lp[p]->element_dtype != orig->element_dtype)
      return td_k_fail(c, TD_INTERNAL, "loop variable %d: the list parts of a split loop disagree", var);
  }
  td_tlist *m = tl_new(orig->element_dtype, &orig->element_shape, orig->max_num_elements);
  tl_resize(m, lp[0]->n);
  const td_tensor *blk = &r->block[var];
  td_code code = TD_OK;
  for (int64_t k = 0; k < m->n && code == TD_OK; k++) {
    const td_tensor *t[r->parts];
    int set = 0;
    for (int p = 0; p < r->parts; p++) t[p] = &lp[p]->items[k], set += t[p]->dtype != TD_DT_INVALID;
    if (set == 0) continue;
    const td_tensor *o = k < orig->n ? &orig->items[k] : NULL;
    size_t orow = o && o->dtype != TD_DT_INVALID ? td_tensor_nbytes(o) / (size_t)o->shape.dim[0] : 0;
    if (set != r->parts)
      code = td_k_fail(c, TD_INTERNAL, "loop variable %d: item %lld is set in some parts of a split loop only", var,
                       (long long)k);
    else if (!(o && whole_view(r, o, o->data, orow, t, &m->items[k])) &&
             !(blk->buf && k < orig->n &&
               whole_view(r, blk, (char *)blk->data + (size_t)k * (size_t)r->b * r->row_bytes[var], r->row_bytes[var],
                          t, &m->items[k])))
      code = concat_rows(c, r, t, var, &m->items[k]);
  }
  if (code != TD_OK) {
    td_resource_unref(&m->base);
    return code;
  }
  if (tl_wrap(m, out) != TD_OK) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  return TD_OK;
}

static td_code merge(td_kctx *c, const split_run *r, td_tensor *cur, td_tensor *res) {
  int n = r->n;
  td_code code = TD_OK;
  int i = 0;
  for (; i < n && code == TD_OK; i++) {
    td_tensor *pt[r->parts];
    for (int p = 0; p < r->parts; p++) pt[p] = &cur[(size_t)p * n + i];
    if (r->cls[i] == TD_SPLIT_INV) {
      res[i] = *pt[0];
      memset(pt[0], 0, sizeof *pt[0]);
    } else if (r->cls[i] == TD_SPLIT_ROW) {
      code = concat_rows(c, r, (const td_tensor *const *)pt, i, &res[i]);
    } else {
      code = merge_list(c, r, pt, i, &res[i]);
    }
  }
  if (code != TD_OK)
    for (int j = 0; j < i - 1; j++) td_tensor_release(&res[j]);
  return code;
}

/* Runs the parts on an OpenMP team; codes[p], ran[p] and st[p] per part. */
static void run_parts(td_kctx *c, const split_run *r, td_tensor *cur, td_loop_fn run, void *arg, td_code *codes,
                      int *ran, td_status *st) {
  int n = r->n;
#pragma omp parallel num_threads(r->parts)
  {
    int nth = omp_get_num_threads();
    for (int p = omp_get_thread_num(); p < r->parts; p += nth) {
      td_kctx *f = td_k_fork(c, &st[p]);
      codes[p] = f ? run(f, arg, &cur[(size_t)p * n], r->given, n, &ran[p])
                   : td_status_set(&st[p], TD_RESOURCE_EXHAUSTED, "out of memory");
      free(f);
    }
  }
}

td_code td_while_split_run(td_kctx *c, const td_loop_split *s, const td_tensor *vars, int n, td_loop_fn run,
                           void *arg, td_tensor *res, int *done) {
  *done = 0;
  int threads = td_k_threads(c);
  if (s->nvars != n || threads < 2) return TD_OK;
  int *rank = malloc((size_t)n * sizeof *rank);
  unsigned char *cls = malloc((size_t)n);
  int64_t b = -1;
  if (rank && cls && ranks_of(s, vars, n, rank) && td_loop_split_classes(s, rank, cls)) b = batch_of(cls, vars, n);
  free(rank);
  if (b < 2 * TD_SPLIT_MIN_ROWS) {
    free(cls);
    return TD_OK;
  }
  int parts = (int)(b / TD_SPLIT_MIN_ROWS < threads ? b / TD_SPLIT_MIN_ROWS : threads);
  int64_t r0[parts], rows[parts];
  for (int p = 0; p < parts; p++) r0[p] = b * p / parts, rows[p] = b * (p + 1) / parts - r0[p];
  split_run r = {.cls = cls, .vars = vars, .n = n, .parts = parts, .b = b, .r0 = r0, .rows = rows};
  r.block = calloc((size_t)n, sizeof *r.block);
  r.row_bytes = calloc((size_t)n, sizeof *r.row_bytes);
  r.given = calloc((size_t)n, 1);
  td_tensor *pv = calloc((size_t)parts * n, sizeof *pv), *cur = calloc((size_t)parts * n, sizeof *cur);
  td_status *st = calloc((size_t)parts, sizeof *st);
  int *ran = calloc((size_t)parts, sizeof *ran);
  td_code *codes = calloc((size_t)parts, sizeof *codes);
  td_code code = TD_OK;
  int made = 0;
  if (!r.block || !r.row_bytes || !r.given || !pv || !cur || !st || !ran || !codes)
    code = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "out of memory");
  for (int i = 0; i < n && code == TD_OK; i++)
    if (cls[i] == TD_SPLIT_LIST) r.given[i] = 1, make_block(&r, i);
  while (code == TD_OK && made < parts)
    if ((code = make_part(&r, made, &pv[(size_t)made * n])) == TD_OK) made++;
  if (code != TD_OK) code = td_k_fail(c, code, "out of memory");
  if (code == TD_OK) {
    memcpy(cur, pv, (size_t)parts * n * sizeof *cur);
    run_parts(c, &r, cur, run, arg, codes, ran, st);
    for (int p = 0; p < parts && code == TD_OK; p++)
      if (codes[p] != TD_OK) code = td_k_fail(c, st[p].code, "%s", st[p].msg);
    int nran = 0;
    for (int p = 0; p < parts; p++) nran += codes[p] == TD_OK && ran[p];
    if (code == TD_OK && nran != parts && nran != 0)
      code = td_k_fail(c, TD_INTERNAL, "the row parts of a split loop ran different iteration counts");
    if (code == TD_OK && nran == parts && (code = merge(c, &r, cur, res)) == TD_OK) atomic_fetch_add(&g_split_runs, 1);
    *done = code != TD_OK || nran == parts;
    for (int p = 0; p < parts; p++) {
      int consumed = codes[p] != TD_OK || ran[p]; /* the runner took the given lists */
      if (codes[p] == TD_OK && ran[p])
        for (int i = 0; i < n; i++) td_tensor_release(&cur[(size_t)p * n + i]);
      release_part(&r, &pv[(size_t)p * n], n, consumed);
    }
    made = 0;
  }
  if (code != TD_OK) *done = 1;
  for (int p = 0; p < made; p++) release_part(&r, &pv[(size_t)p * n], n, 0);
  for (int i = 0; r.block && i < n; i++) td_tensor_release(&r.block[i]);
  free(r.block), free(r.row_bytes), free(r.given), free(cls);
  free(pv), free(cur), free(st), free(ran), free(codes);
  return code;
}
