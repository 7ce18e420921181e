/* storage_retain.c — retention, truncation and the log start offset.
 *
 * Retention only ever removes a prefix of segments and never the active one; a removed
 * segment is renamed *.deleted and unlinked file_delete_delay_ms later, keeping its
 * descriptor open until then so a read handed out earlier stays valid. Truncation removes
 * a suffix: later segments are unlinked newest first and the data is cut before the
 * epoch cache, so a crash at any step leaves a log that recovery turns into either the
 * old state or the new one. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------- log start offset ---------------- */

int storage_log_persist_start(storage_log *log) {
    return storage_offset_file_write(log->dir_fd, STORAGE_START_OFFSET_FILE, log->start_offset);
}

int storage_log_load_offset(storage_log *log,
                            const char *name,
                            int64_t fallback,
                            int64_t *value_out) {
    int rc = storage_offset_file_read(log->dir_fd, name, value_out);
    if (rc == SL_OK) return SL_OK;
    *value_out = fallback;
    if (rc == SL_E_NOT_FOUND) return SL_OK;
    SL_LOG(SL_WARN, STORAGE_MOD, "offset_file_ignored", "dir=%s file=%s err=\"%s\"", log->dir, name,
           sl_strerror(rc));
    return rc < 0 && rc > -1000 ? rc : SL_OK;
}

/* Raise the log start offset in memory (callers persist it when it is not derivable from
 * the first segment) and drop the epoch entries below it. */
static int log_set_start(storage_log *log, int64_t start) {
    if (start <= log->start_offset) return SL_OK;
    log->start_offset = start;
    if (!storage_epochs_truncate_from_start(&log->epochs, start)) return SL_OK;
    int rc = storage_epochs_persist(log);
    return rc == SL_OK ? SL_OK : storage_log_fail(log, rc, "epoch_checkpoint");
}

int storage_log_advance_start_offset(storage_log *log, int64_t offset) {
    if (log->failed) return SL_E_FATAL;
    if (offset <= log->start_offset) return SL_OK;
    SL_RETURN_IF(offset > storage_log_end_offset(log), SL_E_RANGE, "offset=%" PRId64, offset);
    int64_t old = log->start_offset;
    log->start_offset = offset; /* persisted before the cache changes */
    int rc = storage_log_persist_start(log);
    log->start_offset = old;
    if (rc != SL_OK) return storage_log_fail(log, rc, "start_offset");
    SL_TRY(log_set_start(log, offset));
    SL_LOG(SL_INFO, STORAGE_MOD, "start_offset_advanced", "dir=%s start_offset=%" PRId64, log->dir,
           offset);
    return SL_OK;
}

/* ---------------- deleting segments ---------------- */

int storage_log_reap(storage_log *log, int64_t now_ms, bool force) {
    int first_rc = SL_OK;
    int32_t kept = 0;
    for (int32_t i = 0; i < log->doomed_count; i++) {
        storage_segment *seg = log->doomed[i];
        if (!force && seg->delete_at_ms > now_ms) {
            log->doomed[kept++] = seg;
            continue;
        }
        int rc = storage_segment_unlink(log, seg, true);
        if (rc != SL_OK && first_rc == SL_OK) first_rc = rc;
        storage_segment_free(seg);
    }
    log->doomed_count = kept;
    return first_rc;
}

void storage_log_push_doomed(storage_log *log, storage_segment *seg, int64_t now_ms) {
    seg->delete_at_ms = now_ms + log->cfg.file_delete_delay_ms;
    if (log->doomed_count == log->doomed_cap) {
        log->doomed_cap = log->doomed_cap ? log->doomed_cap * 2 : 8;
        log->doomed = sl_realloc(log->doomed, (size_t)log->doomed_cap * sizeof(seg));
    }
    log->doomed[log->doomed_count++] = seg;
}

/* Retire the first n segments (never the active one). */
static int retain_delete_prefix(storage_log *log, int32_t n, int64_t now_ms, const char *why) {
    SL_ASSERT(n < log->segment_count);
    if (n > 0) storage_clean_drop(log, why); /* a pass holds segment indexes */
    for (int32_t i = 0; i < n; i++) {
        storage_segment *seg = log->segments[0];
        int rc = storage_segment_rename_deleted(log, seg);
        if (rc != SL_OK) return storage_log_fail(log, rc, "retain_rename");
        SL_LOG(SL_INFO, STORAGE_MOD, "segment_deleted",
               "dir=%s base_offset=%" PRId64 " next_offset=%" PRId64 " bytes=%" PRId64 " reason=%s",
               log->dir, seg->base_offset, seg->next_offset, seg->size, why);
        storage_log_push_doomed(log, seg, now_ms);
        log->size_bytes -= seg->size;
        log->segment_count--;
        memmove(log->segments, log->segments + 1, (size_t)log->segment_count * sizeof(seg));
    }
    if (n == 0) return SL_OK;
    int rc = storage_fsync_dir(log->dir_fd);
    if (rc != SL_OK) return storage_log_fail(log, rc, "retain_fsync_dir");
    return log_set_start(log, log->segments[0]->base_offset);
}

