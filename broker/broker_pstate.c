/* broker_pstate.c — idempotent producer state per partition (see broker_int.h).
 *
 * Rules follow Kafka's ProducerStateManager (3.x): a batch whose producer id is unknown
 * here is accepted with any sequence (its state may have expired, KIP-360); a lower epoch
 * is INVALID_PRODUCER_EPOCH; a higher epoch must start at sequence 0; within an epoch a
 * batch equal to one of the last five is a duplicate, else its first sequence must follow
 * the last one (wrapping after INT32_MAX).
 *
 * Snapshot aux file "producer-state" (big-endian):
 *   int32 version (1) | int64 log end offset at save | int32 count |
 *   count × (int64 producer id | int16 epoch | int32 batches |
 *            batches × (int32 first seq | int32 last seq | int64 first off | int64 last off)) */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define PSTATE_BATCHES  5
#define PSTATE_FILE     "producer-state"
#define PSTATE_VERSION  1
#define PSTATE_SCAN_MAX (1 << 30) /* header-scan bound per load: 1 Gi batches */

typedef struct pstate_batch {
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
} pstate_batch;

typedef struct pstate_entry {
    int64_t producer_id;
    int16_t epoch;
    int32_t count;           /* cached batches, ≤ PSTATE_BATCHES */
    int32_t head;            /* index of the newest */
    pstate_batch batches[PSTATE_BATCHES];
} pstate_entry;

struct broker_pstate {
    sl_imap entries; /* producer id → pstate_entry * */
};

broker_pstate *broker_pstate_new(void) {
    broker_pstate *ps = SL_NEW(broker_pstate);
    sl_imap_init(&ps->entries);
    return ps;
}

static void pstate_clear(broker_pstate *ps) {
    for (size_t i = 0; i < ps->entries.cap; i++) {
        if (sl_imap_slot_used(&ps->entries, i)) sl_free(ps->entries.slots[i].value);
    }
    sl_imap_deinit(&ps->entries);
    sl_imap_init(&ps->entries);
}

void broker_pstate_free(broker_pstate *ps) {
    if (!ps) return;
    pstate_clear(ps);
    sl_imap_deinit(&ps->entries);
    sl_free(ps);
}

size_t broker_pstate_count(const broker_pstate *ps) {
    return ps->entries.count;
}

static int32_t last_seq_of(const protocol_batch_header *h) {
    int64_t last = (int64_t)h->base_sequence + h->last_offset_delta;
    return (int32_t)(last > INT32_MAX ? last - INT32_MAX - 1 : last);
}

static bool in_sequence(int32_t last, int32_t next) {
    return next == (int32_t)((int64_t)last + 1) || (next == 0 && last == INT32_MAX);
}

