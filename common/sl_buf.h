/* sl_buf.h — the one growable byte buffer (writer side).
 *
 * Used for Kafka encoding, RPC framing, index files, metrics text and test vectors.
 * Integers are written big-endian (Kafka's byte order). Length prefixes are written
 * as a reserved slot (sl_buf_put_slot_*) and patched once the length is known.
 * Growth aborts on allocation failure (sl_alloc.h); callers cap sizes beforehand.
 * Not thread-safe: one owner at a time. */
#ifndef SL_BUF_H
#define SL_BUF_H

#include "common/sl_view.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sl_buf {
    uint8_t *data; /* owned; NULL until the first write */
    size_t len;    /* bytes written */
    size_t cap;    /* bytes allocated */
} sl_buf;

void sl_buf_init(sl_buf *out);
void sl_buf_deinit(sl_buf *out);            /* frees the memory; out is empty again */
void sl_buf_reset(sl_buf *out);             /* len = 0, memory kept */
void sl_buf_ensure(sl_buf *out, size_t n);  /* room for n more bytes */
uint8_t *sl_buf_reserve(sl_buf *out, size_t n); /* append n uninitialised bytes */
void sl_buf_truncate(sl_buf *out, size_t len);  /* len must be <= out->len */
/* Take the bytes: returns data (caller frees with sl_free), buffer becomes empty. */
uint8_t *sl_buf_detach(sl_buf *out, size_t *len_out);

void sl_buf_put(sl_buf *out, const void *data, size_t n);
void sl_buf_put_u8(sl_buf *out, uint8_t v);
void sl_buf_put_i8(sl_buf *out, int8_t v);
void sl_buf_put_i16(sl_buf *out, int16_t v);
void sl_buf_put_u16(sl_buf *out, uint16_t v);
void sl_buf_put_i32(sl_buf *out, int32_t v);
void sl_buf_put_u32(sl_buf *out, uint32_t v);
void sl_buf_put_i64(sl_buf *out, int64_t v);
void sl_buf_put_f64(sl_buf *out, double v);
void sl_buf_put_uvarint(sl_buf *out, uint32_t v);  /* LEB128, ≤ 5 bytes */
void sl_buf_put_uvarlong(sl_buf *out, uint64_t v); /* LEB128, ≤ 10 bytes */
void sl_buf_put_varint(sl_buf *out, int32_t v);    /* zig-zag then LEB128 */
void sl_buf_put_varlong(sl_buf *out, int64_t v);   /* zig-zag then LEB128 */
void sl_buf_put_cstr(sl_buf *out, const char *s);  /* raw bytes, no length, no NUL */
/* printf-style append of text (no NUL stored in len). */
void sl_buf_printf(sl_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reserve a 4-byte big-endian slot; returns its offset for sl_buf_patch_i32. */
size_t sl_buf_put_slot_i32(sl_buf *out);
void sl_buf_patch_i32(sl_buf *out, size_t offset, int32_t v);
void sl_buf_patch_u32(sl_buf *out, size_t offset, uint32_t v);

/* Encoded sizes, for computing length prefixes before writing. */
size_t sl_uvarint_size(uint64_t v);
size_t sl_varint_size(int32_t v);
size_t sl_varlong_size(int64_t v);

/* Zig-zag mapping used by Kafka's signed varints. */
static inline uint32_t sl_zigzag32(int32_t v) {
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}
static inline uint64_t sl_zigzag64(int64_t v) {
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int32_t sl_unzigzag32(uint32_t v) {
    return (int32_t)(v >> 1) ^ -(int32_t)(v & 1);
}
static inline int64_t sl_unzigzag64(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Big-endian loads/stores on raw memory (no bounds checks: callers checked). */
static inline uint16_t sl_load_be16(const uint8_t *p) {
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t sl_load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t sl_load_be64(const uint8_t *p) {
    return (uint64_t)sl_load_be32(p) << 32 | sl_load_be32(p + 4);
}
static inline void sl_store_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void sl_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void sl_store_be64(uint8_t *p, uint64_t v) {
    sl_store_be32(p, (uint32_t)(v >> 32));
    sl_store_be32(p + 4, (uint32_t)v);
}

#endif
