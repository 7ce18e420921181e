/* storage.h — the partition log: segments, indexes, recovery, retention.
 *
 * A storage_log is one partition's log in one directory, <log.dir>/<topic>-<partition>,
 * laid out as Kafka lays it out so Kafka's tools can read it:
 *
 *   file                              contents
 *   <20-digit base offset>.log        RecordBatch v2 bytes, exactly as served (protocol.h)
 *   <20-digit base offset>.index      sparse offset index, 8-byte entries (below)
 *   <20-digit base offset>.timeindex  sparse time index, 12-byte entries (below)
 *   leader-epoch-checkpoint           leader epoch cache (KIP-101/279), text (below)
 *   log-start-offset                  log start offset after DeleteRecords, text (below)
 *   recovery-point                    segments below this base offset are durable (below)
 *   cleaner-offset-checkpoint         compaction: where the dirty part begins (below); its
 *                                     presence marks a log whose offsets may have gaps
 *   .clean_shutdown                   present only between a clean close and the next open
 *   *.deleted                         segment files waiting for file_delete_delay_ms
 *   anything else (aux files)         storage_log_write_aux: partition.metadata, …
 *
 * The segment whose base offset is highest is the active segment; only it is written.
 * A segment holds offsets [base offset, next segment's base offset).
 *
 * .index entry (big-endian, 8 bytes; entry i is at byte 8*i):
 *   off size field
 *     0  4  relative offset int32   last offset of the batch - segment base offset
 *     4  4  position int32          byte position of that batch in the .log file
 * .timeindex entry (big-endian, 12 bytes):
 *     0  8  timestamp int64         largest batch maxTimestamp seen so far in the segment
 *     8  4  relative offset int32   last offset of the batch that carried it - base offset
 * An entry is added before a batch once more than index_interval_bytes have been
 * appended since the previous entry (so the first batch of a segment is never indexed
 * and every position is > 0). Offsets and positions strictly increase; timestamps
 * strictly increase. When a segment stops being active, one last time index entry
 * records its largest timestamp, and both files are trimmed to their used size; the
 * active segment's files are preallocated to segment_index_bytes (sparse, mmap'd).
 *
 * leader-epoch-checkpoint (Kafka's checkpoint format, '\n' line ends):
 *   0                   version
 *   <count>
 *   <epoch> <start offset>     count lines, epochs and start offsets increasing
 * log-start-offset and recovery-point: "0\n<offset>\n" (version, then the offset). With
 * no log-start-offset the log start offset is the first segment's base offset; with no
 * recovery-point every segment is scanned after a crash.
 *
 * Invariants: offsets are contiguous — each batch's base offset is the previous batch's
 * last offset + 1, across segments too — except in a compacted log (cfg.compact, or a
 * cleaner-offset-checkpoint file exists), where offsets only increase: a batch's base
 * offset is above the previous batch's last offset, a segment's first batch starts at or
 * after its base offset, and its last batch ends before the next segment's base offset
 * (compaction removes whole batches and records inside batches; a rewritten batch keeps
 * its baseOffset and lastOffsetDelta); batch leader epochs never decrease; log start
 * offset ≤ log end offset and only moves forward (except that truncating below it pulls
 * it back, as Kafka does); leader epochs in the cache strictly increase with
 * non-decreasing start offsets, all at or below the log end offset.
 *
 * Durability: storage_log_flushed_offset() is the offset below which everything has been
 * fdatasync'd. flush_messages = 1 syncs inside every append before it returns. With other
 * settings, data written before an append returned survives a process crash (page cache)
 * but not necessarily a power loss. A roll does not wait for the disk: the sealed segment
 * is written back by the kernel, and only the sealed segment two rolls older is
 * fdatasync'd then; storage_log_flush (and close) sync everything. The recovery point is
 * the base offset of the oldest segment that may be unsynced.
 *
 * Recovery on open: files are sorted by base offset; misnamed files are reported and
 * ignored; *.deleted, *.cleaned, *.tmp and orphan index files are removed; *.swap files
 * left by an interrupted swap are completed (compaction, below); an empty .log that is not
 * the last is removed (except the first of a compacted log). After a crash every segment
 * from the recovery point on is scanned from its start (CRC of every batch) and cut at the
 * first short, corrupt, non-contiguous (compacted: overlapping) or epoch-regressing batch,
 * and a sealed one also where it does not end at the next segment's base offset (compacted:
 * beyond it); if a sealed segment is cut, every later segment is deleted
 * (offsets after a hole cannot be served, as in Kafka); the scanned segments' indexes are
 * rebuilt and the leader epochs found in them enter the cache. After a clean close only
 * the batches after the active segment's last index entry are walked and its tail
 * batch's CRC is checked. A segment below the recovery point gets cheap index checks on
 * open and a full one on first use; a bad index is rebuilt from its segment, and if that
 * segment cannot be read to its end the open (or the read) fails with SL_E_CORRUPT
 * rather than silently dropping every later segment. A missing or unreadable epoch
 * checkpoint is rebuilt from the batch headers.
 *
 * Errors: SL_OK, -errno from system calls, or SL_E_*. A failed write, truncate or fsync
 * makes the log fail-stop: every later mutating call returns SL_E_FATAL (reads still work).
 *
 * Threading: a storage_log has one owner thread at a time (the broker runs each partition
 * on its event-loop thread; the Raft driver on its own). It is not internally locked; every
 * function must be called by the owner. Distinct logs are independent. The directory is
 * flock()ed while open, so a second open of the same directory fails with SL_E_STATE.
 *
 * Clocks: every now_ms is wall-clock epoch milliseconds (sl_wall_ms()), because it is
 * compared with record timestamps (retention.ms, segment.ms). */
