/* parse_example.c — ParseExample (V1), ParseExampleV2 and ParseSingleExample: serialized
 * tf.Example → tensors.
 *
 * The Example wire format is walked directly (example_wire.h; no protobuf-c unpack):
 * Example{features=1} → Features{feature=1 map entries} → entry{key=1, value=2} →
 * Feature{bytes_list=1 | float_list=2 | int64_list=3} → list{value=1, packed or unpacked}.
 * Proto semantics hold: unknown fields are skipped, repeated `features` fields merge, a later
 * map entry for the same key wins, and a oneof's last kind wins (same-kind repeats
 * concatenate). Example/Features/entry structure is validated for every example ("Could not
 * parse example input"); a Feature's contents only for configured keys ("Can't parse
 * serialized Example."), as TF does.
 *
 * Semantics follow TF's FastParseExample (vector input) and FastParseSingleExample (V2 with a
 * scalar input, and ParseSingleExample: outputs lose the batch dim, messages lose
 * "Name:/Index:"), including TF's error texts. Invariants: every read is bounds-checked
 * against the input slice; values of accumulated features (sparse, ragged, variable-length
 * dense) are buffered per run and copied into outputs at the end (parse_example_emit.c);
 * string values are slices into the (immutable) input.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/kernel.h"
#include "engine/kernels/parse_example_internal.h"
#include "util/mem.h"

/* ---------------------------------------------------------------- configuration */

static uint64_t key_hash(const char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
  return h;
}

static void index_keys(parse_job *j) {
  size_t cap = 8;
  while (cap < (size_t)j->nf * 2) cap *= 2;
  j->nslots = cap;
  j->slots = td_xmalloc(cap * sizeof *j->slots);
  for (size_t i = 0; i < cap; i++) j->slots[i] = -1;
  for (int i = 0; i < j->nf; i++) {
    feature *f = &j->f[i];
    f->next_same_key = -1;
    for (size_t s = key_hash(f->key.p, f->key.n) & (cap - 1);; s = (s + 1) & (cap - 1)) {
      int o = j->slots[s];
      if (o < 0) {
        j->slots[s] = i;
        break;
      }
      if (j->f[o].key.n == f->key.n && memcmp(j->f[o].key.p, f->key.p, f->key.n) == 0) {
        while (j->f[o].next_same_key >= 0) o = j->f[o].next_same_key;
        j->f[o].next_same_key = i;
        break;
      }
    }
  }
}

static int lookup_key(const parse_job *j, const char *p, size_t n) {
  size_t mask = j->nslots - 1;
  for (size_t s = key_hash(p, n) & mask;; s = (s + 1) & mask) {
    int o = j->slots[s];
    if (o < 0) return -1;
    if (j->f[o].key.n == n && memcmp(j->f[o].key.p, p, n) == 0) return o;
  }
}

static const char *list_type_name(td_dtype dt) {
  return dt == TD_DT_STRING ? "bytes" : td_dtype_name(dt);
}

/* ---------------------------------------------------------------- per-example parsing */

static int walk_entry(parse_job *j, wire e) {
  slice key = {"", 0}, value = {NULL, 0};
  while (e.p < e.end) {
    uint32_t field, wt;
    if (!wire_tag(&e, &field, &wt)) return 0;
    if ((field == 1 || field == 2) && wt == WT_LEN) {
      wire b;
      if (!wire_bytes(&e, &b)) return 0;
      slice s = {(const char *)b.p, (size_t)(b.end - b.p)};
      if (field == 1) key = s;
      else value = s;
    } else if (!wire_skip(&e, wt)) {
      return 0;
    }
  }
  for (int i = lookup_key(j, key.p, key.n); i >= 0; i = j->f[i].next_same_key) {
    j->f[i].present = 1;
    j->f[i].found = value;
  }
  return 1;
}

