/* storage_segment.c — one segment: a .log file of whole batches and its two sparse
 * indexes (format in storage.h).
 *
 * Every batch, whether appended or found by a recovery scan, goes through
 * storage_segment_account, so appends and rebuilds produce the same index entries. Index
 * entries are hints: every lookup checks the batch it lands on, and a wrong entry makes
 * the index be rebuilt from the .log file, which is the only source of truth. */
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

static const char *const segment_suffixes[] = { ".log", ".index", ".timeindex" };

static storage_segment *segment_new(int64_t base_offset, int64_t now_ms) {
    storage_segment *seg = SL_NEW(storage_segment);
    seg->base_offset = base_offset;
    seg->fd = -1;
    seg->next_offset = base_offset;
    seg->max_timestamp = STORAGE_NO_TIMESTAMP;
    seg->offset_of_max_timestamp = -1;
    seg->rolling_ms = now_ms;
    seg->synced = true;
    storage_index_init(&seg->offsets, STORAGE_INDEX_ENTRY_BYTES);
    storage_index_init(&seg->times, STORAGE_TIMEINDEX_ENTRY_BYTES);
    return seg;
}

void storage_segment_free(storage_segment *seg) {
    if (!seg) return;
    storage_index_close(&seg->offsets);
    storage_index_close(&seg->times);
    if (seg->fd >= 0) close(seg->fd);
    sl_free(seg);
}

/* Open an index writable and empty it (the file may hold stale entries). */
static int segment_index_reset(storage_log *log,
                               storage_segment *seg,
                               storage_index *idx,
                               const char *suffix) {
    char name[STORAGE_NAME_BYTES];
    bool misaligned;
    storage_segment_file_name(name, seg->base_offset, suffix);
    storage_index_close(idx);
    SL_TRY(storage_index_open(idx, log->dir_fd, name, &misaligned));
    idx->entries = 0;
    SL_TRY(storage_index_resize(idx, 0));
    return storage_index_resize(idx, log->cfg.segment_index_bytes);
}

int storage_segment_create(storage_log *log,
                           int64_t base_offset,
                           int64_t now_ms,
                           storage_segment **seg_out) {
    char name[STORAGE_NAME_BYTES];
    storage_segment_file_name(name, base_offset, ".log");
    int fd = openat(log->dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != 0) {
        int rc = st.st_size != 0 ? SL_E_EXISTS : -errno;
        close(fd);
        SL_LOG(SL_ERROR, STORAGE_MOD, "segment_create_failed",
               "dir=%s base_offset=%" PRId64 " err=\"%s\"", log->dir, base_offset, sl_strerror(rc));
        return rc;
    }
    storage_segment *seg = segment_new(base_offset, now_ms);
    seg->fd = fd;
    int rc = segment_index_reset(log, seg, &seg->offsets, ".index");
    if (rc == SL_OK) rc = segment_index_reset(log, seg, &seg->times, ".timeindex");
    if (rc == SL_OK) rc = storage_fsync_dir(log->dir_fd);
    if (rc != SL_OK) {
        storage_segment_free(seg);
        return rc;
    }
    seg->active = true;
    seg->indexes_checked = true;
    *seg_out = seg;
    return SL_OK;
}