#ifndef STORAGE_H
#define STORAGE_H

#include "common/sl_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORAGE_INDEX_ENTRY_BYTES     8    /* .index entry: int32 relative offset, int32 position */
#define STORAGE_TIMEINDEX_ENTRY_BYTES 12   /* .timeindex entry: int64 timestamp, int32 rel offset */
#define STORAGE_EPOCH_UNDEFINED       (-1) /* Kafka UNDEFINED_EPOCH */
#define STORAGE_OFFSET_UNDEFINED      (-1) /* Kafka UNDEFINED_EPOCH_OFFSET */
#define STORAGE_NO_TIMESTAMP          (-1) /* Kafka RecordBatch.NO_TIMESTAMP */
#define STORAGE_AUX_BYTES_MAX         (64 * 1024 * 1024) /* read_aux refuses larger files */

typedef struct storage_log storage_log;

/* ================= configuration ================= */

typedef struct storage_log_config {
    int64_t segment_bytes;        /* log.segment.bytes, default 1 GiB; 64 .. INT32_MAX */
    int64_t segment_ms;           /* log.roll.ms, default 7 days; > 0 */
    int32_t index_interval_bytes; /* log.index.interval.bytes, default 4096; >= 0 */
    int32_t segment_index_bytes;  /* log.index.size.max.bytes, default 10 MiB; >= 24 */
    int64_t retention_ms;         /* retention.ms; -1 = unlimited; default 7 days */
    int64_t retention_bytes;      /* retention.bytes; -1 = unlimited (default) */
    int64_t flush_messages;       /* log.flush.interval.messages: 1 = fdatasync in every
                                     append; 0 or INT64_MAX = never (default INT64_MAX) */
    int64_t flush_ms;             /* log.flush.interval.ms; -1 = never (default) */
    int64_t file_delete_delay_ms; /* file.delete.delay.ms, default 60000; >= 0 */
    bool compact;                 /* cleanup.policy contains compact: offsets may have gaps
                                     (replica appends of a compacted leader's batches are
                                     accepted); default false. A log stays gap-tolerant
                                     once it has a cleaner checkpoint, whatever this says */
} storage_log_config;