static int walk_example(parse_job *j, slice ex) {
  wire w = {(const uint8_t *)ex.p, (const uint8_t *)ex.p + ex.n};
  while (w.p < w.end) {
    uint32_t field, wt;
    if (!wire_tag(&w, &field, &wt)) return 0;
    if (field != 1 || wt != WT_LEN) {
      if (!wire_skip(&w, wt)) return 0;
      continue;
    }
    wire feats;
    if (!wire_bytes(&w, &feats)) return 0;
    while (feats.p < feats.end) {
      if (!wire_tag(&feats, &field, &wt)) return 0;
      if (field == 1 && wt == WT_LEN) {
        wire entry;
        if (!wire_bytes(&feats, &entry) || !walk_entry(j, entry)) return 0;
      } else if (!wire_skip(&feats, wt)) {
        return 0;
      }
    }
  }
  return 1;
}

static td_string example_at(const parse_job *j, int64_t e) { return td_str(j->serialized)[e]; }

/* The example's debug name: names[e] when names were given, else "<unknown>". */
static slice example_name(const parse_job *j, int64_t e) {
  if (td_tensor_num_elements(j->names) == 0) return (slice){"<unknown>", 9};
  td_string s = td_str(j->names)[e];
  return (slice){s.data ? s.data : "", s.len};
}

/* "Name: n, Key: k, Index: e.  " (batch) or "Key: k.  " (single). */
static td_code example_fail(parse_job *j, int64_t e, const feature *f, const char *fmt, ...)
    TD_PRINTF(4, 5);
static td_code example_fail(parse_job *j, int64_t e, const feature *f, const char *fmt, ...) {
  char suffix[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(suffix, sizeof suffix, fmt, ap);
  va_end(ap);
  if (j->single)
    return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Key: %.*s.  %s", (int)f->key.n, f->key.p,
                     suffix);
  slice name = example_name(j, e);
  return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Name: %.*s, Key: %.*s, Index: %" PRId64 ".  %s",
                   (int)name.n, name.p, (int)f->key.n, f->key.p, e, suffix);
}

static td_code copy_dense_default(parse_job *j, feature *f, int64_t e) {
  const td_tensor *d = f->dflt;
  if (f->dtype == TD_DT_STRING) {
    for (int64_t i = 0; i < f->stride; i++) {
      td_string s = td_str(d)[i];
      td_tensor_set_string(&f->out, e * f->stride + i, s.data, s.len);
    }
  } else {
    size_t esz = td_dtype_size(f->dtype);
    memcpy((char *)f->out.data + (size_t)(e * f->stride) * esz, d->data, (size_t)f->stride * esz);
  }
  return TD_OK;
}

static td_code parse_fixed_dense(parse_job *j, feature *f, int64_t e, const fview *v) {
  char shp[128];
  size_t count;
  if (f->dtype == TD_DT_STRING) {
    j->scratch.n = 0;
    if (!feature_values(v, &j->scratch)) return example_fail(j, e, f, "Can't parse serialized Example.");
    count = j->scratch.n;
    if ((int64_t)count == f->stride) {
      const slice *vals = (const slice *)j->scratch.data;
      for (int64_t i = 0; i < f->stride; i++)
        td_tensor_set_string(&f->out, e * f->stride + i, vals[i].p, vals[i].n);
      return TD_OK;
    }
  } else {
    size_t esz = td_dtype_size(f->dtype);
    sink s = {(char *)f->out.data + (size_t)(e * f->stride) * esz, 0, (size_t)f->stride, esz, 0};
    if (!feature_values(v, &s)) return example_fail(j, e, f, "Can't parse serialized Example.");
    count = s.n;
    if ((int64_t)count == f->stride) return TD_OK;
  }
  return example_fail(j, e, f, "Number of %s values != expected.  Values size: %zu but output shape: %s",
                      list_type_name(f->dtype), count, td_shape_str(&f->shape, shp, sizeof shp));
}

