/* testing.c — helpers for kernel unit tests: build NodeDefs in C and run one op through the
 * real import → prune → fold → execute path. Not used on production paths. */
#include "engine/testing.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "engine/session.h"

Tensorflow__NodeDef *td_test_node_new(const char *op) {
  Tensorflow__NodeDef *nd = td_xmalloc(sizeof *nd);
  tensorflow__node_def__init(nd);
  nd->name = td_xstrdup("op");
  nd->op = td_xstrdup(op);
  return nd;
}

void td_test_node_free(Tensorflow__NodeDef *nd) { tensorflow__node_def__free_unpacked(nd, NULL); }

void td_test_attr_tensor(Tensorflow__NodeDef *nd, const char *name, const td_tensor *t) {
  Tensorflow__AttrValue *a = td_node_attr_new(nd, name);
  a->value_case = TENSORFLOW__ATTR_VALUE__VALUE_TENSOR;
  if (td_tensor_to_proto(t, t->dtype != TD_DT_STRING, &a->tensor, NULL) != TD_OK) abort();
}

td_code td_test_run_op(const Tensorflow__NodeDef *nd, const td_tensor *inputs, int nin, td_tensor *outputs,
                       int nout, td_status *st) {
  /* Placeholders in0..in{n-1}, then a shallow copy of nd wired to them. */
  Tensorflow__NodeDef **nodes = td_xcalloc((size_t)nin + 2, sizeof *nodes);
  char **names = td_xcalloc((size_t)nin + 1, sizeof *names);
  for (int i = 0; i < nin; i++) {
    names[i] = td_xasprintf("in%d", i);
    nodes[i] = td_test_node_new("Placeholder");
    free(nodes[i]->name);
    nodes[i]->name = td_xstrdup(names[i]);
    td_test_attr_type(nodes[i], "dtype", inputs[i].dtype);
  }
  Tensorflow__NodeDef op = *nd;
  op.n_input = (size_t)nin;
  op.input = names;
  nodes[nin] = &op;
  Tensorflow__GraphDef gd;
  tensorflow__graph_def__init(&gd);
  gd.n_node = (size_t)nin + 1;
  gd.node = nodes;
  char **feeds = td_xcalloc((size_t)nin + 1, sizeof *feeds);
  char **fetches = td_xcalloc((size_t)nout + 1, sizeof *fetches);
  for (int i = 0; i < nin; i++) feeds[i] = td_xasprintf("in%d:0", i);
  for (int i = 0; i < nout; i++) fetches[i] = td_xasprintf("%s:%d", nd->name, i);
  td_graph *g;
  td_session *s = NULL;
  td_code code = td_graph_import(&gd, &g, st);
  if (code == TD_OK) code = td_session_new(g, NULL, &s, st);
  if (code == TD_OK)
    code = td_session_run(s, (const char *const *)feeds, inputs, nin, (const char *const *)fetches, outputs, nout,
                          NULL, 0, st);
  td_session_free(s);
  for (int i = 0; i < nin; i++) {
    td_test_node_free(nodes[i]);
    free(names[i]);
    free(feeds[i]);
  }
  for (int i = 0; i < nout; i++) free(fetches[i]);
  free(feeds);
  free(fetches);
  free(names);
  free(nodes);
  return code;
}

td_tensor td_test_tensor(td_dtype dt, int rank, const int64_t *dims, const void *values) {
  td_tensor t;
  td_shape s = td_shape_make(rank, dims);
  if (td_tensor_alloc(&t, dt, &s, NULL) != TD_OK) abort();
  int64_t n = td_tensor_num_elements(&t);
  if (dt == TD_DT_STRING) {
    const char *const *v = values;
    for (int64_t i = 0; i < n; i++) td_tensor_set_string(&t, i, v[i], strlen(v[i]));
  } else if (values && n > 0) {
    memcpy(t.data, values, td_tensor_nbytes(&t));
  }
  return t;
}

td_callable *td_test_function_of(td_callable *c, const char *node_name, const char *attr, int index) {
  for (int k = 0; k < c->nsteps; k++) {
    const td_step *sp = &c->steps[k];
    for (int f = 0; f < sp->nfuncs; f++) {
      if (!strcmp(sp->node->name, node_name) && !strcmp(sp->funcs[f].attr, attr) && sp->funcs[f].index == index)
        return sp->funcs[f].c;
      td_callable *inner = td_test_function_of(sp->funcs[f].c, node_name, attr, index);
      if (inner) return inner;
    }
  }
  return NULL;
}
