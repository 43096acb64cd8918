/* test_spectral.c — complex64 element ops and the FFT family against a direct O(n^2) DFT written
 * here in double precision (independent of the kernels' radix-2 / Bluestein code): FFT/IFFT for
 * power-of-two, prime and composite lengths, batched; RFFT/IRFFT with fft_length cropping and
 * padding (numpy.fft.rfft / irfft semantics); 2-D transforms; round trips; Complex broadcasting,
 * Real/Imag/ComplexAbs/Angle/Conj; literal numpy values for a small case; complex64/128
 * TensorProto round trips (scomplex_val / dcomplex_val / tensor_content); error texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>

#include "kernels/test_array_util.h"

static td_tensor cplx(int rank, const int64_t *dims, const double complex *v) {
  td_tensor t = td_test_tensor(TD_DT_COMPLEX64, rank, dims, NULL);
  int64_t n = td_tensor_num_elements(&t);
  for (int64_t i = 0; i < n; i++) ((float *)t.data)[2 * i] = (float)creal(v[i]), ((float *)t.data)[2 * i + 1] = (float)cimag(v[i]);
  return t;
}

static double complex cat(const td_tensor *t, int64_t i) {
  const float *f = (const float *)t->data + 2 * i;
  return f[0] + I * f[1];
}

/* Direct DFT of one line. */
static void dft(const double complex *x, int64_t n, int inverse, double complex *out) {
  for (int64_t k = 0; k < n; k++) {
    double complex s = 0;
    for (int64_t j = 0; j < n; j++) {
      double ang = (inverse ? 2.0 : -2.0) * M_PI * (double)((j * k) % n) / (double)n;
      s += x[j] * (cos(ang) + I * sin(ang));
    }
    out[k] = inverse ? s / (double)n : s;
  }
}

static double rnd(void) { return (double)at_rand() / 2147483648.0 - 1.0; }

static void expect_close_c(const td_tensor *t, const double complex *want, int64_t n, double tol) {
  for (int64_t i = 0; i < n; i++) {
    double complex g = cat(t, i);
    if (cabs(g - want[i]) > tol * (1.0 + cabs(want[i]))) {
      fprintf(stderr, "  element %lld: got %g%+gi want %g%+gi\n", (long long)i, creal(g), cimag(g), creal(want[i]), cimag(want[i]));
      fail();
    }
  }
}

static td_tensor run_fft(const char *op, td_tensor in) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  td_tensor ins[1] = {in};
  return at_run1(nd, ins, 1);
}

static void test_fft_lengths(void **state) {
  (void)state;
  static const int64_t lens[] = {1, 2, 3, 5, 8, 12, 17, 31, 64, 100, 127, 256, 1000};
  for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
    int64_t n = lens[li], rows = 3;
    double complex *x = malloc((size_t)(n * rows) * sizeof *x), *want = malloc((size_t)(n * rows) * sizeof *want);
    for (int64_t i = 0; i < n * rows; i++) x[i] = rnd() + I * rnd();
    for (int inv = 0; inv < 2; inv++) {
      for (int64_t r = 0; r < rows; r++) dft(x + r * n, n, inv, want + r * n);
      td_tensor out = run_fft(inv ? "IFFT" : "FFT", cplx(2, A_DIMS(rows, n), x));
      assert_int_equal(out.dtype, TD_DT_COMPLEX64);
      at_expect_shape(&out, 2, A_DIMS(rows, n));
      expect_close_c(&out, want, n * rows, 2e-5 * (1 + log2((double)n)));
      td_tensor_release(&out);
    }
    free(x);
    free(want);
  }
}

/* numpy.fft.fft([1, 2j, -3, 4+1j, 0.5]) */
static void test_fft_numpy_literal(void **state) {
  (void)state;
  double complex x[5] = {1, 2 * I, -3, 4 + I, 0.5};
  double complex want[5] = {2.5 + 3 * I, 1.65981928 + 4.39904202 * I, 3.03113552 - 7.67251998 * I,
                            -1.22211852 + 5.05448599 * I, -0.96883628 - 4.78100803 * I};
  td_tensor out = run_fft("FFT", cplx(1, A_DIMS(5), x));
  expect_close_c(&out, want, 5, 1e-5);
  td_tensor_release(&out);
}

