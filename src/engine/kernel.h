/* kernel.h — the contract between the executor and op kernels.
 *
 * Each kernel family lives in kernels/<family>.c with its rows in kernels/<family>.def:
 *
 *   TD_OP("TFName", "in:T,in2:Tidx,list:T*N", "out:T", "attr=default,...", flags, kernel_fn)
 *
 *  - inputs/outputs are TF's arg lists ("name:type"); the type is an attr name (T), a fixed
 *    dtype (DT_INT64, DT_STRING, ...), a list-type attr ("values:Tdense" where Tdense is
 *    list(type)), or "type*N" for N copies (N an int attr). The registry uses them to count
 *    outputs and to resolve FunctionDef edges "node:out_arg:i".
 *  - defaults: attr defaults applied when a NodeDef omits the attr (stripped_default_attrs).
 *    Syntax: name=value, values: true/false, integers, floats (with '.'), DT_* types, [a,b,...]
 *    int lists, anything else a string ('' or bare word). Attrs without a default are omitted.
 *  - flags: TD_OPF_* below.
 *  - kernel_fn: td_code fn(td_kctx *ctx). It reads inputs, allocates or forwards outputs, and
 *    returns TD_OK or fails through td_k_fail(). Kernels must not keep pointers to inputs or
 *    outputs after returning; per-node state goes through td_k_state().
 *
 * Thread affinity: a kernel runs on the thread that called td_callable_run; the same node may
 * run concurrently in different runs, so kernels are reentrant and per-node state is read-only
 * after creation (or guarded by the kernel).
 */
#ifndef TD_ENGINE_KERNEL_H
#define TD_ENGINE_KERNEL_H

#include <stdbool.h>

#include "engine/engine.h"
#include "engine/tensor.h"
#include "proto/tf.h"
#include "util/status.h"

enum td_op_flags {
  TD_OPF_NONE = 0,
  TD_OPF_STATEFUL = 1 << 0,   /* has side effects or reads mutable state: never constant-folded */
  TD_OPF_REF_INPUTS = 1 << 1, /* receives TF1 variable refs undereferenced (Assign, AssignAdd) */
  TD_OPF_READS_VAR = 1 << 2,  /* reads a variable (foldable once the session is frozen) */
  TD_OPF_WRITES_VAR = 1 << 3, /* writes a variable or table */
  TD_OPF_FUSABLE = 1 << 4,    /* float NHWC producer that can apply a fused bias + activation (td_k_fusion) */
  TD_OPF_FUNCTIONAL = 1 << 5, /* runs library functions named by its func attrs (td_k_function) */
};

typedef struct td_kctx td_kctx;
typedef struct td_node td_node;
typedef td_code (*td_kernel_fn)(td_kctx *ctx);

/* ---- inputs / outputs ---- */
int td_k_num_inputs(const td_kctx *c);
const td_tensor *td_k_input(const td_kctx *c, int i);
int td_k_num_outputs(const td_kctx *c);
/* 1 if input i is a callable constant (folded at build time): the same data on every run, so
 * kernels may cache derived forms of it (e.g. reordered weights). */
int td_k_input_is_const(const td_kctx *c, int i);
/* 1 if this step is the last reader of input i's value (a run slot, not fetched, not another
 * input of this step): a kernel that also holds the only references to its storage may then
 * change it in place and forward it (TensorList writes). 0 when unsure. */
int td_k_input_forwardable(const td_kctx *c, int i);
/* Allocates output i (zeroed; from the run's planned arena when possible). *out stays valid
 * until the kernel returns. */
td_code td_k_alloc_output(td_kctx *c, int i, td_dtype dt, const td_shape *shape,
                          td_tensor **out) TD_MUST_CHECK;
/* Like td_k_alloc_output but the contents are unspecified: for kernels that write every
 * element (saves clearing large planned buffers). */
td_code td_k_alloc_output_uninit(td_kctx *c, int i, td_dtype dt, const td_shape *shape,
                                 td_tensor **out) TD_MUST_CHECK;
/* Sets output i to t, taking a new reference (t may be an input: zero-copy forwarding, or a
 * tensor the kernel allocated itself with td_tensor_alloc, whose reference it then releases). */
void td_k_set_output(td_kctx *c, int i, const td_tensor *t);
/* Output `out` = input `in` viewed with `shape` (NULL = same shape); element counts must match. */
td_code td_k_forward(td_kctx *c, int in, int out, const td_shape *shape) TD_MUST_CHECK;
/* 1 if output i is needed by someone (kernels may skip computing unused outputs). */
int td_k_output_used(const td_kctx *c, int i);

/* ---- fused epilogues ---- */
/* For TD_OPF_FUSABLE ops, the callable may fold a following BiasAdd (constant bias) and/or
 * Relu / Relu6 into this step: the kernel must then produce act(op(x) + bias). NULL = none. */
typedef enum td_activation { TD_ACT_NONE, TD_ACT_RELU, TD_ACT_RELU6 } td_activation;
typedef struct td_fusion {
  const td_tensor *bias; /* 1-D, size = output channels; NULL = no bias */
  td_activation act;
} td_fusion;
const td_fusion *td_k_fusion(td_kctx *c);

/* ---- errors ---- */
/* Sets the run's status (the executor appends the node name, as TF does); returns code. */
td_code td_k_fail(td_kctx *c, td_code code, const char *fmt, ...) TD_PRINTF(3, 4);

