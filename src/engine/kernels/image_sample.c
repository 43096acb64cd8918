/* image_sample.c — SampleDistortedBoundingBox and SampleDistortedBoundingBoxV2 (rows in
 * image.def): a random crop for data augmentation, as tf.image documents it. Each attempt draws
 * an aspect ratio in aspect_ratio_range and a height whose area lies in area_range of the image,
 * then a position; the crop is accepted when it covers at least min_object_covered of some
 * bounding box (0 accepts anything). After max_attempts failures the whole image is used.
 * Outputs begin [y, x, 0], size [h, w, -1] (the image_size dtype) and the crop as a normalized
 * box [1, 1, 4]. Draws come from the node's Philox stream (seed/seed2 as in random.c; unseeded:
 * a fresh stream per run); the sequence of draws is this engine's, not TF's. Reentrant. */
#include <math.h>
#include <stdatomic.h>

#include "engine/kernels/random_internal.h"

static atomic_uint_fast64_t sdbb_counter = 0x2545f4914f6cdd1dull;

typedef struct rng {
  td_philox g;
  uint32_t buf[4];
  int used;
} rng;

static uint32_t rng_u32(rng *r) {
  if (r->used == 4) {
    td_philox_next(&r->g, r->buf);
    r->used = 0;
  }
  return r->buf[r->used++];
}

static float rng_unit(rng *r) { return td_philox_u32_to_float(rng_u32(r)); }
static int64_t rng_below(rng *r, int64_t n) { return n > 0 ? (int64_t)(rng_u32(r) % (uint32_t)n) : 0; }

static td_code float_pair(td_kctx *c, const char *name, float lo_d, float hi_d, float *lo, float *hi) {
  const float *v = NULL;
  size_t n = td_attr_list_float(td_k_node(c), name, &v);
  if (n == 0) {
    *lo = lo_d, *hi = hi_d;
    return TD_OK;
  }
  if (n != 2) return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must have 2 elements", name);
  *lo = v[0], *hi = v[1];
  if (!(*lo > 0) || !(*hi >= *lo)) return td_k_fail(c, TD_INVALID_ARGUMENT, "%s must be positive and increasing", name);
  return TD_OK;
}

