/* storage_read.c — fetch reads and offset/time lookups.
 *
 * Cost per read: a binary search over segments, a binary search of the segment's
 * mmap'd .index, then a walk of batch headers from the indexed position (about
 * index_interval_bytes of headers, read through an 8 KiB buffer: usually one pread),
 * then the headers of the batches returned. Records are never looked at. */
#include "storage/storage_int.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <inttypes.h>

static void read_empty(const storage_log *log, int64_t offset, storage_read_result *out) {
    const storage_segment *seg = storage_log_active(log);
    out->fd = seg->fd;
    out->position = seg->size;
    out->length = 0;
    out->first_offset = offset;
}

/* Whole batches from (pos, b) on, within max_bytes and below max_offset. A damaged or
 * out-of-place batch after the first ends the result early; the read that starts there
 * reports it. */
static int read_collect(storage_log *log,
                        storage_segment *seg,
                        int64_t pos,
                        storage_batch b,
                        int32_t max_bytes,
                        int64_t max_offset,
                        bool min_one_batch,
                        storage_read_result *out) {
    storage_cursor c;
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    int64_t total = 0, first_offset = b.base_offset;
    int64_t steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t i = 0; i < steps_max; i++) {
        if (b.last_offset >= max_offset) break;
        if (total + b.size > max_bytes) {
            if (total == 0 && min_one_batch) total = b.size; /* KIP-74 */
            break;
        }
        total += b.size;
        if (pos + total >= seg->size) break;
        int64_t expect = b.last_offset + 1;
        int rc = storage_segment_batch_at(log, seg, &c, pos + total, expect, &b);
        if (rc < 0 && rc > -1000) return rc;
        if (rc != SL_OK) break;
    }
    out->fd = seg->fd;
    out->position = pos;
    out->length = (int32_t)total;
    out->first_offset = total > 0 ? first_offset : out->first_offset;
    return SL_OK;
}

int storage_log_read(storage_log *log,
                     int64_t offset,
                     int32_t max_bytes,
                     int64_t max_offset,
                     bool min_one_batch,
                     storage_read_result *out) {
    SL_RETURN_IF(max_bytes < 0, SL_E_INVALID, "max_bytes=%d", max_bytes);
    int64_t end = storage_log_end_offset(log);
    SL_RETURN_IF(offset < log->start_offset || offset > end, SL_E_RANGE,
                      "offset=%" PRId64 " start=%" PRId64 " end=%" PRId64, offset,
                      log->start_offset, end);
    storage_read_result r;
    read_empty(log, offset, &r);
    if (offset == end || offset >= max_offset) {
        *out = r;
        return SL_OK;
    }
    int32_t i = storage_log_segment_for(log, offset);
    for (i = i < 0 ? 0 : i; i < log->segment_count; i++) {
        storage_segment *seg = log->segments[i];
        int64_t pos;
        storage_batch b;
        int rc = storage_segment_locate(log, seg, offset, &pos, &b);
        if (rc == SL_E_NOT_FOUND) continue; /* past this segment's end: the next one */
        SL_TRY(rc);
        SL_TRY(read_collect(log, seg, pos, b, max_bytes, max_offset, min_one_batch, &r));
        break;
    }
    *out = r;
    return SL_OK;
}

int storage_log_read_copy(storage_log *log,
                          int64_t offset,
                          int32_t max_bytes,
                          int64_t max_offset,
                          bool min_one_batch,
                          sl_buf *out) {
    storage_read_result r;
    SL_TRY(storage_log_read(log, offset, max_bytes, max_offset, min_one_batch, &r));
    if (r.length == 0) return SL_OK;
    size_t old_len = out->len, got = 0;
    uint8_t *dst = sl_buf_reserve(out, (size_t)r.length);
    int rc = storage_pread_all(r.fd, dst, (size_t)r.length, r.position, &got);
    if (rc == SL_OK && got != (size_t)r.length) rc = SL_E_CORRUPT;
    if (rc != SL_OK) sl_buf_truncate(out, old_len);
    return rc;
}

/* In one segment: the first batch at or after from_offset whose maxTimestamp >= ts. */
static int time_search_segment(storage_log *log,
                               storage_segment *seg,
                               int64_t ts,
                               int64_t *offset_out,
                               int64_t *timestamp_out) {
    SL_TRY(storage_segment_check_indexes(log, seg));
    int64_t from = seg->base_offset;
    int32_t i = storage_index_time_floor(&seg->times, ts);
    if (i >= 0) {
        int64_t t;
        int32_t rel;
        storage_index_time_at(&seg->times, i, &t, &rel);
        from = seg->base_offset + rel;
    }
    if (from < log->start_offset) from = log->start_offset;
    int64_t pos;
    storage_batch b;
    SL_TRY(storage_segment_locate(log, seg, from, &pos, &b));
    storage_cursor c;
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    int64_t steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t k = 0; k < steps_max; k++) {
        if (b.max_timestamp >= ts) {
            *offset_out = b.base_offset > log->start_offset ? b.base_offset : log->start_offset;
            *timestamp_out = b.max_timestamp;
            return SL_OK;
        }
        pos += b.size;
        if (pos >= seg->size) break;
        SL_TRY(storage_segment_batch_at(log, seg, &c, pos, b.last_offset + 1, &b));
    }
    return SL_E_NOT_FOUND;
}

int storage_log_offset_for_time(storage_log *log,
                                int64_t ts,
                                int64_t *offset_out,
                                int64_t *timestamp_out) {
    for (int32_t i = 0; i < log->segment_count; i++) {
        storage_segment *seg = log->segments[i];
        if (seg->next_offset <= log->start_offset || seg->size == 0) continue;
        if (seg->max_timestamp < ts) continue;
        int rc = time_search_segment(log, seg, ts, offset_out, timestamp_out);
        if (rc != SL_E_NOT_FOUND) return rc;
    }
    return SL_E_NOT_FOUND;
}

int storage_log_max_timestamp(storage_log *log, int64_t *offset_out, int64_t *timestamp_out) {
    const storage_segment *best = NULL;
    for (int32_t i = 0; i < log->segment_count; i++) {
        const storage_segment *seg = log->segments[i];
        if (seg->next_offset <= log->start_offset || seg->size == 0) continue;
        if (seg->max_timestamp >= 0 && (!best || seg->max_timestamp > best->max_timestamp)) {
            best = seg;
        }
    }
    if (!best) return SL_E_NOT_FOUND;
    *offset_out = best->offset_of_max_timestamp;
    *timestamp_out = best->max_timestamp;
    return SL_OK;
}
