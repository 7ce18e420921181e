#include "common/sl_map.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_hash.h"

#include <string.h>

#define MAP_MIN_CAP 16

const char sl_map_tombstone_g[1];

void sl_map_init(sl_map *m) {
    memset(m, 0, sizeof(*m));
}

void sl_map_deinit(sl_map *m) {
    sl_free(m->slots);
    sl_map_init(m);
}

static size_t map_find(const sl_map *m, uint64_t hash, const void *key, size_t key_len,
                       bool for_insert) {
    size_t mask = m->cap - 1, i = hash & mask, first_free = SIZE_MAX;
    for (size_t probes = 0; probes < m->cap; probes++, i = (i + 1) & mask) {
        const sl_map_slot *s = &m->slots[i];
        if (!s->key) return for_insert && first_free != SIZE_MAX ? first_free : i;
        if (s->key == SL_MAP_TOMBSTONE) {
            if (first_free == SIZE_MAX) first_free = i;
            continue;
        }
        if (s->hash == hash && s->key_len == key_len && memcmp(s->key, key, key_len) == 0) {
            return i;
        }
    }
    return for_insert ? first_free : SIZE_MAX;
}

static void map_resize(sl_map *m, size_t cap) {
    sl_map_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = sl_calloc(cap, sizeof(sl_map_slot));
    m->cap = cap;
    m->count = m->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key && old[i].key != SL_MAP_TOMBSTONE) {
            size_t j = map_find(m, old[i].hash, old[i].key, old[i].key_len, true);
            m->slots[j] = old[i];
            m->count++;
            m->used++;
        }
    }
    sl_free(old);
}

void *sl_map_get(const sl_map *m, const void *key, size_t key_len) {
    if (m->count == 0) return NULL;
    size_t i = map_find(m, sl_fnv1a64(key, key_len), key, key_len, false);
    if (i == SIZE_MAX || !sl_map_slot_used(m, i)) return NULL;
    return m->slots[i].value;
}

void *sl_map_put(sl_map *m, const void *key, size_t key_len, void *value) {
    if ((m->used + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap : MAP_MIN_CAP;
        while ((m->count + 1) * 10 > cap * 7 / 2) cap *= 2; /* grow to ≤ 35 % load */
        map_resize(m, cap);
    }
    uint64_t hash = sl_fnv1a64(key, key_len);
    size_t i = map_find(m, hash, key, key_len, true);
    SL_ASSERT(i != SIZE_MAX);
    sl_map_slot *s = &m->slots[i];
    if (sl_map_slot_used(m, i)) {
        void *prev = s->value;
        s->key = key; /* the new key memory replaces the old */
        s->value = value;
        return prev;
    }
    if (!s->key) m->used++;
    s->hash = hash;
    s->key = key;
    s->key_len = key_len;
    s->value = value;
    m->count++;
    return NULL;
}

void *sl_map_remove(sl_map *m, const void *key, size_t key_len) {
    if (m->count == 0) return NULL;
    size_t i = map_find(m, sl_fnv1a64(key, key_len), key, key_len, false);
    if (i == SIZE_MAX || !sl_map_slot_used(m, i)) return NULL;
    void *prev = m->slots[i].value;
    m->slots[i].key = SL_MAP_TOMBSTONE;
    m->slots[i].value = NULL;
    m->count--;
    return prev;
}

/* ---- int64 keys ---- */

static uint64_t imap_hash(int64_t key) {
    uint64_t z = (uint64_t)key + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sl_imap_init(sl_imap *m) {
    memset(m, 0, sizeof(*m));
}

void sl_imap_deinit(sl_imap *m) {
    sl_free(m->slots);
    sl_imap_init(m);
}

static size_t imap_find(const sl_imap *m, int64_t key, bool for_insert) {
    size_t mask = m->cap - 1, i = imap_hash(key) & mask, first_free = SIZE_MAX;
    for (size_t probes = 0; probes < m->cap; probes++, i = (i + 1) & mask) {
        const sl_imap_slot *s = &m->slots[i];
        if (s->state == 0) return for_insert && first_free != SIZE_MAX ? first_free : i;
        if (s->state == 2) {
            if (first_free == SIZE_MAX) first_free = i;
            continue;
        }
        if (s->key == key) return i;
    }
    return for_insert ? first_free : SIZE_MAX;
}

static void imap_resize(sl_imap *m, size_t cap) {
    sl_imap_slot *old = m->slots;
    size_t old_cap = m->cap;
    m->slots = sl_calloc(cap, sizeof(sl_imap_slot));
    m->cap = cap;
    m->count = m->used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].state == 1) {
            size_t j = imap_find(m, old[i].key, true);
            m->slots[j] = old[i];
            m->count++;
            m->used++;
        }
    }
    sl_free(old);
}

void *sl_imap_get(const sl_imap *m, int64_t key) {
    if (m->count == 0) return NULL;
    size_t i = imap_find(m, key, false);
    if (i == SIZE_MAX || m->slots[i].state != 1) return NULL;
    return m->slots[i].value;
}

void *sl_imap_put(sl_imap *m, int64_t key, void *value) {
    if ((m->used + 1) * 10 > m->cap * 7) {
        size_t cap = m->cap ? m->cap : MAP_MIN_CAP;
        while ((m->count + 1) * 10 > cap * 7 / 2) cap *= 2;
        imap_resize(m, cap);
    }
    size_t i = imap_find(m, key, true);
    SL_ASSERT(i != SIZE_MAX);
    sl_imap_slot *s = &m->slots[i];
    if (s->state == 1) {
        void *prev = s->value;
        s->value = value;
        return prev;
    }
    if (s->state == 0) m->used++;
    s->state = 1;
    s->key = key;
    s->value = value;
    m->count++;
    return NULL;
}

void *sl_imap_remove(sl_imap *m, int64_t key) {
    if (m->count == 0) return NULL;
    size_t i = imap_find(m, key, false);
    if (i == SIZE_MAX || m->slots[i].state != 1) return NULL;
    void *prev = m->slots[i].value;
    m->slots[i].state = 2;
    m->slots[i].value = NULL;
    m->count--;
    return prev;
}
