/* storage_int.h — private to storage/: the structures behind storage_log and the helpers
 * its files share. File format and invariants are in storage.h.
 *
 * Files:
 *   storage_file.c     path names, whole-file I/O, atomic replace, aux files
 *   storage_batch.c    decoding batch headers from disk, the buffered header cursor
 *   storage_index.c    .index and .timeindex files (mmap for lookups, pwrite for appends)
 *   storage_segment.c  one segment: create, load, account a batch, scan, seal, truncate
 *   storage_recover.c  opening a directory: leftovers, ordering, recovery of each segment
 *   storage_log.c      storage_log lifecycle, append, roll, flush
 *   storage_read.c     reads, offset/time lookups
 *   storage_retain.c   retention, truncation, log start offset, segment deletion
 *   storage_epoch.c    the leader epoch cache and its checkpoint
 *   storage_verify.c   offline verification of a directory
 *
 * Ownership: every structure here belongs to its storage_log and to that log's owner
 * thread (storage.h); nothing is shared between logs. */
#ifndef STORAGE_INT_H
#define STORAGE_INT_H

#include "storage/storage.h"
#include "common/sl_assert.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "protocol/protocol.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_MOD               "storage"
#define STORAGE_NAME_DIGITS       20        /* Kafka's zero-padded base offset */
#define STORAGE_NAME_BYTES        64        /* room for "<20 digits>.timeindex.deleted" and NUL */
#define STORAGE_SCAN_BUF_BYTES    (1 << 20) /* recovery reads; one typical max batch */
#define STORAGE_WALK_BUF_BYTES    8192      /* read-path header walks: an index interval + slack */
#define STORAGE_SEGMENT_BYTES_MIN 64        /* must hold one 61-byte batch header */
#define STORAGE_INDEX_BYTES_MIN   24        /* two time index entries: one data, one for sealing */
#define STORAGE_SEGMENTS_MAX      (1 << 24) /* directory listing bound */
#define STORAGE_UNSYNCED_SEALED_MAX                                                                \
    2                                          /* a roll leaves at most this many sealed segments  \
                                                  unsynced: the crash-time scan stays short while  \
                                                  the kernel writes them back in the background */
#define STORAGE_EPOCHS_MAX           (1 << 20) /* checkpoint entries accepted */
#define STORAGE_CHECKPOINT_BYTES_MAX (32 << 20)

/* SL_RETURN_IF with a format and arguments: common's macro puts the caller's arguments
 * before its own, so it only works with a bare string. */
