/* cudnn_rnn.c — CudnnRNN, CudnnRNNV2 and CudnnRNNV3 on the CPU (inference: dropout is not
 * applied; reserve_space / host_reserved come back empty).
 *
 * Modes: rnn_mode lstm (gates i, f, c, o), gru (gates r, z, h with cuDNN's "linear before
 * reset": h~ = tanh(Wh x + bWh + r * (Rh h + bRh))), rnn_relu, rnn_tanh; input_mode
 * linear_input (and auto_select, which is the same); direction unidirectional or
 * bidirectional. num_layers = input_h.dim[0] / dirs and num_units = input_h.dim[2], as in TF.
 *
 * params is the canonical flat buffer that Keras and CudnnRNNCanonicalToParams build: first
 * every weight matrix, layer by layer, direction by direction, the num_gates input matrices
 * W_g [num_units, layer_input] then the num_gates recurrent matrices R_g [num_units, num_units]
 * (row-major, y = W x); then every bias vector in the same order (the num_gates input biases,
 * then the num_gates recurrent biases, each [num_units]). Layer 0's input is input_size, later
 * layers' is num_units * dirs. A params size that does not fit answers INVALID_ARGUMENT.
 *
 * V3: sequence_lengths [batch] limits each batch row's steps (outputs past the length are
 * zero; the final state is the one at its last step; the backward direction starts at its
 * last step); time_major = false takes input [batch, time, input] and output_h / input_h
 * [batch, layers * dirs, units]. num_proj > 0 is UNIMPLEMENTED. Non-LSTM modes ignore
 * input_c and answer a zero scalar output_c (TF's dummy).
 *
 * Arithmetic is in double on scratch copies (all of T = half, float, double); the kernel is
 * stateless and reentrant.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "util/mem.h"

typedef enum { RNN_RELU, RNN_TANH, RNN_LSTM, RNN_GRU } rnn_mode;

typedef struct rnn_dims {
  rnn_mode mode;
  int gates, dirs, time_major;
  int64_t layers, units, T, B, I;
} rnn_dims;

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

static td_code parse_mode(td_kctx *c, rnn_dims *d) {
  const td_node *n = td_k_node(c);
  static const struct {
    const char *name;
    rnn_mode mode;
    int gates;
  } modes[] = {{"lstm", RNN_LSTM, 4}, {"gru", RNN_GRU, 3}, {"rnn_relu", RNN_RELU, 1}, {"rnn_tanh", RNN_TANH, 1}};
  size_t len = 0;
  const char *m = td_attr_str(n, "rnn_mode", &len);
  d->gates = 0;
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
    if (!m || (len == strlen(modes[i].name) && !memcmp(m, modes[i].name, len))) {
      d->mode = modes[i].mode;
      d->gates = modes[i].gates;
      break;
    }
  if (!d->gates) return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid RNN mode: %.*s", (int)len, m);
  if (!td_attr_str_eq(n, "input_mode", "linear_input") && !td_attr_str_eq(n, "input_mode", "auto_select") &&
      td_attr_str(n, "input_mode", &len))
    return td_k_fail(c, TD_UNIMPLEMENTED, "CudnnRNN: only input_mode linear_input is supported on the CPU");
  if (td_attr_str_eq(n, "direction", "bidirectional")) d->dirs = 2;
  else if (!td_attr_str(n, "direction", &len) || td_attr_str_eq(n, "direction", "unidirectional")) d->dirs = 1;
  else return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid RNN direction");
  if (td_attr_int(n, "num_proj", 0) > 0)
    return td_k_fail(c, TD_UNIMPLEMENTED, "CudnnRNNV3 with num_proj > 0 is not supported on the CPU");
  d->time_major = td_attr_bool(n, "time_major", true);
  return TD_OK;
}

static td_code check_inputs(td_kctx *c, rnn_dims *d) {
  const td_tensor *x = td_k_input(c, 0), *h = td_k_input(c, 1), *cs = td_k_input(c, 2), *p = td_k_input(c, 3);
  char a[128], b[128];
  if (x->shape.rank != 3) return td_k_fail(c, TD_INVALID_ARGUMENT, "RNN input must be a 3-D vector.");
  if (h->shape.rank != 3) return td_k_fail(c, TD_INVALID_ARGUMENT, "RNN input_h must be a 3-D vector.");
  if (d->mode == RNN_LSTM && cs->shape.rank != 3)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "RNN input_c must be a 3-D vector.");
  if (h->dtype != x->dtype || p->dtype != x->dtype || (d->mode == RNN_LSTM && cs->dtype != x->dtype))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "CudnnRNN: input, input_h, input_c and params must have one dtype");
  if (x->dtype != TD_DT_FLOAT && x->dtype != TD_DT_DOUBLE && x->dtype != TD_DT_HALF)
    return td_k_fail(c, TD_UNIMPLEMENTED, "CudnnRNN is not supported for %s", td_dtype_name(x->dtype));
  d->T = x->shape.dim[d->time_major ? 0 : 1];
  d->B = x->shape.dim[d->time_major ? 1 : 0];
  d->I = x->shape.dim[2];
  int64_t ld = h->shape.dim[d->time_major ? 0 : 1], hb = h->shape.dim[d->time_major ? 1 : 0];
  d->units = h->shape.dim[2];
  d->layers = ld / d->dirs;
  if (ld % d->dirs || d->layers < 1 || hb != d->B)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid input_h shape: %s %s", td_shape_str(&h->shape, a, sizeof a),
                     td_shape_str(&x->shape, b, sizeof b));
  if (d->mode == RNN_LSTM && !td_shape_equal(&h->shape, &cs->shape))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid input_c shape: %s %s", td_shape_str(&cs->shape, a, sizeof a),
                     td_shape_str(&h->shape, b, sizeof b));
  int64_t H = d->units, G = d->gates, want = 0;
  for (int64_t l = 0; l < d->layers; l++) {
    int64_t in = l == 0 ? d->I : H * d->dirs;
    want += d->dirs * G * (H * in + H * H + 2 * H);
  }
  if (p->shape.rank != 1 || td_tensor_num_elements(p) != want)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "Invalid params size: got %lld elements, expected %lld for %lld layer(s), %d direction(s), %lld "
                     "units and input size %lld",
                     (long long)td_tensor_num_elements(p), (long long)want, (long long)d->layers, d->dirs,
                     (long long)H, (long long)d->I);
  return TD_OK;
}

static double *to_double(const td_tensor *t) {
  int64_t n = td_tensor_num_elements(t);
  double *v = td_xmalloc((size_t)(n > 0 ? n : 1) * sizeof *v);
  if (t->dtype == TD_DT_FLOAT)
    for (int64_t i = 0; i < n; i++) v[i] = td_f32(t)[i];
  else
    for (int64_t i = 0; i < n; i++) v[i] = td_tensor_get_double(t, i);
  return v;
}

static void from_double(td_tensor *t, const double *v) {
  int64_t n = td_tensor_num_elements(t);
  if (t->dtype == TD_DT_FLOAT)
    for (int64_t i = 0; i < n; i++) td_f32(t)[i] = (float)v[i];
  else
    for (int64_t i = 0; i < n; i++) td_tensor_set_double(t, i, v[i]);
}

/* One layer, one direction over all steps. in: [T][B][in_size] (time-major scratch); out: the
 * layer output [T][B][dirs * H] (this direction's H columns at offset dir * H); h, cell: [B][H]
 * initial state, updated to the final state. W/R/bw/br: this layer-direction's parameters. */