/* Fill cfg with Kafka's defaults (values above). */
void storage_log_config_defaults(storage_log_config *cfg);
/* SL_OK or SL_E_CONFIG (logs which field is out of range). */
int storage_log_config_check(const storage_log_config *cfg);

/* ================= open, close, delete ================= */

/* Open the log in dir (creating dir and its parents if needed) and recover it (above).
 * cfg is copied. *log_out is set on success only.
 * Returns SL_OK; SL_E_CONFIG; SL_E_STATE when another storage_log has dir open;
 * SL_E_CORRUPT when a segment below the recovery point is damaged beyond what its index
 * can be rebuilt from; -errno.
 * Thread: any; the calling thread becomes the owner. */
int storage_log_open(const char *dir,
                     const storage_log_config *cfg,
                     int64_t now_ms,
                     storage_log **log_out);
/* Flush, seal the active segment's indexes, write .clean_shutdown (unless fail-stopped),
 * close every file and free the log. NULL is a no-op. Errors are logged. */
void storage_log_close(storage_log *log);
/* Close the log without a clean-shutdown marker, then remove every file in its directory
 * and the directory. The log is freed even on error. Returns SL_OK or the first -errno. */
int storage_log_delete(storage_log *log);

/* Replace the configuration (dynamic topic configs). Index sizes apply from the next roll.
 * Returns SL_OK or SL_E_CONFIG (log unchanged). */
int storage_log_set_config(storage_log *log, const storage_log_config *cfg);

/* ================= append ================= */

typedef struct storage_append_info {
    int64_t base_offset;             /* first offset of the first batch */
    int64_t last_offset;             /* last offset of the last batch */
    int64_t max_timestamp;           /* largest batch maxTimestamp; -1 when none */
    int64_t offset_of_max_timestamp; /* last offset of the batch carrying it; -1 when none */
    int64_t bytes;                   /* bytes appended */
    int32_t batch_count;
    int64_t record_count; /* sum of lastOffsetDelta + 1 */
} storage_append_info;

/* Leader append. batches: one or more concatenated magic-2 batches, CRC-checked by the
 * caller (borrowed, and modified in place: each batch's baseOffset is set from the log end
 * offset and its partitionLeaderEpoch to leader_epoch; the CRC does not cover them). All
 * batches go into one segment, rolling first when needed. The epoch cache gets
 * (leader_epoch, base offset) when leader_epoch is new. info_out may be NULL; set on
 * success only. Returns SL_OK; SL_E_CORRUPT (a batch's lengths or magic are wrong, or
 * trailing bytes); SL_E_TOO_LARGE (len > segment_bytes, or offsets spanning more than
 * INT32_MAX in one append); SL_E_INVALID (leader_epoch < 0 or len == 0); SL_E_FENCED
 * (leader_epoch below the latest cached epoch); SL_E_FATAL; -errno from write/fsync (the
 * log is then fail-stopped). */
int storage_log_append(storage_log *log,
                       uint8_t *batches,
                       size_t len,
                       int32_t leader_epoch,
                       int64_t now_ms,
                       storage_append_info *info_out);
/* Follower / Raft append: offsets already assigned. Batches (borrowed, not modified) must
 * be contiguous and the first must start at the log end offset, else SL_E_RANGE; in a
 * compacted log (cfg.compact or a cleaner checkpoint) offsets need only increase from the
 * log end offset, gaps allowed (a compacted leader's batches), and the first gap writes
 * the cleaner checkpoint so the log stays gap-tolerant. Each
 * batch's partitionLeaderEpoch (when >= 0) updates the epoch cache; an epoch below the
 * latest cached one is SL_E_FENCED (the follower must truncate first). Other returns as
 * storage_log_append. */
int storage_log_append_replica(storage_log *log,
                               const uint8_t *batches,
                               size_t len,
                               int64_t now_ms,
                               storage_append_info *info_out);

/* ================= positions ================= */

