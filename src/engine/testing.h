/* testing.h — build NodeDefs in C and run one op through the real engine (for kernel tests).
 *
 * td_test_node_new("MatMul") returns a heap NodeDef; add attrs with the td_test_attr_*
 * helpers; td_test_run_op() wraps it in a GraphDef with one Placeholder per input
 * (named "in0", "in1", ...; the node's inputs are set automatically), imports, prunes and
 * runs it, and returns every output (owned tensors) in outputs[0..nout). The NodeDef is freed
 * by td_test_node_free. Not for production paths. Thread affinity: test thread.
 */
#ifndef TD_ENGINE_TESTING_H
#define TD_ENGINE_TESTING_H

#include <stdint.h>

#include "engine/engine.h"
#include "engine/node_attrs.h"

Tensorflow__NodeDef *td_test_node_new(const char *op);
void td_test_node_free(Tensorflow__NodeDef *nd);
/* Attr builders: the engine's own (engine/node_attrs.h), under the tests' names. */
#define td_test_attr_int td_node_attr_int
#define td_test_attr_float td_node_attr_float
#define td_test_attr_bool td_node_attr_bool
#define td_test_attr_type td_node_attr_type
#define td_test_attr_str td_node_attr_str
#define td_test_attr_ints td_node_attr_ints
#define td_test_attr_floats td_node_attr_floats
#define td_test_attr_types td_node_attr_types
#define td_test_attr_shape td_node_attr_shape
#define td_test_attr_shapes td_node_attr_shapes
/* Attr holding a tensor (e.g. Const's "value"); the tensor is encoded as a TensorProto. */
void td_test_attr_tensor(Tensorflow__NodeDef *nd, const char *name, const td_tensor *t);

/* Runs nd on inputs; fetches outputs 0..nout-1. */
td_code td_test_run_op(const Tensorflow__NodeDef *nd, const td_tensor *inputs, int nin,
                       td_tensor *outputs, int nout, td_status *st);

/* The sub-callable built for function attr `attr` (entry `index` of a list) of the step that runs
 * node `node_name` in c (searching nested sub-callables too); NULL if none. For tests of While /
 * If / Case (e.g. the arena size of a loop body). */
td_callable *td_test_function_of(td_callable *c, const char *node_name, const char *attr, int index);

/* Convenience: an owned tensor from values (data copied; for STRING pass const char *[]). */
td_tensor td_test_tensor(td_dtype dt, int rank, const int64_t *dims, const void *values);

#endif