typedef struct rnn_step_args {
  const rnn_dims *d;
  const double *in, *W, *R, *bw, *br;
  int64_t in_size;
  int dir;
  const int *lens; /* per batch row, or NULL = T */
} rnn_step_args;

static void run_direction(const rnn_step_args *a, double *out, double *h, double *cell, double *scratch) {
  const rnn_dims *d = a->d;
  int64_t H = d->units, G = d->gates, T = d->T, width = d->dirs * H;
  double *gx = scratch, *gh = scratch + G * H;
  for (int64_t b = 0; b < d->B; b++) {
    int64_t len = a->lens ? a->lens[b] : T;
    double *hb = h + b * H, *cb = cell ? cell + b * H : NULL;
    for (int64_t s = 0; s < len; s++) {
      int64_t t = a->dir == 0 ? s : len - 1 - s;
      const double *x = a->in + (t * d->B + b) * a->in_size;
      for (int64_t g = 0; g < G; g++)
        for (int64_t j = 0; j < H; j++) {
          const double *w = a->W + (g * H + j) * a->in_size, *r = a->R + (g * H + j) * H;
          double sx = a->bw[g * H + j], sh = a->br[g * H + j];
          for (int64_t k = 0; k < a->in_size; k++) sx += w[k] * x[k];
          for (int64_t k = 0; k < H; k++) sh += r[k] * hb[k];
          gx[g * H + j] = sx;
          gh[g * H + j] = sh;
        }
      for (int64_t j = 0; j < H; j++) {
        switch (d->mode) {
          case RNN_RELU: hb[j] = fmax(0.0, gx[j] + gh[j]); break;
          case RNN_TANH: hb[j] = tanh(gx[j] + gh[j]); break;
          case RNN_LSTM: {
            double i = sigmoid(gx[j] + gh[j]), f = sigmoid(gx[H + j] + gh[H + j]);
            double cc = tanh(gx[2 * H + j] + gh[2 * H + j]), o = sigmoid(gx[3 * H + j] + gh[3 * H + j]);
            cb[j] = f * cb[j] + i * cc;
            hb[j] = o * tanh(cb[j]);
            break;
          }
          case RNN_GRU: {
            double r = sigmoid(gx[j] + gh[j]), z = sigmoid(gx[H + j] + gh[H + j]);
            double hh = tanh(gx[2 * H + j] + r * gh[2 * H + j]);
            hb[j] = (1.0 - z) * hh + z * hb[j];
            break;
          }
        }
      }
      memcpy(out + (t * d->B + b) * width + a->dir * H, hb, (size_t)H * sizeof *hb);
    }
  }
}

