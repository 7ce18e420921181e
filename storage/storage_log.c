/* storage_log.c — storage_log lifecycle, append, roll and flush (format in storage.h).
 *
 * An append is three passes over the caller's bytes, all bounded by its length: validate
 * every batch header and compute the offsets (nothing changes yet, so a bad batch
 * rejects the whole append); stamp offsets and epochs and update the epoch cache; then,
 * after one pwrite of all the bytes (and the fdatasync the flush policy asks for), add the
 * index entries. Index entries are written after the data is durable, so an entry never
 * points at bytes a power loss could take away. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

void storage_log_config_defaults(storage_log_config *cfg) {
    cfg->segment_bytes = 1024LL * 1024 * 1024;
    cfg->segment_ms = 7LL * 24 * 3600 * 1000;
    cfg->index_interval_bytes = 4096;
    cfg->segment_index_bytes = 10 * 1024 * 1024;
    cfg->retention_ms = 7LL * 24 * 3600 * 1000;
    cfg->retention_bytes = -1;
    cfg->flush_messages = INT64_MAX;
    cfg->flush_ms = -1;
    cfg->file_delete_delay_ms = 60000;
    cfg->compact = false;
}

#define CONFIG_CHECK(cond, field)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            SL_LOG(SL_ERROR, STORAGE_MOD, "config_invalid", "field=%s value=%" PRId64, #field,     \
                   (int64_t)cfg->field);                                                           \
            return SL_E_CONFIG;                                                                    \
        }                                                                                          \
    } while (0)

int storage_log_config_check(const storage_log_config *cfg) {
    /* positions in the .index are int32, so a segment cannot pass INT32_MAX bytes */
    CONFIG_CHECK(cfg->segment_bytes >= STORAGE_SEGMENT_BYTES_MIN && cfg->segment_bytes <= INT32_MAX,
                 segment_bytes);
    CONFIG_CHECK(cfg->segment_ms > 0, segment_ms);
    CONFIG_CHECK(cfg->index_interval_bytes >= 0, index_interval_bytes);
    CONFIG_CHECK(cfg->segment_index_bytes >= STORAGE_INDEX_BYTES_MIN, segment_index_bytes);
    CONFIG_CHECK(cfg->retention_ms >= -1, retention_ms);
    CONFIG_CHECK(cfg->retention_bytes >= -1, retention_bytes);
    CONFIG_CHECK(cfg->flush_messages >= 0, flush_messages);
    CONFIG_CHECK(cfg->flush_ms >= -1, flush_ms);
    CONFIG_CHECK(cfg->file_delete_delay_ms >= 0, file_delete_delay_ms);
    return SL_OK;
}

int storage_log_set_config(storage_log *log, const storage_log_config *cfg) {
    SL_TRY(storage_log_config_check(cfg));
    log->cfg = *cfg;
    if (cfg->compact) log->offset_gaps = true; /* never back: gaps may already exist */
    return SL_OK;
}

int storage_log_fail(storage_log *log, int err, const char *what) {
    bool io_error = err < 0 && err > -1000;
    if (io_error && log->failed == 0) {
        log->failed = err;
        SL_LOG(SL_ERROR, STORAGE_MOD, "log_failed", "dir=%s op=%s err=\"%s\"", log->dir, what,
               sl_strerror(err));
    }
    return err;
}

void storage_log_push_segment(storage_log *log, storage_segment *seg) {
    if (log->segment_count == log->segment_cap) {
        log->segment_cap = log->segment_cap ? log->segment_cap * 2 : 8;
        log->segments = sl_realloc(log->segments, (size_t)log->segment_cap * sizeof(seg));
    }
    SL_ASSERT(log->segment_count == 0 || storage_log_active(log)->base_offset < seg->base_offset);
    log->segments[log->segment_count++] = seg;
}

