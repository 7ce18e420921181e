/* storage_epoch.c — the leader epoch cache (KIP-101, KIP-279) and its checkpoint file.
 *
 * The cache maps each leader epoch to the first offset written in it. A follower asks the
 * leader for the end offset of its latest epoch (OffsetForLeaderEpoch) and truncates to it
 * instead of to its high watermark, which is what prevents the replicated-log divergence
 * of KIP-101. The operations mirror Kafka's LeaderEpochFileCache exactly, including the
 * answers for epochs it does not know; the file is Kafka's leader-epoch-checkpoint format
 * (storage.h) and is rewritten atomically on every change, which is rare (a new leader,
 * a truncation, a retention pass that moves the log start offset). */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <inttypes.h>
#include <string.h>

void storage_epochs_init(storage_epochs *e) {
    e->v = NULL;
    e->count = 0;
    e->cap = 0;
}

void storage_epochs_deinit(storage_epochs *e) {
    sl_free(e->v);
    storage_epochs_init(e);
}

int32_t storage_epochs_latest(const storage_epochs *e) {
    return e->count > 0 ? e->v[e->count - 1].epoch : STORAGE_EPOCH_UNDEFINED;
}

static void epochs_push(storage_epochs *e, int32_t epoch, int64_t start_offset) {
    if (e->count == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = sl_realloc(e->v, (size_t)e->cap * sizeof(e->v[0]));
    }
    e->v[e->count++] = (storage_epoch_entry){ epoch, start_offset };
}

bool storage_epochs_assign(storage_epochs *e, int32_t epoch, int64_t start_offset) {
    SL_ASSERT(epoch >= 0 && start_offset >= 0);
    if (e->count > 0) {
        const storage_epoch_entry *last = &e->v[e->count - 1];
        if (epoch == last->epoch && start_offset >= last->start_offset) return false;
    }
    /* Kafka's maybeTruncateNonMonotonicEntries: drop every entry the new one would make
     * non-monotonic, newest first. */
    int32_t removed = 0;
    while (e->count > 0) {
        const storage_epoch_entry *last = &e->v[e->count - 1];
        if (last->epoch < epoch && last->start_offset < start_offset) break;
        e->count--;
        removed++;
    }
    if (removed > 1) {
        SL_LOG(SL_WARN, STORAGE_MOD, "epoch_entries_replaced",
               "epoch=%d start_offset=%" PRId64 " removed=%d", epoch, start_offset, removed);
    }
    epochs_push(e, epoch, start_offset);
    return true;
}

bool storage_epochs_truncate_from_end(storage_epochs *e, int64_t end_offset) {
    bool changed = false;
    while (end_offset >= 0 && e->count > 0 && e->v[e->count - 1].start_offset >= end_offset) {
        e->count--;
        changed = true;
    }
    return changed;
}

bool storage_epochs_truncate_from_start(storage_epochs *e, int64_t start_offset) {
    int32_t n = 0;
    while (n < e->count && e->v[n].start_offset <= start_offset) {
        n++;
    }
    if (n == 0) return false;
    /* The newest removed entry survives with its start moved up to start_offset. */
    storage_epoch_entry kept = { e->v[n - 1].epoch, start_offset };
    bool changed = n > 1 || e->v[0].start_offset != start_offset;
    memmove(e->v + 1, e->v + n, (size_t)(e->count - n) * sizeof(e->v[0]));
    e->v[0] = kept;
    e->count -= n - 1;
    return changed;
}

bool storage_epochs_clear(storage_epochs *e) {
    bool changed = e->count > 0;
    e->count = 0;
    return changed;
}

void storage_epochs_end_offset(const storage_epochs *e,
                               int32_t epoch,
                               int64_t log_end_offset,
                               int32_t *epoch_out,
                               int64_t *end_offset_out) {
    *epoch_out = STORAGE_EPOCH_UNDEFINED;
    *end_offset_out = STORAGE_OFFSET_UNDEFINED;
    if (epoch == STORAGE_EPOCH_UNDEFINED || e->count == 0) return;
    if (epoch == storage_epochs_latest(e)) {
        /* the current epoch ends at the log end offset */
        *epoch_out = epoch;
        *end_offset_out = log_end_offset;
        return;
    }
    /* higher: the first entry with a larger epoch; floor: the last with epoch <= epoch */
    int32_t higher = 0;
    while (higher < e->count && e->v[higher].epoch <= epoch) {
        higher++;
    }
    if (higher == e->count) return; /* above every known epoch */
    if (higher == 0) {
        /* Below every known epoch: the data is gone, so answer with the first known
         * start offset and let the follower truncate there (Kafka does the same). */
        *epoch_out = epoch;
        *end_offset_out = e->v[0].start_offset;
        return;
    }
    *epoch_out = e->v[higher - 1].epoch;
    *end_offset_out = e->v[higher].start_offset;
}

void storage_epochs_encode(const storage_epochs *e, sl_buf *out) {
    sl_buf_printf(out, "0\n%d\n", e->count);
    for (int32_t i = 0; i < e->count; i++) {
        sl_buf_printf(out, "%d %" PRId64 "\n", e->v[i].epoch, e->v[i].start_offset);
    }
}

/* A decimal in [0, max] of at most 19 digits (which cannot overflow a uint64). */
static bool parse_number(const uint8_t **pp, const uint8_t *end, int64_t max, int64_t *out) {
    const uint8_t *p = *pp;
    uint64_t v = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 19) {
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || v > (uint64_t)max || (p < end && *p >= '0' && *p <= '9')) return false;
    *pp = p;
    *out = (int64_t)v;
    return true;
}