/* Reads sequence_lengths (V3) into lens; NULL when absent. */
static td_code read_lengths(td_kctx *c, const rnn_dims *d, int **out) {
  *out = NULL;
  if (td_k_num_inputs(c) < 5) return TD_OK;
  const td_tensor *sl = td_k_input(c, 4);
  if (sl->dtype != TD_DT_INT32 || sl->shape.rank != 1 || sl->shape.dim[0] != d->B)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "sequence_lengths must be an int32 vector of length batch_size %lld",
                     (long long)d->B);
  for (int64_t b = 0; b < d->B; b++)
    if (td_i32(sl)[b] < 0 || td_i32(sl)[b] > d->T)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "sequence_lengths[%lld] = %d is outside [0, %lld]", (long long)b,
                       td_i32(sl)[b], (long long)d->T);
  *out = td_xmalloc((size_t)(d->B > 0 ? d->B : 1) * sizeof **out);
  for (int64_t b = 0; b < d->B; b++) (*out)[b] = td_i32(sl)[b];
  return TD_OK;
}

/* [T, B, F] <-> [B, T, F] */
static void swap01(double *dst, const double *src, int64_t n0, int64_t n1, int64_t f) {
  for (int64_t i = 0; i < n0; i++)
    for (int64_t j = 0; j < n1; j++) memcpy(dst + (j * n0 + i) * f, src + (i * n1 + j) * f, (size_t)f * sizeof *dst);
}

