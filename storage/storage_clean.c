/* storage_clean.c — log compaction: when to clean, the cleaner checkpoint, a pass's life,
 * and its first phase, mapping the dirty part (design and formats in storage.h).
 *
 * A pass is a small state machine kept in the log between calls:
 *
 *   (none) --due--> MAP --dirty part mapped or map full--> COPY --every group swapped-->
 *   checkpoint written, (none)
 *
 * Each call runs it until the byte budget is spent. Anything that removes segments under
 * it (retention, truncation, close) drops it through storage_clean_drop; a pass only holds
 * segment indexes, which appends and rolls never move. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CLEAN_PHASE_MAP = 1, CLEAN_PHASE_COPY = 2 };

#define CHECKPOINT_BYTES_MAX 128

/* ---------------- configuration ---------------- */

void storage_clean_config_defaults(storage_clean_config *cfg) {
    cfg->min_cleanable_dirty_ratio = 0.5;
    cfg->delete_retention_ms = 24LL * 3600 * 1000;
    cfg->min_compaction_lag_ms = 0;
    cfg->max_compaction_lag_ms = INT64_MAX;
    cfg->offset_map_bytes = 128LL << 20;
    cfg->bytes_per_call = 32LL << 20;
    cfg->clean_before = INT64_MAX;
}

#define CLEAN_CONFIG_CHECK(cond, field)                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            SL_LOG(SL_ERROR, STORAGE_MOD, "config_invalid", "field=%s", #field);                   \
            return SL_E_CONFIG;                                                                    \
        }                                                                                          \
    } while (0)

int storage_clean_config_check(const storage_clean_config *cfg) {
    CLEAN_CONFIG_CHECK(cfg->min_cleanable_dirty_ratio >= 0 && cfg->min_cleanable_dirty_ratio <= 1,
                       min_cleanable_dirty_ratio);
    CLEAN_CONFIG_CHECK(cfg->delete_retention_ms >= 0, delete_retention_ms);
    CLEAN_CONFIG_CHECK(cfg->min_compaction_lag_ms >= 0, min_compaction_lag_ms);
    CLEAN_CONFIG_CHECK(cfg->max_compaction_lag_ms > 0, max_compaction_lag_ms);
    CLEAN_CONFIG_CHECK(cfg->offset_map_bytes >= STORAGE_CLEAN_MAP_BYTES_MIN, offset_map_bytes);
    CLEAN_CONFIG_CHECK(cfg->bytes_per_call > 0, bytes_per_call);
    CLEAN_CONFIG_CHECK(cfg->clean_before >= 0, clean_before);
    return SL_OK;
}

/* ---------------- checkpoint ---------------- */

static int checkpoint_write(storage_log *log) {
    char text[CHECKPOINT_BYTES_MAX];
    int n = snprintf(text, sizeof(text), "0\n%" PRId64 "\n%" PRId64 "\n", log->clean_first_dirty,
                     log->clean_horizon_ms);
    SL_ASSERT(n > 0 && (size_t)n < sizeof(text));
    SL_TRY(storage_file_replace(log->dir_fd, STORAGE_CLEAN_CHECKPOINT_FILE, (const uint8_t *)text,
                                (size_t)n));
    log->clean_checkpointed = true;
    log->offset_gaps = true;
    return SL_OK;
}

/* One decimal int64 (optionally negative) followed by '\n'; advances *p. */
static bool checkpoint_number(const char **p, const char *end, int64_t *out) {
    const char *s = *p;
    bool neg = s < end && *s == '-';
    if (neg) s++;
    int64_t v = 0;
    int digits = 0;
    for (; s < end && *s >= '0' && *s <= '9' && digits < 19; s++, digits++) {
        v = v * 10 + (*s - '0');
    }
    if (digits == 0 || s >= end || *s != '\n') return false;
    *out = neg ? -v : v;
    *p = s + 1;
    return true;
}

static int checkpoint_parse(const sl_buf *b, int64_t *first_dirty, int64_t *horizon) {
    const char *p = (const char *)b->data, *end = p + b->len;
    int64_t version;
    if (!checkpoint_number(&p, end, &version) || version != 0) return SL_E_CORRUPT;
    if (!checkpoint_number(&p, end, first_dirty) || *first_dirty < 0) return SL_E_CORRUPT;
    if (!checkpoint_number(&p, end, horizon) || *horizon < -1) return SL_E_CORRUPT;
    return p == end ? SL_OK : SL_E_CORRUPT;
}

