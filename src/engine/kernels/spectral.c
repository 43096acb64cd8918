/* spectral.c — complex numbers and FFTs (rows in spectral.def): Complex (numpy broadcasting),
 * Real, Imag, ComplexAbs, Conj, Angle, and FFT/IFFT/RFFT/IRFFT in 1-3 dimensions over the
 * innermost axes (numpy.fft semantics: inverse transforms scale by 1/n; RFFT/IRFFT crop or
 * zero-pad each transformed axis to fft_length; IRFFT treats the last axis as the first
 * fft_length/2+1 terms of a Hermitian spectrum and ignores the imaginary parts the real output
 * cannot carry). complex64 is two interleaved floats, complex128 two doubles; the transforms
 * compute in double (spectral_fft.c). Reentrant; scratch is per call. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/kernels/math_internal.h"
#include "engine/kernels/spectral_internal.h"

static int is_complex(td_dtype dt) { return dt == TD_DT_COMPLEX64 || dt == TD_DT_COMPLEX128; }

static double complex cload(const td_tensor *t, int64_t i) {
  if (t->dtype == TD_DT_COMPLEX64) {
    const float *f = (const float *)t->data + 2 * i;
    return (double)f[0] + I * (double)f[1];
  }
  const double *d = (const double *)t->data + 2 * i;
  return d[0] + I * d[1];
}

static void cstore(td_tensor *t, int64_t i, double complex v) {
  if (t->dtype == TD_DT_COMPLEX64) {
    float *f = (float *)t->data + 2 * i;
    f[0] = (float)creal(v), f[1] = (float)cimag(v);
  } else {
    double *d = (double *)t->data + 2 * i;
    d[0] = creal(v), d[1] = cimag(v);
  }
}

static td_code require_complex(td_kctx *c, const td_tensor *t) {
  if (!is_complex(t->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s expects a complex64 or complex128 input, got %s", td_node_op(td_k_node(c)),
                     td_dtype_name(t->dtype));
  return TD_OK;
}

/* ---- element-wise ---- */

typedef struct cplx_arg {
  td_dtype in, out;
} cplx_arg;

static int complex_row(void *arg, const void *const *in, const int *inner, void *out, int64_t n) {
  const cplx_arg *a = arg;
  for (int64_t i = 0; i < n; i++) {
    double re, im;
    if (a->in == TD_DT_FLOAT) re = ((const float *)in[0])[i * inner[0]], im = ((const float *)in[1])[i * inner[1]];
    else re = ((const double *)in[0])[i * inner[0]], im = ((const double *)in[1])[i * inner[1]];
    if (a->out == TD_DT_COMPLEX64) ((float *)out)[2 * i] = (float)re, ((float *)out)[2 * i + 1] = (float)im;
    else ((double *)out)[2 * i] = re, ((double *)out)[2 * i + 1] = im;
  }
  return 0;
}

td_code td_k_complex(td_kctx *c) {
  const td_tensor *re = td_k_input(c, 0), *im = td_k_input(c, 1);
  td_dtype out_dt = td_attr_type(td_k_node(c), "Tout", re->dtype == TD_DT_DOUBLE ? TD_DT_COMPLEX128 : TD_DT_COMPLEX64);
  if ((re->dtype != TD_DT_FLOAT && re->dtype != TD_DT_DOUBLE) || im->dtype != re->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Complex expects float or double real and imag of one dtype, got %s and %s",
                     td_dtype_name(re->dtype), td_dtype_name(im->dtype));
  if (!is_complex(out_dt)) return td_k_fail(c, TD_INVALID_ARGUMENT, "Tout must be complex64 or complex128");
  td_bcast b;
  const td_shape *shapes[2] = {&re->shape, &im->shape};
  if (td_bcast_init(&b, 2, shapes) != 0) {
    char b1[200], b2[200];
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Incompatible shapes: %s vs. %s", td_shape_str(&re->shape, b1, sizeof b1),
                     td_shape_str(&im->shape, b2, sizeof b2));
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, out_dt, &b.out, &out));
  if (b.nout == 0) return TD_OK;
  cplx_arg a = {re->dtype, out_dt};
  const void *in[2] = {re->data, im->data};
  size_t es[2] = {td_dtype_size(re->dtype), td_dtype_size(im->dtype)};
  td_bcast_rows(&b, in, es, out->data, td_dtype_size(out_dt), complex_row, &a);
  return TD_OK;
}

typedef enum cpart { PART_REAL, PART_IMAG, PART_ABS, PART_ANGLE } cpart;

