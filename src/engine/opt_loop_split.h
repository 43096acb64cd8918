/* opt_loop_split.h — running a recurrent While loop's batch rows on several threads at once.
 *
 * A Keras RNN loop carries per-row state: every iteration treats row r of h, c and of each
 * list item without looking at the other rows. When the body is row-separable, the While kernel
 * (kernels/while_split.c) runs the whole loop on disjoint row ranges in parallel, one thread
 * per range and no synchronization per iteration, then concatenates the results. Splitting
 * each iteration's GEMM instead costs a fork/join per iteration, and every thread packs all of
 * the recurrent weights.
 *
 * Each value of the body has a class:
 *   INV   the same in every part (counters, weights, handles, constants);
 *   ROW   a tensor whose dim 0 is the batch row (h, c, gate products);
 *   LIST  a TensorList whose items are ROW tensors (the input sequence, the outputs).
 * td_loop_split_analyze assigns classes to the loop variables so that every body step is
 * row-wise on them (the table in opt_loop_split.c: element-wise ops whose INV operands
 * broadcast along trailing dims only, MatMul(ROW, INV), BiasAdd, Split/SplitV off axis 0,
 * TensorListGetItem/SetItem at INV indices, the fused RNN steps of opt_rnn_fuse.c), steps on
 * INV values alone are pure (no stateful op runs once per part), and the condition reads INV
 * variables only, so every part runs the same number of iterations. A variable whose body
 * result is INV is INV. Ranks are only known at run time: td_loop_split_classes redoes the
 * analysis with the run's ranks before each split run (a "row" that is a scalar, such as a loop
 * counter the condition does not read, is INV then).
 * Thread affinity: analysis reads an immutable callable plan; the result is read-only. */
#ifndef TD_ENGINE_OPT_LOOP_SPLIT_H
#define TD_ENGINE_OPT_LOOP_SPLIT_H

#include "engine/kernel.h"

enum { TD_SPLIT_INV, TD_SPLIT_ROW, TD_SPLIT_LIST };

typedef struct td_loop_split {
  int nvars;          /* 0: the loop is not split */
  unsigned char *cls; /* per loop variable: TD_SPLIT_* before ranks are known (heap) */
  const td_callable *body, *cond;
} td_loop_split;

/* 1 with *out filled when body (with cond) is row-separable with at least one ROW or LIST
 * variable; 0 (out zeroed) otherwise. */
int td_loop_split_analyze(const td_callable *body, const td_callable *cond, td_loop_split *out);
void td_loop_split_free(td_loop_split *s);
/* The classes for a run: rank[i] is ROW variable i's rank, LIST variable i's items' rank (-1:
 * unknown, which fails wherever a rank decides). 1 with cls[0..nvars) set when the body is
 * row-wise on them with some ROW or LIST variable left; 0 otherwise. */
int td_loop_split_classes(const td_loop_split *s, const int *rank, unsigned char *cls);

#endif
