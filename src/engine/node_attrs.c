/* node_attrs.c — builders for NodeDef attrs (see node_attrs.h). */
#include "engine/node_attrs.h"

#include <string.h>

#include "util/mem.h"

Tensorflow__AttrValue *td_node_attr_new(Tensorflow__NodeDef *nd, const char *name) {
  Tensorflow__NodeDef__AttrEntry *e = td_xmalloc(sizeof *e);
  tensorflow__node_def__attr_entry__init(e);
  e->key = td_xstrdup(name);
  e->value = td_xmalloc(sizeof *e->value);
  tensorflow__attr_value__init(e->value);
  nd->attr = td_xrealloc(nd->attr, (nd->n_attr + 1) * sizeof *nd->attr);
  nd->attr[nd->n_attr++] = e;
  return e->value;
}

static Tensorflow__AttrValue__ListValue *new_list(Tensorflow__NodeDef *nd, const char *name) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
  a->list = td_xmalloc(sizeof *a->list);
  tensorflow__attr_value__list_value__init(a->list);
  return a->list;
}

void td_node_attr_int(Tensorflow__NodeDef *nd, const char *name, int64_t v) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_I;
  a->i = v;
}

void td_node_attr_float(Tensorflow__NodeDef *nd, const char *name, float v) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_F;
  a->f = v;
}

void td_node_attr_bool(Tensorflow__NodeDef *nd, const char *name, int v) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_B;
  a->b = v != 0;
}

void td_node_attr_type(Tensorflow__NodeDef *nd, const char *name, td_dtype v) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TYPE;
  a->type = (Tensorflow__DataType)v;
}

void td_node_attr_str(Tensorflow__NodeDef *nd, const char *name, const char *v) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_S;
  a->s.len = strlen(v);
  a->s.data = (uint8_t *)td_xstrdup(v);
}

void td_node_attr_ints(Tensorflow__NodeDef *nd, const char *name, const int64_t *v, size_t n) {
  Tensorflow__AttrValue__ListValue *l = new_list(nd, name);
  l->n_i = n;
  l->i = td_xcalloc(n + 1, sizeof *l->i);
  if (n) memcpy(l->i, v, n * sizeof *v);
}

void td_node_attr_floats(Tensorflow__NodeDef *nd, const char *name, const float *v, size_t n) {
  Tensorflow__AttrValue__ListValue *l = new_list(nd, name);
  l->n_f = n;
  l->f = td_xcalloc(n + 1, sizeof *l->f);
  if (n) memcpy(l->f, v, n * sizeof *v);
}

void td_node_attr_types(Tensorflow__NodeDef *nd, const char *name, const td_dtype *v, size_t n) {
  Tensorflow__AttrValue__ListValue *l = new_list(nd, name);
  l->n_type = n;
  l->type = td_xcalloc(n + 1, sizeof *l->type);
  for (size_t i = 0; i < n; i++) l->type[i] = (Tensorflow__DataType)v[i];
}

static Tensorflow__TensorShapeProto *new_shape(int rank, const int64_t *dims) {
  Tensorflow__TensorShapeProto *s = td_xmalloc(sizeof *s);
  tensorflow__tensor_shape_proto__init(s);
  if (rank < 0) {
    s->unknown_rank = 1;
    return s;
  }
  s->n_dim = (size_t)rank;
  s->dim = td_xcalloc((size_t)rank + 1, sizeof *s->dim);
  for (int i = 0; i < rank; i++) {
    s->dim[i] = td_xmalloc(sizeof *s->dim[i]);
    tensorflow__tensor_shape_proto__dim__init(s->dim[i]);
    s->dim[i]->size = dims[i];
  }
  return s;
}

void td_node_attr_shape(Tensorflow__NodeDef *nd, const char *name, int rank, const int64_t *dims) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_SHAPE;
  a->shape = new_shape(rank, dims);
}

void td_node_attr_shapes(Tensorflow__NodeDef *nd, const char *name, size_t n, const int *ranks,
                         const int64_t *const *dims) {
  Tensorflow__AttrValue__ListValue *l = new_list(nd, name);
  l->n_shape = n;
  l->shape = td_xcalloc(n + 1, sizeof *l->shape);
  for (size_t i = 0; i < n; i++) l->shape[i] = new_shape(ranks[i], dims[i]);
}
