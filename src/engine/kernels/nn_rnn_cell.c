/* nn_rnn_cell.c — kernels of the fused recurrent-cell steps that opt_rnn_fuse.c puts in place
 * of a Keras LSTM / GRU cell's gate arithmetic (no op table rows: only that pass creates them).
 * They compute the very expressions of the unfused graph, element by element, with the same
 * sigmoid / tanh (math_internal.h's td_math_sigmoidf / td_math_tanhf), in one pass over the
 * gates instead of ~10 kernels; the loop is compiled for AVX-512 / AVX2+FMA / baseline and
 * picked at run time like the unary kernels. Shapes are the Keras ones (rows B, units H: z
 * [B,4H] with c [B,H]; xz, hz [B,3H] with h [B,H]); the state may also be one row [1,H] that
 * every row broadcasts, as the unfused ops would; anything else fails with INVALID_ARGUMENT
 * naming the cell.
 * Outputs come from td_k_alloc_output_uninit: the body's arena or recycled loop variables, so
 * a step allocates nothing. Rows are split over the intra-op threads (OpenMP) when a step has
 * enough of them to pay for waking the team. Reentrant, no state. */
#include <cblas.h>

#include "engine/blas_dnnl.h"
#include "engine/kernels/math_internal.h"
#include "engine/opt_rnn.h"

/* One row per call, every operand a restrict pointer to H contiguous floats, so the loop
 * vectorizes (offsets like z + 2*H + j inside one pointer defeat the vectorizer). */
#define LSTM_ROWS(tag, TARGET)                                                                         \
  TARGET static void lstm_row_##tag(const float *restrict zi, const float *restrict zf,                \
                                    const float *restrict zg, const float *restrict zo,                \
                                    const float *restrict c, float *restrict cn, float *restrict hn,   \
                                    int64_t H) {                                                       \
    for (int64_t j = 0; j < H; j++) {                                                                  \
      float i = td_math_sigmoidf(zi[j]), f = td_math_sigmoidf(zf[j]);                                  \
      float g = td_math_tanhf(zg[j]), o = td_math_sigmoidf(zo[j]);                                     \
      float fc = f * c[j], ig = i * g;                                                                 \
      float cv = fc + ig;                                                                              \
      cn[j] = cv;                                                                                      \
      hn[j] = o * td_math_tanhf(cv);                                                                   \
    }                                                                                                  \
  }                                                                                                    \
  TARGET static void lstm_rows_##tag(const float *z, const float *c, float *cn, float *hn, int64_t B,  \
                                     int64_t H, int64_t cstride) {                                     \
    for (int64_t b = 0; b < B; b++) {                                                                  \
      const float *zr = z + b * 4 * H;                                                                 \
      lstm_row_##tag(zr, zr + H, zr + 2 * H, zr + 3 * H, c + b * cstride, cn + b * H, hn + b * H, H);  \
    }                                                                                                  \
  }

#define GRU_ROWS(tag, TARGET)                                                                          \
  TARGET static void gru_row_##tag(const float *restrict x0, const float *restrict x1,                 \
                                   const float *restrict x2, const float *restrict h0,                 \
                                   const float *restrict h1, const float *restrict h2,                 \
                                   const float *restrict hp, float *restrict out, int64_t H) {         \
    for (int64_t j = 0; j < H; j++) {                                                                  \
      float z = td_math_sigmoidf(x0[j] + h0[j]);                                                       \
      float r = td_math_sigmoidf(x1[j] + h1[j]);                                                       \
      float rh = r * h2[j];                                                                            \
      float hh = td_math_tanhf(x2[j] + rh);                                                            \
      float zh = z * hp[j], omz = 1.0f - z;                                                            \
      float omzh = omz * hh;                                                                           \
      out[j] = zh + omzh;                                                                              \
    }                                                                                                  \
  }                                                                                                    \
  TARGET static void gru_rows_##tag(const float *xz, const float *hz, const float *h, float *hn,       \
                                    int64_t B, int64_t H, int64_t hstride) {                           \
    for (int64_t b = 0; b < B; b++) {                                                                  \
      const float *xr = xz + b * 3 * H, *hr = hz + b * 3 * H;                                          \
      gru_row_##tag(xr, xr + H, xr + 2 * H, hr, hr + H, hr + 2 * H, h + b * hstride, hn + b * H, H);   \
    }                                                                                                  \
  }

