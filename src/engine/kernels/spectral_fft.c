/* spectral_fft.c — 1-D complex FFT of any length on double complex data (spectral_internal.h):
 * iterative radix-2 for powers of two, Bluestein's chirp-z (three power-of-two FFTs of length
 * >= 2n-1) otherwise, a direct DFT for tiny lengths. Plans are built per call by the kernel and
 * freed by it; nothing global. Forward uses e^{-2 pi i jk/n}; inverse e^{+...} without 1/n. */
#include <math.h>
#include <stdlib.h>

#include "engine/kernels/spectral_internal.h"

static int is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* In place radix-2 on a (length m, a power of two); tw holds e^{-2 pi i k/m}, k < m/2. */
static void radix2(double complex *a, int64_t m, const double complex *tw, int inverse) {
  for (int64_t i = 1, j = 0; i < m; i++) {
    int64_t bit = m >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      double complex t = a[i];
      a[i] = a[j], a[j] = t;
    }
  }
  for (int64_t len = 2; len <= m; len <<= 1) {
    int64_t half = len >> 1, step = m / len;
    for (int64_t i = 0; i < m; i += len)
      for (int64_t k = 0; k < half; k++) {
        double complex w = tw[k * step];
        if (inverse) w = conj(w);
        double complex u = a[i + k], v = a[i + k + half] * w;
        a[i + k] = u + v;
        a[i + k + half] = u - v;
      }
  }
}

static double complex *twiddles(int64_t m) {
  double complex *tw = malloc((size_t)(m / 2 + 1) * sizeof *tw);
  if (!tw) return NULL;
  for (int64_t k = 0; k <= m / 2; k++) {
    double ang = -2.0 * M_PI * (double)k / (double)m;
    tw[k] = cos(ang) + I * sin(ang);
  }
  return tw;
}

void td_fft_plan_free(td_fft_plan *p) {
  if (!p) return;
  free(p->tw);
  free(p->chirp);
  free(p->bfft);
  free(p->work);
  free(p);
}

td_fft_plan *td_fft_plan_new(int64_t n) {
  td_fft_plan *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->n = n;
  if (n <= 1) return p;
  if (is_pow2(n)) {
    p->m = n;
    p->tw = twiddles(n);
    if (!p->tw) goto fail;
    return p;
  }
  if (n <= 16) { /* direct DFT: chirp holds e^{-2 pi i k/n} */
    p->chirp = malloc((size_t)n * sizeof *p->chirp);
    p->work = malloc((size_t)n * sizeof *p->work);
    if (!p->chirp || !p->work) goto fail;
    for (int64_t k = 0; k < n; k++) {
      double ang = -2.0 * M_PI * (double)k / (double)n;
      p->chirp[k] = cos(ang) + I * sin(ang);
    }
    return p;
  }
  int64_t m = 1;
  while (m < 2 * n - 1) m <<= 1;
  p->m = m;
  p->bluestein = 1;
  p->tw = twiddles(m);
  p->chirp = malloc((size_t)n * sizeof *p->chirp);
  p->bfft = calloc((size_t)m, sizeof *p->bfft);
  p->work = malloc((size_t)m * sizeof *p->work);
  if (!p->tw || !p->chirp || !p->bfft || !p->work) goto fail;
  for (int64_t k = 0; k < n; k++) { /* w_k = e^{-pi i k^2 / n}, k^2 reduced mod 2n for accuracy */
    int64_t k2 = (int64_t)(((__int128)k * k) % (2 * n));
    double ang = -M_PI * (double)k2 / (double)n;
    p->chirp[k] = cos(ang) + I * sin(ang);
  }
  p->bfft[0] = conj(p->chirp[0]);
  for (int64_t k = 1; k < n; k++) p->bfft[k] = p->bfft[m - k] = conj(p->chirp[k]);
  radix2(p->bfft, m, p->tw, 0);
  return p;
fail:
  td_fft_plan_free(p);
  return NULL;
}

void td_fft_run(td_fft_plan *p, double complex *a, int inverse) {
  int64_t n = p->n;
  if (n <= 1) return;
  if (!p->bluestein && p->tw) {
    radix2(a, n, p->tw, inverse);
    return;
  }
  if (!p->bluestein) {
    for (int64_t k = 0; k < n; k++) {
      double complex s = 0;
      for (int64_t j = 0; j < n; j++) {
        double complex w = p->chirp[(j * k) % n];
        s += a[j] * (inverse ? conj(w) : w);
      }
      p->work[k] = s;
    }
    for (int64_t k = 0; k < n; k++) a[k] = p->work[k];
    return;
  }
  /* X_k = w_k * sum_j (x_j w_j) conj(w_{k-j}); inverse = conj of forward of conj. */
  int64_t m = p->m;
  double complex *b = p->work;
  for (int64_t j = 0; j < n; j++) b[j] = (inverse ? conj(a[j]) : a[j]) * p->chirp[j];
  for (int64_t j = n; j < m; j++) b[j] = 0;
  radix2(b, m, p->tw, 0);
  for (int64_t j = 0; j < m; j++) b[j] *= p->bfft[j];
  radix2(b, m, p->tw, 1);
  for (int64_t k = 0; k < n; k++) {
    double complex v = b[k] * p->chirp[k] / (double)m;
    a[k] = inverse ? conj(v) : v;
  }
}