int64_t storage_log_start_offset(const storage_log *log);
int64_t storage_log_end_offset(const storage_log *log);     /* next offset to assign (LEO) */
int64_t storage_log_size_bytes(const storage_log *log);     /* sum of segment sizes */
int64_t storage_log_flushed_offset(const storage_log *log); /* offsets below are fsync'd */
int32_t storage_log_segment_count(const storage_log *log);
const char *storage_log_dir(const storage_log *log); /* valid while the log is open */
/* 0 while healthy, else the error that made the log fail-stop. */
int storage_log_failed(const storage_log *log);

/* ================= read ================= */

typedef struct storage_read_result {
    int fd;               /* the segment's .log file (the active one's when length is 0) */
    int64_t position;     /* byte position in fd */
    int32_t length;       /* bytes of whole batches; 0 = nothing to return */
    int64_t first_offset; /* base offset of the first batch returned (the requested
                             offset when length is 0) */
} storage_read_result;

/* Find the batch containing `offset` and return up to max_bytes of whole batches that
 * follow it in the same segment, stopping before any batch whose last offset is >=
 * max_offset (exclusive, e.g. the high watermark). If the first batch alone exceeds
 * max_bytes it is returned whole when min_one_batch is true (KIP-74), else nothing.
 * The first batch may start below `offset` (and below the log start offset after
 * DeleteRecords); clients skip those records, as with Kafka. In a compacted log it may
 * also start above `offset`, when `offset` falls in a gap left by compaction. A batch
 * that is damaged or out of place (not contiguous, outside the segment) is SL_E_CORRUPT
 * when it is the first one, and ends the result early otherwise.
 * offset == log end offset gives length 0. The fd stays valid until the next call on
 * this log that mutates it (append, truncate, retain, roll, delete, close).
 * Returns SL_OK; SL_E_RANGE when offset < log start offset or > log end offset;
 * SL_E_INVALID for max_bytes < 0; SL_E_CORRUPT when the segment's bytes are damaged;
 * -errno from pread. */
int storage_log_read(storage_log *log,
                     int64_t offset,
                     int32_t max_bytes,
                     int64_t max_offset,
                     bool min_one_batch,
                     storage_read_result *out);
/* Same, appending the bytes to out (left unchanged on error). */
int storage_log_read_copy(storage_log *log,
                          int64_t offset,
                          int32_t max_bytes,
                          int64_t max_offset,
                          bool min_one_batch,
                          sl_buf *out);

/* ListOffsets by timestamp: the first batch whose maxTimestamp >= ts, found through the
 * time index then a scan of batch headers. offset_out is that batch's base offset (or the
 * log start offset if higher), timestamp_out its maxTimestamp. Record-level precision
 * (the first record with timestamp >= ts inside the batch) is left to the caller, which
 * can read the batch at *offset_out. Returns SL_OK or SL_E_NOT_FOUND. */
int storage_log_offset_for_time(storage_log *log,
                                int64_t ts,
                                int64_t *offset_out,
                                int64_t *timestamp_out);
/* ListOffsets MAX_TIMESTAMP (-3, KIP-734): the largest batch maxTimestamp in the log and the
 * last offset of the first batch carrying it. SL_E_NOT_FOUND when no batch has one. */
int storage_log_max_timestamp(storage_log *log, int64_t *offset_out, int64_t *timestamp_out);

/* ================= truncation, retention, roll, flush ================= */

/* Remove every batch holding an offset >= offset (followers on divergence, Raft). Whole
 * batches go: when offset falls inside a batch the log end offset becomes that batch's
 * base offset (in a gap of a compacted log: offset itself). Later segments are deleted;
 * indexes, the epoch cache and the cleaner checkpoint are cut; the result is
 * fdatasync'd. offset >= log end offset keeps every batch but still drops epoch-cache
 * entries starting at the log end (Kafka: a leader's epoch it never wrote in). Below the
 * first segment this is storage_log_truncate_fully_and_start_at(offset). Returns SL_OK,
 * SL_E_INVALID (offset < 0), SL_E_FATAL, -errno. */