static td_code parse_one_feature(parse_job *j, feature *f, int64_t e) {
  fview v = {FK_NONE, NULL, NULL};
  if (f->present && !feature_view(f->found, &v))
    return example_fail(j, e, f, "Can't parse serialized Example.");
  td_dtype got = kind_dtype(v.kind);
  char shp[128];

  if (f->kind == CF_DENSE && !f->varlen) {
    if (got == TD_DT_INVALID) {
      if (td_tensor_num_elements(f->dflt) == 0) {
        if (j->single)
          return td_k_fail(j->ctx, TD_INVALID_ARGUMENT,
                           "Feature: %.*s (data type: %s) is required but could not be found.",
                           (int)f->key.n, f->key.p, td_dtype_name(f->dtype));
        slice name = example_name(j, e);
        return td_k_fail(j->ctx, TD_INVALID_ARGUMENT,
                         "Name: %.*s, Feature: %.*s (data type: %s) is required but could not be found.",
                         (int)name.n, name.p, (int)f->key.n, f->key.p, td_dtype_name(f->dtype));
      }
      return copy_dense_default(j, f, e);
    }
    if (got != f->dtype)
      return example_fail(j, e, f, "Data types don't match. Data type: %s but expected type: %s",
                          td_dtype_name(got), td_dtype_name(f->dtype));
    return parse_fixed_dense(j, f, e, &v);
  }

  if (got != TD_DT_INVALID && got != f->dtype) {
    if (f->kind == CF_DENSE)
      return example_fail(j, e, f, "Data types don't match. Data type: %s but expected type: %s",
                          td_dtype_name(got), td_dtype_name(f->dtype));
    return example_fail(j, e, f, "Data types don't match. Expected type: %s, Actual type: %s",
                        td_dtype_name(f->dtype), td_dtype_name(got));
  }
  size_t before = f->acc.n;
  if (!feature_values(&v, &f->acc)) return example_fail(j, e, f, "Can't parse serialized Example.");
  size_t count = f->acc.n - before;
  if (f->kind == CF_DENSE && (f->stride == 0 ? count != 0 : count % (size_t)f->stride != 0))
    return example_fail(j, e, f,
                        "Number of %s values is not a multiple of stride length. Saw %zu values "
                        "but output shape is: %s",
                        list_type_name(f->dtype), count, td_shape_str(&f->shape, shp, sizeof shp));
  f->ends[e] = (int64_t)f->acc.n;
  return TD_OK;
}

/* ---------------------------------------------------------------- setup and driver */

static td_code check_dense_config(parse_job *j, int d, feature *f,
                                  const Tensorflow__TensorShapeProto *sp) {
  td_kctx *c = j->ctx;
  td_status st;
  char a[128], b[128];
  if (td_shape_from_proto(sp, &f->shape, &st) != TD_OK) return td_k_fail(c, st.code, "%s", st.msg);
  int ok = f->shape.rank >= 0;
  for (int i = 1; ok && i < f->shape.rank; i++) ok = f->shape.dim[i] >= 0;
  if (!ok)
    return td_k_fail(c, TD_INVALID_ARGUMENT,
                     "dense_shapes[%d] has unknown rank or unknown inner dimensions: %s", d,
                     td_shape_str(&f->shape, a, sizeof a));
  if (f->shape.rank + 1 > TD_MAX_RANK)
    return td_k_fail(c, TD_UNIMPLEMENTED, "dense_shapes[%d] has rank %d; at most %d supported", d,
                     f->shape.rank, TD_MAX_RANK - 1);
  f->varlen = f->shape.rank > 0 && f->shape.dim[0] < 0;
  f->stride = 1;
  for (int i = f->varlen ? 1 : 0; i < f->shape.rank; i++) f->stride *= f->shape.dim[i];
  const td_tensor *dv = f->dflt;
  if (dv->dtype != f->dtype)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "dense_defaults[%d].dtype() == %s != dense_types_[%d] == %s",
                     d, td_dtype_name(dv->dtype), d, td_dtype_name(f->dtype));
  if (f->dtype != TD_DT_FLOAT && f->dtype != TD_DT_INT64 && f->dtype != TD_DT_STRING)
    return td_k_fail(c, TD_INVALID_ARGUMENT, "Unsupported dense type %s for feature %.*s",
                     td_dtype_name(f->dtype), (int)f->key.n, f->key.p);
  int64_t n = td_tensor_num_elements(dv);
  if (f->varlen) {
    if (n != 1)
      return td_k_fail(c, TD_INVALID_ARGUMENT,
                       "dense_shape[%d] is a variable length shape: %s, therefore def_value[%d] must "
                       "contain a single element (the padding element).  But its shape is: %s",
                       d, td_shape_str(&f->shape, a, sizeof a), d, td_shape_str(&dv->shape, b, sizeof b));
  } else if (n > 0) {
    int compatible = dv->shape.rank == f->shape.rank;
    for (int i = 0; compatible && i < f->shape.rank; i++) compatible = dv->shape.dim[i] == f->shape.dim[i];
    if (!compatible)
      return td_k_fail(c, TD_INVALID_ARGUMENT, "def_value[%d].shape() == %s is not compatible with dense_shapes_[%d]: %s",
                       d, td_shape_str(&dv->shape, a, sizeof a), d, td_shape_str(&f->shape, b, sizeof b));
  }
  return TD_OK;
}

