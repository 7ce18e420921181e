#include "common/sl_reader.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"

#include <string.h>

void sl_reader_init(sl_reader *r, const void *data, size_t len) {
    r->err = 0;
    if (!data) { /* NULL + 0 is undefined behaviour: point at an empty string instead */
        r->p = r->end = (const uint8_t *)"";
        return;
    }
    r->p = data;
    r->end = r->p + len;
}

void sl_reader_fail(sl_reader *r, int err) {
    if (!r->err) r->err = err;
    r->p = r->end;
}

/* Returns a pointer to n bytes and advances, or NULL (and fails) when short. */
static inline const uint8_t *take(sl_reader *r, size_t n) {
    if ((size_t)(r->end - r->p) < n) {
        sl_reader_fail(r, SL_E_SHORT);
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

int8_t sl_reader_i8(sl_reader *r) {
    const uint8_t *p = take(r, 1);
    return p ? (int8_t)p[0] : 0;
}

uint8_t sl_reader_u8(sl_reader *r) {
    const uint8_t *p = take(r, 1);
    return p ? p[0] : 0;
}

bool sl_reader_bool(sl_reader *r) {
    return sl_reader_u8(r) != 0;
}

int16_t sl_reader_i16(sl_reader *r) {
    const uint8_t *p = take(r, 2);
    return p ? (int16_t)sl_load_be16(p) : 0;
}

uint16_t sl_reader_u16(sl_reader *r) {
    const uint8_t *p = take(r, 2);
    return p ? sl_load_be16(p) : 0;
}

int32_t sl_reader_i32(sl_reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? (int32_t)sl_load_be32(p) : 0;
}

uint32_t sl_reader_u32(sl_reader *r) {
    const uint8_t *p = take(r, 4);
    return p ? sl_load_be32(p) : 0;
}

int64_t sl_reader_i64(sl_reader *r) {
    const uint8_t *p = take(r, 8);
    return p ? (int64_t)sl_load_be64(p) : 0;
}

double sl_reader_f64(sl_reader *r) {
    const uint8_t *p = take(r, 8);
    if (!p) return 0;
    uint64_t bits = sl_load_be64(p);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

static uint64_t read_leb128(sl_reader *r, int max_bytes) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; i++) {
        if (r->p >= r->end) {
            sl_reader_fail(r, SL_E_SHORT);
            return 0;
        }
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) return v;
    }
    sl_reader_fail(r, SL_E_CORRUPT);
    return 0;
}

uint32_t sl_reader_uvarint(sl_reader *r) {
    uint64_t v = read_leb128(r, 5);
    if (v > UINT32_MAX) {
        sl_reader_fail(r, SL_E_CORRUPT);
        return 0;
    }
    return (uint32_t)v;
}

uint64_t sl_reader_uvarlong(sl_reader *r) {
    return read_leb128(r, 10);
}

int32_t sl_reader_varint(sl_reader *r) {
    return sl_unzigzag32(sl_reader_uvarint(r));
}

int64_t sl_reader_varlong(sl_reader *r) {
    return sl_unzigzag64(sl_reader_uvarlong(r));
}

const uint8_t *sl_reader_bytes(sl_reader *r, size_t n) {
    return take(r, n);
}

void sl_reader_skip(sl_reader *r, size_t n) {
    take(r, n);
}

void sl_reader_sub(sl_reader *r, size_t n, sl_reader *sub) {
    const uint8_t *p = take(r, n);
    if (!p) {
        sl_reader_init(sub, NULL, 0);
        sub->err = r->err;
        return;
    }
    sl_reader_init(sub, p, n);
}
