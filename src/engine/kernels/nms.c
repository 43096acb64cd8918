/* nms.c — non-max suppression (rows in image.def): NonMaxSuppressionV2..V5 and
 * CombinedNonMaxSuppression.
 *
 * Greedy selection as TF documents it: candidates whose score exceeds score_threshold are
 * visited by decreasing score (ties: lower index first); a candidate is dropped when its IoU with
 * an already selected box exceeds iou_threshold. With soft_nms_sigma > 0 (V5) overlapping
 * candidates are instead re-weighted by exp(-0.5 * iou^2 / sigma) against each newly selected box
 * (each pair once) and re-queued while their score stays above the threshold. Boxes are
 * [y1, x1, y2, x2] in any corner order; a box of zero area overlaps nothing.
 * Reentrant; scratch per call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"

typedef struct cand {
  float score;
  int64_t index;
  int64_t suppress_begin; /* selected boxes before this one were already applied */
} cand;

/* Max-heap on (score, -index). */
static int cand_less(const cand *a, const cand *b) {
  return a->score < b->score || (a->score == b->score && a->index > b->index);
}

typedef struct heap {
  cand *v;
  int64_t n;
} heap;

static void heap_push(heap *h, cand c) {
  int64_t i = h->n++;
  h->v[i] = c;
  while (i > 0) {
    int64_t p = (i - 1) / 2;
    if (!cand_less(&h->v[p], &h->v[i])) break;
    cand t = h->v[p];
    h->v[p] = h->v[i], h->v[i] = t;
    i = p;
  }
}

static cand heap_pop(heap *h) {
  cand top = h->v[0];
  h->v[0] = h->v[--h->n];
  for (int64_t i = 0;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && cand_less(&h->v[m], &h->v[l])) m = l;
    if (r < h->n && cand_less(&h->v[m], &h->v[r])) m = r;
    if (m == i) break;
    cand t = h->v[m];
    h->v[m] = h->v[i], h->v[i] = t;
    i = m;
  }
  return top;
}

/* boxes: n x 4 floats (stride 4 between boxes unless given). */
static float iou(const float *a, const float *b) {
  float ay1 = fminf(a[0], a[2]), ax1 = fminf(a[1], a[3]), ay2 = fmaxf(a[0], a[2]), ax2 = fmaxf(a[1], a[3]);
  float by1 = fminf(b[0], b[2]), bx1 = fminf(b[1], b[3]), by2 = fmaxf(b[0], b[2]), bx2 = fmaxf(b[1], b[3]);
  float area_a = (ay2 - ay1) * (ax2 - ax1), area_b = (by2 - by1) * (bx2 - bx1);
  if (area_a <= 0 || area_b <= 0) return 0.0f;
  float iy1 = fmaxf(ay1, by1), ix1 = fmaxf(ax1, bx1), iy2 = fminf(ay2, by2), ix2 = fminf(ax2, bx2);
  float inter = fmaxf(iy2 - iy1, 0.0f) * fmaxf(ix2 - ix1, 0.0f);
  return inter / (area_a + area_b - inter);
}

/* Runs NMS over n boxes (box i at boxes + i*bstride) and scores; writes up to max_out selected
 * indices / scores. Returns the count, or -1 on allocation failure. */
static int64_t nms(const float *boxes, int64_t bstride, const float *scores, int64_t n, int64_t max_out, float iou_thr,
                   float score_thr, float sigma, int64_t *sel, float *sel_scores) {
  heap h = {malloc((size_t)(n > 0 ? n : 1) * sizeof(cand)), 0};
  if (!h.v) return -1;
  for (int64_t i = 0; i < n; i++)
    if (scores[i] > score_thr) heap_push(&h, (cand){scores[i], i, 0});
  float scale = sigma > 0 ? -0.5f / sigma : 0.0f;
  int soft = sigma > 0;
  int64_t count = 0;
  while (count < max_out && h.n > 0) {
    cand cd = heap_pop(&h);
    float original = cd.score;
    int hard = 0;
    for (int64_t j = count - 1; j >= cd.suppress_begin; j--) {
      float sim = iou(boxes + cd.index * bstride, boxes + sel[j] * bstride);
      cd.score *= sim <= iou_thr ? expf(scale * sim * sim) : 0.0f;
      if (!soft && sim > iou_thr) {
        hard = 1;
        break;
      }
      if (cd.score <= score_thr) break;
    }
    cd.suppress_begin = count;
    if (hard) continue;
    if (cd.score == original) {
      sel[count] = cd.index;
      if (sel_scores) sel_scores[count] = cd.score;
      count++;
    } else if (cd.score > score_thr) {
      heap_push(&h, cd);
    }
  }
  free(h.v);
  return count;
}