int storage_log_truncate_to(storage_log *log, int64_t offset);
/* Delete every segment and restart the log empty at offset (snapshot install): start
 * offset = end offset = offset; the epoch cache is cleared. */
int storage_log_truncate_fully_and_start_at(storage_log *log, int64_t offset);
/* DeleteRecords: move the log start offset forward to offset (persisted). offset <= the
 * current start offset is a no-op; offset > log end offset is SL_E_RANGE. Segments
 * wholly below the new start are deleted by the next storage_log_retain. */
int storage_log_advance_start_offset(storage_log *log, int64_t offset);
/* Retention (Kafka's order: retention.ms, retention.bytes, log start offset): delete the
 * oldest segments while they qualify, never the active segment and never a segment
 * holding an offset >= high_watermark. Deleted segments are renamed *.deleted and removed
 * file_delete_delay_ms later (by a later retain or by close). Also removes pending files
 * whose delay has passed. segments_deleted_out may be NULL. */
int storage_log_retain(storage_log *log,
                       int64_t now_ms,
                       int64_t high_watermark,
                       int *segments_deleted_out);
/* Roll the active segment if it holds data and segment_ms has passed since its rolling
 * timestamp (its first batch's maxTimestamp, or its creation time; Kafka's rule). Appends
 * also roll: when the batches would take the segment past segment_bytes, when segment_ms
 * has passed, when an index is full, or when an offset would not fit the int32 relative
 * offset of the indexes. */
int storage_log_maybe_roll(storage_log *log, int64_t now_ms);
/* fdatasync everything up to the log end offset (sealed segments a roll left unsynced
 * included) and advance the recovery point. It blocks for as long as the disk needs:
 * call it from the owner thread when a stall is acceptable (a flush timer), or rely on
 * flush_messages / flush_ms. */
int storage_log_flush(storage_log *log);
/* flush_ms policy: flush if there is unflushed data and flush_ms has passed since the
 * last flush. */
int storage_log_maybe_flush(storage_log *log, int64_t now_ms);

/* ================= leader epoch cache ================= */

/* Kafka's LeaderEpochFileCache.assign: add (epoch, start_offset) unless it is already the
 * latest entry; entries with epoch >= epoch or start offset >= start_offset are removed
 * first. Persists the checkpoint (tmp + fsync + rename). SL_E_INVALID for negatives. */
int storage_log_epoch_assign(storage_log *log, int32_t epoch, int64_t start_offset);
int32_t storage_log_latest_epoch(const storage_log *log); /* -1 when empty */
/* OffsetForLeaderEpoch (Kafka's endOffsetFor): the largest epoch <= epoch and its end
 * offset (the next epoch's start offset, or the log end offset for the latest epoch).
 * epoch == -1 or above every cached epoch gives (-1, -1); below the first cached epoch
 * gives (epoch, first entry's start offset). Always SL_OK. */
int storage_log_epoch_end_offset(const storage_log *log,
                                 int32_t epoch,
                                 int32_t *epoch_out,
                                 int64_t *end_offset_out);
/* The cached entries, oldest first, for tools and tests: copies up to max entries and
 * returns how many exist. */
int32_t
storage_log_epoch_entries(const storage_log *log, int32_t *epochs, int64_t *offsets, int32_t max);

/* ================= auxiliary files ================= */

/* Atomically replace <dir>/<name> with data (write name.tmp, fsync, rename, fsync dir).
 * name: [A-Za-z0-9._-], 1..128 chars, not starting with '.', not ending in .log, .index,
 * .timeindex, .deleted, .cleaned, .swap or .tmp (SL_E_INVALID). */