static td_code check_sparse_type(parse_job *j, feature *f, const char *what) {
  if (f->dtype == TD_DT_FLOAT || f->dtype == TD_DT_INT64 || f->dtype == TD_DT_STRING) return TD_OK;
  return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Unsupported %s type %s for feature %.*s", what,
                   td_dtype_name(f->dtype), (int)f->key.n, f->key.p);
}

static td_code run_parse(parse_job *j) {
  td_code rc = TD_OK;
  index_keys(j);
  j->scratch = (sink){NULL, 0, 0, sizeof(slice), 1};
  for (int i = 0; i < j->nf && rc == TD_OK; i++) {
    feature *f = &j->f[i];
    if (f->kind == CF_DENSE && !f->varlen) {
      td_shape s;
      s.rank = 0;
      if (!j->single) s.dim[s.rank++] = j->batch;
      for (int k = 0; k < f->shape.rank; k++) s.dim[s.rank++] = f->shape.dim[k];
      rc = td_pe_alloc_out(j, f->out_values, f->dtype, &s, &f->out);
    } else {
      f->acc = (sink){NULL, 0, 0, f->dtype == TD_DT_STRING ? sizeof(slice) : td_dtype_size(f->dtype), 1};
      f->ends = td_xcalloc((size_t)(j->batch ? j->batch : 1), sizeof *f->ends);
    }
  }
  for (int64_t e = 0; e < j->batch && rc == TD_OK; e++) {
    td_string ex = example_at(j, e);
    for (int i = 0; i < j->nf; i++) j->f[i].present = 0;
    if (!walk_example(j, (slice){ex.data ? ex.data : "", ex.len})) {
      rc = td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Could not parse example input, value: '%.*s'",
                     (int)(ex.len > 512 ? 512 : ex.len), ex.data ? ex.data : "");
      break;
    }
    for (int i = 0; i < j->nf && rc == TD_OK; i++) rc = parse_one_feature(j, &j->f[i], e);
  }
  for (int i = 0; i < j->nf && rc == TD_OK; i++) {
    feature *f = &j->f[i];
    if (f->kind == CF_SPARSE) rc = td_pe_emit_sparse(j, f);
    else if (f->kind == CF_RAGGED) rc = td_pe_emit_ragged(j, f);
    else if (f->varlen) rc = td_pe_emit_varlen_dense(j, f);
  }
  for (int i = 0; i < j->nf; i++) {
    feature *f = &j->f[i];
    if (f->kind == CF_DENSE && !f->varlen && f->out.dtype == TD_DT_STRING) {
      if (rc == TD_OK) td_k_set_output(j->ctx, f->out_values, &f->out);
      td_tensor_release(&f->out);
    }
    free(f->acc.data);
    free(f->ends);
  }
  free(j->scratch.data);
  free(j->slots);
  return rc;
}

static slice string_scalar(const td_tensor *t, int64_t i) {
  td_string s = td_str(t)[i];
  return (slice){s.data ? s.data : "", s.len};
}