/* Reads a float copy of t (any real dtype); NULL on allocation failure. */
static float *floats(const td_tensor *t) {
  int64_t n = td_tensor_num_elements(t);
  float *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  if (!v) return NULL;
  for (int64_t i = 0; i < n; i++) v[i] = (float)td_tensor_get_double(t, i);
  return v;
}

static td_code scalar_in(td_kctx *c, int i, const char *what, double *v) {
  const td_tensor *t = td_k_input(c, i);
  char buf[64];
  if (t->shape.rank != 0)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be 0-D, got shape %s", what, td_shape_str(&t->shape, buf, sizeof buf));
  *v = td_tensor_get_double(t, 0);
  return TD_OK;
}

/* version 2..5 */
static td_code nms_run(td_kctx *c, int version) {
  const td_tensor *boxes = td_k_input(c, 0), *scores = td_k_input(c, 1);
  char buf[200];
  if (boxes->shape.rank != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "boxes must be 2-D%s", td_shape_str(&boxes->shape, buf, sizeof buf));
  int64_t n = boxes->shape.dim[0];
  if (boxes->shape.dim[1] != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "boxes must have 4 columns%s", td_shape_str(&boxes->shape, buf, sizeof buf));
  if (scores->shape.rank != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "scores must be 1-D%s", td_shape_str(&scores->shape, buf, sizeof buf));
  if (scores->shape.dim[0] != n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "scores has incompatible shape");
  double max_out = 0, iou_thr = 0, score_thr = -INFINITY, sigma = 0;
  TD_TRY(scalar_in(c, 2, "max_output_size", &max_out));
  TD_TRY(scalar_in(c, 3, "iou_threshold", &iou_thr));
  if (version >= 3) TD_TRY(scalar_in(c, 4, "score_threshold", &score_thr));
  if (version >= 5) TD_TRY(scalar_in(c, 5, "soft_nms_sigma", &sigma));
  if (!(iou_thr >= 0 && iou_thr <= 1)) return td_k_fail(c, TD_INVALID_ARGUMENT, "iou_threshold must be in [0, 1]");
  if (sigma < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "soft_nms_sigma must be non-negative");
  if (max_out < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "max_output_size must be non-negative");
  int64_t mo = (int64_t)max_out;
  int pad = version >= 4 && td_attr_bool(td_k_node(c), "pad_to_max_output_size", false);
  int64_t cap = mo < n ? mo : n;
  float *b = floats(boxes), *s = floats(scores);
  int64_t *sel = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *sel);
  float *ss = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *ss);
  int64_t k = (b && s && sel && ss) ? nms(b, 4, s, n, cap, (float)iou_thr, (float)score_thr, (float)sigma, sel, ss) : -1;
  free(b);
  free(s);
  td_code rc = TD_OK;
  if (k < 0) {
    rc = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "NonMaxSuppression: out of memory");
    goto done;
  }
  int64_t len = pad ? mo : k;
  td_shape vs = td_shape_vector(len);
  td_tensor *oi;
  rc = td_k_alloc_output(c, 0, TD_DT_INT32, &vs, &oi);
  if (rc != TD_OK) goto done;
  for (int64_t i = 0; i < k; i++) td_i32(oi)[i] = (int32_t)sel[i];
  int next = 1;
  if (version == 5) {
    td_tensor *os;
    rc = td_k_alloc_output(c, next++, scores->dtype, &vs, &os);
    if (rc != TD_OK) goto done;
    for (int64_t i = 0; i < k; i++) td_tensor_set_double(os, i, ss[i]);
  }
  if (version >= 4) {
    td_tensor *ov;
    td_shape sc = td_shape_scalar();
    rc = td_k_alloc_output(c, next, TD_DT_INT32, &sc, &ov);
    if (rc != TD_OK) goto done;
    td_i32(ov)[0] = (int32_t)k;
  }
done:
  free(sel);
  free(ss);
  return rc;
}

td_code td_k_nms_v2(td_kctx *c) { return nms_run(c, 2); }
td_code td_k_nms_v3(td_kctx *c) { return nms_run(c, 3); }
td_code td_k_nms_v4(td_kctx *c) { return nms_run(c, 4); }
td_code td_k_nms_v5(td_kctx *c) { return nms_run(c, 5); }

/* ---- CombinedNonMaxSuppression ---- */

typedef struct det {
  float score;
  int64_t cls, order; /* order: class-major selection order (stable tie break) */
  float box[4];
} det;