static void test_rfft_irfft(void **state) {
  (void)state;
  static const struct {
    int64_t in, fl;
  } cases[] = {{8, 8}, {7, 7}, {10, 6}, {5, 9}, {16, 16}, {33, 33}, {1, 1}};
  for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
    int64_t n = cases[ci].in, fl = cases[ci].fl, h = fl / 2 + 1;
    float *x = malloc((size_t)(2 * n) * sizeof *x);
    for (int64_t i = 0; i < 2 * n; i++) x[i] = (float)rnd();
    double complex *line = calloc((size_t)fl, sizeof *line), *spec = malloc((size_t)fl * sizeof *spec);
    double complex *want = malloc((size_t)(2 * h) * sizeof *want);
    for (int r = 0; r < 2; r++) {
      for (int64_t j = 0; j < fl; j++) line[j] = j < n ? x[r * n + j] : 0;
      dft(line, fl, 0, spec);
      for (int64_t k = 0; k < h; k++) want[r * h + k] = spec[k];
    }
    Tensorflow__NodeDef *nd = td_test_node_new("RFFT");
    td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, n), x), at_vec_i32(1, A_I32((int32_t)fl))};
    td_tensor out = at_run1(nd, ins, 2);
    at_expect_shape(&out, 2, A_DIMS(2, h));
    expect_close_c(&out, want, 2 * h, 1e-5 * (1 + log2((double)fl)));

    /* IRFFT of the spectrum: the Hermitian extension's inverse DFT (real part). */
    Tensorflow__NodeDef *ni = td_test_node_new("IRFFT");
    td_tensor ii[2] = {out, at_vec_i32(1, A_I32((int32_t)fl))};
    td_tensor back = at_run1(ni, ii, 2);
    assert_int_equal(back.dtype, TD_DT_FLOAT);
    at_expect_shape(&back, 2, A_DIMS(2, fl));
    for (int r = 0; r < 2; r++)
      for (int64_t j = 0; j < fl; j++) {
        double w = j < n ? x[r * n + j] : 0; /* fl <= n crops, fl > n zero-pads */
        assert_true(fabs(td_f32(&back)[r * fl + j] - w) < 1e-5);
      }
    td_tensor_release(&back);
    free(x);
    free(line);
    free(spec);
    free(want);
  }
  /* numpy.fft.irfft([1, 2+1j, 3j], n=4) = [1.25, -0.25, -0.75, 0.75]: DC and Nyquist imaginary
   * parts are ignored. */
  Tensorflow__NodeDef *ni = td_test_node_new("IRFFT");
  double complex s[3] = {1, 2 + I, 3 * I};
  td_tensor ii[2] = {cplx(1, A_DIMS(3), s), at_vec_i32(1, A_I32(4))};
  td_tensor r = at_run1(ni, ii, 2);
  float want[4] = {1.25f, -0.25f, -0.75f, 0.75f};
  for (int t = 0; t < 4; t++) assert_true(fabsf(td_f32(&r)[t] - want[t]) < 1e-6f);
  td_tensor_release(&r);
}