int storage_log_write_aux(storage_log *log, const char *name, const uint8_t *data, size_t len);
/* Overwrite <dir>/<name> in place, without syncing: for hints a crash may lose or leave
 * stale (a high-watermark checkpoint: readers treat an absent or garbled file as
 * unknown and fall back to a safe value). Costs no disk wait, so the owner's loop may
 * call it often. A failure is returned and logged but never fails the log. Same names. */
int storage_log_write_hint(storage_log *log, const char *name, const uint8_t *data, size_t len);
/* Append the whole file to out. SL_E_NOT_FOUND when absent, SL_E_TOO_LARGE above
 * STORAGE_AUX_BYTES_MAX. */
int storage_log_read_aux(storage_log *log, const char *name, sl_buf *out);

/* ================= compaction (storage_clean*.c) =================
 *
 * cleanup.policy=compact, as Kafka's LogCleaner does it: keep the latest record of every
 * key. The log is split at the cleaner checkpoint (the "first dirty offset") into a clean
 * head, already compacted, and a dirty tail. A pass
 *   1. maps the dirty part [first dirty, end) — key digest -> latest offset, in a table of
 *      at most offset_map_bytes (24 bytes per key, 75 % full at most: a pass that fills it
 *      stops at the first record it could not map, even inside a batch, and the next pass
 *      goes on from that offset);
 *   2. rewrites every segment from the first up to `end`, in groups of consecutive segments
 *      whose sizes add up to at most segment_bytes (small cleaned segments merge), keeping
 *      a record when its offset is >= end, or when it has a key, no later offset in the map
 *      for that key, and is not a tombstone whose delete horizon has passed;
 *   3. moves the checkpoint to `end`.
 * Keys are compared by a 128-bit keyed SipHash digest, as Kafka's OffsetMap compares MD5
 * digests: two keys are taken as equal when their digests are (probability about
 * n^2 / 2^129 for n distinct keys per pass, and the random per-pass key leaves a producer no
 * way to aim for a collision). Records without a key are removed (Kafka rejects them on
 * compacted topics). Tombstones (null value) stay until delete_retention_ms after the pass
 * that first rewrote their batch: that pass stamps the delete horizon into the batch
 * (KIP-534: attribute bit 6, baseTimestamp = horizon, record timestamps unchanged); a later
 * pass at or after the horizon removes them. A rewritten batch keeps its baseOffset,
 * lastOffsetDelta, leader epoch, producer id/epoch, base sequence, transactional flag,
 * timestamp type and codec (records are decompressed and recompressed with the same
 * codec); a batch that loses every record goes, one that loses none is copied byte for
 * byte. Control batches are kept as they are: there are no transactions yet, so neither
 * transaction markers nor aborted data are removed (the caller keeps clean_before at or
 * below the last stable offset once transactions exist). A batch whose records cannot be
 * decoded (malformed, unknown codec, over 256 MiB decompressed) is kept as it is and its
 * keys are not mapped. A batch failing its CRC stops the pass: SL_E_CORRUPT, and this log
 * is not cleaned again until it is reopened.
 *
 * What is cleaned: only segments below the active segment and wholly below clean_before,
 * and only when the first segment still dirty is older than min_compaction_lag_ms (its
 * largest timestamp, or its file's modification time without timestamps). A pass starts
 * when the dirty bytes (segments from the one holding the first dirty offset up to that
 * bound) exceed min_cleanable_dirty_ratio of all bytes below the bound, when a dirty
 * segment's first batch is older than max_compaction_lag_ms, or when the earliest delete
 * horizon of a kept tombstone has passed.
 *
 * Crash safety (Kafka's swap protocol): a group is written to <base>.log.cleaned (base =
 * the group's first segment), fdatasync'd, renamed to <base>.log.swap (directory synced);
 * then the replaced segments' indexes are removed and their .log files renamed *.deleted,
 * and the swap file is renamed over <base>.log. A crash before the .swap exists leaves the
 * old segments (recovery removes *.cleaned); from then on recovery completes the swap: a
 * .swap file that reads cleanly to its end replaces every segment whose base offset lies in
 * [its base, its last offset + 1) — exactly the group's segments holding a kept record;
 * group segments after the last kept record (all their records were removed) are deleted
 * after the swap, each on its own, which is a valid log at every step. The first segment of
 * the log is never deleted (it keeps the log start offset), so it may be left empty. Input
 * segments not yet fdatasync'd are synced before they are cleaned, and the recovery point
 * moves past them, so a cleaned segment is never scanned as unflushed after a crash. The
 * checkpoint file is written (atomically) before the first swap of a log, and again at the
 * end of each pass; a crash in between only repeats work.
 *
 * cleaner-offset-checkpoint ('\n' line ends): "0" (version), the first dirty offset, the
 * earliest delete horizon in ms of a kept tombstone (-1 when none).
 *
 * Work per call: a pass is split over calls. Each call reads and decompresses at most
 * bytes_per_call bytes (segment bytes read plus the decompressed size of compressed
 * batches' records, so a highly compressed log does not make a call run long; plus one
 * read chunk of 1 MiB or one batch, whichever is larger) and writes at most what it read; a group's
 * fdatasync at its swap covers what earlier calls wrote, whose writeback those calls already
 * started. Between calls the pass keeps its offset map, one batch-sized read buffer and the open
 * .cleaned file in the log; appends, reads and rolls may run in between; retention that deletes
 * segments, truncation and close drop the pass (storage_log_clean_abort). Memory: the offset map
 * (at most offset_map_bytes, sized down to what the dirty offsets can need), plus buffers about the
 * size of the largest batch and its decompressed records.
 *
 * Call pattern for the broker (every partition whose cleanup.policy contains compact, on
 * the partition's owner thread, from the periodic tick — Kafka's log.cleaner.backoff.ms is
 * 15 s; a tick of 1 s or so is fine since an idle call only sums segment sizes):
 *
 *     storage_clean_config cc;
 *     storage_clean_config_defaults(&cc);
 *     cc.min_cleanable_dirty_ratio = lc->min_cleanable_dirty_ratio;  (topic config)
 *     cc.delete_retention_ms = lc->delete_retention_ms;
 *     cc.min_compaction_lag_ms = lc->min_compaction_lag_ms;
 *     cc.max_compaction_lag_ms = lc->max_compaction_lag_ms;
 *     cc.offset_map_bytes = (log.cleaner.dedupe.buffer.size);
 *     cc.clean_before = p->high_watermark;   (the last stable offset once transactions exist)
 *     rc = storage_log_clean(p->log, &cc, sl_wall_ms(), &st);
 *
 * and, while st.more is true, call again on the next turn of the event loop rather than
 * waiting for the next tick (each call is bounded by bytes_per_call). To bound memory as
 * Kafka's single cleaner thread does, let at most one or two logs have a pass in progress
 * (storage_log_clean_in_progress) and finish those before starting others. Also set
 * storage_log_config.compact from cleanup.policy, so followers accept the leader's
 * compacted batches, and call storage_log_retain as well for compact,delete. The leader and
 * every follower clean their own logs independently, as in Kafka. */

