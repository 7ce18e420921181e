/* storage_recover.c — turning a directory back into a log at open (rules in storage.h).
 *
 * 1. List the directory: segment .log files are collected; *.tmp (interrupted atomic
 *    writes), *.deleted and *.cleaned are removed; *.swap files are completed; misnamed
 *    segment-like files are reported and left alone; anything else is an aux file.
 * 2. Index files without a .log are removed (a crash while deleting a segment).
 * 3. Segments are loaded in base-offset order. A sealed segment gets cheap index checks
 *    and, when they fail, a rebuild that must read the file cleanly to its end. The last
 *    (active) segment is either walked from its last index entry (after a clean close)
 *    or rebuilt from its first byte and cut at the first bad batch (after a crash). */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory entries examined; far above any real partition directory. */
#define RECOVER_DIR_ENTRIES_MAX (4 * STORAGE_SEGMENTS_MAX)

typedef struct offset_list {
    int64_t *v; /* owned */
    int32_t count;
    int32_t cap;
} offset_list;

static void list_push(offset_list *l, int64_t v) {
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = sl_realloc(l->v, (size_t)l->cap * sizeof(l->v[0]));
    }
    l->v[l->count++] = v;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static bool list_contains(const offset_list *l, int64_t v) {
    return l->count > 0 && bsearch(&v, l->v, (size_t)l->count, sizeof(v), cmp_i64) != NULL;
}

static bool has_suffix(const char *name, const char *suffix) {
    size_t n = strlen(name), m = strlen(suffix);
    return n >= m && memcmp(name + n - m, suffix, m) == 0;
}

static void recover_remove(storage_log *log, const char *name, const char *event) {
    int rc = storage_file_unlink(log->dir_fd, name);
    SL_LOG(rc == SL_OK ? SL_INFO : SL_WARN, STORAGE_MOD, event, "dir=%s file=%s err=\"%s\"",
           log->dir, name, sl_strerror(rc));
}

/* Step 1 for one entry. */
static void recover_classify(storage_log *log,
                             const struct dirent *ent,
                             offset_list *logs,
                             offset_list *swaps) {
    const char *name = ent->d_name;
    int64_t base;
    const char *suffix;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return;
    if (ent->d_type == DT_DIR) {
        SL_LOG(SL_WARN, STORAGE_MOD, "stray_directory_ignored", "dir=%s name=%s", log->dir, name);
        return;
    }
    if (has_suffix(name, ".tmp")) return recover_remove(log, name, "stale_tmp_removed");
    if (has_suffix(name, ".deleted") || has_suffix(name, ".cleaned")) {
        return recover_remove(log, name, "leftover_removed");
    }
    if (!storage_parse_segment_name(name, &base, &suffix)) {
        if (has_suffix(name, ".log") || has_suffix(name, ".index") ||
            has_suffix(name, ".timeindex") || has_suffix(name, ".swap")) {
            SL_LOG(SL_WARN, STORAGE_MOD, "misnamed_file_ignored", "dir=%s name=%s", log->dir, name);
        }
        return; /* an aux file (partition.metadata, …) */
    }
    if (strcmp(suffix, ".log") == 0) {
        list_push(logs, base);
    } else if (strcmp(suffix, ".log.swap") == 0) {
        list_push(swaps, base);
    } else if (strcmp(suffix, ".index.swap") == 0 || strcmp(suffix, ".timeindex.swap") == 0) {
        recover_remove(log, name, "swap_index_removed"); /* indexes are rebuilt */
    } else if (strcmp(suffix, ".index") != 0 && strcmp(suffix, ".timeindex") != 0 &&
               has_suffix(name, ".swap")) {
        SL_LOG(SL_WARN, STORAGE_MOD, "misnamed_file_ignored", "dir=%s name=%s", log->dir, name);
    }
}

/* Call fn for every entry of the log's directory. */
static int recover_each_entry(storage_log *log,
                              void (*fn)(storage_log *, const struct dirent *, void *),
                              void *arg) {
    int fd = dup(log->dir_fd);
    if (fd < 0) return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    rewinddir(d);
    int rc = SL_OK;
    for (int64_t n = 0;; n++) {
        if (n >= RECOVER_DIR_ENTRIES_MAX) {
            rc = SL_E_TOO_LARGE;
            break;
        }
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno != 0) rc = -errno;
            break;
        }
        fn(log, ent, arg);
    }
    closedir(d);
    return rc;
}

typedef struct classify_args {
    offset_list *logs;
    offset_list *swaps;
} classify_args;

static void classify_entry(storage_log *log, const struct dirent *ent, void *arg) {
    classify_args *a = arg;
    recover_classify(log, ent, a->logs, a->swaps);
}

