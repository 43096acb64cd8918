/* grpc_arena.c — the request bump arena (see grpc_arena.h). Invariants: allocations are
 * TD_GRPC_ARENA_ALIGN-aligned; requests above a quarter block get a block of their own, so the
 * current block keeps bumping. */
#include "grpc/grpc_arena.h"

#include <stdlib.h>

#define ARENA_BLOCK 65536 /* overflow blocks (larger requests get a block of their own size) */

struct td_grpc_arena_block {
  struct td_grpc_arena_block *next;
  max_align_t pad[]; /* the block's bytes follow, aligned */
};

void td_grpc_arena_reset(td_grpc_arena *a) {
  while (a->blocks) {
    td_grpc_arena_block *b = a->blocks;
    a->blocks = b->next;
    free(b);
  }
  a->p = a->first;
  a->left = sizeof a->first;
}

void *td_grpc_arena_alloc(void *data, size_t size) {
  td_grpc_arena *a = data;
  if (size > SIZE_MAX - ARENA_BLOCK - sizeof(td_grpc_arena_block)) return NULL;
  size = (size + TD_GRPC_ARENA_ALIGN - 1) & ~(size_t)(TD_GRPC_ARENA_ALIGN - 1);
  if (size <= a->left) {
    void *r = a->p;
    a->p += size;
    a->left -= size;
    return r;
  }
  int own = size > ARENA_BLOCK / 4;
  size_t cap = own ? size : ARENA_BLOCK;
  td_grpc_arena_block *b = malloc(sizeof *b + cap);
  if (!b) return NULL;
  b->next = a->blocks;
  a->blocks = b;
  uint8_t *mem = (uint8_t *)b->pad;
  if (own) return mem;
  a->p = mem + size;
  a->left = cap - size;
  return mem;
}

void td_grpc_arena_free(void *data, void *ptr) {
  (void)data;
  (void)ptr;
}