static int det_cmp(const void *a, const void *b) {
  const det *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

td_code td_k_combined_nms(td_kctx *c) {
  const td_tensor *boxes = td_k_input(c, 0), *scores = td_k_input(c, 1);
  const td_node *nd = td_k_node(c);
  char buf[200];
  if (boxes->shape.rank != 4 || boxes->shape.dim[3] != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "boxes must be 4-D [batch, num_boxes, q, 4]: %s", td_shape_str(&boxes->shape, buf, sizeof buf));
  if (scores->shape.rank != 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "scores must be 3-D [batch, num_boxes, num_classes]: %s", td_shape_str(&scores->shape, buf, sizeof buf));
  int64_t B = boxes->shape.dim[0], N = boxes->shape.dim[1], q = boxes->shape.dim[2], C = scores->shape.dim[2];
  if (scores->shape.dim[0] != B || scores->shape.dim[1] != N)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "scores must match boxes in batch and num_boxes");
  if (q != 1 && q != C)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "third dimension of boxes must be either 1 or num classes");
  double per_class = 0, total = 0, iou_thr = 0, score_thr = 0;
  TD_TRY(scalar_in(c, 2, "max_output_size_per_class", &per_class));
  TD_TRY(scalar_in(c, 3, "max_total_size", &total));
  TD_TRY(scalar_in(c, 4, "iou_threshold", &iou_thr));
  TD_TRY(scalar_in(c, 5, "score_threshold", &score_thr));
  if (!(iou_thr >= 0 && iou_thr <= 1)) return td_k_fail(c, TD_INVALID_ARGUMENT, "iou_threshold must be in [0, 1]");
  if (total <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "max_total_size must be > 0");
  if (per_class <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "max_output_size_per_class must be > 0");
  int64_t mpc = (int64_t)per_class, mt = (int64_t)total;
  int pad_per_class = td_attr_bool(nd, "pad_per_class", false), clip = td_attr_bool(nd, "clip_boxes", true);
  int64_t maxdet = mt;
  if (pad_per_class && mpc * C < mt) maxdet = mpc * C;
  td_tensor *ob, *os, *oc, *ov;
  td_shape sb = td_shape_make(3, (const int64_t[]){B, maxdet, 4}), s2 = td_shape_make(2, (const int64_t[]){B, maxdet});
  td_shape s1 = td_shape_vector(B);
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_FLOAT, &sb, &ob));
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_FLOAT, &s2, &os));
  TD_TRY(td_k_alloc_output(c, 2, TD_DT_FLOAT, &s2, &oc));
  TD_TRY(td_k_alloc_output(c, 3, TD_DT_INT32, &s1, &ov));
  int64_t cap = mpc < N ? mpc : N;
  float *bx = floats(boxes), *sc = floats(scores), *cs = malloc((size_t)(N > 0 ? N : 1) * sizeof *cs);
  int64_t *sel = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *sel);
  det *dets = malloc((size_t)(C * cap > 0 ? C * cap : 1) * sizeof *dets);
  td_code rc = TD_OK;
  if (!bx || !sc || !cs || !sel || !dets) {
    rc = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "CombinedNonMaxSuppression: out of memory");
    goto done;
  }
  for (int64_t b = 0; b < B; b++) {
    int64_t nd_count = 0;
    for (int64_t k = 0; k < C; k++) {
      for (int64_t i = 0; i < N; i++) cs[i] = sc[(b * N + i) * C + k];
      const float *base = bx + ((b * N) * q + (q == 1 ? 0 : k)) * 4;
      int64_t got = nms(base, q * 4, cs, N, cap, (float)iou_thr, (float)score_thr, 0.0f, sel, NULL);
      if (got < 0) {
        rc = td_k_fail(c, TD_RESOURCE_EXHAUSTED, "CombinedNonMaxSuppression: out of memory");
        goto done;
      }
      for (int64_t j = 0; j < got; j++) {
        det *d = &dets[nd_count];
        d->score = cs[sel[j]];
        d->cls = k;
        d->order = nd_count++;
        memcpy(d->box, base + sel[j] * q * 4, sizeof d->box);
      }
    }
    qsort(dets, (size_t)nd_count, sizeof *dets, det_cmp);
    int64_t keep = nd_count < maxdet ? nd_count : maxdet;
    for (int64_t j = 0; j < keep; j++) {
      float *o = td_f32(ob) + (b * maxdet + j) * 4;
      for (int e = 0; e < 4; e++) {
        float v = dets[j].box[e];
        o[e] = clip ? fminf(fmaxf(v, 0.0f), 1.0f) : v;
      }
      td_f32(os)[b * maxdet + j] = dets[j].score;
      td_f32(oc)[b * maxdet + j] = (float)dets[j].cls;
    }
    td_i32(ov)[b] = (int32_t)keep;
  }
done:
  free(bx);
  free(sc);
  free(cs);
  free(sel);
  free(dets);
  return rc;
}
