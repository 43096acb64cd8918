/* attrs.c — node attribute access for kernels: NodeDef attr, else the caller's binding of a
 * function attr placeholder, else the op table default. Read-only; thread-safe. */
#include <string.h>

#include "engine/ir.h"

const char *td_node_name(const td_node *n) { return n->name; }
const char *td_node_op(const td_node *n) { return n->op; }

static const Tensorflow__AttrValue *find_attr(const Tensorflow__NodeDef *nd, const char *name) {
  if (!nd) return NULL;
  for (size_t i = 0; i < nd->n_attr; i++)
    if (!strcmp(nd->attr[i]->key, name)) return nd->attr[i]->value;
  return NULL;
}

/* Follows placeholders up through the call sites that instantiated the node's scope. */
static const Tensorflow__AttrValue *bind(const Tensorflow__AttrValue *v, const td_scope *s) {
  while (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER && s) {
    v = find_attr(s->call_site, v->placeholder);
    s = s->parent;
  }
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_PLACEHOLDER ? NULL : v;
}

const Tensorflow__AttrValue *td_node_attr(const td_node *n, const char *name) {
  const Tensorflow__AttrValue *v = bind(find_attr(n->nd, name), n->scope);
  if (v) return v;
  for (int i = 0; i < n->def->n_defaults; i++)
    if (!strcmp(n->def->default_names[i], name)) return n->def->default_values[i];
  return NULL;
}

int64_t td_attr_int(const td_node *n, const char *name, int64_t dflt) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_I ? v->i : dflt;
}

float td_attr_float(const td_node *n, const char *name, float dflt) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_F) return v->f;
  if (v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_I) return (float)v->i;
  return dflt;
}

bool td_attr_bool(const td_node *n, const char *name, bool dflt) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_B ? v->b != 0 : dflt;
}

td_dtype td_attr_type(const td_node *n, const char *name, td_dtype dflt) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE ? (td_dtype)v->type : dflt;
}

const char *td_attr_str(const td_node *n, const char *name, size_t *len) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  if (!v || v->value_case != TENSORFLOW__ATTR_VALUE__VALUE_S) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = v->s.len;
  return v->s.data ? (const char *)v->s.data : "";
}

int td_attr_str_eq(const td_node *n, const char *name, const char *s) {
  size_t len;
  const char *v = td_attr_str(n, name, &len);
  return v && len == strlen(s) && !memcmp(v, s, len);
}

static const Tensorflow__AttrValue__ListValue *list_attr(const td_node *n, const char *name) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_LIST ? v->list : NULL;
}

size_t td_attr_list_int(const td_node *n, const char *name, const int64_t **v) {
  const Tensorflow__AttrValue__ListValue *l = list_attr(n, name);
  *v = l ? l->i : NULL;
  return l ? l->n_i : 0;
}

size_t td_attr_list_float(const td_node *n, const char *name, const float **v) {
  const Tensorflow__AttrValue__ListValue *l = list_attr(n, name);
  *v = l ? l->f : NULL;
  return l ? l->n_f : 0;
}

size_t td_attr_list_type(const td_node *n, const char *name, const int **v) {
  const Tensorflow__AttrValue__ListValue *l = list_attr(n, name);
  *v = l ? (const int *)l->type : NULL;
  return l ? l->n_type : 0;
}

size_t td_attr_list_shape(const td_node *n, const char *name, Tensorflow__TensorShapeProto *const **v) {
  const Tensorflow__AttrValue__ListValue *l = list_attr(n, name);
  *v = l ? l->shape : NULL;
  return l ? l->n_shape : 0;
}

const Tensorflow__TensorShapeProto *td_attr_shape(const td_node *n, const char *name) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_SHAPE ? v->shape : NULL;
}

const Tensorflow__TensorProto *td_attr_tensor(const td_node *n, const char *name) {
  const Tensorflow__AttrValue *v = td_node_attr(n, name);
  return v && v->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TENSOR ? v->tensor : NULL;
}
