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
 *   storage_clean.c    compaction: scheduling, the checkpoint, passes, mapping the dirty part
 *   storage_clean_map.c   the offset map (key digest -> latest offset) and SipHash-128
 *   storage_clean_copy.c  compaction: rewriting segment groups and swapping them in
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

typedef struct storage_clean_pass storage_clean_pass; /* storage_clean.c */

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
    bool offset_gaps;          /* compacted: batch offsets increase, with gaps (storage.h) */
    bool clean_checkpointed;   /* STORAGE_CLEAN_CHECKPOINT_FILE exists */
    bool clean_broken;         /* a pass met a damaged batch: none until reopened */
    int64_t clean_first_dirty; /* cleaner checkpoint: offsets below are compacted */
    int64_t clean_horizon_ms;  /* earliest delete horizon of a kept tombstone; -1 none */
    storage_clean_pass *clean; /* the compaction pass in progress, or NULL */
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
/* Keep a segment that left the array (renamed *.deleted, or replaced by compaction) until
 * file_delete_delay_ms after now_ms, with its descriptor open (storage_retain.c). */
void storage_log_push_doomed(storage_log *log, storage_segment *seg, int64_t now_ms);
/* Whether a batch whose base offset is base may follow one whose last offset is
 * expect - 1 (expect: the next offset expected): equal, or above in a compacted log. */
static inline bool
storage_log_offset_follows(const storage_log *log, int64_t base, int64_t expect) {
    return base == expect || (log->offset_gaps && base > expect);
}

/* ---------------- compaction (storage_clean*.c) ----------------
 * Design, format and crash protocol in storage.h ("compaction"). */

#define STORAGE_CLEAN_CHECKPOINT_FILE "cleaner-offset-checkpoint"
#define STORAGE_CLEAN_RECORDS_MAX_BYTES                                                            \
    (256 << 20) /* decompressed records section of one batch; a larger one is kept unread */
#define STORAGE_CLEAN_MAP_BYTES_MIN 1024      /* offset_map_bytes lower bound */
#define STORAGE_CLEAN_CHUNK_BYTES   (1 << 20) /* segment reads and cleaned-file writes */

/* Load the checkpoint at open (before recovery, which needs offset_gaps). A missing file
 * is a log never compacted; an unreadable one still marks a compacted log (reported). */
int storage_clean_load(storage_log *log);
/* Make the log gap-tolerant for good: write the checkpoint first if there is none. */
int storage_clean_mark_gaps(storage_log *log);
/* Drop the pass in progress (segments are about to be deleted or truncated, or the log
 * closes). why is logged. */
void storage_clean_drop(storage_log *log, const char *why);
/* After a truncation to end_offset: drop the pass and pull the checkpoint back to it. */
int storage_clean_truncated(storage_log *log, int64_t end_offset);

/* The offset map: 128-bit key digest -> latest offset, open addressing, linear probing. */
typedef struct storage_offset_map {
    uint64_t *slots; /* owned; 3 words a slot: digest, digest, offset + 1 (0 = empty) */
    int64_t slot_count;
    int64_t entries;     /* slots in use */
    int64_t entries_max; /* 3/4 of slot_count: linear probing slows fast beyond that */
    uint64_t key[2];     /* SipHash key, random per map */
} storage_offset_map;

#define STORAGE_OFFSET_MAP_SLOT_BYTES 24

/* Size the map for at most `records` keys and at most bytes_max bytes. */
void storage_offset_map_init(storage_offset_map *m, int64_t records, int64_t bytes_max);
void storage_offset_map_deinit(storage_offset_map *m);
/* Record offset as the latest for key (offsets arrive increasing). The caller keeps
 * entries below entries_max. */
void storage_offset_map_put(storage_offset_map *m, const uint8_t *key, size_t len, int64_t offset);
/* The latest offset recorded for key, or -1. */
int64_t storage_offset_map_get(const storage_offset_map *m, const uint8_t *key, size_t len);
/* SipHash-2-4 with 128-bit output (the reference's siphash128). */
void storage_siphash128(const uint64_t key[2], const uint8_t *data, size_t len, uint64_t out[2]);

/* Reads whole batches of one segment through a window buffer. */
typedef struct storage_clean_reader {
    const storage_segment *seg; /* the segment the window belongs to */
    sl_buf buf;                 /* file bytes [buf_pos, buf_pos + buf.len) */
    int64_t buf_pos;
} storage_clean_reader;

/* A compaction pass; lives between storage_log_clean calls (storage.h). */
struct storage_clean_pass {
    int phase;                   /* CLEAN_PHASE_* (storage_clean.c) */
    int64_t first_dirty;         /* mapping starts here */
    int64_t uncleanable;         /* a segment base: nothing at or above is cleaned */
    int64_t end_offset;          /* the map covers [first_dirty, end_offset) */
    double dirty_ratio;          /* when the pass started */
    int64_t delete_retention_ms; /* from the config the pass started with */
    storage_offset_map map;
    storage_clean_reader rd;
    sl_buf scratch; /* decompressed records */
    sl_buf kept;    /* protocol_record array: a batch's kept records */
    protocol_batch_builder builder;
    int32_t map_index;   /* map phase: segment being read */
    int64_t map_pos;     /* map phase: position in it */
    int64_t map_expect;  /* map phase: smallest base offset the next batch may have */
    int32_t next_index;  /* copy phase: first segment of the next group */
    int32_t group_first; /* copy phase: the group being written, -1 between groups */
    int32_t group_last;
    int32_t src_index; /* copy phase: segment being read, and where */
    int64_t src_pos;
    int64_t src_expect;        /* smallest base offset the next source batch may have */
    int out_fd;                /* <out_base>.log.cleaned, -1 when none */
    int64_t out_base;          /* base offset of the group's first segment */
    sl_buf out;                /* cleaned bytes not written yet */
    int64_t out_written;       /* bytes written to out_fd */
    int64_t out_last_offset;   /* last offset of the last kept batch; -1 none */
    bool out_changed;          /* some batch was rewritten or dropped */
    int64_t horizon_min;       /* earliest horizon of a kept tombstone; -1 none */
    storage_clean_stats total; /* the whole pass, logged at its end */
    int64_t start_us;
};

/* The whole batch at pos of seg (which must hold a batch there), CRC-checked: *p_out
 * stays valid until the next read. Bytes read from the file are added to *bytes_read.
 * SL_E_CORRUPT (bad length, CRC, or past the segment's end; logged), -errno. */
int storage_clean_read_batch(storage_log *log,
                             storage_clean_reader *rd,
                             const storage_segment *seg,
                             int64_t pos,
                             const uint8_t **p_out,
                             protocol_batch_header *h_out,
                             int64_t *bytes_read);
void storage_clean_reader_deinit(storage_clean_reader *rd);
/* Copy phase, within budget bytes read (storage_clean_copy.c): rewrite groups and swap
 * them in. *done_out is set when every segment below end_offset was rewritten. */
int storage_clean_copy_step(storage_log *log,
                            storage_clean_pass *pass,
                            int64_t now_ms,
                            int64_t budget,
                            storage_clean_stats *st,
                            bool *done_out);
/* The work a call has done, compared with bytes_per_call. */
static inline int64_t storage_clean_work(const storage_clean_stats *st) {
    return st->bytes_read + st->records_bytes;
}
/* Close and remove the pass's .cleaned file, if any. */
void storage_clean_copy_discard(storage_log *log, storage_clean_pass *pass);

#endif
