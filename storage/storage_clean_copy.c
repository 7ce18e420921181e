/* storage_clean_copy.c — the second phase of a compaction pass: rewrite the segments below
 * the pass's end offset, one group of consecutive segments at a time, and swap each
 * cleaned group in (protocol and rules in storage.h, "compaction").
 *
 * Per source batch: a control batch is copied; otherwise its records are decoded and
 * each is kept or dropped (copy_keep); a batch keeping everything, with no tombstone
 * waiting for a delete horizon, is copied byte for byte; one keeping nothing goes; the
 * rest are rebuilt with protocol_batch_builder_add_record (offsets, timestamps and headers
 * kept) under the original header's fields, then given back the original lastOffsetDelta
 * (Kafka's overrideLastOffset: the producer's last sequence stays where it was).
 *
 * Per group, once its sources are read: <base>.log.cleaned is synced and renamed
 * <base>.log.swap (the commit point); the replaced segments' indexes are removed, their
 * .log files renamed *.deleted, and the group's segments after the last kept record
 * (holding nothing any more) deleted; then the swap file is renamed over <base>.log and
 * its indexes are built from it. A group of one segment that lost nothing is left alone. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- reading source batches ---------------- */

void storage_clean_reader_deinit(storage_clean_reader *rd) {
    sl_buf_deinit(&rd->buf);
    rd->seg = NULL;
    rd->buf_pos = 0;
}

/* True when the window holds [pos, pos + n) of seg. */
static bool
reader_has(const storage_clean_reader *rd, const storage_segment *seg, int64_t pos, int64_t n) {
    return rd->seg == seg && pos >= rd->buf_pos && pos + n <= rd->buf_pos + (int64_t)rd->buf.len;
}

/* Refill the window from pos with at least want bytes (a chunk at least), up to the end
 * of the segment's data. */
static int reader_fill(storage_clean_reader *rd,
                       const storage_segment *seg,
                       int64_t pos,
                       int64_t want,
                       int64_t *bytes_read) {
    int64_t left = seg->size - pos;
    if (want < STORAGE_CLEAN_CHUNK_BYTES) want = STORAGE_CLEAN_CHUNK_BYTES;
    if (want > left) want = left;
    rd->seg = NULL;
    sl_buf_reset(&rd->buf);
    if (want <= 0) return SL_OK;
    uint8_t *dst = sl_buf_reserve(&rd->buf, (size_t)want);
    size_t got = 0;
    int rc = storage_pread_all(seg->fd, dst, (size_t)want, pos, &got);
    if (rc != SL_OK) {
        sl_buf_reset(&rd->buf);
        return rc;
    }
    sl_buf_truncate(&rd->buf, got);
    *bytes_read += (int64_t)got;
    rd->seg = seg;
    rd->buf_pos = pos;
    return SL_OK;
}

static int
reader_corrupt(storage_log *log, const storage_segment *seg, int64_t pos, const char *why) {
    SL_LOG(SL_ERROR, STORAGE_MOD, "clean_batch_corrupt",
           "dir=%s base_offset=%" PRId64 " position=%" PRId64 " reason=\"%s\"", log->dir,
           seg->base_offset, pos, why);
    return SL_E_CORRUPT;
}

int storage_clean_read_batch(storage_log *log,
                             storage_clean_reader *rd,
                             const storage_segment *seg,
                             int64_t pos,
                             const uint8_t **p_out,
                             protocol_batch_header *h_out,
                             int64_t *bytes_read) {
    if (!reader_has(rd, seg, pos, PROTOCOL_BATCH_LOG_OVERHEAD)) {
        SL_TRY(reader_fill(rd, seg, pos, STORAGE_CLEAN_CHUNK_BYTES, bytes_read));
    }
    if (!reader_has(rd, seg, pos, PROTOCOL_BATCH_LOG_OVERHEAD)) {
        return reader_corrupt(log, seg, pos, "file shorter than the segment");
    }
    const uint8_t *p = rd->buf.data + (pos - rd->buf_pos);
    size_t size;
    if (protocol_batch_size(p, PROTOCOL_BATCH_LOG_OVERHEAD, (size_t)(seg->size - pos), &size) !=
        SL_OK) {
        return reader_corrupt(log, seg, pos, "bad batch length");
    }
    if (!reader_has(rd, seg, pos, (int64_t)size)) {
        SL_TRY(reader_fill(rd, seg, pos, (int64_t)size, bytes_read));
        if (!reader_has(rd, seg, pos, (int64_t)size)) {
            return reader_corrupt(log, seg, pos, "file shorter than the segment");
        }
        p = rd->buf.data;
    }
    if (protocol_batch_check(p, size, h_out) != SL_OK) return reader_corrupt(log, seg, pos, "crc");
    if (h_out->base_offset < seg->base_offset ||
        protocol_batch_last_offset(h_out) >= seg->next_offset) {
        return reader_corrupt(log, seg, pos, "offset outside the segment");
    }
    *p_out = p;
    return SL_OK;
}