/* The time retention compares against: the largest record timestamp, or the file's
 * modification time when no batch carried one (Kafka's LogSegment.largestTimestamp). */
static int64_t retain_largest_ms(const storage_segment *seg) {
    if (seg->max_timestamp >= 0) return seg->max_timestamp;
    struct stat st;
    if (fstat(seg->fd, &st) != 0) return INT64_MAX; /* unknown: keep it */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* Segments [0, i] may go only if they are not active and hold nothing at or above hw. */
static bool retain_deletable(const storage_log *log, int32_t i, int64_t high_watermark) {
    return i < log->segment_count - 1 && log->segments[i + 1]->base_offset <= high_watermark;
}

static int retain_by_time(storage_log *log, int64_t now_ms, int64_t hw, int32_t *n_out) {
    int32_t n = 0;
    while (log->cfg.retention_ms >= 0 && retain_deletable(log, n, hw)) {
        storage_segment *seg = log->segments[n];
        /* the largest timestamp comes from the time index: check it first; a segment too
         * damaged to rebuild one is judged by its file's modification time */
        int rc = storage_segment_check_indexes(log, seg);
        if (rc < 0 && rc > -1000) return rc;
        if (rc != SL_OK) seg->max_timestamp = STORAGE_NO_TIMESTAMP;
        if (now_ms - retain_largest_ms(seg) <= log->cfg.retention_ms) break;
        n++;
    }
    *n_out = n;
    return SL_OK;
}

static int32_t retain_by_size(const storage_log *log, int64_t hw) {
    if (log->cfg.retention_bytes < 0) return 0;
    int64_t excess = log->size_bytes - log->cfg.retention_bytes;
    int32_t n = 0;
    while (retain_deletable(log, n, hw) && excess - log->segments[n]->size >= 0) {
        excess -= log->segments[n]->size;
        n++;
    }
    return n;
}

static int32_t retain_by_start(const storage_log *log, int64_t hw) {
    int32_t n = 0;
    while (retain_deletable(log, n, hw) && log->segments[n + 1]->base_offset <= log->start_offset) {
        n++;
    }
    return n;
}

int storage_log_retain(storage_log *log,
                       int64_t now_ms,
                       int64_t high_watermark,
                       int *segments_deleted_out) {
    if (log->failed) return SL_E_FATAL;
    int deleted = 0;
    int rc = storage_log_reap(log, now_ms, false);
    if (rc != SL_OK) {
        SL_LOG(SL_WARN, STORAGE_MOD, "segment_unlink_failed", "dir=%s err=\"%s\"", log->dir,
               sl_strerror(rc));
    }
    int32_t n;
    SL_TRY(retain_by_time(log, now_ms, high_watermark, &n));
    SL_TRY(retain_delete_prefix(log, n, now_ms, "retention_ms"));
    deleted += n;
    n = retain_by_size(log, high_watermark);
    SL_TRY(retain_delete_prefix(log, n, now_ms, "retention_bytes"));
    deleted += n;
    n = retain_by_start(log, high_watermark);
    SL_TRY(retain_delete_prefix(log, n, now_ms, "log_start_offset"));
    deleted += n;
    if (deleted > 0 && log->cfg.file_delete_delay_ms == 0) {
        (void)storage_log_reap(log, now_ms, false);
    }
    if (segments_deleted_out) *segments_deleted_out = deleted;
    return SL_OK;
}

/* ---------------- truncation ---------------- */

int storage_log_drop_tail(storage_log *log, int32_t from) {
    SL_ASSERT(from >= 1); /* the array never becomes empty */
    while (log->segment_count > from) {
        storage_segment *seg = storage_log_active(log);
        int rc = storage_segment_unlink(log, seg, false);
        if (rc != SL_OK) return storage_log_fail(log, rc, "truncate_unlink");
        SL_LOG(SL_INFO, STORAGE_MOD, "segment_deleted",
               "dir=%s base_offset=%" PRId64 " bytes=%" PRId64 " reason=truncate", log->dir,
               seg->base_offset, seg->size);
        log->size_bytes -= seg->size;
        log->segment_count--;
        storage_segment_free(seg);
    }
    return SL_OK;
}

int storage_log_truncate_to(storage_log *log, int64_t offset) {
    if (log->failed) return SL_E_FATAL;
    SL_RETURN_IF(offset < 0, SL_E_INVALID, "offset=%" PRId64, offset);
    if (offset >= storage_log_end_offset(log)) {
        /* Kafka's UnifiedLog.truncateTo: the epoch cache is cut at the log end even so. A
         * leader that assigned its epoch and was replaced before writing in it holds an
         * entry there that the next leader does not; kept, it makes every fetch of this
         * follower diverge again with nothing to truncate. */
        if (storage_epochs_truncate_from_end(&log->epochs, storage_log_end_offset(log))) {
            int rc = storage_epochs_persist(log);
            if (rc != SL_OK) return storage_log_fail(log, rc, "epoch_checkpoint");
        }
        return SL_OK;
    }
    if (offset < log->segments[0]->base_offset) {
        return storage_log_truncate_fully_and_start_at(log, offset);
    }
    storage_clean_drop(log, "truncate");
    int32_t i = storage_log_segment_for(log, offset);
    SL_ASSERT(i >= 0);
    /* before anything is deleted: the segment that is cut must have sound indexes */
    SL_TRY(storage_segment_check_indexes(log, log->segments[i]));
    SL_TRY(storage_log_drop_tail(log, i + 1));
    storage_segment *seg = storage_log_active(log);
    int64_t old_size = seg->size;
    int rc = seg->active ? SL_OK : storage_segment_activate(log, seg);
    if (rc == SL_OK) rc = storage_segment_truncate(log, seg, offset);
    if (rc == SL_OK) rc = storage_fsync_dir(log->dir_fd);
    if (rc != SL_OK) return storage_log_fail(log, rc, "truncate");
    SL_TRY(storage_log_sync_sealed(log, 0)); /* the recovery point follows the cut */
    log->size_bytes -= old_size - seg->size;
    int64_t end = seg->next_offset;
    if (log->flushed_offset > end) log->flushed_offset = end;
    if (storage_epochs_truncate_from_end(&log->epochs, end)) {
        rc = storage_epochs_persist(log);
        if (rc != SL_OK) return storage_log_fail(log, rc, "epoch_checkpoint");
    }
    SL_TRY(storage_clean_truncated(log, end)); /* Kafka: maybeTruncateCheckpoint */
    if (log->start_offset > end) { /* Kafka: logStartOffset = min(target, logStartOffset) */
        log->start_offset = end;
        rc = storage_log_persist_start(log);
        if (rc != SL_OK) return storage_log_fail(log, rc, "start_offset");
    }
    SL_LOG(SL_INFO, STORAGE_MOD, "log_truncated",
           "dir=%s requested=%" PRId64 " end_offset=%" PRId64, log->dir, offset, end);
    return SL_OK;
}

int storage_log_truncate_fully_and_start_at(storage_log *log, int64_t offset) {
    if (log->failed) return SL_E_FATAL;
    SL_RETURN_IF(offset < 0, SL_E_INVALID, "offset=%" PRId64, offset);
    /* The start offset first: a crash from here on reopens at offset or beyond it. */
    int64_t old_start = log->start_offset;
    log->start_offset = offset;
    int rc = storage_log_persist_start(log);
    log->start_offset = old_start;
    if (rc != SL_OK) return storage_log_fail(log, rc, "start_offset");
    storage_clean_drop(log, "truncate");
    SL_TRY(storage_log_drop_tail(log, 1));
    /* The last segment's files go before its replacement is created (it may have the
     * same name); the structure stays in the array until then so the log is never
     * without a segment, even if the creation fails. */
    storage_segment *old = log->segments[0], *seg;
    rc = storage_segment_unlink(log, old, false);
    if (rc == SL_OK) rc = storage_segment_create(log, offset, sl_wall_ms(), &seg);
    if (rc != SL_OK) {
        return storage_log_fail(log, rc == SL_E_EXISTS ? -EEXIST : rc, "truncate_fully");
    }
    storage_segment_free(old);
    log->segments[0] = seg;
    log->start_offset = offset;
    log->size_bytes = 0;
    log->flushed_offset = offset;
    log->unflushed_records = 0;
    SL_TRY(storage_log_sync_sealed(log, 0)); /* recovery point = offset */
    SL_TRY(storage_clean_truncated(log, offset));
    if (storage_epochs_clear(&log->epochs)) {
        rc = storage_epochs_persist(log);
        if (rc != SL_OK) return storage_log_fail(log, rc, "epoch_checkpoint");
    }
    SL_LOG(SL_INFO, STORAGE_MOD, "log_truncated_fully", "dir=%s start_offset=%" PRId64, log->dir,
           offset);
    return SL_OK;
}
