/* test_image.c — DecodeJpeg / DecodeImage through the real engine. JPEGs are produced at test
 * time with libjpeg's compressor (quality 95) from smooth synthetic images, decoded by the
 * kernels and compared within a JPEG-loss tolerance; channels/ratio/dtype attrs, truncated
 * data (try_recover_truncated, acceptable_fraction), garbage, PNG and bad shapes are checked
 * against TF's behaviour and error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "engine/engine.h"
#include "engine/testing.h"

enum { W = 48, H = 96 };

static uint8_t pixel(int x, int y, int ch) { return (uint8_t)(ch == 0 ? x * 5 : ch == 1 ? y * 2 : 128 + (x - y)); }

/* A JPEG of the synthetic image with `comps` components (1 gray, 3 RGB); free() the result. */
static unsigned char *make_jpeg(int comps, unsigned long *len) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  unsigned char *buf = NULL;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &buf, len);
  c.image_width = W;
  c.image_height = H;
  c.input_components = comps;
  c.in_color_space = comps == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 95, TRUE);
  jpeg_start_compress(&c, TRUE);
  uint8_t row[W * 3];
  while (c.next_scanline < H) {
    int y = (int)c.next_scanline;
    for (int x = 0; x < W; x++)
      for (int ch = 0; ch < comps; ch++) row[x * comps + ch] = comps == 1 ? pixel(x, y, 1) : pixel(x, y, ch);
    JSAMPROW r = row;
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return buf;
}

/* The message starts with the literal (the executor appends the node after a newline). */
#define EXPECT_PREFIX(st, lit)                                                           \
  do {                                                                                   \
    if (strncmp((st).msg, lit, sizeof(lit) - 1) != 0) fail_msg("message: %s", (st).msg); \
  } while (0)

static td_tensor scalar_bytes(const void *data, size_t len) {
  td_tensor t;
  td_shape s = td_shape_scalar();
  assert_int_equal(td_tensor_alloc(&t, TD_DT_STRING, &s, NULL), TD_OK);
  td_tensor_set_string(&t, 0, data, len);
  return t;
}

/* Runs op on contents; nd is freed, contents released. */
static td_code run(Tensorflow__NodeDef *nd, td_tensor contents, td_tensor *out, td_status *st) {
  td_code rc = td_test_run_op(nd, &contents, 1, out, 1, st);
  td_tensor_release(&contents);
  td_test_node_free(nd);
  return rc;
}

static void expect_close(const td_tensor *img, int h, int w, int c, int ratio, int tolerance) {
  assert_int_equal(img->dtype, TD_DT_UINT8);
  assert_int_equal(img->shape.rank, 3);
  assert_int_equal(img->shape.dim[0], h);
  assert_int_equal(img->shape.dim[1], w);
  assert_int_equal(img->shape.dim[2], c);
  int worst = 0;
  for (int y = 1; y < h - 1; y++) /* borders of a downscaled image mix neighbouring blocks */
    for (int x = 1; x < w - 1; x++)
      for (int ch = 0; ch < c; ch++) {
        int want = c == 1 ? pixel(x * ratio + ratio / 2, y * ratio + ratio / 2, 1)
                          : pixel(x * ratio + ratio / 2, y * ratio + ratio / 2, ch);
        int got = td_u8(img)[(y * w + x) * c + ch];
        int d = abs(got - want);
        if (d > worst) worst = d;
      }
  if (worst > tolerance) fail_msg("max pixel error %d > %d", worst, tolerance);
}

static void test_decode_rgb(void **state) {
  (void)state;
  unsigned long len;
  unsigned char *jpg = make_jpeg(3, &len);
  td_tensor out;
  td_status st = {0};
  if (run(td_test_node_new("DecodeJpeg"), scalar_bytes(jpg, len), &out, &st) != TD_OK) fail_msg("%s", st.msg);
  expect_close(&out, H, W, 3, 1, 12);
  td_tensor_release(&out);
  free(jpg);
}

