/* session.h — private to the engine: the session and callable structures shared by
 * session.c (state, resources), callable.c (planning), kctx.c (the kernel context),
 * exec.c / exec_dataflow.c (running) and memplan.c (memory plans).
 *
 * Thread affinity: `mu` serializes graph import and callable construction; `res_mu` guards
 * the resource map; a callable is immutable after construction except for per-step kernel
 * state (guarded by the step's `state_mu`) and its memory plans (guarded by `plan_mu`).
 */
#ifndef TD_ENGINE_SESSION_H
#define TD_ENGINE_SESSION_H

#include <pthread.h>

#include "engine/ir.h"

struct td_session {
  td_graph *g;
  td_session_options opt;
  pthread_mutex_t mu;
  pthread_mutex_t res_mu;
  td_strmap resources; /* key → td_resource* (one reference held) */
  int frozen;
};

enum { SRC_SLOT, SRC_FEED, SRC_CONST };
typedef struct td_src {
  int kind;
  int idx;
} td_src;

/* A sub-callable of a functional step: function attr `attr` (entry `index` of a list). */
typedef struct td_step_fn {
  const char *attr; /* borrowed from the NodeDef */
  int index;
  td_callable *c;   /* owned */
} td_step_fn;

typedef struct td_step {
  const td_node *node;
  int nin;
  td_src *in;
  int out_base, nout;
  unsigned char *out_used;
  int fused_bias;   /* constant index of a fused BiasAdd's bias, or -1 */
  int fused_act;    /* td_activation of a fused Relu / Relu6 */
  td_kernel_fn fn;  /* NULL: node->def->fn; else a fused kernel (opt_rnn_fuse.c) */
  int *release; /* slots dead after this step */
  int nrelease;
  td_step_fn *funcs; /* TD_OPF_FUNCTIONAL ops: sub-callables of the function attrs */
  int nfuncs;
  pthread_mutex_t state_mu;
  int state_ready;
  void *state;
  void (*state_destroy)(void *);
} td_step;

typedef struct td_mem_plan td_mem_plan;
typedef struct td_run_mem td_run_mem;

struct td_callable {
  td_session *s;
  int nfeeds;
  td_edge *feeds;
  td_dtype *feed_dtypes; /* per feed: the placeholder's dtype, INVALID = unchecked */
  int nsteps;
  td_step *steps;
  int nslots;
  int nconsts;
  td_tensor *consts;
  int nfetch;
  td_src *fetch;
  int *slot_fetched; /* per slot: 1 if some fetch reads it */
  int *slot_last_use; /* per slot: last step reading it (nsteps = fetched, -1 = never) */
  int *feed_last_use; /* per feed: last step reading it (-1 = none), nsteps if some fetch reads it */
  pthread_mutex_t plan_mu;
  td_mem_plan *plans; /* linked list, one per feed-shape key */
  int dataflow;                /* 1: TF1 control flow; runs on exec_dataflow.c (no folding/plans) */
  struct td_dataflow *df;      /* its immutable edge tables */
};

/* ---- TF1 control flow (exec_dataflow.c) ---- */
/* 1 if op is Switch/Merge/Enter/Exit/NextIteration/LoopCond. */
int td_is_control_flow_op(const char *op);
/* Builds the dataflow edge tables of a callable whose steps are every pruned node. */
td_code td_dataflow_prepare(td_callable *c, td_status *st);
void td_dataflow_free(struct td_dataflow *df);
td_code td_exec_dataflow(td_callable *c, const td_tensor *feeds, td_tensor *fetched, const td_run_options *opt,
                         td_status *st);
/* Iteration guard per loop frame (default 10,000,000); tests may lower it. */
extern int64_t td_dataflow_max_iterations;

/* ---- the kernel context (kctx.c) ---- */
/* Runs one step's kernel on `in`: dereferences TF1 refs (unless TD_OPF_REF_INPUTS), calls it,
 * checks that used outputs were produced, appends "[[{{node NAME}}]]" to errors. c/mem are the
 * callable and run memory for planned allocation (NULL: heap outputs). */
td_code td_kernel_run(td_session *s, td_step *sp, const td_tensor *const *in, td_tensor *out, td_callable *c,
                      td_run_mem *mem, const td_run_options *opt, td_status *st);
/* td_kernel_run without a callable, for constant folding: outputs receive owned tensors. */
td_code td_exec_fold(td_session *s, td_step *step, const td_tensor *const *inputs, td_tensor *outputs,
                     td_status *st);
/* Dereferences a TF1 variable reference into *out (a new reference to its value). */
td_code td_deref(const td_tensor *ref, td_tensor *out, td_status *st);
void td_step_release_state(td_step *step);
/* Removes the steps k with dead[k] from c->steps (their input lists freed, the rest moved down
 * in order); for the fusion passes (opt_rnn_fuse.c, opt_nn_fuse.c), before any step has state. */
void td_steps_drop(td_callable *c, const unsigned char *dead);
/* Finds or creates the session resource `key` (session.c). */
td_code td_session_resource(td_session *s, const char *key,
                            td_code (*create)(void *arg, td_resource **r, td_status *st), void *arg,
                            td_resource **out, td_status *st);
/* ---- memory plans (memplan.c) ---- */
struct td_run_mem {
  td_mem_plan *plan; /* plan in use, or NULL */
  char *arena;
  int recording;     /* 1: this run records sizes for a new plan */
  size_t *size;      /* recording: bytes per slot */
  int *root;         /* per slot: the slot whose planned allocation backs it, or -1 */
  uint64_t key;
  int root_small[64]; /* root's storage for small callables (no heap per run, e.g. loop bodies) */
};
void td_mem_begin(td_callable *c, const td_tensor *feeds, td_run_mem *m);
/* Arena storage for a slot's new output, or NULL to use the heap. */
void *td_mem_slot(td_callable *c, td_run_mem *m, int slot, td_dtype dt, size_t nbytes, int zero);
/* 1 if out_slot may alias memory backed by slot `root` (-1 = not arena memory). */
int td_mem_forward_ok(const td_run_mem *m, int out_slot, int root);
void td_mem_end(td_callable *c, td_run_mem *m, int ok);
void td_exec_free_plans(td_callable *c);

#endif