static void orphan_entry(storage_log *log, const struct dirent *ent, void *arg) {
    const offset_list *logs = arg;
    int64_t base;
    const char *suffix;
    if (!storage_parse_segment_name(ent->d_name, &base, &suffix)) return;
    if (strcmp(suffix, ".index") != 0 && strcmp(suffix, ".timeindex") != 0) return;
    if (!list_contains(logs, base)) recover_remove(log, ent->d_name, "orphan_index_removed");
}

/* Read a .log.swap file to its end: SL_OK with *end_out = its next offset, or
 * SL_E_CORRUPT when it is incomplete or damaged. A swap file is a compacted segment:
 * offsets increase, with gaps. */
static int swap_scan(int fd, int64_t size, int64_t base, int64_t *end_out) {
    uint8_t *buf = sl_malloc(STORAGE_SCAN_BUF_BYTES);
    storage_cursor c;
    storage_cursor_init(&c, fd, size, buf, STORAGE_SCAN_BUF_BYTES);
    int64_t pos = 0, next = -1, steps_max = size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    int rc = SL_OK;
    for (int64_t i = 0; i < steps_max && pos < size && rc == SL_OK; i++) {
        storage_batch b;
        rc = storage_cursor_batch(&c, pos, &b);
        if (rc == SL_OK) rc = storage_cursor_check_crc(&c, pos, &b);
        if (rc == SL_OK && (b.base_offset < base || (next >= 0 && b.base_offset < next))) {
            rc = SL_E_CORRUPT;
        }
        if (rc == SL_OK) {
            next = b.last_offset + 1;
            pos += b.size;
        }
    }
    sl_free(buf);
    if (rc < 0 && rc > -1000) return rc;
    if (rc != SL_OK || pos != size) return SL_E_CORRUPT;
    *end_out = next >= 0 ? next : base;
    return SL_OK;
}

static void remove_segment_files(storage_log *log, int64_t base) {
    static const char *const suffixes[] = { ".index", ".timeindex", ".log" };
    for (int i = 0; i < 3; i++) {
        char name[STORAGE_NAME_BYTES];
        storage_segment_file_name(name, base, suffixes[i]);
        (void)storage_file_unlink(log->dir_fd, name);
    }
}

/* Complete an interrupted swap (a cleaned segment replacing the segments it covers):
 * the segments whose base offsets it covers go, it takes its final name. */