static td_code part(td_kctx *c, cpart p) {
  const td_tensor *in = td_k_input(c, 0);
  TD_TRY(require_complex(c, in));
  td_dtype out_dt = td_attr_type(td_k_node(c), "Tout", in->dtype == TD_DT_COMPLEX128 ? TD_DT_DOUBLE : TD_DT_FLOAT);
  if (out_dt != TD_DT_FLOAT && out_dt != TD_DT_DOUBLE) return td_k_fail(c, TD_INVALID_ARGUMENT, "Tout must be float or double");
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, out_dt, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) {
    double complex v = cload(in, i);
    double r = p == PART_REAL ? creal(v) : p == PART_IMAG ? cimag(v) : p == PART_ABS ? hypot(creal(v), cimag(v))
                                                                                   : atan2(cimag(v), creal(v));
    if (out_dt == TD_DT_FLOAT) td_f32(out)[i] = (float)r;
    else td_f64(out)[i] = r;
  }
  return TD_OK;
}

td_code td_k_real(td_kctx *c) { return part(c, PART_REAL); }
td_code td_k_imag(td_kctx *c) { return part(c, PART_IMAG); }
td_code td_k_complex_abs(td_kctx *c) { return part(c, PART_ABS); }
td_code td_k_angle(td_kctx *c) { return part(c, PART_ANGLE); }

td_code td_k_conj(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  if (!is_complex(in->dtype)) return td_k_forward(c, 0, 0, NULL); /* real: identity */
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, in->dtype, &in->shape, &out));
  int64_t n = td_tensor_num_elements(in);
  for (int64_t i = 0; i < n; i++) cstore(out, i, conj(cload(in, i)));
  return TD_OK;
}

/* ---- FFTs ---- */

typedef enum fft_kind { FFT_C2C, FFT_R2C, FFT_C2R } fft_kind;

/* Transforms every line along axis `ax` of a dense double complex array of shape s. */
static int fft_axis(double complex *a, const td_shape *s, int ax, int inverse) {
  int64_t n = s->dim[ax], inner = 1, outer = 1;
  for (int d = ax + 1; d < s->rank; d++) inner *= s->dim[d];
  for (int d = 0; d < ax; d++) outer *= s->dim[d];
  if (n <= 1 || inner == 0 || outer == 0) return 0;
  td_fft_plan *p = td_fft_plan_new(n);
  double complex *line = malloc((size_t)n * sizeof *line);
  if (!p || !line) {
    td_fft_plan_free(p);
    free(line);
    return -1;
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double complex *base = a + o * n * inner + i;
      for (int64_t k = 0; k < n; k++) line[k] = base[k * inner];
      td_fft_run(p, line, inverse);
      for (int64_t k = 0; k < n; k++) base[k * inner] = line[k];
    }
  td_fft_plan_free(p);
  free(line);
  return 0;
}

/* Copies src (shape ss, element loader) into dst (shape ds, same rank) cropping / zero-padding
 * every axis. */
static void copy_resized(const td_tensor *src, double complex *dst, const td_shape *ds) {
  const td_shape *ss = &src->shape;
  int r = ds->rank;
  int64_t total = td_shape_num_elements(ds), idx[TD_MAX_RANK] = {0};
  int cplx = is_complex(src->dtype);
  for (int64_t o = 0; o < total; o++) {
    int64_t si = 0, inside = 1;
    for (int d = 0; d < r; d++) {
      if (idx[d] >= ss->dim[d]) inside = 0;
      si = si * ss->dim[d] + idx[d];
    }
    dst[o] = !inside ? 0 : cplx ? cload(src, si) : td_tensor_get_double(src, si);
    for (int d = r - 1; d >= 0; d--) {
      if (++idx[d] < ds->dim[d]) break;
      idx[d] = 0;
    }
  }
}