static td_code cudnn_rnn(td_kctx *c) {
  rnn_dims d = {0};
  TD_TRY(parse_mode(c, &d));
  TD_TRY(check_inputs(c, &d));
  int *lens = NULL;
  TD_TRY(read_lengths(c, &d, &lens));
  const td_tensor *xt = td_k_input(c, 0), *ht = td_k_input(c, 1), *ct = td_k_input(c, 2);
  td_dtype dt = xt->dtype;
  int64_t H = d.units, G = d.gates, T = d.T, B = d.B, LD = d.layers * d.dirs, width = d.dirs * H;
  /* Scratch: time-major input, two layer buffers, states [LD][B][H] (time-major order). */
  double *x = to_double(xt), *params = to_double(td_k_input(c, 3));
  double *hs = to_double(ht), *cs = d.mode == RNN_LSTM ? to_double(ct) : NULL;
  if (!d.time_major) {
    double *tmp = td_xmalloc((size_t)(T * B * d.I + 1) * sizeof *tmp);
    swap01(tmp, x, B, T, d.I);
    free(x);
    x = tmp;
    tmp = td_xmalloc((size_t)(LD * B * H + 1) * sizeof *tmp);
    swap01(tmp, hs, B, LD, H);
    free(hs);
    hs = tmp;
    if (cs) {
      tmp = td_xmalloc((size_t)(LD * B * H + 1) * sizeof *tmp);
      swap01(tmp, cs, B, LD, H);
      free(cs);
      cs = tmp;
    }
  }
  double *buf[2] = {td_xcalloc((size_t)(T * B * width + 1), sizeof(double)),
                    td_xcalloc((size_t)(T * B * width + 1), sizeof(double))};
  double *scratch = td_xmalloc((size_t)(2 * G * H + 1) * sizeof *scratch);
  /* Parameter offsets: weights in order, then biases in order. */
  int64_t woff = 0, boff = 0;
  for (int64_t l = 0; l < d.layers; l++) {
    int64_t in = l == 0 ? d.I : width;
    boff += d.dirs * G * (H * in + H * H);
  }
  const double *in = x;
  double *out = NULL;
  for (int64_t l = 0; l < d.layers; l++) {
    int64_t in_size = l == 0 ? d.I : width;
    out = buf[l % 2];
    memset(out, 0, (size_t)(T * B * width) * sizeof *out);
    for (int dir = 0; dir < d.dirs; dir++) {
      rnn_step_args a = {&d, in, params + woff, params + woff + G * H * in_size, params + boff, params + boff + G * H,
                         in_size, dir, lens};
      woff += G * (H * in_size + H * H);
      boff += 2 * G * H;
      int64_t idx = l * d.dirs + dir;
      run_direction(&a, out, hs + idx * B * H, cs ? cs + idx * B * H : NULL, scratch);
    }
    in = out;
  }
  td_code rc = TD_OK;
  td_tensor *o;
  td_shape os = {.rank = 3};
  os.dim[0] = d.time_major ? T : B;
  os.dim[1] = d.time_major ? B : T;
  os.dim[2] = width;
  rc = td_k_alloc_output_uninit(c, 0, dt, &os, &o);
  if (rc == TD_OK) {
    if (!d.time_major) {
      double *tmp = td_xmalloc((size_t)(T * B * width + 1) * sizeof *tmp);
      swap01(tmp, out, T, B, width);
      from_double(o, tmp);
      free(tmp);
    } else {
      from_double(o, out);
    }
  }
  for (int k = 0; k < 2 && rc == TD_OK; k++) {
    double *state = k == 0 ? hs : cs;
    td_tensor *so;
    td_shape scalar = td_shape_scalar(); /* TF's dummy output_c for non-LSTM modes */
    rc = td_k_alloc_output(c, 1 + k, dt, state ? &ht->shape : &scalar, &so);
    if (rc != TD_OK || !state) continue;
    if (!d.time_major) {
      double *tmp = td_xmalloc((size_t)(LD * B * H + 1) * sizeof *tmp);
      swap01(tmp, state, LD, B, H);
      from_double(so, tmp);
      free(tmp);
    } else {
      from_double(so, state);
    }
  }
  td_shape empty = td_shape_vector(0);
  for (int k = 3; k < td_k_num_outputs(c) && rc == TD_OK; k++) {
    td_tensor *r;
    rc = td_k_alloc_output(c, k, k == 3 ? dt : TD_DT_INT8, &empty, &r);
  }
  free(x);
  free(params);
  free(hs);
  free(cs);
  free(buf[0]);
  free(buf[1]);
  free(scratch);
  free(lens);
  return rc;
}

td_code td_k_cudnn_rnn(td_kctx *c) { return cudnn_rnn(c); }
