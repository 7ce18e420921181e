/* raft_log.c — the in-memory copy of the log since the last snapshot.
 *
 * The driver owns the log on disk; the core keeps every entry since the snapshot in
 * memory (the metadata log is bounded by snapshots) so it can serve fetches and answer
 * epoch queries without I/O. Slots live in a window [head, head + count) of one array:
 * appends go at the end, prefix discards move head, and the window slides back to the
 * front when head passes half the array (amortised O(1)). The epoch table holds one
 * mark per epoch present, in increasing order of both epoch and start offset. */
#include "raft/raft_int.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"

#include <string.h>

#define RAFT_LOG_MIN_CAP 64

void raft_log_init(raft_log *log) {
    memset(log, 0, sizeof(*log));
}

static void log_free_slots(raft_log *log, int64_t from_index, int64_t to_index) {
    for (int64_t i = from_index; i < to_index; i++) {
        sl_free(log->slots[i].data);
        log->slots[i].data = NULL;
    }
}

void raft_log_deinit(raft_log *log) {
    log_free_slots(log, log->head, log->head + log->count);
    sl_free(log->slots);
    sl_free(log->epochs);
    memset(log, 0, sizeof(*log));
}

int64_t raft_log_end(const raft_log *log) {
    return log->start_offset + log->count;
}

int32_t raft_log_last_epoch(const raft_log *log) {
    if (log->count == 0) return log->start_epoch;
    return log->slots[log->head + log->count - 1].epoch;
}

const raft_log_slot *raft_log_slot_at(const raft_log *log, int64_t offset) {
    if (offset < log->start_offset || offset >= raft_log_end(log)) return NULL;
    return &log->slots[log->head + (offset - log->start_offset)];
}

int32_t raft_log_epoch_at(const raft_log *log, int64_t offset) {
    if (offset == log->start_offset - 1) return log->start_epoch;
    const raft_log_slot *slot = raft_log_slot_at(log, offset);
    return slot ? slot->epoch : -1;
}

static void log_make_room(raft_log *log) {
    if (log->head + log->count < log->cap) return;
    if (log->head > 0 && log->head >= log->cap / 2) {
        /* slide the window to the front instead of growing */
        memmove(log->slots, log->slots + log->head, (size_t)log->count * sizeof(*log->slots));
        log->head = 0;
        return;
    }
    int64_t cap = log->cap < RAFT_LOG_MIN_CAP ? RAFT_LOG_MIN_CAP : log->cap * 2;
    log->slots = sl_realloc(log->slots, (size_t)cap * sizeof(*log->slots));
    log->cap = cap;
}

static void log_push_epoch(raft_log *log, int32_t epoch, int64_t start_offset) {
    if (log->epoch_count == log->epoch_cap) {
        int32_t cap = log->epoch_cap < 8 ? 8 : log->epoch_cap * 2;
        log->epochs = sl_realloc(log->epochs, (size_t)cap * sizeof(*log->epochs));
        log->epoch_cap = cap;
    }
    log->epochs[log->epoch_count++] = (raft_epoch_mark){ epoch, start_offset };
}

void raft_log_append(
    raft_log *log, int32_t epoch, uint8_t kind, const uint8_t *data, uint32_t size) {
    SL_ASSERT(epoch >= 1);
    SL_ASSERT(epoch >= raft_log_last_epoch(log));
    int64_t offset = raft_log_end(log);
    if (log->epoch_count == 0 || log->epochs[log->epoch_count - 1].epoch != epoch) {
        log_push_epoch(log, epoch, offset);
    }
    log_make_room(log);
    raft_log_slot *slot = &log->slots[log->head + log->count];
    slot->epoch = epoch;
    slot->kind = kind;
    slot->size = size;
    slot->data = NULL;
    if (size > 0) {
        slot->data = sl_malloc(size);
        memcpy(slot->data, data, size);
    }
    log->count++;
}