/* ---------------- output ---------------- */

static void copy_out(storage_clean_pass *pass,
                     const uint8_t *p,
                     size_t n,
                     int64_t last_offset,
                     storage_clean_stats *st) {
    sl_buf_put(&pass->out, p, n);
    pass->out_last_offset = last_offset;
    st->bytes_written += (int64_t)n;
}

/* Write what is buffered and start its writeback, so the fdatasync at the swap finds
 * little left to do. */
static int copy_flush(storage_clean_pass *pass) {
    size_t n = pass->out.len;
    if (n == 0) return SL_OK;
    SL_RETURN_IF(pass->out_written + (int64_t)n > INT32_MAX, SL_E_TOO_LARGE,
                      "cleaned_bytes=%" PRId64, pass->out_written + (int64_t)n);
    SL_TRY(storage_pwrite_all(pass->out_fd, pass->out.data, n, pass->out_written));
    (void)sync_file_range(pass->out_fd, pass->out_written, (off_t)n, SYNC_FILE_RANGE_WRITE);
    pass->out_written += (int64_t)n;
    sl_buf_reset(&pass->out);
    return SL_OK;
}

/* ---------------- one batch ---------------- */

static bool batch_has_horizon(const protocol_batch_header *h) {
    return (h->attributes & PROTOCOL_ATTR_DELETE_HORIZON) != 0;
}

/* Kafka's Cleaner.shouldRetainRecord, with delete horizons (KIP-534). */
static bool copy_keep(const storage_clean_pass *pass,
                      const protocol_batch_header *h,
                      const protocol_record *rec,
                      int64_t now_ms,
                      storage_clean_stats *st) {
    if (rec->offset >= pass->end_offset) return true; /* not mapped: nothing supersedes it */
    if (rec->key.len < 0) return false;               /* keyless on a compacted topic */
    int64_t latest = storage_offset_map_get(&pass->map, rec->key.ptr, (size_t)rec->key.len);
    if (latest > rec->offset) return false;
    if (rec->value.len >= 0) return true;
    if (batch_has_horizon(h) && now_ms >= h->base_timestamp) {
        st->tombstones_removed++;
        return false;
    }
    return true;
}

static void copy_note_horizon(storage_clean_pass *pass, int64_t horizon) {
    if (pass->horizon_min < 0 || horizon < pass->horizon_min) pass->horizon_min = horizon;
}

/* Rebuild the batch from the kept records into pass->out. SL_E_* when the builder
 * refuses (the caller then copies the batch as it is). */
static int copy_rebuild(storage_clean_pass *pass,
                        const protocol_batch_header *h,
                        int64_t horizon_ms,
                        storage_clean_stats *st) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = protocol_batch_codec(h);
    opt.base_offset = h->base_offset;
    opt.partition_leader_epoch = h->partition_leader_epoch;
    opt.producer_id = h->producer_id;
    opt.producer_epoch = h->producer_epoch;
    opt.base_sequence = h->base_sequence;
    opt.transactional = protocol_batch_is_transactional(h);
    opt.log_append_time = (h->attributes & PROTOCOL_ATTR_LOG_APPEND_TIME) != 0;
    opt.log_append_time_ms = h->max_timestamp;
    opt.delete_horizon_ms = horizon_ms;
    protocol_batch_builder *b = &pass->builder;
    protocol_batch_builder_reset(b);
    b->opt = opt;
    const protocol_record *kept = (const protocol_record *)pass->kept.data;
    size_t n = pass->kept.len / sizeof(protocol_record);
    for (size_t i = 0; i < n; i++) {
        SL_TRY(protocol_batch_builder_add_record(b, &kept[i]));
    }
    size_t start = pass->out.len;
    SL_TRY(protocol_batch_builder_finish(b, &pass->out));
    uint8_t *nb = pass->out.data + start;
    size_t size = pass->out.len - start;
    /* the batch keeps its offset range, so its last sequence number stays valid */
    sl_store_be32(nb + PROTOCOL_BATCH_OFF_LAST_DELTA, (uint32_t)h->last_offset_delta);
    sl_store_be32(nb + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(nb, size));
