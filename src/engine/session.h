/* session.h — private to the engine: the session and callable structures shared by
 * session.c (state, resources), callable.c (planning) and exec.c (running).
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

typedef struct td_step {
  const td_node *node;
  int nin;
  td_src *in;
  int out_base, nout;
  unsigned char *out_used;
  int *release; /* slots dead after this step */
  int nrelease;
  pthread_mutex_t state_mu;
  int state_ready;
  void *state;
  void (*state_destroy)(void *);
} td_step;

typedef struct td_mem_plan td_mem_plan;

struct td_callable {
  td_session *s;
  int nfeeds;
  td_edge *feeds;
  int nsteps;
  td_step *steps;
  int nslots;
  int nconsts;
  td_tensor *consts;
  int nfetch;
  td_src *fetch;
  int *slot_fetched; /* per slot: 1 if some fetch reads it */
  int *slot_last_use; /* per slot: last step reading it (nsteps = fetched, -1 = never) */
  pthread_mutex_t plan_mu;
  td_mem_plan *plans; /* linked list, one per feed-shape key */
};

/* Runs one node's kernel on the given inputs, for constant folding (exec.c). outputs receive
 * owned tensors. */
td_code td_exec_fold(td_session *s, td_step *step, const td_tensor *const *inputs, td_tensor *outputs,
                     td_status *st);
void td_step_release_state(td_step *step);
/* Finds or creates the session resource `key` (session.c). */
td_code td_session_resource(td_session *s, const char *key,
                            td_code (*create)(void *arg, td_resource **r, td_status *st), void *arg,
                            td_resource **out, td_status *st);
/* Releases the callable's memory plans (exec.c). */
void td_exec_free_plans(td_callable *c);

#endif
