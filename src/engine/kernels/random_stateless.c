/* random_stateless.c — stateless random ops: StatelessRandom{Uniform,Normal,UniformInt,
 * UniformFullInt}, StatelessTruncatedNormal (v1: a [2] seed) and their V2 forms (key [1] uint64,
 * counter [2] uint64, alg), StatelessRandomGetKeyCounter(/Alg), StatelessRandomGetAlg,
 * RngReadAndSkip (a generator state variable), and Bitcast.
 *
 * The output is a pure function of (shape, seed or key/counter): Philox4x32-10 with TF's seed
 * scrambling, sample layout and conversions (random_philox.h, random_dist.c), so values are meant
 * to equal TF's CPU kernels; alg 1 (Philox) and 3 (auto-select = Philox on CPU) are accepted,
 * ThreeFry (2) is UNIMPLEMENTED. Kernels are reentrant; RngReadAndSkip updates its variable
 * under the variable's lock via td_variable_read / td_variable_assign (read-modify-write is not
 * atomic across concurrent runs, as in TF without a resource lock order). */
#include <string.h>

#include "engine/kernels/random_internal.h"

enum { ALG_PHILOX = 1, ALG_THREEFRY = 2, ALG_AUTO = 3 };

static td_code read_seed(td_kctx *c, int i, td_philox *g) {
  const td_tensor *s = td_k_input(c, i);
  char buf[64];
  if (s->shape.rank != 1 || s->shape.dim[0] != 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "seed must have shape [2], not %s", td_shape_str(&s->shape, buf, sizeof buf));
  if (s->dtype != TD_DT_INT32 && s->dtype != TD_DT_INT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Invalid seed type: %s", td_dtype_name(s->dtype));
  *g = td_philox_from_seed((uint64_t)td_tensor_get_int(s, 0), (uint64_t)td_tensor_get_int(s, 1));
  return TD_OK;
}

static td_code read_alg(td_kctx *c, int i, int *alg) {
  const td_tensor *a = td_k_input(c, i);
  if (a->shape.rank != 0 || (a->dtype != TD_DT_INT32 && a->dtype != TD_DT_INT64))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "alg must be an int32 scalar");
  int64_t v = td_tensor_get_int(a, 0);
  if (v == ALG_THREEFRY) return td_k_fail(c, TD_UNIMPLEMENTED, "Unsupported algorithm id: %lld (ThreeFry)", (long long)v);
  if (v != ALG_PHILOX && v != ALG_AUTO) return td_k_fail(c, TD_INVALID_ARGUMENT, "Unsupported algorithm id: %lld", (long long)v);
  *alg = (int)v;
  return TD_OK;
}

/* key (input ki, uint64 [1]) and counter (ki+1, uint64 [>=2]) → generator. */
static td_code read_key_counter(td_kctx *c, int ki, td_philox *g) {
  const td_tensor *k = td_k_input(c, ki), *ct = td_k_input(c, ki + 1);
  char buf[64];
  if (k->shape.rank != 1 || k->shape.dim[0] != 1)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "key must have shape [1], not %s. (Note that batched keys are not supported yet.)",
                     td_shape_str(&k->shape, buf, sizeof buf));
  if (ct->shape.rank != 1 || ct->shape.dim[0] < 2)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "The size of the counter must be at least 2, got shape %s",
                     td_shape_str(&ct->shape, buf, sizeof buf));
  if (k->dtype != TD_DT_UINT64 || ct->dtype != TD_DT_UINT64)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "key and counter must be uint64");
  const uint64_t *kv = k->data, *cv = ct->data;
  *g = td_philox_make(kv[0], cv[0], cv[1]);
  return TD_OK;
}

static td_code emit(td_kctx *c, td_philox g, td_rand_dist d, int shape_in, td_dtype dt, int64_t lo, uint64_t range) {
  td_shape s;
  TD_TRY(td_rand_shape_input(c, shape_in, &s));
  if (!td_rand_dtype_ok(d, dt))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "%s does not support dtype %s", td_node_op(td_k_node(c)), td_dtype_name(dt));
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, dt, &s, &out));
  td_rand_fill(g, d, out, lo, range);
  return TD_OK;
}

