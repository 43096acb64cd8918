/* trace.h — per-op timings of every engine run as a Chrome trace (tensord --trace_file=PATH;
 * open the file in chrome://tracing or https://ui.perfetto.dev).
 *
 * The file is one JSON object {"traceEvents": [...], "displayTimeUnit": "ns"}; every event is a
 * complete event (ph "X") of one kernel execution: name = the node's name, cat and args.op =
 * its op type, ts / dur in microseconds (fractional, ns resolution) since the trace opened,
 * pid = the process, tid = the kernel's OS thread. Both executors (exec.c, exec_dataflow.c)
 * record each step they run, including the steps of function bodies (While/If/...): those
 * nest inside the calling op's event on the same thread.
 *
 * Cost when off: the executors test td_trace_enabled (one well-predicted branch per step).
 * Thread safety: td_trace_open before any run starts and td_trace_close after the last one
 * ends (the server does both around serving); td_trace_op from any thread (one event, one
 * locked write). The closing "]}" is written by td_trace_close: a killed process leaves a file
 * without it.
 */
#ifndef TD_ENGINE_TRACE_H
#define TD_ENGINE_TRACE_H

#include <stdint.h>

#include "util/status.h"

extern int td_trace_enabled; /* nonzero between td_trace_open and td_trace_close */

#define TD_TRACE_ON() __builtin_expect(td_trace_enabled != 0, 0)

/* Creates (truncates) path and starts recording. Error: the file cannot be created
 * (INVALID_ARGUMENT "Could not open --trace_file <path>: <reason>"). */
td_code td_trace_open(const char *path, td_status *st) TD_MUST_CHECK;
/* Stops recording, finishes the JSON and closes the file; no-op when not open. */
void td_trace_close(void);

/* Monotonic nanoseconds (the clock of td_trace_op's start_ns). */
int64_t td_trace_now(void);
/* One kernel execution of node `name` (op type `op`) from start_ns until now. */
void td_trace_op(const char *name, const char *op, int64_t start_ns);

#endif
