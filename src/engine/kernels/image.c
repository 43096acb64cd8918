/* image.c — image decoding kernels over libjpeg(-turbo): DecodeJpeg, and DecodeImage for JPEG
 * contents (rows in kernels/image.def).
 *
 * Follows TF's decode_image_op.cc / jpeg_mem.cc: contents is a scalar string; channels 0 keeps
 * the file's components (capped at 3), 1 gives grayscale, 3 RGB (CMYK/YCCK files are converted,
 * Adobe-inverted, to RGB); ratio downscales 1/2/4/8 in the IDCT; dct_method "" and
 * "INTEGER_FAST" use JDCT_IFAST, "INTEGER_ACCURATE" JDCT_ISLOW. Any decode failure — corrupt
 * data, a truncated file without try_recover_truncated, or an image of 2^29 bytes or more — is
 * TF's "Invalid JPEG data or crop window, data size <n>". Truncated data, as in TF's memory
 * source: with try_recover_truncated a fake EOI lets libjpeg finish the image; without it the
 * rows decoded before the data ran out are kept, the rest zeroed, if they are at least
 * acceptable_fraction of the height (default 1.0: an error). DecodeImage's dtype uint16/float32 scale as convert_image_dtype does
 * (x*257, x/255). PNG, GIF and BMP contents are recognised and refused as UNIMPLEMENTED.
 *
 * Invariants: libjpeg errors longjmp back into decode_jpeg only, which then frees everything it
 * allocated; no libjpeg state outlives a call; the kernels never read outside `contents`.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "engine/kernel.h"
#include "util/mem.h"

typedef struct jpeg_opts {
  int channels;        /* 0, 1 or 3 */
  int ratio;           /* 1, 2, 4 or 8 */
  int fancy_upscaling;
  int try_recover_truncated;
  float acceptable_fraction;
  J_DCT_METHOD dct;
} jpeg_opts;

typedef struct jpeg_err {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  int truncated; /* libjpeg warned that the data ended early */
} jpeg_err;

static void on_error_exit(j_common_ptr cinfo) { longjmp(((jpeg_err *)cinfo->err)->jump, 1); }

static void on_message(j_common_ptr cinfo, int level) {
  jpeg_err *e = (jpeg_err *)cinfo->err;
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

typedef struct decoded {
  uint8_t *pixels; /* h*w*c, owned */
  int h, w, c;
} decoded;

/* Adobe CMYK (stored inverted) → RGB, in place on a row of w pixels of 4 → 3 bytes. */
static void cmyk_row_to_rgb(uint8_t *row, int w) {
  for (int x = 0; x < w; x++) {
    const uint8_t *p = row + 4 * x;
    int c = p[0], m = p[1], y = p[2], k = p[3];
    row[3 * x + 0] = (uint8_t)(c * k / 255);
    row[3 * x + 1] = (uint8_t)(m * k / 255);
    row[3 * x + 2] = (uint8_t)(y * k / 255);
  }
}

/* Decodes; returns 0 on success (out filled), -1 on any failure. */
static int decode_jpeg(const uint8_t *data, size_t len, const jpeg_opts *o, decoded *out) {
  struct jpeg_decompress_struct cinfo;
  jpeg_err err;
  uint8_t *volatile pixels = NULL;
  uint8_t *volatile cmyk_row = NULL;
  memset(&cinfo, 0, sizeof cinfo);
  memset(&err, 0, sizeof err);
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error_exit;
  err.mgr.emit_message = on_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(pixels);
    free(cmyk_row);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)len);
  jpeg_read_header(&cinfo, TRUE);
  int comps = o->channels ? o->channels : (cinfo.num_components < 3 ? cinfo.num_components : 3);
  if (comps != 1 && comps != 3) comps = 3; /* 2-component files decode as RGB, as in TF */
  int cmyk = comps == 3 && (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK);
  cinfo.out_color_space = comps == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_RGB;
  cinfo.do_fancy_upsampling = o->fancy_upscaling ? TRUE : FALSE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned)o->ratio;
  cinfo.dct_method = o->dct;
  /* Refuse oversized images before libjpeg allocates for them (a progressive file's
   * coefficient buffers cover the whole image): a few header bytes must not cost gigabytes. */
  if ((int64_t)cinfo.image_width * cinfo.image_height * comps >= ((int64_t)1 << 29) * o->ratio * o->ratio)
    longjmp(err.jump, 1);
  jpeg_start_decompress(&cinfo);
  int64_t w = cinfo.output_width, h = cinfo.output_height;
  int64_t stride = w * comps;
  if (w <= 0 || h <= 0 || h * stride >= ((int64_t)1 << 29)) longjmp(err.jump, 1);
  pixels = calloc((size_t)(h * stride), 1);
  if (cmyk) cmyk_row = malloc((size_t)(w * 4));
  if (!pixels || (cmyk && !cmyk_row)) longjmp(err.jump, 1);
  int64_t rows = h; /* rows holding real data */
  while (cinfo.output_scanline < cinfo.output_height) {
    int64_t y = cinfo.output_scanline;
    uint8_t *dst = pixels + y * stride;
    JSAMPROW row = cmyk ? cmyk_row : dst;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) longjmp(err.jump, 1);
    if (err.truncated && !o->try_recover_truncated) { /* TF's source suspends here */
      rows = y;
      break;
    }
    if (cmyk) {
      cmyk_row_to_rgb(cmyk_row, (int)w);
      memcpy(dst, cmyk_row, (size_t)stride);
    }
  }
  if (rows < h) {
    if ((float)rows / (float)h < o->acceptable_fraction) longjmp(err.jump, 1);
    memset(pixels + rows * stride, 0, (size_t)((h - rows) * stride));
    jpeg_abort_decompress(&cinfo);
  } else {
    jpeg_finish_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
  free(cmyk_row);
  out->pixels = pixels;
  out->h = (int)h;
  out->w = (int)w;
  out->c = comps;
  return 0;
}