static int recover_swap(storage_log *log, int64_t base, offset_list *logs) {
    char swap[STORAGE_NAME_BYTES], final[STORAGE_NAME_BYTES];
    storage_segment_file_name(swap, base, ".log.swap");
    storage_segment_file_name(final, base, ".log");
    int fd = openat(log->dir_fd, swap, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int64_t size = lseek(fd, 0, SEEK_END), end = base;
    int rc = size < 0 ? -errno : swap_scan(fd, size, base, &end);
    close(fd);
    if (rc == SL_E_CORRUPT) {
        recover_remove(log, swap, "incomplete_swap_removed");
        return SL_OK;
    }
    SL_TRY(rc);
    if (end == base) { /* holds nothing: it replaces nothing */
        recover_remove(log, swap, "empty_swap_removed");
        return SL_OK;
    }
    int32_t kept = 0;
    for (int32_t i = 0; i < logs->count; i++) {
        if (logs->v[i] >= base && logs->v[i] < end) {
            remove_segment_files(log, logs->v[i]);
        } else {
            logs->v[kept++] = logs->v[i];
        }
    }
    logs->count = kept;
    remove_segment_files(log, base); /* its indexes, if base was not a segment */
    if (renameat(log->dir_fd, swap, log->dir_fd, final) != 0) return -errno;
    list_push(logs, base);
    SL_LOG(SL_INFO, STORAGE_MOD, "swap_completed",
           "dir=%s base_offset=%" PRId64 " end_offset=%" PRId64, log->dir, base, end);
    return SL_OK;
}

/* A sealed segment: cheap index checks, a rebuild when they fail. */
static int recover_sealed(storage_log *log, storage_segment *seg, int64_t next_base, bool bad) {
    seg->next_offset = next_base;
    if (seg->size > INT32_MAX) {
        SL_LOG(SL_ERROR, STORAGE_MOD, "segment_too_large",
               "dir=%s base_offset=%" PRId64 " bytes=%" PRId64, log->dir, seg->base_offset,
               seg->size);
        return SL_E_CORRUPT;
    }
    if (!bad && storage_segment_indexes_plausible(seg)) return SL_OK;
    SL_LOG(SL_WARN, STORAGE_MOD, "index_invalid",
           "dir=%s base_offset=%" PRId64 " missing_or_misaligned=%d", log->dir, seg->base_offset,
           bad);
    return storage_segment_reindex(log, seg);
}

/* After a clean close: walk from the last index entry to the end of the file and check the
 * tail batch's CRC. False when anything disagrees (the caller then rebuilds). */
static bool recover_clean_tail(storage_log *log, storage_segment *seg) {
    const int64_t rel_limit = (int64_t)INT32_MAX + 1;
    if (seg->size > INT32_MAX) return false;
    if (!storage_index_offsets_valid(&seg->offsets, rel_limit, seg->size)) return false;
    int64_t pos = 0, expect_base = seg->base_offset, expect_last = -1;
    if (seg->offsets.entries > 0) {
        int32_t rel, p;
        storage_index_offset_at(&seg->offsets, seg->offsets.entries - 1, &rel, &p);
        pos = p;
        expect_last = seg->base_offset + rel;
    }
    int64_t walk_from = pos, steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    storage_cursor c;
    storage_batch b = { 0 }, last = { 0 };
    storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
    for (int64_t i = 0; i < steps_max && pos < seg->size; i++) {
        if (storage_cursor_batch(&c, pos, &b) != SL_OK) return false;
        if (expect_last >= 0 ? b.last_offset != expect_last
                             : !storage_log_offset_follows(log, b.base_offset, expect_base)) {
            return false;
        }
        if (b.last_offset - seg->base_offset > INT32_MAX) return false;
        if (b.max_timestamp > seg->max_timestamp) {
            seg->max_timestamp = b.max_timestamp;
            seg->offset_of_max_timestamp = b.last_offset;
        }
        expect_last = -1;
        expect_base = b.last_offset + 1;
        last = b;
        pos += b.size;
    }
    if (pos != seg->size) return false;
    if (seg->size > 0 && storage_cursor_check_crc(&c, pos - last.size, &last) != SL_OK) {
        return false;
    }
    seg->next_offset = seg->size > 0 ? last.last_offset + 1 : seg->base_offset;
    if (!storage_index_times_valid(&seg->times, seg->next_offset - seg->base_offset)) return false;
    seg->bytes_since_index = seg->size - walk_from;
    if (seg->size > 0 && storage_cursor_batch(&c, 0, &b) == SL_OK && b.max_timestamp >= 0) {
        seg->rolling_ms = b.max_timestamp;
    }
    seg->indexes_checked = true;
    return true;
}

/* The active segment: clean tail walk, or a full rebuild and a cut at the first bad batch. */
static int recover_active(storage_log *log, storage_segment *seg, bool clean, bool bad) {
    int64_t file_size = seg->size;
    if (clean && !bad && recover_clean_tail(log, seg)) return storage_segment_activate(log, seg);
    if (clean) {
        SL_LOG(SL_WARN, STORAGE_MOD, "clean_tail_invalid", "dir=%s base_offset=%" PRId64, log->dir,
               seg->base_offset);
    }
    seg->max_timestamp = STORAGE_NO_TIMESTAMP;
    seg->offset_of_max_timestamp = -1;
    int stop = STORAGE_SCAN_END;
    SL_TRY(storage_segment_rebuild(log, seg, true, &stop));
    if (seg->size < file_size) {
        SL_LOG(SL_WARN, STORAGE_MOD, "recover_truncate",
               "dir=%s base_offset=%" PRId64 " valid_bytes=%" PRId64 " dropped_bytes=%" PRId64
               " reason=%s",
               log->dir, seg->base_offset, seg->size, file_size - seg->size,
               storage_scan_stop_name(stop));
        if (ftruncate(seg->fd, (off_t)seg->size) != 0) return -errno;
    }
    /* what survived a process crash may still be only in the page cache */
    if (fdatasync(seg->fd) != 0) return -errno;
    SL_LOG(SL_INFO, STORAGE_MOD, "segment_recovered",
           "dir=%s base_offset=%" PRId64 " bytes=%" PRId64 " next_offset=%" PRId64, log->dir,
           seg->base_offset, seg->size, seg->next_offset);
    return storage_segment_activate(log, seg);
}

/* A .log file of zero bytes that is not the last holds no offsets and nothing refers to
 * it; left in place it would claim to end where the previous segment does not. In a
 * compacted log the first segment may be empty (compaction removed everything in it but
 * keeps it for the log start offset): it stays. */
static void recover_drop_empty(storage_log *log, offset_list *logs) {
    int32_t kept = 0;
    for (int32_t i = 0; i < logs->count; i++) {
        if (i == 0 && log->offset_gaps) {
            logs->v[kept++] = logs->v[i];
            continue;
        }
        char name[STORAGE_NAME_BYTES];
        struct stat st;
        storage_segment_file_name(name, logs->v[i], ".log");
        bool empty = fstatat(log->dir_fd, name, &st, 0) == 0 && st.st_size == 0;
        if (empty && i < logs->count - 1) {
            SL_LOG(SL_WARN, STORAGE_MOD, "empty_segment_removed", "dir=%s base_offset=%" PRId64,
                   log->dir, logs->v[i]);
            remove_segment_files(log, logs->v[i]);
            continue;
        }
        logs->v[kept++] = logs->v[i];
    }
    logs->count = kept;
}

/* A sealed segment at or after the recovery point may have lost its tail in a power
 * failure (its writeback was only started). Scan it like the active segment; if it does
 * not end cleanly where the next one begins, cut it there and drop every later segment,
 * as Kafka's recovery does: offsets after a hole cannot be served. */
static int
recover_unflushed(storage_log *log, storage_segment *seg, int64_t next_base, bool *cut_out) {
    int64_t file_size = seg->size;
    int stop = STORAGE_SCAN_END;
    SL_TRY(storage_segment_rebuild(log, seg, true, &stop));
    /* compacted: the last batch may end before the next segment begins (as in Kafka, a
     * tail lost to a power failure at a batch boundary then goes unnoticed) */
    bool end_ok = log->offset_gaps ? seg->next_offset <= next_base : seg->next_offset == next_base;
    *cut_out = stop != STORAGE_SCAN_END || seg->size != file_size || !end_ok;
    if (*cut_out) {
        SL_LOG(SL_WARN, STORAGE_MOD, "recover_truncate",
               "dir=%s base_offset=%" PRId64 " valid_bytes=%" PRId64 " dropped_bytes=%" PRId64
               " reason=%s"
               " later_segments=dropped",
               log->dir, seg->base_offset, seg->size, file_size - seg->size,
               storage_scan_stop_name(stop));
        if (ftruncate(seg->fd, (off_t)seg->size) != 0) return -errno;
    }
    seg->synced = false;
    SL_TRY(storage_segment_sync(seg));
    return *cut_out ? storage_segment_activate(log, seg) : storage_segment_seal(seg);
}

static int recover_load(storage_log *log, const offset_list *logs, bool clean, int64_t now_ms) {
    for (int32_t i = 0; i < logs->count; i++) {
        storage_segment *seg;
        bool bad = false, cut = false, last = i == logs->count - 1;
        SL_TRY(storage_segment_open(log, logs->v[i], now_ms, &seg, &bad));
        int rc;
        if (last) {
            rc = recover_active(log, seg, clean, bad);
        } else if (!clean && logs->v[i] >= log->recovery_point) {
            rc = recover_unflushed(log, seg, logs->v[i + 1], &cut);
        } else {
            rc = recover_sealed(log, seg, logs->v[i + 1], bad);
        }
        if (rc != SL_OK) {
            storage_segment_free(seg);
            return rc;
        }
        storage_log_push_segment(log, seg);
        if (cut) {
            for (int32_t k = logs->count - 1; k > i; k--) {
                remove_segment_files(log, logs->v[k]);
            }
            return storage_fsync_dir(log->dir_fd);
        }
    }
    return SL_OK;
}

int storage_recover_dir(storage_log *log, bool clean, int64_t now_ms) {
    offset_list logs = { 0 }, swaps = { 0 };
    classify_args args = { &logs, &swaps };
    int rc = recover_each_entry(log, classify_entry, &args);
    if (swaps.count > 0) qsort(swaps.v, (size_t)swaps.count, sizeof(int64_t), cmp_i64);
    for (int32_t i = 0; rc == SL_OK && i < swaps.count; i++) {
        rc = recover_swap(log, swaps.v[i], &logs);
    }
    if (rc == SL_OK) {
        if (logs.count > 0) qsort(logs.v, (size_t)logs.count, sizeof(int64_t), cmp_i64);
        rc = recover_each_entry(log, orphan_entry, &logs);
        recover_drop_empty(log, &logs);
    }
    if (rc == SL_OK && logs.count > STORAGE_SEGMENTS_MAX) rc = SL_E_TOO_LARGE;
    if (rc == SL_OK) rc = recover_load(log, &logs, clean, now_ms);
    sl_free(logs.v);
    sl_free(swaps.v);
    if (rc == SL_OK && log->segment_count == 0) {
        storage_segment *seg;
        rc = storage_segment_create(log, log->start_offset, now_ms, &seg);
        if (rc == SL_OK) storage_log_push_segment(log, seg);
    }
    return rc;
}