#define STORAGE_RETURN_IF(cond, err, fmt, ...)                                                     \
    do {                                                                                           \
        if (cond) {                                                                                \
            SL_LOG(SL_DEBUG, "err", "return", "err=\"%s\" at=%s:%d " fmt, sl_strerror(err),        \
                   __FILE__, __LINE__, ##__VA_ARGS__);                                             \
            return (err);                                                                          \
        }                                                                                          \
    } while (0)

#define STORAGE_CLEAN_SHUTDOWN_FILE ".clean_shutdown"
#define STORAGE_EPOCH_FILE          "leader-epoch-checkpoint"
#define STORAGE_START_OFFSET_FILE   "log-start-offset"
#define STORAGE_RECOVERY_POINT_FILE "recovery-point"

/* ---------------- files (storage_file.c) ---------------- */

/* "<20-digit base><suffix>" into out (STORAGE_NAME_BYTES). */
void storage_segment_file_name(char *out, int64_t base_offset, const char *suffix);
/* If name is "<20 digits>.<rest>", set *base_out and *suffix_out (points at the '.')
 * and return true; false when the prefix is not exactly 20 digits or overflows int64. */
bool storage_parse_segment_name(const char *name, int64_t *base_out, const char **suffix_out);
int storage_mkdirs(const char *path);
int storage_fsync_dir(int dir_fd);
/* Full pwrite/pread, retrying short transfers and EINTR (bounded). pread: *got_out is
 * the bytes read (less than n only at end of file). */
int storage_pwrite_all(int fd, const void *data, size_t n, int64_t pos);
int storage_pread_all(int fd, void *data, size_t n, int64_t pos, size_t *got_out);
/* tmp + fsync + rename + fsync dir. */
int storage_file_replace(int dir_fd, const char *name, const uint8_t *data, size_t len);
/* Append the file's bytes to out. SL_E_NOT_FOUND, SL_E_TOO_LARGE (> max). */
int storage_file_read(int dir_fd, const char *name, size_t max, sl_buf *out);
/* A small "0\n<value>\n" file (log start offset, recovery point): written atomically;
 * read returns SL_OK, SL_E_NOT_FOUND, SL_E_CORRUPT (malformed or negative) or -errno. */
int storage_offset_file_write(int dir_fd, const char *name, int64_t value);
int storage_offset_file_read(int dir_fd, const char *name, int64_t *value_out);
/* unlinkat, treating ENOENT as success. */
int storage_file_unlink(int dir_fd, const char *name);
bool storage_file_exists(int dir_fd, const char *name);

/* ---------------- batches on disk (storage_batch.c) ---------------- */

/* The header fields storage uses. */
typedef struct storage_batch {
    int64_t base_offset;
    int64_t last_offset;
    int64_t max_timestamp;
    int64_t size; /* whole batch, 12 + batchLength */
    int32_t epoch;
    uint32_t crc;
} storage_batch;

/* Decode the header at p (at least 61 readable bytes), of a batch that has avail bytes
 * of file from its start. SL_E_SHORT when avail < 61 or the batch runs past avail;
 * SL_E_CORRUPT for a wrong magic, a batchLength below 49, a negative lastOffsetDelta or
 * count, or a last offset that overflows. */
int storage_batch_decode(const uint8_t *p, int64_t avail, storage_batch *out);

/* A buffered reader of batch headers in one file region [0, limit). */
typedef struct storage_cursor {
    int fd;
    int64_t limit; /* bytes of the file that may be read */
    uint8_t *buf;  /* borrowed, cap bytes */
    size_t cap;
    int64_t buf_pos; /* file position of buf[0] */
    size_t buf_len;  /* valid bytes in buf */
} storage_cursor;

void storage_cursor_init(storage_cursor *c, int fd, int64_t limit, uint8_t *buf, size_t cap);
/* Decode the batch header at pos. Returns as storage_batch_decode, or -errno. */
int storage_cursor_batch(storage_cursor *c, int64_t pos, storage_batch *out);
/* Check the CRC-32C of the batch at pos (decoded into b). SL_OK, SL_E_CORRUPT, -errno. */
int storage_cursor_check_crc(storage_cursor *c, int64_t pos, const storage_batch *b);

/* ---------------- indexes (storage_index.c) ---------------- */

typedef struct storage_index {
    int fd;                /* open while the segment is active; -1 once sealed */
    uint8_t *map;          /* PROT_READ, MAP_SHARED over map_bytes; NULL when map_bytes == 0 */
    size_t map_bytes;      /* == file size */
    int32_t entries;       /* entries in use */
    int32_t entry_bytes;   /* STORAGE_INDEX_ENTRY_BYTES or STORAGE_TIMEINDEX_ENTRY_BYTES */
    size_t reserved_bytes; /* file bytes with disk blocks behind them: stores cannot fault */
} storage_index;

void storage_index_init(storage_index *idx, int32_t entry_bytes);
/* Open (creating) dir/name read-write and map it writable; entries = file size / entry_bytes.
 * *misaligned_out is set when the size is not a multiple of the entry size. */
int storage_index_open(storage_index *idx, int dir_fd, const char *name, bool *misaligned_out);
/* Map a sealed file read-only, without keeping a descriptor. SL_E_NOT_FOUND if absent. */
int storage_index_open_sealed(storage_index *idx,
                              int dir_fd,
                              const char *name,
                              bool *misaligned_out);
void storage_index_close(storage_index *idx);
/* Set the file size to bytes (rounded down to whole entries, never below the used
 * entries) and remap. Needs an open descriptor. */
int storage_index_resize(storage_index *idx, int64_t bytes);
/* Shrink the file to the used entries and drop the descriptor. No fdatasync: an index is
 * derived data, checked before use and rebuilt when wrong. */
int storage_index_seal(storage_index *idx);
/* Keep only the first n entries; the bytes after them are zeroed. */
int storage_index_truncate(storage_index *idx, int32_t n);
static inline int32_t storage_index_capacity(const storage_index *idx) {
    return (int32_t)(idx->map_bytes / (size_t)idx->entry_bytes);
}
int storage_index_append_offset(storage_index *idx, int32_t rel_offset, int32_t position);
int storage_index_append_time(storage_index *idx, int64_t timestamp, int32_t rel_offset);
void storage_index_offset_at(const storage_index *idx,
                             int32_t i,
                             int32_t *rel_out,
                             int32_t *pos_out);
void storage_index_time_at(const storage_index *idx, int32_t i, int64_t *ts_out, int32_t *rel_out);
/* Largest entry with relative offset <= rel (resp. timestamp <= ts); -1 when none. Any
 * file contents give a bounded search; callers validate what they find. */
int32_t storage_index_offset_floor(const storage_index *idx, int64_t rel);
int32_t storage_index_time_floor(const storage_index *idx, int64_t ts);
/* Full O(entries) checks. offsets: relative offsets in [0, rel_end) strictly increasing,
 * positions in (0, log_size) strictly increasing. times: timestamps strictly increasing,
 * relative offsets in [0, rel_end) non-decreasing. */
bool storage_index_offsets_valid(const storage_index *idx, int64_t rel_end, int64_t log_size);
bool storage_index_times_valid(const storage_index *idx, int64_t rel_end);

/* ---------------- segments (storage_segment.c) ---------------- */

typedef struct storage_segment {
    int64_t base_offset;
    int fd;                          /* .log, read-write */
    int64_t size;                    /* bytes of whole batches */
    int64_t next_offset;             /* last offset + 1 of the last batch; base when empty */
    int64_t max_timestamp;           /* -1 when no batch has one */
    int64_t offset_of_max_timestamp; /* -1 when none */
    int64_t rolling_ms;              /* segment.ms counts from here */
    int64_t bytes_since_index;       /* bytes appended since the last index entry */
    int64_t delete_at_ms;            /* renamed *.deleted: unlink at this time */
    bool active;                     /* indexes preallocated and writable */
    bool synced;                     /* no write to the .log since its last fdatasync */
    bool indexes_checked;            /* both indexes passed the full check or were built */
    storage_index offsets;           /* .index */
    storage_index times;             /* .timeindex */
} storage_segment;

/* True when an index cannot take another entry: the active segment must roll. One time
 * index slot is kept for the entry written when the segment is sealed. */
static inline bool storage_segment_index_full(const storage_segment *seg) {
    return seg->offsets.entries >= storage_index_capacity(&seg->offsets) ||
           seg->times.entries >= storage_index_capacity(&seg->times) - 1;
}
/* Create a new empty segment's three files (failing if a non-empty .log exists). */
int storage_segment_create(storage_log *log,
                           int64_t base_offset,
                           int64_t now_ms,
                           storage_segment **seg_out);
/* Open an existing segment's files; sizes only, no validation. Index files that are
 * missing or misaligned leave *indexes_bad_out true. */
int storage_segment_open(storage_log *log,
                         int64_t base_offset,
                         int64_t now_ms,
                         storage_segment **seg_out,
                         bool *indexes_bad_out);
void storage_segment_free(storage_segment *seg);
/* Update size, next offset, max timestamp and the indexes for a batch written at pos. */
int storage_segment_account(storage_log *log,
                            storage_segment *seg,
                            int64_t pos,
                            const storage_batch *b);
/* Why a scan stopped. */
enum storage_scan_stop {
    STORAGE_SCAN_END = 0,  /* reached the limit exactly */
    STORAGE_SCAN_SHORT,    /* a batch runs past the end (torn write) */
    STORAGE_SCAN_CORRUPT,  /* bad header or CRC (garbage, zero fill) */
    STORAGE_SCAN_GAP,      /* base offset is not the expected next offset */
    STORAGE_SCAN_OVERFLOW, /* relative offset or position would not fit an int32 */
    STORAGE_SCAN_EPOCH,    /* leader epoch below an earlier batch's (the field is not
                              covered by the CRC, and epochs never go back in a log) */
};
const char *storage_scan_stop_name(int stop);
/* Reset the segment to empty (indexes too) and rebuild it from its file: every batch
 * is decoded, CRC-checked and accounted until the first bad one. Epochs of the batches
 * are assigned to the log's cache when assign_epochs. *stop_out says why it ended;
 * seg->size is where the valid bytes end (the file is not cut here). */
int storage_segment_rebuild(storage_log *log,
                            storage_segment *seg,
                            bool assign_epochs,
                            int *stop_out);
/* Make a loaded segment the active one: preallocate its index files. */
int storage_segment_activate(storage_log *log, storage_segment *seg);
/* Add the final time index entry and trim both indexes; the segment stops being active.
 * The .log is not synced here (storage_log_sync_sealed decides when). */
int storage_segment_seal(storage_segment *seg);
/* fdatasync the .log unless nothing was written since the last one. */
int storage_segment_sync(storage_segment *seg);
/* Rebuild a sealed segment's indexes from its file. The segment must read cleanly to its
 * end and finish at its next_offset; otherwise its counters are restored and SL_E_CORRUPT
 * returned (the partial indexes stay: they are right for the prefix). */
int storage_segment_reindex(storage_log *log, storage_segment *seg);
/* Cheap checks of a sealed segment's indexes (first and last entries) at open. */
bool storage_segment_indexes_plausible(const storage_segment *seg);
/* Full index check on first use; rebuilds the indexes from the file when it fails. */
int storage_segment_check_indexes(storage_log *log, storage_segment *seg);
/* Decode the batch header at pos and check it belongs here: its base offset is
 * expect_base (unless -1) and its offsets lie inside the segment. SL_E_CORRUPT (logged)
 * or -errno otherwise. */
int storage_segment_batch_at(storage_log *log,
                             storage_segment *seg,
                             storage_cursor *c,
                             int64_t pos,
                             int64_t expect_base,
                             storage_batch *b);
/* Position and header of the first batch with last offset >= offset; SL_E_NOT_FOUND when
 * the segment has none. */
int storage_segment_locate(
    storage_log *log, storage_segment *seg, int64_t offset, int64_t *pos_out, storage_batch *b_out);
/* Cut the segment before the first batch holding an offset >= offset (file, indexes,
 * counters). The segment must be active. */
int storage_segment_truncate(storage_log *log, storage_segment *seg, int64_t offset);
/* Rename the three files to *.deleted (the .log last is not required: leftovers of any
 * kind are removed by recovery). */
int storage_segment_rename_deleted(storage_log *log, storage_segment *seg);
/* Unlink the segment's files (with or without the .deleted suffix). */
int storage_segment_unlink(storage_log *log, storage_segment *seg, bool deleted_suffix);

/* ---------------- epochs (storage_epoch.c) ---------------- */

typedef struct storage_epoch_entry {
    int32_t epoch;
    int64_t start_offset;
} storage_epoch_entry;

typedef struct storage_epochs {
    storage_epoch_entry *v; /* owned; oldest first */
    int32_t count;
    int32_t cap;
} storage_epochs;

void storage_epochs_init(storage_epochs *e);
void storage_epochs_deinit(storage_epochs *e);
int32_t storage_epochs_latest(const storage_epochs *e); /* -1 when empty */
/* The cache operations of Kafka's LeaderEpochFileCache; each returns true when the
 * entries changed. */
bool storage_epochs_assign(storage_epochs *e, int32_t epoch, int64_t start_offset);
bool storage_epochs_truncate_from_end(storage_epochs *e, int64_t end_offset);
bool storage_epochs_truncate_from_start(storage_epochs *e, int64_t start_offset);
bool storage_epochs_clear(storage_epochs *e);
void storage_epochs_end_offset(const storage_epochs *e,
                               int32_t epoch,
                               int64_t log_end_offset,
                               int32_t *epoch_out,
                               int64_t *end_offset_out);
void storage_epochs_encode(const storage_epochs *e, sl_buf *out);
/* Parse a checkpoint; e is replaced on success only. SL_E_CORRUPT. */
int storage_epochs_parse(storage_epochs *e, const uint8_t *data, size_t len);
/* Write the checkpoint file for the log's cache. */
int storage_epochs_persist(storage_log *log);
/* Load the checkpoint at open: SL_OK, or SL_E_NOT_FOUND / SL_E_CORRUPT (cache left empty)
 * when it must be rebuilt from the batches. */
int storage_epochs_load(storage_log *log);
/* Rebuild the cache from every batch header in the log. */
int storage_epochs_rebuild(storage_log *log);

/* ---------------- the log (storage_log.c, storage_recover.c, storage_retain.c) -------- */

struct storage_log {
    char *dir;  /* owned */
    int dir_fd; /* O_DIRECTORY, flock()ed */
    storage_log_config cfg;
    storage_segment **segments; /* owned, ascending base offset; the last is active */
    int32_t segment_count;
    int32_t segment_cap;
    storage_segment **doomed; /* renamed *.deleted, waiting for delete_at_ms */
    int32_t doomed_count;
    int32_t doomed_cap;
    int64_t start_offset;      /* log start offset */
    int64_t flushed_offset;    /* in the active segment, everything below is fdatasync'd */
    int64_t recovery_point;    /* segments below this base offset are durable (persisted) */
    int64_t unflushed_records; /* records appended since the last flush */
    int64_t last_flush_ms;
    int64_t size_bytes; /* sum of segment sizes */
    int failed;         /* 0, or the error that made the log fail-stop */
    storage_epochs epochs;
    uint8_t walk_buf[STORAGE_WALK_BUF_BYTES]; /* read-path header walks */
};

static inline storage_segment *storage_log_active(const storage_log *log) {
    return log->segments[log->segment_count - 1];
}

/* Record err as the reason for fail-stop when it is an I/O error (-errno), log it, and
 * return err. SL_E_* codes pass through unchanged. */
int storage_log_fail(storage_log *log, int err, const char *what);
/* Roll: seal the active segment and start a new one at the log end offset. */
int storage_log_roll(storage_log *log, int64_t now_ms, const char *why);
/* Insert / remove segments in the array. */
void storage_log_push_segment(storage_log *log, storage_segment *seg);
/* Find the index of the segment holding offset (largest base <= offset); -1 if none. */
int32_t storage_log_segment_for(const storage_log *log, int64_t offset);
/* Recover the directory into log->segments (storage_recover.c). clean: a clean-shutdown
 * marker was present. */
int storage_recover_dir(storage_log *log, bool clean, int64_t now_ms);
/* Delete the segments [from, segment_count) (highest first), unlinking at once. */
int storage_log_drop_tail(storage_log *log, int32_t from);
/* Unlink doomed segments whose delay has passed (all of them when force). */
int storage_log_reap(storage_log *log, int64_t now_ms, bool force);
/* Persist the log start offset (STORAGE_START_OFFSET_FILE). */
int storage_log_persist_start(storage_log *log);
/* Read a persisted offset file: `fallback` when it is absent or malformed (reported). */
int storage_log_load_offset(storage_log *log,
                            const char *name,
                            int64_t fallback,
                            int64_t *value_out);
/* fdatasync the sealed segments except the `keep_unsynced` newest, then persist the
 * recovery point if it moved. Fail-stops on error. */
int storage_log_sync_sealed(storage_log *log, int32_t keep_unsynced);

#endif
