#include "common/sl_arena.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"

#include <stdint.h>
#include <string.h>

#define SL_ARENA_CHUNK_BYTES 16384 /* one chunk holds a typical small request */

struct sl_arena_chunk {
    sl_arena_chunk *next;
    size_t size; /* usable bytes in data */
    size_t off;  /* bytes used */
    _Alignas(16) unsigned char data[];
};

void sl_arena_init(sl_arena *arena) {
    arena->head = NULL;
    arena->used = 0;
}

void sl_arena_deinit(sl_arena *arena) {
    sl_arena_chunk *c = arena->head;
    while (c) {
        sl_arena_chunk *next = c->next;
        sl_free(c);
        c = next;
    }
    sl_arena_init(arena);
}

void sl_arena_reset(sl_arena *arena) {
    if (!arena->head) return;
    /* keep the oldest chunk if it is the standard size; drop the rest */
    sl_arena_chunk *c = arena->head, *keep = NULL;
    while (c) {
        sl_arena_chunk *next = c->next;
        if (!next && c->size == SL_ARENA_CHUNK_BYTES) {
            keep = c;
        } else {
            sl_free(c);
        }
        c = next;
    }
    arena->head = keep;
    if (keep) {
        keep->off = 0;
        keep->next = NULL;
    }
    arena->used = 0;
}

void *sl_arena_alloc(sl_arena *arena, size_t size) {
    size = (size + 7) & ~(size_t)7;
    if (size == 0) size = 8;
    sl_arena_chunk *c = arena->head;
    if (!c || c->size - c->off < size) {
        size_t want = size > SL_ARENA_CHUNK_BYTES ? size : SL_ARENA_CHUNK_BYTES;
        c = sl_malloc(sizeof(*c) + want);
        c->size = want;
        c->off = 0;
        c->next = arena->head;
        arena->head = c;
    }
    void *p = c->data + c->off;
    c->off += size;
    arena->used += size;
    memset(p, 0, size);
    return p;
}

void *sl_arena_array(sl_arena *arena, size_t count, size_t size) {
    SL_ASSERT(size == 0 || count <= SIZE_MAX / size);
    return sl_arena_alloc(arena, count * size);
}

char *sl_arena_strndup(sl_arena *arena, const char *s, size_t len) {
    char *p = sl_arena_alloc(arena, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
