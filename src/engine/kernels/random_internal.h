/* random_internal.h — what the random kernel files (random*.c) share: filling a tensor with one
 * of TF's distributions from a Philox generator (random_dist.c), and reading seeds / key-counter
 * inputs. Pure functions; no state. */
#ifndef TD_ENGINE_KERNELS_RANDOM_INTERNAL_H
#define TD_ENGINE_KERNELS_RANDOM_INTERNAL_H

#include "engine/kernel.h"
#include "engine/kernels/random_philox.h"

typedef enum td_rand_dist {
  TD_RD_UNIFORM,   /* [0, 1): float, double, half, bfloat16 */
  TD_RD_NORMAL,    /* standard normal, same dtypes */
  TD_RD_TRUNCATED, /* standard normal truncated to (-2, 2) */
  TD_RD_INT,       /* lo + bits % range: int32, int64, uint32, uint64 */
  TD_RD_FULL_INT,  /* raw bits: int32, int64, uint32, uint64 */
} td_rand_dist;

/* Fills all of out from g as TF's CPU kernels do when run on one shard (groups of outputs per
 * Philox block; a truncated-normal group of outputs uses its own 256-block stretch). Returns -1
 * if out's dtype does not fit the distribution. lo/range only for TD_RD_INT. */
int td_rand_fill(td_philox g, td_rand_dist d, td_tensor *out, int64_t lo, uint64_t range);
/* 1 if the fill supports dtype dt for distribution d. */
int td_rand_dtype_ok(td_rand_dist d, td_dtype dt);
/* Reads a shape input (1-D int32/int64, sizes >= 0) into *s (TF's MakeShape messages). */
td_code td_rand_shape_input(td_kctx *c, int i, td_shape *s) TD_MUST_CHECK;

#endif