int broker_pstate_check(const broker_pstate *ps, const protocol_batch_header *h,
                        int64_t *dup_base, int64_t *dup_last) {
    if (h->producer_id < 0 || h->producer_epoch < 0) return PROTOCOL_ERR_NONE;
    const pstate_entry *e = sl_imap_get(&ps->entries, h->producer_id);
    if (!e || e->count == 0) return PROTOCOL_ERR_NONE;
    if (h->producer_epoch < e->epoch) return PROTOCOL_ERR_INVALID_PRODUCER_EPOCH;
    if (h->producer_epoch > e->epoch) {
        return h->base_sequence == 0 ? PROTOCOL_ERR_NONE
                                     : PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    int32_t last = last_seq_of(h);
    for (int32_t i = 0; i < e->count; i++) {
        const pstate_batch *pb = &e->batches[i];
        if (pb->first_seq == h->base_sequence && pb->last_seq == last) {
            *dup_base = pb->first_offset;
            *dup_last = pb->last_offset;
            return BROKER_PSTATE_DUPLICATE;
        }
    }
    if (!in_sequence(e->batches[e->head].last_seq, h->base_sequence)) {
        return PROTOCOL_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    return PROTOCOL_ERR_NONE;
}

static pstate_entry *entry_for(broker_pstate *ps, int64_t producer_id) {
    pstate_entry *e = sl_imap_get(&ps->entries, producer_id);
    if (!e) {
        e = SL_NEW(pstate_entry);
        e->producer_id = producer_id;
        e->epoch = -1;
        sl_imap_put(&ps->entries, producer_id, e);
    }
    return e;
}

static void entry_push(pstate_entry *e, int16_t epoch, const pstate_batch *pb) {
    if (epoch != e->epoch) {
        e->epoch = epoch;
        e->count = 0;
        e->head = -1;
    }
    e->head = (e->head + 1) % PSTATE_BATCHES;
    e->batches[e->head] = *pb;
    if (e->count < PSTATE_BATCHES) e->count++;
}

void broker_pstate_update(broker_pstate *ps, const protocol_batch_header *h) {
    if (h->producer_id < 0 || h->producer_epoch < 0) return;
    if (h->attributes & PROTOCOL_ATTR_CONTROL) return;
    pstate_entry *e = entry_for(ps, h->producer_id);
    if (h->producer_epoch < e->epoch) return; /* a replica keeps what the leader accepted */
    pstate_batch pb = { h->base_sequence, last_seq_of(h), h->base_offset,
                        h->base_offset + h->last_offset_delta };
    entry_push(e, h->producer_epoch, &pb);
}

void broker_pstate_update_all(broker_pstate *ps, const uint8_t *batches, size_t len) {
    size_t off = 0;
    while (off < len) {
        size_t size;
        if (protocol_batch_size(batches + off, len - off, len - off, &size) != SL_OK) break;
        protocol_batch_header h;
        if (protocol_batch_header_parse(batches + off, size, &h) == SL_OK) {
            broker_pstate_update(ps, &h);
        }
        off += size;
    }
}

int broker_pstate_save(const broker_pstate *ps, storage_log *log) {
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put_i32(&out, PSTATE_VERSION);
    sl_buf_put_i64(&out, storage_log_end_offset(log));
    sl_buf_put_i32(&out, (int32_t)ps->entries.count);
    for (size_t i = 0; i < ps->entries.cap; i++) {
        if (!sl_imap_slot_used(&ps->entries, i)) continue;
        const pstate_entry *e = ps->entries.slots[i].value;
        sl_buf_put_i64(&out, e->producer_id);
        sl_buf_put_i16(&out, e->epoch);
        sl_buf_put_i32(&out, e->count);
        for (int32_t k = e->count - 1; k >= 0; k--) { /* oldest first */
            const pstate_batch *pb =
                &e->batches[(e->head - k + PSTATE_BATCHES) % PSTATE_BATCHES];
            sl_buf_put_i32(&out, pb->first_seq);
            sl_buf_put_i32(&out, pb->last_seq);
            sl_buf_put_i64(&out, pb->first_offset);
            sl_buf_put_i64(&out, pb->last_offset);
        }
    }
    int rc = storage_log_write_aux(log, PSTATE_FILE, out.data, out.len);
    sl_buf_deinit(&out);
    return rc;
}

/* Parse a snapshot; returns the log end offset it was taken at, or -1 if unusable. */
static int64_t pstate_parse(broker_pstate *ps, const sl_buf *data) {
    sl_reader r;
    sl_reader_init(&r, data->data, data->len);
    if (sl_reader_i32(&r) != PSTATE_VERSION) return -1;
    int64_t at = sl_reader_i64(&r);
    int32_t count = sl_reader_i32(&r);
    if (sl_reader_err(&r) || count < 0 || (size_t)count > sl_reader_remaining(&r) / 14) return -1;
    for (int32_t i = 0; i < count; i++) {
        int64_t pid = sl_reader_i64(&r);
        int16_t epoch = sl_reader_i16(&r);
        int32_t n = sl_reader_i32(&r);
        if (sl_reader_err(&r) || n < 0 || n > PSTATE_BATCHES) return -1;
        pstate_entry *e = entry_for(ps, pid);
        for (int32_t k = 0; k < n; k++) {
            pstate_batch pb;
            pb.first_seq = sl_reader_i32(&r);
            pb.last_seq = sl_reader_i32(&r);
            pb.first_offset = sl_reader_i64(&r);
            pb.last_offset = sl_reader_i64(&r);
            if (sl_reader_err(&r)) return -1;
            entry_push(e, epoch, &pb);
        }
    }
    return sl_reader_err(&r) ? -1 : at;
}

/* Walk batch headers from offset to the log end. */
static int pstate_scan(broker_pstate *ps, storage_log *log, int64_t offset) {
    int64_t end = storage_log_end_offset(log);
    for (int64_t steps = 0; offset < end && steps < PSTATE_SCAN_MAX; steps++) {
        storage_read_result rr;
        int rc = storage_log_read(log, offset, 1 << 20, INT64_MAX, true, &rr);
        if (rc < 0) return rc;
        if (rr.length <= 0) break;
        int64_t pos = rr.position, stop = rr.position + rr.length, next = offset;
        while (pos + PROTOCOL_BATCH_HEADER_BYTES <= stop) {
            uint8_t hdr[PROTOCOL_BATCH_HEADER_BYTES];
            ssize_t n = pread(rr.fd, hdr, sizeof(hdr), pos);
            if (n != (ssize_t)sizeof(hdr)) return n < 0 ? -errno : SL_E_CORRUPT;
            int32_t blen = (int32_t)sl_load_be32(hdr + PROTOCOL_BATCH_OFF_LENGTH);
            if (blen < PROTOCOL_BATCH_HEADER_BYTES - PROTOCOL_BATCH_LOG_OVERHEAD) {
                return SL_E_CORRUPT;
            }
            /* the body's CRC was checked when the log was recovered */
            protocol_batch_header h;
            protocol_batch_header_fields(hdr, &h);
            if (h.last_offset_delta < 0) return SL_E_CORRUPT;
            if (h.base_offset + h.last_offset_delta >= offset) broker_pstate_update(ps, &h);
            next = h.base_offset + h.last_offset_delta + 1;
            pos += PROTOCOL_BATCH_LOG_OVERHEAD + blen;
        }
        if (next <= offset) break;
        offset = next;
    }
    return SL_OK;
}

int broker_pstate_load(broker_pstate *ps, storage_log *log) {
    pstate_clear(ps);
    sl_buf data;
    sl_buf_init(&data);
    int64_t from = storage_log_start_offset(log);
    if (storage_log_read_aux(log, PSTATE_FILE, &data) == SL_OK) {
        int64_t at = pstate_parse(ps, &data);
        if (at >= 0 && at <= storage_log_end_offset(log) && at >= from) {
            from = at;
        } else {
            pstate_clear(ps); /* unusable (or beyond a truncation): rebuild from the log */
        }
    }
    sl_buf_deinit(&data);
    int rc = pstate_scan(ps, log, from);
    if (rc < 0) {
        SL_LOG(SL_WARN, "replica", "producer_state_scan_failed", "dir=%s err=%s",
               storage_log_dir(log), sl_strerror(rc));
    }
    return rc;
}