static td_code fft_run(td_kctx *c, int rank, fft_kind kind, int inverse) {
  const td_tensor *in = td_k_input(c, 0);
  const td_node *nd = td_k_node(c);
  char buf[200];
  if (kind == FFT_R2C ? (in->dtype != TD_DT_FLOAT && in->dtype != TD_DT_DOUBLE) : !is_complex(in->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s does not support input dtype %s", td_node_op(nd), td_dtype_name(in->dtype));
  if (in->shape.rank < rank)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Input must have rank of at least %d but got: %s", rank,
                     td_shape_str(&in->shape, buf, sizeof buf));
  int first = in->shape.rank - rank;
  td_shape work = in->shape; /* the full complex spectrum transformed */
  td_shape outs = in->shape;
  td_dtype out_dt = in->dtype;
  if (kind != FFT_C2C) {
    const td_tensor *fl = td_k_input(c, 1);
    if (fl->shape.rank != 1 || fl->shape.dim[0] != rank)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "fft_length must be a vector of %d elements, got shape %s", rank,
                       td_shape_str(&fl->shape, buf, sizeof buf));
    for (int i = 0; i < rank; i++) {
      int64_t v = td_tensor_get_int(fl, i);
      if (v < 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "fft_length must be non-negative, got %lld", (long long)v);
      work.dim[first + i] = v;
      outs.dim[first + i] = v;
    }
    if (kind == FFT_R2C) {
      outs.dim[in->shape.rank - 1] = work.dim[in->shape.rank - 1] / 2 + 1;
      out_dt = td_attr_type(nd, "Tcomplex", in->dtype == TD_DT_DOUBLE ? TD_DT_COMPLEX128 : TD_DT_COMPLEX64);
    } else {
      out_dt = td_attr_type(nd, "Treal", in->dtype == TD_DT_COMPLEX128 ? TD_DT_DOUBLE : TD_DT_FLOAT);
    }
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output(c, 0, out_dt, &outs, &out));
  int64_t nout = td_shape_num_elements(&outs);
  if (nout == 0) return TD_OK;
  int last = in->shape.rank - 1;
  td_shape buf_shape = work; /* C2R: the half spectrum on the last axis */
  if (kind == FFT_C2R) buf_shape.dim[last] = work.dim[last] / 2 + 1;
  int64_t nbuf = td_shape_num_elements(&buf_shape);
  double complex *a = malloc((size_t)(nbuf > 0 ? nbuf : 1) * sizeof *a);
  if (!a) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory", td_node_op(nd));
  copy_resized(in, a, &buf_shape);
  int rc = 0;
  int axes = kind == FFT_C2R ? rank - 1 : rank; /* C2R does the last axis by hand below */
  for (int ax = first; ax < first + axes && rc == 0; ax++) rc = fft_axis(a, &buf_shape, ax, inverse);
  double scale = 1.0;
  if (inverse)
    for (int ax = first; ax < first + rank; ax++) scale *= work.dim[ax] ? (double)work.dim[ax] : 1.0;
  if (rc == 0 && kind == FFT_C2R) {
    int64_t n = work.dim[last], h = buf_shape.dim[last], lines = nbuf / (h ? h : 1);
    td_fft_plan *p = n > 0 ? td_fft_plan_new(n) : NULL;
    double complex *line = malloc((size_t)(n > 0 ? n : 1) * sizeof *line);
    if ((n > 0 && !p) || !line) rc = -1;
    for (int64_t l = 0; rc == 0 && n > 0 && l < lines; l++) {
      const double complex *src = a + l * h;
      for (int64_t k = 0; k < n; k++) line[k] = k < h ? src[k] : conj(src[n - k]);
      td_fft_run(p, line, 1);
      for (int64_t k = 0; k < n; k++) td_tensor_set_double(out, l * n + k, creal(line[k]) / scale);
    }
    td_fft_plan_free(p);
    free(line);
  } else if (rc == 0) {
    /* C2C: out has the work shape; R2C: keep the first n/2+1 terms of the last axis. */
    int64_t n = work.dim[last], h = outs.dim[last], lines = nout / h;
    for (int64_t l = 0; l < lines; l++)
      for (int64_t k = 0; k < h; k++) cstore(out, l * h + k, a[l * n + k] / scale);
  }
  free(a);
  if (rc != 0) return td_k_fail(c, TD_RESOURCE_EXHAUSTED, "%s: out of memory", td_node_op(nd));
  return TD_OK;
}

td_code td_k_fft(td_kctx *c) { return fft_run(c, 1, FFT_C2C, 0); }
td_code td_k_ifft(td_kctx *c) { return fft_run(c, 1, FFT_C2C, 1); }
td_code td_k_fft2d(td_kctx *c) { return fft_run(c, 2, FFT_C2C, 0); }
td_code td_k_ifft2d(td_kctx *c) { return fft_run(c, 2, FFT_C2C, 1); }
td_code td_k_fft3d(td_kctx *c) { return fft_run(c, 3, FFT_C2C, 0); }
td_code td_k_ifft3d(td_kctx *c) { return fft_run(c, 3, FFT_C2C, 1); }
td_code td_k_rfft(td_kctx *c) { return fft_run(c, 1, FFT_R2C, 0); }
td_code td_k_irfft(td_kctx *c) { return fft_run(c, 1, FFT_C2R, 1); }
td_code td_k_rfft2d(td_kctx *c) { return fft_run(c, 2, FFT_R2C, 0); }
td_code td_k_irfft2d(td_kctx *c) { return fft_run(c, 2, FFT_C2R, 1); }
td_code td_k_rfft3d(td_kctx *c) { return fft_run(c, 3, FFT_R2C, 0); }
td_code td_k_irfft3d(td_kctx *c) { return fft_run(c, 3, FFT_C2R, 1); }
