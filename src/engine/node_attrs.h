/* node_attrs.h — builders that add one attr to a NodeDef in memory (graphs made in C: the TFLite
 * translator, kernel tests). Each call appends an AttrEntry owned by the NodeDef (freed with it by
 * tensorflow__node_def__free_unpacked); strings and arrays are copied. Not thread-safe per NodeDef. */
#ifndef TD_ENGINE_NODE_ATTRS_H
#define TD_ENGINE_NODE_ATTRS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/dtype.h"
#include "proto/tf.h"

/* Appends attr `name` (value unset) and returns its value to fill in. */
Tensorflow__AttrValue *td_node_attr_new(Tensorflow__NodeDef *nd, const char *name);
void td_node_attr_int(Tensorflow__NodeDef *nd, const char *name, int64_t v);
void td_node_attr_float(Tensorflow__NodeDef *nd, const char *name, float v);
void td_node_attr_bool(Tensorflow__NodeDef *nd, const char *name, int v);
void td_node_attr_type(Tensorflow__NodeDef *nd, const char *name, td_dtype v);
void td_node_attr_str(Tensorflow__NodeDef *nd, const char *name, const char *v);
void td_node_attr_ints(Tensorflow__NodeDef *nd, const char *name, const int64_t *v, size_t n);
void td_node_attr_floats(Tensorflow__NodeDef *nd, const char *name, const float *v, size_t n);
void td_node_attr_types(Tensorflow__NodeDef *nd, const char *name, const td_dtype *v, size_t n);
/* rank -1 = unknown rank. */
void td_node_attr_shape(Tensorflow__NodeDef *nd, const char *name, int rank, const int64_t *dims);
void td_node_attr_shapes(Tensorflow__NodeDef *nd, const char *name, size_t n, const int *ranks,
                         const int64_t *const *dims);

#endif
