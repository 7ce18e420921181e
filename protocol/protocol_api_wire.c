/* protocol_api_wire.c — primitive Kafka codecs shared by the generated message codecs:
 * classic and compact strings, bytes, array counts, arrays of primitives and the
 * tagged-field section (formats in protocol.h, "message codecs"). Reads leave errors in
 * the reader (sticky) so a generated decoder tests sl_reader_err once per structure. */
#include "protocol/protocol.h"

#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <string.h>

#define PROTOCOL_STRING_MAX 0x7fff /* Kafka rejects longer strings (int16 length) */

/* A length or count prefix: classic int16/int32 (negative = null) or compact
 * uvarint N+1 (0 = null). Returns -1 for null; fails r with SL_E_CORRUPT for a value
 * beyond INT32_MAX. */
static int64_t read_length(sl_reader *r, bool flex, bool wide) {
    if (flex) {
        uint32_t n = sl_reader_uvarint(r);
        return (int64_t)n - 1;
    }
    int64_t n = wide ? sl_reader_i32(r) : sl_reader_i16(r);
    return n < 0 ? -1 : n;
}

static int64_t read_checked_length(sl_reader *r, bool flex, bool wide, bool nullable) {
    int64_t n = read_length(r, flex, wide);
    if (sl_reader_err(r)) return 0;
    if (n < 0 && !nullable) {
        sl_reader_fail(r, SL_E_CORRUPT);
        return 0;
    }
    if (n > INT32_MAX) {
        sl_reader_fail(r, SL_E_CORRUPT);
        return 0;
    }
    return n;
}

sl_str protocol_read_str(sl_reader *r, bool flex, bool nullable) {
    int64_t n = read_checked_length(r, flex, false, nullable);
    if (sl_reader_err(r)) return (sl_str){ NULL, 0 };
    if (n < 0) return SL_STR_NULL;
    if (n > PROTOCOL_STRING_MAX) {
        sl_reader_fail(r, SL_E_CORRUPT);
        return (sl_str){ NULL, 0 };
    }
    const uint8_t *p = sl_reader_bytes(r, (size_t)n);
    if (!p) return (sl_str){ NULL, 0 };
    return (sl_str){ (const char *)p, (int32_t)n };
}

sl_bytes protocol_read_bytes(sl_reader *r, bool flex, bool nullable) {
    int64_t n = read_checked_length(r, flex, true, nullable);
    if (sl_reader_err(r)) return (sl_bytes){ NULL, 0 };
    if (n < 0) return SL_BYTES_NULL;
    const uint8_t *p = sl_reader_bytes(r, (size_t)n);
    if (!p) return (sl_bytes){ NULL, 0 };
    return (sl_bytes){ p, (int32_t)n };
}

protocol_uuid protocol_read_uuid(sl_reader *r) {
    protocol_uuid u;
    const uint8_t *p = sl_reader_bytes(r, sizeof(u.b));
    if (p) {
        memcpy(u.b, p, sizeof(u.b));
    } else {
        memset(u.b, 0, sizeof(u.b));
    }
    return u;
}

int32_t protocol_read_count(sl_reader *r, bool flex, bool nullable, size_t min_item_bytes) {
    int64_t n = read_checked_length(r, flex, true, nullable);
    if (sl_reader_err(r)) return 0;
    if (min_item_bytes == 0) min_item_bytes = 1;
    if (n > 0 && (uint64_t)n > sl_reader_remaining(r) / min_item_bytes) {
        sl_reader_fail(r, SL_E_SHORT);
        return 0;
    }
    return (int32_t)n;
}

/* Reads the count of a primitive array and allocates its items (NULL when the array is
 * null, empty or the read failed). */
static void *read_array_items(sl_reader *r,
                              bool flex,
                              bool nullable,
                              sl_arena *arena,
                              size_t item_wire_bytes,
                              size_t item_size,
                              int32_t *count) {
    *count = protocol_read_count(r, flex, nullable, item_wire_bytes);
    if (*count <= 0) return NULL;
    return sl_arena_array(arena, (size_t)*count, item_size);
}

void protocol_read_int8_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int8_array *out) {
    out->items = read_array_items(r, flex, nullable, arena, 1, sizeof(int8_t), &out->count);
    for (int32_t i = 0; i < out->count; i++) {
        out->items[i] = sl_reader_i8(r);
    }
}

void protocol_read_int32_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int32_array *out) {
    out->items = read_array_items(r, flex, nullable, arena, 4, sizeof(int32_t), &out->count);
    for (int32_t i = 0; i < out->count; i++) {
        out->items[i] = sl_reader_i32(r);
    }
}

void protocol_read_int64_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int64_array *out) {
    out->items = read_array_items(r, flex, nullable, arena, 8, sizeof(int64_t), &out->count);
    for (int32_t i = 0; i < out->count; i++) {
        out->items[i] = sl_reader_i64(r);
    }
}

void protocol_read_uuid_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_uuid_array *out) {
    out->items = read_array_items(r, flex, nullable, arena, 16, sizeof(protocol_uuid), &out->count);
    for (int32_t i = 0; i < out->count; i++) {
        out->items[i] = protocol_read_uuid(r);
    }
}

void protocol_read_str_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_str_array *out) {
    /* the shortest string is 1 byte (compact) or 2 (int16 length) */
    out->items =
        read_array_items(r, flex, nullable, arena, flex ? 1 : 2, sizeof(sl_str), &out->count);
    for (int32_t i = 0; i < out->count && !sl_reader_err(r); i++) {
        out->items[i] = protocol_read_str(r, flex, false);
    }
}

