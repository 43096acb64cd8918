/* graph_build.h — building GraphDefs with a function library in C, for the engine's unit tests
 * (control flow, functional ops, RNN loops and their rewrites), and running them.
 *
 * A gbuild owns its nodes and functions (gb_free releases them); gb_node returns a heap NodeDef
 * to hand to gb_add (the graph) or gb_fn_node (a function body), which take ownership.
 * gb_session / gb_callable fail the calling cmocka test on an engine error, printing the status.
 * Header-only (static inline): include after <cmocka.h>. Thread affinity: the test thread.
 */
#ifndef TD_TESTS_UNIT_GRAPH_BUILD_H
#define TD_TESTS_UNIT_GRAPH_BUILD_H

#include <stdarg.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "engine/testing.h"
#include "util/mem.h"

typedef struct gbuild {
  Tensorflow__GraphDef gd;
  Tensorflow__FunctionDefLibrary lib;
} gbuild;

static inline void gb_init(gbuild *b) {
  tensorflow__graph_def__init(&b->gd);
  tensorflow__function_def_library__init(&b->lib);
  b->gd.library = &b->lib;
}

static inline void gb_free(gbuild *b) {
  for (size_t i = 0; i < b->gd.n_node; i++) tensorflow__node_def__free_unpacked(b->gd.node[i], NULL);
  free(b->gd.node);
  for (size_t i = 0; i < b->lib.n_function; i++) tensorflow__function_def__free_unpacked(b->lib.function[i], NULL);
  free(b->lib.function);
}

/* NodeDef `name` = op(inputs...), the input list ending with NULL. */
static inline Tensorflow__NodeDef *gb_node(const char *name, const char *op, ...) {
  Tensorflow__NodeDef *nd = td_test_node_new(op);
  free(nd->name);
  nd->name = td_xstrdup(name);
  va_list ap;
  va_start(ap, op);
  for (const char *in; (in = va_arg(ap, const char *));) {
    nd->input = td_xrealloc(nd->input, (nd->n_input + 1) * sizeof *nd->input);
    nd->input[nd->n_input++] = td_xstrdup(in);
  }
  va_end(ap);
  return nd;
}

static inline Tensorflow__NodeDef *gb_add(gbuild *b, Tensorflow__NodeDef *nd) {
  b->gd.node = td_xrealloc(b->gd.node, (b->gd.n_node + 1) * sizeof *b->gd.node);
  b->gd.node[b->gd.n_node++] = nd;
  return nd;
}

static inline Tensorflow__NodeDef *gb_const(const char *name, td_dtype dt, int rank, const int64_t *dims,
                                            const void *v) {
  Tensorflow__NodeDef *nd = gb_node(name, "Const", NULL);
  td_tensor t = td_test_tensor(dt, rank, dims, v);
  td_test_attr_type(nd, "dtype", dt);
  td_test_attr_tensor(nd, "value", &t);
  td_tensor_release(&t);
  return nd;
}

/* Sets attr T. */
static inline Tensorflow__NodeDef *gb_typed(Tensorflow__NodeDef *nd, td_dtype T) {
  td_test_attr_type(nd, "T", T);
  return nd;
}

static inline Tensorflow__NameAttrList *gb_name_attr_list(const char *fname) {
  Tensorflow__NameAttrList *f = td_xmalloc(sizeof *f);
  tensorflow__name_attr_list__init(f);
  f->name = td_xstrdup(fname);
  return f;
}

/* Attr `key` naming function fname (While's cond/body, If's branches, a call's f). */
static inline void gb_attr_func(Tensorflow__NodeDef *nd, const char *key, const char *fname) {
  Tensorflow__AttrValue *v = td_node_attr_new(nd, key);
  v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_FUNC;
  v->func = gb_name_attr_list(fname);
}

