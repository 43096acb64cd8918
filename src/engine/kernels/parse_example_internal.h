/* parse_example_internal.h — what the ParseExample kernels' files share: the parse job and
 * its feature configuration (parse_example.c builds and fills them), and the outputs of the
 * accumulated features (parse_example_emit.c). Thread affinity: one job per kernel run. */
#ifndef TD_ENGINE_KERNELS_PARSE_EXAMPLE_INTERNAL_H
#define TD_ENGINE_KERNELS_PARSE_EXAMPLE_INTERNAL_H

#include "engine/kernel.h"
#include "engine/kernels/example_wire.h"

typedef enum { CF_SPARSE, CF_DENSE, CF_RAGGED } config_kind;

typedef struct feature {
  slice key;
  config_kind kind;
  td_dtype dtype;
  int next_same_key; /* chain of features sharing a key, -1 = end */
  /* dense */
  int varlen;
  td_shape shape;     /* dense_shapes[i] as given (dim 0 may be -1) */
  int64_t stride;     /* elements per example (fixed) or per row (variable length) */
  const td_tensor *dflt;
  td_tensor out;      /* fixed dense output being filled */
  /* ragged */
  td_dtype split_dtype;
  /* output slots */
  int out_indices, out_values, out_shapes, out_splits;
  /* accumulated values (sparse, ragged, variable-length dense) and per-example end offsets */
  sink acc;
  int64_t *ends;
  /* this example */
  int present;
  slice found;
} feature;

typedef struct parse_job {
  td_kctx *ctx;
  int single;          /* scalar serialized input (V2): no batch dim */
  int64_t batch;
  const td_tensor *serialized, *names;
  feature *f;
  int nf;
  int *slots; /* key hash table: feature index or -1 */
  size_t nslots;
  sink scratch; /* fixed dense string values of one example */
} parse_job;

/* Output idx of the kernel as a new tensor (dt, shape) in *out (a view of the output). */
td_code td_pe_alloc_out(parse_job *j, int idx, td_dtype dt, const td_shape *shape, td_tensor *out);
/* The outputs of a sparse / ragged / variable-length dense feature from its accumulated values. */
td_code td_pe_emit_sparse(parse_job *j, feature *f);
td_code td_pe_emit_ragged(parse_job *j, feature *f);
td_code td_pe_emit_varlen_dense(parse_job *j, feature *f);

#endif