/* minval/maxval inputs (scalars of the output dtype) → lo, range. */
static td_code int_range(td_kctx *c, int i, td_dtype dt, int64_t *lo, uint64_t *range) {
  const td_tensor *a = td_k_input(c, i), *b = td_k_input(c, i + 1);
  char buf[64];
  if (a->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "minval must be 0-D, got shape %s", td_shape_str(&a->shape, buf, sizeof buf));
  if (b->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "maxval must be 0-D, got shape %s", td_shape_str(&b->shape, buf, sizeof buf));
  int uns = dt == TD_DT_UINT32 || dt == TD_DT_UINT64;
  uint64_t ua = (uint64_t)td_tensor_get_int(a, 0), ub = (uint64_t)td_tensor_get_int(b, 0);
  int less = uns ? ua < ub : (int64_t)ua < (int64_t)ub;
  if (!less) {
    if (uns) return td_k_fail(c, TD_INVALID_ARGUMENT, "Need minval < maxval: %llu >= %llu", (unsigned long long)ua, (unsigned long long)ub);
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Need minval < maxval: %lld >= %lld", (long long)ua, (long long)ub);
  }
  *lo = (int64_t)ua;
  *range = ub - ua;
  if (dt == TD_DT_INT32 || dt == TD_DT_UINT32) *range = (uint32_t)*range;
  return TD_OK;
}

static td_dtype out_dtype(td_kctx *c, td_dtype dflt) { return td_attr_type(td_k_node(c), "dtype", dflt); }

static td_code v1(td_kctx *c, td_rand_dist d) {
  td_philox g;
  TD_TRY(read_seed(c, 1, &g));
  return emit(c, g, d, 0, out_dtype(c, TD_DT_FLOAT), 0, 0);
}

td_code td_k_stateless_random_uniform(td_kctx *c) { return v1(c, TD_RD_UNIFORM); }
td_code td_k_stateless_random_normal(td_kctx *c) { return v1(c, TD_RD_NORMAL); }
td_code td_k_stateless_truncated_normal(td_kctx *c) { return v1(c, TD_RD_TRUNCATED); }

td_code td_k_stateless_random_uniform_int(td_kctx *c) {
  td_philox g;
  int64_t lo;
  uint64_t range;
  td_dtype dt = out_dtype(c, TD_DT_INT64);
  TD_TRY(read_seed(c, 1, &g));
  TD_TRY(int_range(c, 2, dt, &lo, &range));
  return emit(c, g, TD_RD_INT, 0, dt, lo, range);
}

td_code td_k_stateless_random_uniform_full_int(td_kctx *c) {
  td_philox g;
  TD_TRY(read_seed(c, 1, &g));
  return emit(c, g, TD_RD_FULL_INT, 0, out_dtype(c, TD_DT_UINT64), 0, 0);
}

static td_code v2(td_kctx *c, td_rand_dist d, td_dtype dflt) {
  td_philox g;
  int alg;
  TD_TRY(read_alg(c, 3, &alg));
  TD_TRY(read_key_counter(c, 1, &g));
  td_dtype dt = out_dtype(c, dflt);
  int64_t lo = 0;
  uint64_t range = 0;
  if (d == TD_RD_INT) TD_TRY(int_range(c, 4, dt, &lo, &range));
  return emit(c, g, d, 0, dt, lo, range);
}

td_code td_k_stateless_random_uniform_v2(td_kctx *c) { return v2(c, TD_RD_UNIFORM, TD_DT_FLOAT); }
td_code td_k_stateless_random_normal_v2(td_kctx *c) { return v2(c, TD_RD_NORMAL, TD_DT_FLOAT); }
td_code td_k_stateless_truncated_normal_v2(td_kctx *c) { return v2(c, TD_RD_TRUNCATED, TD_DT_FLOAT); }
td_code td_k_stateless_random_uniform_int_v2(td_kctx *c) { return v2(c, TD_RD_INT, TD_DT_INT64); }
td_code td_k_stateless_random_uniform_full_int_v2(td_kctx *c) { return v2(c, TD_RD_FULL_INT, TD_DT_UINT64); }

/* key [1] and counter [2] (uint64) of a seed: the scrambled generator, packed low word first. */
static td_code key_counter(td_kctx *c, int with_alg) {
  td_philox g;
  TD_TRY(read_seed(c, 0, &g));
  td_tensor *k, *ct;
  td_shape one = td_shape_vector(1), two = td_shape_vector(2);
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_UINT64, &one, &k));
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_UINT64, &two, &ct));
  ((uint64_t *)k->data)[0] = (uint64_t)g.key[0] | (uint64_t)g.key[1] << 32;
  ((uint64_t *)ct->data)[0] = (uint64_t)g.ctr[0] | (uint64_t)g.ctr[1] << 32;
  ((uint64_t *)ct->data)[1] = (uint64_t)g.ctr[2] | (uint64_t)g.ctr[3] << 32;
  if (with_alg) {
    td_tensor *a;
    td_shape sc = td_shape_scalar();
    TD_TRY(td_k_alloc_output(c, 2, TD_DT_INT32, &sc, &a));
    td_i32(a)[0] = ALG_PHILOX;
  }
  return TD_OK;
}

td_code td_k_stateless_random_get_key_counter(td_kctx *c) { return key_counter(c, 0); }
td_code td_k_stateless_random_get_key_counter_alg(td_kctx *c) { return key_counter(c, 1); }