int storage_segment_open(storage_log *log,
                         int64_t base_offset,
                         int64_t now_ms,
                         storage_segment **seg_out,
                         bool *indexes_bad_out) {
    char name[STORAGE_NAME_BYTES];
    storage_segment_file_name(name, base_offset, ".log");
    int fd = openat(log->dir_fd, name, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    storage_segment *seg = segment_new(base_offset, now_ms);
    seg->fd = fd;
    seg->size = st.st_size;
    bool bad = false;
    for (int i = 1; i <= 2; i++) {
        storage_index *idx = i == 1 ? &seg->offsets : &seg->times;
        bool misaligned = false;
        storage_segment_file_name(name, base_offset, segment_suffixes[i]);
        int rc = storage_index_open_sealed(idx, log->dir_fd, name, &misaligned);
        if (rc == SL_E_NOT_FOUND) {
            bad = true;
        } else if (rc != SL_OK) {
            storage_segment_free(seg);
            return rc;
        }
        bad = bad || misaligned;
    }
    if (seg->times.entries > 0) {
        int64_t ts;
        int32_t rel;
        storage_index_time_at(&seg->times, seg->times.entries - 1, &ts, &rel);
        seg->max_timestamp = ts;
        seg->offset_of_max_timestamp = base_offset + rel;
    }
    *indexes_bad_out = bad;
    *seg_out = seg;
    return SL_OK;
}

/* The index entries for a batch at an index point (storage.h: "an entry is added before
 * a batch once more than index_interval_bytes have been appended since the previous"). */
static int segment_index_point(storage_segment *seg, int64_t pos, const storage_batch *b) {
    storage_index *oi = &seg->offsets, *ti = &seg->times;
    if (oi->fd >= 0 && oi->entries < storage_index_capacity(oi)) {
        SL_TRY(storage_index_append_offset(oi, (int32_t)(b->last_offset - seg->base_offset),
                                           (int32_t)pos));
    }
    if (ti->fd < 0 || seg->max_timestamp < 0 || ti->entries >= storage_index_capacity(ti) - 1) {
        return SL_OK;
    }
    if (ti->entries > 0) {
        int64_t last_ts;
        int32_t rel;
        storage_index_time_at(ti, ti->entries - 1, &last_ts, &rel);
        if (seg->max_timestamp <= last_ts) return SL_OK;
    }
    return storage_index_append_time(ti, seg->max_timestamp,
                                     (int32_t)(seg->offset_of_max_timestamp - seg->base_offset));
}

int storage_segment_account(storage_log *log,
                            storage_segment *seg,
                            int64_t pos,
                            const storage_batch *b) {
    SL_ASSERT(pos == seg->size);
    SL_ASSERT(storage_log_offset_follows(log, b->base_offset, seg->next_offset));
    SL_ASSERT(b->last_offset - seg->base_offset <= INT32_MAX);
    if (pos == 0 && b->max_timestamp >= 0) seg->rolling_ms = b->max_timestamp;
    if (b->max_timestamp > seg->max_timestamp) {
        seg->max_timestamp = b->max_timestamp;
        seg->offset_of_max_timestamp = b->last_offset;
    }
    if (seg->bytes_since_index > log->cfg.index_interval_bytes) {
        SL_TRY(segment_index_point(seg, pos, b));
        seg->bytes_since_index = 0;
    }
    seg->bytes_since_index += b->size;
    seg->size = pos + b->size;
    seg->next_offset = b->last_offset + 1;
    return SL_OK;
}

const char *storage_scan_stop_name(int stop) {
    switch (stop) {
    case STORAGE_SCAN_END:
        return "end";
    case STORAGE_SCAN_SHORT:
        return "torn_batch";
    case STORAGE_SCAN_CORRUPT:
        return "corrupt_batch";
    case STORAGE_SCAN_GAP:
        return "offset_gap";
    case STORAGE_SCAN_OVERFLOW:
        return "offset_overflow";
    case STORAGE_SCAN_EPOCH:
        return "epoch_regression";
    default:
        return "unknown";
    }
}

/* Classify one batch of a scan: STORAGE_SCAN_END when it is good, else why not. */
static int segment_scan_batch(const storage_log *log,
                              storage_segment *seg,
                              storage_cursor *c,
                              int64_t pos,
                              storage_batch *b,
                              int *stop_out) {
    int rc = storage_cursor_batch(c, pos, b);
    if (rc == SL_OK && !storage_log_offset_follows(log, b->base_offset, seg->next_offset)) {
        *stop_out = STORAGE_SCAN_GAP;
        return SL_OK;
    }
    if (rc == SL_OK &&
        (b->last_offset - seg->base_offset > INT32_MAX || pos + b->size > INT32_MAX)) {
        *stop_out = STORAGE_SCAN_OVERFLOW;
        return SL_OK;
    }
    if (rc == SL_OK) rc = storage_cursor_check_crc(c, pos, b);
    if (rc == SL_E_SHORT) {
        *stop_out = STORAGE_SCAN_SHORT;
    } else if (rc == SL_E_CORRUPT || rc == SL_E_RANGE) {
        *stop_out = STORAGE_SCAN_CORRUPT;
    } else if (rc != SL_OK) {
        return rc; /* I/O error */
    } else {
        *stop_out = STORAGE_SCAN_END;
    }
    return SL_OK;
}

static void segment_reset_counters(storage_segment *seg) {
    seg->size = 0;
    seg->next_offset = seg->base_offset;
    seg->max_timestamp = STORAGE_NO_TIMESTAMP;
    seg->offset_of_max_timestamp = -1;
    seg->bytes_since_index = 0;
}

int storage_segment_rebuild(storage_log *log,
                            storage_segment *seg,
                            bool assign_epochs,
                            int *stop_out) {
    struct stat st;
    if (fstat(seg->fd, &st) != 0) return -errno;
    SL_TRY(segment_index_reset(log, seg, &seg->offsets, ".index"));
    SL_TRY(segment_index_reset(log, seg, &seg->times, ".timeindex"));
    segment_reset_counters(seg);
    seg->indexes_checked = true;
    uint8_t *buf = sl_malloc(STORAGE_SCAN_BUF_BYTES);
    storage_cursor c;
    storage_cursor_init(&c, seg->fd, st.st_size, buf, STORAGE_SCAN_BUF_BYTES);
    int rc = SL_OK, stop = STORAGE_SCAN_END;
    int32_t epoch_max = -1;
    int64_t batches_max = st.st_size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t i = 0; i < batches_max && seg->size < st.st_size; i++) {
        storage_batch b;
        rc = segment_scan_batch(log, seg, &c, seg->size, &b, &stop);
        if (rc != SL_OK || stop != STORAGE_SCAN_END) break;
        if (b.epoch >= 0 && b.epoch < epoch_max) {
            stop = STORAGE_SCAN_EPOCH;
            break;
        }
        if (b.epoch > epoch_max) epoch_max = b.epoch;
        if (assign_epochs && b.epoch >= 0 && b.epoch > storage_epochs_latest(&log->epochs)) {
            storage_epochs_assign(&log->epochs, b.epoch, b.base_offset);
        }
        rc = storage_segment_account(log, seg, seg->size, &b);
        if (rc != SL_OK) break;
    }
    sl_free(buf);
    if (rc != SL_OK) return rc;
    *stop_out = stop;
    return SL_OK;
}