static bool parse_byte(const uint8_t **pp, const uint8_t *end, uint8_t c) {
    if (*pp >= end || **pp != c) return false;
    (*pp)++;
    return true;
}

int storage_epochs_parse(storage_epochs *e, const uint8_t *data, size_t len) {
    const uint8_t *p = data, *end = data + len;
    int64_t version, count;
    if (!parse_number(&p, end, 0, &version) || !parse_byte(&p, end, '\n')) return SL_E_CORRUPT;
    if (!parse_number(&p, end, STORAGE_EPOCHS_MAX, &count)) return SL_E_CORRUPT;
    if (!parse_byte(&p, end, '\n') && count > 0) return SL_E_CORRUPT;
    storage_epochs tmp;
    storage_epochs_init(&tmp);
    for (int64_t i = 0; i < count; i++) {
        int64_t epoch, offset;
        bool ok = parse_number(&p, end, INT32_MAX, &epoch) && parse_byte(&p, end, ' ') &&
                  parse_number(&p, end, INT64_MAX, &offset);
        /* the final newline is optional */
        if (ok && !parse_byte(&p, end, '\n')) ok = p == end && i == count - 1;
        if (!ok) {
            storage_epochs_deinit(&tmp);
            return SL_E_CORRUPT;
        }
        storage_epochs_assign(&tmp, (int32_t)epoch, offset); /* Kafka loads through assign */
    }
    if (p != end) {
        storage_epochs_deinit(&tmp);
        return SL_E_CORRUPT;
    }
    storage_epochs_deinit(e);
    *e = tmp;
    return SL_OK;
}

int storage_epochs_persist(storage_log *log) {
    sl_buf out;
    sl_buf_init(&out);
    storage_epochs_encode(&log->epochs, &out);
    int rc = storage_file_replace(log->dir_fd, STORAGE_EPOCH_FILE, out.data, out.len);
    sl_buf_deinit(&out);
    return rc;
}

int storage_epochs_load(storage_log *log) {
    sl_buf buf;
    sl_buf_init(&buf);
    int rc = storage_file_read(log->dir_fd, STORAGE_EPOCH_FILE, STORAGE_CHECKPOINT_BYTES_MAX, &buf);
    if (rc == SL_OK) rc = storage_epochs_parse(&log->epochs, buf.data, buf.len);
    sl_buf_deinit(&buf);
    if (rc == SL_E_TOO_LARGE) rc = SL_E_CORRUPT;
    if (rc != SL_OK && rc != SL_E_NOT_FOUND && rc != SL_E_CORRUPT) return rc;
    if (rc == SL_E_CORRUPT) {
        SL_LOG(SL_WARN, STORAGE_MOD, "epoch_checkpoint_corrupt", "dir=%s file=%s", log->dir,
               STORAGE_EPOCH_FILE);
    }
    return rc;
}

int storage_epochs_rebuild(storage_log *log) {
    storage_epochs_clear(&log->epochs);
    for (int32_t i = 0; i < log->segment_count; i++) {
        storage_segment *seg = log->segments[i];
        storage_cursor c;
        storage_cursor_init(&c, seg->fd, seg->size, log->walk_buf, sizeof(log->walk_buf));
        int64_t pos = 0, steps_max = seg->size / PROTOCOL_BATCH_HEADER_BYTES + 1;
        for (int64_t k = 0; k < steps_max && pos < seg->size; k++) {
            storage_batch b;
            int rc = storage_cursor_batch(&c, pos, &b);
            if (rc < 0 && rc > -1000) return rc;
            if (rc != SL_OK) break; /* damage is reported by reads; the prefix still counts */
            if (b.epoch >= 0 && b.epoch > storage_epochs_latest(&log->epochs)) {
                storage_epochs_assign(&log->epochs, b.epoch, b.base_offset);
            }
            pos += b.size;
        }
    }
    SL_LOG(SL_WARN, STORAGE_MOD, "epoch_cache_rebuilt", "dir=%s entries=%d", log->dir,
           log->epochs.count);
    return storage_epochs_persist(log);
}

/* ---------------- public API ---------------- */

int storage_log_epoch_assign(storage_log *log, int32_t epoch, int64_t start_offset) {
    SL_RETURN_IF(epoch < 0 || start_offset < 0, SL_E_INVALID, "epoch=%d", epoch);
    if (log->failed) return SL_E_FATAL;
    if (!storage_epochs_assign(&log->epochs, epoch, start_offset)) return SL_OK;
    int rc = storage_epochs_persist(log);
    if (rc != SL_OK) return storage_log_fail(log, rc, "epoch_checkpoint");
    return SL_OK;
}

int32_t storage_log_latest_epoch(const storage_log *log) {
    return storage_epochs_latest(&log->epochs);
}

int storage_log_epoch_end_offset(const storage_log *log,
                                 int32_t epoch,
                                 int32_t *epoch_out,
                                 int64_t *end_offset_out) {
    storage_epochs_end_offset(&log->epochs, epoch, storage_log_end_offset(log), epoch_out,
                              end_offset_out);
    return SL_OK;
}

int32_t
storage_log_epoch_entries(const storage_log *log, int32_t *epochs, int64_t *offsets, int32_t max) {
    for (int32_t i = 0; i < log->epochs.count && i < max; i++) {
        epochs[i] = log->epochs.v[i].epoch;
        offsets[i] = log->epochs.v[i].start_offset;
    }
    return log->epochs.count;
}