#ifdef SL_DEBUG_BUILD
    protocol_batch_header check;
    SL_ASSERT(protocol_batch_check(nb, size, &check) == SL_OK);
    SL_ASSERT(check.base_offset == h->base_offset);
    SL_ASSERT(check.last_offset_delta == h->last_offset_delta);
#endif
    pass->out_last_offset = protocol_batch_last_offset(h);
    st->bytes_written += (int64_t)size;
    st->batches_rewritten++;
    return SL_OK;
}

/* Decide the kept records of a data batch into pass->kept. SL_OK, or the decoder's error
 * (the batch is then kept as it is). */
static int copy_select(storage_clean_pass *pass,
                       const uint8_t *p,
                       const protocol_batch_header *h,
                       int64_t now_ms,
                       bool *tombstone_kept_out,
                       storage_clean_stats *st) {
    size_t size = (size_t)h->batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    protocol_record_iter it;
    sl_buf_reset(&pass->kept);
    *tombstone_kept_out = false;
    SL_TRY(
        protocol_record_iter_init(&it, p, size, &pass->scratch, STORAGE_CLEAN_RECORDS_MAX_BYTES));
    if (protocol_batch_codec(h) != PROTOCOL_CODEC_NONE) {
        st->records_bytes += (int64_t)pass->scratch.len;
    }
    protocol_record rec;
    int64_t tombstones_before = st->tombstones_removed;
    for (int64_t i = 0; i <= h->record_count; i++) {
        int more = protocol_record_iter_next(&it, &rec);
        if (more < 0) {
            st->tombstones_removed = tombstones_before;
            return more;
        }
        if (more == 0) return SL_OK;
        st->records_read++;
        if (!copy_keep(pass, h, &rec, now_ms, st)) continue;
        if (rec.value.len < 0) *tombstone_kept_out = true;
        sl_buf_put(&pass->kept, &rec, sizeof(rec));
    }
    return SL_E_CORRUPT; /* unreachable: the iterator stops after record_count records */
}

static int copy_batch(storage_log *log,
                      storage_clean_pass *pass,
                      const uint8_t *p,
                      const protocol_batch_header *h,
                      int64_t now_ms,
                      storage_clean_stats *st) {
    size_t size = (size_t)h->batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    int64_t last = protocol_batch_last_offset(h);
    if (protocol_batch_is_control(h)) { /* transaction markers: kept (no transactions yet) */
        copy_out(pass, p, size, last, st);
        return SL_OK;
    }
    bool tombstone_kept = false;
    int rc = copy_select(pass, p, h, now_ms, &tombstone_kept, st);
    if (rc != SL_OK) {
        st->batches_undecodable++;
        SL_LOG(SL_WARN, STORAGE_MOD, "clean_batch_undecodable",
               "dir=%s base_offset=%" PRId64 " err=\"%s\"", log->dir, h->base_offset,
               sl_strerror(rc));
        copy_out(pass, p, size, last, st);
        return SL_OK;
    }
    int64_t kept = (int64_t)(pass->kept.len / sizeof(protocol_record));
    st->records_removed += h->record_count - kept;
    int64_t horizon = batch_has_horizon(h) ? h->base_timestamp : -1;
    if (horizon < 0 && tombstone_kept) {
        int64_t d = pass->delete_retention_ms;
        horizon = now_ms > INT64_MAX - d ? INT64_MAX : now_ms + d;
    }
    if (tombstone_kept) copy_note_horizon(pass, horizon);
    if (kept == h->record_count && (!tombstone_kept || batch_has_horizon(h))) {
        copy_out(pass, p, size, last, st);
        return SL_OK;
    }
    pass->out_changed = true;
    if (kept == 0) {
        st->batches_removed++;
        return SL_OK;
    }
    rc = copy_rebuild(pass, h, horizon, st);
    if (rc != SL_OK) { /* cannot happen for records the iterator returned; keep them all */
        SL_LOG(SL_WARN, STORAGE_MOD, "clean_batch_rebuild_failed",
               "dir=%s base_offset=%" PRId64 " err=\"%s\"", log->dir, h->base_offset,
               sl_strerror(rc));
        st->records_removed -= h->record_count - kept;
        copy_out(pass, p, size, last, st);
    }
    return SL_OK;
}

/* ---------------- groups ---------------- */

static void cleaned_name(char *out, int64_t base, const char *suffix) {
    storage_segment_file_name(out, base, suffix);
}