td_code td_k_stateless_random_get_alg(td_kctx *c) {
  td_tensor *a;
  td_shape sc = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 0, TD_DT_INT32, &sc, &a));
  td_i32(a)[0] = ALG_PHILOX;
  return TD_OK;
}

/* RngReadAndSkip(resource, alg, delta): outputs the int64 state [counter_lo, counter_hi, key]
 * (Philox) and advances the 128-bit counter by delta (the step is implementation-defined in TF). */
td_code td_k_rng_read_and_skip(td_kctx *c) {
  const td_tensor *h = td_k_input(c, 0), *dl = td_k_input(c, 2);
  int alg;
  TD_TRY(read_alg(c, 1, &alg));
  if (h->dtype != TD_DT_RESOURCE || td_tensor_num_elements(h) != 1 || !td_res(h)[0])
    return td_k_fail(c, TD_INVALID_ARGUMENT, "input 0 of RngReadAndSkip is not a variable handle");
  td_resource *r = td_res(h)[0];
  if (strcmp(r->kind, "variable"))
    return td_k_fail(c, TD_INVALID_ARGUMENT, "resource '%s' is a %s, not a variable", r->name, r->kind);
  if (dl->shape.rank != 0) return td_k_fail(c, TD_INVALID_ARGUMENT, "delta must be a scalar");
  td_variable *v = (td_variable *)r;
  td_tensor cur;
  td_status st;
  if (td_variable_read(v, &cur, &st) != TD_OK)
    return td_k_fail(c, st.code, "Error while reading resource variable %s. This could mean that the variable was uninitialized.", r->name);
  td_code rc = TD_OK;
  char buf[64];
  if (cur.dtype != TD_DT_INT64 || cur.shape.rank != 1 || cur.shape.dim[0] < 3) {
    rc = td_k_fail(c, TD_INVALID_ARGUMENT, "The RNG state must be an int64 vector of at least 3 elements, got %s %s",
                   td_dtype_name(cur.dtype), td_shape_str(&cur.shape, buf, sizeof buf));
    td_tensor_release(&cur);
    return rc;
  }
  td_tensor *out;
  td_shape three = td_shape_vector(3);
  rc = td_k_alloc_output(c, 0, TD_DT_INT64, &three, &out);
  if (rc == TD_OK) {
    memcpy(out->data, cur.data, 3 * sizeof(int64_t));
    td_tensor next;
    td_status ast;
    rc = td_tensor_copy(&next, &cur, &ast);
    if (rc != TD_OK) {
      rc = td_k_fail(c, ast.code, "%s", ast.msg);
    } else {
      uint64_t lo = (uint64_t)td_i64(&next)[0], add = (uint64_t)td_tensor_get_int(dl, 0);
      td_i64(&next)[0] = (int64_t)(lo + add);
      if (lo + add < lo) td_i64(&next)[1] = (int64_t)((uint64_t)td_i64(&next)[1] + 1);
      td_variable_assign(v, &next);
      td_tensor_release(&next);
    }
  }
  td_tensor_release(&cur);
  return rc;
}

/* Bitcast: same bytes, new element type. Equal sizes keep the shape; a wider input gains a
 * last dim of size in/out; a narrower input's last dim must be out/in and is dropped. */
td_code td_k_bitcast(td_kctx *c) {
  const td_tensor *in = td_k_input(c, 0);
  td_dtype to = td_attr_type(td_k_node(c), "type", TD_DT_FLOAT);
  size_t si = td_dtype_size(in->dtype), so = td_dtype_size(to);
  if (in->dtype == TD_DT_STRING || to == TD_DT_STRING || in->dtype == TD_DT_RESOURCE || to == TD_DT_RESOURCE ||
      in->dtype == TD_DT_VARIANT || to == TD_DT_VARIANT || !si || !so)
    return td_k_fail(c, TD_UNIMPLEMENTED, "Bitcast of %s to %s is not supported", td_dtype_name(in->dtype), td_dtype_name(to));
  td_shape s = in->shape;
  if (si > so) {
    if (s.rank == TD_MAX_RANK) return td_k_fail(c, TD_UNIMPLEMENTED, "Bitcast would exceed %d dimensions", TD_MAX_RANK);
    s.dim[s.rank++] = (int64_t)(si / so);
  } else if (si < so) {
    if (s.rank == 0 || s.dim[s.rank - 1] != (int64_t)(so / si))
      return td_k_fail(c, TD_INVALID_ARGUMENT, "Cannot bitcast from %d to %d: the last dimension of the input must be %zu",
                       (int)in->dtype, (int)to, so / si);
    s.rank--;
  }
  td_tensor *out;
  TD_TRY(td_k_alloc_output_uninit(c, 0, to, &s, &out));
  size_t nb = td_tensor_nbytes(in);
  if (nb) memcpy(out->data, in->data, nb);
  return TD_OK;
}