static td_code sample(td_kctx *c, int v2) {
  const td_tensor *isz = td_k_input(c, 0), *bb = td_k_input(c, 1);
  const td_node *nd = td_k_node(c);
  char b1[96];
  if (isz->shape.rank != 1 || isz->shape.dim[0] != 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "image_size must be 1-dimensional with 3 elements, got %s", td_shape_str(&isz->shape, b1, sizeof b1));
  if (bb->shape.rank != 3 || bb->shape.dim[2] != 4)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input boxes must be 3-dimensional [batch, num_boxes, coords], got %s",
                     td_shape_str(&bb->shape, b1, sizeof b1));
  int64_t H = td_tensor_get_int(isz, 0), W = td_tensor_get_int(isz, 1);
  if (H <= 0 || W <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "image height and width must be positive, got %lld x %lld", (long long)H, (long long)W);
  float min_cov = td_attr_float(nd, "min_object_covered", 0.1f);
  if (v2) {
    const td_tensor *m = td_k_input(c, 2);
    if (m->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "min_object_covered must be 0-D");
    min_cov = (float)td_tensor_get_double(m, 0);
  }
  if (!(min_cov >= 0)) return td_k_fail(c, TD_INVALID_ARGUMENT, "min_object_covered must be non-negative: %g", (double)min_cov);
  float ar_lo = 0.75f, ar_hi = 1.33f, area_lo = 0.05f, area_hi = 1.0f;
  TD_TRY(float_pair(c, "aspect_ratio_range", 0.75f, 1.33f, &ar_lo, &ar_hi));
  TD_TRY(float_pair(c, "area_range", 0.05f, 1.0f, &area_lo, &area_hi));
  int64_t attempts = td_attr_int(nd, "max_attempts", 100);
  if (attempts <= 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "max_attempts must be positive: %lld", (long long)attempts);
  int64_t nbox = bb->shape.dim[0] * bb->shape.dim[1];
  if (nbox == 0 && !td_attr_bool(nd, "use_image_if_no_bounding_boxes", false))
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "No bounding boxes provided as input. One must enable use_image_if_no_bounding_boxes if you wish to "
                     "not provide any bounding boxes.");
  int64_t s1 = td_attr_int(nd, "seed", 0), s2 = td_attr_int(nd, "seed2", 0);
  rng r = {.used = 4};
  if (s1 || s2) {
    r.g = td_philox_make((uint64_t)s1, 0, (uint64_t)s2);
  } else {
    uint64_t s = atomic_fetch_add(&sdbb_counter, 0x9e3779b97f4a7c15ull);
    r.g = td_philox_from_seed(s, s >> 17);
  }
  int64_t cy = 0, cx = 0, ch = H, cw = W;
  double img_area = (double)H * (double)W;
  for (int64_t a = 0; a < attempts; a++) {
    float ar = ar_lo + (ar_hi - ar_lo) * rng_unit(&r);
    double min_area = area_lo * img_area, max_area = area_hi * img_area;
    int64_t h = (int64_t)lround(sqrt(min_area / ar)), hmax = (int64_t)lround(sqrt(max_area / ar));
    if (lround(hmax * ar) > W) hmax = (int64_t)floor((W + 0.4999999) / ar);
    if (hmax > H) hmax = H;
    if (h > hmax) h = hmax;
    if (h < hmax) h += rng_below(&r, hmax - h + 1);
    int64_t w = lround(h * ar);
    if ((double)(w * h) < min_area) w = lround(++h * ar);
    double area = (double)w * (double)h;
    if (area < min_area || area > max_area || w > W || h > H || w <= 0 || h <= 0) continue;
    int64_t y = rng_below(&r, H - h + 1), x = rng_below(&r, W - w + 1);
    int ok = min_cov == 0 || nbox == 0;
    for (int64_t b = 0; b < nbox && !ok; b++) {
      double by0 = td_tensor_get_double(bb, 4 * b) * H, bx0 = td_tensor_get_double(bb, 4 * b + 1) * W;
      double by1 = td_tensor_get_double(bb, 4 * b + 2) * H, bx1 = td_tensor_get_double(bb, 4 * b + 3) * W;
      double barea = (by1 - by0) * (bx1 - bx0);
      if (!(barea > 0)) continue;
      double iy = fmin(by1, (double)(y + h)) - fmax(by0, (double)y), ix = fmin(bx1, (double)(x + w)) - fmax(bx0, (double)x);
      if (iy > 0 && ix > 0 && iy * ix / barea >= min_cov) ok = 1;
    }
    if (ok) {
      cy = y, cx = x, ch = h, cw = w;
      break;
    }
  }
  td_tensor *ob, *os, *obox;
  td_shape s3 = td_shape_vector(3), sb = td_shape_make(3, (const int64_t[]){1, 1, 4});
  TD_TRY(td_k_alloc_output(c, 0, isz->dtype, &s3, &ob));
  TD_TRY(td_k_alloc_output(c, 1, isz->dtype, &s3, &os));
  TD_TRY(td_k_alloc_output(c, 2, TD_DT_FLOAT, &sb, &obox));
  td_tensor_set_double(ob, 0, (double)cy), td_tensor_set_double(ob, 1, (double)cx), td_tensor_set_double(ob, 2, 0);
  td_tensor_set_double(os, 0, (double)ch), td_tensor_set_double(os, 1, (double)cw), td_tensor_set_double(os, 2, -1);
  float *bx = td_f32(obox);
  bx[0] = (float)cy / (float)H, bx[1] = (float)cx / (float)W, bx[2] = (float)(cy + ch) / (float)H, bx[3] = (float)(cx + cw) / (float)W;
  return TD_OK;
}

td_code td_k_sample_distorted_bounding_box(td_kctx *c) { return sample(c, 0); }
td_code td_k_sample_distorted_bounding_box_v2(td_kctx *c) { return sample(c, 1); }