static void test_decode_channels_and_ratio(void **state) {
  (void)state;
  unsigned long len;
  unsigned char *rgb = make_jpeg(3, &len), *gray;
  unsigned long glen;
  gray = make_jpeg(1, &glen);
  td_tensor out;
  td_status st = {0};
  /* a gray file keeps one channel with channels=0 ... */
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes(gray, glen), &out, &st), TD_OK);
  expect_close(&out, H, W, 1, 1, 6);
  td_tensor_release(&out);
  /* ... and becomes RGB with channels=3 (three equal planes) */
  Tensorflow__NodeDef *nd = td_test_node_new("DecodeJpeg");
  td_test_attr_int(nd, "channels", 3);
  assert_int_equal(run(nd, scalar_bytes(gray, glen), &out, &st), TD_OK);
  assert_int_equal(out.shape.dim[2], 3);
  for (int i = 0; i < H * W; i++) {
    assert_int_equal(td_u8(&out)[3 * i], td_u8(&out)[3 * i + 1]);
    assert_int_equal(td_u8(&out)[3 * i], td_u8(&out)[3 * i + 2]);
  }
  td_tensor_release(&out);
  /* an RGB file as grayscale */
  nd = td_test_node_new("DecodeJpeg");
  td_test_attr_int(nd, "channels", 1);
  assert_int_equal(run(nd, scalar_bytes(rgb, len), &out, &st), TD_OK);
  assert_int_equal(out.shape.dim[2], 1);
  td_tensor_release(&out);
  /* ratio 2 halves both sides in the IDCT */
  nd = td_test_node_new("DecodeJpeg");
  td_test_attr_int(nd, "ratio", 2);
  td_test_attr_str(nd, "dct_method", "INTEGER_ACCURATE");
  assert_int_equal(run(nd, scalar_bytes(rgb, len), &out, &st), TD_OK);
  expect_close(&out, H / 2, W / 2, 3, 2, 20);
  td_tensor_release(&out);
  free(rgb);
  free(gray);
}

static void test_decode_image_dtypes(void **state) {
  (void)state;
  unsigned long len;
  unsigned char *jpg = make_jpeg(3, &len);
  td_tensor u8, f32, u16;
  td_status st = {0};
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes(jpg, len), &u8, &st), TD_OK);
  Tensorflow__NodeDef *nd = td_test_node_new("DecodeImage");
  td_test_attr_type(nd, "dtype", TD_DT_FLOAT);
  if (run(nd, scalar_bytes(jpg, len), &f32, &st) != TD_OK) fail_msg("%s", st.msg);
  nd = td_test_node_new("DecodeImage");
  td_test_attr_type(nd, "dtype", TD_DT_UINT16);
  assert_int_equal(run(nd, scalar_bytes(jpg, len), &u16, &st), TD_OK);
  assert_int_equal(f32.dtype, TD_DT_FLOAT);
  assert_true(td_shape_equal(&u8.shape, &f32.shape));
  for (int i = 0; i < H * W * 3; i++) {
    assert_float_equal(td_f32(&f32)[i], td_u8(&u8)[i] / 255.0f, 1e-6);
    assert_int_equal(((uint16_t *)u16.data)[i], td_u8(&u8)[i] * 257);
  }
  td_tensor_release(&u8);
  td_tensor_release(&f32);
  td_tensor_release(&u16);
  free(jpg);
}