static td_code check_serialized_and_names(parse_job *j, int allow_scalar) {
  char a[128];
  const td_tensor *s = j->serialized, *n = j->names;
  if (s->dtype != TD_DT_STRING || n->dtype != TD_DT_STRING)
    return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "serialized and names must be string tensors");
  if (s->shape.rank != 1 && !(allow_scalar && s->shape.rank == 0))
    return td_k_fail(j->ctx, TD_INVALID_ARGUMENT,
                     allow_scalar ? "Expected serialized to be a scalar or vector, got shape: %s"
                                  : "Expected serialized to be a vector, got shape: %s",
                     td_shape_str(&s->shape, a, sizeof a));
  j->single = s->shape.rank == 0;
  j->batch = j->single ? 1 : s->shape.dim[0];
  if (td_tensor_num_elements(n) > 0) {
    if (!allow_scalar && n->shape.rank != 1)
      return td_k_fail(j->ctx, TD_INVALID_ARGUMENT, "Expected names to be a vector, got shape: %s",
                       td_shape_str(&n->shape, a, sizeof a));
    if (!td_shape_equal(&n->shape, &s->shape))
      return td_k_fail(j->ctx, TD_INVALID_ARGUMENT,
                       "Expected len(names) == len(serialized), but got: %" PRId64 " vs. %" PRId64,
                       td_tensor_num_elements(n), td_tensor_num_elements(s));
  }
  return TD_OK;
}

/* ParseExample: serialized, names, sparse_keys*Nsparse, dense_keys*Ndense, dense_defaults:Tdense
 *   → sparse_indices*Nsparse, sparse_values:sparse_types, sparse_shapes*Nsparse, dense_values:Tdense */
td_code td_k_parse_example(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const int *sparse_types, *dense_types;
  Tensorflow__TensorShapeProto *const *dense_shapes;
  size_t ns = td_attr_list_type(node, "sparse_types", &sparse_types);
  size_t nd = td_attr_list_type(node, "Tdense", &dense_types);
  size_t nshapes = td_attr_list_shape(node, "dense_shapes", &dense_shapes);
  if (nshapes != nd || td_k_num_inputs(ctx) != 2 + (int)(ns + 2 * nd) ||
      td_k_num_outputs(ctx) != (int)(3 * ns + nd))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT,
                     "ParseExample: inconsistent attrs (sparse_types %zu, Tdense %zu, dense_shapes %zu) "
                     "for %d inputs / %d outputs",
                     ns, nd, nshapes, td_k_num_inputs(ctx), td_k_num_outputs(ctx));
  parse_job j = {ctx, 0, 0, td_k_input(ctx, 0), td_k_input(ctx, 1), NULL, (int)(ns + nd), NULL, 0, {0}};
  TD_TRY(check_serialized_and_names(&j, 0));
  j.f = td_xcalloc(ns + nd + 1, sizeof *j.f);
  td_code rc = TD_OK;
  char a[128];
  for (size_t i = 0; i < ns + nd && rc == TD_OK; i++) {
    feature *f = &j.f[i];
    int dense = i >= ns;
    size_t k = dense ? i - ns : i;
    const td_tensor *key = td_k_input(ctx, (int)(2 + i));
    if (key->dtype != TD_DT_STRING || key->shape.rank != 0) {
      rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected %s_keys[%zu] to be a scalar, got shape: %s",
                     dense ? "dense" : "sparse", k, td_shape_str(&key->shape, a, sizeof a));
      break;
    }
    f->key = string_scalar(key, 0);
    if (dense) {
      f->kind = CF_DENSE;
      f->dtype = (td_dtype)dense_types[k];
      f->dflt = td_k_input(ctx, (int)(2 + ns + nd + k));
      f->out_values = (int)(3 * ns + k);
      rc = check_dense_config(&j, (int)k, f, dense_shapes[k]);
    } else {
      f->kind = CF_SPARSE;
      f->dtype = (td_dtype)sparse_types[k];
      f->out_indices = (int)k;
      f->out_values = (int)(ns + k);
      f->out_shapes = (int)(2 * ns + k);
      rc = check_sparse_type(&j, f, "sparse");
    }
  }
  if (rc == TD_OK) rc = run_parse(&j);
  free(j.f);
  return rc;
}