void raft_log_truncate(raft_log *log, int64_t offset) {
    int64_t end = raft_log_end(log);
    SL_ASSERT(offset >= log->start_offset);
    SL_ASSERT(offset <= end);
    int64_t keep = offset - log->start_offset;
    log_free_slots(log, log->head + keep, log->head + log->count);
    log->count = keep;
    while (log->epoch_count > 0 && log->epochs[log->epoch_count - 1].start_offset >= offset) {
        log->epoch_count--;
    }
    if (log->durable_end > offset) log->durable_end = offset;
}

void raft_log_reset(raft_log *log, int64_t start_offset, int32_t start_epoch) {
    SL_ASSERT(start_offset >= 0);
    SL_ASSERT(start_epoch >= 0);
    log_free_slots(log, log->head, log->head + log->count);
    log->head = 0;
    log->count = 0;
    log->epoch_count = 0;
    log->start_offset = start_offset;
    log->start_epoch = start_epoch;
    log->durable_end = start_offset;
}

void raft_log_discard_prefix(raft_log *log, int64_t new_start) {
    SL_ASSERT(new_start >= log->start_offset);
    SL_ASSERT(new_start <= raft_log_end(log));
    int64_t drop = new_start - log->start_offset;
    int32_t new_start_epoch = raft_log_epoch_at(log, new_start - 1);
    log_free_slots(log, log->head, log->head + drop);
    log->head += drop;
    log->count -= drop;
    log->start_offset = new_start;
    log->start_epoch = new_start_epoch;
    if (log->count == 0) log->head = 0;
    /* marks whose epoch now starts before the log: keep the newest one, moved to start */
    int32_t first_kept = 0;
    while (first_kept + 1 < log->epoch_count &&
           log->epochs[first_kept + 1].start_offset <= new_start) {
        first_kept++;
    }
    if (first_kept > 0) {
        memmove(log->epochs, log->epochs + first_kept,
                (size_t)(log->epoch_count - first_kept) * sizeof(*log->epochs));
        log->epoch_count -= first_kept;
    }
    if (log->epoch_count > 0 && log->count == 0) log->epoch_count = 0;
    if (log->epoch_count > 0 && log->epochs[0].start_offset < new_start) {
        log->epochs[0].start_offset = new_start;
    }
    if (log->durable_end < new_start) log->durable_end = new_start;
}

bool raft_log_end_offset_for_epoch(const raft_log *log,
                                   int32_t epoch,
                                   int32_t *epoch_out,
                                   int64_t *end_out) {
    int64_t end = raft_log_end(log);
    for (int32_t i = log->epoch_count - 1; i >= 0; i--) {
        if (log->epochs[i].epoch <= epoch) {
            *epoch_out = log->epochs[i].epoch;
            *end_out = i + 1 < log->epoch_count ? log->epochs[i + 1].start_offset : end;
            return true;
        }
    }
    if (epoch < log->start_epoch) return false;
    /* older than every entry in the log but not than the snapshot */
    *epoch_out = log->start_epoch;
    *end_out = log->start_offset;
    return true;
}

bool raft_log_is_valid(const raft_log *log) {
    if (log->start_offset < 0 || log->count < 0 || log->head < 0) return false;
    if (log->head + log->count > log->cap && log->count > 0) return false;
    if (log->durable_end < log->start_offset || log->durable_end > raft_log_end(log)) {
        return false;
    }
    int32_t prev_epoch = log->start_epoch;
    int32_t mark = 0;
    for (int64_t i = 0; i < log->count; i++) {
        const raft_log_slot *slot = &log->slots[log->head + i];
        if (slot->epoch < prev_epoch || slot->epoch < 1) return false;
        if (i == 0 || slot->epoch != prev_epoch) {
            if (mark >= log->epoch_count) return false;
            if (log->epochs[mark].epoch != slot->epoch) return false;
            if (log->epochs[mark].start_offset != log->start_offset + i) return false;
            mark++;
        }
        prev_epoch = slot->epoch;
    }
    return mark == log->epoch_count;
}
