/* ir.h — the engine's private intermediate representation (not for kernels or callers).
 *
 *   td_op_def  one row of the op table (kernels/<family>.def), with parsed arg lists/defaults.
 *   td_node    one executable node of the flat IR: function calls are already inlined, so a
 *              node is always a kernel invocation. Nodes are created on demand by graph.c and
 *              never move or die before their graph (stable pointers).
 *   td_edge    a data edge: (producing node id, flat output index).
 *
 * Thread affinity: graph mutation happens under the owning session's lock; nodes are
 * read-only once created, so kernels may read them from any thread.
 */
#ifndef TD_ENGINE_IR_H
#define TD_ENGINE_IR_H

#include "engine/kernel.h"
#include "util/strmap.h"

typedef enum td_arg_kind {
  TD_ARG_FIXED,  /* "name:DT_INT64" */
  TD_ARG_ATTR,   /* "name:T"  (type attr: 1 tensor, or list(type) attr: one per entry) */
  TD_ARG_NCOPY,  /* "name:T*N" (N tensors) */
} td_arg_kind;

typedef struct td_arg {
  char *name;
  td_arg_kind kind;
  td_dtype type;     /* TD_ARG_FIXED */
  char *type_attr;   /* TD_ARG_ATTR / TD_ARG_NCOPY */
  char *number_attr; /* TD_ARG_NCOPY */
} td_arg;

typedef struct td_op_def {
  const char *name;
  int flags;
  td_kernel_fn fn;
  int n_in, n_out, n_defaults;
  td_arg *in, *out;
  char **default_names;
  Tensorflow__AttrValue **default_values;
} td_op_def;

/* The op table (ops.c). Lookups are thread-safe. */
const td_op_def *td_op_find(const char *name);

typedef struct td_edge {
  int node;
  int index;
} td_edge;

/* A naming scope: the top graph, or one inlined function call. */
typedef struct td_scope td_scope;
struct td_scope {
  const td_scope *parent;
  char *prefix;                         /* "" or "<call node full name>/" */
  const Tensorflow__FunctionDef *fn;    /* NULL = top graph */
  const Tensorflow__NodeDef *call_site; /* binds attr placeholders; NULL at top */
  td_strmap defs;                       /* node name → const NodeDef* */
  td_strmap args;                       /* fn input arg name → arg index + 1 */
  td_edge *arg_edges;                   /* bound call inputs, in parent terms */
  int nargs;
  td_strmap calls;                      /* call node name → td_scope* (instantiated) */
  Tensorflow__NodeDef *own_call_site;   /* instances: a synthetic call site holding the
                                           NameAttrList's attrs (entries borrowed), or NULL */
};

struct td_node {
  int id;
  char *name;                   /* unique in the IR, e.g. "StatefulPartitionedCall/Mul" */
  const char *op;               /* borrowed */
  const td_op_def *def;
  const Tensorflow__NodeDef *nd; /* borrowed; NULL for synthetic nodes */
  const td_scope *scope;        /* for attr placeholders inside functions */
  int ninputs, nctrl, noutputs;
  td_edge *inputs;
  int *ctrl;
};

/* Number of outputs of the arg list for this node; -1 with st set on failure. */
int td_op_count_args(const td_node *n, const td_arg *args, int nargs, td_status *st);
/* Flat index of output `arg`[idx]; -1 if no such arg. */
int td_op_output_index(const td_node *n, const char *arg, int idx);

/* ---- graph (graph.c) ---- */
struct td_graph {
  const Tensorflow__GraphDef *gd;
  td_strmap functions; /* name → const FunctionDef* */
  td_scope *top;
  td_scope **scopes;
  size_t nscopes, scopes_cap;
  td_node **nodes;
  size_t nnodes, nodes_cap;
  td_strmap by_name; /* full name → node id + 1 (as uintptr) */
  td_strmap instances; /* prefix → td_scope* of td_graph_instantiate */
};

/* Resolves a top-level tensor name "node[:i]" into an edge (importing nodes as needed). */
td_code td_graph_resolve_tensor(td_graph *g, const char *name, td_edge *out, td_status *st);
/* Resolves a top-level node name used as a target (a call node yields a synthetic NoOp that
 * waits for everything the function does). */
td_code td_graph_resolve_target(td_graph *g, const char *name, int *node_id, td_status *st);

/* A library function instantiated as a root scope (for While/If/Case bodies): each input arg
 * is a synthetic Placeholder node "<prefix><arg name>" (to be fed), rets are edges inside it. */
typedef struct td_function_inst {
  int nargs, nrets;
  td_edge *args;        /* heap (caller frees): arg i's placeholder output */
  td_dtype *arg_dtypes; /* heap (caller frees): declared dtype, INVALID if unresolved */
  td_edge *rets;        /* heap (caller frees): output arg k's value */
  int done;             /* a NoOp waiting for the rets, control_ret and state-writing nodes */
} td_function_inst;
/* Instantiates fn_name under `prefix` (memoized: the same prefix reuses the same nodes). attrs
 * bind the function's attr placeholders (then owner's scope, if any). */
td_code td_graph_instantiate(td_graph *g, const char *fn_name, const Tensorflow__NameAttrList *attrs,
                             const td_node *owner, const char *prefix, td_function_inst *out, td_status *st);

#endif