/* Consecutive segments from g0 below the pass's end offset whose sizes add up to at most
 * segment_bytes, whose offsets fit the index's int32 relative offsets and whose index
 * entries fit one index (Kafka's groupSegmentsBySize). Returns the last index. */
static int32_t group_plan(const storage_log *log, const storage_clean_pass *pass, int32_t g0) {
    int64_t base0 = log->segments[g0]->base_offset, bytes = 0, oi = 0, ti = 0;
    int64_t oi_cap = log->cfg.segment_index_bytes / STORAGE_INDEX_ENTRY_BYTES;
    int64_t ti_cap = log->cfg.segment_index_bytes / STORAGE_TIMEINDEX_ENTRY_BYTES - 1;
    int32_t k = g0;
    for (; k < log->segment_count - 1; k++) {
        const storage_segment *seg = log->segments[k];
        if (seg->base_offset >= pass->end_offset) break;
        int64_t range_end = log->segments[k + 1]->base_offset;
        if (k > g0 &&
            (bytes + seg->size > log->cfg.segment_bytes || range_end - 1 - base0 > INT32_MAX ||
             oi + seg->offsets.entries > oi_cap || ti + seg->times.entries > ti_cap)) {
            break;
        }
        bytes += seg->size;
        oi += seg->offsets.entries;
        ti += seg->times.entries;
    }
    return k - 1;
}

/* Sources must be durable before their replacement is: sync those a roll left unsynced
 * and move the recovery point past them, so recovery never scans a cleaned segment (with
 * its gaps) as an unflushed one. */
static int group_sync_sources(storage_log *log, int32_t g0, int32_t gk) {
    for (int32_t i = g0; i <= gk; i++) {
        int rc = storage_segment_sync(log->segments[i]);
        if (rc != SL_OK) return storage_log_fail(log, rc, "clean_sync");
    }
    return storage_log_sync_sealed(log, log->segment_count - 1);
}