static void test_fft2d(void **state) {
  (void)state;
  int64_t b = 2, h = 6, w = 5;
  int64_t n = b * h * w;
  double complex *x = malloc((size_t)n * sizeof *x), *tmp = malloc((size_t)n * sizeof *tmp), *want = malloc((size_t)n * sizeof *want);
  double complex col[6], colo[6];
  for (int64_t i = 0; i < n; i++) x[i] = rnd() + I * rnd();
  for (int64_t r = 0; r < b * h; r++) dft(x + r * w, w, 0, tmp + r * w);
  for (int64_t bb = 0; bb < b; bb++)
    for (int64_t c = 0; c < w; c++) {
      for (int64_t y = 0; y < h; y++) col[y] = tmp[(bb * h + y) * w + c];
      dft(col, h, 0, colo);
      for (int64_t y = 0; y < h; y++) want[(bb * h + y) * w + c] = colo[y];
    }
  td_tensor out = run_fft("FFT2D", cplx(3, A_DIMS(b, h, w), x));
  expect_close_c(&out, want, n, 1e-5);
  td_tensor back = run_fft("IFFT2D", out);
  expect_close_c(&back, x, n, 1e-5);
  td_tensor_release(&back);

  /* RFFT2D -> IRFFT2D round trip on a real image. */
  float *img = malloc((size_t)(h * w) * sizeof *img);
  for (int64_t i = 0; i < h * w; i++) img[i] = (float)rnd();
  Tensorflow__NodeDef *nd = td_test_node_new("RFFT2D");
  td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(h, w), img), at_vec_i32(2, A_I32((int32_t)h, (int32_t)w))};
  td_tensor spec = at_run1(nd, ins, 2);
  at_expect_shape(&spec, 2, A_DIMS(h, w / 2 + 1));
  for (int64_t y = 0; y < h; y++)
    for (int64_t k = 0; k <= w / 2; k++) { /* the 2-D DFT's left half */
      double complex s = 0;
      for (int64_t yy = 0; yy < h; yy++)
        for (int64_t xx = 0; xx < w; xx++) s += img[yy * w + xx] * cexp(-2 * M_PI * I * ((double)(y * yy) / h + (double)(k * xx) / w));
      assert_true(cabs(cat(&spec, y * (w / 2 + 1) + k) - s) < 1e-4);
    }
  Tensorflow__NodeDef *ni = td_test_node_new("IRFFT2D");
  td_tensor ii[2] = {spec, at_vec_i32(2, A_I32((int32_t)h, (int32_t)w))};
  td_tensor rb = at_run1(ni, ii, 2);
  for (int64_t i = 0; i < h * w; i++) assert_true(fabsf(td_f32(&rb)[i] - img[i]) < 1e-5f);
  td_tensor_release(&rb);
  free(img);
  free(x);
  free(tmp);
  free(want);
}

static void test_complex_elementwise(void **state) {
  (void)state;
  /* Complex broadcasts [2,1] with [3]. */
  Tensorflow__NodeDef *nd = td_test_node_new("Complex");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_test_attr_type(nd, "Tout", TD_DT_COMPLEX64);
  td_tensor ins[2] = {at_tensor(TD_DT_FLOAT, 2, A_DIMS(2, 1), A_F32(1, 2)), at_tensor(TD_DT_FLOAT, 1, A_DIMS(3), A_F32(-1, 0, 3))};
  td_tensor z = at_run1(nd, ins, 2);
  at_expect_shape(&z, 2, A_DIMS(2, 3));
  double complex want[6] = {1 - I, 1, 1 + 3 * I, 2 - I, 2, 2 + 3 * I};
  expect_close_c(&z, want, 6, 0);

  static const struct {
    const char *op;
    float v[6];
  } parts[] = {
      {"Real", {1, 1, 1, 2, 2, 2}},
      {"Imag", {-1, 0, 3, -1, 0, 3}},
      {"ComplexAbs", {1.41421356f, 1, 3.16227766f, 2.23606798f, 2, 3.60555128f}},
      {"Angle", {-0.78539816f, 0, 1.24904577f, -0.46364761f, 0, 0.98279372f}},
  };
  for (size_t p = 0; p < 4; p++) {
    Tensorflow__NodeDef *np = td_test_node_new(parts[p].op);
    td_tensor pi[1] = {td_tensor_ref(&z)};
    td_tensor r = at_run1(np, pi, 1);
    assert_int_equal(r.dtype, TD_DT_FLOAT);
    for (int i = 0; i < 6; i++) assert_true(fabsf(td_f32(&r)[i] - parts[p].v[i]) < 1e-6f);
    td_tensor_release(&r);
  }
  Tensorflow__NodeDef *nc = td_test_node_new("Conj");
  td_tensor ci[1] = {z};
  td_tensor cj = at_run1(nc, ci, 1);
  for (int i = 0; i < 6; i++) want[i] = conj(want[i]);
  expect_close_c(&cj, want, 6, 0);
  td_tensor_release(&cj);

  nd = td_test_node_new("Complex");
  td_test_attr_type(nd, "T", TD_DT_FLOAT);
  td_tensor bad[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2)), at_tensor(TD_DT_FLOAT, 1, A_DIMS(3), A_F32(1, 2, 3))};
  at_expect_error(nd, bad, 2, 1, TD_INVALID_ARGUMENT, "Incompatible shapes: [2] vs. [3]");
}

