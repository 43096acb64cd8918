/* opscan.h — static op scans of a MetaGraphDef, before anything is imported:
 *  - which ops without a tensord kernel a set of roots needs (walking node inputs through the
 *    GraphDef and into every library function a reached node calls: PartitionedCall's `f`, an
 *    op named after a function, and every func / list(func) attr, e.g. While bodies, If branches),
 *    so a load fails with ONE error naming all of them;
 *  - the op histogram of the meta graph and the functions reachable from it (`show --ops`).
 * Pure functions over borrowed protos; results are heap-allocated for the caller.
 * Thread affinity: none (no shared state).
 */
#ifndef TD_MODEL_OPSCAN_H
#define TD_MODEL_OPSCAN_H

#include <stddef.h>

#include "proto/tf.h"

/* Roots are tensor names ("node:0", "node") or control names ("^node"); stop names are tensors
 * that will be fed (the walk does not enter their nodes). Returns NULL when every reached op has
 * a kernel, else a malloc'd message in TF's style:
 *   Op type not registered 'A' (needed by node 'x'): tensord has no kernel for this op
 *   Op type not registered 'A', 'B' (needed by nodes 'x', 'y'): tensord has no kernel for these ops
 * Each op is named once (with the first node found needing it), in order of discovery.
 * Function nodes are named "<function>/<node>". */
char *td_opscan_missing(const Tensorflow__MetaGraphDef *mg, const char *const *roots, size_t nroots,
                        const char *const *stops, size_t nstops);

/* The same, accumulated over several walks (e.g. one per signature, each with its own stops):
 * every op missing from any walk is listed once. */
typedef struct td_opscan td_opscan;
td_opscan *td_opscan_new(const Tensorflow__MetaGraphDef *mg);
void td_opscan_walk(td_opscan *o, const char *const *roots, size_t nroots, const char *const *stops, size_t nstops);
size_t td_opscan_num_missing(const td_opscan *o);
/* 1 if some walk found op needed and without a kernel. */
int td_opscan_is_missing(const td_opscan *o, const char *op);
char *td_opscan_message(const td_opscan *o); /* NULL when nothing is missing; malloc'd */
void td_opscan_free(td_opscan *o);

typedef struct td_op_count {
  const char *op; /* borrowed from the proto */
  long count;
} td_op_count;

/* Counts ops over the meta graph's GraphDef nodes and the nodes of every library function
 * reachable from them (transitively); sorted by op name. *out is malloc'd (free it). */
size_t td_opscan_histogram(const Tensorflow__MetaGraphDef *mg, td_op_count **out);

#endif