static void test_truncated_data(void **state) {
  (void)state;
  unsigned long len;
  unsigned char *jpg = make_jpeg(3, &len);
  unsigned long cut = len * 2 / 3;
  td_tensor out;
  td_status st = {0};
  char want[96];
  snprintf(want, sizeof want, "Invalid JPEG data or crop window, data size %lu", cut);
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes(jpg, cut), &out, &st), TD_INVALID_ARGUMENT);
  assert_true(strncmp(st.msg, want, strlen(want)) == 0);
  /* recovery: full-size image */
  Tensorflow__NodeDef *nd = td_test_node_new("DecodeJpeg");
  td_test_attr_bool(nd, "try_recover_truncated", 1);
  if (run(nd, scalar_bytes(jpg, cut), &out, &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(out.shape.dim[0], H);
  assert_int_equal(out.shape.dim[1], W);
  td_tensor_release(&out);
  /* a low acceptable_fraction keeps the rows that arrived */
  nd = td_test_node_new("DecodeJpeg");
  td_test_attr_float(nd, "acceptable_fraction", 0.1f);
  if (run(nd, scalar_bytes(jpg, cut), &out, &st) != TD_OK) fail_msg("%s", st.msg);
  assert_int_equal(out.shape.dim[0], H);
  assert_int_equal(td_u8(&out)[(H * W - 1) * 3], 0); /* the missing tail is zero */
  td_tensor_release(&out);
  free(jpg);
}

static void test_bad_inputs(void **state) {
  (void)state;
  td_tensor out;
  td_status st = {0};
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes("not a jpeg", 10), &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "Invalid JPEG data or crop window, data size 10");
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes("", 0), &out, &st), TD_INVALID_ARGUMENT);
  assert_int_equal(run(td_test_node_new("DecodeImage"), scalar_bytes("zzzz", 4), &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "Unknown image file format. One of JPEG, PNG, GIF, BMP required.");
  assert_int_equal(run(td_test_node_new("DecodeImage"), scalar_bytes("\x89PNG\r\n\x1a\n\0\0", 10), &out, &st),
                   TD_UNIMPLEMENTED);
  /* a JPEG header whose body is garbage */
  unsigned char junk[64] = {0xff, 0xd8, 0xff, 0xe0};
  for (int i = 4; i < 64; i++) junk[i] = (unsigned char)(i * 37);
  assert_int_equal(run(td_test_node_new("DecodeImage"), scalar_bytes(junk, sizeof junk), &out, &st), TD_INVALID_ARGUMENT);
  /* a real JPEG whose SOF header claims 60000x60000: refused before anything is allocated */
  unsigned long len;
  unsigned char *big = make_jpeg(3, &len);
  unsigned long sof = 2;
  while (sof + 9 < len && !(big[sof] == 0xff && big[sof + 1] == 0xc0)) sof++;
  assert_true(sof + 9 < len);
  big[sof + 5] = big[sof + 7] = 0xea; /* height, width = 0xea60 */
  big[sof + 6] = big[sof + 8] = 0x60;
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), scalar_bytes(big, len), &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "Invalid JPEG data or crop window");
  free(big);
  Tensorflow__NodeDef *nd = td_test_node_new("DecodeJpeg");
  td_test_attr_int(nd, "channels", 2);
  assert_int_equal(run(nd, scalar_bytes("x", 1), &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "channels must be 0, 1, or 3, got 2");
  nd = td_test_node_new("DecodeJpeg");
  td_test_attr_int(nd, "ratio", 3);
  assert_int_equal(run(nd, scalar_bytes("x", 1), &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "ratio must be 1, 2, 4, or 8, got 3");
  int64_t two = 2;
  td_tensor vec = td_test_tensor(TD_DT_STRING, 1, &two, (const char *[]){"a", "b"});
  assert_int_equal(run(td_test_node_new("DecodeJpeg"), vec, &out, &st), TD_INVALID_ARGUMENT);
  EXPECT_PREFIX(st, "contents must be scalar, got shape [2]");
}

/* Corrupted files (bytes flipped all over a valid JPEG, and every truncation length of its
 * header) either decode to the full size or fail with INVALID_ARGUMENT; never crash (ASan). */
static void test_mutated_jpegs_never_crash(void **state) {
  (void)state;
  unsigned long len;
  unsigned char *jpg = make_jpeg(3, &len);
  unsigned char *copy = malloc(len);
  uint32_t seed = 12345;
  int decoded = 0, refused = 0;
  for (int round = 0; round < 300; round++) {
    memcpy(copy, jpg, len);
    for (int k = 0; k < 1 + round % 4; k++) {
      seed = seed * 1103515245u + 12345u;
      copy[2 + (seed >> 8) % (len - 2)] ^= (unsigned char)(1u << ((seed >> 4) % 8));
    }
    unsigned long n = round < 100 ? len : (unsigned long)(round - 100) * 3 % len;
    Tensorflow__NodeDef *nd = td_test_node_new(round % 2 ? "DecodeJpeg" : "DecodeImage");
    if (round % 3 == 0) td_test_attr_bool(nd, "try_recover_truncated", 1);
    td_tensor out;
    td_status st = {0};
    td_code rc = run(nd, scalar_bytes(copy, n), &out, &st);
    if (rc == TD_OK) {
      assert_int_equal(out.shape.rank, 3);
      td_tensor_release(&out);
      decoded++;
    } else {
      if (rc != TD_INVALID_ARGUMENT) fail_msg("round %d: code %d: %s", round, rc, st.msg);
      refused++;
    }
  }
  print_message("mutated JPEGs: %d decoded, %d refused\n", decoded, refused);
  free(copy);
  free(jpg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_rgb),
      cmocka_unit_test(test_decode_channels_and_ratio),
      cmocka_unit_test(test_decode_image_dtypes),
      cmocka_unit_test(test_truncated_data),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_mutated_jpegs_never_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
