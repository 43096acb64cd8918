/* show_ops.c — `tensord show --dir D [--tag_set T] --ops`: the op histogram of one MetaGraphDef
 * (its GraphDef nodes plus every library function reachable from them, model/opscan.h), one
 * line per op with its node count and status:
 *   supported       tensord has a kernel
 *   function call   inlined by the engine (PartitionedCall, an op named after a function)
 *   UNSUPPORTED     no kernel, and serving needs it (reached from a signature, restore or init)
 *   unsupported (not needed to serve)   no kernel, but only the save path or unused functions
 * then a summary line naming the unsupported ops. Thread affinity: the CLI's main thread. */
#include <stdlib.h>
#include <string.h>

#include "cli/show_internal.h"
#include "engine/engine.h"
#include "model/opscan.h"
#include "model/savedmodel.h"
#include "util/mem.h"

/* Call ops and ops named after library functions are inlined by the engine, not kernels. */
static int is_call(const Tensorflow__MetaGraphDef *mg, const char *op) {
  if (!strcmp(op, "StatefulPartitionedCall") || !strcmp(op, "PartitionedCall")) return 1;
  const Tensorflow__FunctionDefLibrary *lib = mg->graph_def ? mg->graph_def->library : NULL;
  for (size_t i = 0; lib && i < lib->n_function; i++)
    if (lib->function[i]->signature && !strcmp(lib->function[i]->signature->name, op)) return 1;
  return 0;
}

/* What loading and serving mg runs: restore, init, and each signature (stopping at its feeds). */
static td_opscan *serving_scan(const Tensorflow__MetaGraphDef *mg) {
  td_opscan *o = td_opscan_new(mg);
  const char *roots[2];
  size_t n = 0;
  const char *init_op = NULL;
  if (mg->saver_def && mg->saver_def->restore_op_name && *mg->saver_def->restore_op_name)
    roots[n++] = mg->saver_def->restore_op_name;
  if (td_meta_graph_init_op(mg, &init_op, NULL) == TD_OK && init_op) roots[n++] = init_op;
  td_opscan_walk(o, roots, n, NULL, 0);
  for (size_t i = 0; i < mg->n_signature_def; i++) {
    const Tensorflow__SignatureDef *def = mg->signature_def[i]->value;
    if (!def) continue;
    const char **outs = td_xcalloc(def->n_outputs + 1, sizeof *outs), **ins = td_xcalloc(def->n_inputs + 1, sizeof *ins);
    for (size_t k = 0; k < def->n_outputs; k++) outs[k] = td_tensor_info_name(def->outputs[k]->value);
    for (size_t k = 0; k < def->n_inputs; k++) ins[k] = td_tensor_info_name(def->inputs[k]->value);
    td_opscan_walk(o, outs, def->n_outputs, ins, def->n_inputs);
    free(outs);
    free(ins);
  }
  return o;
}

int td_show_ops(FILE *out, const Tensorflow__MetaGraphDef *mg) {
  td_op_count *ops;
  size_t n = td_opscan_histogram(mg, &ops);
  td_opscan *needed = serving_scan(mg);
  long nodes = 0;
  size_t width = 2, unsupported = 0, blocking = 0, calls = 0;
  for (size_t i = 0; i < n; i++) {
    nodes += ops[i].count;
    if (strlen(ops[i].op) > width) width = strlen(ops[i].op);
  }
  fprintf(out, "Ops used by the MetaGraphDef and the functions it calls (%zu op types, %ld nodes):\n", n, nodes);
  for (size_t i = 0; i < n; i++) {
    const char *what = "supported";
    if (is_call(mg, ops[i].op)) {
      what = "function call";
      calls++;
    } else if (!td_op_supported(ops[i].op)) {
      unsupported++;
      int need = td_opscan_is_missing(needed, ops[i].op);
      blocking += need;
      what = need ? "UNSUPPORTED" : "unsupported (not needed to serve)";
    }
    fprintf(out, "  %-*s %7ld  %s\n", (int)width, ops[i].op, ops[i].count, what);
  }
  fprintf(out, "%zu op types: %zu supported, %zu function calls, %zu unsupported", n, n - unsupported - calls, calls,
          unsupported);
  for (size_t i = 0, k = 0; i < n; i++)
    if (!is_call(mg, ops[i].op) && !td_op_supported(ops[i].op)) fprintf(out, "%s%s", k++ ? ", " : " (", ops[i].op);
  fprintf(out, "%s; %zu needed to serve", unsupported ? ")" : "", blocking);
  for (size_t i = 0, k = 0; i < n; i++)
    if (td_opscan_is_missing(needed, ops[i].op)) fprintf(out, "%s%s", k++ ? ", " : " (", ops[i].op);
  fputs(blocking ? ")\n" : "\n", out);
  td_opscan_free(needed);
  free(ops);
  return (int)blocking;
}