int storage_segment_activate(storage_log *log, storage_segment *seg) {
    for (int i = 1; i <= 2; i++) {
        storage_index *idx = i == 1 ? &seg->offsets : &seg->times;
        if (idx->fd < 0) {
            char name[STORAGE_NAME_BYTES];
            bool misaligned;
            int32_t entries = idx->entries;
            storage_segment_file_name(name, seg->base_offset, segment_suffixes[i]);
            storage_index_close(idx);
            SL_TRY(storage_index_open(idx, log->dir_fd, name, &misaligned));
            if (idx->entries > entries) idx->entries = entries;
        }
        /* Cut to the used entries first so stale bytes after them read as zeros. */
        SL_TRY(storage_index_resize(idx, (int64_t)idx->entries * idx->entry_bytes));
        SL_TRY(storage_index_resize(idx, log->cfg.segment_index_bytes));
    }
    seg->active = true;
    return SL_OK;
}

int storage_segment_seal(storage_segment *seg) {
    storage_index *ti = &seg->times;
    if (ti->fd >= 0 && seg->max_timestamp >= 0 && ti->entries < storage_index_capacity(ti)) {
        int64_t last_ts = -1;
        int32_t rel;
        if (ti->entries > 0) storage_index_time_at(ti, ti->entries - 1, &last_ts, &rel);
        if (seg->max_timestamp > last_ts) {
            SL_TRY(storage_index_append_time(
                ti, seg->max_timestamp,
                (int32_t)(seg->offset_of_max_timestamp - seg->base_offset)));
        }
    }
    if (seg->offsets.fd >= 0) SL_TRY(storage_index_seal(&seg->offsets));
    if (ti->fd >= 0) SL_TRY(storage_index_seal(ti));
    seg->active = false;
    return SL_OK;
}