LSTM_ROWS(512, TD_MATH_TARGET_512)
LSTM_ROWS(256, TD_MATH_TARGET_256)
LSTM_ROWS(base, )
GRU_ROWS(512, TD_MATH_TARGET_512)
GRU_ROWS(256, TD_MATH_TARGET_256)
GRU_ROWS(base, )

typedef void (*lstm_fn)(const float *, const float *, float *, float *, int64_t, int64_t, int64_t);
typedef void (*gru_fn)(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t);
static const lstm_fn lstm_rows[3] = {lstm_rows_base, lstm_rows_256, lstm_rows_512};
static const gru_fn gru_rows[3] = {gru_rows_base, gru_rows_256, gru_rows_512};

/* Elements (rows x width) from which a step splits its rows over the intra-op threads: a
 * fork/join costs ~3 us on 2 vCPUs (AMD EPYC). An LSTM step's gates (transcendentals) take
 * ~4 us at 32 x 128 units and ~32 us at 256 x 128; starting a product's rows from the bias is
 * a plain add, worth splitting only from 4x as many elements (at 32 x 512 the split made the
 * LSTM step slower). */
#define CELL_PARALLEL_MIN (16 * 1024)
#define ADD_PARALLEL_MIN (64 * 1024)

/* Runs fn(ctx, r0, r1) over rows [0, rows): on the calling thread with no OpenMP region at all
 * (even a team of one costs microseconds per step), or one range per intra-op thread once
 * rows x width reaches min_elements. */
typedef void (*row_range_fn)(const void *ctx, int64_t r0, int64_t r1);

static void for_row_ranges(const td_kctx *c, int64_t rows, int64_t width, int64_t min_elements, row_range_fn fn,
                           const void *ctx) {
  int nt = td_k_threads(c);
  if (nt <= 1 || rows < nt || rows * width < min_elements) {
    fn(ctx, 0, rows);
    return;
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; t++) fn(ctx, rows * t / nt, rows * (t + 1) / nt);
}

/* One LSTM step's operands (rows of z [B,4H], c [B,H] or [1,H] with cstride 0, outputs [B,H]). */
typedef struct lstm_step {
  lstm_fn rows;
  const float *z, *c;
  float *cn, *hn;
  int64_t H, cstride;
} lstm_step;

static void lstm_range(const void *ctx, int64_t r0, int64_t r1) {
  const lstm_step *s = ctx;
  s->rows(s->z + r0 * 4 * s->H, s->c + r0 * s->cstride, s->cn + r0 * s->H, s->hn + r0 * s->H, r1 - r0, s->H,
          s->cstride);
}

/* One GRU step's operands (rows of xz, hz [B,3H], h [B,H] or [1,H] with hstride 0, hn [B,H]). */
typedef struct gru_step {
  gru_fn rows;
  const float *xz, *hz, *h;
  float *hn;
  int64_t H, hstride;
} gru_step;

static void gru_range(const void *ctx, int64_t r0, int64_t r1) {
  const gru_step *s = ctx;
  s->rows(s->xz + r0 * 3 * s->H, s->hz + r0 * 3 * s->H, s->h + r0 * s->hstride, s->hn + r0 * s->H, r1 - r0, s->H,
          s->hstride);
}

/* Input i is float [B, parts*H]; sets H (parts > 1) or checks it (parts == 1: the state, which
 * may also be a single row [1, H] broadcast over the B rows). */