/* Start the next group; *none_out when no segment below the end offset is left. */
static int group_begin(storage_log *log, storage_clean_pass *pass, bool *none_out) {
    int32_t g0 = pass->next_index;
    if (g0 >= log->segment_count - 1 || log->segments[g0]->base_offset >= pass->end_offset) {
        *none_out = true;
        return SL_OK;
    }
    int32_t gk = group_plan(log, pass, g0);
    SL_TRY(group_sync_sources(log, g0, gk));
    char name[STORAGE_NAME_BYTES];
    pass->out_base = log->segments[g0]->base_offset;
    cleaned_name(name, pass->out_base, ".log.cleaned");
    int fd = openat(log->dir_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    pass->out_fd = fd;
    pass->group_first = g0;
    pass->group_last = gk;
    pass->src_index = g0;
    pass->src_pos = 0;
    pass->src_expect = pass->out_base;
    pass->out_written = 0;
    pass->out_last_offset = -1;
    pass->out_changed = gk > g0; /* merging segments is a change by itself */
    sl_buf_reset(&pass->out);
    return SL_OK;
}

void storage_clean_copy_discard(storage_log *log, storage_clean_pass *pass) {
    if (pass->out_fd < 0) return;
    close(pass->out_fd);
    pass->out_fd = -1;
    char name[STORAGE_NAME_BYTES];
    cleaned_name(name, pass->out_base, ".log.cleaned");
    (void)storage_file_unlink(log->dir_fd, name);
    pass->group_first = -1;
}

/* The cleaned file: written, dated like the newest source (retention by mtime), synced. */
static int group_seal_output(storage_log *log, storage_clean_pass *pass) {
    SL_TRY(copy_flush(pass));
    struct stat st;
    if (fstat(log->segments[pass->group_last]->fd, &st) == 0) {
        struct timespec times[2] = { st.st_atim, st.st_mtim };
        (void)futimens(pass->out_fd, times);
    }
    if (fdatasync(pass->out_fd) != 0) return -errno;
    return SL_OK;
}

/* The group's last segment holding a kept record (-1: none; the log's first segment
 * stays, empty, so the log start offset keeps its segment). */
static int32_t group_last_kept(const storage_log *log, const storage_clean_pass *pass) {
    int32_t j = -1;
    for (int32_t i = pass->group_first; i <= pass->group_last; i++) {
        if (pass->out_last_offset >= log->segments[i]->base_offset) j = i;
    }
    if (j < 0 && pass->group_first == 0) j = 0;
    return j;
}

static int unlink_indexes(storage_log *log, int64_t base) {
    char name[STORAGE_NAME_BYTES];
    cleaned_name(name, base, ".index");
    SL_TRY(storage_file_unlink(log->dir_fd, name));
    cleaned_name(name, base, ".timeindex");
    return storage_file_unlink(log->dir_fd, name);
}

static int rename_log_deleted(storage_log *log, int64_t base) {
    char from[STORAGE_NAME_BYTES], to[STORAGE_NAME_BYTES];
    cleaned_name(from, base, ".log");
    cleaned_name(to, base, ".log.deleted");
    return renameat(log->dir_fd, from, log->dir_fd, to) == 0 ? SL_OK : -errno;
}

/* The file steps after the commit point: retire the replaced segments (j: the last one
 * the swap file covers) and give the swap file its final name. */
static int group_swap_files(storage_log *log, const storage_clean_pass *pass, int32_t j) {
    char swap[STORAGE_NAME_BYTES], final[STORAGE_NAME_BYTES];
    for (int32_t i = pass->group_first; i <= j; i++) {
        SL_TRY(unlink_indexes(log, log->segments[i]->base_offset));
        if (i > pass->group_first) SL_TRY(rename_log_deleted(log, log->segments[i]->base_offset));
    }
    for (int32_t i = j + 1; i <= pass->group_last; i++) {
        /* after the last kept record: nothing of them is left; valid to drop at any point */
        SL_TRY(storage_segment_rename_deleted(log, log->segments[i]));
    }
    SL_TRY(storage_fsync_dir(log->dir_fd));
    cleaned_name(swap, pass->out_base, ".log.swap");
    cleaned_name(final, pass->out_base, ".log");
    if (renameat(log->dir_fd, swap, log->dir_fd, final) != 0) return -errno;
    return storage_fsync_dir(log->dir_fd);
}

/* A group that kept nothing (and does not hold the log's first segment): its segments
 * only held superseded records, so they are deleted one by one, valid at every step. */
static int group_drop_all(storage_log *log, const storage_clean_pass *pass) {
    for (int32_t i = pass->group_first; i <= pass->group_last; i++) {
        SL_TRY(storage_segment_rename_deleted(log, log->segments[i]));
    }
    return storage_fsync_dir(log->dir_fd);
}

/* Load the swapped-in segment and build its indexes from it. */
static int group_load_cleaned(
    storage_log *log, int64_t base, int64_t range_end, int64_t now_ms, storage_segment **seg_out) {
    storage_segment *seg;
    bool bad = false;
    SL_TRY(storage_segment_open(log, base, now_ms, &seg, &bad));
    int64_t file_size = seg->size;
    int stop = STORAGE_SCAN_END;
    int rc = storage_segment_rebuild(log, seg, false, &stop);
    if (rc == SL_OK &&
        (stop != STORAGE_SCAN_END || seg->size != file_size || seg->next_offset > range_end)) {
        SL_LOG(SL_ERROR, STORAGE_MOD, "clean_output_invalid",
               "dir=%s base_offset=%" PRId64 " reason=%s", log->dir, base,
               storage_scan_stop_name(stop));
        rc = SL_E_CORRUPT;
    }
    if (rc == SL_OK) {
        seg->next_offset = range_end;
        rc = storage_segment_seal(seg);
    }
    if (rc != SL_OK) {
        storage_segment_free(seg);
        return rc;
    }
    seg->synced = true; /* fdatasync'd before it was renamed */
    *seg_out = seg;
    return SL_OK;
}

/* Replace segments [g0, gk] in the array by seg (or by nothing), retiring them. */
static void group_replace(storage_log *log,
                          const storage_clean_pass *pass,
                          storage_segment *seg,
                          int64_t now_ms) {
    int32_t g0 = pass->group_first, n = pass->group_last - g0 + 1;
    for (int32_t i = g0; i < g0 + n; i++) {
        log->size_bytes -= log->segments[i]->size;
        storage_log_push_doomed(log, log->segments[i], now_ms);
    }
    int32_t put = seg ? 1 : 0;
    memmove(log->segments + g0 + put, log->segments + g0 + n,
            (size_t)(log->segment_count - g0 - n) * sizeof(log->segments[0]));
    log->segment_count -= n - put;
    if (seg) {
        log->segments[g0] = seg;
        log->size_bytes += seg->size;
    }
}

/* Make the .cleaned file durable and rename it to .swap: the commit point. */
static int group_commit(storage_log *log, storage_clean_pass *pass) {
    SL_TRY(group_seal_output(log, pass));
    char cleaned[STORAGE_NAME_BYTES], swap[STORAGE_NAME_BYTES];
    cleaned_name(cleaned, pass->out_base, ".log.cleaned");
    cleaned_name(swap, pass->out_base, ".log.swap");
    if (renameat(log->dir_fd, cleaned, log->dir_fd, swap) != 0) return -errno;
    close(pass->out_fd);
    pass->out_fd = -1;
    /* from this directory sync on, recovery completes the swap */
    int rc = storage_fsync_dir(log->dir_fd);
    return rc == SL_OK ? SL_OK : storage_log_fail(log, rc, "clean_swap");
}

/* End the group: swap it in, drop it, or leave an untouched single segment alone. */
static int
group_end(storage_log *log, storage_clean_pass *pass, int64_t now_ms, storage_clean_stats *st) {
    int32_t g0 = pass->group_first, gk = pass->group_last;
    if (!pass->out_changed) {
        storage_clean_copy_discard(log, pass);
        pass->next_index = g0 + 1;
        return SL_OK;
    }
    int32_t j = group_last_kept(log, pass);
    int64_t range_end = log->segments[gk + 1]->base_offset;
    storage_segment *seg = NULL;
    int rc;
    if (j < 0) {
        storage_clean_copy_discard(log, pass);
        pass->group_first = g0;
        rc = group_drop_all(log, pass);
    } else {
        SL_TRY(group_commit(log, pass));
        rc = group_swap_files(log, pass, j);
        if (rc == SL_OK) rc = group_load_cleaned(log, pass->out_base, range_end, now_ms, &seg);
    }
    if (rc != SL_OK) {
        pass->group_first = -1;
        return storage_log_fail(log, rc, "clean_swap");
    }
    group_replace(log, pass, seg, now_ms);
    st->segments_replaced += gk - g0 + 1;
    SL_LOG(SL_INFO, STORAGE_MOD, "clean_swapped",
           "dir=%s base_offset=%" PRId64 " segments=%d cleaned_bytes=%" PRId64
           " last_offset=%" PRId64,
           log->dir, pass->out_base, gk - g0 + 1, seg ? seg->size : 0, pass->out_last_offset);
    pass->group_first = -1;
    pass->next_index = g0 + (seg ? 1 : 0);
    return SL_OK;
}

/* Read and copy the next source batch of the group. */
static int
copy_next(storage_log *log, storage_clean_pass *pass, int64_t now_ms, storage_clean_stats *st) {
    storage_segment *seg = log->segments[pass->src_index];
    const uint8_t *p;
    protocol_batch_header h;
    SL_TRY(storage_clean_read_batch(log, &pass->rd, seg, pass->src_pos, &p, &h, &st->bytes_read));
    SL_RETURN_IF(h.base_offset < pass->src_expect, SL_E_CORRUPT,
                      "base_offset=%" PRId64 " expected>=%" PRId64, h.base_offset,
                      pass->src_expect);
    SL_TRY(copy_batch(log, pass, p, &h, now_ms, st));
    pass->src_pos += (int64_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    pass->src_expect = protocol_batch_last_offset(&h) + 1;
    if (pass->out.len >= STORAGE_CLEAN_CHUNK_BYTES) SL_TRY(copy_flush(pass));
    return SL_OK;
}

int storage_clean_copy_step(storage_log *log,
                            storage_clean_pass *pass,
                            int64_t now_ms,
                            int64_t budget,
                            storage_clean_stats *st,
                            bool *done_out) {
    *done_out = false;
    /* bounded: each step reads a batch, moves to the next source, or ends a group */
    int64_t steps_max = log->size_bytes / PROTOCOL_BATCH_HEADER_BYTES + 3 * log->segment_count + 2;
    for (int64_t i = 0; i < steps_max; i++) {
        if (pass->group_first >= 0 && pass->src_pos >= log->segments[pass->src_index]->size) {
            if (pass->src_index == pass->group_last) {
                SL_TRY(group_end(log, pass, now_ms, st));
            } else {
                pass->src_index++;
                pass->src_pos = 0;
            }
            continue;
        }
        if (storage_clean_work(st) >= budget) return SL_OK;
        if (pass->group_first < 0) {
            bool none = false;
            SL_TRY(group_begin(log, pass, &none));
            if (none) {
                *done_out = true;
                return SL_OK;
            }
            continue;
        }
        SL_TRY(copy_next(log, pass, now_ms, st));
    }
    return SL_OK;
}
