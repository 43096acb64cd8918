/* while_split.h — the While kernel's row-split run (the analysis is engine/opt_loop_split.h).
 *
 * td_while_split_run checks the loop variables against the analysis (ROW tensors and LIST
 * items agree on a batch size B, the run's ranks keep every step row-wise), cuts the rows into
 * one range per intra-op thread (at least TD_SPLIT_MIN_ROWS rows each), runs the loop on each
 * range in an OpenMP team (kernels inside see td_k_threads = 1) and concatenates the parts'
 * results. Each part's variables are views: ROW tensors share the input's storage, LIST
 * variables are new lists whose items view the input items' rows. An item every part left as
 * the view of the same input item comes back as that item; others are concatenated.
 * Thread affinity: called on the kernel's thread; `run` is called on the team's threads. */
#ifndef TD_ENGINE_KERNELS_WHILE_SPLIT_H
#define TD_ENGINE_KERNELS_WHILE_SPLIT_H

#include "engine/kernel.h"
#include "engine/opt_loop_split.h"

enum { TD_SPLIT_MIN_ROWS = 8 };

/* Runs the loop from vars (n of them). given: NULL, or per variable 1 = the caller hands
 * its only reference to the runner, which may update it in place and drops it; the others
 * are borrowed. On TD_OK, *ran = 1 when at least one iteration ran, and vars then hold the
 * owned results; *ran = 0 leaves vars as they were (the given ones still the caller's). On
 * failure the runner has released everything it held, the given variables included. */
typedef td_code (*td_loop_fn)(td_kctx *c, void *arg, td_tensor *vars, const unsigned char *given, int n, int *ran);

/* *done = 0: not split (too few rows or threads, values the analysis does not cover, or a
 * loop that runs no iteration); run the loop as usual. *done = 1: the loop ran in parts, and
 * on TD_OK res[0..n) hold the merged results (owned); on failure the run's status says why. */
td_code td_while_split_run(td_kctx *c, const td_loop_split *s, const td_tensor *vars, int n, td_loop_fn run,
                           void *arg, td_tensor *res, int *done);

/* How many loop runs were split so far (process-wide; for tests). */
long td_while_split_runs(void);

#endif