/* Attr `key` listing functions (Case's branches). */
static inline void gb_attr_funcs(Tensorflow__NodeDef *nd, const char *key, const char *const *names, size_t n) {
  Tensorflow__AttrValue *v = td_node_attr_new(nd, key);
  v->value_case = TENSORFLOW__ATTR_VALUE__VALUE_LIST;
  v->list = td_xmalloc(sizeof *v->list);
  tensorflow__attr_value__list_value__init(v->list);
  v->list->func = td_xcalloc(n + 1, sizeof *v->list->func);
  for (size_t i = 0; i < n; i++) v->list->func[v->list->n_func++] = gb_name_attr_list(names[i]);
}

static inline Tensorflow__OpDef__ArgDef *gb_argdef(const char *name, td_dtype t) {
  Tensorflow__OpDef__ArgDef *a = td_xmalloc(sizeof *a);
  tensorflow__op_def__arg_def__init(a);
  a->name = td_xstrdup(name);
  a->type = (Tensorflow__DataType)t;
  return a;
}

/* A new function `name` in b's library; add its signature with gb_fn_in / gb_fn_out. */
static inline Tensorflow__FunctionDef *gb_fn_new(gbuild *b, const char *name) {
  Tensorflow__FunctionDef *f = td_xmalloc(sizeof *f);
  tensorflow__function_def__init(f);
  f->signature = td_xmalloc(sizeof *f->signature);
  tensorflow__op_def__init(f->signature);
  f->signature->name = td_xstrdup(name);
  b->lib.function = td_xrealloc(b->lib.function, (b->lib.n_function + 1) * sizeof *b->lib.function);
  b->lib.function[b->lib.n_function++] = f;
  return f;
}

static inline void gb_fn_in(Tensorflow__FunctionDef *f, const char *name, td_dtype t) {
  Tensorflow__OpDef *s = f->signature;
  s->input_arg = td_xrealloc(s->input_arg, (s->n_input_arg + 1) * sizeof *s->input_arg);
  s->input_arg[s->n_input_arg++] = gb_argdef(name, t);
}

/* Output arg `name` returning `tensor` (a body's "node:output:index" name). */
static inline void gb_fn_out(Tensorflow__FunctionDef *f, const char *name, td_dtype t, const char *tensor) {
  Tensorflow__OpDef *s = f->signature;
  s->output_arg = td_xrealloc(s->output_arg, (s->n_output_arg + 1) * sizeof *s->output_arg);
  s->output_arg[s->n_output_arg++] = gb_argdef(name, t);
  Tensorflow__FunctionDef__RetEntry *r = td_xmalloc(sizeof *r);
  tensorflow__function_def__ret_entry__init(r);
  r->key = td_xstrdup(name);
  r->value = td_xstrdup(tensor);
  f->ret = td_xrealloc(f->ret, (f->n_ret + 1) * sizeof *f->ret);
  f->ret[f->n_ret++] = r;
}

static inline Tensorflow__NodeDef *gb_fn_node(Tensorflow__FunctionDef *f, Tensorflow__NodeDef *nd) {
  f->node_def = td_xrealloc(f->node_def, (f->n_node_def + 1) * sizeof *f->node_def);
  f->node_def[f->n_node_def++] = nd;
  return nd;
}

/* Imports b's graph into a new session (opt may be NULL). */
static inline td_session *gb_session(gbuild *b, const td_session_options *opt) {
  td_graph *g;
  td_session *s;
  td_status st = {0};
  if (td_graph_import(&b->gd, &g, &st) != TD_OK) fail_msg("import: %s", st.msg);
  if (td_session_new(g, opt, &s, &st) != TD_OK) fail_msg("session: %s", st.msg);
  return s;
}

static inline td_callable *gb_callable(td_session *s, const char *const *feeds, int nfeeds,
                                       const char *const *fetches, int nfetches) {
  td_callable *c = NULL;
  td_status st = {0};
  if (td_session_make_callable(s, feeds, nfeeds, fetches, nfetches, NULL, 0, &c, &st) != TD_OK)
    fail_msg("make_callable: %s", st.msg);
  return c;
}

#endif