typedef struct storage_clean_config {
    double min_cleanable_dirty_ratio; /* min.cleanable.dirty.ratio, default 0.5; 0..1 */
    int64_t delete_retention_ms;      /* delete.retention.ms, default 1 day; >= 0 */
    int64_t min_compaction_lag_ms;    /* min.compaction.lag.ms, default 0; >= 0 */
    int64_t max_compaction_lag_ms;    /* max.compaction.lag.ms, default INT64_MAX; > 0 */
    int64_t offset_map_bytes;         /* log.cleaner.dedupe.buffer.size, default 128 MiB;
                                         >= 1 KiB */
    int64_t bytes_per_call;           /* bytes read + decompressed per call, default
                                         32 MiB; > 0 */
    int64_t clean_before;             /* nothing at or above this offset is cleaned: the
                                         high watermark. Default INT64_MAX (tests, tools) */
} storage_clean_config;

typedef struct storage_clean_stats {
    int64_t bytes_read;          /* segment bytes read by this call */
    int64_t records_bytes;       /* decompressed records sections decoded (compressed
                                    batches only; they count against the budget too) */
    int64_t bytes_written;       /* cleaned segment bytes written by this call */
    int64_t records_read;        /* records decoded (map and rewrite) */
    int64_t records_removed;     /* superseded, keyless and expired tombstones */
    int64_t tombstones_removed;  /* of which tombstones past their delete horizon */
    int64_t batches_removed;     /* batches that lost every record */
    int64_t batches_rewritten;   /* batches rebuilt with fewer records or a new horizon */
    int64_t batches_undecodable; /* kept as they are: records could not be decoded */
    int32_t segments_replaced;   /* segments swapped out or deleted by this call */
    int64_t keys_mapped;         /* keys in the offset map at the end of the call */
    int64_t duration_us;         /* time spent in this call */
    double dirty_ratio;          /* dirty / (clean + dirty) bytes below the cleanable bound,
                                    as computed when the call started (or the pass did) */
    int64_t first_dirty_offset;  /* the checkpoint after the call */
    bool pass_started;           /* a pass began in this call */
    bool pass_done;              /* a pass ended in this call (checkpoint moved) */
    bool more;                   /* a pass is in progress: call again soon */
} storage_clean_stats;

