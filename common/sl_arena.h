/* sl_arena.h — a bump allocator for one request's decoded views and scratch.
 * Everything allocated from an arena is freed together by sl_arena_reset/deinit.
 * Allocations are 8-byte aligned and zeroed. Not thread-safe. */
#ifndef SL_ARENA_H
#define SL_ARENA_H

#include <stddef.h>

typedef struct sl_arena_chunk sl_arena_chunk;

typedef struct sl_arena {
    sl_arena_chunk *head; /* newest chunk first */
    size_t used;          /* bytes handed out since the last reset */
} sl_arena;

void sl_arena_init(sl_arena *arena);
void sl_arena_deinit(sl_arena *arena);
/* Free all allocations but keep the first chunk for reuse. */
void sl_arena_reset(sl_arena *arena);
void *sl_arena_alloc(sl_arena *arena, size_t size);
/* count * size bytes, with overflow checked (aborts on overflow: callers bound counts). */
void *sl_arena_array(sl_arena *arena, size_t count, size_t size);
char *sl_arena_strndup(sl_arena *arena, const char *s, size_t len);

#endif
