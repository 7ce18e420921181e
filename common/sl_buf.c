#include "common/sl_buf.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SL_BUF_MIN_CAP 64

void sl_buf_init(sl_buf *out) {
    out->data = NULL;
    out->len = 0;
    out->cap = 0;
}

void sl_buf_deinit(sl_buf *out) {
    sl_free(out->data);
    sl_buf_init(out);
}

void sl_buf_reset(sl_buf *out) {
    out->len = 0;
}

void sl_buf_ensure(sl_buf *out, size_t n) {
    SL_ASSERT(n <= SIZE_MAX / 2 - out->len);
    if (out->len + n <= out->cap) return;
    size_t cap = out->cap ? out->cap : SL_BUF_MIN_CAP;
    while (cap < out->len + n) cap *= 2;
    out->data = sl_realloc(out->data, cap);
    out->cap = cap;
}

uint8_t *sl_buf_reserve(sl_buf *out, size_t n) {
    if (n == 0 && !out->data) sl_buf_ensure(out, 1); /* never compute NULL + 0 */
    sl_buf_ensure(out, n);
    uint8_t *p = out->data + out->len;
    out->len += n;
    return p;
}

void sl_buf_truncate(sl_buf *out, size_t len) {
    SL_ASSERT(len <= out->len);
    out->len = len;
}

uint8_t *sl_buf_detach(sl_buf *out, size_t *len_out) {
    uint8_t *data = out->data;
    if (len_out) *len_out = out->len;
    sl_buf_init(out);
    return data;
}

void sl_buf_put(sl_buf *out, const void *data, size_t n) {
    if (n == 0) return;
    memcpy(sl_buf_reserve(out, n), data, n);
}

void sl_buf_put_u8(sl_buf *out, uint8_t v) {
    *sl_buf_reserve(out, 1) = v;
}

void sl_buf_put_i8(sl_buf *out, int8_t v) {
    *sl_buf_reserve(out, 1) = (uint8_t)v;
}

void sl_buf_put_i16(sl_buf *out, int16_t v) {
    sl_store_be16(sl_buf_reserve(out, 2), (uint16_t)v);
}

void sl_buf_put_u16(sl_buf *out, uint16_t v) {
    sl_store_be16(sl_buf_reserve(out, 2), v);
}

void sl_buf_put_i32(sl_buf *out, int32_t v) {
    sl_store_be32(sl_buf_reserve(out, 4), (uint32_t)v);
}

void sl_buf_put_u32(sl_buf *out, uint32_t v) {
    sl_store_be32(sl_buf_reserve(out, 4), v);
}

void sl_buf_put_i64(sl_buf *out, int64_t v) {
    sl_store_be64(sl_buf_reserve(out, 8), (uint64_t)v);
}

void sl_buf_put_f64(sl_buf *out, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    sl_store_be64(sl_buf_reserve(out, 8), bits);
}

void sl_buf_put_uvarlong(sl_buf *out, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    sl_buf_put(out, tmp, n);
}

void sl_buf_put_uvarint(sl_buf *out, uint32_t v) {
    sl_buf_put_uvarlong(out, v);
}

void sl_buf_put_varint(sl_buf *out, int32_t v) {
    sl_buf_put_uvarlong(out, sl_zigzag32(v));
}

void sl_buf_put_varlong(sl_buf *out, int64_t v) {
    sl_buf_put_uvarlong(out, sl_zigzag64(v));
}

void sl_buf_put_cstr(sl_buf *out, const char *s) {
    sl_buf_put(out, s, strlen(s));
}

void sl_buf_printf(sl_buf *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) {
        sl_buf_put(out, small, (size_t)n);
        return;
    }
    sl_buf_ensure(out, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)out->data + out->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    out->len += (size_t)n;
}

size_t sl_buf_put_slot_i32(sl_buf *out) {
    size_t off = out->len;
    sl_buf_reserve(out, 4);
    return off;
}

void sl_buf_patch_i32(sl_buf *out, size_t offset, int32_t v) {
    sl_buf_patch_u32(out, offset, (uint32_t)v);
}

void sl_buf_patch_u32(sl_buf *out, size_t offset, uint32_t v) {
    SL_ASSERT(offset + 4 <= out->len);
    sl_store_be32(out->data + offset, v);
}

size_t sl_uvarint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t sl_varint_size(int32_t v) {
    return sl_uvarint_size(sl_zigzag32(v));
}

size_t sl_varlong_size(int64_t v) {
    return sl_uvarint_size(sl_zigzag64(v));
}
