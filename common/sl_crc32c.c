/* sl_crc32c.c — CRC-32C, hardware and table paths (see sl_crc32c.h).
 *
 * Hardware path: the crc32 instruction has a latency of 3 cycles but a throughput of
 * one per cycle, so long inputs are cut into three blocks whose CRCs run in parallel
 * and are joined with a "shift by n zero bytes" operator. That operator is linear over
 * GF(2), so it is precomputed as four 256-entry tables per block size. */
#include "common/sl_crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#define SL_CRC32C_X86 1
#endif

#define POLY 0x82F63B78u

#define LONG_BLOCK  8192 /* bytes per stream for inputs ≥ 3 × LONG_BLOCK */
#define SHORT_BLOCK 256  /* bytes per stream for shorter inputs ≥ 3 × SHORT_BLOCK */

static uint32_t table_g[8][256];     /* slicing-by-8 */
static uint32_t long_shift_g[4][256]; /* shift a raw CRC by LONG_BLOCK zero bytes */
static uint32_t short_shift_g[4][256];
static bool hw_g;
static pthread_once_t once_g = PTHREAD_ONCE_INIT;

/* 32×32 GF(2) matrix times vector: mat[i] is the image of bit i. */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    for (int i = 0; vec; i++, vec >>= 1) {
        if (vec & 1) sum ^= mat[i];
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int i = 0; i < 32; i++) square[i] = gf2_times(mat, mat[i]);
}

/* Build the operator that appends len zero bytes (len a power of two ≥ 1) to a raw CRC,
 * expanded into byte tables. */
static void build_shift(uint32_t table[4][256], size_t len) {
    uint32_t op[32], tmp[32];
    op[0] = POLY; /* one zero bit */
    for (int i = 1; i < 32; i++) op[i] = 1u << (i - 1);
    gf2_square(tmp, op); /* 2 bits */
    gf2_square(op, tmp); /* 4 bits */
    gf2_square(tmp, op); /* 8 bits = 1 byte */
    memcpy(op, tmp, sizeof(op));
    for (size_t n = 1; n < len; n <<= 1) {
        gf2_square(tmp, op);
        memcpy(op, tmp, sizeof(op));
    }
    for (int k = 0; k < 4; k++) {
        for (uint32_t b = 0; b < 256; b++) table[k][b] = gf2_times(op, b << (8 * k));
    }
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
}

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table_g[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table_g[0][n];
        for (int k = 1; k < 8; k++) {
            c = table_g[0][c & 0xff] ^ (c >> 8);
            table_g[k][n] = c;
        }
    }
    build_shift(long_shift_g, LONG_BLOCK);
    build_shift(short_shift_g, SHORT_BLOCK);
#ifdef SL_CRC32C_X86
    __builtin_cpu_init();
    hw_g = __builtin_cpu_supports("sse4.2");
#endif
}

/* Raw update (no inversion). */
static uint32_t sw_raw(uint32_t crc, const uint8_t *p, size_t len) {
    while (len && ((uintptr_t)p & 7)) {
        crc = table_g[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc; /* little-endian host */
        crc = table_g[7][w & 0xff] ^ table_g[6][(w >> 8) & 0xff] ^ table_g[5][(w >> 16) & 0xff] ^
              table_g[4][(w >> 24) & 0xff] ^ table_g[3][(w >> 32) & 0xff] ^
              table_g[2][(w >> 40) & 0xff] ^ table_g[1][(w >> 48) & 0xff] ^ table_g[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = table_g[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef SL_CRC32C_X86
__attribute__((target("sse4.2"))) static uint32_t hw_blocks(uint32_t crc, const uint8_t **pp,
                                                           size_t *lenp, size_t block,
                                                           uint32_t table[4][256]) {
    const uint8_t *p = *pp;
    size_t len = *lenp;
    while (len >= 3 * block) {
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        const uint8_t *end = p + block;
        do {
            uint64_t w0, w1, w2;
            memcpy(&w0, p, 8);
            memcpy(&w1, p + block, 8);
            memcpy(&w2, p + 2 * block, 8);
            c0 = _mm_crc32_u64(c0, w0);
            c1 = _mm_crc32_u64(c1, w1);
            c2 = _mm_crc32_u64(c2, w2);
            p += 8;
        } while (p < end);
        crc = shift(table, shift(table, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
        p += 2 * block;
        len -= 3 * block;
    }
    *pp = p;
    *lenp = len;
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t hw_raw(uint32_t crc, const uint8_t *p,
                                                        size_t len) {
    while (len && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }
    crc = hw_blocks(crc, &p, &len, LONG_BLOCK, long_shift_g);
    crc = hw_blocks(crc, &p, &len, SHORT_BLOCK, short_shift_g);
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        len -= 8;
    }
    crc = (uint32_t)c;
    while (len--) crc = _mm_crc32_u8(crc, *p++);
    return crc;
}
#endif

uint32_t sl_crc32c_update_sw(uint32_t crc, const void *data, size_t len) {
    pthread_once(&once_g, crc_init);
    return ~sw_raw(~crc, data, len);
}

uint32_t sl_crc32c_update(uint32_t crc, const void *data, size_t len) {
    pthread_once(&once_g, crc_init);
#ifdef SL_CRC32C_X86
    if (hw_g) return ~hw_raw(~crc, data, len);
#endif
    return ~sw_raw(~crc, data, len);
}

uint32_t sl_crc32c(const void *data, size_t len) {
    return sl_crc32c_update(0, data, len);
}

bool sl_crc32c_hw_available(void) {
    pthread_once(&once_g, crc_init);
    return hw_g;
}