/* ParseExampleV2: serialized, names, sparse_keys[S], dense_keys[D], ragged_keys[R], dense_defaults:Tdense
 *   → sparse_indices*S, sparse_values, sparse_shapes*S, dense_values, ragged_values, ragged_row_splits */
td_code td_k_parse_example_v2(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const int *sparse_types, *dense_types, *ragged_value_types, *ragged_split_types;
  Tensorflow__TensorShapeProto *const *dense_shapes;
  size_t ns = td_attr_list_type(node, "sparse_types", &sparse_types);
  size_t nd = td_attr_list_type(node, "Tdense", &dense_types);
  size_t nr = td_attr_list_type(node, "ragged_value_types", &ragged_value_types);
  size_t nrs = td_attr_list_type(node, "ragged_split_types", &ragged_split_types);
  size_t nshapes = td_attr_list_shape(node, "dense_shapes", &dense_shapes);
  int64_t num_sparse = td_attr_int(node, "num_sparse", (int64_t)ns);
  if (nshapes != nd || nrs != nr || num_sparse != (int64_t)ns ||
      td_k_num_inputs(ctx) != 5 + (int)nd || td_k_num_outputs(ctx) != (int)(3 * ns + nd + 2 * nr))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT,
                     "ParseExampleV2: inconsistent attrs (num_sparse %" PRId64 ", sparse_types %zu, "
                     "Tdense %zu, dense_shapes %zu, ragged types %zu/%zu)",
                     num_sparse, ns, nd, nshapes, nr, nrs);
  parse_job j = {ctx, 0, 0, td_k_input(ctx, 0), td_k_input(ctx, 1), NULL, (int)(ns + nd + nr), NULL, 0, {0}};
  TD_TRY(check_serialized_and_names(&j, 1));
  static const char *const kKeyNames[3] = {"sparse_keys", "dense_keys", "ragged_keys"};
  const size_t counts[3] = {ns, nd, nr};
  char a[128];
  for (int g = 0; g < 3; g++) {
    const td_tensor *keys = td_k_input(ctx, 2 + g);
    if (keys->dtype != TD_DT_STRING || keys->shape.rank != 1 || keys->shape.dim[0] != (int64_t)counts[g])
      return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected %s to be a vector of %zu strings, got %s shape: %s",
                       kKeyNames[g], counts[g], td_dtype_name(keys->dtype), td_shape_str(&keys->shape, a, sizeof a));
  }
  j.f = td_xcalloc(ns + nd + nr + 1, sizeof *j.f);
  td_code rc = TD_OK;
  for (size_t k = 0; k < ns && rc == TD_OK; k++) {
    feature *f = &j.f[k];
    f->key = string_scalar(td_k_input(ctx, 2), (int64_t)k);
    f->kind = CF_SPARSE;
    f->dtype = (td_dtype)sparse_types[k];
    f->out_indices = (int)k;
    f->out_values = (int)(ns + k);
    f->out_shapes = (int)(2 * ns + k);
    rc = check_sparse_type(&j, f, "sparse");
  }
  for (size_t k = 0; k < nd && rc == TD_OK; k++) {
    feature *f = &j.f[ns + k];
    f->key = string_scalar(td_k_input(ctx, 3), (int64_t)k);
    f->kind = CF_DENSE;
    f->dtype = (td_dtype)dense_types[k];
    f->dflt = td_k_input(ctx, (int)(5 + k));
    f->out_values = (int)(3 * ns + k);
    rc = check_dense_config(&j, (int)k, f, dense_shapes[k]);
  }
  for (size_t k = 0; k < nr && rc == TD_OK; k++) {
    feature *f = &j.f[ns + nd + k];
    f->key = string_scalar(td_k_input(ctx, 4), (int64_t)k);
    f->kind = CF_RAGGED;
    f->dtype = (td_dtype)ragged_value_types[k];
    f->split_dtype = (td_dtype)ragged_split_types[k];
    f->out_values = (int)(3 * ns + nd + k);
    f->out_splits = (int)(3 * ns + nd + nr + k);
    rc = check_sparse_type(&j, f, "ragged value");
    if (rc == TD_OK && f->split_dtype != TD_DT_INT32 && f->split_dtype != TD_DT_INT64)
      rc = td_k_fail(ctx, TD_INVALID_ARGUMENT, "Unsupported ragged split type %s", td_dtype_name(f->split_dtype));
  }
  if (rc == TD_OK) rc = run_parse(&j);
  free(j.f);
  return rc;
}