static int is_jpeg(const td_string *s) { return s->len >= 3 && !memcmp(s->data, "\xff\xd8\xff", 3); }

static const char *other_format(const td_string *s) {
  if (s->len >= 8 && !memcmp(s->data, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
  if (s->len >= 3 && !memcmp(s->data, "GIF", 3)) return "GIF";
  if (s->len >= 2 && !memcmp(s->data, "BM", 2)) return "BMP";
  return NULL;
}

/* Validates contents (scalar string) and the attrs shared by DecodeJpeg / DecodeImage. */
static td_code read_contents(td_kctx *ctx, const td_string **out) {
  const td_tensor *in = td_k_input(ctx, 0);
  if (in->dtype != TD_DT_STRING)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "contents must be a string tensor, got %s", td_dtype_name(in->dtype));
  if (in->shape.rank != 0) {
    char buf[128];
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "contents must be scalar, got shape %s",
                     td_shape_str(&in->shape, buf, sizeof buf));
  }
  *out = &td_str(in)[0];
  return TD_OK;
}

static td_code read_channels(td_kctx *ctx, int *channels) {
  int64_t c = td_attr_int(td_k_node(ctx), "channels", 0);
  if (c != 0 && c != 1 && c != 3) return td_k_fail(ctx, TD_INVALID_ARGUMENT, "channels must be 0, 1, or 3, got %lld", (long long)c);
  *channels = (int)c;
  return TD_OK;
}

static td_code run_decode(td_kctx *ctx, const td_string *s, const jpeg_opts *o, decoded *d) {
  if (decode_jpeg((const uint8_t *)(s->data ? s->data : ""), s->len, o, d) != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Invalid JPEG data or crop window, data size %zu", s->len);
  return TD_OK;
}

td_code td_k_image_decode_jpeg(td_kctx *ctx) {
  const td_node *n = td_k_node(ctx);
  const td_string *s = NULL;
  jpeg_opts o = {0};
  TD_TRY(read_contents(ctx, &s));
  TD_TRY(read_channels(ctx, &o.channels));
  int64_t ratio = td_attr_int(n, "ratio", 1);
  if (ratio != 1 && ratio != 2 && ratio != 4 && ratio != 8)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "ratio must be 1, 2, 4, or 8, got %lld", (long long)ratio);
  o.ratio = (int)ratio;
  o.fancy_upscaling = td_attr_bool(n, "fancy_upscaling", true);
  o.try_recover_truncated = td_attr_bool(n, "try_recover_truncated", false);
  o.acceptable_fraction = td_attr_float(n, "acceptable_fraction", 1.0f);
  o.dct = td_attr_str_eq(n, "dct_method", "INTEGER_ACCURATE") ? JDCT_ISLOW : JDCT_IFAST;
  size_t len = 0;
  const char *dct = td_attr_str(n, "dct_method", &len);
  if (dct && len && !td_attr_str_eq(n, "dct_method", "INTEGER_ACCURATE") && !td_attr_str_eq(n, "dct_method", "INTEGER_FAST"))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "dct_method must be one of {'', 'INTEGER_FAST', 'INTEGER_ACCURATE'}, got '%.*s'",
                     (int)len, dct);
  decoded d;
  TD_TRY(run_decode(ctx, s, &o, &d));
  td_shape shape = td_shape_make(3, (const int64_t[]){d.h, d.w, d.c});
  td_tensor *out;
  td_code rc = td_k_alloc_output_uninit(ctx, 0, TD_DT_UINT8, &shape, &out);
  if (rc == TD_OK) memcpy(out->data, d.pixels, (size_t)d.h * (size_t)d.w * (size_t)d.c);
  free(d.pixels);
  return rc;
}

td_code td_k_image_decode_image(td_kctx *ctx) {
  const td_node *n = td_k_node(ctx);
  const td_string *s = NULL;
  jpeg_opts o = {.ratio = 1, .fancy_upscaling = 1, .acceptable_fraction = 1.0f, .dct = JDCT_IFAST};
  TD_TRY(read_contents(ctx, &s));
  TD_TRY(read_channels(ctx, &o.channels));
  td_dtype dt = td_attr_type(n, "dtype", TD_DT_UINT8);
  if (dt != TD_DT_UINT8 && dt != TD_DT_UINT16 && dt != TD_DT_FLOAT)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "dtype must be uint8, uint16 or float32, got %s", td_dtype_name(dt));
  if (!is_jpeg(s)) {
    const char *fmt = other_format(s);
    if (fmt) return td_k_fail(ctx, TD_UNIMPLEMENTED, "tensord decodes JPEG images only; got a %s image", fmt);
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unknown image file format. One of JPEG, PNG, GIF, BMP required.");
  }
  decoded d;
  TD_TRY(run_decode(ctx, s, &o, &d));
  td_shape shape = td_shape_make(3, (const int64_t[]){d.h, d.w, d.c});
  td_tensor *out;
  td_code rc = td_k_alloc_output_uninit(ctx, 0, dt, &shape, &out);
  size_t count = (size_t)d.h * (size_t)d.w * (size_t)d.c;
  if (rc == TD_OK) {
    if (dt == TD_DT_UINT8) memcpy(out->data, d.pixels, count);
    else if (dt == TD_DT_UINT16)
      for (size_t i = 0; i < count; i++) ((uint16_t *)out->data)[i] = (uint16_t)(d.pixels[i] * 257);
    else
      for (size_t i = 0; i < count; i++) td_f32(out)[i] = (float)d.pixels[i] * (1.0f / 255.0f);
  }
  free(d.pixels);
  return rc;
}
