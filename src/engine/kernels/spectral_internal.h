/* spectral_internal.h — the FFT engine behind kernels/spectral.c (spectral_fft.c). A plan is
 * owned by one caller and is not thread-safe (it holds a scratch buffer). */
#ifndef TD_ENGINE_KERNELS_SPECTRAL_INTERNAL_H
#define TD_ENGINE_KERNELS_SPECTRAL_INTERNAL_H

#include <complex.h>
#include <stdint.h>

typedef struct td_fft_plan {
  int64_t n, m;           /* length; power-of-two work length (radix-2 / Bluestein) */
  int bluestein;
  double complex *tw;     /* twiddles of length m */
  double complex *chirp;  /* Bluestein chirp (or DFT roots for tiny n) */
  double complex *bfft;   /* FFT of the conjugate chirp filter */
  double complex *work;   /* scratch */
} td_fft_plan;

/* NULL on allocation failure. */
td_fft_plan *td_fft_plan_new(int64_t n);
void td_fft_plan_free(td_fft_plan *p);
/* In-place transform of a[0..n): forward e^{-2 pi i jk/n}, inverse e^{+...} (unscaled). */
void td_fft_run(td_fft_plan *p, double complex *a, int inverse);

#endif