static td_code check_in(td_kctx *c, const char *cell, int i, int64_t B, int64_t parts, int64_t *H) {
  const td_tensor *t = td_k_input(c, i);
  char buf[TD_MATH_SHAPE_BUF];
  int ok = t->dtype == TD_DT_FLOAT && t->shape.rank == 2 && (t->shape.dim[0] == B || (parts == 1 && t->shape.dim[0] == 1));
  if (ok && parts > 1) {
    ok = t->shape.dim[1] % parts == 0 && (*H < 0 || t->shape.dim[1] / parts == *H);
    if (ok) *H = t->shape.dim[1] / parts;
  } else if (ok) {
    ok = t->shape.dim[1] == *H;
  }
  if (!ok)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "fused %s cell: input %d is %s %s, expected float [%lld, %lld*units]",
                     cell, i, td_dtype_name(t->dtype), td_math_shape_str(&t->shape, buf), (long long)B,
                     (long long)parts);
  return TD_OK;
}

td_code td_k_rnn_lstm_cell(td_kctx *c) {
  const td_tensor *z = td_k_input(c, 0);
  if (z->shape.rank != 2) return check_in(c, "LSTM", 0, -1, 4, &(int64_t){-1});
  int64_t B = z->shape.dim[0], H = -1;
  TD_TRY(check_in(c, "LSTM", 0, B, 4, &H));
  TD_TRY(check_in(c, "LSTM", 1, B, 1, &H));
  int64_t dims[2] = {B, H};
  td_shape s = td_shape_make(2, dims);
  td_tensor *cn, *hn;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &s, &cn));
  TD_TRY(td_k_alloc_output_uninit(c, 1, TD_DT_FLOAT, &s, &hn));
  const td_tensor *cs = td_k_input(c, 1);
  lstm_step step = {lstm_rows[td_math_isa()], td_f32(z), td_f32(cs), td_f32(cn), td_f32(hn), H,
                    cs->shape.dim[0] == B ? H : 0};
  for_row_ranges(c, B, H, CELL_PARALLEL_MIN, lstm_range, &step);
  return TD_OK;
}

td_code td_k_rnn_gru_cell(td_kctx *c) {
  const td_tensor *xz = td_k_input(c, 0);
  if (xz->shape.rank != 2) return check_in(c, "GRU", 0, -1, 3, &(int64_t){-1});
  int64_t B = xz->shape.dim[0], H = -1;
  TD_TRY(check_in(c, "GRU", 0, B, 3, &H));
  TD_TRY(check_in(c, "GRU", 1, B, 3, &H));
  TD_TRY(check_in(c, "GRU", 2, B, 1, &H));
  int64_t dims[2] = {B, H};
  td_shape s = td_shape_make(2, dims);
  td_tensor *hn;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &s, &hn));
  const td_tensor *hs = td_k_input(c, 2);
  gru_step step = {gru_rows[td_math_isa()], td_f32(xz), td_f32(td_k_input(c, 1)), td_f32(hs), td_f32(hn), H,
                   hs->shape.dim[0] == B ? H : 0};
  for_row_ranges(c, B, H, CELL_PARALLEL_MIN, gru_range, &step);
  return TD_OK;
}

/* ---- MatMul(s) + BiasAdd as one step ----
 * inputs (a, b, bias) → a·b + bias, or (a, b, a2, b2, bias) → a·b + a2·b2 + bias (Keras LSTM's
 * BiasAdd(AddV2(MatMul(x_t, W), MatMul(h, U)), bias)); no transposes. The output starts as the
 * broadcast bias and each product accumulates onto it (sgemv / sgemm with beta = 1); a·b takes
 * its rows precomputed before the loop when the While hoisted it (the step keeps that MatMul's
 * node, so td_rnn_hoisted_rows finds it). */
static td_code check_product(td_kctx *c, const td_tensor *a, const td_tensor *b, int64_t m, int64_t n) {
  char s1[TD_MATH_SHAPE_BUF], s2[TD_MATH_SHAPE_BUF];
  if (a->dtype != TD_DT_FLOAT || b->dtype != TD_DT_FLOAT || a->shape.rank != 2 || b->shape.rank != 2 ||
      a->shape.dim[1] != b->shape.dim[0] || a->shape.dim[0] != m || b->shape.dim[1] != n ||
      a->shape.dim[1] > INT32_MAX || m > INT32_MAX || n > INT32_MAX)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Matrix size-incompatible: In[0]: %s, In[1]: %s",
                     td_math_shape_str(&a->shape, s1), td_math_shape_str(&b->shape, s2));
  return TD_OK;
}