int storage_clean_load(storage_log *log) {
    log->clean_first_dirty = 0;
    log->clean_horizon_ms = -1;
    log->offset_gaps = log->cfg.compact;
    sl_buf b;
    sl_buf_init(&b);
    int rc =
        storage_file_read(log->dir_fd, STORAGE_CLEAN_CHECKPOINT_FILE, CHECKPOINT_BYTES_MAX, &b);
    if (rc == SL_E_NOT_FOUND) {
        sl_buf_deinit(&b);
        return SL_OK;
    }
    if (rc < 0 && rc > -1000) {
        sl_buf_deinit(&b);
        return rc;
    }
    int64_t first_dirty = 0, horizon = -1;
    if (rc == SL_OK) rc = checkpoint_parse(&b, &first_dirty, &horizon);
    sl_buf_deinit(&b);
    /* present, readable or not: the log may have gaps */
    log->clean_checkpointed = true;
    log->offset_gaps = true;
    if (rc != SL_OK) {
        SL_LOG(SL_WARN, STORAGE_MOD, "clean_checkpoint_ignored", "dir=%s err=\"%s\"", log->dir,
               sl_strerror(rc));
        return SL_OK;
    }
    log->clean_first_dirty = first_dirty;
    log->clean_horizon_ms = horizon;
    return SL_OK;
}

int storage_clean_mark_gaps(storage_log *log) {
    if (log->clean_checkpointed) return SL_OK;
    if (log->clean_first_dirty < log->start_offset) log->clean_first_dirty = log->start_offset;
    int rc = checkpoint_write(log);
    if (rc != SL_OK) return storage_log_fail(log, rc, "clean_checkpoint");
    SL_LOG(SL_INFO, STORAGE_MOD, "log_compacted", "dir=%s", log->dir);
    return SL_OK;
}

/* ---------------- a pass's life ---------------- */

static void pass_free(storage_log *log, storage_clean_pass *pass) {
    storage_clean_copy_discard(log, pass);
    storage_offset_map_deinit(&pass->map);
    storage_clean_reader_deinit(&pass->rd);
    sl_buf_deinit(&pass->scratch);
    sl_buf_deinit(&pass->kept);
    sl_buf_deinit(&pass->out);
    protocol_batch_builder_deinit(&pass->builder);
    sl_free(pass);
}

void storage_clean_drop(storage_log *log, const char *why) {
    storage_clean_pass *pass = log->clean;
    if (!pass) return;
    log->clean = NULL;
    SL_LOG(SL_INFO, STORAGE_MOD, "clean_pass_dropped",
           "dir=%s reason=%s end_offset=%" PRId64 " bytes_read=%" PRId64, log->dir, why,
           pass->end_offset, pass->total.bytes_read);
    pass_free(log, pass);
}

void storage_log_clean_abort(storage_log *log) {
    storage_clean_drop(log, "abort");
}

bool storage_log_clean_in_progress(const storage_log *log) {
    return log->clean != NULL;
}

int64_t storage_log_clean_first_dirty(const storage_log *log) {
    int64_t end = storage_log_end_offset(log);
    int64_t v =
        log->clean_first_dirty < log->start_offset ? log->start_offset : log->clean_first_dirty;
    return v > end ? end : v;
}

int storage_clean_truncated(storage_log *log, int64_t end_offset) {
    storage_clean_drop(log, "truncate");
    if (log->clean_first_dirty <= end_offset) return SL_OK;
    log->clean_first_dirty = end_offset;
    if (!log->clean_checkpointed) return SL_OK;
    int rc = checkpoint_write(log);
    return rc == SL_OK ? SL_OK : storage_log_fail(log, rc, "clean_checkpoint");
}

/* ---------------- when a pass is due ---------------- */

typedef struct clean_plan {
    int64_t first_dirty;
    int64_t uncleanable; /* a segment base: nothing at or above is cleaned */
    int64_t dirty_bytes;
    int64_t clean_bytes;
    double ratio;
    bool lag_forced;  /* a dirty segment is older than max_compaction_lag_ms */
    bool horizon_due; /* a kept tombstone's delete horizon has passed */
} clean_plan;

