#include "common/sl_hash.h"

#include <limits.h>

int32_t sl_murmur2(const void *data, size_t len) {
    const uint8_t *p = data;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t words = len / 4;
    for (size_t i = 0; i < words; i++) {
        uint32_t k = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                     (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    const uint8_t *tail = p + words * 4;
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        __attribute__((fallthrough));
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        __attribute__((fallthrough));
    case 1:
        h ^= tail[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t sl_murmur2_partition(const void *key, size_t len, int32_t partitions) {
    return (int32_t)(((uint32_t)sl_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}

/* Decode one UTF-8 code point; returns bytes consumed (≥ 1). Invalid → U+FFFD. */
static size_t utf8_next(const uint8_t *p, size_t len, uint32_t *cp) {
    uint8_t b = p[0];
    size_t need;
    uint32_t v;
    if (b < 0x80) {
        *cp = b;
        return 1;
    } else if ((b & 0xe0) == 0xc0) {
        need = 1;
        v = b & 0x1f;
    } else if ((b & 0xf0) == 0xe0) {
        need = 2;
        v = b & 0x0f;
    } else if ((b & 0xf8) == 0xf0) {
        need = 3;
        v = b & 0x07;
    } else {
        *cp = 0xfffd;
        return 1;
    }
    if (len < need + 1) {
        *cp = 0xfffd;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *cp = 0xfffd;
            return 1;
        }
        v = v << 6 | (p[i] & 0x3f);
    }
    *cp = v;
    return need + 1;
}

int32_t sl_java_string_hash(const char *utf8, size_t len) {
    const uint8_t *p = (const uint8_t *)utf8;
    uint32_t h = 0;
    while (len > 0) {
        uint32_t cp;
        size_t n = utf8_next(p, len, &cp);
        p += n;
        len -= n;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return (int32_t)h;
}

int32_t sl_java_hash_partition(const char *utf8, size_t len, int32_t partitions) {
    int32_t h = sl_java_string_hash(utf8, len);
    int32_t a = h == INT_MIN ? 0 : (h < 0 ? -h : h);
    return a % partitions;
}

uint64_t sl_fnv1a64(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