uint32_t protocol_read_tag(sl_reader *r, sl_reader *payload) {
    uint32_t tag = sl_reader_uvarint(r);
    uint32_t size = sl_reader_uvarint(r);
    if (!sl_reader_err(r) && size > sl_reader_remaining(r)) sl_reader_fail(r, SL_E_SHORT);
    if (sl_reader_err(r)) {
        /* an empty payload holding r's error; not sl_reader_sub, whose failure path
         * starts its empty reader from a NULL pointer */
        sl_reader_init(payload, r->end, 0);
        payload->err = sl_reader_err(r);
        return tag;
    }
    sl_reader_sub(r, size, payload);
    return tag;
}

void protocol_read_tag_done(sl_reader *r, const sl_reader *payload) {
    if (sl_reader_err(payload)) {
        sl_reader_fail(r, sl_reader_err(payload));
    } else if (sl_reader_remaining(payload) != 0) {
        sl_reader_fail(r, SL_E_CORRUPT);
    }
}

void protocol_skip_tags(sl_reader *r) {
    uint32_t n = sl_reader_uvarint(r);
    /* each field takes at least two bytes, so a failed read ends the loop early */
    for (uint32_t i = 0; i < n && !sl_reader_err(r); i++) {
        sl_reader payload;
        (void)protocol_read_tag(r, &payload);
    }
}

/* Length prefix for a value of n bytes/items, n < 0 meaning null. */
static void write_length(sl_buf *out, bool flex, bool wide, int64_t n) {
    if (flex) {
        sl_buf_put_uvarint(out, n < 0 ? 0 : (uint32_t)(n + 1));
    } else if (wide) {
        sl_buf_put_i32(out, n < 0 ? -1 : (int32_t)n);
    } else {
        sl_buf_put_i16(out, n < 0 ? -1 : (int16_t)n);
    }
}

void protocol_write_str(sl_buf *out, bool flex, bool nullable, sl_str s) {
    if (s.len < 0) {
        write_length(out, flex, false, nullable ? -1 : 0);
        return;
    }
    SL_ASSERT(s.len <= PROTOCOL_STRING_MAX);
    write_length(out, flex, false, s.len);
    sl_buf_put(out, s.ptr, (size_t)s.len);
}

void protocol_write_bytes(sl_buf *out, bool flex, bool nullable, sl_bytes b) {
    if (b.len < 0) {
        write_length(out, flex, true, nullable ? -1 : 0);
        return;
    }
    write_length(out, flex, true, b.len);
    sl_buf_put(out, b.ptr, (size_t)b.len);
}

void protocol_write_uuid(sl_buf *out, const protocol_uuid *u) {
    sl_buf_put(out, u->b, sizeof(u->b));
}

void protocol_write_count(sl_buf *out, bool flex, bool nullable, int32_t count) {
    write_length(out, flex, true, count < 0 ? (nullable ? -1 : 0) : count);
}

void protocol_write_int8_array(sl_buf *out,
                               bool flex,
                               bool nullable,
                               const protocol_int8_array *a) {
    protocol_write_count(out, flex, nullable, a->count);
    for (int32_t i = 0; i < a->count; i++) {
        sl_buf_put_i8(out, a->items[i]);
    }
}

void protocol_write_int32_array(sl_buf *out,
                                bool flex,
                                bool nullable,
                                const protocol_int32_array *a) {
    protocol_write_count(out, flex, nullable, a->count);
    for (int32_t i = 0; i < a->count; i++) {
        sl_buf_put_i32(out, a->items[i]);
    }
}

void protocol_write_int64_array(sl_buf *out,
                                bool flex,
                                bool nullable,
                                const protocol_int64_array *a) {
    protocol_write_count(out, flex, nullable, a->count);
    for (int32_t i = 0; i < a->count; i++) {
        sl_buf_put_i64(out, a->items[i]);
    }
}

void protocol_write_uuid_array(sl_buf *out,
                               bool flex,
                               bool nullable,
                               const protocol_uuid_array *a) {
    protocol_write_count(out, flex, nullable, a->count);
    for (int32_t i = 0; i < a->count; i++) {
        protocol_write_uuid(out, &a->items[i]);
    }
}

void protocol_write_str_array(sl_buf *out, bool flex, bool nullable, const protocol_str_array *a) {
    protocol_write_count(out, flex, nullable, a->count);
    for (int32_t i = 0; i < a->count; i++) {
        protocol_write_str(out, flex, false, a->items[i]);
    }
}

size_t protocol_write_tag_begin(sl_buf *out, uint32_t tag) {
    sl_buf_put_uvarint(out, tag);
    return out->len;
}

void protocol_write_tag_end(sl_buf *out, size_t mark) {
    SL_ASSERT(mark <= out->len);
    size_t size = out->len - mark;
    SL_ASSERT(size <= UINT32_MAX);
    size_t prefix = sl_uvarint_size(size);
    sl_buf_reserve(out, prefix);
    memmove(out->data + mark + prefix, out->data + mark, size);
    /* write the varint into place: encode at the end, then copy it back */
    size_t end = out->len;
    sl_buf_put_uvarint(out, (uint32_t)size);
    memcpy(out->data + mark, out->data + end, prefix);
    sl_buf_truncate(out, end);
}