static void test_fft_errors(void **state) {
  (void)state;
  Tensorflow__NodeDef *nd = td_test_node_new("FFT2D");
  double complex one = 1;
  td_tensor ins[1] = {cplx(1, A_DIMS(1), &one)};
  at_expect_error(nd, ins, 1, 1, TD_INVALID_ARGUMENT, "Input must have rank of at least 2 but got: [1]");
  nd = td_test_node_new("RFFT");
  td_tensor r[2] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2)), at_vec_i32(2, A_I32(2, 2))};
  at_expect_error(nd, r, 2, 1, TD_INVALID_ARGUMENT, "fft_length must be a vector of 1 elements");
  nd = td_test_node_new("FFT");
  td_tensor f[1] = {at_tensor(TD_DT_FLOAT, 1, A_DIMS(2), A_F32(1, 2))};
  at_expect_error(nd, f, 1, 1, TD_INVALID_ARGUMENT, "does not support input dtype float");
  /* Empty batches give empty outputs. */
  td_tensor e = run_fft("FFT", td_test_tensor(TD_DT_COMPLEX64, 2, A_DIMS(0, 4), NULL));
  at_expect_shape(&e, 2, A_DIMS(0, 4));
  td_tensor_release(&e);
}

/* complex64 / complex128 through TensorProto: scomplex_val / dcomplex_val hold (re, im) pairs,
 * the last pair repeats to fill the shape; tensor_content is the raw interleaved bytes. */
static void test_complex_proto(void **state) {
  (void)state;
  double complex v[3] = {1 + 2 * I, -3.5, 0.25 * I};
  td_tensor t = cplx(1, A_DIMS(3), v);
  for (int content = 0; content < 2; content++) {
    Tensorflow__TensorProto *p = NULL;
    td_status st;
    assert_int_equal(td_tensor_to_proto(&t, content, &p, &st), TD_OK);
    if (!content) {
      assert_int_equal(p->n_scomplex_val, 6);
      assert_true(p->scomplex_val[0] == 1 && p->scomplex_val[1] == 2 && p->scomplex_val[2] == -3.5f && p->scomplex_val[5] == 0.25f);
    }
    td_tensor back;
    assert_int_equal(td_tensor_from_proto(p, &back, &st), TD_OK);
    assert_int_equal(back.dtype, TD_DT_COMPLEX64);
    expect_close_c(&back, v, 3, 0);
    td_tensor_release(&back);
    tensorflow__tensor_proto__free_unpacked(p, NULL);
  }
  td_tensor_release(&t);
  /* A [4] complex128 proto with one pair given repeats it. */
  Tensorflow__TensorProto p = TENSORFLOW__TENSOR_PROTO__INIT;
  Tensorflow__TensorShapeProto sp = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
  Tensorflow__TensorShapeProto__Dim d = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, *dims[1] = {&d};
  double pair[2] = {1.5, -2};
  d.size = 4;
  sp.n_dim = 1;
  sp.dim = dims;
  p.dtype = TENSORFLOW__DATA_TYPE__DT_COMPLEX128;
  p.tensor_shape = &sp;
  p.n_dcomplex_val = 2;
  p.dcomplex_val = pair;
  td_tensor r;
  td_status st;
  assert_int_equal(td_tensor_from_proto(&p, &r, &st), TD_OK);
  for (int i = 0; i < 4; i++) assert_true(td_f64(&r)[2 * i] == 1.5 && td_f64(&r)[2 * i + 1] == -2);
  td_tensor_release(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fft_lengths),
      cmocka_unit_test(test_fft_numpy_literal),
      cmocka_unit_test(test_rfft_irfft),
      cmocka_unit_test(test_fft2d),
      cmocka_unit_test(test_complex_elementwise),
      cmocka_unit_test(test_fft_errors),
      cmocka_unit_test(test_complex_proto),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