/* The i-th entry of a list(string) attr, or an empty slice. */
static slice attr_list_string(const td_node *node, const char *name, size_t i, size_t *count) {
  const Tensorflow__AttrValue *a = td_node_attr(node, name);
  size_t n = a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST && a->list ? a->list->n_s : 0;
  if (count) *count = n;
  if (i >= n) return (slice){"", 0};
  return (slice){a->list->s[i].data ? (const char *)a->list->s[i].data : "", a->list->s[i].len};
}

/* ParseSingleExample: serialized (scalar), dense_defaults:Tdense; keys are attrs
 *   → sparse_indices*num_sparse, sparse_values, sparse_shapes*num_sparse, dense_values */
td_code td_k_parse_single_example(td_kctx *ctx) {
  const td_node *node = td_k_node(ctx);
  const int *sparse_types, *dense_types;
  Tensorflow__TensorShapeProto *const *dense_shapes;
  size_t ns = td_attr_list_type(node, "sparse_types", &sparse_types);
  size_t nd = td_attr_list_type(node, "Tdense", &dense_types);
  size_t nshapes = td_attr_list_shape(node, "dense_shapes", &dense_shapes), nskeys, ndkeys;
  attr_list_string(node, "sparse_keys", 0, &nskeys);
  attr_list_string(node, "dense_keys", 0, &ndkeys);
  if (nshapes != nd || nskeys != ns || ndkeys != nd || td_k_num_inputs(ctx) != 1 + (int)nd ||
      td_k_num_outputs(ctx) != (int)(3 * ns + nd))
    return td_k_fail(ctx, TD_INVALID_ARGUMENT,
                     "ParseSingleExample: inconsistent attrs (sparse_keys %zu, sparse_types %zu, dense_keys %zu, "
                     "Tdense %zu, dense_shapes %zu)",
                     nskeys, ns, ndkeys, nd, nshapes);
  const td_tensor *serialized = td_k_input(ctx, 0);
  char a[128];
  if (serialized->dtype != TD_DT_STRING || serialized->shape.rank != 0)
    return td_k_fail(ctx, TD_INVALID_ARGUMENT, "Expected serialized to be a scalar, got shape: %s",
                     td_shape_str(&serialized->shape, a, sizeof a));
  td_tensor no_names = td_tensor_borrow(TD_DT_STRING, &(td_shape){1, {0}}, NULL);
  parse_job j = {ctx, 1, 1, serialized, &no_names, NULL, (int)(ns + nd), NULL, 0, {0}};
  j.f = td_xcalloc(ns + nd + 1, sizeof *j.f);
  td_code rc = TD_OK;
  for (size_t k = 0; k < ns && rc == TD_OK; k++) {
    feature *f = &j.f[k];
    f->key = attr_list_string(node, "sparse_keys", k, NULL);
    f->kind = CF_SPARSE;
    f->dtype = (td_dtype)sparse_types[k];
    f->out_indices = (int)k;
    f->out_values = (int)(ns + k);
    f->out_shapes = (int)(2 * ns + k);
    rc = check_sparse_type(&j, f, "sparse");
  }
  for (size_t k = 0; k < nd && rc == TD_OK; k++) {
    feature *f = &j.f[ns + k];
    f->key = attr_list_string(node, "dense_keys", k, NULL);
    f->kind = CF_DENSE;
    f->dtype = (td_dtype)dense_types[k];
    f->dflt = td_k_input(ctx, (int)(1 + k));
    f->out_values = (int)(3 * ns + k);
    rc = check_dense_config(&j, (int)k, f, dense_shapes[k]);
  }
  if (rc == TD_OK) rc = run_parse(&j);
  free(j.f);
  return rc;
}
