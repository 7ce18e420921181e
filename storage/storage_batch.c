/* storage_batch.c — batch headers read back from segment files.
 *
 * Appends parse batches with protocol/'s parser (the whole batch is in memory). On the
 * read and recovery paths only the 61-byte header is in memory, so the header is decoded
 * here with the same checks, and the CRC is computed in chunks when a batch is larger
 * than the buffer. The cursor reads a file region through one caller-owned buffer so a
 * walk over many small batches costs one pread per buffer, not one per batch. */
#include "storage/storage_int.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <string.h>

_Static_assert(PROTOCOL_BATCH_HEADER_BYTES == 61, "RecordBatch v2 header is 61 bytes");

/* batchLength counts everything after itself: 61 - 12 = 49 bytes of header at least. */
#define BATCH_LENGTH_MIN (PROTOCOL_BATCH_HEADER_BYTES - PROTOCOL_BATCH_LOG_OVERHEAD)

int storage_batch_decode(const uint8_t *p, int64_t avail, storage_batch *out) {
    if (avail < PROTOCOL_BATCH_HEADER_BYTES) return SL_E_SHORT;
    int32_t batch_length = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LENGTH);
    if (batch_length < BATCH_LENGTH_MIN) return SL_E_CORRUPT;
    if (p[PROTOCOL_BATCH_OFF_MAGIC] != PROTOCOL_BATCH_MAGIC) return SL_E_CORRUPT;
    int64_t base = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_BASE_OFFSET);
    int32_t last_delta = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LAST_DELTA);
    int32_t count = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_COUNT);
    if (base < 0 || last_delta < 0 || count < 0) return SL_E_CORRUPT;
    if (base > INT64_MAX - last_delta - 1) return SL_E_CORRUPT;
    if (count > 0 && last_delta < count - 1) return SL_E_CORRUPT;
    int64_t size = (int64_t)batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    if (size > avail) return SL_E_SHORT;
    out->base_offset = base;
    out->last_offset = base + last_delta;
    out->max_timestamp = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_MAX_TS);
    out->size = size;
    out->epoch = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_EPOCH);
    out->crc = sl_load_be32(p + PROTOCOL_BATCH_OFF_CRC);
    return SL_OK;
}

void storage_cursor_init(storage_cursor *c, int fd, int64_t limit, uint8_t *buf, size_t cap) {
    c->fd = fd;
    c->limit = limit;
    c->buf = buf;
    c->cap = cap;
    c->buf_pos = 0;
    c->buf_len = 0;
}

/* Make up to n bytes at pos available (fewer at the region's or file's end): *p_out
 * points at them and *got_out says how many. n <= cap. */
static int
cursor_fill(storage_cursor *c, int64_t pos, size_t n, const uint8_t **p_out, size_t *got_out) {
    int64_t left = c->limit - pos;
    if (left <= 0) {
        *got_out = 0;
        *p_out = c->buf;
        return SL_OK;
    }
    if ((int64_t)n > left) n = (size_t)left;
    if (pos >= c->buf_pos && pos + (int64_t)n <= c->buf_pos + (int64_t)c->buf_len) {
        *p_out = c->buf + (pos - c->buf_pos);
        *got_out = n;
        return SL_OK;
    }
    size_t want = (int64_t)c->cap < left ? c->cap : (size_t)left;
    size_t got = 0;
    c->buf_len = 0;
    SL_TRY(storage_pread_all(c->fd, c->buf, want, pos, &got));
    c->buf_pos = pos;
    c->buf_len = got;
    *p_out = c->buf;
    *got_out = got < n ? got : n;
    return SL_OK;
}

int storage_cursor_batch(storage_cursor *c, int64_t pos, storage_batch *out) {
    const uint8_t *p;
    size_t got = 0;
    if (pos < 0 || pos > c->limit) return SL_E_RANGE;
    SL_TRY(cursor_fill(c, pos, PROTOCOL_BATCH_HEADER_BYTES, &p, &got));
    if (got < PROTOCOL_BATCH_HEADER_BYTES) return SL_E_SHORT;
    return storage_batch_decode(p, c->limit - pos, out);
}

int storage_cursor_check_crc(storage_cursor *c, int64_t pos, const storage_batch *b) {
    const uint8_t *p;
    size_t got = 0;
    if ((size_t)b->size <= c->cap) {
        SL_TRY(cursor_fill(c, pos, (size_t)b->size, &p, &got));
        if ((int64_t)got < b->size) return SL_E_SHORT;
        protocol_batch_header h;
        return protocol_batch_check(p, got, &h) == SL_OK ? SL_OK : SL_E_CORRUPT;
    }
    /* Larger than the buffer: stream the CRC range in buffer-sized pieces. */
    uint32_t crc = 0;
    int64_t at = pos + PROTOCOL_BATCH_OFF_ATTRIBUTES;
    int64_t end = pos + b->size;
    while (at < end) {
        size_t n = end - at < (int64_t)c->cap ? (size_t)(end - at) : c->cap;
        SL_TRY(cursor_fill(c, at, n, &p, &got));
        if (got == 0) return SL_E_SHORT;
        crc = sl_crc32c_update(crc, p, got);
        at += (int64_t)got;
    }
    return crc == b->crc ? SL_OK : SL_E_CORRUPT;
}