int storage_segment_sync(storage_segment *seg) {
    if (seg->synced) return SL_OK;
    if (fdatasync(seg->fd) != 0) return -errno;
    seg->synced = true;
    return SL_OK;
}

int storage_segment_reindex(storage_log *log, storage_segment *seg) {
    int64_t size = seg->size, next = seg->next_offset;
    int stop = STORAGE_SCAN_END;
    SL_LOG(SL_WARN, STORAGE_MOD, "index_rebuild", "dir=%s base_offset=%" PRId64, log->dir,
           seg->base_offset);
    int rc = storage_segment_rebuild(log, seg, false, &stop);
    /* compacted: the last batch may end before the next segment begins */
    bool end_ok = log->offset_gaps ? seg->next_offset <= next : seg->next_offset == next;
    if (rc == SL_OK && (stop != STORAGE_SCAN_END || seg->size != size || !end_ok)) {
        SL_LOG(SL_ERROR, STORAGE_MOD, "segment_damaged",
               "dir=%s base_offset=%" PRId64 " valid_bytes=%" PRId64 " file_bytes=%" PRId64
               " next_offset=%" PRId64 " expected_next_offset=%" PRId64 " reason=%s",
               log->dir, seg->base_offset, seg->size, size, seg->next_offset, next,
               storage_scan_stop_name(stop));
        rc = SL_E_CORRUPT;
    }
    int64_t max_ts = seg->max_timestamp, max_off = seg->offset_of_max_timestamp;
    seg->size = size;
    seg->next_offset = next;
    int seal_rc = storage_segment_seal(seg);
    seg->max_timestamp = max_ts;
    seg->offset_of_max_timestamp = max_off;
    return rc != SL_OK ? rc : seal_rc;
}

bool storage_segment_indexes_plausible(const storage_segment *seg) {
    int64_t rel_end = seg->next_offset - seg->base_offset;
    const storage_index *oi = &seg->offsets, *ti = &seg->times;
    if (oi->entries > 0) {
        int32_t rel0, pos0, rel, pos;
        storage_index_offset_at(oi, 0, &rel0, &pos0);
        storage_index_offset_at(oi, oi->entries - 1, &rel, &pos);
        if (rel0 < 0 || pos0 <= 0 || rel < rel0 || pos < pos0 || rel >= rel_end) return false;
        if ((int64_t)pos + PROTOCOL_BATCH_HEADER_BYTES > seg->size) return false;
    }
    if (ti->entries > 0) {
        int64_t ts0, ts;
        int32_t rel0, rel;
        storage_index_time_at(ti, 0, &ts0, &rel0);
        storage_index_time_at(ti, ti->entries - 1, &ts, &rel);
        if (ts0 < 0 || ts < ts0 || rel0 < 0 || rel < rel0 || rel >= rel_end) return false;
    }
    return true;
}

int storage_segment_check_indexes(storage_log *log, storage_segment *seg) {
    if (seg->indexes_checked) return SL_OK;
    int64_t rel_end = seg->next_offset - seg->base_offset;
    if (storage_index_offsets_valid(&seg->offsets, rel_end, seg->size) &&
        storage_index_times_valid(&seg->times, rel_end)) {
        seg->indexes_checked = true;
        return SL_OK;
    }
    SL_ASSERT(!seg->active); /* the active segment's indexes are checked when it is loaded */
    return storage_segment_reindex(log, seg);
}