int32_t storage_log_segment_for(const storage_log *log, int64_t offset) {
    int32_t lo = 0, hi = log->segment_count - 1, found = -1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (log->segments[mid]->base_offset <= offset) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

/* ---------------- positions ---------------- */

int64_t storage_log_start_offset(const storage_log *log) {
    return log->start_offset;
}

int64_t storage_log_end_offset(const storage_log *log) {
    return storage_log_active(log)->next_offset;
}

int64_t storage_log_size_bytes(const storage_log *log) {
    return log->size_bytes;
}

int64_t storage_log_flushed_offset(const storage_log *log) {
    for (int32_t i = 0; i < log->segment_count - 1; i++) {
        if (!log->segments[i]->synced) return log->segments[i]->base_offset;
    }
    return log->flushed_offset;
}

int32_t storage_log_segment_count(const storage_log *log) {
    return log->segment_count;
}

const char *storage_log_dir(const storage_log *log) {
    return log->dir;
}

int storage_log_failed(const storage_log *log) {
    return log->failed;
}

/* ---------------- open / close ---------------- */

static void log_free(storage_log *log) {
    storage_clean_drop(log, "close");
    for (int32_t i = 0; i < log->segment_count; i++) {
        storage_segment_free(log->segments[i]);
    }
    for (int32_t i = 0; i < log->doomed_count; i++) {
        storage_segment_free(log->doomed[i]);
    }
    sl_free(log->segments);
    sl_free(log->doomed);
    storage_epochs_deinit(&log->epochs);
    if (log->dir_fd >= 0) close(log->dir_fd); /* releases the flock */
    sl_free(log->dir);
    sl_free(log);
}

static int log_lock_dir(const char *dir, int *fd_out) {
    SL_TRY(storage_mkdirs(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int rc = errno == EWOULDBLOCK ? SL_E_STATE : -errno;
        close(fd);
        SL_LOG(SL_ERROR, STORAGE_MOD, "log_dir_locked", "dir=%s err=\"%s\"", dir, sl_strerror(rc));
        return rc;
    }
    *fd_out = fd;
    return SL_OK;
}

/* After the segments are loaded: the log start offset, the epoch cache and the counters. */
static int log_open_finish(storage_log *log, bool epochs_missing, int64_t now_ms) {
    int64_t end = storage_log_end_offset(log);
    if (epochs_missing && end > log->segments[0]->base_offset) {
        SL_TRY(storage_epochs_rebuild(log));
    }
    if (log->start_offset < log->segments[0]->base_offset) {
        log->start_offset = log->segments[0]->base_offset;
    }
    if (log->start_offset > end) {
        /* the start offset was persisted but the data above it was lost (power loss
         * without flushes): start over there rather than move the start backwards */
        SL_LOG(SL_WARN, STORAGE_MOD, "start_offset_beyond_end",
               "dir=%s start_offset=%" PRId64 " end_offset=%" PRId64, log->dir, log->start_offset,
               end);
        SL_TRY(storage_log_truncate_fully_and_start_at(log, log->start_offset));
        end = storage_log_end_offset(log);
    }
    bool changed = storage_epochs_truncate_from_end(&log->epochs, end);
    changed = storage_epochs_truncate_from_start(&log->epochs, log->start_offset) || changed;
    if (changed || (epochs_missing && end > log->segments[0]->base_offset)) {
        SL_TRY(storage_epochs_persist(log));
    }
    log->size_bytes = 0;
    for (int32_t i = 0; i < log->segment_count; i++) {
        log->size_bytes += log->segments[i]->size;
    }
    log->flushed_offset = end; /* what recovery did not scan was durable; it synced the rest */
    log->last_flush_ms = now_ms;
    return storage_log_sync_sealed(log, 0); /* recovery point: the active segment */
}

static int log_open_recover(storage_log *log, int64_t now_ms) {
    bool clean = storage_file_exists(log->dir_fd, STORAGE_CLEAN_SHUTDOWN_FILE);
    if (clean) {
        /* gone before anything is modified, so a crash from here on is seen as one */
        SL_TRY(storage_file_unlink(log->dir_fd, STORAGE_CLEAN_SHUTDOWN_FILE));
        SL_TRY(storage_fsync_dir(log->dir_fd));
    }
    SL_TRY(storage_log_load_offset(log, STORAGE_START_OFFSET_FILE, 0, &log->start_offset));
    /* absent or unreadable: every segment may need a scan after a crash */
    SL_TRY(storage_log_load_offset(log, STORAGE_RECOVERY_POINT_FILE, 0, &log->recovery_point));
    int rc = storage_epochs_load(log);
    if (rc != SL_OK && rc != SL_E_NOT_FOUND && rc != SL_E_CORRUPT) return rc;
    bool epochs_missing = rc != SL_OK;
    SL_TRY(storage_clean_load(log)); /* recovery must know whether offsets may have gaps */
    SL_TRY(storage_recover_dir(log, clean, now_ms));
    SL_TRY(log_open_finish(log, epochs_missing, now_ms));
    SL_LOG(SL_INFO, STORAGE_MOD, "log_opened",
           "dir=%s clean=%d segments=%d start_offset=%" PRId64 " end_offset=%" PRId64
           " bytes=%" PRId64,
           log->dir, clean, log->segment_count, log->start_offset, storage_log_end_offset(log),
           log->size_bytes);
    return SL_OK;
}

int storage_log_open(const char *dir,
                     const storage_log_config *cfg,
                     int64_t now_ms,
                     storage_log **log_out) {
    SL_TRY(storage_log_config_check(cfg));
    int dir_fd = -1;
    SL_TRY(log_lock_dir(dir, &dir_fd));
    storage_log *log = SL_NEW(storage_log);
    log->dir = sl_strdup(dir);
    log->dir_fd = dir_fd;
    log->cfg = *cfg;
    storage_epochs_init(&log->epochs);
    int rc = log_open_recover(log, now_ms);
    if (rc != SL_OK) {
        /* Out of descriptors or memory is the caller's to report: it may be opening
         * thousands of logs and aggregate the failures (the broker does). */
        bool exhausted = rc == -EMFILE || rc == -ENFILE || rc == -ENOMEM;
        SL_LOG(exhausted ? SL_DEBUG : SL_ERROR, STORAGE_MOD, "log_open_failed",
               "dir=%s err=\"%s\"", dir, sl_strerror(rc));
        log_free(log);
        return rc;
    }
    *log_out = log;
    return SL_OK;
}

static int log_close_clean(storage_log *log) {
    SL_TRY(storage_log_flush(log));
    storage_segment *seg = storage_log_active(log);
    if (seg->active) SL_TRY(storage_segment_seal(seg));
    return storage_file_replace(log->dir_fd, STORAGE_CLEAN_SHUTDOWN_FILE, NULL, 0);
}

void storage_log_close(storage_log *log) {
    if (!log) return;
    if (!log->failed) {
        int rc = log_close_clean(log);
        if (rc != SL_OK) {
            SL_LOG(SL_ERROR, STORAGE_MOD, "log_close_failed", "dir=%s err=\"%s\"", log->dir,
                   sl_strerror(rc));
        }
    }
    (void)storage_log_reap(log, 0, true);
    log_free(log);
}

static void delete_entry(storage_log *log, const struct dirent *ent, int *rc);

int storage_log_delete(storage_log *log) {
    (void)storage_log_reap(log, 0, true);
    for (int32_t i = 0; i < log->segment_count; i++) {
        storage_segment_free(log->segments[i]);
    }
    log->segment_count = 0;
    int rc = SL_OK;
    int fd = dup(log->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        rc = -errno;
        if (fd >= 0) close(fd);
    } else {
        rewinddir(d); /* the descriptor's position is shared with dir_fd's earlier listings */
    }
    for (int64_t n = 0; d && n < 4LL * STORAGE_SEGMENTS_MAX; n++) {
        struct dirent *ent = readdir(d);
        if (!ent) break;
        delete_entry(log, ent, &rc);
    }
    if (d) closedir(d);
    char *dir = sl_strdup(log->dir);
    log_free(log);
    if (rmdir(dir) != 0 && rc == SL_OK) rc = -errno;
    SL_LOG(SL_INFO, STORAGE_MOD, "log_deleted", "dir=%s err=\"%s\"", dir, sl_strerror(rc));
    sl_free(dir);
    return rc;
}

static void delete_entry(storage_log *log, const struct dirent *ent, int *rc) {
    if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) return;
    if (unlinkat(log->dir_fd, ent->d_name, 0) != 0 && errno != ENOENT && *rc == SL_OK) {
        *rc = -errno;
    }
}

/* ---------------- roll and flush ---------------- */

int storage_log_sync_sealed(storage_log *log, int32_t keep_unsynced) {
    int32_t n = log->segment_count - 1 - keep_unsynced;
    for (int32_t i = 0; i < n; i++) {
        int rc = storage_segment_sync(log->segments[i]);
        if (rc != SL_OK) return storage_log_fail(log, rc, "sync_sealed");
    }
    int64_t point = storage_log_active(log)->base_offset;
    for (int32_t i = 0; i < log->segment_count - 1; i++) {
        if (!log->segments[i]->synced) {
            point = log->segments[i]->base_offset;
            break;
        }
    }
    if (point == log->recovery_point) return SL_OK;
    int rc = storage_offset_file_write(log->dir_fd, STORAGE_RECOVERY_POINT_FILE, point);
    if (rc != SL_OK) return storage_log_fail(log, rc, "recovery_point");
    log->recovery_point = point;
    return SL_OK;
}

/* Kafka flushes a rolled segment from a background thread. Here nothing waits for the
 * disk at a roll (a synchronous fdatasync of a 1 GiB segment stalls the owner thread for
 * seconds, and even sync_file_range's writeback submission took 0.37 s per GiB when
 * measured): the kernel writes the sealed segment back by itself, and only a segment
 * STORAGE_UNSYNCED_SEALED_MAX rolls old, long since written back, is fdatasync'd here.
 * storage_log_flush syncs everything. The recovery point tells the next open where a
 * crash-time scan must begin. */
int storage_log_roll(storage_log *log, int64_t now_ms, const char *why) {
    storage_segment *old = storage_log_active(log);
    int64_t end = old->next_offset;
    int64_t t0 = sl_now_us();
    int rc = storage_segment_seal(old);
    if (rc != SL_OK) return storage_log_fail(log, rc, "roll_seal");
    storage_segment *seg;
    rc = storage_segment_create(log, end, now_ms, &seg);
    if (rc != SL_OK) return storage_log_fail(log, rc == SL_E_EXISTS ? -EEXIST : rc, "roll_create");
    storage_log_push_segment(log, seg);
    log->flushed_offset = end; /* nothing unflushed in the new segment yet */
    SL_TRY(storage_log_sync_sealed(log, STORAGE_UNSYNCED_SEALED_MAX));
    SL_LOG(SL_INFO, STORAGE_MOD, "segment_roll",
           "dir=%s base_offset=%" PRId64 " reason=%s"
           " sealed_bytes=%" PRId64 " roll_us=%" PRId64,
           log->dir, end, why, old->size, sl_now_us() - t0);
    return SL_OK;
}

/* Make everything up to the log end offset durable. */
static int log_flush_all(storage_log *log, int64_t now_ms) {
    SL_TRY(storage_log_sync_sealed(log, 0));
    int rc = storage_segment_sync(storage_log_active(log));
    if (rc != SL_OK) return storage_log_fail(log, rc, "flush");
    log->flushed_offset = storage_log_end_offset(log);
    log->unflushed_records = 0;
    if (now_ms >= 0) log->last_flush_ms = now_ms;
    return SL_OK;
}

int storage_log_flush(storage_log *log) {
    if (log->failed) return SL_E_FATAL;
    return log_flush_all(log, -1);
}

int storage_log_maybe_flush(storage_log *log, int64_t now_ms) {
    if (log->failed) return SL_E_FATAL;
    if (log->cfg.flush_ms < 0) return SL_OK;
    if (storage_log_flushed_offset(log) >= storage_log_end_offset(log)) return SL_OK;
    if (now_ms - log->last_flush_ms < log->cfg.flush_ms) return SL_OK;
    return log_flush_all(log, now_ms);
}

/* Kafka's LogSegment.shouldRoll, checked with the whole append's size and last offset. */
static const char *
log_roll_reason(const storage_log *log, int64_t len, int64_t last_offset, int64_t now_ms) {
    const storage_segment *seg = storage_log_active(log);
    if (seg->size == 0) return NULL;
    if (seg->size + len > log->cfg.segment_bytes) return "segment_bytes";
    if (now_ms - seg->rolling_ms > log->cfg.segment_ms) return "segment_ms";
    if (storage_segment_index_full(seg)) return "index_full";
    if (last_offset - seg->base_offset > INT32_MAX) return "offset_overflow";
    return NULL;
}

int storage_log_maybe_roll(storage_log *log, int64_t now_ms) {
    if (log->failed) return SL_E_FATAL;
    const storage_segment *seg = storage_log_active(log);
    if (seg->size == 0 || now_ms - seg->rolling_ms <= log->cfg.segment_ms) return SL_OK;
    return storage_log_roll(log, now_ms, "segment_ms");
}

static bool log_flush_due(const storage_log *log, int64_t now_ms) {
    int64_t every = log->cfg.flush_messages;
    if (every > 0 && every != INT64_MAX && log->unflushed_records >= every) return true;
    return log->cfg.flush_ms >= 0 && now_ms - log->last_flush_ms >= log->cfg.flush_ms;
}

/* ---------------- append ---------------- */

/* Pass 1: check every batch and compute the offsets it will get. leader: offsets are
 * assigned from next; otherwise they must already be contiguous from next (or, in a
 * compacted log, increase from next with gaps: *gap_out says whether there were any), and
 * epochs must not go backwards. Nothing is modified. */
static int append_validate(const storage_log *log,
                           const uint8_t *p,
                           size_t len,
                           int64_t next,
                           bool leader,
                           storage_append_info *info,
                           bool *gap_out) {
    int32_t latest = storage_epochs_latest(&log->epochs);
    *info = (storage_append_info){ next, next - 1, STORAGE_NO_TIMESTAMP, -1, (int64_t)len, 0, 0 };
    for (size_t at = 0; at < len;) { /* every pass consumes >= 61 bytes */
        size_t size;
        protocol_batch_header h;
        if (protocol_batch_size(p + at, len - at, len - at, &size) != SL_OK) return SL_E_CORRUPT;
        if (protocol_batch_header_parse(p + at, size, &h) != SL_OK) return SL_E_CORRUPT;
#ifdef SL_DEBUG_BUILD
        /* the caller checked the CRC; debug builds check it again before it reaches disk */
        if (protocol_batch_check(p + at, size, &h) != SL_OK) return SL_E_CORRUPT;
#endif
        if (!leader) {
            SL_RETURN_IF(!storage_log_offset_follows(log, h.base_offset, next), SL_E_RANGE,
                              "base_offset=%" PRId64 " expected=%" PRId64, h.base_offset, next);
            if (h.base_offset != next) *gap_out = true;
            if (info->batch_count == 0) info->base_offset = h.base_offset;
            next = h.base_offset;
            SL_RETURN_IF(h.partition_leader_epoch >= 0 && h.partition_leader_epoch < latest,
                              SL_E_FENCED, "epoch=%d latest=%d", h.partition_leader_epoch, latest);
            if (h.partition_leader_epoch > latest) latest = h.partition_leader_epoch;
        }
        SL_RETURN_IF(next > INT64_MAX - h.last_offset_delta - 1, SL_E_RANGE,
                          "offset_overflow");
        if (h.max_timestamp > info->max_timestamp) {
            info->max_timestamp = h.max_timestamp;
            info->offset_of_max_timestamp = next + h.last_offset_delta;
        }
        next += (int64_t)h.last_offset_delta + 1;
        info->batch_count++;
        info->record_count += (int64_t)h.last_offset_delta + 1;
        at += size;
    }
    info->last_offset = next - 1;
    return SL_OK;
}

/* Pass 2: stamp offsets and the epoch (leader), and record new epochs in the cache. */
static int append_stamp(storage_log *log,
                        uint8_t *mut,
                        const uint8_t *p,
                        size_t len,
                        int64_t next,
                        int32_t leader_epoch) {
    bool changed = false;
    for (size_t at = 0; at < len;) {
        size_t size =
            PROTOCOL_BATCH_LOG_OVERHEAD + sl_load_be32(p + at + PROTOCOL_BATCH_OFF_LENGTH);
        int32_t delta = (int32_t)sl_load_be32(p + at + PROTOCOL_BATCH_OFF_LAST_DELTA);
        int32_t epoch = (int32_t)sl_load_be32(p + at + PROTOCOL_BATCH_OFF_EPOCH);
        if (mut) {
            protocol_batch_set_base_offset(mut + at, next);
            protocol_batch_set_leader_epoch(mut + at, leader_epoch);
            epoch = leader_epoch;
        } else {
            next = (int64_t)sl_load_be64(p + at); /* replica: validated, gaps allowed */
        }
        if (epoch >= 0 && epoch > storage_epochs_latest(&log->epochs)) {
            changed = storage_epochs_assign(&log->epochs, epoch, next) || changed;
        }
        next += (int64_t)delta + 1;
        at += size;
    }
    if (!changed) return SL_OK;
    int rc = storage_epochs_persist(log);
    return rc == SL_OK ? SL_OK : storage_log_fail(log, rc, "epoch_checkpoint");
}

/* Pass 3: the written batches into the segment's counters and indexes. */
static int
append_account(storage_log *log, storage_segment *seg, const uint8_t *p, size_t len, int64_t pos) {
    for (size_t at = 0; at < len;) {
        storage_batch b;
        int rc = storage_batch_decode(p + at, (int64_t)(len - at), &b);
        SL_ASSERT(rc == SL_OK); /* validated in pass 1 */
        SL_TRY(storage_segment_account(log, seg, pos + (int64_t)at, &b));
        at += (size_t)b.size;
    }
    return SL_OK;
}

static int log_append(storage_log *log,
                      uint8_t *mut,
                      const uint8_t *p,
                      size_t len,
                      int32_t leader_epoch,
                      int64_t now_ms,
                      storage_append_info *info_out) {
    if (log->failed) return SL_E_FATAL;
    SL_RETURN_IF(len == 0, SL_E_INVALID, "empty_append");
    SL_RETURN_IF((int64_t)len > log->cfg.segment_bytes, SL_E_TOO_LARGE, "len=%zu", len);
    storage_append_info info;
    bool gap = false;
    SL_TRY(append_validate(log, p, len, storage_log_end_offset(log), mut != NULL, &info, &gap));
    if (gap) SL_TRY(storage_clean_mark_gaps(log)); /* the log stays gap-tolerant for good */
    const char *why = log_roll_reason(log, (int64_t)len, info.last_offset, now_ms);
    if (why) SL_TRY(storage_log_roll(log, now_ms, why));
    storage_segment *seg = storage_log_active(log);
    SL_RETURN_IF(info.last_offset - seg->base_offset > INT32_MAX, SL_E_TOO_LARGE,
                      "offset_span=%" PRId64, info.last_offset - seg->base_offset);
    SL_TRY(append_stamp(log, mut, p, len, info.base_offset, leader_epoch));
    int64_t pos = seg->size;
    seg->synced = false;
    int rc = storage_pwrite_all(seg->fd, p, len, pos);
    if (rc != SL_OK) return storage_log_fail(log, rc, "append_write");
    log->unflushed_records += info.record_count;
    if (log_flush_due(log, now_ms)) {
        /* before the index entries: an entry never points at bytes that are not durable */
        SL_TRY(log_flush_all(log, now_ms));
        log->flushed_offset = info.last_offset + 1;
    }
    rc = append_account(log, seg, p, len, pos);
    if (rc != SL_OK) return storage_log_fail(log, rc, "append_index");
    log->size_bytes += (int64_t)len;
    if (info_out) *info_out = info;
    return SL_OK;
}

int storage_log_append(storage_log *log,
                       uint8_t *batches,
                       size_t len,
                       int32_t leader_epoch,
                       int64_t now_ms,
                       storage_append_info *info_out) {
    SL_RETURN_IF(leader_epoch < 0, SL_E_INVALID, "leader_epoch=%d", leader_epoch);
    SL_RETURN_IF(leader_epoch < storage_epochs_latest(&log->epochs), SL_E_FENCED,
                      "leader_epoch=%d latest=%d", leader_epoch,
                      storage_epochs_latest(&log->epochs));
    return log_append(log, batches, batches, len, leader_epoch, now_ms, info_out);
}

int storage_log_append_replica(storage_log *log,
                               const uint8_t *batches,
                               size_t len,
                               int64_t now_ms,
                               storage_append_info *info_out) {
    return log_append(log, NULL, batches, len, -1, now_ms, info_out);
}
