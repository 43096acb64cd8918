/* grpc_arena.h — per-worker bump arena the gRPC request protos are unpacked into (internal to
 * src/grpc): `first` is reused across calls, overflow blocks are malloc'd, chained, and
 * released by td_grpc_arena_reset; the allocator's free is a no-op.
 * Thread affinity: one arena per worker thread, never shared. */
#ifndef TD_GRPC_GRPC_ARENA_H
#define TD_GRPC_GRPC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define TD_GRPC_ARENA_INLINE 8192 /* buffer the request proto is unpacked into */
#define TD_GRPC_ARENA_ALIGN 16

typedef struct td_grpc_arena_block td_grpc_arena_block;

typedef struct td_grpc_arena {
  uint8_t *p;
  size_t left;
  td_grpc_arena_block *blocks;
  _Alignas(TD_GRPC_ARENA_ALIGN) uint8_t first[TD_GRPC_ARENA_INLINE];
} td_grpc_arena;

/* Frees the overflow blocks; the whole inline buffer is free again. */
void td_grpc_arena_reset(td_grpc_arena *a);
/* ProtobufCAllocator callbacks (data = the arena). */
void *td_grpc_arena_alloc(void *data, size_t size);
void td_grpc_arena_free(void *data, void *ptr);

#endif