/* out[m,n] += a·b */
static void accumulate(const td_tensor *a, const td_tensor *b, float *out, int64_t m, int64_t n) {
  int64_t k = a->shape.dim[1];
  if (k == 0 || m == 0 || n == 0) return;
  if (m == 1) /* one row: a matrix-vector product streams b once, no packing */
    cblas_sgemv(CblasRowMajor, CblasTrans, (blasint)k, (blasint)n, 1.0f, td_f32(b), (blasint)n, td_f32(a), 1, 1.0f,
                out, 1);
  else
    td_math_sgemm_fast(0, 0, m, n, k, td_f32(a), k, td_f32(b), n, 1.0f, out, n);
}

/* The output's start: rows of o [m,n] = bias + the hoisted a·b rows (NULL: bias alone). */
typedef struct start_step {
  float *o;
  const float *bias, *hoisted;
  int64_t n;
} start_step;

static void start_range(const void *ctx, int64_t r0, int64_t r1) {
  const start_step *s = ctx;
  for (int64_t i = r0; i < r1; i++) {
    float *orow = s->o + i * s->n;
    if (s->hoisted) {
      const float *r = s->hoisted + i * s->n;
      for (int64_t j = 0; j < s->n; j++) orow[j] = s->bias[j] + r[j];
    } else {
      memcpy(orow, s->bias, (size_t)s->n * sizeof *s->bias);
    }
  }
}

/* Checks the matmul_bias operands — inputs 0..nprod-1: (a, b, [a2, b2,] bias) — and sets the
 * product's shape [m, n]. */
static td_code check_matmul_bias(td_kctx *c, int nprod, int64_t *m, int64_t *n) {
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1), *bias = td_k_input(c, nprod - 1);
  char s1[TD_MATH_SHAPE_BUF];
  if (a->shape.rank != 2 || b->shape.rank != 2) return check_product(c, a, b, -1, -1);
  *m = a->shape.dim[0], *n = b->shape.dim[1];
  TD_TRY(check_product(c, a, b, *m, *n));
  if (nprod == 5) TD_TRY(check_product(c, td_k_input(c, 2), td_k_input(c, 3), *m, *n));
  if (bias->dtype != TD_DT_FLOAT || bias->shape.rank != 1 || bias->shape.dim[0] != *n)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Must provide as many biases as the last dimension of the input tensor: %s vs. %lld",
                     td_math_shape_str(&bias->shape, s1), (long long)*n);
  return TD_OK;
}

/* The start of output o [m,n]: bias plus a·b's rows when the While hoisted them. */
static start_step matmul_bias_start(td_kctx *c, int nprod, float *o, int64_t n) {
  int64_t hn = 0;
  const float *rows = td_rnn_hoisted_rows(td_k_node(c), td_k_input(c, 0), td_k_input(c, 1), &hn);
  start_step start = {o, td_f32(td_k_input(c, nprod - 1)), rows && hn == n ? rows : NULL, n};
  return start;
}

/* o = start, then += the products it does not hold yet (the two-kernel sequence's half). */
static void matmul_bias_run(td_kctx *c, int nprod, const start_step *start, int64_t m, int64_t n) {
  for_row_ranges(c, m, n, ADD_PARALLEL_MIN, start_range, start);
  if (!start->hoisted) accumulate(td_k_input(c, 0), td_k_input(c, 1), start->o, m, n);
  if (nprod == 5) accumulate(td_k_input(c, 2), td_k_input(c, 3), start->o, m, n);
}

