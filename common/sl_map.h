/* sl_map.h — open-addressing hash maps (linear probing, power-of-two capacity,
 * load ≤ 0.7, tombstones rebuilt away on growth).
 *
 * sl_map: keys are byte strings the map does NOT own — the key memory must stay valid and
 * unchanged while the entry exists (typically the key lives inside the value).
 * sl_imap: int64 keys stored inline.
 * Values are opaque pointers (NULL is a valid value only for sl_map_put; lookups return
 * NULL for "absent", so do not store NULL). Not thread-safe.
 *
 * Iterate with: for (size_t i = 0; i < m.cap; i++) if (sl_map_slot_used(&m, i)) …m.slots[i] */
#ifndef SL_MAP_H
#define SL_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sl_map_slot {
    uint64_t hash;
    const void *key; /* NULL = empty; SL_MAP_TOMBSTONE = deleted */
    size_t key_len;
    void *value;
} sl_map_slot;

typedef struct sl_map {
    sl_map_slot *slots;
    size_t cap;   /* 0 or a power of two */
    size_t count; /* live entries */
    size_t used;  /* live + tombstones */
} sl_map;

extern const char sl_map_tombstone_g[1];
#define SL_MAP_TOMBSTONE ((const void *)sl_map_tombstone_g)

void sl_map_init(sl_map *m);
void sl_map_deinit(sl_map *m); /* frees the table, not keys or values */
void *sl_map_get(const sl_map *m, const void *key, size_t key_len);
/* Insert or replace; returns the previous value or NULL. */
void *sl_map_put(sl_map *m, const void *key, size_t key_len, void *value);
/* Remove; returns the removed value or NULL. */
void *sl_map_remove(sl_map *m, const void *key, size_t key_len);
static inline bool sl_map_slot_used(const sl_map *m, size_t i) {
    return m->slots[i].key && m->slots[i].key != SL_MAP_TOMBSTONE;
}

typedef struct sl_imap_slot {
    int64_t key;
    uint8_t state; /* 0 empty, 1 used, 2 deleted */
    void *value;
} sl_imap_slot;

typedef struct sl_imap {
    sl_imap_slot *slots;
    size_t cap;
    size_t count;
    size_t used;
} sl_imap;

void sl_imap_init(sl_imap *m);
void sl_imap_deinit(sl_imap *m);
void *sl_imap_get(const sl_imap *m, int64_t key);
void *sl_imap_put(sl_imap *m, int64_t key, void *value);
void *sl_imap_remove(sl_imap *m, int64_t key);
static inline bool sl_imap_slot_used(const sl_imap *m, size_t i) {
    return m->slots[i].state == 1;
}

#endif
