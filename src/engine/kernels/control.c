/* control.c — placeholder kernels for TF1 control flow ops (Switch, Merge, Enter, Exit,
 * NextIteration, LoopCond). Callables holding them run on exec_dataflow.c, which implements
 * their real semantics (dead tensors, frames, iterations) without calling these; the kernels
 * only forward data so that a stray direct run behaves like the live path. */
#include "engine/kernel.h"

/* Enter / Exit / NextIteration / LoopCond: output 0 = input 0. */
td_code td_k_cf_forward(td_kctx *c) { return td_k_forward(c, 0, 0, NULL); }

/* Switch without dead tensors: both outputs carry the data. */
td_code td_k_cf_switch(td_kctx *c) {
  TD_TRY(td_k_forward(c, 0, 0, NULL));
  return td_k_forward(c, 0, 1, NULL);
}

/* Merge without dead tensors: the first input, value_index 0. */
td_code td_k_cf_merge(td_kctx *c) {
  if (td_k_num_inputs(c) < 1) return td_k_fail(c, TD_INVALID_ARGUMENT, "Merge needs at least one input");
  TD_TRY(td_k_forward(c, 0, 0, NULL));
  td_tensor *idx;
  td_shape scalar = td_shape_scalar();
  TD_TRY(td_k_alloc_output(c, 1, TD_DT_INT32, &scalar, &idx));
  td_i32(idx)[0] = 0;
  return TD_OK;
}
