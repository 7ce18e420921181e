/* storage_clean_map.c — the compaction offset map: key digest -> latest offset.
 *
 * Kafka's SkimpyOffsetMap keeps a 16-byte MD5 digest and an 8-byte offset per key in one
 * fixed buffer (log.cleaner.dedupe.buffer.size); this map does the same with SipHash-2-4's
 * 128-bit output under a key drawn at random for every map, so a producer cannot choose
 * keys that collide, and a false match between two distinct keys has probability about
 * n^2 / 2^129. Slots are three 64-bit words: the digest, then offset + 1 (0 marks an empty
 * slot, so calloc'd memory is an empty map and untouched pages stay unmapped). The home
 * slot is the digest scaled to the table size (multiply-high), probing is linear, and the
 * map is never filled past 3/4: the expected probes of linear probing grow as
 * 1 / (1 - load)^2, 16 at 3/4 against 100 at Kafka's 0.9. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_rand.h"

#include <string.h>

#define MAP_SLOTS_MIN 16

static inline uint64_t rotl64(uint64_t x, int b) {
    return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = rotl64(v1, 13);                                                                       \
        v1 ^= v0;                                                                                  \
        v0 = rotl64(v0, 32);                                                                       \
        v2 += v3;                                                                                  \
        v3 = rotl64(v3, 16);                                                                       \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = rotl64(v3, 21);                                                                       \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = rotl64(v1, 17);                                                                       \
        v1 ^= v2;                                                                                  \
        v2 = rotl64(v2, 32);                                                                       \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

void storage_siphash128(const uint64_t key[2], const uint8_t *data, size_t len, uint64_t out[2]) {
    uint64_t v0 = key[0] ^ 0x736f6d6570736575ULL;
    uint64_t v1 = key[1] ^ 0x646f72616e646f6dULL;
    uint64_t v2 = key[0] ^ 0x6c7967656e657261ULL;
    uint64_t v3 = key[1] ^ 0x7465646279746573ULL;
    v1 ^= 0xee; /* 128-bit output */
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(data + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++) {
        b |= (uint64_t)data[whole + i] << (8 * i);
    }
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xee;
    for (int i = 0; i < 4; i++) {
        SIPROUND;
    }
    out[0] = v0 ^ v1 ^ v2 ^ v3;
    v1 ^= 0xdd;
    for (int i = 0; i < 4; i++) {
        SIPROUND;
    }
    out[1] = v0 ^ v1 ^ v2 ^ v3;
}

void storage_offset_map_init(storage_offset_map *m, int64_t records, int64_t bytes_max) {
    SL_ASSERT(bytes_max >= STORAGE_OFFSET_MAP_SLOT_BYTES * MAP_SLOTS_MIN);
    int64_t slots = bytes_max / STORAGE_OFFSET_MAP_SLOT_BYTES;
    /* no more than the dirty offsets can fill (records / 0.75) */
    if (records < INT64_MAX / 4 && (records * 4) / 3 + MAP_SLOTS_MIN < slots) {
        slots = (records * 4) / 3 + MAP_SLOTS_MIN;
    }
    memset(m, 0, sizeof(*m));
    m->slot_count = slots;
    m->entries_max = slots / 4 * 3;
    m->slots = sl_calloc((size_t)slots, STORAGE_OFFSET_MAP_SLOT_BYTES);
    m->key[0] = sl_rand_os_seed();
    m->key[1] = sl_rand_os_seed();
}

void storage_offset_map_deinit(storage_offset_map *m) {
    sl_free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* The slot holding digest d, or the empty slot where it would go. The map always has an
 * empty slot (entries <= 3/4 of the slots), so the probe ends within slot_count steps. */
static uint64_t *map_find(const storage_offset_map *m, const uint64_t d[2]) {
    uint64_t i = (uint64_t)(((unsigned __int128)d[0] * (uint64_t)m->slot_count) >> 64);
    for (int64_t step = 0; step < m->slot_count; step++) {
        uint64_t *s = m->slots + 3 * i;
        if (s[2] == 0 || (s[0] == d[0] && s[1] == d[1])) return s;
        i = i + 1 == (uint64_t)m->slot_count ? 0 : i + 1;
    }
    SL_ASSERT(!"offset map without an empty slot");
    return NULL;
}

void storage_offset_map_put(storage_offset_map *m, const uint8_t *key, size_t len, int64_t offset) {
    SL_ASSERT(offset >= 0);
    uint64_t d[2];
    storage_siphash128(m->key, key, len, d);
    uint64_t *s = map_find(m, d);
    if (s[2] == 0) {
        SL_ASSERT(m->entries < m->entries_max);
        m->entries++;
        s[0] = d[0];
        s[1] = d[1];
    }
    SL_DASSERT(s[2] <= (uint64_t)offset + 1); /* offsets arrive in log order */
    s[2] = (uint64_t)offset + 1;
}

int64_t storage_offset_map_get(const storage_offset_map *m, const uint8_t *key, size_t len) {
    if (m->entries == 0) return -1;
    uint64_t d[2];
    storage_siphash128(m->key, key, len, d);
    const uint64_t *s = map_find(m, d);
    return (int64_t)s[2] - 1;
}