/* Fill cfg with the defaults above. */
void storage_clean_config_defaults(storage_clean_config *cfg);
/* SL_OK or SL_E_CONFIG (logs which field is out of range). */
int storage_clean_config_check(const storage_clean_config *cfg);
/* One bounded step of compaction (above): start a pass if one is due, or continue the one
 * in progress, within cfg->bytes_per_call. cfg is read during the call only (a pass keeps
 * the clean_before, end offset and lags it started with); now_ms is wall-clock ms.
 * stats_out may be NULL; it is filled on every return.
 * Returns SL_OK (nothing due, progress made, or the pass finished); SL_E_CONFIG;
 * SL_E_FATAL (fail-stopped log); SL_E_CORRUPT (a source batch failed its checks: the pass
 * is dropped and the log is not cleaned again until reopened); SL_E_TOO_LARGE (a cleaned
 * group would exceed INT32_MAX bytes, possible only when recompression grows batches: the
 * pass is dropped); -errno (before a swap: the pass is dropped and the
 * log is unchanged; during a swap: the log is fail-stopped and recovery completes it).
 * Thread: the log's owner thread. */
int storage_log_clean(storage_log *log,
                      const storage_clean_config *cfg,
                      int64_t now_ms,
                      storage_clean_stats *stats_out);
/* True while a pass is in progress (memory held, more calls needed). */
bool storage_log_clean_in_progress(const storage_log *log);
/* Drop the pass in progress, if any (its .cleaned file is removed; the log is unchanged):
 * when the topic stops being compacted, or to give its memory back. */
void storage_log_clean_abort(storage_log *log);
/* The cleaner checkpoint: offsets below it have been compacted (the log start offset when
 * nothing has been). */
int64_t storage_log_clean_first_dirty(const storage_log *log);

/* ================= offline verification ================= */

/* Check a log directory without modifying it (`sluice dump-log --verify`, crash tests):
 * every batch's header and CRC, offsets contiguous within and across segments (increasing,
 * when a cleaner-offset-checkpoint file marks the log as compacted), index
 * entries pointing at batch starts with the right offsets, time index monotonic, epoch
 * checkpoint well-formed and below the end offset. Calls report(line, arg) once per
 * problem (line is NUL-terminated, valid during the call). A segment with a clean-shutdown
 * marker absent may end in a torn batch; that is reported too. Returns SL_OK when nothing
 * was reported, SL_E_CORRUPT when something was, -errno when dir cannot be read. */
int storage_verify_dir(const char *dir, void (*report)(const char *line, void *arg), void *arg);

#endif