int storage_segment_batch_at(storage_log *log,
                             storage_segment *seg,
                             storage_cursor *c,
                             int64_t pos,
                             int64_t expect_base,
                             storage_batch *b) {
    int rc = storage_cursor_batch(c, pos, b);
    if (rc < 0 && rc > -1000) return rc; /* I/O error */
    const char *why = rc != SL_OK ? sl_strerror(rc) : NULL;
    if (!why && expect_base >= 0 && !storage_log_offset_follows(log, b->base_offset, expect_base)) {
        why = log->offset_gaps ? "offsets out of order" : "offset gap";
    }
    if (!why && (b->base_offset < seg->base_offset || b->last_offset >= seg->next_offset)) {
        why = "offset outside the segment";
    }
    if (!why) return SL_OK;
    SL_LOG(SL_ERROR, STORAGE_MOD, "batch_unreadable",
           "dir=%s base_offset=%" PRId64 " position=%" PRId64 " reason=\"%s\"", log->dir,
           seg->base_offset, pos, why);
    return SL_E_CORRUPT;
}

/* Walk batch headers from pos to the first batch whose last offset >= offset. expect_base
 * is the base offset the batch at pos must have (-1: checked by the caller). */
static int segment_walk(storage_log *log,
                        storage_segment *seg,
                        int64_t pos,
                        int64_t expect_base,
                        int64_t offset,
                        int64_t *pos_out,
                        storage_batch *b_out) {
    storage_cursor c;
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    int64_t steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t i = 0; i < steps_max && pos < seg->size; i++) {
        SL_TRY(storage_segment_batch_at(log, seg, &c, pos, expect_base, b_out));
        if (b_out->last_offset >= offset) {
            *pos_out = pos;
            return SL_OK;
        }
        pos += b_out->size;
        expect_base = b_out->last_offset + 1;
    }
    return SL_E_NOT_FOUND;
}

/* Where to start walking for offset: the position of the last indexed batch at or below
 * it, after checking that the batch there is the one the entry names. */
static int segment_start_position(
    storage_log *log, storage_segment *seg, int64_t offset, int64_t *pos_out, bool *entry_ok_out) {
    int32_t i = storage_index_offset_floor(&seg->offsets, offset - seg->base_offset);
    *pos_out = 0;
    *entry_ok_out = true;
    if (i < 0) return SL_OK;
    int32_t rel, pos;
    storage_index_offset_at(&seg->offsets, i, &rel, &pos);
    storage_cursor c;
    storage_batch b;
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    int rc = pos > 0 ? storage_cursor_batch(&c, pos, &b) : SL_E_CORRUPT;
    if (rc < 0 && rc > -1000) return rc;
    if (rc != SL_OK || b.last_offset != seg->base_offset + rel) {
        *entry_ok_out = false;
        return SL_OK;
    }
    *pos_out = pos;
    return SL_OK;
}

int storage_segment_locate(storage_log *log,
                           storage_segment *seg,
                           int64_t offset,
                           int64_t *pos_out,
                           storage_batch *b_out) {
    SL_TRY(storage_segment_check_indexes(log, seg));
    if (offset >= seg->next_offset || seg->size == 0) return SL_E_NOT_FOUND;
    int64_t pos;
    bool entry_ok;
    SL_TRY(segment_start_position(log, seg, offset, &pos, &entry_ok));
    if (!entry_ok) {
        SL_LOG(SL_WARN, STORAGE_MOD, "index_entry_invalid",
               "dir=%s base_offset=%" PRId64 " offset=%" PRId64, log->dir, seg->base_offset,
               offset);
        if (!seg->active) {
            seg->indexes_checked = false;
            (void)storage_segment_reindex(log, seg);
            SL_TRY(segment_start_position(log, seg, offset, &pos, &entry_ok));
        }
        if (!entry_ok) pos = 0;
    }
    return segment_walk(log, seg, pos, pos == 0 ? seg->base_offset : -1, offset, pos_out, b_out);
}

/* After a cut: recompute the largest timestamp and the bytes since the last index entry
 * from the last surviving entries and the batches after them. */
