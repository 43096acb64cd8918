/* opt_nn_fuse.h — callable passes that fuse neural-network steps (opt_nn_fuse.c): Conv2D →
 * MaxPool as one step convolving and pooling a cache-sized chunk of images at a time. Called by
 * callable.c after plan_steps, before liveness, under the session lock.
 */
#ifndef TD_ENGINE_OPT_NN_FUSE_H
#define TD_ENGINE_OPT_NN_FUSE_H

#include "engine/session.h"

/* 0 turns the pass off for callables built from now on (tests compare fused and unfused). */
extern int td_nn_fuse_enabled;
void td_opt_nn_fuse(td_callable *c);

#endif