/* ---- the node being run ---- */
const td_node *td_k_node(const td_kctx *c);
const char *td_node_name(const td_node *n);
const char *td_node_op(const td_node *n);
/* Attr from the NodeDef, else the op table default, else NULL. */
const Tensorflow__AttrValue *td_node_attr(const td_node *n, const char *name);
int64_t td_attr_int(const td_node *n, const char *name, int64_t dflt);
float td_attr_float(const td_node *n, const char *name, float dflt);
bool td_attr_bool(const td_node *n, const char *name, bool dflt);
td_dtype td_attr_type(const td_node *n, const char *name, td_dtype dflt);
/* String attr bytes (not NUL-terminated; *len set) or NULL if absent. */
const char *td_attr_str(const td_node *n, const char *name, size_t *len);
/* 1 if the string attr equals s. */
int td_attr_str_eq(const td_node *n, const char *name, const char *s);
/* List attrs: return the count (0 if absent) and point *v at the values. */
size_t td_attr_list_int(const td_node *n, const char *name, const int64_t **v);
size_t td_attr_list_float(const td_node *n, const char *name, const float **v);
size_t td_attr_list_type(const td_node *n, const char *name, const int **v); /* TF DataType values */
size_t td_attr_list_shape(const td_node *n, const char *name,
                          Tensorflow__TensorShapeProto *const **v);
const Tensorflow__TensorShapeProto *td_attr_shape(const td_node *n, const char *name);
const Tensorflow__TensorProto *td_attr_tensor(const td_node *n, const char *name);

/* ---- session services ---- */
/* Looks up the session resource `key`, creating it with create(arg, &r) if absent. The session
 * keeps one reference; the returned pointer is borrowed for the session's lifetime. Thread-safe. */
td_code td_k_resource(td_kctx *c, const char *key,
                      td_code (*create)(void *arg, td_resource **r, td_status *st), void *arg,
                      td_resource **out) TD_MUST_CHECK;
/* The checkpoint reader the session was created with (read may be NULL). */
const td_checkpoint_reader *td_k_checkpoint(const td_kctx *c);
/* Per-(callable, node) state. If absent, calls create(ctx, &state) once (serialized across
 * threads) and stores it; destroy(state) runs when the callable is freed. */
td_code td_k_state(td_kctx *c, td_code (*create)(td_kctx *c, void **state),
                   void (*destroy)(void *state), void **out) TD_MUST_CHECK;
/* Intra-op thread count for kernels that split work themselves (>= 1): the session's
 * intra_op_threads, or OpenMP's team size for this thread when that is 0 (library default);
 * 1 inside an OpenMP parallel region (a kernel run by one of a split loop's threads). */
int td_k_threads(const td_kctx *c);
/* A context for a helper thread of this kernel invocation (a split While loop's parts): the
 * same node, inputs, functions, deadline and options, with failures written to *st instead of
 * the run's status; it must not produce outputs. NULL when out of memory; free() it. */
td_kctx *td_k_fork(const td_kctx *c, td_status *st);

/* ---- functions (TD_OPF_FUNCTIONAL ops: While, If, Case) ---- */
/* The callable built (once, with the node's callable) for func attr `attr`, or for entry `index`
 * of a list(func) attr; NULL if none. Its feeds are the function's input args, its fetches the
 * function's outputs (td_callable_num_feeds / td_callable_num_fetches). */
td_callable *td_k_function(const td_kctx *c, const char *attr, int index);
/* Runs fn with this run's deadline; on failure the run's status holds fn's error (with the
 * inner node name) and the executor appends this node's. results receive owned tensors.
 * donated: NULL, or per arg 1 = the kernel owns that arg's only reference and drops it after the
 * call, so fn may consume it in place (see td_run_options.donated_feeds). */
td_code td_k_call(td_kctx *c, td_callable *fn, const td_tensor *args, const unsigned char *donated,
                  td_tensor *results) TD_MUST_CHECK;
/* td_k_call whose results may reuse the storage of recycle[i] (td_run_options.recycle_fetches:
 * owned tensors, possibly empty; whatever is not reused stays there for the caller to release). */
td_code td_k_call_recycle(td_kctx *c, td_callable *fn, const td_tensor *args, const unsigned char *donated,
                          td_tensor *recycle, td_tensor *results) TD_MUST_CHECK;
/* The run's deadline (CLOCK_MONOTONIC ns; 0 = none), and a DEADLINE_EXCEEDED failure if it
 * has passed (TD_OK otherwise): loops check it between iterations. */
int64_t td_k_deadline(const td_kctx *c);
td_code td_k_check_deadline(td_kctx *c) TD_MUST_CHECK;
/* The iteration guard for loops (the same as the TF1 dataflow executor's). */
int64_t td_k_max_iterations(const td_kctx *c);

/* ---- variables (variables.c; used by variable, restore and assign kernels) ---- */
typedef struct td_variable {
  td_resource base;
  /* private: guarded by the variable's lock; use the functions below */
  void *_lock;
  td_tensor _value;
  int _initialized;
} td_variable;
/* A new reference to the current value; FAILED_PRECONDITION if uninitialized (TF's message:
 * "Attempting to use uninitialized value <name>" / "Error while reading resource variable"). */
td_code td_variable_read(td_variable *v, td_tensor *out, td_status *st) TD_MUST_CHECK;
/* Replaces the value (takes a new reference to value). */
void td_variable_assign(td_variable *v, const td_tensor *value);
/* Creates (or finds) the session variable `key`. */
td_code td_k_variable(td_kctx *c, const char *key, td_variable **out) TD_MUST_CHECK;

#endif