static int segment_recount_tail(storage_log *log, storage_segment *seg) {
    int64_t pos = 0;
    seg->max_timestamp = STORAGE_NO_TIMESTAMP;
    seg->offset_of_max_timestamp = -1;
    if (seg->times.entries > 0) {
        int32_t rel;
        storage_index_time_at(&seg->times, seg->times.entries - 1, &seg->max_timestamp, &rel);
        seg->offset_of_max_timestamp = seg->base_offset + rel;
    }
    if (seg->offsets.entries > 0) {
        int32_t rel, p;
        storage_index_offset_at(&seg->offsets, seg->offsets.entries - 1, &rel, &p);
        pos = p;
    }
    seg->bytes_since_index = seg->size - pos;
    storage_cursor c;
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    int64_t steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t i = 0; i < steps_max && pos < seg->size; i++) {
        storage_batch b;
        int rc = storage_cursor_batch(&c, pos, &b);
        if (rc != SL_OK) return rc < 0 && rc > -1000 ? rc : SL_E_CORRUPT;
        if (b.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = b.max_timestamp;
            seg->offset_of_max_timestamp = b.last_offset;
        }
        pos += b.size;
    }
    return SL_OK;
}

int storage_segment_truncate(storage_log *log, storage_segment *seg, int64_t offset) {
    SL_ASSERT(seg->active);
    int64_t pos;
    storage_batch b;
    int rc = storage_segment_locate(log, seg, offset, &pos, &b);
    if (rc == SL_E_NOT_FOUND) {
        /* past the last batch: in a compacted log offset may still be below the end of a
         * segment whose last batches were removed; the end offset becomes offset */
        if (offset < seg->next_offset) seg->next_offset = offset;
        return SL_OK;
    }
    SL_TRY(rc);
    if (ftruncate(seg->fd, (off_t)pos) != 0) return -errno;
    seg->synced = false;
    SL_TRY(storage_segment_sync(seg));
    seg->size = pos;
    /* offset inside the batch: its base; in a gap before it (compacted): offset */
    seg->next_offset = b.base_offset < offset ? b.base_offset : offset;
    int32_t n = seg->offsets.entries;
    for (int32_t guard = 0; guard < seg->offsets.entries && n > 0; guard++) {
        int32_t rel, p;
        storage_index_offset_at(&seg->offsets, n - 1, &rel, &p);
        if (p < pos) break;
        n--;
    }
    SL_TRY(storage_index_truncate(&seg->offsets, n));
    n = seg->times.entries;
    for (int32_t guard = 0; guard < seg->times.entries && n > 0; guard++) {
        int64_t ts;
        int32_t rel;
        storage_index_time_at(&seg->times, n - 1, &ts, &rel);
        if (seg->base_offset + rel < seg->next_offset) break;
        n--;
    }
    SL_TRY(storage_index_truncate(&seg->times, n));
    return segment_recount_tail(log, seg);
}

static int segment_rename_one(int dir_fd, int64_t base, const char *suffix) {
    char from[STORAGE_NAME_BYTES], to[STORAGE_NAME_BYTES + 8];
    storage_segment_file_name(from, base, suffix);
    snprintf(to, sizeof(to), "%s.deleted", from);
    if (renameat(dir_fd, from, dir_fd, to) != 0 && errno != ENOENT) return -errno;
    return SL_OK;
}

int storage_segment_rename_deleted(storage_log *log, storage_segment *seg) {
    for (int i = 0; i < 3; i++) {
        SL_TRY(segment_rename_one(log->dir_fd, seg->base_offset, segment_suffixes[i]));
    }
    return SL_OK;
}

int storage_segment_unlink(storage_log *log, storage_segment *seg, bool deleted_suffix) {
    int first_rc = SL_OK;
    /* Indexes before the .log: a crash in between leaves only orphans recovery removes. */
    for (int i = 2; i >= 0; i--) {
        char name[STORAGE_NAME_BYTES + 8];
        storage_segment_file_name(name, seg->base_offset, segment_suffixes[i]);
        if (deleted_suffix) snprintf(name + strlen(name), 9, ".deleted");
        int rc = storage_file_unlink(log->dir_fd, name);
        if (rc != SL_OK && first_rc == SL_OK) first_rc = rc;
    }
    return first_rc;
}