td_code td_k_rnn_matmul_bias(td_kctx *c) {
  int nin = td_k_num_inputs(c);
  int64_t m, n;
  TD_TRY(check_matmul_bias(c, nin, &m, &n));
  int64_t dims[2] = {m, n};
  td_shape os = td_shape_make(2, dims);
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &os, &out));
  start_step start = matmul_bias_start(c, nin, td_f32(out), n);
  matmul_bias_run(c, nin, &start, m, n);
  return TD_OK;
}

/* ---- MatMul(s) + BiasAdd + LSTM cell as one step (opt_rnn.h: lstm_step) ---- */
/* Rows [r0, r1) of o += a·b, on the calling thread (oneDNN runs serially inside a region). */
static void accumulate_rows(const td_tensor *a, const td_tensor *b, float *o, int64_t r0, int64_t r1, int64_t n) {
  int64_t k = a->shape.dim[1];
  if (k == 0 || r1 <= r0 || n == 0) return;
  td_blas_dnnl_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)(r1 - r0), (blasint)n, (blasint)k, 1.0f,
                     td_f32(a) + r0 * k, (blasint)k, td_f32(b), (blasint)n, 1.0f, o + r0 * n, (blasint)n);
}

td_code td_k_rnn_lstm_step(td_kctx *c) {
  int nprod = td_k_num_inputs(c) - 1; /* the matmul_bias inputs; c follows */
  int64_t m, n;
  TD_TRY(check_matmul_bias(c, nprod, &m, &n));
  int64_t H = n / 4;
  if (n % 4) return check_in(c, "LSTM", 0, m, 4, &(int64_t){-1});
  TD_TRY(check_in(c, "LSTM", nprod, m, 1, &H));
  td_tensor *z, *cn, *hn;
  int64_t zdims[2] = {m, n}, sdims[2] = {m, H};
  td_shape zs = td_shape_make(2, zdims), ss = td_shape_make(2, sdims);
  TD_TRY(td_k_alloc_output_uninit(c, 2, TD_DT_FLOAT, &zs, &z));
  TD_TRY(td_k_alloc_output_uninit(c, 0, TD_DT_FLOAT, &ss, &cn));
  TD_TRY(td_k_alloc_output_uninit(c, 1, TD_DT_FLOAT, &ss, &hn));
  start_step start = matmul_bias_start(c, nprod, td_f32(z), n);
  const td_tensor *cs = td_k_input(c, nprod);
  lstm_step cell = {lstm_rows[td_math_isa()], td_f32(z), td_f32(cs), td_f32(cn), td_f32(hn), H,
                    cs->shape.dim[0] == m ? H : 0};
  int nt = td_k_threads(c);
  const td_tensor *ra = td_k_input(c, nprod == 5 ? 2 : 0); /* the product every step computes */
  double macs = (double)m * n * (double)ra->shape.dim[1];
  if (nt <= 1 || m < (int64_t)nt * TD_BLAS_SPLIT_ROWS || (macs < TD_BLAS_SERIAL_MACS && m * H < CELL_PARALLEL_MIN) ||
      !td_blas_is_dnnl()) {
    matmul_bias_run(c, nprod, &start, m, n); /* the two kernels' sequence */
    for_row_ranges(c, m, H, CELL_PARALLEL_MIN, lstm_range, &cell);
    return TD_OK;
  }
  int64_t per = td_blas_rows_per_thread(m, nt); /* the row split of blas_dnnl.c's products */
  const td_tensor *a = td_k_input(c, 0), *b = td_k_input(c, 1);
  const td_tensor *a2 = nprod == 5 ? td_k_input(c, 2) : NULL, *b2 = nprod == 5 ? td_k_input(c, 3) : NULL;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; t++) {
    int64_t r0 = t * per, r1 = r0 + per < m ? r0 + per : m;
    if (r0 < r1) {
      start_range(&start, r0, r1);
      if (!start.hoisted) accumulate_rows(a, b, start.o, r0, r1, n);
      if (a2) accumulate_rows(a2, b2, start.o, r0, r1, n);
      lstm_range(&cell, r0, r1);
    }
  }
  return TD_OK;
}