/* Kafka's LogSegment.largestTimestamp: the largest batch timestamp, or the file's mtime. */
static int64_t clean_segment_largest_ms(const storage_segment *seg) {
    if (seg->max_timestamp >= 0) return seg->max_timestamp;
    struct stat st;
    if (fstat(seg->fd, &st) != 0) return INT64_MAX; /* unknown: too young to clean */
    return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

/* The first uncleanable offset: the active segment, the first segment reaching
 * clean_before, the first dirty segment younger than min_compaction_lag_ms (KIP-58). */
static int64_t clean_uncleanable(const storage_log *log,
                                 const storage_clean_config *cfg,
                                 int64_t first_dirty,
                                 int64_t now_ms) {
    for (int32_t i = 0; i < log->segment_count - 1; i++) {
        const storage_segment *seg = log->segments[i];
        int64_t range_end = log->segments[i + 1]->base_offset;
        if (range_end > cfg->clean_before) return seg->base_offset;
        if (range_end <= first_dirty || cfg->min_compaction_lag_ms == 0) continue;
        int64_t largest = clean_segment_largest_ms(seg);
        if (largest > now_ms - cfg->min_compaction_lag_ms) return seg->base_offset;
    }
    return storage_log_active(log)->base_offset;
}

/* Kafka's maxCompactionDelay: a dirty segment whose first batch is older than
 * max_compaction_lag_ms must be cleaned now, whatever the dirty ratio (KIP-354). */
static bool clean_lag_forced(storage_log *log,
                             const storage_clean_config *cfg,
                             const clean_plan *plan,
                             int64_t now_ms) {
    if (cfg->max_compaction_lag_ms == INT64_MAX || plan->dirty_bytes == 0) return false;
    int64_t bound = now_ms - cfg->max_compaction_lag_ms;
    for (int32_t i = 0; i < log->segment_count - 1; i++) {
        storage_segment *seg = log->segments[i];
        if (seg->base_offset >= plan->uncleanable) break;
        if (log->segments[i + 1]->base_offset <= plan->first_dirty || seg->size == 0) continue;
        storage_cursor c;
        storage_batch b;
        storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
        if (storage_cursor_batch(&c, 0, &b) != SL_OK) continue; /* the pass will report it */
        if (b.max_timestamp >= 0 && b.max_timestamp < bound) return true;
    }
    return false;
}

static void clean_make_plan(storage_log *log,
                            const storage_clean_config *cfg,
                            int64_t now_ms,
                            clean_plan *plan) {
    memset(plan, 0, sizeof(*plan));
    plan->first_dirty = storage_log_clean_first_dirty(log);
    plan->uncleanable = clean_uncleanable(log, cfg, plan->first_dirty, now_ms);
    for (int32_t i = 0; i < log->segment_count - 1; i++) {
        const storage_segment *seg = log->segments[i];
        if (seg->base_offset >= plan->uncleanable) break;
        if (log->segments[i + 1]->base_offset <= plan->first_dirty) {
            plan->clean_bytes += seg->size;
        } else {
            plan->dirty_bytes += seg->size;
        }
    }
    int64_t total = plan->clean_bytes + plan->dirty_bytes;
    plan->ratio = total > 0 ? (double)plan->dirty_bytes / (double)total : 0;
    plan->lag_forced = clean_lag_forced(log, cfg, plan, now_ms);
    plan->horizon_due = log->clean_horizon_ms >= 0 && now_ms >= log->clean_horizon_ms;
}

static bool
clean_plan_due(const storage_log *log, const storage_clean_config *cfg, const clean_plan *plan) {
    if (plan->uncleanable <= log->segments[0]->base_offset) return false;
    bool dirty =
        plan->dirty_bytes > 0 && (plan->ratio > cfg->min_cleanable_dirty_ratio || plan->lag_forced);
    /* Kafka compares with >, so a ratio of 1 never cleans by ratio alone */
    return dirty || (plan->horizon_due && plan->clean_bytes + plan->dirty_bytes > 0);
}

/* Where mapping starts: the segment holding first_dirty and the batch position in it. */
static int clean_map_start(storage_log *log, storage_clean_pass *pass) {
    int32_t i = storage_log_segment_for(log, pass->first_dirty);
    pass->map_index = i < 0 ? 0 : i;
    pass->map_pos = 0;
    pass->map_expect = -1;
    storage_segment *seg = log->segments[pass->map_index];
    if (seg->base_offset >= pass->uncleanable) return SL_OK;
    int64_t pos;
    storage_batch b;
    int rc = storage_segment_locate(log, seg, pass->first_dirty, &pos, &b);
    if (rc == SL_E_NOT_FOUND) {
        pass->map_pos = seg->size; /* nothing left in it: the next segment */
        return SL_OK;
    }
    SL_TRY(rc);
    pass->map_pos = pos;
    return SL_OK;
}

static int clean_pass_start(storage_log *log,
                            const storage_clean_config *cfg,
                            const clean_plan *plan,
                            storage_clean_stats *st) {
    SL_TRY(storage_clean_mark_gaps(log)); /* before anything with gaps is swapped in */
    storage_clean_pass *pass = SL_NEW(storage_clean_pass);
    pass->phase = CLEAN_PHASE_MAP;
    pass->first_dirty = plan->first_dirty;
    pass->uncleanable = plan->uncleanable;
    pass->end_offset =
        plan->first_dirty < plan->uncleanable ? plan->first_dirty : plan->uncleanable;
    pass->dirty_ratio = plan->ratio;
    pass->delete_retention_ms = cfg->delete_retention_ms;
    pass->group_first = -1;
    pass->out_fd = -1;
    pass->out_last_offset = -1;
    pass->horizon_min = -1;
    pass->start_us = sl_now_us();
    int64_t span =
        plan->uncleanable > plan->first_dirty ? plan->uncleanable - plan->first_dirty : 0;
    storage_offset_map_init(&pass->map, span, cfg->offset_map_bytes);
    sl_buf_init(&pass->rd.buf);
    sl_buf_init(&pass->scratch);
    sl_buf_init(&pass->kept);
    sl_buf_init(&pass->out);
    protocol_batch_builder_init(&pass->builder, NULL);
    int rc = clean_map_start(log, pass);
    if (rc != SL_OK) {
        pass_free(log, pass);
        return rc;
    }
    log->clean = pass;
    st->pass_started = true;
    SL_LOG(SL_INFO, STORAGE_MOD, "clean_pass_started",
           "dir=%s first_dirty=%" PRId64 " uncleanable=%" PRId64 " dirty_bytes=%" PRId64
           " clean_bytes=%" PRId64 " dirty_ratio=%.3f lag_forced=%d horizon_due=%d"
           " map_slots=%" PRId64,
           log->dir, plan->first_dirty, plan->uncleanable, plan->dirty_bytes, plan->clean_bytes,
           plan->ratio, plan->lag_forced, plan->horizon_due, pass->map.slot_count);
    return SL_OK;
}

/* ---------------- map phase ---------------- */

/* Put the keys of one data batch into the map. A batch whose records cannot be decoded
 * is left out: its keys supersede nothing, and the copy keeps it as it is. When the map
 * fills, *full_at_out is the offset of the first record left out (else -1): the pass
 * covers the offsets below it, the next pass starts there. */
static void clean_map_batch(storage_log *log,
                            storage_clean_pass *pass,
                            const uint8_t *p,
                            const protocol_batch_header *h,
                            int64_t *full_at_out,
                            storage_clean_stats *st) {
    *full_at_out = -1;
    if (protocol_batch_is_control(h)) return;
    size_t size = (size_t)h->batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    protocol_record_iter it;
    int rc =
        protocol_record_iter_init(&it, p, size, &pass->scratch, STORAGE_CLEAN_RECORDS_MAX_BYTES);
    if (rc == SL_OK && protocol_batch_codec(h) != PROTOCOL_CODEC_NONE) {
        st->records_bytes += (int64_t)pass->scratch.len;
    }
    protocol_record rec;
    for (int64_t i = 0; rc == SL_OK && i <= h->record_count; i++) {
        int more = protocol_record_iter_next(&it, &rec);
        if (more <= 0) {
            rc = more;
            break;
        }
        st->records_read++;
        if (rec.key.len < 0 || rec.offset < pass->first_dirty) continue;
        if (pass->map.entries >= pass->map.entries_max) {
            *full_at_out = rec.offset;
            return;
        }
        storage_offset_map_put(&pass->map, rec.key.ptr, (size_t)rec.key.len, rec.offset);
    }
    if (rc != SL_OK) {
        st->batches_undecodable++;
        SL_LOG(SL_WARN, STORAGE_MOD, "clean_batch_undecodable",
               "dir=%s base_offset=%" PRId64 " err=\"%s\"", log->dir, h->base_offset,
               sl_strerror(rc));
    }
}

enum { MAP_GOING = 0, MAP_END, MAP_FULL };

/* Map the next batch. *state_out becomes MAP_END when the dirty part is mapped, MAP_FULL
 * when the map is full. */
static int clean_map_next(storage_log *log,
                          storage_clean_pass *pass,
                          storage_clean_stats *st,
                          int *state_out) {
    storage_segment *seg = log->segments[pass->map_index];
    if (pass->map_pos >= seg->size) {
        if (seg->base_offset >= pass->uncleanable || pass->map_index + 1 >= log->segment_count) {
            *state_out = MAP_END;
            return SL_OK;
        }
        pass->map_index++;
        pass->map_pos = 0;
        return SL_OK;
    }
    if (seg->base_offset >= pass->uncleanable) {
        *state_out = MAP_END;
        return SL_OK;
    }
    const uint8_t *p;
    protocol_batch_header h;
    SL_TRY(storage_clean_read_batch(log, &pass->rd, seg, pass->map_pos, &p, &h, &st->bytes_read));
    SL_RETURN_IF(h.base_offset < pass->map_expect, SL_E_CORRUPT,
                      "base_offset=%" PRId64 " expected>=%" PRId64, h.base_offset,
                      pass->map_expect);
    int64_t full_at;
    clean_map_batch(log, pass, p, &h, &full_at, st);
    if (full_at >= 0) {
        pass->end_offset = full_at;
        *state_out = MAP_FULL;
        return SL_OK;
    }
    pass->map_pos += (int64_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    pass->map_expect = protocol_batch_last_offset(&h) + 1;
    pass->end_offset = pass->map_expect;
    return SL_OK;
}

static int clean_map_step(storage_log *log,
                          storage_clean_pass *pass,
                          int64_t budget,
                          storage_clean_stats *st,
                          bool *done_out) {
    int state = MAP_GOING;
    /* bounded: every step consumes a batch, moves to the next segment, or ends */
    int64_t steps_max = log->size_bytes / PROTOCOL_BATCH_HEADER_BYTES + log->segment_count + 2;
    for (int64_t i = 0; i < steps_max && state == MAP_GOING && storage_clean_work(st) < budget;
         i++) {
        SL_TRY(clean_map_next(log, pass, st, &state));
    }
    /* mapped to the bound: the offsets up to it (gaps included) are covered */
    if (state == MAP_END && pass->end_offset < pass->uncleanable) {
        pass->end_offset = pass->uncleanable;
    }
    *done_out = state != MAP_GOING;
    return SL_OK;
}

/* ---------------- the end of a pass ---------------- */

static int clean_pass_finish(storage_log *log, storage_clean_pass *pass, storage_clean_stats *st) {
    if (pass->end_offset > log->clean_first_dirty) log->clean_first_dirty = pass->end_offset;
    log->clean_horizon_ms = pass->horizon_min;
    int rc = checkpoint_write(log);
    if (rc != SL_OK) rc = storage_log_fail(log, rc, "clean_checkpoint");
    const storage_clean_stats *t = &pass->total;
    int64_t us = sl_now_us() - pass->start_us;
    SL_LOG(SL_INFO, STORAGE_MOD, "clean_pass_done",
           "dir=%s first_dirty=%" PRId64 " end_offset=%" PRId64 " dirty_ratio=%.3f"
           " bytes_read=%" PRId64 " records_bytes=%" PRId64 " bytes_written=%" PRId64
           " records_read=%" PRId64 " records_removed=%" PRId64 " tombstones_removed=%" PRId64
           " batches_removed=%" PRId64 " batches_rewritten=%" PRId64
           " segments_replaced=%d keys=%" PRId64 " horizon_ms=%" PRId64 " duration_us=%" PRId64,
           log->dir, pass->first_dirty, pass->end_offset, pass->dirty_ratio, t->bytes_read,
           t->records_bytes, t->bytes_written, t->records_read, t->records_removed,
           t->tombstones_removed, t->batches_removed, t->batches_rewritten, t->segments_replaced,
           pass->map.entries, pass->horizon_min, us);
    st->pass_done = true;
    log->clean = NULL;
    pass_free(log, pass);
    return rc;
}

static void stats_add(storage_clean_stats *total, const storage_clean_stats *st) {
    total->bytes_read += st->bytes_read;
    total->records_bytes += st->records_bytes;
    total->bytes_written += st->bytes_written;
    total->records_read += st->records_read;
    total->records_removed += st->records_removed;
    total->tombstones_removed += st->tombstones_removed;
    total->batches_removed += st->batches_removed;
    total->batches_rewritten += st->batches_rewritten;
    total->batches_undecodable += st->batches_undecodable;
    total->segments_replaced += st->segments_replaced;
}

/* Run the pass in progress until the budget is spent or it ends. */
static int clean_run(storage_log *log, int64_t now_ms, int64_t budget, storage_clean_stats *st) {
    storage_clean_pass *pass = log->clean;
    bool done = false;
    if (pass->phase == CLEAN_PHASE_MAP) {
        SL_TRY(clean_map_step(log, pass, budget, st, &done));
        if (!done) return SL_OK;
        pass->phase = CLEAN_PHASE_COPY;
        pass->next_index = 0;
        SL_LOG(SL_DEBUG, STORAGE_MOD, "clean_map_done",
               "dir=%s end_offset=%" PRId64 " keys=%" PRId64, log->dir, pass->end_offset,
               pass->map.entries);
    }
    done = false;
    SL_TRY(storage_clean_copy_step(log, pass, now_ms, budget, st, &done));
    st->keys_mapped = pass->map.entries;
    if (!done) return SL_OK;
    stats_add(&pass->total, st);
    return clean_pass_finish(log, pass, st);
}

int storage_log_clean(storage_log *log,
                      const storage_clean_config *cfg,
                      int64_t now_ms,
                      storage_clean_stats *stats_out) {
    int64_t t0 = sl_now_us();
    storage_clean_stats st;
    memset(&st, 0, sizeof(st));
    int rc = SL_OK;
    if (log->failed) {
        rc = SL_E_FATAL;
    } else if (log->clean_broken) {
        rc = SL_E_CORRUPT;
    } else {
        rc = storage_clean_config_check(cfg);
    }
    if (rc == SL_OK) {
        /* segments replaced by earlier passes: a compact-only log may never see a retain */
        int reap_rc = storage_log_reap(log, now_ms, false);
        if (reap_rc != SL_OK) {
            SL_LOG(SL_WARN, STORAGE_MOD, "segment_unlink_failed", "dir=%s err=\"%s\"", log->dir,
                   sl_strerror(reap_rc));
        }
    }
    if (rc == SL_OK && !log->clean) {
        clean_plan plan;
        clean_make_plan(log, cfg, now_ms, &plan);
        st.dirty_ratio = plan.ratio;
        if (clean_plan_due(log, cfg, &plan)) rc = clean_pass_start(log, cfg, &plan, &st);
    } else if (rc == SL_OK) {
        st.dirty_ratio = log->clean->dirty_ratio;
    }
    if (rc == SL_OK && log->clean) {
        storage_clean_pass *pass = log->clean;
        rc = clean_run(log, now_ms, cfg->bytes_per_call, &st);
        if (log->clean == pass) stats_add(&pass->total, &st);
    }
    if (rc == SL_E_CORRUPT) log->clean_broken = true;
    if (rc != SL_OK && log->clean) {
        SL_LOG(SL_ERROR, STORAGE_MOD, "clean_failed", "dir=%s err=\"%s\" broken=%d", log->dir,
               sl_strerror(rc), log->clean_broken);
        storage_clean_drop(log, "error");
    }
    st.first_dirty_offset = storage_log_clean_first_dirty(log);
    st.more = log->clean != NULL;
    st.duration_us = sl_now_us() - t0;
    if (stats_out) *stats_out = st;
    return rc;
}
